/* store_schema.c - the SQL of the store, generated from the model tables.
 *
 * The record tables and every statement that touches them are built from
 * record_kind_get(): one table per report type, one column per record
 * field, so a field is declared once (model.c) and the DDL, the inserts
 * and (later) the export all follow it. The image columns are the one
 * list spelled here; the per-type count columns after them are generated
 * too.
 *
 * Migrations are an ordered list of steps (version 1, 2, ...). Because
 * version 1 is generated from the current tables, a field or report type
 * added to model.c later would not be in an old database: the reconcile
 * pass adds what is missing (new record tables, new columns) so the
 * tables always match the model without hand-written ALTERs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"
#include "store_int.h"

/* ---- SQL text is built in a util_buf; on OOM it is freed here ---- */

static char *sb_done(util_buf *sb, imgsec_err *err)
{
    if (sb->failed || !sb->buf) {
        free(sb->buf);
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        return NULL;
    }
    return sb->buf;
}

/* ---- image columns ---- */

/* model.h's tables give the attribute columns: a string one is NOT NULL,
 * defaulting to '' unless the ingest document requires it. */
#define STRING_COL(m, key, dmin, ...) \
    [IC_STR_##m] = {key, (dmin) > 0 ? "TEXT NOT NULL" : "TEXT NOT NULL DEFAULT ''"},
#define NUMBER_COL(m, key, ...) [IC_NUM_##m] = {key, "INTEGER NOT NULL DEFAULT 0"},
static const struct {
    const char *name;
    const char *decl;
} IMAGE_FIXED_COLS[IC_FIXED_COUNT] = {
    [IC_PROJECT_ID] = {"project_id", "TEXT NOT NULL"},
    [IC_EP] = {"ep", "TEXT NOT NULL"},
    [IC_IMAGE_TYPE] = {"image_type", "TEXT NOT NULL"},
    [IC_SCAN_STATUS] = {"scan_status", "TEXT NOT NULL"},
    MODEL_IMAGE_STRINGS(STRING_COL)
    MODEL_IMAGE_NUMBERS(NUMBER_COL)
    [IC_SEVERITY_LEVEL] = {"severity_level", "TEXT"}, /* NULL unless scan succeeded */
};
#undef STRING_COL
#undef NUMBER_COL
/* Each store_col once (store_bind_image's switch) and none missing: */
#define COL_SUM(m, key, dmin, dmax, filter, fmax, qlists, ilists, col, ...) +(col)
#define NUM_SUM(m, key, col) +(col)
_Static_assert((0 MODEL_IMAGE_STRINGS(COL_SUM)) ==
                   MODEL_IMAGE_STRING_COUNT * (MODEL_IMAGE_STRING_COUNT - 1) / 2,
               "model.h: the string attributes' store_col must be 0, 1, ..., n-1");
_Static_assert((0 MODEL_IMAGE_NUMBERS(NUM_SUM)) ==
                   MODEL_IMAGE_NUMBER_COUNT * (MODEL_IMAGE_NUMBER_COUNT - 1) / 2,
               "model.h: the integer attributes' store_col must be 0, 1, ..., n-1");
#undef COL_SUM
#undef NUM_SUM

/* data-model.md "Identity", in the order of the UNIQUE index. */
static const image_col IDENTITY_COLS[] = {
    IC_PROJECT_ID, IC_IMAGE_TYPE, IC_STR_instance_id, IC_STR_cicd_name,
    IC_STR_namespace_, IC_STR_image_name, IC_STR_image_version,
};
#define N_IDENTITY (sizeof IDENTITY_COLS / sizeof IDENTITY_COLS[0])

static bool is_identity(int c)
{
    for (size_t i = 0; i < N_IDENTITY; i++)
        if ((int)IDENTITY_COLS[i] == c)
            return true;
    return false;
}

/* Count columns: n_<record table without "rec_">, then n_<vul type>. */
void store_image_col(int c, char *buf, size_t size)
{
    if (c < IC_FIXED_COUNT) {
        snprintf(buf, size, "%s", IMAGE_FIXED_COLS[c].name);
    } else if (c < IC_FIXED_COUNT + REPORT_TYPE_COUNT) {
        const char *table = record_kind_get((report_type)(c - IC_FIXED_COUNT))->table;
        if (strncmp(table, "rec_", 4) == 0)
            table += 4;
        snprintf(buf, size, "n_%s", table);
    } else {
        snprintf(buf, size, "n_%s", vul_type_name((vul_type)(c - IC_FIXED_COUNT - REPORT_TYPE_COUNT)));
    }
}

static const char *image_col_decl(int c)
{
    return c < IC_FIXED_COUNT ? IMAGE_FIXED_COLS[c].decl : "INTEGER NOT NULL DEFAULT 0";
}

static const char *field_sql_type(field_kind k)
{
    switch (k) {
    case FIELD_INT64: return "INTEGER";
    case FIELD_NUMBER: return "REAL";
    case FIELD_STRING:
    case FIELD_SEVERITY:
    case FIELD_ENUM:
    case FIELD_OCTAL: return "TEXT";
    }
    return "TEXT";
}

/* fk: the image column references images(id) ON DELETE CASCADE - on
 * SQLite, and in version 1 on either engine; PostgreSQL drops it at
 * version 16 (store_schema_pg_ingest), so a record table it makes later
 * (reconcile) is made without. */
static void add_record_table(util_buf *sb, const record_kind *k, bool fk)
{
    util_buf_printf(sb,
           "CREATE TABLE IF NOT EXISTS \"%s\" (\n"
           "  image INTEGER NOT NULL%s,\n"
           "  seq INTEGER NOT NULL,\n",
           k->table, fk ? " REFERENCES images(id) ON DELETE CASCADE" : "");
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(sb, "  \"%s\" %s,\n", k->fields[f].name, field_sql_type(k->fields[f].kind));
    util_buf_printf(sb, "  PRIMARY KEY (image, seq)\n);\n");
}

/* ---- migrations ---- */

static char *schema_v1(imgsec_err *err)
{
    util_buf sb = {0};
    char col[64];

    util_buf_printf(&sb, "CREATE TABLE images (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n");
    for (int c = 0; c < IMAGE_NCOLS; c++) {
        store_image_col(c, col, sizeof col);
        util_buf_printf(&sb, "  \"%s\" %s,\n", col, image_col_decl(c));
    }
    util_buf_printf(&sb, "  UNIQUE (");
    for (size_t i = 0; i < N_IDENTITY; i++)
        util_buf_printf(&sb, "%s\"%s\"", i ? ", " : "", IMAGE_FIXED_COLS[IDENTITY_COLS[i]].name);
    util_buf_printf(&sb, ")\n);\n");

    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        add_record_table(&sb, record_kind_get((report_type)t), true);

    util_buf_printf(&sb,
           "CREATE TABLE agg_vul (\n"
           "  image INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
           "  vul_id TEXT NOT NULL, vul_type TEXT NOT NULL, n INTEGER NOT NULL);\n"
           "CREATE INDEX agg_vul_image ON agg_vul(image);\n"
           "CREATE TABLE agg_build (\n"
           "  image INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
           "  rule_id TEXT NOT NULL, risk_name TEXT NOT NULL, risk_level TEXT NOT NULL,\n"
           "  n INTEGER NOT NULL);\n"
           "CREATE INDEX agg_build_image ON agg_build(image);\n"
           "CREATE TABLE changes (\n"
           "  seq INTEGER PRIMARY KEY AUTOINCREMENT, image INTEGER NOT NULL);\n"
           "CREATE TABLE users (\n"
           "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
           "  domain TEXT NOT NULL, name TEXT NOT NULL, pw_hash TEXT NOT NULL,\n"
           "  created_ms INTEGER NOT NULL,\n"
           "  UNIQUE (domain, name));\n"
           "CREATE TABLE grants (\n"
           "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
           "  project_id TEXT NOT NULL, role TEXT NOT NULL,\n"
           "  eps TEXT NOT NULL, -- '*' = all EPs, else a comma list\n"
           "  PRIMARY KEY (user_id, project_id)) WITHOUT ROWID;\n"
           "CREATE TABLE tokens (\n"
           "  hash BLOB PRIMARY KEY,\n"
           "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
           "  project_id TEXT NOT NULL,\n"
           "  issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;\n"
           "CREATE INDEX tokens_user ON tokens(user_id, project_id);\n"
           "CREATE INDEX tokens_expires ON tokens(expires_ms);\n"
           "PRAGMA application_id = %d;\n",
           STORE_APPLICATION_ID);
    return sb_done(&sb, err);
}

/* Version 16, PostgreSQL only (docs/design.md "PostgreSQL ingest"): the
 * per-row work a COPY of records paid beyond storing them.
 *   - No foreign key from the record and aggregate tables to images: each
 *     row's check was a query of its own (about a third of the server's
 *     time per record). The store deletes an image's rows itself
 *     (store_image_clear) wherever it deletes or replaces the image, and
 *     write transactions are serialized (store_write_begin), so no row
 *     can point at an image being deleted meanwhile.
 * (The per-row name triggers of version 14, the other per-row cost, are
 * dropped by version 17 on both engines: store_names.c.) */
char *store_schema_pg_ingest(imgsec_err *err)
{
    static const char SQL[] =
        "DO $imgsec$ DECLARE r record; BEGIN\n"
        "  FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint\n"
        "           WHERE contype = 'f' AND confrelid = 'images'::regclass LOOP\n"
        "    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);\n"
        "  END LOOP;\n"
        "END $imgsec$;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

/* Version n of the schema is MIGRATIONS[n - 1]. Append, never edit. */
static char *(*const MIGRATIONS[])(imgsec_err *err) = {
    schema_v1,
    store_schema_v2, /* store_schema_keys.c: access keys */
    store_schema_v3, /* store_schema_exports.c: export tasks */
    store_schema_v4, /* store_schema_exports.c: export task owners and their leases */
    store_schema_v5, /* store_schema_lists.c: indexes of the finding lists */
    store_schema_v6, /* store_schema_lists.c: the records of one vulnerability */
    store_schema_registries, /* store_schema_registries.c: image registries (AddRegistry) */
    store_schema_auth_epoch, /* store_schema_auth.c: the auth epoch of the token cache */
    store_schema_tasks, /* store_schema_tasks.c: registry sync and scan tasks */
    store_schema_vul_maxima, /* store_schema_lists.c: per-(image, vulnerability) maxima in agg_vul */
    store_schema_vul_reps, /* store_schema_lists.c: per-(image, vulnerability) representatives */
    store_schema_export_files, /* store_schema_exports.c: export files in the database */
    store_schema_task_leases, /* store_schema_tasks.c: task claims' owners, leases, takeovers */
    store_schema_names, /* store_schema_lists.c: distinct app and file names */
    store_schema_rematch_owed, /* store_rematch.c: a rematch owed (PostgreSQL servers) */
    store_schema_pg_ingest,   /* below: PostgreSQL's record tables without per-row checks */
    store_schema_name_counts, /* store_names.c: per-(project, type, EP, name) record counts */
    store_schema_nc_app_name, /* store_schema_lists.c: non-compliant apps by (image, app_name) */
    store_schema_drop_vul_vul, /* store_schema_lists.c: rec_vul_vul dropped (agg_vul serves) */
};

/* The steps for PostgreSQL alone: written in its dialect and run as they
 * are; on SQLite the version passes with no DDL. */
static bool pg_only(char *(*step)(imgsec_err *err))
{
    return step == store_schema_pg_ingest;
}

int store_schema_steps(void)
{
    return (int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]);
}

char *store_schema_step(store *st, int version, imgsec_err *err)
{
    if (version < 1 || version > store_schema_steps()) {
        err_set(err, IMGSEC_EINTERNAL, "store: no migration to schema version %d", version);
        return NULL;
    }
    char *(*step)(imgsec_err *err) = MIGRATIONS[version - 1];
    bool pg = db_backend_of(st->conn) == DB_PG;
    if (pg_only(step) && !pg) {
        char *none = strdup("");
        if (!none)
            err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        return none;
    }
    char *sql = step(err);
    if (!sql || pg_only(step))
        return sql;
    char *ddl = db_ddl(st->conn, sql, NULL);
    free(sql);
    if (!ddl)
        store_derr(st, err, "migrating the schema");
    return ddl;
}

/* ---- reconcile: tables and columns the model has and the database lacks ---- */

typedef struct {
    char **names;
    size_t n;
} name_set;

static void names_free(name_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    s->names = NULL;
    s->n = 0;
}

static bool names_has(const name_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return true;
    return false;
}

/* The columns of table (empty set: no such table). */
static int table_columns(store *st, const char *table, name_set *out, imgsec_err *err)
{
    out->names = NULL;
    out->n = 0;
    db_stmt *s = store_dprepare(st, db_sql_table_columns(st->conn), "reading the schema", err);
    if (!s)
        return store_drc(err);
    db_bind_text(s, 1, table, -1);
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char **nn = realloc(out->names, (out->n + 1) * sizeof *nn);
        const char *name = db_column_text(s, 0);
        char *copy = name ? strdup(name) : NULL;
        if (!nn || !copy) {
            free(copy);
            if (nn)
                out->names = nn;
            names_free(out);
            db_finalize(s);
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        }
        out->names = nn;
        out->names[out->n++] = copy;
    }
    if (rc != DB_DONE) {
        store_derr(st, err, "reading the schema");
        names_free(out);
        db_finalize(s);
        return IMGSEC_EINTERNAL;
    }
    db_finalize(s);
    return IMGSEC_OK;
}

