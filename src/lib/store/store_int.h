/* store_int.h - what the files of the store share, private to it.
 *
 * The store is split by concern: store.c owns the connection, pragmas,
 * migrations, transactions and the statement cache; store_schema.c turns
 * the record_kind tables into DDL and into the SQL of the statements that
 * depend on them; store_images.c ingests, deletes and feeds the index;
 * store_users.c keeps users, grants and tokens.
 *
 * Every statement the store runs is named by a stmt_id, its SQL is built
 * once at open (some of it generated from model.h tables) and it is
 * prepared on first use and kept for the life of the handle, so a call
 * never re-parses SQL per record.
 */
#ifndef IMGSEC_STORE_INT_H
#define IMGSEC_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#include "imgsec/err.h"
#include "imgsec/model.h"
#include "imgsec/store.h"
#include "imgsec/store_exports.h"
#include "imgsec/util.h"

/* The change log keeps at most this many of its newest rows; a follower
 * that fell further behind rebuilds from store_summary_foreach. */
#define STORE_CHANGES_KEEP 100000

/* Rows a walk over a whole table (store_summary_foreach) reads per batch
 * on PostgreSQL (db_stream). */
#define STORE_WALK_ROWS 2048

/* PRAGMA application_id of an imgsec database ("imgs"). */
#define STORE_APPLICATION_ID 0x696d6773

/* Milliseconds a writer waits for another one (server vs CLI) before
 * failing with "database is locked". */
#define STORE_BUSY_TIMEOUT_MS 10000

/* The fixed columns of the images table, in table order: four, then the
 * string attributes (IC_STR_<member>) and the integer ones (IC_NUM_<member>)
 * at their store_col in model.h's tables, then severity_level; the count
 * columns (one per report type, then one per vul type) follow them. A
 * store_col given twice is a duplicate case label in store_bind_image. */
#define IC_STR_ITEM(m, key, dmin, dmax, filter, fmax, qlists, ilists, col, ...) \
    IC_STR_##m = IC_STRINGS_FIRST + (col),
#define IC_NUM_ITEM(m, key, col) IC_NUM_##m = IC_NUMBERS_FIRST + (col),
typedef enum {
    IC_PROJECT_ID, IC_EP, IC_IMAGE_TYPE, IC_SCAN_STATUS,
    IC_STRINGS_FIRST,
    IC_NUMBERS_FIRST = IC_STRINGS_FIRST + MODEL_IMAGE_STRING_COUNT,
    IC_SEVERITY_LEVEL = IC_NUMBERS_FIRST + MODEL_IMAGE_NUMBER_COUNT,
    IC_FIXED_COUNT,
    MODEL_IMAGE_STRINGS(IC_STR_ITEM)
    MODEL_IMAGE_NUMBERS(IC_NUM_ITEM)
} image_col;
#undef IC_STR_ITEM
#undef IC_NUM_ITEM
#define IC_COUNT(t) (IC_FIXED_COUNT + (int)(t))                       /* records of report type t */
#define IC_VUL_COUNT(v) (IC_FIXED_COUNT + REPORT_TYPE_COUNT + (int)(v)) /* vulnerabilities of vul type v */
#define IMAGE_NCOLS (IC_FIXED_COUNT + REPORT_TYPE_COUNT + VUL_TYPE_COUNT)

/* The names name_counts counts (schema 16, store_names.c): kind 0 is
 * rec_app.app_name, 1 rec_file.file_name. */
enum { STORE_NAME_APP, STORE_NAME_FILE, STORE_NAME_KIND_COUNT };

/* Every statement of the store. Per-report-type statements take t as an
 * offset: STMT_REC_INSERT + t. */
