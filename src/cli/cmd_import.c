/* cmd_import.c - imgsec import: load ingest documents or scanner reports.
 *
 * Offline (--db, the default) each file is converted if it is a scanner
 * report (importers.h), validated, and stored in one transaction: a file
 * with one bad document stores nothing, and the message names the file
 * and the position. Ingest documents (NDJSON, or a JSON array, or a
 * document given --format native), from a file or standard input, are
 * streamed: read in 1 MiB pieces, parsed by doc_stream (doc.h) and stored
 * in batches as they come, inside that one transaction, so memory does
 * not grow with the input. Which they are is decided by sniffing the
 * input's start (sniff_input: the bytes read stay in front of the rest,
 * so a pipe is read once). Scanner reports and a single document of
 * format auto (detection reads its top level) are read whole. With
 * --server the file is sent as is to the ingest route with its format as
 * a query parameter, so the server does the same conversion and
 * validation; the CLI only reads and posts.
 * Native input is a JSON array when its first non-blank byte is '[', and
 * NDJSON when that byte is '{' and more than one line starts with '{';
 * otherwise it is one JSON document. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "imgsec/doc.h"
#include "imgsec/importers.h"
#include "imgsec/util.h"
#include "imgsec/work.h"

static const char USAGE[] =
    "usage: imgsec import [--db DB | --server URL [--token-file F | --token T] [--region R]]\n"
    "                     --project P\n"
    "                     [--ep EP] [--format F] [identity flags] FILE...\n"
    "  Loads each FILE ('-' for standard input): ingest documents (data-model.md:\n"
    "  NDJSON, a JSON array of documents, or one document) or one scanner report.\n"
    "  --ep EP          enterprise project of the images (default 0)\n"
    "  --format F       auto (default), native, trivy, grype, syft, cyclonedx, spdx\n"
    "  --image-type T   image_type of an imported report (default local_image)\n"
    "  --image-name N, --image-version V, --namespace NS\n"
    "                   override the identity the report gives\n"
    "  --stream         stream a Trivy report instead of loading it (automatic for\n"
    "                   Trivy files of 32 MiB or more; offline only)\n"
    "  --server URL     post to a running imgsecd (e.g. http://127.0.0.1:8080) instead\n"
    "                   of writing DB; token: the first line of --token-file F, or\n"
    "                   IMGSEC_TOKEN (--token T works too, but every user of the machine\n"
    "                   sees it in ps); --region R or IMGSEC_REGION\n"
    "  --bulk auto|yes|no  build the record tables' search indexes once after a\n"
    "                   FILE of documents instead of per record (inside its one\n"
    "                   transaction; other connections' reads of those tables wait\n"
    "                   for it on PostgreSQL); auto (default): on PostgreSQL, into\n"
    "                   a store that holds no image yet; offline only\n"
    "  See docs/importers.md for what each format maps to.\n";

typedef struct {
    const char *db, *project, *ep, *server, *token, *region;
    import_format format;
    import_options id;
    bool stream, bulk_given;
    int bulk; /* --bulk: BULK_* */
    int64_t *stored; /* the records stored so far, all files (store_after_load) */
} import_args;

enum { BULK_AUTO, BULK_YES, BULK_NO };

/* The input of one FILE argument: its stream and the bytes read from it
 * so far (the sniffed head), which come before the rest. */
typedef struct {
    FILE *f;          /* stdin for "-" */
    util_buf head;
    bool eof;
} input;

typedef enum { SNIFF_NDJSON, SNIFF_ARRAY, SNIFF_OTHER, SNIFF_ERROR } sniff_kind;

#define SNIFF_CHUNK 65536

/* Appends the next piece of in->f to the head (in->eof at its end);
 * false on a read error or out of memory (errno set). */