/* Runs one statement of DDL written in SQLite's dialect, translated to the
 * engine's (db_ddl). */
static int exec_ddl(store *st, const char *sql, const char *what, imgsec_err *err)
{
    char *ddl = db_ddl(st->conn, sql, NULL);
    if (!ddl)
        return store_derr(st, err, what);
    int rc = store_exec(st, ddl, what, err);
    free(ddl);
    return rc;
}

/* Walks the model; with apply, runs the DDL for each difference, else
 * only counts the differences. */
static int reconcile(store *st, bool apply, int *diffs, imgsec_err *err)
{
    name_set cols;
    char col[64];
    int rc;
    *diffs = 0;

    if ((rc = table_columns(st, "images", &cols, err)) != IMGSEC_OK)
        return rc;
    for (int c = IC_FIXED_COUNT; c < IMAGE_NCOLS; c++) {
        store_image_col(c, col, sizeof col);
        if (names_has(&cols, col))
            continue;
        (*diffs)++;
        if (apply) {
            char sql[256];
            snprintf(sql, sizeof sql, "ALTER TABLE images ADD COLUMN \"%s\" %s", col, image_col_decl(c));
            if ((rc = exec_ddl(st, sql, "adding an image column", err)) != IMGSEC_OK) {
                names_free(&cols);
                return rc;
            }
        }
    }
    names_free(&cols);

    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        if ((rc = table_columns(st, k->table, &cols, err)) != IMGSEC_OK)
            return rc;
        if (cols.n == 0) {
            (*diffs)++;
            if (apply) {
                util_buf sb = {0};
                add_record_table(&sb, k, db_backend_of(st->conn) != DB_PG);
                char *sql = sb_done(&sb, err);
                if (!sql)
                    return IMGSEC_EINTERNAL;
                rc = exec_ddl(st, sql, "creating a record table", err);
                free(sql);
                if (rc != IMGSEC_OK)
                    return rc;
            }
            continue;
        }
        for (size_t f = 0; f < k->nfields; f++) {
            if (names_has(&cols, k->fields[f].name))
                continue;
            (*diffs)++;
            if (apply) {
                char sql[512];
                snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", k->table,
                         k->fields[f].name, field_sql_type(k->fields[f].kind));
                if ((rc = exec_ddl(st, sql, "adding a record column", err)) != IMGSEC_OK) {
                    names_free(&cols);
                    return rc;
                }
            }
        }
        names_free(&cols);
    }
    return IMGSEC_OK;
}

