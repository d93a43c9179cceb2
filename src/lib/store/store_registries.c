/* store_registries.c - see store_registries.h. On SQLite and PostgreSQL
 * through the driver (db.h); instr() is SQLite's, and the PostgreSQL
 * driver gives the schema one (db_pg.c).
 *
 * Rare statements, prepared per call (as store_keys.c). Every string is
 * measured against its byte bound before it is bound; a list builds its
 * WHERE from fixed fragments with numbered parameters, never from the
 * caller's text. */
#include <string.h>

#include "imgsec/store_registries.h"
#include "store_int.h"

const char *const STORE_REGISTRY_TYPES[] = {"Harbor",        "Jfrog", "SwrPrivate", "SwrShared",
                                            "SwrEnterprise", "Other", NULL};

/* The string fields in column order of the INSERT and the UPDATE below. */
typedef struct {
    const char *column, *param; /* the column, the API field naming it in errors */
    size_t max_bytes;
} text_field;

static const text_field FIELDS[] = {
    {"name", "registry_name", REG_BYTES(REG_NAME_CHARS) - 1},
    {"type", "registry_type", 15},
    {"api_version", "api_version", 7},
    {"protocol", "protocol", 7},
    {"addr", "registry_addr", REG_BYTES(REG_ADDR_CHARS) - 1},
    {"username", "registry_username", REG_BYTES(REG_USER_CHARS) - 1},
    {"namespace", "namespace", REG_BYTES(REG_NAMESPACE_CHARS) - 1},
    {"cluster_id", "connect_cluster_id", REG_BYTES(REG_CLUSTER_CHARS) - 1},
    {"channel", "get_scan_image_channel", 7},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static void field_values(const store_registry_fields *f, const char *v[NFIELDS])
{
    v[0] = f->name, v[1] = f->type, v[2] = f->api_version, v[3] = f->protocol, v[4] = f->addr;
    v[5] = f->username, v[6] = f->namespace_, v[7] = f->cluster_id, v[8] = f->channel;
}

static int check_fields(const store_registry_fields *f, const char *v[NFIELDS], imgsec_err *err)
{
    field_values(f, v);
    for (size_t i = 0; i < NFIELDS; i++)
        if (v[i] && strlen(v[i]) > FIELDS[i].max_bytes)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s is too long",
                           FIELDS[i].param);
    if (f->sealed && (f->sealed_len <= KEYFILE_SEAL_OVERHEAD || f->sealed_len > REG_SEALED_MAX))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: registry_password is too long");
    return IMGSEC_OK;
}

/* Fails the open transaction with rc (already set in err). */
static int fail(store *st, db_stmt *s, int rc)
{
    if (s)
        db_finalize(s);
    store_rollback(st);
    return rc;
}

static int project_count(store *st, const char *project_id, int64_t *n, imgsec_err *err)
{
    db_stmt *s = store_dprepare(st, "SELECT count(*) FROM registries WHERE project_id = ?1",
                                    "counting registries", err);
    if (!s)
        return IMGSEC_EINTERNAL;
    db_bind_text(s, 1, project_id, -1);
    int rc = IMGSEC_OK;
    if (db_step(s) == DB_ROW)
        *n = db_column_int64(s, 0);
    else
        rc = store_derr(st, err, "counting registries");
    db_finalize(s);
    return rc;
}

