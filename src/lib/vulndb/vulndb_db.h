/* vulndb_db.h - the vulndb handle, shared by vulndb.c (schema, import,
 * status), vulndb_match.c and vulndb_update.c. */
#ifndef IMGSEC_VULNDB_DB_H
#define IMGSEC_VULNDB_DB_H

#include <sqlite3.h>

#include "imgsec/vulndb.h"
#include "vulndb/vulndb_int.h"

typedef enum {
    VDB_GET_VULN, VDB_INSERT_VULN, VDB_UPDATE_VULN, VDB_PUT_JSON, VDB_DELETE_AFFECTED,
    VDB_INSERT_AFFECTED,
    VDB_LOOKUP, VDB_DETAILS, VDB_BEGIN_READ, VDB_COMMIT,
    VDB_STMT_COUNT
} vdb_stmt_id;

struct vulndb {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[VDB_STMT_COUNT]; /* prepared on first use */
};

/* The statement id, prepared (persistent), reset and unbound; NULL on error. */
sqlite3_stmt *vdb_stmt(vulndb *db, vdb_stmt_id id, imgsec_err *err);
/* IMGSEC_EINTERNAL with SQLite's message. */
int vdb_sql_err(vulndb *db, imgsec_err *err, const char *what);
/* BEGIN IMMEDIATE / COMMIT (rc == OK) or ROLLBACK; returns the outcome. */
int vdb_begin(vulndb *db, imgsec_err *err);
int vdb_end(vulndb *db, int rc, imgsec_err *err);

/* vulndb_import without its transaction (the caller holds one); adds to
 * *stats. */
int vdb_import_paths(vulndb *db, const char *const *paths, size_t n, vulndb_progress_fn progress,
                     void *ctx, vulndb_import_stats *stats, imgsec_err *err);

static inline int isdigit_c(int c) { return c >= '0' && c <= '9'; }

#endif