int store_schema_reconcile(store *st, int *added, imgsec_err *err)
{
    return reconcile(st, true, added, err);
}

int store_schema_needs_reconcile(store *st, int *needs, imgsec_err *err)
{
    return reconcile(st, false, needs, err);
}

/* ---- statements ---- */

/* The image statements bind image column c as parameter c + 1 (FIND uses
 * only the identity ones; UPDATE takes the id as parameter IMAGE_NCOLS + 1).
 * An existing identity is found and updated by id rather than UPSERTed:
 * an UPSERT that ends in its UPDATE still consumes an AUTOINCREMENT value,
 * so ids would skip, and the store needs the image's old EP anyway. */
static char *sql_image_find(imgsec_err *err)
{
    util_buf sb = {0};
    util_buf_printf(&sb, "SELECT id, ep FROM images WHERE ");
    for (size_t i = 0; i < N_IDENTITY; i++)
        util_buf_printf(&sb, "%s\"%s\" = ?%d", i ? " AND " : "", IMAGE_FIXED_COLS[IDENTITY_COLS[i]].name,
               (int)IDENTITY_COLS[i] + 1);
    return sb_done(&sb, err);
}

static char *sql_image_update(imgsec_err *err)
{
    util_buf sb = {0};
    char col[64];
    bool first = true;
    util_buf_printf(&sb, "UPDATE images SET ");
    for (int c = 0; c < IMAGE_NCOLS; c++) {
        if (is_identity(c))
            continue;
        store_image_col(c, col, sizeof col);
        util_buf_printf(&sb, "%s\"%s\" = ?%d", first ? "" : ", ", col, c + 1);
        first = false;
    }
    util_buf_printf(&sb, " WHERE id = ?%d", IMAGE_NCOLS + 1);
    return sb_done(&sb, err);
}

