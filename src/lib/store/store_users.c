/* store_users.c - users, grants and tokens (auth.md), on SQLite and
 * PostgreSQL through the driver (db.h).
 *
 * A token row names a user and a project; what it may do is read through
 * the user's *current* grant on that project at every lookup (a join), so
 * deleting the user or the grant kills its tokens at once, and changing a
 * grant's role or EPs applies to tokens already issued. Revoking a grant
 * also deletes its tokens, so granting the project again later does not
 * bring old tokens back.
 *
 * In the grants table the EP list "all" is stored as '*', which no EP id
 * can spell (an EP may well be named "all").
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "imgsec/util.h"
#include "store_int.h"

#define EPS_ALL_SQL "*"

static const char *const ROLE_NAMES[ROLE_COUNT] = {"reader", "writer", "admin"};

int role_parse(const char *s)
{
    if (!s)
        return -1;
    for (int r = 0; r < ROLE_COUNT; r++)
        if (strcmp(ROLE_NAMES[r], s) == 0)
            return r;
    return -1;
}

const char *role_name(role r)
{
    return (unsigned)r < ROLE_COUNT ? ROLE_NAMES[r] : "unknown";
}

/* Does the comma list contain exactly item? */
static bool list_has(const char *list, const char *item, size_t n)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, item, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

bool store_grant_covers_ep(const store_grant *g, const char *ep)
{
    if (!g || !ep || !*ep)
        return false;
    if (g->role == ROLE_ADMIN || g->eps_all)
        return true;
    return list_has(g->eps, ep, strlen(ep));
}

/* ---- validation ---- */

/* 1..STORE_NAME_MAX bytes of valid UTF-8 without control characters. */
static bool name_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > STORE_NAME_MAX)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t len;
        unsigned cp;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        p += len;
    }
    return true;
}

static int check_names(const char *domain, const char *name, imgsec_err *err)
{
    if (!name_valid(domain))
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: domain must be 1-%d characters without control characters",
                       STORE_NAME_MAX);
    if (!name_valid(name))
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: name must be 1-%d characters without control characters",
                       STORE_NAME_MAX);
    return IMGSEC_OK;
}

static int check_grant(const store_grant *g, imgsec_err *err)
{
    if (!g)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: grant");
    if (!memchr(g->project_id, '\0', sizeof g->project_id) || !model_scope_id_valid(g->project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project must be 1-%d characters of "
                       "A-Z a-z 0-9 _ -", MODEL_PROJECT_ID_MAX);
    if ((unsigned)g->role >= ROLE_COUNT)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: role must be one of reader, writer, admin");
    if (g->eps_all)
        return IMGSEC_OK;
    if (!memchr(g->eps, '\0', sizeof g->eps) || !g->eps[0])
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: eps must be 'all' or a list of "
                       "enterprise project ids");
    const char *p = g->eps;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char ep[MODEL_PROJECT_ID_MAX + 1];
        if (len == 0 || len > MODEL_PROJECT_ID_MAX)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: eps has an empty or too long "
                           "enterprise project id");
        memcpy(ep, p, len);
        ep[len] = '\0';
        if (!model_scope_id_valid(ep))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: eps: '%s' is not a valid "
                           "enterprise project id", ep);
        if (!end)
            break;
        p = end + 1;
    }
    return IMGSEC_OK;
}

/* Fills g from columns project_id, role, eps starting at col. */
static int grant_from_row(db_stmt *s, int col, store_grant *g, imgsec_err *err)
{
    memset(g, 0, sizeof *g);
    int r = role_parse(db_column_text(s, col + 1));
    const char *eps = db_column_text(s, col + 2);
    if (r < 0 || !eps)
        return err_set(err, IMGSEC_EINTERNAL, "store: a grant has a bad role or EP list");
    store_dcolumn_copy(g->project_id, sizeof g->project_id, s, col);
    g->role = (role)r;
    g->eps_all = strcmp(eps, EPS_ALL_SQL) == 0;
    if (!g->eps_all)
        snprintf(g->eps, sizeof g->eps, "%s", eps);
    return IMGSEC_OK;
}