typedef enum {
    STMT_IMAGE_FIND,      /* id, ep of an identity */
    STMT_IMAGE_UPDATE,    /* UPDATE by id */
    STMT_IMAGE_INSERT,    /* INSERT RETURNING id */
    STMT_IMAGE_EP,        /* ep of (id, project) */
    STMT_REC_INSERT,
    STMT_REC_DELETE = STMT_REC_INSERT + REPORT_TYPE_COUNT,
    STMT_REC_ALL = STMT_REC_DELETE + REPORT_TYPE_COUNT, /* + t: <every field>, image, seq
                                                           of image ?1 ORDER BY seq */
    STMT_APP_VUL_NUM = STMT_REC_ALL + REPORT_TYPE_COUNT, /* vulnerabilities of image ?1 naming
                                                            app ?2, version ?3 (SQLite) */
    STMT_APP_NON_COMPLIANT, /* non-compliant-app records of image ?1 for app ?2, version ?3,
                               path ?4 (SQLite) */
    STMT_APP_VUL_NUM_ALL,       /* PostgreSQL only: k, the same count for the arrays ?1..?3 */
    STMT_APP_NON_COMPLIANT_ALL, /* PostgreSQL only: k, the same count for the arrays ?1..?4 */
    STMT_AGG_VUL_INSERT,
    STMT_AGG_VUL_DELETE,
    STMT_AGG_BUILD_INSERT,
    STMT_AGG_BUILD_DELETE,
    STMT_CHANGE_INSERT,
    STMT_CHANGE_PRUNE,
    STMT_IMAGE_DELETE,
    STMT_IMAGES_ALL,      /* SELECT id, <image cols> ORDER BY id */
    STMT_IMAGE_ONE,       /* the same for one id */
    STMT_AGG_VUL_ALL,     /* image, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss ORDER BY image */
    STMT_AGG_VUL_ONE,
    STMT_AGG_BUILD_ALL,   /* image, rule_id, risk_name, risk_level, n ORDER BY image */
    STMT_AGG_BUILD_ONE,
    STMT_CHANGES_RANGE,   /* min(seq), max(seq) */
    STMT_CHANGES_SINCE,   /* DISTINCT image with seq > ? */
    STMT_DATA_VERSION,
    STMT_CHANGED_SINCE,   /* 1 if image ?2 has a change-log row after seq ?1 */
    STMT_IMAGE_SET_VULS,  /* the vulnerability counts and severity level of image ?N */
    STMT_VUL_ROW_DELETE,  /* the vulnerability of image ?1 at seq ?2 */
    STMT_VUL_ROW_SEQ,     /* seq = ?3 of the vulnerability of image ?1 at seq ?2 */
    STMT_AGG_VUL_ROWS,    /* rowid, vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss of image ?1 */
    STMT_AGG_VUL_ROW_DELETE, /* the agg_vul row of image ?1 with rowid ?2 (PostgreSQL has no
                                index on rowid: the image's narrows the search) */
    STMT_AGG_VUL_ROW_N,   /* n, rank, cvss, rep_seq, rep_cvss = ?2..?6 of the agg_vul row rowid ?1
                            of image ?7 */
    STMT_USER_INSERT,
    STMT_USER_ID,
    STMT_USER_GET,
    STMT_USER_DELETE,
    STMT_USER_LIST,
    STMT_GRANT_UPSERT,
    STMT_GRANT_GET,
    STMT_GRANT_DELETE,
    STMT_TOKEN_INSERT,
    STMT_TOKEN_LOOKUP,
    STMT_TOKEN_DELETE,
    STMT_TOKEN_DELETE_GRANT,
    STMT_TOKEN_PURGE,
    STMT_KEY_LOOKUP,      /* user and sealed SK of an AK: every signed request */
    STMT_AUTH_EPOCH,      /* the auth epoch (store_schema_auth.c) */
    STMT_IMAGE_SCOPE,     /* project, type and EP of image ?1 (store_names.c) */
    STMT_NAMES_ADD,       /* name_counts += ?6 */
    STMT_NAMES_PRUNE,     /* the name_counts row of ?1..?5 if its count is 0 */
    STMT_NAMES_ADD_ALL,   /* PostgreSQL only: name_counts += the rows of the arrays ?1..?6 */
    STMT_NAMES_PRUNE_ALL, /* PostgreSQL only: the rows of the arrays ?1..?5 whose count is 0 */
    STMT_CHANGE_INSERT_ALL, /* PostgreSQL only: the change log += the ids of the array ?1, in order */
    STMT_COUNT
} stmt_id;

typedef struct vul_diff_buf vul_diff_buf;

/* Indexes dropped inside an open write and built again from their own
 * definitions before its commit (a first rematch, store_vul_bulk.c; a
 * bulk import, store_ingest_defer_indexes): their CREATE INDEX texts. A
 * rollback brings the indexes back with everything else. */
typedef struct {
    char **sql;
    size_t n;
} store_dropped_indexes;