static char *sql_image_insert(imgsec_err *err)
{
    util_buf sb = {0};
    char col[64];
    util_buf_printf(&sb, "INSERT INTO images (");
    for (int c = 0; c < IMAGE_NCOLS; c++) {
        store_image_col(c, col, sizeof col);
        util_buf_printf(&sb, "%s\"%s\"", c ? ", " : "", col);
    }
    util_buf_printf(&sb, ") VALUES (");
    for (int c = 0; c < IMAGE_NCOLS; c++)
        util_buf_printf(&sb, "%s?%d", c ? ", " : "", c + 1);
    util_buf_printf(&sb, ") RETURNING id");
    return sb_done(&sb, err);
}

/* "SELECT id, <every image column> FROM images <tail>" */
static char *sql_image_select(const char *tail, imgsec_err *err)
{
    util_buf sb = {0};
    char col[64];
    util_buf_printf(&sb, "SELECT id");
    for (int c = 0; c < IMAGE_NCOLS; c++) {
        store_image_col(c, col, sizeof col);
        util_buf_printf(&sb, ", \"%s\"", col);
    }
    util_buf_printf(&sb, " FROM images %s", tail);
    return sb_done(&sb, err);
}

/* store_image_records' read of a whole image (store_image_records.c) */
static char *sql_rec_all(const record_kind *k, imgsec_err *err)
{
    util_buf sb = {0};
    util_buf_printf(&sb, "SELECT ");
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&sb, "\"%s\", ", k->fields[f].name);
    util_buf_printf(&sb, "image, seq FROM \"%s\" WHERE image = ?1 ORDER BY seq", k->table);
    return sb_done(&sb, err);
}