static bool read_more(input *in)
{
    char buf[SNIFF_CHUNK];
    size_t n = fread(buf, 1, sizeof buf, in->f);
    if (n < sizeof buf) {
        if (ferror(in->f))
            return false;
        in->eof = true;
    }
    util_buf_put(&in->head, buf, n);
    if (in->head.failed) {
        errno = ENOMEM;
        return false;
    }
    return true;
}

/* Reads in->f until the rule of the header comment decides, keeping every
 * byte in in->head: '[' first decides at once, '{' first with a second
 * line starting '{' decides NDJSON, anything else (or the end) is OTHER. */
static sniff_kind sniff_input(input *in)
{
    char first = 0, prev = '\n';
    size_t lines = 0, scanned = 0;
    for (;;) {
        for (; scanned < in->head.len; scanned++) {
            char ch = in->head.buf[scanned];
            if (!first && !strchr(" \t\r\n", ch)) {
                first = ch;
                if (first == '[')
                    return SNIFF_ARRAY;
                if (first != '{')
                    return SNIFF_OTHER;
            }
            if (ch == '{' && prev == '\n' && ++lines == 2)
                return SNIFF_NDJSON;
            prev = ch;
        }
        if (in->eof)
            return SNIFF_OTHER;
        if (!read_more(in))
            return SNIFF_ERROR;
    }
}

/* The whole input: the head and the rest, read to the end (NUL-terminated,
 * as util_read_file). Takes the head's buffer; NULL with errno set. */
static char *read_rest(input *in, size_t *len)
{
    while (!in->eof)
        if (!read_more(in))
            return NULL;
    util_buf_put(&in->head, "", 0); /* an empty input is "" too */
    if (in->head.failed) {
        errno = ENOMEM;
        return NULL;
    }
    char *out = in->head.buf;
    *len = in->head.len;
    in->head = (util_buf){0};
    return out;
}

/* Whether buf is NDJSON by the same rule (for input read whole). */
static bool looks_like_ndjson(const char *buf, size_t len)
{
    input in = {.head = {.buf = (char *)buf, .len = len}, .eof = true};
    return sniff_input(&in) == SNIFF_NDJSON;
}

static bool input_open(input *in, const char *path)
{
    *in = (input){0};
    in->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    return in->f != NULL;
}

static void input_close(input *in)
{
    if (in->f && in->f != stdin)
        fclose(in->f);
    free(in->head.buf);
    *in = (input){0};
}

