/* test_db.c - the database driver (src/lib/db/db.h): the same cases on
 * SQLite and on PostgreSQL.
 *
 * `unit_test_db sqlite` runs them on a fresh file under $TMPDIR (ctest:
 * unit.test_db); `unit_test_db pg` on a fresh database of the test
 * cluster (ctest: pg.test_db, fixture pg, IMGSEC_TEST_PG). The cases say
 * what the store relies on: values come back as they were bound, NULL is
 * NULL, a write transaction rolls back whole, another connection sees
 * only committed rows, and a violated constraint is the same class of
 * error on both engines. The SQL text translations (placeholders, DDL)
 * are checked as text in both runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/db_int.h"
#include "unit_pg.h"
#include "unit_tmp.h"

static bool use_pg;

typedef struct {
    char target[PATH_MAX]; /* the file or the URI */
    char pg_name[64];
    db_conn *c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err;
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->target, sizeof f->target,
                                  "test_db_"),
                     0);
    assert_int_equal(db_open(f->target, &f->c, &err), IMGSEC_OK);
    assert_int_equal(db_backend_of(f->c), use_pg ? DB_PG : DB_SQLITE);
    assert_int_equal(db_setup(f->c, &err), IMGSEC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    db_close(f->c);
    unit_db_remove(use_pg, f->pg_name, f->target);
    free(f);
    return 0;
}

/* Runs DDL written in SQLite's dialect, through db_ddl. */
static void ddl(db_conn *c, const char *sql)
{
    imgsec_err err;
    char *t = db_ddl(c, sql, &err);
    assert_non_null(t);
    if (db_exec(c, t, "ddl", &err) != IMGSEC_OK)
        fail_msg("%s: %s", t, err.msg);
    free(t);
}

static db_stmt *prep(db_conn *c, const char *sql)
{
    imgsec_err err;
    db_stmt *s = db_prepare(c, sql, false, "test", &err);
    if (!s)
        fail_msg("%s: %s", sql, err.msg);
    return s;
}

/* The single integer a query returns. */
static int64_t q1(db_conn *c, const char *sql)
{
    db_stmt *s = prep(c, sql);
    assert_int_equal(db_step(s), DB_ROW);
    int64_t v = db_column_int64(s, 0);
    db_finalize(s);
    return v;
}

static void test_types_roundtrip(void **state)
{
    fx *f = *state;
    ddl(f->c, "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, i INTEGER, r REAL, s TEXT, b BLOB)");
    db_stmt *ins = prep(f->c, "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4) RETURNING id");
    assert_int_equal(db_param_count(ins), 4);
    /* not persistent: on PostgreSQL nothing was sent yet, so the columns
     * are known from the first step on (db.h) */
    assert_int_equal(db_column_count(ins), use_pg ? 0 : 1);
    const unsigned char blob[5] = {0x00, 0xff, 0x5c, 0x78, 0x00}; /* NUL, 0xff, "\x" */
    db_bind_int64(ins, 1, INT64_MAX);
    db_bind_double(ins, 2, 0.1);
    db_bind_text(ins, 3, "caf\xc3\xa9 'q' ?1", -1);
    db_bind_blob(ins, 4, blob, sizeof blob);
    assert_int_equal(db_step(ins), DB_ROW);
    assert_int_equal(db_column_count(ins), 1);
    assert_int_equal(db_column_int64(ins, 0), 1);
    assert_int_equal(db_step(ins), DB_DONE);
    db_reset(ins);
    db_bind_int64(ins, 1, INT64_MIN);
    db_bind_double(ins, 2, -1.5e300);
    db_bind_text(ins, 3, "abcdef", 3); /* a prefix */
    db_bind_blob(ins, 4, blob, 0);     /* empty, not NULL */
    assert_int_equal(db_step(ins), DB_ROW);
    assert_int_equal(db_column_int64(ins, 0), 2);
    db_finalize(ins);

    /* one parameter in one type context: PostgreSQL deduces its type */
    db_stmt *sel = prep(f->c, "SELECT i, r, s, b, 'lit?' FROM t WHERE id >= ? ORDER BY id");
    assert_int_equal(db_param_count(sel), 1);
    db_bind_int64(sel, 1, 1);
    assert_int_equal(db_step(sel), DB_ROW);
    assert_int_equal(db_column_count(sel), 5);
    assert_int_equal(db_column_type(sel, 0), DB_INT);
    assert_true(db_column_int64(sel, 0) == INT64_MAX);
    assert_int_equal(db_column_type(sel, 1), DB_FLOAT);
    assert_true(db_column_double(sel, 1) == 0.1);
    assert_int_equal(db_column_type(sel, 2), DB_TEXT);
    assert_string_equal(db_column_text(sel, 2), "caf\xc3\xa9 'q' ?1");
    assert_int_equal(db_column_bytes(sel, 2), 12);
    assert_int_equal(db_column_type(sel, 3), DB_BLOB);
    assert_int_equal(db_column_bytes(sel, 3), sizeof blob);
    assert_memory_equal(db_column_blob(sel, 3), blob, sizeof blob);
    assert_string_equal(db_column_text(sel, 4), "lit?"); /* a '?' in a literal is no parameter */
    assert_int_equal(db_step(sel), DB_ROW);
    assert_true(db_column_int64(sel, 0) == INT64_MIN);
    assert_true(db_column_double(sel, 1) == -1.5e300);
    assert_string_equal(db_column_text(sel, 2), "abc");
    assert_int_equal(db_column_bytes(sel, 3), 0);
    assert_int_equal(db_step(sel), DB_DONE);
    /* past the end: out-of-range columns read as NULL, never crash */
    assert_int_equal(db_column_type(sel, 9), DB_NULL);
    assert_null(db_column_text(sel, -1));
    db_finalize(sel);
}