static char *sql_rec_insert(const record_kind *k, imgsec_err *err)
{
    util_buf sb = {0};
    util_buf_printf(&sb, "INSERT INTO \"%s\" (image, seq", k->table);
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&sb, ", \"%s\"", k->fields[f].name);
    util_buf_printf(&sb, ") VALUES (?1, ?2");
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&sb, ", ?%zu", f + 3);
    util_buf_printf(&sb, ")");
    return sb_done(&sb, err);
}

/* "UPDATE images SET <vulnerability count> = ?1, <count of vul type v> =
 * ?(2 + v)..., severity_level = ?L WHERE id = ?(L + 1)": what replacing an
 * image's vulnerabilities changes in its row (store_replace_vulnerabilities). */
static char *sql_image_set_vuls(imgsec_err *err)
{
    util_buf sb = {0};
    char col[64];
    store_image_col(IC_COUNT(REPORT_VULNERABILITY), col, sizeof col);
    util_buf_printf(&sb, "UPDATE images SET \"%s\" = ?1", col);
    for (int v = 0; v < VUL_TYPE_COUNT; v++) {
        store_image_col(IC_VUL_COUNT(v), col, sizeof col);
        util_buf_printf(&sb, ", \"%s\" = ?%d", col, v + 2);
    }
    store_image_col(IC_SEVERITY_LEVEL, col, sizeof col);
    util_buf_printf(&sb, ", \"%s\" = ?%d WHERE id = ?%d", col, VUL_TYPE_COUNT + 2,
                    VUL_TYPE_COUNT + 3);
    return sb_done(&sb, err);
}

