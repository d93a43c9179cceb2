/* bench/list_latency.c - one client, one keep-alive connection: GETs each
 * list URL of a file back to back and reports its latency percentiles.
 *
 *   list_latency BASE_URL URLS_TSV TOKEN REGION SECONDS_PER_URL
 *
 * URLS_TSV has one "NAME<TAB>/v5/...?query" per line. For each line the
 * URL is requested until SECONDS_PER_URL have passed (at least 20 times),
 * each request timed with CLOCK_MONOTONIC (see bench/latency.c for why not
 * wrk); one line is printed per URL:
 *   RESULT name=N requests=.. p50_ms=.. p99_ms=.. max_ms=.. bytes=.. non2xx=.. errors=..
 * Build: cc -O2 -o list_latency bench/list_latency.c -lcurl -lm
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency_stats.h"

static size_t count_bytes(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    *(size_t *)arg += size * n;
    return size * n;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: list_latency BASE_URL URLS_TSV TOKEN REGION SECONDS_PER_URL\n");
        return 2;
    }
    double seconds = atof(argv[5]);
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    char tok[512], reg[128];
    snprintf(tok, sizeof tok, "X-Auth-Token: %s", argv[3]);
    snprintf(reg, sizeof reg, "region: %s", argv[4]);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, tok);
    hdrs = curl_slist_append(hdrs, reg);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    size_t bytes = 0;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
    /* LIST_TIMEOUT_S (default 60): a request slower than this ends the
     * URL's timing with errors=1 timed_out=1 (p50/p99 over what answered):
     * at fleet size a grouped list can take minutes a request. */
    const char *tmo = getenv("LIST_TIMEOUT_S");
    long timeout_s = tmo && atol(tmo) > 0 ? atol(tmo) : 60L;
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    char line[8192];
    lat_samples lat = {0};
    int bad_urls = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        char url[9000];
        snprintf(url, sizeof url, "%s%s", argv[1], tab + 1);
        curl_easy_setopt(h, CURLOPT_URL, url);
        size_t count = 0, errors = 0, non2xx = 0, last_bytes = 0;
        int timed_out = 0;
        lat_reset(&lat);
        double t0 = lat_now_s(), t = t0;
        while (count < 20 || t - t0 < seconds) {
            bytes = 0;
            double a = lat_now_s();
            CURLcode rc = curl_easy_perform(h);
            t = lat_now_s();
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if (rc == CURLE_OPERATION_TIMEDOUT) {
                errors++, timed_out = 1;
                break;
            }
            if (rc != CURLE_OK) {
                if (++errors > 5)
                    break;
                continue;
            }
            if (status != 200)
                non2xx++;
            last_bytes = bytes;
            count++;
            lat_add(&lat, (t - a) * 1e3);
            if (t - t0 > 10 * seconds + 30)
                break; /* a very slow route: enough samples */
        }
        lat_sort(&lat);
        printf("RESULT name=%s requests=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f bytes=%zu "
               "non2xx=%zu errors=%zu timed_out=%d timeout_s=%ld\n",
               line, count, lat_pct(&lat, 50), lat_pct(&lat, 99), lat_max(&lat),
               last_bytes, non2xx, errors, timed_out, timeout_s);
        fflush(stdout);
        bad_urls += non2xx > 0 || errors > 0;
    }
    fclose(f);
    lat_free(&lat);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return bad_urls ? 1 : 0;
}
