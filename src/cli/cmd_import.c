/* cmd_import.c - imgsec import: load ingest documents into the database.
 *
 * Each file is validated whole, then stored in one transaction: a file
 * with one bad document stores nothing, and the message names the file
 * and the document. A file is NDJSON when more than one line starts with
 * '{', a JSON array when it starts with '[', otherwise one JSON document. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "imgsec/doc.h"
#include "imgsec/util.h"

static const char USAGE[] =
    "usage: imgsec import [--db DB] --project P [--ep EP] FILE...\n"
    "  Loads ingest documents (data-model.md) from each FILE ('-' for standard input):\n"
    "  NDJSON (one document per line), a JSON array of documents, or one document.\n"
    "  --ep EP   enterprise project of the images (default 0)\n";

static bool looks_like_ndjson(const char *buf, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len && lines < 2; i++)
        if (buf[i] == '{' && (i == 0 || buf[i - 1] == '\n'))
            lines++;
    return lines >= 2;
}

static char *read_input(const char *path, size_t *len)
{
    if (strcmp(path, "-") != 0)
        return util_read_file(path, len);
    return util_read_file("/dev/stdin", len);
}

typedef struct {
    const char *file;
    int64_t last_ns;
} progress_ctx;

/* Redraws at most every 100 ms on a terminal; elsewhere one line per 10%. */
static void show_progress(size_t done, size_t total, void *arg)
{
    progress_ctx *p = arg;
    if (cli_stderr_is_tty()) {
        int64_t now = util_mono_ns();
        if (done != total && now - p->last_ns < 100000000)
            return;
        p->last_ns = now;
        fprintf(stderr, "\r%s: %zu/%zu documents stored (%zu%%)", p->file, done, total,
                total ? done * 100 / total : 100);
        if (done == total)
            fputc('\n', stderr);
    } else if (total >= 10 && done % (total / 10) == 0 && done != total) {
        fprintf(stderr, "%s: %zu/%zu documents stored\n", p->file, done, total);
    }
}

static int import_file(store *st, const char *project, const char *ep, const char *path)
{
    size_t len = 0;
    char *buf = read_input(path, &len);
    if (!buf) {
        fprintf(stderr, "imgsec import: %s: cannot read: %m\n", path);
        return CLI_FAIL;
    }
    imgsec_err err = {0};
    doc_list docs = {0};
    fprintf(stderr, "%s: validating %zu bytes\n", path, len);
    int rc = doc_list_parse(buf, len, looks_like_ndjson(buf, len), &docs, &err);
    store_ingest_result *results = NULL;
    if (rc == IMGSEC_OK) {
        results = calloc(docs.n ? docs.n : 1, sizeof *results);
        progress_ctx p = {path, 0};
        rc = results ? store_ingest(st, project, ep, docs.items, docs.n, NULL, results,
                                    show_progress, &p, &err)
                     : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    }
    int out = CLI_OK;
    if (rc == IMGSEC_OK) {
        int64_t records = 0;
        for (size_t i = 0; i < docs.n; i++)
            records += results[i].records;
        fprintf(stderr, "%s: imported %zu images, %lld records into project %s, EP %s\n", path,
                docs.n, (long long)records, project, ep);
    } else {
        fprintf(stderr, "imgsec import: %s: %s (nothing from this file was stored)\n", path,
                err.msg);
        out = CLI_FAIL;
    }
    free(results);
    doc_list_free(&docs);
    free(buf);
    return out;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"project", required_argument, NULL, 'p'},
        {"ep", required_argument, NULL, 'e'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = cli_default_db(), *project = NULL, *ep = MODEL_DEFAULT_EP;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'p': project = optarg; break;
        case 'e': ep = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (!project || optind >= argc) {
        fprintf(stderr, "imgsec import: --project and at least one FILE are required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (!model_scope_id_valid(project) || !model_scope_id_valid(ep)) {
        fprintf(stderr, "imgsec import: --project and --ep must be 1-64 characters of A-Za-z0-9_-\n");
        return CLI_USAGE;
    }
    store *st = cli_store_open(db);
    if (!st)
        return CLI_FAIL;
    int out = CLI_OK;
    for (int i = optind; i < argc && out == CLI_OK; i++)
        out = import_file(st, project, ep, argv[i]);
    store_close(st);
    return out;
}
