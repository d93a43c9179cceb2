/* store_schema_auth.c - the auth epoch migration (store_auth_epoch,
 * store.h): one counter that moves whenever a stored principal may have
 * changed, so that imgsecd's token cache (src/server/auth_cache.h) can
 * keep its entries across commits that change none (a login, an ingest,
 * an export task). Triggers move it, not the store's functions, so that
 * every writer (the server, the command line, another process, a hand
 * with sqlite3) is seen: a token, a user, a grant or an access key
 * deleted or changed, a grant added. A new token or a new key does not
 * move it: nothing cached can name them yet. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_auth_epoch(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE auth_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);\n"
        "INSERT INTO auth_epoch (id, n) VALUES (1, 0);\n"
        "CREATE TRIGGER auth_epoch_token_gone AFTER DELETE ON tokens\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_token_changed AFTER UPDATE ON tokens\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_user_gone AFTER DELETE ON users\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_user_changed AFTER UPDATE ON users\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_grant_added AFTER INSERT ON grants\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_grant_gone AFTER DELETE ON grants\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_grant_changed AFTER UPDATE ON grants\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_key_gone AFTER DELETE ON access_keys\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n"
        "CREATE TRIGGER auth_epoch_key_changed AFTER UPDATE ON access_keys\n"
        "  BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}