struct store {
    db_conn *conn;                   /* the driver's connection (src/lib/db/db.h) */
    sqlite3 *db;                     /* conn's SQLite handle; NULL on PostgreSQL */
    char *sql[STMT_COUNT];           /* built at open, owned */
    db_stmt *dstmt[STMT_COUNT];      /* through the driver: prepared on first use */
    vul_diff_buf *diff;              /* store_vul_diff.c's buffers, kept between images */
    /* store_vul_bulk.c: while bulk, one write transaction is open and the
     * transaction calls below work on a savepoint inside it; bulk_idx
     * holds the dropped indexes' CREATE INDEX texts */
    bool bulk;
    store_dropped_indexes bulk_idx;
    bool notified;      /* the open write announced a change (store_change_append) */
    int64_t bulk_seq;   /* the change log's last seq when the bulk write began */
    int64_t *bulk_ids;  /* the images it appended to the change log, ascending */
    size_t n_bulk_ids, cap_bulk_ids;
    /* store_rematch.c: the rematch lock is held (since reconnection
     * number rematch_lock_gen of the connection) */
    bool rematch_locked;
    int64_t rematch_lock_gen;
    /* store_names.c: the name_counts changes of the open write, written
     * by store_commit, dropped by store_rollback; NULL when none */
    struct json_t *names;
    /* list.c's cache for this handle (store_list_cache_set) */
    void *list_cache;
    void (*list_cache_free)(void *);
};

/* ---- store_names.c: name_counts, kept by the write code ----
 * Every function that writes or deletes rec_app or rec_file rows calls
 * one of these inside its write transaction; store_commit writes what
 * they collected (store_names_flush), store_rollback forgets it. */
/* The records of a validated document about to be stored. */
int store_names_doc(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                    imgsec_err *err);
/* One record (JSON, validated) of report type t about to be stored. */
int store_names_json(store *st, const char *project_id, const char *ep, image_type type,
                     report_type t, const struct json_t *rec, imgsec_err *err);
/* Image id's stored names, subtracted: before its records are deleted or
 * its row (EP) changes. */
int store_names_drop_image(store *st, int64_t id, imgsec_err *err);
int store_names_flush(store *st, imgsec_err *err);
void store_names_forget(store *st);
/* kind of report type t, -1 if name_counts does not count it */
int store_name_kind_of(report_type t);

/* ---- store_rematch.c: one rematch at a time per database ----
 * Takes the rematch lock of the database on st's connection if no other
 * connection holds it (*got). Outside a transaction. */
int store_rematch_lock(store *st, bool *got, imgsec_err *err);
/* Whether st still holds it (false once its connection was made again). */
bool store_rematch_lock_held(store *st);
void store_rematch_unlock(store *st);

/* ---- store_vul_diff.c: store_replace_vulnerabilities' writes ---- */
/* Makes image id's vulnerability rows the validated records recs
 * (doc_vuls_from_json), seq in order, writing only the rows that differ. */
int store_vul_rows_replace(store *st, int64_t id, const doc_records *recs, imgsec_err *err);
/* Makes image id's agg_vul rows the n aggregates aggs (in doc_vul_cmp
 * order), writing only the rows that differ. */
int store_agg_vul_replace(store *st, int64_t id, const vul_agg *aggs, size_t n, imgsec_err *err);
/* Frees the buffers the two keep in st (store_close). */
void store_vul_diff_free(store *st);

/* ---- store_vul_bulk.c: the change-log check inside a bulk write ----
 * Whether image id has a change-log row after seen, answered without
 * scanning the rows the bulk write appended (one per image it wrote, so
 * a scan from seen would cost the run quadratic time, and the prune could
 * drop rows past seen in a run of more than STORE_CHANGES_KEEP images):
 * *known false unless seen is the log's position at the bulk write's
 * start, as every other connection reads it (the caller then reads the
 * log). */
void store_vul_bulk_changed(const store *st, int64_t id, int64_t seen, bool *known, bool *changed);
/* Notes that the bulk write appended a change-log row for image id. */
int store_vul_bulk_note(store *st, int64_t id, imgsec_err *err);

/* ---- store.c ---- */

/* ---- store.c, through the driver (db.h): the code that runs on both
 * engines. ---- */

/* Fills err from the connection's last failure: "store: <what>: <the
 * engine's message>", IMGSEC_ENOSPACE for a full disk, IMGSEC_EUNAVAILABLE
 * for a lost connection (db.h), else IMGSEC_EINTERNAL; returns the code. */
int store_derr(store *st, imgsec_err *err, const char *what);
/* The cached driver statement id, prepared on first use; NULL (err set)
 * on failure. Reset with the others at the end of every transaction. */
db_stmt *store_dstmt(store *st, stmt_id id, imgsec_err *err);
/* A driver statement of its own (the caller finalizes it). */
db_stmt *store_dprepare(store *st, const char *sql, const char *what, imgsec_err *err);
/* The code to return after a store_dprepare (or another call that filled
 * err) failed: err's, so a lost connection stays IMGSEC_EUNAVAILABLE (a
 * 503); IMGSEC_EINTERNAL when err is NULL or has none. */