/* The id of (domain, name), in the caller's transaction; *id 0 and
 * IMGSEC_OK when there is none and missing_ok. */
static int user_find(store *st, const char *domain, const char *name, bool missing_ok, int64_t *id,
                     imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_USER_ID, err);
    if (!s)
        return store_drc(err);
    store_dbind_text(s, 1, domain);
    store_dbind_text(s, 2, name);
    int rc = db_step(s);
    *id = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (rc == DB_ROW || (rc == DB_DONE && missing_ok))
        return IMGSEC_OK;
    if (rc == DB_DONE)
        return err_set(err, IMGSEC_ENOTFOUND, "user %s/%s not found", domain, name);
    return store_derr(st, err, "looking up a user");
}

static int user_id(store *st, const char *domain, const char *name, int64_t *id, imgsec_err *err)
{
    return user_find(st, domain, name, false, id, err);
}

static int grant_put(store *st, int64_t uid, const store_grant *g, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_GRANT_UPSERT, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, uid);
    store_dbind_text(s, 2, g->project_id);
    store_dbind_text(s, 3, role_name(g->role));
    store_dbind_text(s, 4, g->eps_all ? EPS_ALL_SQL : g->eps);
    return store_drun(st, s, "storing a grant", err);
}

/* ---- users ---- */