/* A statement may skip a parameter number (SQLite's does); the skipped
 * one is unbound and unread on both engines. */
static void test_parameter_gap(void **state)
{
    fx *f = *state;
    db_stmt *s = prep(f->c, "SELECT ?1 + 1, ?3 || 'x'");
    assert_int_equal(db_param_count(s), 3);
    db_bind_int64(s, 1, 41);
    db_bind_text(s, 3, "y", -1);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_column_int64(s, 0), 42);
    assert_string_equal(db_column_text(s, 1), "yx");
    db_finalize(s);
}

static void test_nulls(void **state)
{
    fx *f = *state;
    ddl(f->c, "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)");
    db_stmt *ins = prep(f->c, "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4)");
    db_bind_null(ins, 1);
    db_bind_null(ins, 2);
    db_bind_text(ins, 3, NULL, -1);
    db_bind_blob(ins, 4, NULL, 3);
    assert_int_equal(db_step(ins), DB_DONE);
    assert_int_equal(db_changes(f->c), 1);
    db_finalize(ins);
    db_stmt *sel = prep(f->c, "SELECT i, r, s, b, count(*) OVER () FROM t");
    assert_int_equal(db_step(sel), DB_ROW);
    for (int col = 0; col < 4; col++) {
        assert_int_equal(db_column_type(sel, col), DB_NULL);
        assert_null(db_column_text(sel, col));
        assert_int_equal(db_column_bytes(sel, col), 0);
        assert_int_equal(db_column_int64(sel, col), 0);
    }
    assert_null(db_column_blob(sel, 3));
    assert_int_equal(db_column_int64(sel, 4), 1);
    db_finalize(sel);
}

