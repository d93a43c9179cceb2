/* index_mem.c - what the query index holds, structure by structure.
 *
 * Not a test and not part of the build: it opens a store file the way
 * imgsecd does (follower_open: the index built; then the follower's copy
 * of the second instance), then prints the process's RSS and peak, and the bytes of each structure of
 * the published instance as malloc_usable_size counts them (plus 8 bytes
 * of malloc's header per block), in KB. Build it against a built
 * libimgsec.a, e.g.:
 *
 *   cc -O2 -std=gnu11 -Iinclude -Isrc/lib -Isrc/lib/index bench/index_mem.c build/libimgsec.a \
 *      $(pkg-config --libs jansson sqlite3 libsodium yajl xlsxwriter libarchive rpm yara \
 *        libpcre2-8 libcurl libxcrypt libcrypto zlib libpq) -lroaring -lpthread -lm -o /tmp/index_mem
 *   /tmp/index_mem DB
 */
#include "imgsec/follow.h"
#include "imgsec/store.h"
#include "index_internal.h"
#include "proc_stats.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t us(const void *p) { return p ? malloc_usable_size((void *)p) + 8 : 0; }
static void acct(const ix_inst *ix)
{
    size_t rows = us(ix->rows), cols = us(ix->container_num) + us(ix->free_rows);
    for (int k = 0; k < IX_QCOLS; k++)
        cols += us(ix->qcols[k]) + us(ix->qrems[k]);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        cols += us(ix->counts[t]);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        cols += us(ix->vul_counts[v]);
    size_t ids = us(ix->ids.slots);
    printf("rows %zu KB (cap %u, n %u), columns %zu KB, idmap %zu KB\n", rows >> 10, ix->cap_rows,
           ix->n_rows, cols >> 10, ids >> 10);
    const char *names[] = {"project",       "project_ep",    "namespace", "image_name",
                           "image_version", "instance_name", "cicd_name", "image_id",
                           "instance_id",   "image_digest"};
    size_t dtot = 0;
    for (int a = 0; a < SA_COUNT; a++) {
        const dict *d = &ix->dicts[a];
        size_t map = us(d->map.slots), ent = us(d->entries), e = 0, s = 0, rs = 0;
        for (size_t i = 0; i < d->n; i++) {
            const dict_entry *x = d->entries[i];
            e += us(x);
            s += us(x->s);
            rs += us(x->arr) + (x->bm ? roaring_bitmap_size_in_bytes(x->bm) : 0);
        }
        printf("dict %-14s n %8zu map %5zu KB entries[] %4zu KB entry %5zu KB str %5zu KB rows "
               "%5zu KB\n",
               names[a], d->n, map >> 10, ent >> 10, e >> 10, s >> 10, rs >> 10);
        dtot += map + ent + e + s + rs;
    }
    /* row-owned strings (index_internal.h: ix_str), shared by both
     * instances: counted once here, for the pair */
    size_t owned = 0, owned_maps = 0;
    for (uint32_t r = 0; r < ix->n_rows; r++)
        for (int a = 0; a < SA_COUNT; a++)
            if (sa_row_owned((str_attr)a))
                owned += us(ix->rows[r].str[a].own);
    for (int a = 0; a < SA_COUNT; a++)
        owned_maps += us(ix->owned[a].slots);
    printf("dicts total %zu KB, row-owned strings %zu KB (shared by both instances), their "
           "rowmaps %zu KB\n",
           dtot >> 10, owned >> 10, owned_maps >> 10);
    const postings *Ps[] = {&ix->vuls, &ix->builds, &ix->groups};
    const char *pn[] = {"vuls", "builds", "groups"};
    for (int k = 0; k < 3; k++) {
        const postings *P = Ps[k];
        size_t map = us(P->map.slots), terms = us(P->terms) + us(P->free_ids), tt = 0,
               rows = us(P->rows), refs = 0;
        size_t nt = 0;
        for (uint32_t i = 0; i < P->n_ids; i++)
            if (P->terms[i]) {
                const pterm *t = P->terms[i];
                nt++;
                tt += us(t) + us(t->key) + us(t->p);
            }
        for (uint32_t r = 0; r < P->n_rows; r++)
            if (P->rows[r].cap > 1)
                refs += us(P->rows[r].refs);
        printf("postings %-6s terms %zu postings %zu: map %zu KB, ids %zu KB, terms+p %zu KB, rows "
               "%zu KB, refs %zu KB\n",
               pn[k], nt, P->n_postings, map >> 10, terms >> 10, tt >> 10, rows >> 10, refs >> 10);
    }
    size_t bm = 0;
    for (int i = 0; i < IMAGE_TYPE_COUNT; i++)
        bm += roaring_bitmap_size_in_bytes(ix->by_type[i]);
    for (int i = 0; i < SCAN_STATUS_COUNT; i++)
        bm += roaring_bitmap_size_in_bytes(ix->by_status[i]);
    for (int i = 0; i < FLAG_COUNT; i++)
        bm += roaring_bitmap_size_in_bytes(ix->flags[i]);
    printf("bitmaps ~%zu KB\n", bm >> 10);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: index_mem DB\n");
        return 2;
    }
    imgsec_index *ix = index_new();
    follower *f;
    imgsec_err err = {0};
    struct timespec c0, c1, w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    if (follower_open(argv[1], ix, &f, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    printf("open (first instance) wall %.2f s, ", (w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9);
    printf("cpu %.2f s, RSS %ld MB, HWM %ld MB, images %zu\n",
           (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9, proc_status_mb("VmRSS"),
           proc_status_mb("VmHWM"), index_size(ix));
    /* the follower thread copies the second instance first thing; closing
     * it waits for that */
    follower_close(f);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("both instances cpu %.2f s, RSS %ld MB, HWM %ld MB\n",
           (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9, proc_status_mb("VmRSS"),
           proc_status_mb("VmHWM"));
    struct mallinfo2 mi = mallinfo2();
    printf("malloc in use %zu KB, arena %zu KB, mmap %zu KB\n", mi.uordblks >> 10, mi.arena >> 10,
           mi.hblkhd >> 10);
    acct(index_published(ix));
    index_free(ix);
    return 0;
}
