/* store_schema_registries.c - the registries migration (store_registries.h):
 * one table, a project's registries, their names unique per project. The
 * login password is stored only sealed (nonce || secretbox under the
 * server's key file, keyfile.h), like access-key secrets. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_registries(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE registries (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  project_id TEXT NOT NULL,\n"
        "  name TEXT NOT NULL,\n"
        "  type TEXT NOT NULL,\n"
        "  api_version TEXT NOT NULL,\n"
        "  protocol TEXT NOT NULL,\n"
        "  addr TEXT NOT NULL,\n"
        "  username TEXT NOT NULL DEFAULT '',\n"
        "  password_sealed BLOB, -- nonce || secretbox(password); NULL: none\n"
        "  namespace TEXT NOT NULL DEFAULT '',\n"
        "  cluster_id TEXT NOT NULL DEFAULT '',\n"
        "  channel TEXT NOT NULL DEFAULT '',\n"
        "  status TEXT NOT NULL DEFAULT 'accessing',\n"
        "  fail_reason TEXT NOT NULL DEFAULT '',\n"
        "  images_num INTEGER NOT NULL DEFAULT 0,\n"
        "  latest_sync_ms INTEGER NOT NULL DEFAULT 0,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  updated_ms INTEGER NOT NULL,\n"
        "  UNIQUE (project_id, name));\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}