static inline int store_drc(const imgsec_err *err)
{
    return err && err->code != IMGSEC_OK ? (int)err->code : IMGSEC_EINTERNAL;
}
/* Steps a statement that returns no rows, then resets it. */
int store_drun(store *st, db_stmt *s, const char *what, imgsec_err *err);
/* Binds v, or "" for NULL (absent strings are stored as ''). */
void store_dbind_text(db_stmt *s, int i, const char *v);
/* Copies the text of column col into dst (truncated; "" for NULL). */
void store_dcolumn_copy(char *dst, size_t size, db_stmt *s, int col);

/* Runs SQL text without results (DDL, pragmas, transaction control). */
int store_exec(store *st, const char *sql, const char *what, imgsec_err *err);

/* Write transaction: BEGIN IMMEDIATE waits (busy timeout) for other writers.
 * Inside a bulk write (store_vul_bulk_begin) these three work on a
 * savepoint of its transaction instead: commit releases it, rollback
 * undoes what was written since write_begin. */
int store_write_begin(store *st, imgsec_err *err);
/* Read transaction: the first read fixes the snapshot. */
int store_read_begin(store *st, imgsec_err *err);
/* COMMIT (rolls back if the commit fails); resets every cached statement. */
int store_commit(store *st, imgsec_err *err);
/* ROLLBACK if a transaction is open; resets every cached statement. */
void store_rollback(store *st);

/* ---- store_bind.c: binding and reading values; the document binding is
 * shared by both ingest paths ---- */
/* Binds the image columns of d (as many as s has parameters). */
void store_bind_image(db_stmt *s, const char *project_id, const char *ep, const imgsec_doc *d);
/* Binds one record field from JSON; false if the value has the wrong type. */
bool store_bind_field(db_stmt *s, int i, const record_field *f, const json_t *v);
/* The same as the next field of a COPY row (PostgreSQL's bulk ingest). */
bool store_copy_field(db_copy *k, const record_field *f, const json_t *v);
/* The same for a value of a validated document (doc_val: already typed). */
void store_bind_val(db_stmt *s, int i, const doc_val *v);
void store_copy_val(db_copy *k, const doc_val *v);
/* A COPY into k's record table, columns (image, seq, k's fields); NULL
 * with err set (what: the work, for the message) when it cannot start. */
db_copy *store_copy_records_begin(store *st, const record_kind *k, const char *what,
                                  imgsec_err *err);
/* One row of that COPY: the image id, the record's seq and its values
 * (k->nfields doc_vals); the caller ends the row with db_copy_row. */
void store_copy_record(db_copy *c, const record_kind *k, int64_t id, int64_t seq,
                       const doc_val *rec);
/* The agg_vul columns after the image (vul_id, vul_type, n, rank, cvss,
 * rep_seq, rep_cvss) of a as the next fields of a COPY row; a->type must
 * be a valid vul_type (the callers refuse others first). */
void store_copy_vul_agg(db_copy *k, const vul_agg *a);
/* The same as the parameters p..p+7 of an INSERT INTO agg_vul (image,
 * vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss): the image id, then
 * a's columns; a->type must be valid. */
void store_bind_vul_agg(db_stmt *s, int p, int64_t id, const vul_agg *a);
/* Appends to b the bytes that identify the value store_bind_val binds
 * for v: equal bytes if and only if the stored field reads back as the
 * same value, which store_cell_key appends for a cell the record API
 * read (records.h). */
void store_val_key(util_buf *b, const doc_val *v);
void store_cell_key(util_buf *b, const store_cell *c);

/* Runs select with ?1 bound to table (its rows: an index's name, its
 * CREATE INDEX text), then drops each index it named inside the open
 * write, appending its text to d (store.c). */
int store_indexes_drop(store *st, const char *select, const char *table,
                       store_dropped_indexes *d, imgsec_err *err);
void store_dropped_indexes_free(store_dropped_indexes *d);
/* The caller's grant against (project_id, ep); NULL grant: no check. */
int store_grant_check(const store_grant *g, const char *project_id, const char *ep,
                      imgsec_err *err);

/* ---- store_images.c: image-row steps shared with store_stream.c ---- */
/* Inserts record rec of type t of image id at seq j with the cached
 * STMT_REC_INSERT + t; IMGSEC_EINVAL naming where, the type's key and j
 * for a value of the wrong type. */
int store_drecord_insert(store *st, report_type t, int64_t id, size_t j, const json_t *rec,
                         const char *where, imgsec_err *err);
