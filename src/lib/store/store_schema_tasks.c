/* store_schema_tasks.c - the scan tasks migration (store_tasks.h): a task
 * row per CreateManualImageScanTask / CreateImageSynchronizeTask and an
 * item row per image (or registry) of it, with its state and reason. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_tasks(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE image_tasks (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  project_id TEXT NOT NULL,\n"
        "  kind TEXT NOT NULL,            -- image_scan, image_sync\n"
        "  task_type TEXT NOT NULL,       -- manual, manualSync\n"
        "  status TEXT NOT NULL DEFAULT 'running', -- running, finished, stopped\n"
        "  scan_scope INTEGER NOT NULL DEFAULT 0,\n"
        "  rate_limit INTEGER NOT NULL DEFAULT 0,\n"
        "  is_all INTEGER NOT NULL DEFAULT 0,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  begin_ms INTEGER NOT NULL DEFAULT 0,\n"
        "  end_ms INTEGER NOT NULL DEFAULT 0);\n"
        "CREATE INDEX image_tasks_project ON image_tasks (project_id, kind, id);\n"
        "CREATE TABLE image_task_items (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  task_id INTEGER NOT NULL REFERENCES image_tasks (id) ON DELETE CASCADE,\n"
        "  registry_id INTEGER NOT NULL,\n"
        "  namespace TEXT NOT NULL DEFAULT '',\n"
        "  image_name TEXT NOT NULL DEFAULT '',\n"
        "  image_version TEXT NOT NULL DEFAULT '',\n"
        "  state TEXT NOT NULL DEFAULT 'waiting', -- waiting, running, success, failed, stopped\n"
        "  risky INTEGER NOT NULL DEFAULT 0,\n"
        "  failed_reason TEXT NOT NULL DEFAULT '',\n"
        "  UNIQUE (task_id, registry_id, namespace, image_name, image_version));\n"
        "CREATE INDEX image_task_items_state ON image_task_items (state, id);\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

/* Claims and leases (store_tasks.h): who runs an item, until when, and
 * how many times it was taken over from a server that stopped. A table of
 * its own, made only if absent, so the step can run again over itself (a
 * file set back to an older version by hand). An item running without a
 * row (claimed before this version) has no owner: any claim takes it. */
char *store_schema_task_leases(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE IF NOT EXISTS image_task_claims (\n"
        "  item_id INTEGER NOT NULL PRIMARY KEY REFERENCES image_task_items (id) ON DELETE CASCADE,\n"
        "  owner TEXT NOT NULL,              -- the server running it ('' after a resume)\n"
        "  lease_ms INTEGER NOT NULL,        -- its lease ends then (wall clock)\n"
        "  takeovers INTEGER NOT NULL DEFAULT 0);\n"
        "CREATE INDEX IF NOT EXISTS image_task_claims_owner ON image_task_claims (owner);\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}