static void test_rows_reset_changes(void **state)
{
    fx *f = *state;
    imgsec_err err;
    ddl(f->c, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID");
    db_stmt *ins = prep(f->c, "INSERT INTO t (k, n) VALUES (?, ?)");
    const char *keys[] = {"c", "a", "b"};
    for (int i = 0; i < 3; i++) {
        db_bind_text(ins, 1, keys[i], -1);
        db_bind_int64(ins, 2, i + 10);
        assert_int_equal(db_step(ins), DB_DONE);
        db_reset(ins);
    }
    db_finalize(ins);
    db_stmt *sel = prep(f->c, "SELECT k, n FROM t WHERE n >= ?1 ORDER BY k");
    db_bind_int64(sel, 1, 11);
    assert_int_equal(db_step(sel), DB_ROW);
    assert_string_equal(db_column_text(sel, 0), "a");
    assert_int_equal(db_column_int64(sel, 1), 11);
    /* a reset in the middle of the rows, then the same run again */
    db_reset(sel);
    assert_int_equal(db_step(sel), DB_ROW);
    assert_string_equal(db_column_text(sel, 0), "a");
    assert_int_equal(db_step(sel), DB_ROW);
    assert_string_equal(db_column_text(sel, 0), "b");
    assert_int_equal(db_column_int64(sel, 1), 12);
    assert_int_equal(db_step(sel), DB_DONE);
    db_reset(sel);
    db_clear_bindings(sel); /* NULL: no row compares */
    assert_int_equal(db_step(sel), DB_DONE);
    db_finalize(sel);
    assert_int_equal(db_exec(f->c, "UPDATE t SET n = n + 1", "update", &err), IMGSEC_OK);
    assert_int_equal(db_changes(f->c), 3);
    db_stmt *del = prep(f->c, "DELETE FROM t WHERE k = ?1");
    db_bind_text(del, 1, "zz", -1);
    assert_int_equal(db_step(del), DB_DONE);
    assert_int_equal(db_changes(f->c), 0);
    db_reset(del);
    db_bind_text(del, 1, "b", -1);
    assert_int_equal(db_step(del), DB_DONE);
    assert_int_equal(db_changes(f->c), 1);
    db_finalize(del);
    assert_int_equal(q1(f->c, "SELECT sum(n) FROM t"), 11 + 12); /* c, a */
}

static void test_transactions(void **state)
{
    fx *f = *state;
    imgsec_err err;
    db_conn *other;
    ddl(f->c, "CREATE TABLE t (n INTEGER NOT NULL)");
    assert_int_equal(db_open(f->target, &other, &err), IMGSEC_OK);
    assert_int_equal(db_setup(other, &err), IMGSEC_OK);

    assert_false(db_in_transaction(f->c));
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_true(db_in_transaction(f->c));
    assert_int_equal(db_exec(f->c, "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", "insert", &err),
                     IMGSEC_OK);
    assert_int_equal(q1(f->c, "SELECT count(*) FROM t"), 2);
    assert_int_equal(q1(other, "SELECT count(*) FROM t"), 0); /* not committed */
    db_rollback(f->c);
    assert_false(db_in_transaction(f->c));
    assert_int_equal(q1(f->c, "SELECT count(*) FROM t"), 0);

    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_exec(f->c, "INSERT INTO t VALUES (3)", "insert", &err), IMGSEC_OK);
    assert_int_equal(db_commit(f->c, &err), IMGSEC_OK);
    assert_false(db_in_transaction(f->c));
    assert_int_equal(q1(other, "SELECT count(*) FROM t"), 1);

    /* a read transaction keeps its snapshot while another connection commits */
    assert_int_equal(db_begin_read(other, &err), IMGSEC_OK);
    assert_int_equal(q1(other, "SELECT count(*) FROM t"), 1);
    assert_int_equal(db_exec(f->c, "INSERT INTO t VALUES (4)", "insert", &err), IMGSEC_OK);
    assert_int_equal(q1(other, "SELECT count(*) FROM t"), 1);
    assert_int_equal(db_commit(other, &err), IMGSEC_OK);
    assert_int_equal(q1(other, "SELECT count(*) FROM t"), 2);
    db_rollback(f->c); /* none open: a no-op */
    db_close(other);
}

/* db_progress: a callback that answers 0 lets a long statement finish; one
 * that answers non-zero stops it (SQLite's interrupt, PostgreSQL's cancel
 * request: the server no longer runs it) and the step fails; after a
 * rollback the connection works as before. */
static int progress_calls;
static int progress_go_on(void *arg)
{
    (void)arg;
    progress_calls++;
    return 0;
}
static int progress_stop(void *arg)
{
    (void)arg;
    progress_calls++;
    return 1;
}

#define LONG_QUERY "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n " \
                   "WHERE x < 5000000) SELECT count(*) FROM n"

static void test_progress_interrupts(void **state)
{
    fx *f = *state;
    imgsec_err err;
    db_progress(f->c, 1000, progress_go_on, NULL);
    assert_int_equal(q1(f->c, LONG_QUERY), 5000000);

    progress_calls = 0;
    db_progress(f->c, 1000, progress_stop, NULL);
    assert_int_equal(db_begin_read(f->c, &err), IMGSEC_OK);
    db_stmt *s = prep(f->c, LONG_QUERY);
    assert_int_equal(db_step(s), DB_ERROR);
    assert_int_equal(progress_calls, 1);
    db_finalize(s);
    db_rollback(f->c);
    db_progress(f->c, 0, NULL, NULL);
    if (use_pg) /* the server ended it: no backend of this database still runs it */
        assert_int_equal(q1(f->c, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND pid <> pg_backend_pid() AND "
                                  "state = 'active'"),
                         0);
    assert_int_equal(q1(f->c, "SELECT 41 + 1"), 42);
    assert_int_equal(progress_calls, 1);
}