int store_user_add(store *st, const char *domain, const char *name, const char *pw_hash,
                   const store_grant *grant, imgsec_err *err)
{
    int rc;
    int64_t uid;
    if ((rc = check_names(domain, name, err)) != IMGSEC_OK || (rc = check_grant(grant, err)) != IMGSEC_OK)
        return rc;
    if (!pw_hash || !*pw_hash)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: password hash");
    db_stmt *ins = store_dstmt(st, STMT_USER_INSERT, err);
    if (!ins)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    /* Looked up first (writers take turns, so nobody adds it meanwhile):
     * a PostgreSQL identity spends a value on an INSERT that fails, and
     * user ids go 1, 2, 3 on both engines. */
    if ((rc = user_find(st, domain, name, true, &uid, err)) != IMGSEC_OK)
        goto fail;
    if (uid) {
        rc = err_set(err, IMGSEC_ECONFLICT, "user %s/%s already exists", domain, name);
        goto fail;
    }
    store_dbind_text(ins, 1, domain);
    store_dbind_text(ins, 2, name);
    store_dbind_text(ins, 3, pw_hash);
    db_bind_int64(ins, 4, util_now_ms());
    if (db_step(ins) != DB_ROW) {
        if (db_errclass_of(st->conn) == DB_EUNIQUE)
            rc = err_set(err, IMGSEC_ECONFLICT, "user %s/%s already exists", domain, name);
        else
            rc = store_derr(st, err, "adding a user");
        goto fail;
    }
    uid = db_column_int64(ins, 0);
    db_reset(ins);
    if ((rc = grant_put(st, uid, grant, err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_user_grant(store *st, const char *domain, const char *name, const store_grant *grant,
                     imgsec_err *err)
{
    int rc;
    int64_t uid;
    if ((rc = check_names(domain, name, err)) != IMGSEC_OK || (rc = check_grant(grant, err)) != IMGSEC_OK)
        return rc;
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = user_id(st, domain, name, &uid, err)) != IMGSEC_OK ||
        (rc = grant_put(st, uid, grant, err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_user_revoke(store *st, const char *domain, const char *name, const char *project_id,
                      imgsec_err *err)
{
    int rc;
    int64_t uid;
    if ((rc = check_names(domain, name, err)) != IMGSEC_OK)
        return rc;
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project");
    db_stmt *del = store_dstmt(st, STMT_GRANT_DELETE, err);
    db_stmt *tok = store_dstmt(st, STMT_TOKEN_DELETE_GRANT, err);
    if (!del || !tok)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = user_id(st, domain, name, &uid, err)) != IMGSEC_OK)
        goto fail;
    db_bind_int64(del, 1, uid);
    store_dbind_text(del, 2, project_id);
    if ((rc = store_drun(st, del, "revoking a grant", err)) != IMGSEC_OK)
        goto fail;
    if (db_changes(st->conn) == 0) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "user %s/%s has no grant on project %s", domain, name,
                     project_id);
        goto fail;
    }
    db_bind_int64(tok, 1, uid);
    store_dbind_text(tok, 2, project_id);
    if ((rc = store_drun(st, tok, "revoking tokens", err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_user_del(store *st, const char *domain, const char *name, imgsec_err *err)
{
    int rc;
    int64_t uid;
    if ((rc = check_names(domain, name, err)) != IMGSEC_OK)
        return rc;
    db_stmt *del = store_dstmt(st, STMT_USER_DELETE, err);
    if (!del)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    if ((rc = user_id(st, domain, name, &uid, err)) != IMGSEC_OK)
        goto fail;
    db_bind_int64(del, 1, uid);
    if ((rc = store_drun(st, del, "deleting a user", err)) != IMGSEC_OK)
        goto fail;
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_user_list(store *st, void (*cb)(const store_user *u, const store_grant *g, void *arg),
                    void *arg, imgsec_err *err)
{
    int rc = IMGSEC_OK, step;
    db_stmt *s = NULL;
    /* A statement of its own, not the cached one: cb may call the store
     * (e.g. the CLI deleting while listing), which resets cached ones.
     * PostgreSQL has read the whole result at the first step. */
    if (!(s = store_dprepare(st, st->sql[STMT_USER_LIST], "listing users", err)))
        return store_drc(err);
    while ((step = db_step(s)) == DB_ROW) {
        store_user u = {0};
        store_grant g;
        u.id = db_column_int64(s, 0);
        store_dcolumn_copy(u.domain, sizeof u.domain, s, 1);
        store_dcolumn_copy(u.name, sizeof u.name, s, 2);
        if (db_column_type(s, 3) == DB_NULL) {
            cb(&u, NULL, arg);
            continue;
        }
        if ((rc = grant_from_row(s, 3, &g, err)) != IMGSEC_OK)
            break;
        cb(&u, &g, arg);
    }
    if (rc == IMGSEC_OK && step != DB_DONE)
        rc = store_derr(st, err, "listing users");
    db_finalize(s);
    return rc;
}

int store_user_get(store *st, const char *domain, const char *name, store_user *u, char *pw_hash,
                   size_t pw_hash_size, imgsec_err *err)
{
    int rc;
    if ((rc = check_names(domain, name, err)) != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dstmt(st, STMT_USER_GET, err);
    if (!s)
        return store_drc(err);
    db_reset(s);
    store_dbind_text(s, 1, domain);
    store_dbind_text(s, 2, name);
    int step = db_step(s);
    if (step == DB_ROW) {
        if (pw_hash && pw_hash_size) {
            if (db_column_bytes(s, 3) >= pw_hash_size) {
                db_reset(s);
                return err_set(err, IMGSEC_EINTERNAL, "store: password hash buffer too small");
            }
            store_dcolumn_copy(pw_hash, pw_hash_size, s, 3);
        }
        if (u) {
            memset(u, 0, sizeof *u);
            u->id = db_column_int64(s, 0);
            store_dcolumn_copy(u->domain, sizeof u->domain, s, 1);
            store_dcolumn_copy(u->name, sizeof u->name, s, 2);
        }
        rc = IMGSEC_OK;
    } else if (step == DB_DONE) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "user %s/%s not found", domain, name);
    } else {
        rc = store_derr(st, err, "looking up a user");
    }
    db_reset(s);
    return rc;
}

int store_grant_get(store *st, int64_t user_id_, const char *project_id, store_grant *g,
                    imgsec_err *err)
{
    int rc;
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project");
    db_stmt *s = store_dstmt(st, STMT_GRANT_GET, err);
    if (!s)
        return store_drc(err);
    db_reset(s);
    db_bind_int64(s, 1, user_id_);
    store_dbind_text(s, 2, project_id);
    int step = db_step(s);
    if (step == DB_ROW)
        rc = grant_from_row(s, 0, g, err);
    else if (step == DB_DONE)
        rc = err_set(err, IMGSEC_ENOTFOUND, "no grant on project %s", project_id);
    else
        rc = store_derr(st, err, "reading a grant");
    db_reset(s);
    return rc;
}

/* ---- tokens ---- */

int store_token_insert(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t user_id_,
                       const char *project_id, int64_t issued_at_ms, int64_t expires_at_ms,
                       imgsec_err *err)
{
    int rc;
    if (!hash)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: token");
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project");
    db_stmt *s = store_dstmt(st, STMT_TOKEN_INSERT, err);
    if (!s)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    db_bind_blob(s, 1, hash, STORE_TOKEN_HASH_BYTES);
    db_bind_int64(s, 2, user_id_);
    store_dbind_text(s, 3, project_id);
    db_bind_int64(s, 4, issued_at_ms);
    db_bind_int64(s, 5, expires_at_ms);
    if (db_step(s) != DB_DONE) {
        db_errclass cls = db_errclass_of(st->conn);
        if (cls == DB_EFOREIGN)
            rc = err_set(err, IMGSEC_ENOTFOUND, "user not found");
        else if (cls == DB_EUNIQUE)
            rc = err_set(err, IMGSEC_ECONFLICT, "token already exists");
        else
            rc = store_derr(st, err, "storing a token");
        goto fail;
    }
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int store_token_lookup(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES], int64_t now_ms,
                       store_principal *p, imgsec_err *err)
{
    int rc;
    if (!hash)
        return err_set(err, IMGSEC_EAUTH, "invalid token");
    db_stmt *s = store_dstmt(st, STMT_TOKEN_LOOKUP, err);
    if (!s)
        return store_drc(err);
    db_reset(s);
    db_bind_blob(s, 1, hash, STORE_TOKEN_HASH_BYTES);
    db_bind_int64(s, 2, now_ms);
    int step = db_step(s);
    if (step == DB_ROW) {
        memset(p, 0, sizeof *p);
        p->user.id = db_column_int64(s, 0);
        store_dcolumn_copy(p->user.domain, sizeof p->user.domain, s, 1);
        store_dcolumn_copy(p->user.name, sizeof p->user.name, s, 2);
        rc = grant_from_row(s, 3, &p->grant, err);
        p->expires_at_ms = db_column_int64(s, 6);
    } else if (step == DB_DONE) {
        rc = err_set(err, IMGSEC_EAUTH, "invalid token");
    } else {
        rc = store_derr(st, err, "looking up a token");
    }
    db_reset(s);
    return rc;
}

int store_auth_epoch(store *st, int64_t *out, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_AUTH_EPOCH, err);
    if (!s)
        return store_drc(err);
    db_reset(s);
    int rc = IMGSEC_OK;
    if (db_step(s) == DB_ROW)
        *out = db_column_int64(s, 0);
    else
        rc = store_derr(st, err, "reading the auth epoch");
    db_reset(s);
    return rc;
}

int store_token_delete(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES], imgsec_err *err)
{
    int rc;
    if (!hash)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: token");
    db_stmt *s = store_dstmt(st, STMT_TOKEN_DELETE, err);
    if (!s)
        return store_drc(err);
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    db_bind_blob(s, 1, hash, STORE_TOKEN_HASH_BYTES);
    if ((rc = store_drun(st, s, "revoking a token", err)) != IMGSEC_OK)
        goto fail;
    if (db_changes(st->conn) == 0) {
        rc = err_set(err, IMGSEC_ENOTFOUND, "token not found");
        goto fail;
    }
    return store_commit(st, err);
fail:
    store_rollback(st);
    return rc;
}

int64_t store_token_purge(store *st, int64_t now_ms, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_TOKEN_PURGE, err);
    if (!s)
        return -1;
    if (store_write_begin(st, err) != IMGSEC_OK)
        return -1;
    db_bind_int64(s, 1, now_ms);
    if (store_drun(st, s, "purging tokens", err) != IMGSEC_OK) {
        store_rollback(st);
        return -1;
    }
    int64_t n = db_changes(st->conn);
    if (store_commit(st, err) != IMGSEC_OK)
        return -1;
    return n;
}