static char *read_input(const char *path, size_t *len)
{
    input in;
    if (!input_open(&in, path))
        return NULL;
    char *buf = read_rest(&in, len);
    int saved = errno;
    input_close(&in);
    errno = saved;
    return buf;
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

/* Large Trivy files take the streaming path (importers.h): by flag, or
 * when the file is big and (format auto) its start names SchemaVersion. */
static bool want_stream(const import_args *a, const char *path)
{
    struct stat sb;
    if (a->stream)
        return true;
    if (strcmp(path, "-") == 0 || (a->format != IMPORT_AUTO && a->format != IMPORT_TRIVY) ||
        stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < IMPORT_STREAM_MIN_BYTES)
        return false;
    if (a->format == IMPORT_TRIVY)
        return true;
    char head[4096];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[n] = '\0';
    return strstr(head, "\"SchemaVersion\"") != NULL;
}

/* A file that failed stores nothing; say so, naming the file once
 * (the importers' messages already start with it). Returns CLI_FAIL. */
static int not_stored(const char *path, const imgsec_err *err)
{
    bool named = strncmp(err->msg, path, strlen(path)) == 0;
    fprintf(stderr, "imgsec import: %s%s%s (nothing from this file was stored)\n",
            named ? "" : path, named ? "" : ": ", err->msg);
    return CLI_FAIL;
}

static int import_stream(store *st, const import_args *a, const char *path)
{
    imgsec_err err = {0};
    store_ingest_result r = {0};
    if (strcmp(path, "-") == 0) {
        fprintf(stderr, "imgsec import: --stream needs a file, not standard input (it reads twice)\n");
        return CLI_USAGE;
    }
    fprintf(stderr, "%s: streaming as a trivy report\n", path);
    if (import_trivy_stream(st, a->project, a->ep, path, &a->id, NULL, &r, &err) != IMGSEC_OK)
        return not_stored(path, &err);
    fprintf(stderr, "%s: imported 1 images, %lld records into project %s, EP %s (format trivy, streamed)\n",
            path, (long long)r.records, a->project, a->ep);
    return CLI_OK;
}

/* ---- ingest documents from a file, streamed ---- */

#define READ_CHUNK (1u << 20)
#define BATCH_DOCS 256        /* documents stored per store_ingest_add ... */
#define BATCH_RECORDS 100000  /* ... or fewer when they hold this many records */

/* On PostgreSQL a batch is stored by the worker of a pool of one
 * (work.h: one queue, one worker, no waiting place, started per file)
 * while the next one is parsed: the server inserts a batch's records
 * (COPY) while this process parses the next, and the two run on two
 * cores instead of in turn (docs/design.md "PostgreSQL ingest"). One
 * batch at most is in flight, so memory stays two batches; the store
 * handle is used by one thread at a time (the main thread waits for the
 * job, work_wait, before it touches it), and the transaction is still
 * one per file. On SQLite the storing is this process's own CPU work, so
 * the batch is stored in turn (a thread measured 5 % more CPU per
 * record, more under load). */
typedef struct {
    work_job job; /* first: the pool's view of the batch */
    store_ingest_txn *tx;
    imgsec_doc *docs;
    store_ingest_result *results;
    size_t n, first;
    int rc;
    imgsec_err err;
} stored_batch;

typedef struct {
    store_ingest_txn *tx;
    imgsec_doc *batch;
    size_t n, first, records_in_batch;
    stored_batch flight; /* the batch being stored (docs NULL: none) */
    bool beside;         /* PostgreSQL: stored by storer's worker */
    work_pool *storer;
    int64_t records;
    const char *path;
    off_t size, done_bytes;
    int64_t last_ns;
} stream_ctx;

/* The batch's job (on storer's worker, or in turn on SQLite); the batch
 * is stream_ctx's, so nothing is freed here. */
static void store_batch(work_job *job, store *unused)
{
    stored_batch *b = (stored_batch *)job;
    (void)unused;
    b->rc = store_ingest_add(b->tx, b->docs, b->n, b->first, true, b->results, NULL, NULL, &b->err);
}

/* Waits for the batch in flight, if any, and frees it; its error, if it
 * failed, into err. */
static int stream_wait(stream_ctx *c, imgsec_err *err)
{
    stored_batch *b = &c->flight;
    if (!b->docs)
        return IMGSEC_OK;
    if (c->beside)
        work_wait(c->storer, 0);
    int rc = b->rc;
    for (size_t i = 0; i < b->n; i++) {
        if (rc == IMGSEC_OK)
            c->records += b->results[i].records;
        doc_free(&b->docs[i]);
    }
    free(b->docs);
    free(b->results);
    b->docs = NULL;
    if (rc != IMGSEC_OK) {
        *err = b->err;
        return rc;
    }
    if (cli_stderr_is_tty()) {
        int64_t now = util_mono_ns();
        if (now - c->last_ns >= 100000000) {
            c->last_ns = now;
            if (c->size > 0)
                fprintf(stderr, "\r%s: %zu documents stored (%lld%% read)", c->path,
                        b->first + b->n, (long long)(c->done_bytes * 100 / c->size));
            else /* a pipe: its size is not known */
                fprintf(stderr, "\r%s: %zu documents stored (%lld MiB read)", c->path,
                        b->first + b->n, (long long)(c->done_bytes >> 20));
        }
    }
    return IMGSEC_OK;
}

/* Hands the parsed batch to storer's worker (after the previous one is
 * done), or stores it here on SQLite, and starts a new batch. */
static int stream_flush(stream_ctx *c, imgsec_err *err)
{
    int rc = stream_wait(c, err);
    if (rc != IMGSEC_OK)
        return rc;
    imgsec_doc *next = calloc(BATCH_DOCS, sizeof *next);
    store_ingest_result *results = calloc(c->n ? c->n : 1, sizeof *results);
    if (!next || !results) {
        free(next);
        free(results);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    c->flight = (stored_batch){{.type = 0, .run = store_batch}, c->tx, c->batch, results, c->n,
                               c->first, IMGSEC_OK, {0}};
    if (!c->beside)
        store_batch(&c->flight.job, NULL);
    else if (!work_reserve_wait(c->storer, 0)) { /* only when stopping: never here */
        c->flight.docs = NULL;
        free(next);
        free(results);
        return err_set(err, IMGSEC_EINTERNAL, "the storing thread has stopped");
    } else
        work_submit(c->storer, &c->flight.job);
    c->batch = next;
    c->first += c->n;
    c->n = c->records_in_batch = 0;
    return c->beside ? IMGSEC_OK : stream_wait(c, err);
}

/* doc_stream's callback: the document joins the batch. */
static int stream_take(void *arg, imgsec_doc *doc, size_t index, imgsec_err *err)
{
    stream_ctx *c = arg;
    (void)index;
    c->batch[c->n++] = *doc;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        c->records_in_batch += doc->records[t].n;
    memset(doc, 0, sizeof *doc);
    if (c->n == BATCH_DOCS || c->records_in_batch >= BATCH_RECORDS)
        return stream_flush(c, err);
    return IMGSEC_OK;
}

/* The streamed import of ingest documents: in's head (sniffed as kind),
 * then the rest of in. */
static int import_streamed(store *st, const import_args *a, const char *path, input *in,
                           bool ndjson)
{
    struct stat sb;
    imgsec_err err = {0};
    stream_ctx c = {.path = path,
                    .size = in->f != stdin && fstat(fileno(in->f), &sb) == 0 && S_ISREG(sb.st_mode)
                                ? sb.st_size
                                : 0,
                    .beside = store_db_is_pg(a->db)};
    c.batch = calloc(BATCH_DOCS, sizeof *c.batch);
    char *buf = malloc(READ_CHUNK);
    doc_stream *ds = doc_stream_new(ndjson, stream_take, &c);
    int rc = c.batch && buf && ds ? IMGSEC_OK : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    if (rc == IMGSEC_OK && c.beside)
        rc = work_start(&(work_opts){.queues = &(work_queue_spec){.workers = 1, .queue = 0},
                                     .n_queues = 1},
                        &c.storer, &err);
    if (rc == IMGSEC_OK)
        rc = store_ingest_begin(st, a->project, a->ep, NULL, &c.tx, &err);
    size_t deferred = 0;
    if (rc == IMGSEC_OK && (a->bulk == BULK_YES || (a->bulk == BULK_AUTO && c.beside)))
        rc = store_ingest_defer_indexes(c.tx, a->bulk == BULK_AUTO, &deferred, &err);
    if (c.size)
        fprintf(stderr, "%s: streaming %lld bytes (%s)\n", path, (long long)c.size,
                ndjson ? "NDJSON" : "JSON");
    else
        fprintf(stderr, "%s: streaming (%s)\n", path, ndjson ? "NDJSON" : "JSON");
    if (rc == IMGSEC_OK && in->head.len) {
        c.done_bytes = (off_t)in->head.len;
        rc = doc_stream_feed(ds, in->head.buf, in->head.len, &err);
    }
    size_t n;
    while (rc == IMGSEC_OK && !in->eof && (n = fread(buf, 1, READ_CHUNK, in->f)) > 0) {
        c.done_bytes += (off_t)n;
        rc = doc_stream_feed(ds, buf, n, &err);
    }
    if (rc == IMGSEC_OK && ferror(in->f))
        rc = err_set(&err, IMGSEC_EINTERNAL, "cannot read: %s", strerror(errno));
    if (rc == IMGSEC_OK)
        rc = doc_stream_end(ds, &err);
    if (rc == IMGSEC_OK && c.n)
        rc = stream_flush(&c, &err);
    /* the last batch, or the one in flight when something failed */
    int waited = stream_wait(&c, rc == IMGSEC_OK ? &err : &(imgsec_err){0});
    if (rc == IMGSEC_OK)
        rc = waited;
    work_stop(c.storer); /* nothing is in flight any more: joins its worker */
    work_free(c.storer);
    if (rc == IMGSEC_OK && deferred)
        fprintf(stderr, "%s: building %zu indexes (--bulk)\n", path, deferred);
    if (c.tx)
        rc = rc == IMGSEC_OK ? store_ingest_end(c.tx, true, &err)
                             : (store_ingest_end(c.tx, false, NULL), rc);
    if (cli_stderr_is_tty() && c.first)
        fputc('\n', stderr);
    for (size_t i = 0; i < c.n; i++)
        doc_free(&c.batch[i]);
    doc_stream_free(ds);
    free(buf);
    free(c.batch);
    if (rc != IMGSEC_OK)
        return not_stored(path, &err);
    fprintf(stderr, "%s: imported %zu images, %lld records into project %s, EP %s (format native)\n",
            path, c.first, (long long)c.records, a->project, a->ep);
    if (a->stored)
        *a->stored += c.records;
    return CLI_OK;
}

/* A whole input: converted and validated by import_buffer, then stored. */
static int import_whole(store *st, const import_args *a, const char *path, char *buf, size_t len)
{
    imgsec_err err = {0};
    doc_list docs = {0};
    import_format used = a->format;
    fprintf(stderr, "%s: validating %zu bytes\n", path, len);
    int rc = import_buffer(buf, len, a->format, looks_like_ndjson(buf, len), &a->id, path, &docs,
                           &used, &err);
    store_ingest_result *results = NULL;
    if (rc == IMGSEC_OK) {
        results = calloc(docs.n ? docs.n : 1, sizeof *results);
        progress_ctx p = {path, 0};
        rc = results ? store_ingest(st, a->project, a->ep, docs.items, docs.n, NULL, results,
                                    show_progress, &p, &err)
                     : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    }
    int out = CLI_OK;
    if (rc == IMGSEC_OK) {
        int64_t records = 0;
        for (size_t i = 0; i < docs.n; i++)
            records += results[i].records;
        fprintf(stderr, "%s: imported %zu images, %lld records into project %s, EP %s (format %s)\n",
                path, docs.n, (long long)records, a->project, a->ep, import_format_name(used));
        if (a->stored)
            *a->stored += records;
    } else {
        out = not_stored(path, &err);
    }
    free(results);
    doc_list_free(&docs);
    return out;
}

static int import_file(store *st, const import_args *a, const char *path)
{
    if (want_stream(a, path))
        return import_stream(st, a, path);
    input in;
    if (!input_open(&in, path)) {
        fprintf(stderr, "imgsec import: %s: cannot read: %m\n", path);
        return CLI_FAIL;
    }
    sniff_kind kind = a->format == IMPORT_AUTO || a->format == IMPORT_NATIVE ? sniff_input(&in)
                                                                             : SNIFF_OTHER;
    /* auto and one object: detection needs its top level (a scanner report?),
     * so only native streams it */
    if (kind == SNIFF_NDJSON || kind == SNIFF_ARRAY ||
        (kind == SNIFF_OTHER && a->format == IMPORT_NATIVE)) {
        int out = import_streamed(st, a, path, &in, kind == SNIFF_NDJSON);
        input_close(&in);
        return out;
    }
    size_t len = 0;
    char *buf = kind == SNIFF_ERROR ? NULL : read_rest(&in, &len);
    if (!buf) {
        fprintf(stderr, "imgsec import: %s: cannot read: %m\n", path);
        input_close(&in);
        return CLI_FAIL;
    }
    input_close(&in);
    int out = import_whole(st, a, path, buf, len);
    free(buf);
    return out;
}

/* ---- --server: post the file to the ingest route ---- */

/* The ingest route's URL for a (route_ingest.c): EP and format, plus the
 * identity overrides as query parameters. NULL when out of memory. */
static char *ingest_url(CURL *curl, const import_args *a)
{
    const struct {
        const char *key, *val;
    } q[] = {{"enterprise_project_id", a->ep}, {"format", import_format_name(a->format)},
             {"image_type", a->id.image_type}, {"image_name", a->id.image_name},
             {"image_version", a->id.image_version}, {"namespace", a->id.namespace_}};
    util_buf u = {0};
    util_buf_printf(&u, "%s/v5/%s/image/scan-results", a->server, a->project);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        if (!q[i].val)
            continue;
        char *v = curl_easy_escape(curl, q[i].val, 0);
        if (!v)
            u.failed = true;
        else
            util_buf_printf(&u, "%c%s=%s", i ? '&' : '?', q[i].key, v);
        curl_free(v);
    }
    if (u.failed) {
        free(u.buf);
        return NULL;
    }
    return u.buf;
}

static int post_file(CURL *curl, const import_args *a, const char *path)
{
    size_t len = 0;
    char *buf = read_input(path, &len);
    if (!buf) {
        fprintf(stderr, "imgsec import: %s: cannot read: %m\n", path);
        return CLI_FAIL;
    }
    bool ndjson = a->format != IMPORT_AUTO && a->format != IMPORT_NATIVE
                      ? false
                      : looks_like_ndjson(buf, len);
    char *url = ingest_url(curl, a);
    struct curl_slist *h = NULL;
    cli_reply reply = {.max = 1024 * 1024};
    int out = CLI_FAIL;
    if (!url) {
        fprintf(stderr, "imgsec import: %s: out of memory\n", path);
        goto done;
    }
    h = cli_auth_headers(h, a->token, a->region);
    h = curl_slist_append(h, ndjson ? "Content-Type: application/x-ndjson"
                                    : "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, buf);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_reply_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char why_buf[64];
    const char *why = cli_reply_error(&reply, why_buf, sizeof why_buf);
    if (cc != CURLE_OK) {
        fprintf(stderr, "imgsec import: %s: %s: %s\n", path, a->server,
                why ? why : curl_easy_strerror(cc));
    } else if (status != 200) {
        fprintf(stderr, "imgsec import: %s: server answered %ld: %s (nothing from this file was stored)\n",
                path, status, cli_reply_text(&reply));
    } else {
        printf("%s\n", cli_reply_text(&reply));
        fprintf(stderr, "%s: imported into project %s, EP %s via %s\n", path, a->project, a->ep,
                a->server);
        out = CLI_OK;
    }
done:
    curl_slist_free_all(h);
    free(url);
    free(reply.body.buf);
    free(buf);
    return out;
}

static int import_remote(const import_args *a, int argc, char **argv)
{
    if (!a->token || !*a->token || !a->region || !*a->region) {
        fprintf(stderr, "imgsec import: --server needs --token-file, IMGSEC_TOKEN or --token, and --region "
                        "(or IMGSEC_REGION)\n");
        return CLI_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return CLI_FAIL;
    CURL *curl = curl_easy_init();
    int out = curl ? CLI_OK : CLI_FAIL;
    for (int i = optind; i < argc && out == CLI_OK; i++)
        out = post_file(curl, a, argv[i]);
    if (curl)
        curl_easy_cleanup(curl);
    curl_global_cleanup();
    return out;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},         {"project", required_argument, NULL, 'p'},
        {"ep", required_argument, NULL, 'e'},         {"format", required_argument, NULL, 'f'},
        {"image-type", required_argument, NULL, 't'}, {"image-name", required_argument, NULL, 'n'},
        {"image-version", required_argument, NULL, 'v'},
        {"namespace", required_argument, NULL, 's'},  {"server", required_argument, NULL, 'S'},
        {"token", required_argument, NULL, 'T'},
        {"token-file", required_argument, NULL, 'K'},      {"region", required_argument, NULL, 'r'},
        {"stream", no_argument, NULL, 'x'},           {"bulk", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    import_args a = {.db = cli_default_db(), .ep = MODEL_DEFAULT_EP, .format = IMPORT_AUTO,
                     .token = getenv("IMGSEC_TOKEN"), .region = getenv("IMGSEC_REGION")};
    int c, f;
    const char *token_file = NULL;
    bool token_flag = false;
    static char token_buf[CLI_TOKEN_MAX];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.db = optarg; break;
        case 'p': a.project = optarg; break;
        case 'e': a.ep = optarg; break;
        case 'f':
            if ((f = import_format_parse(optarg)) < 0) {
                fprintf(stderr, "imgsec import: --format must be one of %s\n",
                        import_format_choices());
                return CLI_USAGE;
            }
            a.format = (import_format)f;
            break;
        case 't': a.id.image_type = optarg; break;
        case 'n': a.id.image_name = optarg; break;
        case 'v': a.id.image_version = optarg; break;
        case 's': a.id.namespace_ = optarg; break;
        case 'S': a.server = optarg; break;
        case 'T': a.token = optarg, token_flag = true; break;
        case 'K': token_file = optarg; break;
        case 'r': a.region = optarg; break;
        case 'x': a.stream = true; break;
        case 'B':
            if (strcmp(optarg, "auto") == 0) a.bulk = BULK_AUTO;
            else if (strcmp(optarg, "yes") == 0) a.bulk = BULK_YES;
            else if (strcmp(optarg, "no") == 0) a.bulk = BULK_NO;
            else {
                fprintf(stderr, "imgsec import: --bulk takes auto, yes or no\n");
                return CLI_USAGE;
            }
            a.bulk_given = true;
            break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (!cli_token_resolve("import", token_file, token_flag, token_buf, sizeof token_buf, &a.token))
        return CLI_USAGE;
    if (!a.project || optind >= argc) {
        fprintf(stderr, "imgsec import: --project and at least one FILE are required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (!model_scope_id_valid(a.project) || !model_scope_id_valid(a.ep)) {
        fprintf(stderr, "imgsec import: --project and --ep must be 1-64 characters of A-Za-z0-9_-\n");
        return CLI_USAGE;
    }
    if (a.id.image_type && image_type_parse(a.id.image_type) < 0) {
        fprintf(stderr, "imgsec import: --image-type must be one of %s\n", image_type_choices());
        return CLI_USAGE;
    }
    if (a.stream && (a.server || (a.format != IMPORT_AUTO && a.format != IMPORT_TRIVY))) {
        fprintf(stderr, "imgsec import: --stream reads Trivy reports offline only\n");
        return CLI_USAGE;
    }
    if (a.bulk_given && a.server) {
        fprintf(stderr, "imgsec import: --bulk is for --db (the server stores what it is sent)\n");
        return CLI_USAGE;
    }
    a.id.now_ms = util_now_ms();
    if (a.server)
        return import_remote(&a, argc, argv);
    store *st = cli_store_open(a.db);
    if (!st)
        return CLI_FAIL;
    int out = CLI_OK;
    int64_t stored = 0;
    a.stored = &stored;
    for (int i = optind; i < argc && out == CLI_OK; i++)
        out = import_file(st, &a, argv[i]);
    imgsec_err err = {0};
    if (store_after_load_due(st, stored)) {
        fprintf(stderr, "imgsec import: updating the planner's statistics (ANALYZE)\n");
        if (store_after_load(st, stored, &err) != IMGSEC_OK && out == CLI_OK)
            out = cli_fail(&err);
    }
    store_close(st);
    return out;
}