int store_registry_add(store *st, const char *project_id, const store_registry_fields *f,
                       int64_t now_ms, int64_t *id_out, imgsec_err *err)
{
    const char *v[NFIELDS];
    int rc = check_fields(f, v, err);
    if (rc != IMGSEC_OK)
        return rc;
    if (!f->name || !f->type || !f->api_version || !f->protocol || !f->addr)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: a required field is missing");
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    int64_t n = 0;
    if ((rc = project_count(st, project_id, &n, err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    if (n >= REG_PER_PROJECT_MAX)
        return fail(st, NULL,
                    err_set(err, IMGSEC_EINVAL,
                            "invalid parameter: registry_name: the project already has %d "
                            "registries, the most it may have",
                            REG_PER_PROJECT_MAX));
    db_stmt *s = store_dprepare(
        st,
        "INSERT INTO registries (project_id, name, type, api_version, protocol, addr, username, "
        "namespace, cluster_id, channel, password_sealed, created_ms, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) RETURNING id",
        "adding a registry", err);
    if (!s)
        return fail(st, NULL, IMGSEC_EINTERNAL);
    db_bind_text(s, 1, project_id, -1);
    for (size_t i = 0; i < NFIELDS; i++)
        store_dbind_text(s, (int)i + 2, v[i]);
    if (f->sealed)
        db_bind_blob(s, 11, f->sealed, f->sealed_len);
    db_bind_int64(s, 12, now_ms);
    if (db_step(s) != DB_ROW) {
        rc = db_errclass_of(st->conn) == DB_EUNIQUE
                 ? err_set(err, IMGSEC_ECONFLICT,
                           "invalid parameter: registry_name: the project has a registry of "
                           "that name")
                 : store_derr(st, err, "adding a registry");
        return fail(st, s, rc);
    }
    *id_out = db_column_int64(s, 0);
    db_finalize(s);
    return store_commit(st, err);
}

int store_registry_update(store *st, const char *project_id, int64_t id,
                          const store_registry_fields *f, int64_t now_ms, imgsec_err *err)
{
    const char *v[NFIELDS];
    int rc = check_fields(f, v, err);
    if (rc != IMGSEC_OK)
        return rc;
    if (f->name || f->type)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s cannot be changed",
                       f->name ? "registry_name" : "registry_type");
    /* coalesce(?, column): an unbound (NULL) parameter keeps the column */
    db_stmt *s = NULL;
    if ((rc = store_write_begin(st, err)) != IMGSEC_OK)
        return rc;
    s = store_dprepare(st,
                      "UPDATE registries SET api_version = coalesce(?4, api_version), "
                      "protocol = coalesce(?5, protocol), addr = coalesce(?6, addr), "
                      "username = coalesce(?7, username), namespace = coalesce(?8, namespace), "
                      "cluster_id = coalesce(?9, cluster_id), channel = coalesce(?10, channel), "
                      "password_sealed = coalesce(?11, password_sealed), "
                      "status = 'accessing', fail_reason = '', updated_ms = ?12 "
                      "WHERE project_id = ?1 AND id = ?2",
                      "updating a registry", err);
    if (!s)
        return fail(st, NULL, IMGSEC_EINTERNAL);
    db_bind_text(s, 1, project_id, -1);
    db_bind_int64(s, 2, id);
    for (size_t i = 2; i < NFIELDS; i++)
        if (v[i])
            db_bind_text(s, (int)i + 2, v[i], -1);
    if (f->sealed)
        db_bind_blob(s, 11, f->sealed, f->sealed_len);
    db_bind_int64(s, 12, now_ms);
    if (db_step(s) != DB_DONE)
        return fail(st, s, store_derr(st, err, "updating a registry"));
    if (db_changes(st->conn) == 0)
        return fail(st, s,
                    err_set(err, IMGSEC_ENOTFOUND,
                            "invalid parameter: id: the project has no such registry"));
    db_finalize(s);
    return store_commit(st, err);
}

int store_registry_delete(store *st, const char *project_id, const int64_t *ids, size_t n,
                          const char *param, imgsec_err *err)
{
    if (n == 0 || n > REG_PER_PROJECT_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: ids must hold 1 to %d ids",
                       REG_PER_PROJECT_MAX);
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dprepare(st, "DELETE FROM registries WHERE project_id = ?1 AND id = ?2",
                                    "deleting a registry", err);
    if (!s)
        return fail(st, NULL, IMGSEC_EINTERNAL);
    db_bind_text(s, 1, project_id, -1);
    for (size_t i = 0; i < n; i++) {
        db_bind_int64(s, 2, ids[i]);
        if (db_step(s) != DB_DONE)
            return fail(st, s, store_derr(st, err, "deleting a registry"));
        if (db_changes(st->conn) == 0)
            return fail(st, s,
                        err_set(err, IMGSEC_ENOTFOUND,
                                "invalid parameter: %s: the project has no registry %lld",
                                param, (long long)ids[i]));
        db_reset(s);
    }
    db_finalize(s);
    return store_commit(st, err);
}

/* The WHERE of a list or count: fixed text, parameters ?1 (project) to ?6.
 * Each optional parameter is used first where its type shows (PostgreSQL
 * deduces it from there), then tested for NULL: "x = ?N OR ?N IS NULL". */
static const char LIST_WHERE[] =
    " FROM registries WHERE project_id = ?1"
    " AND (instr(name, ?2) > 0 OR ?2 IS NULL)"
    " AND (id = ?3 OR ?3 IS NULL)"
    " AND (?4 = 0 OR ((?4 >> (CASE type WHEN 'Harbor' THEN 0 WHEN 'Jfrog' THEN 1"
    " WHEN 'SwrPrivate' THEN 2 WHEN 'SwrShared' THEN 3 WHEN 'SwrEnterprise' THEN 4 ELSE 5 END))"
    " & 1) = 1)"
    " AND (instr(addr, ?5) > 0 OR ?5 IS NULL)"
    " AND (status = ?6 OR ?6 IS NULL)";

static void bind_filter(db_stmt *s, const char *project_id, const store_registry_filter *f)
{
    db_bind_text(s, 1, project_id, -1);
    if (f->name)
        db_bind_text(s, 2, f->name, -1);
    if (f->id > 0)
        db_bind_int64(s, 3, f->id);
    db_bind_int64(s, 4, (int64_t)f->type_mask);
    if (f->addr)
        db_bind_text(s, 5, f->addr, -1);
    if (f->status)
        db_bind_text(s, 6, f->status, -1);
}

int store_registry_list(store *st, const char *project_id, const store_registry_filter *filter,
                        int64_t offset, int64_t limit,
                        void (*cb)(const store_registry *r, void *arg), void *arg,
                        int64_t *total, imgsec_err *err)
{
    char sql[1536];
    int rc = store_read_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    snprintf(sql, sizeof sql, "SELECT count(*)%s", LIST_WHERE);
    db_stmt *s = store_dprepare(st, sql, "counting registries", err);
    if (!s)
        return fail(st, NULL, IMGSEC_EINTERNAL);
    bind_filter(s, project_id, filter);
    if (db_step(s) != DB_ROW)
        return fail(st, s, store_derr(st, err, "counting registries"));
    *total = db_column_int64(s, 0);
    db_finalize(s);
    snprintf(sql, sizeof sql,
             "SELECT id, name, type, api_version, protocol, addr, username, namespace, "
             "cluster_id, channel, status, fail_reason, images_num, latest_sync_ms, created_ms, "
             "updated_ms, CASE WHEN password_sealed IS NULL THEN 0 ELSE 1 END%s "
             "ORDER BY id LIMIT ?7 OFFSET ?8",
             LIST_WHERE);
    if (!(s = store_dprepare(st, sql, "listing registries", err)))
        return fail(st, NULL, IMGSEC_EINTERNAL);
    bind_filter(s, project_id, filter);
    db_bind_int64(s, 7, limit);
    db_bind_int64(s, 8, offset);
    int step;
    while ((step = db_step(s)) == DB_ROW) {
        store_registry r;
        memset(&r, 0, sizeof r);
        r.id = db_column_int64(s, 0);
        store_dcolumn_copy(r.name, sizeof r.name, s, 1);
        store_dcolumn_copy(r.type, sizeof r.type, s, 2);
        store_dcolumn_copy(r.api_version, sizeof r.api_version, s, 3);
        store_dcolumn_copy(r.protocol, sizeof r.protocol, s, 4);
        store_dcolumn_copy(r.addr, sizeof r.addr, s, 5);
        store_dcolumn_copy(r.username, sizeof r.username, s, 6);
        store_dcolumn_copy(r.namespace_, sizeof r.namespace_, s, 7);
        store_dcolumn_copy(r.cluster_id, sizeof r.cluster_id, s, 8);
        store_dcolumn_copy(r.channel, sizeof r.channel, s, 9);
        store_dcolumn_copy(r.status, sizeof r.status, s, 10);
        store_dcolumn_copy(r.fail_reason, sizeof r.fail_reason, s, 11);
        r.images_num = db_column_int64(s, 12);
        r.latest_sync_ms = db_column_int64(s, 13);
        r.created_ms = db_column_int64(s, 14);
        r.updated_ms = db_column_int64(s, 15);
        r.has_password = (int)db_column_int64(s, 16) != 0;
        cb(&r, arg);
    }
    if (step != DB_DONE)
        return fail(st, s, store_derr(st, err, "listing registries"));
    db_finalize(s);
    store_rollback(st); /* ends the read transaction */
    return IMGSEC_OK;
}

int store_registry_counts(store *st, const char *project_id, unsigned type_mask,
                          int64_t *success, int64_t *fail_n, imgsec_err *err)
{
    store_registry_filter f = {.type_mask = type_mask};
    char sql[1536];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(CASE status WHEN 'success' THEN 1 ELSE 0 END), 0), "
             "coalesce(sum(CASE status WHEN 'fail' THEN 1 ELSE 0 END), 0)%s",
             LIST_WHERE);
    db_stmt *s = store_dprepare(st, sql, "counting registries", err);
    if (!s)
        return store_drc(err);
    bind_filter(s, project_id, &f);
    int rc = IMGSEC_OK;
    if (db_step(s) == DB_ROW) {
        *success = db_column_int64(s, 0);
        *fail_n = db_column_int64(s, 1);
    } else {
        rc = store_derr(st, err, "counting registries");
    }
    db_finalize(s);
    return rc;
}