static void test_errors(void **state)
{
    fx *f = *state;
    imgsec_err err;
    ddl(f->c, "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
              "CREATE TABLE c (p INTEGER NOT NULL REFERENCES p(id) ON DELETE CASCADE, v TEXT);");
    assert_int_equal(db_exec(f->c, "INSERT INTO p (id, name) VALUES (1, 'a')", "insert", &err), IMGSEC_OK);

    /* a statement that does not compile: refused by a persistent prepare
     * on both engines; one that is not persistent is refused there by
     * SQLite, and at its first step by PostgreSQL (db.h) */
    err_clear(&err);
    assert_null(db_prepare(f->c, "SELEC nothing", true, "preparing x", &err));
    assert_int_equal(err.code, IMGSEC_EINTERNAL);
    assert_int_equal(strncmp(err.msg, "db: preparing x: ", 17), 0);
    assert_int_equal(db_errclass_of(f->c), DB_EOTHER);
    err_clear(&err);
    db_stmt *bad = db_prepare(f->c, "SELEC nothing", false, "preparing x", &err);
    if (use_pg) {
        assert_non_null(bad);
        assert_int_equal(db_step(bad), DB_ERROR);
        assert_int_equal(db_errclass_of(f->c), DB_EOTHER);
        assert_non_null(strstr(db_errmsg(f->c), "syntax error"));
        db_finalize(bad);
    } else {
        assert_null(bad);
        assert_int_equal(strncmp(err.msg, "db: preparing x: ", 17), 0);
    }

    db_stmt *ins = prep(f->c, "INSERT INTO p (id, name) VALUES (?1, ?2)");
    db_stmt *child = prep(f->c, "INSERT INTO c (p, v) VALUES (?1, ?2)");
    struct {
        db_stmt *s;
        int64_t id;
        const char *name;
        db_errclass want;
    } cases[] = {
        {ins, 1, "b", DB_EUNIQUE},         /* primary key */
        {ins, 2, "a", DB_EUNIQUE},         /* unique */
        {ins, 3, NULL, DB_ECONSTRAINT},    /* NOT NULL */
        {child, 99, "x", DB_EFOREIGN},     /* no parent */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* inside a write transaction, which the failure leaves to roll back */
        assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
        db_bind_int64(cases[i].s, 1, cases[i].id);
        db_bind_text(cases[i].s, 2, cases[i].name, -1);
        assert_int_equal(db_step(cases[i].s), DB_ERROR);
        assert_int_equal(db_errclass_of(f->c), cases[i].want);
        assert_int_equal(db_err(f->c, &err, "adding"), IMGSEC_EINTERNAL);
        assert_int_equal(strncmp(err.msg, "db: adding: ", 12), 0);
        assert_null(strstr(err.msg, "99")); /* the key's value is not in the message */
        db_reset(cases[i].s);
        db_rollback(f->c);
        assert_false(db_in_transaction(f->c));
    }
    /* the connection works after them */
    db_bind_int64(child, 1, 1);
    db_bind_text(child, 2, "ok", -1);
    assert_int_equal(db_step(child), DB_DONE);
    db_finalize(ins);
    db_finalize(child);
    assert_int_equal(db_exec(f->c, "DELETE FROM p", "delete", &err), IMGSEC_OK);
    assert_int_equal(q1(f->c, "SELECT count(*) FROM c"), 0); /* ON DELETE CASCADE */

    /* a failed statement inside a transaction: commit fails, nothing stays */
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_exec(f->c, "INSERT INTO p (id, name) VALUES (5, 'e')", "insert", &err), IMGSEC_OK);
    assert_int_equal(db_exec(f->c, "INSERT INTO p (id, name) VALUES (5, 'f')", "insert", &err),
                     IMGSEC_EINTERNAL);
    assert_int_equal(db_errclass_of(f->c), DB_EUNIQUE);
    db_rollback(f->c);
    assert_int_equal(q1(f->c, "SELECT count(*) FROM p"), 0);
}

/* The connection names itself to the server (pg_stat_activity). */
static void test_application_name(void **state)
{
    fx *f = *state;
    if (!use_pg)
        return;
    db_stmt *s = prep(f->c, "SELECT current_setting('application_name')");
    assert_int_equal(db_step(s), DB_ROW);
    assert_string_equal(db_column_text(s, 0), "imgsec");
    db_finalize(s);
}

static void test_schema_header(void **state)
{
    fx *f = *state;
    imgsec_err err;
    int64_t v = -1;
    bool foreign = true;
    assert_int_equal(db_schema_header(f->c, &v, &foreign, &err), IMGSEC_OK);
    assert_int_equal(v, 0);
    assert_false(foreign);
    /* someone else's table: foreign until imgsec records a version */
    ddl(f->c, "CREATE TABLE theirs (x INTEGER)");
    assert_int_equal(db_schema_header(f->c, &v, &foreign, &err), IMGSEC_OK);
    assert_int_equal(v, 0);
    assert_true(foreign);
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_schema_set_version(f->c, 7, &err), IMGSEC_OK);
    assert_int_equal(db_commit(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_schema_header(f->c, &v, &foreign, &err), IMGSEC_OK);
    assert_int_equal(v, 7);
    assert_false(foreign);
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_schema_set_version(f->c, 8, &err), IMGSEC_OK);
    db_rollback(f->c);
    assert_int_equal(db_schema_header(f->c, &v, &foreign, &err), IMGSEC_OK);
    assert_int_equal(v, 7); /* the version rolls back with its transaction */
}

