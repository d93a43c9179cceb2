/* export_file_bench.c - how fast an export file goes into the database and
 * comes back out of it (store_exports.h "files"), on either engine.
 *
 * Not a test and not part of the build. It makes a file of MIB mebibytes
 * (random bytes: nothing compresses), stores it as an export task's file
 * (store_export_file_put, then the success that checks it whole), and
 * reads it back chunk by chunk as a download from another node does
 * (store_export_chunk_get), then prints both rates. Build it against the
 * library of a build directory, e.g.:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc/lib bench/export_file_bench.c \
 *      build/libimgsec.a $(pkg-config --libs sqlite3 libpq jansson libsodium) \
 *      -lroaring -lxlsxwriter -lxxhash -lpthread -lm -o /tmp/export_file_bench
 *   /tmp/export_file_bench /tmp/x.db 256
 *   /tmp/export_file_bench 'postgresql:///bench?host=/tmp/pg' 256
 *
 * TARGET must be a new database (it is written to).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "imgsec/store_exports.h"
#include "imgsec/util.h"

static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TARGET MIB\n", argv[0]);
        return 2;
    }
    long mib = atol(argv[2]);
    if (mib <= 0 || mib > 4096 || sodium_init() < 0)
        return 2;
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(argv[1], &st, &err) != IMGSEC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    FILE *f = tmpfile();
    unsigned char *buf = malloc(STORE_EXPORT_CHUNK_BYTES);
    if (!f || !buf)
        return 1;
    for (long i = 0; i < mib; i++) {
        randombytes_buf(buf, STORE_EXPORT_CHUNK_BYTES);
        fwrite(buf, 1, STORE_EXPORT_CHUNK_BYTES, f);
    }
    fflush(f);
    rewind(f);
    store_export_task t = {.report = REPORT_APPS, .export_size = 10, .total = 1,
                           .created_ms = util_now_ms(), .status = EXPORT_RUNNING};
    util_random_hex(t.id, STORE_EXPORT_ID_HEX / 2);
    util_random_hex(t.file_id, STORE_EXPORT_ID_HEX / 2);
    snprintf(t.project_id, sizeof t.project_id, "P1");
    snprintf(t.eps, sizeof t.eps, "*");
    snprintf(t.file_format, sizeof t.file_format, "csv");
    if (store_export_task_insert(st, &t, "{}", NULL, &err) != IMGSEC_OK)
        goto fail;
    int64_t t0 = util_mono_ns(), size = 0;
    if (store_export_file_put(st, t.file_id, fileno(f), &size, &err) != IMGSEC_OK)
        goto fail;
    t.status = EXPORT_SUCCESS;
    t.file_size = size;
    t.expires_ms = util_now_ms() + 3600000;
    snprintf(t.file_name, sizeof t.file_name, "bench.csv");
    if (store_export_task_finish(st, &t, &err) != IMGSEC_OK)
        goto fail;
    int64_t t1 = util_mono_ns(), got = 0;
    size_t len = 0;
    for (int64_t seq = 0;; seq++) {
        int rc = store_export_chunk_get(st, t.file_id, seq, buf, STORE_EXPORT_CHUNK_BYTES, &len, &err);
        if (rc == IMGSEC_ENOTFOUND)
            break;
        if (rc != IMGSEC_OK)
            goto fail;
        got += (int64_t)len;
    }
    int64_t t2 = util_mono_ns();
    if (got != size)
        return fprintf(stderr, "read %lld of %lld bytes\n", (long long)got, (long long)size), 1;
    double m = (double)size / (1024.0 * 1024.0);
    printf("RESULT target=%s mib=%.0f put_s=%.3f put_mib_s=%.1f get_s=%.3f get_mib_s=%.1f\n",
           strncmp(argv[1], "postgres", 8) == 0 ? "postgresql" : "sqlite", m, secs(t1 - t0),
           m / secs(t1 - t0), secs(t2 - t1), m / secs(t2 - t1));
    store_close(st);
    return 0;
fail:
    fprintf(stderr, "%s\n", err.msg);
    return 1;
}
