/* bench/latency.c - one client, one keep-alive connection: POSTs the
 * statistic bodies of a mix back to back and reports latency percentiles.
 *
 *   latency URL MIX_TSV TOKEN PROJECT REGION SECONDS [NAME]
 *
 * Why not wrk for this: wrk times requests with gettimeofday, and on this
 * kind of virtual machine the wall clock steps by milliseconds dozens of
 * times a second, which is as large as the latencies measured here. This
 * client times each request with CLOCK_MONOTONIC. It cycles through the
 * bodies of MIX_TSV (bench/mix.sh) in order, or sends only the body NAME,
 * until SECONDS have passed (or SIGINT), checks that each answer is a 200,
 * and prints the line bench/run.sh reads:
 *   RESULT requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=..
 *          p999_ms=.. max_ms=.. mean_ms=.. errors=E non2xx=F
 * A MIX_TSV line whose report column is GET is a list route instead:
 *   NAME <TAB> GET <TAB> PATH?QUERY <TAB> -
 * sent as GET URL/v5/PROJECT/PATH?QUERY without a body (bench/run.sh's
 * image list pages).
 * LATENCY_SAMPLES=FILE (environment): every sample (ms) is also appended to
 * FILE, one a line (bench/peers.sh pools the rounds of its interleaving).
 * Build: cc -O2 -o latency bench/latency.c -lcurl -lm
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_stats.h"

typedef struct {
    char *url;
    char *body; /* NULL: a GET */
    long len;
} entry;

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
    (void)sig;
    stop = 1;
}

static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)*len + 1);
    if (buf && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: latency URL MIX_TSV TOKEN PROJECT REGION SECONDS [NAME]\n");
        return 2;
    }
    const char *base = argv[1], *only = argc > 7 ? argv[7] : NULL;
    double seconds = atof(argv[6]);
    FILE *mix = fopen(argv[2], "r");
    if (!mix) {
        perror(argv[2]);
        return 2;
    }
    entry *es = NULL;
    size_t n = 0;
    char line[8192];
    while (fgets(line, sizeof line, mix)) {
        char *name = strtok(line, "\t\n"), *report = strtok(NULL, "\t\n"),
             *ep = strtok(NULL, "\t\n"), *file = strtok(NULL, "\t\n");
        if (!file || (only && strcmp(only, name) != 0))
            continue;
        es = realloc(es, (n + 1) * sizeof *es);
        entry *e = &es[n++];
        size_t ulen = strlen(base) + strlen(argv[4]) + strlen(report) + strlen(ep) + 128;
        e->url = malloc(ulen);
        if (strcmp(report, "GET") == 0) {
            snprintf(e->url, ulen, "%s/v5/%s/%s", base, argv[4], ep);
            e->body = NULL;
            e->len = 0;
            continue;
        }
        snprintf(e->url, ulen,
                 "%s/v5/%s/image/security-report/statistic?security_report_type=%s&enterprise_project_id=%s",
                 base, argv[4], report, ep);
        if (!(e->body = slurp(file, &e->len))) {
            perror(file);
            return 2;
        }
    }
    fclose(mix);
    if (n == 0) {
        fprintf(stderr, "latency: no body in %s%s%s\n", argv[2], only ? " named " : "", only ? only : "");
        return 2;
    }
    signal(SIGINT, on_sigint);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    char tok[4096], reg[256];
    snprintf(tok, sizeof tok, "X-Auth-Token: %s", argv[3]);
    snprintf(reg, sizeof reg, "region: %s", argv[5]);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, tok);
    hdrs = curl_slist_append(hdrs, reg);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    size_t errors = 0, non2xx = 0;
    lat_samples lat = {0};
    double t0 = lat_now_s(), t = t0;
    for (size_t i = 0; !stop && t - t0 < seconds; i = (i + 1) % n) {
        curl_easy_setopt(h, CURLOPT_URL, es[i].url);
        if (es[i].body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, es[i].body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, es[i].len);
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        double a = lat_now_s();
        CURLcode rc = curl_easy_perform(h);
        t = lat_now_s();
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
            errors++;
            continue;
        }
        if (status != 200)
            non2xx++;
        lat_add(&lat, (t - a) * 1e3);
    }
    const char *samples = getenv("LATENCY_SAMPLES");
    if (samples && *samples && lat_save(&lat, samples) != 0)
        return 2;
    double dur = t - t0;
    lat_sort(&lat);
    printf("RESULT requests=%zu seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
           "p999_ms=%.3f max_ms=%.3f mean_ms=%.3f errors=%zu non2xx=%zu\n",
           lat.n, dur, (double)lat.n / dur, lat_pct(&lat, 50), lat_pct(&lat, 90),
           lat_pct(&lat, 99), lat_pct(&lat, 99.9), lat_max(&lat), lat_mean(&lat), errors, non2xx);
    lat_free(&lat);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return 0;
}