/* An AFTER trigger written once, run by both engines. */
static void test_trigger(void **state)
{
    fx *f = *state;
    imgsec_err err;
    ddl(f->c, "CREATE TABLE t (k TEXT PRIMARY KEY) WITHOUT ROWID;\n"
              "CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);\n"
              "INSERT INTO counter (id, n) VALUES (1, 0);\n"
              "CREATE TRIGGER t_gone AFTER DELETE ON t\n"
              "  BEGIN UPDATE counter SET n = n + 1 WHERE id = 1; END;\n"
              "PRAGMA user_version = 0;\n");
    assert_int_equal(db_exec(f->c, "INSERT INTO t VALUES ('a'); INSERT INTO t VALUES ('b');"
                                   "INSERT INTO t VALUES ('c')", "insert", &err), IMGSEC_OK);
    assert_int_equal(q1(f->c, "SELECT n FROM counter"), 0);
    assert_int_equal(db_exec(f->c, "DELETE FROM t WHERE k <> 'c'", "delete", &err), IMGSEC_OK);
    assert_int_equal(q1(f->c, "SELECT n FROM counter"), 2); /* once per row */
}

static void test_sql_text(void **state)
{
    (void)state;
    char *s = db_pg_placeholders("SELECT ?1, ?, '?', \"a?\", ? -- ?9\n FROM t WHERE x = ?12 /* ? */", NULL,
                           NULL);
    assert_string_equal(s, "SELECT $1, $2, '?', \"a?\", $3 -- ?9\n FROM t WHERE x = $12 /* ? */");
    free(s);
    unsigned char used[DB_PG_MAX_PARAMS / 8 + 1] = {0};
    int max = 0;
    s = db_pg_placeholders("SELECT 'it''s ?', ?3", used, &max);
    assert_int_equal(max, 3);
    assert_int_equal(used[0], 1u << 3); /* 1 and 2 skipped */
    assert_string_equal(s, "SELECT 'it''s ?', $3");
    free(s);
    s = db_pg_placeholders("VALUES (?5, ?, ?2, ?)", NULL, NULL);
    assert_string_equal(s, "VALUES ($5, $6, $2, $7)");
    free(s);
    /* SQLite's null-safe IS and integer WHERE 1, PostgreSQL's spelling */
    s = db_pg_placeholders("SELECT 1 FROM t WHERE 1 AND a IS ?1 AND b IS NOT c.x AND d IS NULL AND "
                           "e IS NOT NULL AND f IS TRUE AND g IS NOT DISTINCT FROM h AND 'a IS b' "
                           "AND \"this\" IS \"that\" OR mis IS ?2 WHERE 10 AND x IN (SELECT 1 FROM "
                           "r INDEXED BY r_idx, q NOT INDEXED)",
                           NULL, NULL);
    assert_string_equal(s, "SELECT 1 FROM t WHERE TRUE AND a IS NOT DISTINCT FROM $1 AND b IS "
                           "DISTINCT FROM c.x AND d IS NULL AND e IS NOT NULL AND f IS TRUE AND g IS "
                           "NOT DISTINCT FROM h AND 'a IS b' AND \"this\" IS NOT DISTINCT FROM "
                           "\"that\" OR mis IS NOT DISTINCT FROM $2 WHERE 10 AND x IN (SELECT 1 "
                           "FROM r , q )");
    free(s);
    assert_null(db_pg_placeholders("SELECT ?0", NULL, NULL));
    assert_null(db_pg_placeholders("SELECT ?70000", NULL, NULL));

    const char *why = NULL;
    s = db_pg_translate_ddl("CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, h BLOB, r real,\n"
                            "  integer_col INTEGER, \"INTEGER\" TEXT DEFAULT 'BLOB') WITHOUT ROWID;\n"
                            "PRAGMA application_id = 5;\nCREATE INDEX i ON a(r);",
                            &why);
    assert_string_equal(s, "CREATE TABLE a (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                           "h BYTEA, r DOUBLE PRECISION,\n"
                           "  integer_col BIGINT, \"INTEGER\" TEXT COLLATE \"C\" DEFAULT 'BLOB') ;\n"
                           "\nCREATE INDEX i ON a(r);");
    free(s);
    /* a table SQLite keys by a hidden rowid gets it as a column; one with
     * an INTEGER PRIMARY KEY or WITHOUT ROWID does not */
    s = db_pg_translate_ddl("CREATE TABLE IF NOT EXISTS \"r(\" (image INTEGER NOT NULL, \"t)\" TEXT "
                            "DEFAULT ')', PRIMARY KEY (image, \"t)\"));\n"
                            "CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER);\n"
                            "CREATE TABLE w (v TEXT PRIMARY KEY) WITHOUT ROWID;",
                            &why);
    assert_string_equal(s, "CREATE TABLE IF NOT EXISTS \"r(\" (image BIGINT NOT NULL, \"t)\" TEXT "
                           "COLLATE \"C\" DEFAULT ')', PRIMARY KEY (image, \"t)\"),\n"
                           "  rowid BIGINT GENERATED BY DEFAULT AS IDENTITY);\n"
                           "CREATE TABLE k (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                           "v BIGINT);\n"
                           "CREATE TABLE w (v TEXT COLLATE \"C\" PRIMARY KEY) ;");
    free(s);
    s = db_pg_translate_ddl("CREATE TRIGGER g AFTER UPDATE ON a BEGIN DELETE FROM b; END;", &why);
    assert_string_equal(s, "CREATE FUNCTION \"g_fn\"() RETURNS trigger LANGUAGE plpgsql AS $imgsec$\n"
                           "BEGIN DELETE FROM b;  RETURN NULL; END\n$imgsec$;\n"
                           "CREATE TRIGGER g AFTER UPDATE ON a  FOR EACH ROW EXECUTE FUNCTION \"g_fn\"();");
    free(s);
    /* forms whose meaning would change are refused */
    assert_null(db_pg_translate_ddl("CREATE TRIGGER g BEFORE DELETE ON a BEGIN SELECT 1; END;", &why));
    assert_non_null(why);
    assert_null(db_pg_translate_ddl("CREATE TRIGGER g AFTER DELETE ON a WHEN old.x BEGIN SELECT 1; END;",
                                    &why));
    assert_null(db_pg_translate_ddl("CREATE TRIGGER g AFTER DELETE ON a", &why));
}

