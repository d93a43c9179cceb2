/* cmd_records.c - imgsec records: every stored record, as it is stored,
 * through the record API (imgsec/records.h).
 *
 * One read transaction (store_snapshot_begin) holds the whole dump, so
 * it is one state of the store even while a server or an import writes
 * it. For each report type asked: the images that have records of it
 * (store_record_images, in id order), then each image's records in seq
 * order (store_image_records_all). Nothing here names a record table:
 * the dump is the same whatever stores the records (rows today, the
 * packed blocks of docs/plan-packed-records.md next), which is why the
 * tests and the bench's plain-SQL oracle read records through it
 * (docs/operations.md, "Dumping the records").
 *
 * Two formats:
 *  - csv: one type, a header "image,seq,<fields>" then one line a record,
 *    LF line ends. Exact, not for spreadsheets (that is imgsec export):
 *    an absent value is an empty field, an empty text is "", a text is
 *    quoted when it holds a comma, a quote, CR or LF, integers as
 *    integers, reals in the fewest digits that read back to the same
 *    double. This is the CSV convention of PostgreSQL's COPY and
 *    sqlite3's -csv mode, so either loads it back with NULLs intact.
 *  - sqlite: a new SQLite file with one table per type, named and typed
 *    as the row store's (rec_<type>: image, seq, the fields; primary key
 *    (image, seq)), for plain SQL over the records.
 *
 * Either way the output appears under its name only when complete
 * (written as FILE.part, then renamed), and a SQLite output never
 * replaces an existing file: -o pointed at the store itself by mistake
 * must not destroy it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "imgsec/list.h"
#include "imgsec/records.h"

static const char USAGE[] =
    "usage: imgsec records [--db DB] [--type T[,T...]|all] [--project P] [--image ID]\n"
    "                      [--format csv|sqlite] [-o FILE] [--no-header]\n"
    "  Writes every stored record of the report types asked, image by image (in id\n"
    "  order) and in each image in the order of its scan report, from one consistent\n"
    "  state of the database, with the image id and the record's place (seq) first.\n"
    "  --type T     vulnerability risk-config malwares apps files sensitive-info\n"
    "               non-compliant-app build-command-risks; a comma list, or all\n"
    "               (csv: exactly one type; sqlite: default all)\n"
    "  --project P  only the images of project P (default: every project)\n"
    "  --image ID   only image ID (an error when there is no such image)\n"
    "  --format csv (default) one type as CSV: absent values are empty fields, empty\n"
    "               texts are \"\", as PostgreSQL's COPY ... CSV and sqlite3 -csv read\n"
    "               them; on stdout unless -o FILE\n"
    "  --format sqlite  a new SQLite file (-o FILE, which must not exist) with a table\n"
    "               rec_<type> per type: image, seq and the fields, for plain SQL\n"
    "  --no-header  csv without its header line\n"
    "  --db DB      the database (default $IMGSEC_DB, else ./imgsec.db; a PostgreSQL\n"
    "               URI works too)\n"
    "  Progress goes to stderr when it is a terminal. Exit 0 on success, 1 when the\n"
    "  dump failed (no output file is left), 2 for a wrong command line.\n";

typedef enum { FMT_CSV, FMT_SQLITE } dump_format;

typedef struct {
    const char *db, *project, *out;
    bool types[REPORT_TYPE_COUNT];
    size_t n_types;
    bool has_image, header;
    int64_t image;
    dump_format fmt;
} records_args;

/* ---- writing: one sink per format ---- */

typedef struct {
    FILE *csv;
    sqlite3 *db;
    sqlite3_stmt *ins;
    size_t ncells; /* the type's fields + image + seq */
    int64_t records, images, images_total;
    int64_t last_ns;
    char sql_err[256];
} sink;

