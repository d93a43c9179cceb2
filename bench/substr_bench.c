/* substr_bench.c - the statistic's substring filters, engine alone.
 *
 * Not a test and not part of the build. Loads the images of a database
 * file into a query index, the way imgsecd starts (store_summary_foreach,
 * one batch), then times index_count for the substring bodies of
 * bench/mix.sh (06 namespace, 07 image_name, 08 image_version, 10
 * instance_name, 11 cicd_name, operate_all over every granted EP) and a
 * few more needle shapes (1, 2 and 3 bytes, absent, long), each ITERS
 * times in a row. Prints per shape the total (to check against SQL), p50,
 * p99 and max wall time of one call, and the process CPU time per call
 * (load on the machine inflates wall time, not CPU time), and the RSS
 * after the build. No HTTP, no JSON: the index alone.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/substr_bench.c build/libimgsec.a \
 *      -lsqlite3 -ljansson -lsodium -lroaring -lpthread -lm -o /tmp/substr_bench
 *   /tmp/substr_bench DB PROJECT [ITERS]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgsec/index.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "proc_stats.h"

static int upsert(const image_summary *s, void *arg)
{
    imgsec_err err;
    if (index_upsert(arg, s, &err) != IMGSEC_OK) {
        fprintf(stderr, "upsert: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run(imgsec_index *ix, const char *label, const index_scope *sc, const stat_query *q,
                int iters)
{
    int64_t *t = malloc((size_t)iters * sizeof *t);
    int64_t total = 0, c0 = proc_cpu_ns();
    for (int i = 0; i < iters; i++) {
        imgsec_err err;
        int64_t t0 = util_mono_ns();
        if (index_count(ix, sc, q, &total, &err) != IMGSEC_OK) {
            fprintf(stderr, "%s: %s\n", label, err.msg);
            exit(1);
        }
        t[i] = util_mono_ns() - t0;
    }
    double cpu = (double)(proc_cpu_ns() - c0) / iters / 1e6;
    qsort(t, (size_t)iters, sizeof *t, cmp_i64);
    printf("%-34s total=%-9" PRId64 " p50=%7.4f p99=%7.4f max=%7.4f cpu/call=%7.4f ms\n", label,
           total, t[iters / 2] / 1e6, t[iters * 99 / 100] / 1e6, t[iters - 1] / 1e6, cpu);
    free(t);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: substr_bench DB PROJECT [ITERS]\n");
        return 2;
    }
    int iters = argc > 3 ? atoi(argv[3]) : 2000;
    if (iters < 1)
        iters = 1;
    store *st;
    imgsec_err err;
    if (store_open(argv[1], &st, &err) != IMGSEC_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 1;
    }
    long rss0 = proc_status_mb("VmRSS");
    imgsec_index *ix = index_new();
    int64_t t0 = util_mono_ns(), seq;
    index_write_begin(ix);
    if (store_summary_foreach(st, upsert, ix, &seq, &err) != IMGSEC_OK) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    index_write_end(ix);
    index_catch_up(ix); /* both instances built, as in a running imgsecd */
    printf("built %zu images, %" PRId64 " records in %.2f s, RSS %ld MB (%ld MB before)\n",
           index_size(ix), index_records(ix), (util_mono_ns() - t0) / 1e9, proc_status_mb("VmRSS"), rss0);

    index_scope all = {argv[2], true, NULL, 0};
    static const struct {
        const char *label;
        report_type r;
        int attr; /* 0 namespace, 1 image_name, 2 image_version, 3 instance_name, 4 cicd_name */
        const char *needle;
    } shapes[] = {
        {"06-namespace pay", REPORT_VULNERABILITY, 0, "pay"},
        {"07-image-name web-", REPORT_APPS, 1, "web-"},
        {"08-image-version alpine", REPORT_VULNERABILITY, 2, "alpine"},
        {"10-instance-name harbor", REPORT_MALWARES, 3, "harbor"},
        {"11-cicd-name jenkins", REPORT_SENSITIVE_INFO, 4, "jenkins"},
        {"image_name 1 byte: a", REPORT_APPS, 1, "a"},
        {"image_name 2 bytes: we", REPORT_APPS, 1, "we"},
        {"image_name 3 bytes: api", REPORT_APPS, 1, "api"},
        {"image_name absent: zzzq", REPORT_APPS, 1, "zzzq"},
        {"image_name long: web-frontend-1", REPORT_APPS, 1, "web-frontend-1"},
        {"image_version 2 bytes: 1.", REPORT_VULNERABILITY, 2, "1."},
        {"image_version 1 byte: 7", REPORT_VULNERABILITY, 2, "7"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        stat_query q;
        filter_init(&q, shapes[i].r);
        q.operate_all = true;
        const char **slot[] = {&q.namespace_, &q.image_name, &q.image_version, &q.instance_name,
                               &q.cicd_name};
        *slot[shapes[i].attr] = shapes[i].needle;
        run(ix, shapes[i].label, &all, &q, iters);
    }
    index_free(ix);
    store_close(st);
    return 0;
}
