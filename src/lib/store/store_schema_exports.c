/* store_schema_exports.c - schema version 3: export tasks (export.md).
 * A task keeps the request it was created with, so that a restart can
 * finish it or mark it failed with a reason, never leave it running. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_v3(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE export_tasks (\n"
        "  id TEXT PRIMARY KEY,\n"
        "  project_id TEXT NOT NULL,\n"
        "  user_id INTEGER,\n"
        "  report_type TEXT NOT NULL,\n"
        "  request TEXT NOT NULL,       -- the body and EP scope, as JSON\n"
        "  export_size INTEGER NOT NULL,\n"
        "  file_format TEXT NOT NULL,\n"
        "  status TEXT NOT NULL,        -- running, success, failure\n"
        "  progress INTEGER NOT NULL DEFAULT 0,\n"
        "  record_num INTEGER NOT NULL DEFAULT 0,\n"
        "  total INTEGER NOT NULL DEFAULT 0,\n"
        "  failure_reason TEXT,\n"
        "  file_id TEXT UNIQUE,\n"
        "  file_name TEXT,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  finished_ms INTEGER,\n"
        "  expires_ms INTEGER) WITHOUT ROWID;\n"
        "CREATE INDEX export_tasks_project ON export_tasks(project_id);\n";
    char *sql = strdup(SQL);
    if (!sql)
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return sql;
}
