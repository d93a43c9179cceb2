/* store_schema_keys.c - schema version 2: access keys for AK/SK signatures
 * (auth.md). The secret key is stored only sealed (libsodium secretbox
 * under the server's key file), never in plain text. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_v2(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE access_keys (\n"
        "  ak TEXT PRIMARY KEY,\n"
        "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
        "  sk_sealed BLOB NOT NULL, -- nonce || secretbox(sk)\n"
        "  created_ms INTEGER NOT NULL) WITHOUT ROWID;\n"
        "CREATE INDEX access_keys_user ON access_keys(user_id);\n";
    char *sql = strdup(SQL);
    if (!sql)
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return sql;
}
