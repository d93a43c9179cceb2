/* store_keys.c - see store_keys.h. On SQLite and PostgreSQL through the
 * driver (db.h).
 *
 * Access-key statements are few and rare next to the ingest path, so they
 * are prepared per call here rather than joining the statement table of
 * store_int.h: the key module stays in one file of its own. The one
 * exception is the lookup (STMT_KEY_LOOKUP), which runs on every signed
 * request.
 */
#include <sodium.h>
#include <string.h>

#include "imgsec/store_keys.h"
#include "store_int.h"

static const char ALNUM_UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void random_string(char *out, size_t n, const char *alphabet, uint32_t size)
{
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[randombytes_uniform(size)]; /* uniform: no modulo bias */
    out[n] = '\0';
}

void store_key_generate(char ak[STORE_AK_LEN + 1], char sk[STORE_SK_LEN + 1])
{
    random_string(ak, STORE_AK_LEN, ALNUM_UPPER, (uint32_t)strlen(ALNUM_UPPER));
    random_string(sk, STORE_SK_LEN, ALNUM, (uint32_t)strlen(ALNUM));
}

bool store_key_ak_valid(const char *s)
{
    if (!s || strlen(s) != STORE_AK_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

int store_key_insert(store *st, const char *ak, int64_t user_id, const unsigned char *sealed,
                     size_t sealed_len, int64_t created_ms, imgsec_err *err)
{
    if (!store_key_ak_valid(ak) || !sealed || sealed_len == 0 || sealed_len > STORE_SK_SEALED_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: access key");
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dprepare(st,
                                "INSERT INTO access_keys (ak, user_id, sk_sealed, created_ms) "
                                "VALUES (?1, ?2, ?3, ?4)",
                                "adding an access key", err);
    if (!s) {
        store_rollback(st);
        return IMGSEC_EINTERNAL;
    }
    store_dbind_text(s, 1, ak);
    db_bind_int64(s, 2, user_id);
    db_bind_blob(s, 3, sealed, sealed_len);
    db_bind_int64(s, 4, created_ms);
    if (db_step(s) != DB_DONE) {
        rc = db_errclass_of(st->conn) == DB_EUNIQUE ? err_set(err, IMGSEC_ECONFLICT, "access key exists")
                                                     : store_derr(st, err, "adding an access key");
        db_finalize(s);
        store_rollback(st);
        return rc;
    }
    db_finalize(s);
    return store_commit(st, err);
}

int store_key_lookup(store *st, const char *ak, store_user *u, unsigned char *sealed,
                     size_t *sealed_len, imgsec_err *err)
{
    if (!store_key_ak_valid(ak))
        return err_set(err, IMGSEC_EAUTH, "unknown access key");
    /* Cached, not prepared per call: this runs on every signed request. */
    db_stmt *s = store_dstmt(st, STMT_KEY_LOOKUP, err);
    if (!s)
        return store_drc(err);
    store_dbind_text(s, 1, ak);
    int rc, step = db_step(s);
    if (step == DB_ROW) {
        size_t n = db_column_bytes(s, 3);
        const void *blob = db_column_blob(s, 3);
        if (n == 0 || n > STORE_SK_SEALED_MAX || !blob) {
            rc = err_set(err, IMGSEC_EINTERNAL, "store: a sealed secret key has a bad size");
        } else {
            memset(u, 0, sizeof *u);
            u->id = db_column_int64(s, 0);
            store_dcolumn_copy(u->domain, sizeof u->domain, s, 1);
            store_dcolumn_copy(u->name, sizeof u->name, s, 2);
            memcpy(sealed, blob, n);
            *sealed_len = n;
            rc = IMGSEC_OK;
        }
    } else if (step == DB_DONE) {
        rc = err_set(err, IMGSEC_EAUTH, "unknown access key");
    } else {
        rc = store_derr(st, err, "looking up an access key");
    }
    db_reset(s);
    return rc;
}

int store_key_delete(store *st, const char *ak, imgsec_err *err)
{
    if (!store_key_ak_valid(ak))
        return err_set(err, IMGSEC_ENOTFOUND, "access key not found");
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dprepare(st, "DELETE FROM access_keys WHERE ak = ?1", "deleting an access key", err);
    if (!s) {
        store_rollback(st);
        return IMGSEC_EINTERNAL;
    }
    store_dbind_text(s, 1, ak);
    if (db_step(s) != DB_DONE)
        rc = store_derr(st, err, "deleting an access key");
    else if (db_changes(st->conn) == 0)
        rc = err_set(err, IMGSEC_ENOTFOUND, "access key not found");
    db_finalize(s);
    if (rc != IMGSEC_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

int store_key_list(store *st, void (*cb)(const store_key_info *k, void *arg), void *arg,
                   imgsec_err *err)
{
    db_stmt *s = store_dprepare(st,
                                "SELECT k.ak, u.id, u.domain, u.name, k.created_ms FROM access_keys k "
                                "JOIN users u ON u.id = k.user_id "
                                "ORDER BY u.domain, u.name, k.created_ms, k.ak",
                                "listing access keys", err);
    if (!s)
        return IMGSEC_EINTERNAL;
    int step, rc = IMGSEC_OK;
    while ((step = db_step(s)) == DB_ROW) {
        store_key_info k;
        memset(&k, 0, sizeof k);
        store_dcolumn_copy(k.ak, sizeof k.ak, s, 0);
        k.user.id = db_column_int64(s, 1);
        store_dcolumn_copy(k.user.domain, sizeof k.user.domain, s, 2);
        store_dcolumn_copy(k.user.name, sizeof k.user.name, s, 3);
        k.created_ms = db_column_int64(s, 4);
        cb(&k, arg);
    }
    if (step != DB_DONE)
        rc = store_derr(st, err, "listing access keys");
    db_finalize(s);
    return rc;
}