static void test_open_errors(void **state)
{
    (void)state;
    imgsec_err err;
    db_conn *c = (db_conn *)1;
    assert_int_equal(db_open("", &c, &err), IMGSEC_EINVAL);
    assert_null(c);
    assert_true(db_uri_is_pg("postgres://x/y"));
    assert_true(db_uri_is_pg("PostgreSQL://x/y"));
    assert_false(db_uri_is_pg("/var/lib/imgsec/postgres://x"));
    assert_false(db_uri_is_pg("postgres.db"));
    char shown[256];
    db_uri_display("postgresql://u:s3cret@h:5/d?sslmode=require&password=p2&x=1", shown, sizeof shown);
    assert_string_equal(shown, "postgresql://u:***@h:5/d?sslmode=require&password=***&x=1");
    db_uri_display("postgres://h/d?password=p2", shown, sizeof shown);
    assert_string_equal(shown, "postgres://h/d?password=***");
    db_uri_display("postgres://u@h/d", shown, sizeof shown);
    assert_string_equal(shown, "postgres://u@h/d");
    /* a long one is cut, never overrun */
    char longuri[1200];
    snprintf(longuri, sizeof longuri, "postgres://u:p@h/d?%0*d&password=x", 1100, 0);
    db_uri_display(longuri, shown, sizeof shown);
    assert_int_equal(strlen(shown), sizeof shown - 1);
    assert_null(strstr(shown, ":p@"));
    db_uri_display("/var/lib/imgsec/a:b@c.db", shown, sizeof shown);
    assert_string_equal(shown, "/var/lib/imgsec/a:b@c.db");
    /* a malformed URI is refused without quoting it (it may hold a password) */
    assert_int_equal(db_open("postgresql://u:s3cret@h/d?bogus_option=1", &c, &err), IMGSEC_EINTERNAL);
    assert_null(strstr(err.msg, "s3cret"));
    /* a server that is not there: the socket directory does not exist */
    assert_int_equal(db_open("postgresql:///d?host=/nonexistent-imgsec&user=u&password=s3cret", &c, &err),
                     IMGSEC_EINTERNAL);
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_equal(strncmp(err.msg, "db: cannot open the database: ", 30), 0);
    /* a SQLite file in a directory that does not exist */
    assert_int_equal(db_open("/nonexistent-imgsec/x.db", &c, &err), IMGSEC_EINTERNAL);
}

/* LISTEN/NOTIFY: a notification is delivered at its transaction's
 * commit, never after a rollback; SQLite says it has none. */