static void csv_text(FILE *f, const char *s, size_t len)
{
    bool quote = len == 0 || memchr(s, ',', len) || memchr(s, '"', len) || memchr(s, '\r', len) ||
                 memchr(s, '\n', len);
    if (!quote) {
        fwrite(s, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* The fewest digits that read back to the same double (%.17g always
 * would, but prints 8.7 as 8.6999999999999993). */
static void csv_real(FILE *f, double d)
{
    char buf[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, d);
        if (strtod(buf, NULL) == d || isnan(d))
            break;
    }
    fputs(buf, f);
}

static void csv_cell(FILE *f, const store_cell *c)
{
    switch (c->kind) {
    case CELL_NULL:
        break;
    case CELL_INT:
        fprintf(f, "%" PRId64, c->i);
        break;
    case CELL_REAL:
        csv_real(f, c->d);
        break;
    case CELL_STRING:
        csv_text(f, c->s, c->len);
        break;
    }
}

static void progress(sink *k, bool final)
{
    if (!cli_stderr_is_tty())
        return;
    int64_t now = util_mono_ns();
    if (!final && now - k->last_ns < 100000000)
        return;
    k->last_ns = now;
    fprintf(stderr, "\rrecords: %" PRId64 "/%" PRId64 " images, %" PRId64 " records", k->images,
            k->images_total, k->records);
    if (final)
        fputc('\n', stderr);
}

/* cells: the type's fields in model order, then the image id and the seq
 * (store_image_records_all); written as image, seq, fields. */
static int put_record(const store_cell *cells, size_t n, void *arg)
{
    sink *k = arg;
    if (n != k->ncells)
        return IMGSEC_EINTERNAL;
    size_t nf = n - 2;
    if (k->csv) {
        csv_cell(k->csv, &cells[nf]);
        fputc(',', k->csv);
        csv_cell(k->csv, &cells[nf + 1]);
        for (size_t i = 0; i < nf; i++) {
            fputc(',', k->csv);
            csv_cell(k->csv, &cells[i]);
        }
        fputc('\n', k->csv);
        if (ferror(k->csv))
            return IMGSEC_EINTERNAL;
    } else {
        for (size_t i = 0; i < n; i++) {
            const store_cell *c = &cells[i < 2 ? nf + i : i - 2];
            int p = (int)i + 1;
            int rc = c->kind == CELL_INT      ? sqlite3_bind_int64(k->ins, p, c->i)
                     : c->kind == CELL_REAL   ? sqlite3_bind_double(k->ins, p, c->d)
                     : c->kind == CELL_STRING ? sqlite3_bind_text64(k->ins, p, c->s, c->len,
                                                                    SQLITE_TRANSIENT, SQLITE_UTF8)
                                              : sqlite3_bind_null(k->ins, p);
            if (rc != SQLITE_OK)
                return IMGSEC_EINTERNAL;
        }
        int rc = sqlite3_step(k->ins);
        sqlite3_reset(k->ins);
        if (rc != SQLITE_DONE) {
            snprintf(k->sql_err, sizeof k->sql_err, "%s", sqlite3_errmsg(k->db));
            return IMGSEC_EINTERNAL;
        }
    }
    k->records++;
    return 0;
}

/* The images of one type to dump (store_record_images' callback). */
typedef struct {
    int64_t only; /* an image id, or -1 */
    int64_t *ids;
    size_t n, cap;
} walk;

static int add_image(int64_t image, int64_t n, void *arg)
{
    (void)n;
    walk *w = arg;
    if (w->only >= 0 && image != w->only)
        return 0;
    if (!util_grow((void **)&w->ids, &w->cap, w->n + 1, sizeof *w->ids))
        return IMGSEC_EINTERNAL;
    w->ids[w->n++] = image;
    return 0;
}

/* ---- SQLite output ---- */

static const char *sql_type(field_kind k)
{
    return k == FIELD_INT64 ? "INTEGER" : k == FIELD_NUMBER ? "REAL" : "TEXT";
}

static int sqlite_fail(sink *k, imgsec_err *err, const char *what)
{
    return err_set(err, IMGSEC_EINTERNAL, "the SQLite output: %s: %s", what,
                   k->db ? sqlite3_errmsg(k->db) : "out of memory");
}

/* Creates the table of k's type and prepares its insert. */
static int sqlite_table(sink *k, const record_kind *rk, imgsec_err *err)
{
    util_buf c = {0}, i = {0};
    util_buf_printf(&c, "CREATE TABLE \"%s\" (image INTEGER NOT NULL, seq INTEGER NOT NULL",
                    rk->table);
    util_buf_printf(&i, "INSERT INTO \"%s\" VALUES (?, ?", rk->table);
    for (size_t f = 0; f < rk->nfields; f++) {
        util_buf_printf(&c, ", \"%s\" %s", rk->fields[f].name, sql_type(rk->fields[f].kind));
        util_buf_printf(&i, ", ?");
    }
    util_buf_printf(&c, ", PRIMARY KEY (image, seq))");
    util_buf_printf(&i, ")");
    int rc = IMGSEC_OK;
    if (c.failed || i.failed)
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    else if (sqlite3_exec(k->db, c.buf, NULL, NULL, NULL) != SQLITE_OK)
        rc = sqlite_fail(k, err, "creating a table");
    else if (sqlite3_prepare_v2(k->db, i.buf, -1, &k->ins, NULL) != SQLITE_OK)
        rc = sqlite_fail(k, err, "preparing an insert");
    free(c.buf);
    free(i.buf);
    return rc;
}

/* part is a new, empty, private file (made with O_EXCL, mode 0600) that
 * SQLite makes its database; written without a journal: it becomes the
 * output only once complete. */
static int sqlite_open(sink *k, const char *part, imgsec_err *err)
{
    int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(err, IMGSEC_EINTERNAL, "cannot create %s: %s", part, strerror(errno));
    close(fd);
    if (sqlite3_open_v2(part, &k->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return sqlite_fail(k, err, "opening");
    if (sqlite3_exec(k->db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN", NULL,
                     NULL, NULL) != SQLITE_OK)
        return sqlite_fail(k, err, "starting");
    return IMGSEC_OK;
}

/* ---- the dump ---- */

static int dump_type(store *st, report_type t, const records_args *a, sink *k, imgsec_err *err)
{
    const record_kind *rk = record_kind_get(t);
    walk w = {.only = a->has_image ? a->image : -1};
    int rc = store_record_images(st, t, a->project, add_image, &w, err);
    if (rc != IMGSEC_OK && !err->msg[0])
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    k->ncells = rk->nfields + 2;
    k->images = 0;
    k->images_total = (int64_t)w.n;
    if (rc == IMGSEC_OK && k->db)
        rc = sqlite_table(k, rk, err);
    if (rc == IMGSEC_OK && k->csv && a->header) {
        fputs("image,seq", k->csv);
        for (size_t f = 0; f < rk->nfields; f++)
            fprintf(k->csv, ",%s", rk->fields[f].name);
        fputc('\n', k->csv);
    }
    for (size_t i = 0; rc == IMGSEC_OK && i < w.n; i++) {
        rc = store_image_records_all(st, w.ids[i], t, put_record, k, err);
        if (rc != IMGSEC_OK && !err->msg[0])
            err_set(err, IMGSEC_EINTERNAL, "%s", k->sql_err[0] ? k->sql_err : "writing the output");
        k->images++;
        progress(k, false);
    }
    if (k->ins) {
        sqlite3_finalize(k->ins);
        k->ins = NULL;
    }
    free(w.ids);
    return rc;
}

static int image_exists_row(const store_cell *cells, int n, void *arg)
{
    (void)cells;
    (void)n;
    *(bool *)arg = true;
    return 0;
}

static int run(const records_args *a)
{
    imgsec_err err = {0};
    char part[4096] = "";
    if (a->out && snprintf(part, sizeof part, "%s.part", a->out) >= (int)sizeof part) {
        err_set(&err, IMGSEC_EINVAL, "-o: path too long");
        return cli_fail(&err);
    }
    struct stat sb;
    if (a->fmt == FMT_SQLITE && stat(a->out, &sb) == 0) {
        err_set(&err, IMGSEC_EINVAL,
                "%s exists: a SQLite output is always a new file (remove it first)", a->out);
        return cli_fail(&err);
    }
    store *st = cli_store_open(a->db);
    if (!st)
        return CLI_FAIL;
    sink k = {0};
    int64_t position = 0;
    int rc = store_snapshot_begin(st, &position, &err);
    bool snap = rc == IMGSEC_OK;
    if (rc == IMGSEC_OK && a->has_image) {
        bool found = false;
        store_list_bind b = {.i = a->image};
        rc = store_list_query(st, "SELECT 1 FROM images WHERE id = ?1", &b, 1, image_exists_row,
                              &found, &err);
        if (rc == IMGSEC_OK && !found)
            rc = err_set(&err, IMGSEC_ENOTFOUND, "--image: no image %" PRId64, a->image);
    }
    if (rc == IMGSEC_OK && a->fmt == FMT_SQLITE) {
        unlink(part);
        rc = sqlite_open(&k, part, &err);
    } else if (rc == IMGSEC_OK && a->out) {
        unlink(part);
        int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        k.csv = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!k.csv) {
            rc = err_set(&err, IMGSEC_EINTERNAL, "cannot create %s: %s", part, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
    } else if (rc == IMGSEC_OK) {
        k.csv = stdout;
    }
    for (int t = 0; rc == IMGSEC_OK && t < REPORT_TYPE_COUNT; t++)
        if (a->types[t])
            rc = dump_type(st, (report_type)t, a, &k, &err);
    if (snap)
        store_snapshot_end(st);
    if (rc == IMGSEC_OK && k.db && sqlite3_exec(k.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sqlite_fail(&k, &err, "committing");
    if (k.db && sqlite3_close(k.db) != SQLITE_OK && rc == IMGSEC_OK)
        rc = err_set(&err, IMGSEC_EINTERNAL, "the SQLite output: closing failed");
    if (k.csv && k.csv != stdout && fclose(k.csv) != 0 && rc == IMGSEC_OK)
        rc = err_set(&err, IMGSEC_EINTERNAL, "writing %s: %s", part, strerror(errno));
    if (k.csv == stdout && fflush(stdout) != 0 && rc == IMGSEC_OK)
        rc = err_set(&err, IMGSEC_EINTERNAL, "writing the output: %s", strerror(errno));
    if (rc == IMGSEC_OK && a->out && rename(part, a->out) != 0)
        rc = err_set(&err, IMGSEC_EINTERNAL, "cannot rename %s to %s: %s", part, a->out,
                     strerror(errno));
    if (rc != IMGSEC_OK && part[0] && (k.db || (k.csv && k.csv != stdout)))
        unlink(part);
    progress(&k, true);
    if (rc == IMGSEC_OK && a->out)
        fprintf(stderr, "records: %" PRId64 " records into %s (change position %" PRId64 ")\n",
                k.records, a->out, position);
    store_close(st);
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(&err);
}

/* "apps", "apps,files" or "all" into a->types. */
static bool parse_types(const char *s, records_args *a)
{
    if (strcmp(s, "all") == 0) {
        for (int t = 0; t < REPORT_TYPE_COUNT; t++)
            a->types[t] = true;
        a->n_types = REPORT_TYPE_COUNT;
        return true;
    }
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return false;
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int t = report_type_parse(p);
        if (t < 0) {
            fprintf(stderr, "imgsec records: --type: no report type '%s'\n", p);
            return false;
        }
        if (!a->types[t])
            a->n_types++;
        a->types[t] = true;
    }
    return a->n_types > 0;
}

int cmd_records(int argc, char **argv)
{
    records_args a = {.db = cli_default_db(), .header = true, .fmt = FMT_CSV};
    const char *type = NULL;
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},      {"type", required_argument, 0, 't'},
        {"project", required_argument, 0, 'p'}, {"image", required_argument, 0, 'i'},
        {"format", required_argument, 0, 'f'},  {"output", required_argument, 0, 'o'},
        {"no-header", no_argument, 0, 'H'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.db = optarg; break;
        case 't': type = optarg; break;
        case 'p': a.project = optarg; break;
        case 'i':
            if (!util_parse_int64(optarg, &a.image) || a.image < 1) {
                fprintf(stderr, "imgsec records: --image: not an image id: '%s'\n", optarg);
                return CLI_USAGE;
            }
            a.has_image = true;
            break;
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                a.fmt = FMT_CSV;
            else if (strcmp(optarg, "sqlite") == 0)
                a.fmt = FMT_SQLITE;
            else {
                fprintf(stderr, "imgsec records: --format: csv or sqlite, not '%s'\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'o': a.out = optarg; break;
        case 'H': a.header = false; break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imgsec records: unexpected argument '%s'\n%s", argv[optind], USAGE);
        return CLI_USAGE;
    }
    if (a.project && !model_scope_id_valid(a.project)) {
        fprintf(stderr, "imgsec records: --project: not a project id: '%s'\n", a.project);
        return CLI_USAGE;
    }
    if (type && !parse_types(type, &a)) {
        fprintf(stderr, "%s", USAGE);
        return CLI_USAGE;
    }
    if (a.fmt == FMT_CSV && a.n_types != 1) {
        fprintf(stderr, "imgsec records: csv holds one report type: give --type T\n%s", USAGE);
        return CLI_USAGE;
    }
    if (a.fmt == FMT_SQLITE && (!a.out || strcmp(a.out, "-") == 0)) {
        fprintf(stderr, "imgsec records: --format sqlite needs -o FILE\n%s", USAGE);
        return CLI_USAGE;
    }
    if (a.fmt == FMT_SQLITE && !type)
        parse_types("all", &a);
    if (a.out && strcmp(a.out, "-") == 0)
        a.out = NULL;
    return run(&a);
}
