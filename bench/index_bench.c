/* index_bench.c - timings of the query index on a synthetic fleet.
 *
 * Not a test and not part of the build: it prints how long index_count
 * takes for a few query shapes over N images (default 100,000 with about
 * 200 records each, i.e. 20 million records), so that changes to the index
 * can be compared. Build it against the library of a `make build`, e.g.:
 *
 *   cc -O2 -g -std=c11 -D_GNU_SOURCE -Iinclude -Isrc/lib bench/index_bench.c build/libimgsec.a \
 *      $(pkg-config --libs jansson sqlite3 libpq libsodium yajl xlsxwriter libarchive rpm yara \
 *      libpcre2-8 libcurl libxcrypt libcrypto zlib libzstd) -lroaring -lpthread -lm -o /tmp/index_bench
 *   /tmp/index_bench [images] [iterations] [only shapes whose label contains this]
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/index.h"
#include "imgsec/util.h"
#include "proc_stats.h"

#define N_VUL_IDS 30000
#define N_NAMES 5000
#define N_RULES 40
#define MAX_VULS 96
#define MAX_BUILDS 8

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static char vul_ids[N_VUL_IDS][20];
static char names[N_NAMES][16];
static char namespaces[50][16];
static char versions[64][12];
static char rules[N_RULES][8];
static char risks[N_RULES][32];
static const char *eps[] = {"0", "ep-a", "ep-b", "ep-c", "ep-d"};

static void build(imgsec_index *ix, int64_t n, int64_t *records)
{
    vul_agg vuls[MAX_VULS];
    build_agg builds[MAX_BUILDS];
    char image_id[80];
    *records = 0;
    index_write_begin(ix);
    for (int64_t id = 1; id <= n; id++) {
        image_summary s;
        memset(&s, 0, sizeof s);
        s.id = id;
        s.project_id = "proj-bench";
        s.ep = eps[rnd() % 5];
        s.type = (image_type)(rnd() % 3);
        s.status = rnd() % 10 ? SCAN_STATUS_SUCCESS : SCAN_STATUS_FAILED;
        s.namespace_ = namespaces[rnd() % 50];
        s.image_name = names[(size_t)(pow(unif(), 2) * N_NAMES)];
        s.image_version = versions[rnd() % 64];
        snprintf(image_id, sizeof image_id, "sha256:%016" PRIx64 "%016" PRIx64, rnd(), rnd());
        s.image_id = image_id;
        s.instance_id = "";
        s.instance_name = "";
        s.cicd_name = rnd() % 4 ? "" : "pipeline-main";
        s.image_size = (int64_t)(rnd() % 2000) << 20;
        s.latest_update_time = 1700000000000 + (int64_t)(rnd() % 100000000);
        s.latest_scan_time = s.latest_update_time + 3600000;
        s.container_num = rnd() % 3;
        s.severity_level =
            s.status == SCAN_STATUS_SUCCESS ? (severity_level)(rnd() % 4) : SEVERITY_LEVEL_NONE;
        /* ~200 records: ~60 vulnerabilities in ~45 distinct ids, ~100 apps, the rest spread */
        size_t nv = 20 + rnd() % 50;
        for (size_t i = 0; i < nv; i++) {
            vuls[i] = (vul_agg){0}; /* no rank, score or representative */
            vuls[i].vul_id = vul_ids[(size_t)(pow(unif(), 3) * N_VUL_IDS)];
            vuls[i].type = (vul_type)(rnd() % 2);
            vuls[i].n = 1 + (int64_t)(rnd() % 3 == 0);
            s.counts[REPORT_VULNERABILITY] += vuls[i].n;
            s.vul_counts[vuls[i].type] += vuls[i].n;
        }
        size_t nb = rnd() % MAX_BUILDS;
        for (size_t i = 0; i < nb; i++) {
            size_t r = rnd() % N_RULES;
            builds[i] = (build_agg){rules[r], risks[r], (severity)(1 + r % 4), 1};
            s.counts[REPORT_BUILD_COMMAND_RISKS] += 1;
        }
        s.vuls = vuls;
        s.n_vuls = nv;
        s.builds = builds;
        s.n_builds = nb;
        s.counts[REPORT_APPS] = 80 + rnd() % 40;
        s.counts[REPORT_FILES] = rnd() % 20;
        s.counts[REPORT_RISK_CONFIG] = rnd() % 10;
        s.counts[REPORT_MALWARES] = rnd() % 20 == 0;
        s.counts[REPORT_SENSITIVE_INFO] = rnd() % 5;
        for (int t = 0; t < REPORT_TYPE_COUNT; t++)
            *records += s.counts[t];
        imgsec_err err;
        if (index_upsert(ix, &s, &err) != IMGSEC_OK) {
            fprintf(stderr, "upsert: %s\n", err.msg);
            exit(1);
        }
    }
    index_write_end(ix);
}