static void test_listen_notify(void **state)
{
    fx *f = *state;
    imgsec_err err;
    char ch[DB_CHANNEL_MAX + 1], payload[64];
    if (!use_pg) {
        assert_false(db_can_listen(f->c));
        assert_int_equal(db_listen(f->c, "imgsec_changes", &err), IMGSEC_EINVAL);
        assert_int_equal(db_errclass_of(f->c), DB_ENOTSUP);
        assert_string_equal(err.msg, "db: LISTEN/NOTIFY needs PostgreSQL");
        assert_int_equal(db_notify(f->c, "imgsec_changes", "1", &err), IMGSEC_EINVAL);
        assert_int_equal(db_wait_notify(f->c, 0, ch, sizeof ch, payload, sizeof payload, &err),
                         DB_ERROR);
        assert_int_equal(db_errclass_of(f->c), DB_ENOTSUP);
        return;
    }
    db_conn *l = NULL;
    assert_int_equal(db_open(f->target, &l, &err), IMGSEC_OK);
    assert_true(db_can_listen(l));
    assert_int_equal(db_listen(l, "Bad-Name", &err), IMGSEC_EINVAL);
    assert_int_equal(db_listen(l, "", &err), IMGSEC_EINVAL);
    assert_int_equal(db_listen(l, "imgsec_changes", &err), IMGSEC_OK);
    assert_int_equal(db_listen(l, "imgsec_changes", &err), IMGSEC_OK); /* once is enough */
    assert_int_equal(db_wait_notify(l, 0, ch, sizeof ch, payload, sizeof payload, &err), DB_DONE);
    /* in a transaction: nothing until the commit */
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_notify(f->c, "imgsec_changes", "41", &err), IMGSEC_OK);
    assert_int_equal(db_wait_notify(l, 0, ch, sizeof ch, payload, sizeof payload, &err), DB_DONE);
    db_rollback(f->c);
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    assert_int_equal(db_notify(f->c, "imgsec_changes", "42", &err), IMGSEC_OK);
    assert_int_equal(db_commit(f->c, &err), IMGSEC_OK);
    /* the rolled-back 41 never comes; 42 does */
    assert_int_equal(db_wait_notify(l, 60000, ch, sizeof ch, payload, sizeof payload, &err), DB_ROW);
    assert_string_equal(ch, "imgsec_changes");
    assert_string_equal(payload, "42");
    assert_int_equal(db_wait_notify(l, 0, ch, sizeof ch, payload, sizeof payload, &err), DB_DONE);
    /* another channel is not heard; a payload past the bound is refused */
    assert_int_equal(db_notify(f->c, "other", "x", &err), IMGSEC_OK);
    assert_int_equal(db_notify(f->c, "imgsec_changes", NULL, &err), IMGSEC_OK);
    assert_int_equal(db_wait_notify(l, 60000, ch, sizeof ch, payload, sizeof payload, &err), DB_ROW);
    assert_string_equal(ch, "imgsec_changes");
    assert_string_equal(payload, "");
    char *big = malloc(DB_PAYLOAD_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', DB_PAYLOAD_MAX + 1);
    big[DB_PAYLOAD_MAX + 1] = '\0';
    assert_int_equal(db_notify(f->c, "imgsec_changes", big, &err), IMGSEC_EINVAL);
    free(big);
    db_close(l);
}

/* db_stream: the same rows in the same order as a whole result, with
 * batches that end exactly at the last row and past it, parameters, two
 * streams side by side on one connection, a run reset half way and run
 * again in the same transaction, and (PostgreSQL) a refusal outside a
 * transaction; db_socket is a descriptor on PostgreSQL only. */
static void test_stream(void **state)
{
    fx *f = *state;
    imgsec_err err;
    ddl(f->c, "CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    assert_int_equal(db_begin_write(f->c, &err), IMGSEC_OK);
    db_stmt *ins = prep(f->c, "INSERT INTO w (id, v, b) VALUES (?1, ?2, ?3)");
    for (int i = 1; i <= 10; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        db_bind_int64(ins, 1, i);
        if (i == 4)
            db_bind_null(ins, 2);
        else
            db_bind_text(ins, 2, v, -1);
        db_bind_blob(ins, 3, "\x00\x01\xff", 3);
        assert_int_equal(db_step(ins), DB_DONE);
        db_reset(ins);
    }
    db_finalize(ins);
    assert_int_equal(db_commit(f->c, &err), IMGSEC_OK);

    db_stmt *all = prep(f->c, "SELECT id, v, b FROM w WHERE id >= ?1 ORDER BY id");
    db_stmt *two = prep(f->c, "SELECT id FROM w ORDER BY id DESC");
    int batches[] = {1, 3, 5, 9, 10, 11};
    assert_int_equal(db_begin_read(f->c, &err), IMGSEC_OK);
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        db_stream(all, batches[k]);
        db_stream(two, 4);
        db_bind_int64(all, 1, 2);
        for (int want = 2; want <= 10; want++) {
            assert_int_equal(db_step(all), DB_ROW);
            assert_int_equal(db_column_int64(all, 0), want);
            if (want == 4) {
                assert_int_equal(db_column_type(all, 1), DB_NULL);
            } else {
                char v[16];
                snprintf(v, sizeof v, "v%d", want);
                assert_string_equal(db_column_text(all, 1), v);
            }
            assert_int_equal(db_column_bytes(all, 2), 3);
            assert_memory_equal(db_column_blob(all, 2), "\x00\x01\xff", 3);
            /* the other walk advances in step, the other way */
            assert_int_equal(db_step(two), DB_ROW);
            assert_int_equal(db_column_int64(two, 0), 12 - want);
        }
        assert_int_equal(db_step(all), DB_DONE);
        db_reset(all);
        /* half way, reset, and the same statement again */
        db_reset(two);
        assert_int_equal(db_step(two), DB_ROW);
        assert_int_equal(db_column_int64(two, 0), 10);
        db_reset(two);
    }
    assert_int_equal(db_commit(f->c, &err), IMGSEC_OK);
    if (use_pg) {
        db_stream(two, 4);
        assert_int_equal(db_step(two), DB_ERROR); /* a cursor needs a transaction */
        db_reset(two);
        assert_true(db_socket(f->c) >= 0);
    } else {
        db_stream(two, 4); /* nothing to do on SQLite */
        assert_int_equal(db_step(two), DB_ROW);
        assert_int_equal(db_column_int64(two, 0), 10);
        db_reset(two);
        assert_int_equal(db_socket(f->c), -1);
    }
    db_stream(two, 0); /* whole results again */
    assert_int_equal(db_step(two), DB_ROW);
    assert_int_equal(db_column_int64(two, 0), 10);
    db_reset(two);
    db_finalize(all);
    db_finalize(two);
}