static char *sql_fmt(imgsec_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sql_fmt(imgsec_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        return NULL;
    }
    return s;
}

static const struct {
    stmt_id id;
    const char *sql;
} STATIC_SQL[] = {
    {STMT_AGG_VUL_INSERT, "INSERT INTO agg_vul (image, vul_id, vul_type, n, rank, cvss, rep_seq, "
                          "rep_cvss) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
    {STMT_AGG_VUL_DELETE, "DELETE FROM agg_vul WHERE image = ?1"},
    {STMT_AGG_BUILD_INSERT,
     "INSERT INTO agg_build (image, rule_id, risk_name, risk_level, n) VALUES (?1, ?2, ?3, ?4, ?5)"},
    {STMT_AGG_BUILD_DELETE, "DELETE FROM agg_build WHERE image = ?1"},
    {STMT_CHANGE_INSERT, "INSERT INTO changes (image) VALUES (?1)"},
    {STMT_CHANGE_PRUNE, "DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?1"},
    {STMT_IMAGE_DELETE, "DELETE FROM images WHERE id = ?1 AND project_id = ?2"},
    {STMT_IMAGE_EP, "SELECT ep FROM images WHERE id = ?1 AND project_id = ?2"},
    {STMT_AGG_VUL_ALL, "SELECT image, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss FROM agg_vul "
                       "ORDER BY image, rowid"},
    {STMT_AGG_VUL_ONE, "SELECT image, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss FROM agg_vul "
                       "WHERE image = ?1 ORDER BY rowid"},
    {STMT_AGG_BUILD_ALL,
     "SELECT image, rule_id, risk_name, risk_level, n FROM agg_build ORDER BY image, rowid"},
    {STMT_AGG_BUILD_ONE,
     "SELECT image, rule_id, risk_name, risk_level, n FROM agg_build WHERE image = ?1 ORDER BY rowid"},
    /* two subqueries: each is one B-tree end, where min() and max() in one
     * SELECT scan the whole log (up to STORE_CHANGES_KEEP rows) */
    {STMT_CHANGES_RANGE, "SELECT (SELECT min(seq) FROM changes), (SELECT max(seq) FROM changes)"},
    {STMT_CHANGES_SINCE, "SELECT DISTINCT image FROM changes WHERE seq > ?1 ORDER BY image"},
    {STMT_CHANGED_SINCE, "SELECT 1 FROM changes WHERE seq > ?1 AND image = ?2 LIMIT 1"},
    {STMT_VUL_ROW_DELETE, "DELETE FROM rec_vulnerability WHERE image = ?1 AND seq = ?2"},
    {STMT_VUL_ROW_SEQ, "UPDATE rec_vulnerability SET seq = ?3 WHERE image = ?1 AND seq = ?2"},
    {STMT_AGG_VUL_ROWS, "SELECT rowid, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss "
                        "FROM agg_vul WHERE image = ?1"},
    {STMT_AGG_VUL_ROW_DELETE, "DELETE FROM agg_vul WHERE image = ?1 AND rowid = ?2"},
    {STMT_AGG_VUL_ROW_N, "UPDATE agg_vul SET n = ?2, rank = ?3, cvss = ?4, rep_seq = ?5, "
                         "rep_cvss = ?6 WHERE rowid = ?1 AND image = ?7"},
    {STMT_USER_INSERT,
     "INSERT INTO users (domain, name, pw_hash, created_ms) VALUES (?1, ?2, ?3, ?4) RETURNING id"},
    {STMT_USER_ID, "SELECT id FROM users WHERE domain = ?1 AND name = ?2"},
    {STMT_USER_GET, "SELECT id, domain, name, pw_hash FROM users WHERE domain = ?1 AND name = ?2"},
    {STMT_USER_DELETE, "DELETE FROM users WHERE id = ?1"},
    {STMT_USER_LIST,
     "SELECT u.id, u.domain, u.name, g.project_id, g.role, g.eps FROM users u "
     "LEFT JOIN grants g ON g.user_id = u.id ORDER BY u.domain, u.name, g.project_id"},
    {STMT_GRANT_UPSERT,
     "INSERT INTO grants (user_id, project_id, role, eps) VALUES (?1, ?2, ?3, ?4) "
     "ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role, eps = excluded.eps"},
    {STMT_GRANT_GET, "SELECT project_id, role, eps FROM grants WHERE user_id = ?1 AND project_id = ?2"},
    {STMT_GRANT_DELETE, "DELETE FROM grants WHERE user_id = ?1 AND project_id = ?2"},
    {STMT_TOKEN_INSERT,
     "INSERT INTO tokens (hash, user_id, project_id, issued_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)"},
    {STMT_TOKEN_LOOKUP,
     "SELECT u.id, u.domain, u.name, g.project_id, g.role, g.eps, t.expires_ms FROM tokens t "
     "JOIN users u ON u.id = t.user_id "
     "JOIN grants g ON g.user_id = t.user_id AND g.project_id = t.project_id "
     "WHERE t.hash = ?1 AND t.expires_ms > ?2"},
    {STMT_TOKEN_DELETE, "DELETE FROM tokens WHERE hash = ?1"},
    {STMT_TOKEN_DELETE_GRANT, "DELETE FROM tokens WHERE user_id = ?1 AND project_id = ?2"},
    {STMT_TOKEN_PURGE, "DELETE FROM tokens WHERE expires_ms <= ?1"},
    {STMT_KEY_LOOKUP,
     "SELECT u.id, u.domain, u.name, k.sk_sealed FROM access_keys k "
     "JOIN users u ON u.id = k.user_id WHERE k.ak = ?1"},
    {STMT_AUTH_EPOCH, "SELECT n FROM auth_epoch WHERE id = 1"},
    {STMT_APP_VUL_NUM, /* store_image_records.c: the apps lists' vul_num on SQLite */
     "SELECT count(*) FROM rec_vulnerability WHERE image = ?1 AND app_name = ?2 AND "
     "app_version IS ?3"},
    {STMT_APP_NON_COMPLIANT, /* store_image_records.c: ListGlobalImageApps' is_compliant */
     "SELECT count(*) FROM rec_non_compliant_app WHERE image = ?1 AND app_name = ?2 AND "
     "app_version IS ?3 AND app_path IS ?4"},
    /* PostgreSQL only (store_image_records.c): the same for a page of apps
     * in one statement, the apps as array parameters */
    {STMT_APP_VUL_NUM_ALL,
     "SELECT u.k, (SELECT count(*) FROM rec_vulnerability r WHERE r.image = u.image AND "
     "r.app_name = u.name AND r.app_version IS u.version) FROM unnest(?1::bigint[], "
     "?2::text[], ?3::text[]) WITH ORDINALITY AS u(image, name, version, k)"},
    {STMT_APP_NON_COMPLIANT_ALL,
     "SELECT u.k, (SELECT count(*) FROM rec_non_compliant_app r WHERE r.image = u.image AND "
     "r.app_name = u.name AND r.app_version IS u.version AND r.app_path IS u.path) FROM "
     "unnest(?1::bigint[], ?2::text[], ?3::text[], ?4::text[]) WITH ORDINALITY AS "
     "u(image, name, version, path, k)"},
    {STMT_IMAGE_SCOPE, "SELECT project_id, image_type, ep FROM images WHERE id = ?1"},
    {STMT_NAMES_ADD,
     "INSERT INTO name_counts (kind, project_id, image_type, ep, name, n) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (kind, project_id, name, image_type, ep) "
     "DO UPDATE SET n = name_counts.n + excluded.n"},
    {STMT_NAMES_PRUNE,
     "DELETE FROM name_counts WHERE kind = ?1 AND project_id = ?2 AND image_type = ?3 AND "
     "ep = ?4 AND name = ?5 AND n = 0"},
    /* PostgreSQL only (store_names.c flush_pg): a transaction's whole map in
     * one statement, the keys and deltas as six array parameters */
    {STMT_NAMES_ADD_ALL,
     "INSERT INTO name_counts (kind, project_id, image_type, ep, name, n) "
     "SELECT * FROM unnest(?1::bigint[], ?2::text[], ?3::text[], ?4::text[], ?5::text[], "
     "?6::bigint[]) ON CONFLICT (kind, project_id, name, image_type, ep) "
     "DO UPDATE SET n = name_counts.n + excluded.n"},
    {STMT_CHANGE_INSERT_ALL, /* PostgreSQL only (store_change_append_all) */
     "INSERT INTO changes (image) SELECT u.id FROM unnest(?1::bigint[]) WITH ORDINALITY "
     "AS u(id, o) ORDER BY u.o"},
    {STMT_NAMES_PRUNE_ALL,
     "DELETE FROM name_counts c USING unnest(?1::bigint[], ?2::text[], ?3::text[], ?4::text[], "
     "?5::text[]) AS d(kind, project_id, image_type, ep, name) "
     "WHERE c.kind = d.kind AND c.project_id = d.project_id COLLATE \"C\" "
     "AND c.name = d.name COLLATE \"C\" AND c.image_type = d.image_type COLLATE \"C\" "
     "AND c.ep = d.ep COLLATE \"C\" AND c.n = 0"},
};

/* store_data_version's probe. SQLite: PRAGMA data_version, which moves
 * with every commit of another connection to the file. PostgreSQL has no
 * such counter: the sum of the change log's last seq and the auth epoch,
 * two numbers that only grow, moved in the transaction of every change
 * the server caches (an image; a principal) - see docs/design.md "The
 * freshness probe". */
static const char DATA_VERSION_SQLITE[] = "PRAGMA data_version";
static const char DATA_VERSION_PG[] =
    "SELECT (SELECT coalesce(max(seq), 0) FROM changes) + (SELECT coalesce(max(n), 0) FROM auth_epoch)";

int store_sql_build(store *st, imgsec_err *err)
{
    if (!(st->sql[STMT_DATA_VERSION] = sql_fmt(err, "%s", db_backend_of(st->conn) == DB_PG
                                                                ? DATA_VERSION_PG
                                                                : DATA_VERSION_SQLITE)))
        return IMGSEC_EINTERNAL;
    for (size_t i = 0; i < sizeof STATIC_SQL / sizeof STATIC_SQL[0]; i++)
        if (!(st->sql[STATIC_SQL[i].id] = sql_fmt(err, "%s", STATIC_SQL[i].sql)))
            return IMGSEC_EINTERNAL;
    if (!(st->sql[STMT_IMAGE_FIND] = sql_image_find(err)) ||
        !(st->sql[STMT_IMAGE_UPDATE] = sql_image_update(err)) ||
        !(st->sql[STMT_IMAGE_INSERT] = sql_image_insert(err)) ||
        !(st->sql[STMT_IMAGES_ALL] = sql_image_select("ORDER BY id", err)) ||
        !(st->sql[STMT_IMAGE_ONE] = sql_image_select("WHERE id = ?1", err)) ||
        !(st->sql[STMT_IMAGE_SET_VULS] = sql_image_set_vuls(err)))
        return IMGSEC_EINTERNAL;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        if (!(st->sql[STMT_REC_INSERT + t] = sql_rec_insert(k, err)) ||
            !(st->sql[STMT_REC_ALL + t] = sql_rec_all(k, err)) ||
            !(st->sql[STMT_REC_DELETE + t] =
                  sql_fmt(err, "DELETE FROM \"%s\" WHERE image = ?1", k->table)))
            return IMGSEC_EINTERNAL;
    }
    for (int i = 0; i < STMT_COUNT; i++)
        if (!st->sql[i])
            return err_set(err, IMGSEC_EINTERNAL, "store: statement %d has no SQL", i);
    return IMGSEC_OK;
}