/* Inserts the n vulnerability aggregates of image id with the cached
 * STMT_AGG_VUL_INSERT. */
int store_dagg_vul_insert(store *st, int64_t id, const vul_agg *vuls, size_t n, imgsec_err *err);
/* The existing image of d's identity, *id (0 if none).
 * With a grant, an image living in an EP the grant does not cover is
 * EFORBIDDEN (where prefixes the message, e.g. "documents[2]."). */
int store_image_find(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                     const store_grant *grant, const char *where, int64_t *id, imgsec_err *err);
/* Inserts d's image row; *id gets the new id (0 if SQLite gave none: each
 * caller reports that in its own words). */
int store_image_insert(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                       int64_t *id, imgsec_err *err);
/* Deletes every record and aggregate of image id (the row stays). The
 * one way an image's rows go: PostgreSQL's record and aggregate tables
 * have no foreign key to images (schema version 16), so whatever deletes
 * or replaces an image calls this first. */
int store_image_clear(store *st, int64_t id, imgsec_err *err);
/* Appends id to the change log. */
int store_change_append(store *st, int64_t id, imgsec_err *err);
/* PostgreSQL: appends ids[0..n), in that order, in one statement. */
int store_change_append_all(store *st, const int64_t *ids, size_t n, imgsec_err *err);
/* Drops all but the newest STORE_CHANGES_KEEP change-log rows. */
int store_change_prune(store *st, imgsec_err *err);

/* ---- store_schema.c ---- */

/* Writes the name of image column c (fixed or count) into buf. */
void store_image_col(int c, char *buf, size_t size);

/* PostgreSQL array literals ("{...}") built in b, which starts as "{":
 * an element each (a text quoted and escaped, an integer, NULL); the
 * caller closes with "}" and binds the text to an ?N::type[] parameter
 * (store_names.c). */
void store_array_text(util_buf *b, const char *s, size_t len);
void store_array_int(util_buf *b, int64_t v);
void store_array_null(util_buf *b);

/* The DDL of schema version `version` (1-based) in st's engine's dialect,
 * as one malloc'd string of statements ("" for a step of the other
 * engine), or NULL with err set. */
char *store_schema_step(store *st, int version, imgsec_err *err);
/* The later versions, one file each (malloc'd SQL, NULL with err set). */
char *store_schema_v2(imgsec_err *err); /* store_schema_keys.c */
char *store_schema_v3(imgsec_err *err); /* store_schema_exports.c */
char *store_schema_v4(imgsec_err *err); /* store_schema_exports.c */
char *store_schema_v5(imgsec_err *err); /* store_schema_lists.c */
char *store_schema_v6(imgsec_err *err); /* store_schema_lists.c */
char *store_schema_nc_app_name(imgsec_err *err); /* store_schema_lists.c */
char *store_schema_drop_vul_vul(imgsec_err *err); /* store_schema_lists.c */
char *store_schema_registries(imgsec_err *err); /* store_schema_registries.c */
char *store_schema_auth_epoch(imgsec_err *err); /* store_schema_auth.c */
char *store_schema_tasks(imgsec_err *err); /* store_schema_tasks.c */
char *store_schema_vul_maxima(imgsec_err *err); /* store_schema_lists.c */
char *store_schema_vul_reps(imgsec_err *err);   /* store_schema_lists.c */
char *store_schema_export_files(imgsec_err *err); /* store_schema_exports.c */
char *store_schema_task_leases(imgsec_err *err);  /* store_schema_tasks.c */
char *store_schema_names(imgsec_err *err);        /* store_schema_lists.c */
char *store_schema_rematch_owed(imgsec_err *err); /* store_rematch.c */
char *store_schema_pg_ingest(imgsec_err *err);    /* store_schema.c; PostgreSQL only */
char *store_schema_name_counts(imgsec_err *err);  /* store_names.c */
/* One result column as a store_cell (strings borrowed from the statement
 * until its next step); store_records.c, used by the exports and the lists. */
void store_cell_from_column(db_stmt *s, int c, store_cell *out);

/* Number of schema versions that store_schema_step knows. */
int store_schema_steps(void);

/* Adds to each record table any column that the record_kind tables name
 * but the table lacks (a field added to model.c after the database was
 * made). Runs in the caller's write transaction. *added gets the count. */
int store_schema_reconcile(store *st, int *added, imgsec_err *err);
/* Does any record table lack a column? (read-only check) */
int store_schema_needs_reconcile(store *st, int *needs, imgsec_err *err);

/* Builds st->sql[] for every statement. */
int store_sql_build(store *st, imgsec_err *err);

#endif
