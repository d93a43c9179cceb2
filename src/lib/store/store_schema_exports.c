/* store_schema_exports.c - schema versions 3 and 4: export tasks
 * (export.md) and the servers that own them.
 *
 * A task row is the whole life of one export: the request it was created
 * with (kept for audit; a task is never re-run, see store_exports.h), its
 * state and progress, and the file it made. Files are found by their own
 * random id (file_id), never by the task id, and always together with the
 * project, so a download of another project's file finds nothing.
 * eps is the EP scope the task was created with ('*' = every EP of the
 * project, else a comma list), so that reading it back needs a grant
 * covering that scope. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_v3(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE export_tasks (\n"
        "  id TEXT PRIMARY KEY,\n"
        "  project_id TEXT NOT NULL,\n"
        "  eps TEXT NOT NULL,           -- '*' or a comma list of EP ids\n"
        "  user_id INTEGER,\n"
        "  report_type TEXT NOT NULL,\n"
        "  request TEXT NOT NULL,       -- the body as received (validated), as JSON\n"
        "  export_size INTEGER NOT NULL,\n"
        "  file_format TEXT NOT NULL,   -- xlsx, csv\n"
        "  status TEXT NOT NULL,        -- running, success, failure\n"
        "  progress INTEGER NOT NULL DEFAULT 0,\n"
        "  record_num INTEGER NOT NULL DEFAULT 0,\n"
        "  total INTEGER NOT NULL DEFAULT 0,  -- min(export_size, N) at creation\n"
        "  failure_reason TEXT NOT NULL DEFAULT '',\n"
        "  file_id TEXT UNIQUE,         -- random; NULL until the file exists\n"
        "  file_name TEXT NOT NULL DEFAULT '',\n"
        "  file_size INTEGER NOT NULL DEFAULT 0,\n"
        "  file_deleted INTEGER NOT NULL DEFAULT 0,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  finished_ms INTEGER,\n"
        "  expires_ms INTEGER) WITHOUT ROWID;\n"
        "CREATE INDEX export_tasks_project ON export_tasks(project_id);\n"
        "CREATE INDEX export_tasks_status ON export_tasks(status);\n"
        "CREATE INDEX export_tasks_expires ON export_tasks(expires_ms) WHERE file_id IS NOT NULL;\n";
    char *sql = strdup(SQL);
    if (!sql)
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return sql;
}

/* Version 4: who runs a task. Every server process is an owner with a
 * lease it renews while it has tasks; a running task names its owner, and
 * only the tasks of an owner that is gone (lease expired, or its process
 * dead on this very node) are failed by another server (store_exports.h,
 * docs/design.md "Exports"). file_id is now set when the task is made, so
 * that the partial file of a live task can be told from a dead one's. */
char *store_schema_v4(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE export_owners (\n"
        "  id TEXT PRIMARY KEY,         -- random, one per server process\n"
        "  node TEXT NOT NULL,          -- host, boot and pid namespace: where pid means something\n"
        "  pid INTEGER NOT NULL,\n"
        "  started_ms INTEGER NOT NULL,\n"
        "  lease_ms INTEGER NOT NULL    -- alive until then, unless renewed\n"
        ") WITHOUT ROWID;\n"
        "ALTER TABLE export_tasks ADD COLUMN owner TEXT;  -- export_owners.id; NULL before v4\n";
    char *sql = strdup(SQL);
    if (!sql)
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return sql;
}

/* Export files in the database (store_exports.h "Files"): the bytes of a
 * file as chunks of at most STORE_EXPORT_CHUNK_BYTES, numbered from 0,
 * and a row in export_files once the chunks are all there, written in the
 * transaction that records the task's success, so a file is whole or
 * not served. Tables of their own, made only if absent: the step can run
 * again over itself. Files made before this version are in the export
 * directory; a server moves them in at start (export_workers.h). */
char *store_schema_export_files(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE IF NOT EXISTS export_file_chunks (\n"
        "  file_id TEXT NOT NULL,\n"
        "  seq INTEGER NOT NULL,\n"
        "  data BLOB NOT NULL,\n"
        "  PRIMARY KEY (file_id, seq)) WITHOUT ROWID;\n"
        "CREATE TABLE IF NOT EXISTS export_files (\n"
        "  file_id TEXT PRIMARY KEY,\n"
        "  size INTEGER NOT NULL,\n"
        "  chunks INTEGER NOT NULL) WITHOUT ROWID;\n";
    char *sql = strdup(SQL);
    if (!sql)
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return sql;
}
