/* cmd_demo.c - imgsec demo and imgsec gen: generated data (gen.h).
 *
 * demo stores a generated fleet straight into a database (what `make run`
 * serves); gen prints the same documents as NDJSON, for imports, the
 * ingest route and benchmarks. Both are deterministic for a seed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "imgsec/doc.h"
#include "imgsec/gen.h"
#include "imgsec/util.h"

#define DEMO_BATCH 1000     /* documents per transaction */
#define DEMO_EPS_MAX 16

static const char DEMO_USAGE[] =
    "usage: imgsec demo [--db DB] [--project P] [--images N] [--seed S] [--eps LIST]\n"
    "                   [--records-per-image R]\n"
    "  Stores N generated images (default 300) into project P (default demo),\n"
    "  spread over the EPs of LIST (default 0,ep-dev,ep-prod).\n";
static const char GEN_USAGE[] =
    "usage: imgsec gen [--images N] [--seed S] [--eps LIST] [--ep EP] [--records-per-image R]\n"
    "  Prints N generated ingest documents as NDJSON; with --ep, only those of EP.\n";

typedef struct {
    const char *db, *project, *only_ep;
    cli_ep_list eps;
    gen_options opt;
} gen_args;

/* cmd ("demo" or "gen") names the command in messages. */
static int parse_gen_args(int argc, char **argv, gen_args *a, const char *cmd, const char *usage)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"project", required_argument, NULL, 'p'},
        {"images", required_argument, NULL, 'n'},  {"seed", required_argument, NULL, 's'},
        {"eps", required_argument, NULL, 'E'},     {"ep", required_argument, NULL, 'e'},
        {"records-per-image", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->db = cli_default_db();
    a->project = "demo";
    a->opt.images = 300;
    a->opt.seed = 1;
    const char *eps = "0,ep-dev,ep-prod";
    int c;
    int64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'p': a->project = optarg; break;
        case 'e': a->only_ep = optarg; break;
        case 'n':
        case 's':
        case 'r':
            if (!util_parse_int64(optarg, &v) || v < 0 || (c == 'n' && v > 100000000)) {
                fprintf(stderr, "imgsec: --%s needs a non-negative integer\n",
                        c == 'n' ? "images" : c == 's' ? "seed" : "records-per-image");
                return CLI_USAGE;
            }
            if (c == 'n')
                a->opt.images = (size_t)v;
            else if (c == 's')
                a->opt.seed = (uint64_t)v;
            else
                a->opt.records_per_image = (double)v;
            break;
        case 'E': eps = optarg; break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return CLI_USAGE;
        }
    }
    if (!cli_parse_eps(cmd, "--eps", eps, DEMO_EPS_MAX, &a->eps))
        return CLI_USAGE;
    a->opt.eps = a->eps.ids;
    a->opt.n_eps = a->eps.n;
    return 0;
}

/* Documents waiting to be stored, one batch per EP. */
typedef struct {
    const char *ep;
    doc_list docs;
} ep_batch;

static int flush_batch(store *st, const char *project, ep_batch *b, int64_t *records,
                       imgsec_err *err)
{
    if (b->docs.n == 0)
        return IMGSEC_OK;
    store_ingest_result *res = calloc(b->docs.n, sizeof *res);
    int rc = res ? store_ingest(st, project, b->ep, b->docs.items, b->docs.n, NULL, res, NULL,
                                NULL, err)
                 : err_set(err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; rc == IMGSEC_OK && i < b->docs.n; i++)
        *records += res[i].records;
    free(res);
    doc_list_free(&b->docs);
    return rc;
}

static int batch_add(ep_batch *b, json_t *root, imgsec_err *err)
{
    if (b->docs.n == b->docs.cap) {
        size_t cap = b->docs.cap ? b->docs.cap * 2 : 64;
        imgsec_doc *items = realloc(b->docs.items, cap * sizeof *items);
        if (!items)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        b->docs.items = items;
        b->docs.cap = cap;
    }
    int rc = doc_from_json(root, NULL, &b->docs.items[b->docs.n], err);
    if (rc == IMGSEC_OK)
        b->docs.n++;
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    gen_args a;
    int rc = parse_gen_args(argc, argv, &a, "demo", DEMO_USAGE);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (!model_scope_id_valid(a.project)) {
        fprintf(stderr, "imgsec demo: --project must be 1-64 characters of A-Za-z0-9_-\n");
        return CLI_USAGE;
    }
    store *st = cli_store_open(a.db);
    if (!st)
        return CLI_FAIL;
    ep_batch batches[DEMO_EPS_MAX] = {{0}};
    for (size_t i = 0; i < a.opt.n_eps; i++)
        batches[i].ep = a.eps.ids[i];
    gen *g = gen_new(&a.opt);
    imgsec_err err = {0};
    int64_t records = 0;
    size_t done = 0;
    const char *ep;
    json_t *doc;
    rc = g ? IMGSEC_OK : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    while (rc == IMGSEC_OK && (doc = gen_next(g, &ep))) {
        size_t k = 0;
        while (k + 1 < a.opt.n_eps && strcmp(batches[k].ep, ep) != 0)
            k++;
        rc = batch_add(&batches[k], doc, &err);
        json_decref(doc);
        if (rc == IMGSEC_OK && batches[k].docs.n == DEMO_BATCH)
            rc = flush_batch(st, a.project, &batches[k], &records, &err);
        if (++done % 10000 == 0)
            fprintf(stderr, "demo: %zu/%zu images\n", done, a.opt.images);
    }
    /* gen_next's NULL is also how it fails: never report a short fleet as done */
    if (rc == IMGSEC_OK && gen_failed(g))
        rc = err_set(&err, IMGSEC_EINTERNAL,
                     "out of memory after generating %zu of %zu images (the batches stored "
                     "before stay in the database)",
                     done, a.opt.images);
    for (size_t k = 0; k < a.opt.n_eps; k++) {
        if (rc == IMGSEC_OK)
            rc = flush_batch(st, a.project, &batches[k], &records, &err);
        doc_list_free(&batches[k].docs);
    }
    gen_free(g);
    if (rc == IMGSEC_OK && store_after_load_due(st, records)) {
        fprintf(stderr, "demo: updating the planner's statistics (ANALYZE)\n");
        rc = store_after_load(st, records, &err);
    }
    store_close(st);
    if (rc != IMGSEC_OK)
        return cli_fail(&err);
    fprintf(stderr, "demo: stored %zu images with %lld records into project %s of %s\n", done,
            (long long)records, a.project, a.db);
    return CLI_OK;
}

int cmd_gen(int argc, char **argv)
{
    gen_args a;
    int rc = parse_gen_args(argc, argv, &a, "gen", GEN_USAGE);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    gen *g = gen_new(&a.opt);
    if (!g) {
        fprintf(stderr, "imgsec gen: out of memory\n");
        return CLI_FAIL;
    }
    const char *ep;
    json_t *doc;
    size_t done = 0;
    while ((doc = gen_next(g, &ep))) {
        if (!a.only_ep || strcmp(a.only_ep, ep) == 0) {
            json_dumpf(doc, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        }
        json_decref(doc);
        done++;
    }
    /* gen_next's NULL is also how it fails: a short output must not exit 0 */
    bool failed = gen_failed(g);
    gen_free(g);
    if (failed)
        fprintf(stderr, "imgsec gen: out of memory after generating %zu of %zu images\n", done,
                a.opt.images);
    return fflush(stdout) == 0 && !failed ? CLI_OK : CLI_FAIL;
}