static stat_query q_all(report_type r)
{
    stat_query q;
    filter_init(&q, r);
    q.operate_all = true;
    return q;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const char *only; /* run only shapes whose label contains this */

static void run(imgsec_index *ix, const char *label, const index_scope *sc, const stat_query *q,
                int iters)
{
    if (only && !strstr(label, only))
        return;
    if (iters < 1)
        iters = 1;
    int64_t *t = malloc((size_t)iters * sizeof *t);
    int64_t total = 0;
    for (int i = 0; i < iters; i++) {
        imgsec_err err;
        int64_t t0 = util_mono_ns();
        if (index_count(ix, sc, q, &total, &err) != IMGSEC_OK) {
            fprintf(stderr, "%s: %s\n", label, err.msg);
            exit(1);
        }
        t[i] = util_mono_ns() - t0;
    }
    int64_t first = t[0];
    int slow = 0;
    for (int i = 0; i < iters; i++)
        slow += t[i] > 1000000;
    qsort(t, (size_t)iters, sizeof *t, cmp_i64);
    printf("%-40s total=%-9" PRId64 " p50=%6.3f p99=%6.3f max=%6.3f first=%6.3f ms, %d >1ms\n",
           label, total, t[iters / 2] / 1e6, t[iters * 99 / 100] / 1e6, t[iters - 1] / 1e6,
           first / 1e6, slow);
    free(t);
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 100000;
    int iters = argc > 2 ? atoi(argv[2]) : 200;
    only = argc > 3 ? argv[3] : NULL;
    for (int i = 0; i < N_VUL_IDS; i++)
        snprintf(vul_ids[i], sizeof vul_ids[i], "CVE-20%02d-%05d", 10 + i % 15, i);
    for (int i = 0; i < N_NAMES; i++)
        snprintf(names[i], sizeof names[i], "svc-%d", i);
    for (int i = 0; i < 50; i++)
        snprintf(namespaces[i], sizeof namespaces[i], "team-%d", i);
    for (int i = 0; i < 64; i++)
        snprintf(versions[i], sizeof versions[i], "v%d.%d", i / 8, i % 8);
    for (int i = 0; i < N_RULES; i++) {
        snprintf(rules[i], sizeof rules[i], "DS%03d", i);
        snprintf(risks[i], sizeof risks[i], "risk number %d%s", i, i % 3 ? "" : " as root");
    }

    imgsec_index *ix = index_new();
    int64_t records;
    int64_t t0 = util_mono_ns();
    build(ix, n, &records);
    printf("built %" PRId64 " images, %" PRId64 " records in %.2f s, RSS %ld MB\n", n, records,
           (util_mono_ns() - t0) / 1e9, proc_status_mb("VmRSS"));

    index_scope all = {"proj-bench", true, NULL, 0};
    const char *three[] = {"0", "ep-a", "ep-c"};
    index_scope some = {"proj-bench", false, three, 3};

    stat_query q = q_all(REPORT_APPS);
    run(ix, "all images, apps", &all, &q, iters);
    run(ix, "3 of 5 EPs, apps", &some, &q, iters);
    q = q_all(REPORT_VULNERABILITY);
    run(ix, "all images, vulnerability", &all, &q, iters);
    q.vul_type = VUL_TYPE_LINUX;
    run(ix, "vul_type=linux_vul", &all, &q, iters);
    const char *vids[10];
    for (int i = 0; i < 10; i++)
        vids[i] = vul_ids[i * 3]; /* the head of the distribution: many postings */
    q.vul_type = -1;
    q.vul_ids = vids;
    q.n_vul_ids = 10;
    run(ix, "vul_id_list of 10 common ids", &all, &q, iters);
    const char *rare[] = {vul_ids[N_VUL_IDS - 1], vul_ids[N_VUL_IDS - 7]};
    q.vul_ids = rare;
    q.n_vul_ids = 2;
    run(ix, "vul_id_list of 2 rare ids", &all, &q, iters);
    const char *unknown[] = {"CVE-1999-00000", "GHSA-none"};
    q.vul_ids = unknown;
    run(ix, "vul_id_list of 2 unknown ids", &all, &q, iters);
    q.image_name = "svc-1";
    q.has_image_size = true;
    q.image_size = (int64_t)1000 << 20;
    run(ix, "vul_id_list of 2 unknown ids, name~, size", &all, &q, iters);
    /* the bodies of bench/mix.sh that sum over a large selection */
    const char *ep0[] = {"0"};
    index_scope one_ep = {"proj-bench", false, ep0, 1};
    q = q_all(REPORT_FILES);
    run(ix, "mix 03: one EP, files", &one_ep, &q, iters);
    q = q_all(REPORT_RISK_CONFIG);
    q.scan_status = SCAN_STATUS_SUCCESS;
    run(ix, "mix 05: scan_status success, risk", &all, &q, iters);
    q = q_all(REPORT_VULNERABILITY);
    q.has_image_size = true;
    q.image_size = (int64_t)1500 << 20;
    q.has_update_start = q.has_update_end = true;
    q.update_start = 1700000000000 + 20000000;
    q.update_end = 1700000000000 + 80000000;
    run(ix, "mix 13: size and update range, vul", &all, &q, iters);
    q = q_all(REPORT_NON_COMPLIANT_APP);
    q.has_scan_start = q.has_scan_end = true;
    q.scan_start = 1700000000000 + 20000000;
    q.scan_end = 1700000000000 + 80000000;
    run(ix, "mix 14: scan range, non-compliant", &all, &q, iters);
    q = q_all(REPORT_VULNERABILITY);
    q.severity_level = SEVERITY_LEVEL_HIGH;
    q.vul_type = VUL_TYPE_APP;
    run(ix, "mix 16: High, vul_type app", &all, &q, iters);
    q = q_all(REPORT_APPS);
    q.image_name = "svc-1";
    q.latest_version = true;
    run(ix, "image_name~svc-1, latest, apps", &all, &q, iters);
    q = q_all(REPORT_FILES);
    q.has_vul = TRI_TRUE;
    q.severity_level = SEVERITY_LEVEL_HIGH;
    q.has_scan_start = true;
    q.scan_start = 1700000000000 + 50000000;
    q.has_image_size = true;
    q.image_size = (int64_t)1000 << 20;
    run(ix, "has_vul, High, scan range, size, files", &all, &q, iters);
    q = q_all(REPORT_BUILD_COMMAND_RISKS);
    q.build_name = "root";
    q.build_level = SEVERITY_HIGH;
    run(ix, "build name~root, level high", &all, &q, iters);
    static char idbuf[10000][24];
    static const char *ids[10000];
    for (int i = 0; i < 10000; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "%" PRId64, 1 + (int64_t)(rnd() % (uint64_t)n));
        ids[i] = idbuf[i];
    }
    q = q_all(REPORT_VULNERABILITY);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 10000;
    run(ix, "image_id_list of 10,000, vulnerability", &all, &q, iters);
    q.vul_ids = vids;
    q.n_vul_ids = 10;
    run(ix, "image_id_list of 10,000 + 10 vul ids", &all, &q, iters);
    q.n_image_ids = 20;
    run(ix, "image_id_list of 20 + 10 vul ids", &all, &q, iters);
    q = q_all(REPORT_APPS);
    q.operate_all = false;
    q.image_ids = ids;
    q.n_image_ids = 10000;
    q.image_name = "svc";
    run(ix, "image_id_list of 10,000 + image_name~svc", &all, &q, iters);
    q.operate_all = true;
    run(ix, "all images, image_name~svc (all match)", &all, &q, iters);
    q.image_name = "svc-42";
    q.namespace_ = "team-1";
    q.image_version = "v1.";
    run(ix, "name~svc-42, namespace~team-1, version~v1.", &all, &q, iters);
    index_free(ix);
    return 0;
}