/* Ends the session of connection v from connection c (as a server
 * restart or a network cut would). */
static void kill_session(db_conn *c, db_conn *v)
{
    int64_t pid = q1(v, "SELECT pg_backend_pid()");
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 60000)", (long long)pid);
    assert_int_equal(q1(c, sql), 1);
}

/* A connection whose session ends reconnects by itself: statements
 * prepared before run, the channels are listened to again; a transaction
 * open at the loss fails whole (503 at the server) and the next one works. */
static void test_reconnect(void **state)
{
    fx *f = *state;
    imgsec_err err;
    db_conn *v = NULL;
    assert_int_equal(db_open(f->target, &v, &err), IMGSEC_OK);
    assert_int_equal(db_reconnects(v), 0);
    if (!use_pg) {
        db_close(v);
        return;
    }
    ddl(f->c, "CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    db_stmt *ins = prep(v, "INSERT INTO r (v) VALUES (?1)");
    assert_int_equal(db_listen(v, "imgsec_changes", &err), IMGSEC_OK);

    /* idle: noticed before anything is sent, the statement runs */
    kill_session(f->c, v);
    db_bind_text(ins, 1, "a", -1);
    assert_int_equal(db_step(ins), DB_DONE);
    db_reset(ins);
    assert_int_equal(db_reconnects(v), 1);
    assert_int_equal(q1(f->c, "SELECT count(*) FROM r"), 1);
    /* and it listens again */
    assert_int_equal(db_notify(f->c, "imgsec_changes", "after", &err), IMGSEC_OK);
    char ch[DB_CHANNEL_MAX + 1], payload[16];
    assert_int_equal(db_wait_notify(v, 60000, ch, sizeof ch, payload, sizeof payload, &err), DB_ROW);
    assert_string_equal(payload, "after");

    /* inside a transaction: its statements fail, so does the commit */
    assert_int_equal(db_begin_write(v, &err), IMGSEC_OK);
    db_bind_text(ins, 1, "b", -1);
    assert_int_equal(db_step(ins), DB_DONE);
    db_reset(ins);
    kill_session(f->c, v);
    db_bind_text(ins, 1, "c", -1);
    assert_int_equal(db_step(ins), DB_ERROR);
    assert_int_equal(db_errclass_of(v), DB_ECONN);
    assert_int_equal(db_err(v, &err, "inserting"), IMGSEC_EUNAVAILABLE);
    db_reset(ins);
    assert_int_equal(db_step(ins), DB_ERROR); /* not on a new session behind its back */
    db_reset(ins);
    assert_int_equal(db_commit(v, &err), IMGSEC_EUNAVAILABLE);
    assert_false(db_in_transaction(v));
    assert_int_equal(q1(f->c, "SELECT count(*) FROM r"), 1); /* b and c are gone */
    /* the next transaction reconnects */
    assert_int_equal(db_begin_write(v, &err), IMGSEC_OK);
    db_bind_text(ins, 1, "d", -1);
    assert_int_equal(db_step(ins), DB_DONE);
    db_reset(ins);
    assert_int_equal(db_commit(v, &err), IMGSEC_OK);
    assert_int_equal(db_reconnects(v), 2);
    assert_int_equal(q1(f->c, "SELECT count(*) FROM r"), 2);
    db_finalize(ins);
    db_close(v);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") != 0 && strcmp(argv[1], "pg") != 0)) {
        fprintf(stderr, "usage: %s sqlite|pg\n", argv[0]);
        return 2;
    }
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    use_pg = pg == 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parameter_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_reset_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_application_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trigger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test(test_sql_text),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests_name(use_pg ? "db on PostgreSQL" : "db on SQLite", tests, NULL, NULL);
}
