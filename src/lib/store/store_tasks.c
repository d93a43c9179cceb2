/* store_tasks.c - see store_tasks.h. On SQLite and PostgreSQL through the
 * driver (db.h), but for what touches images (store_images.c is not on
 * the driver yet): a scan claim marks its image scanning and a sync
 * stores images, which fail on PostgreSQL until then. An optional filter
 * parameter is used first where its type shows ("x = ?N OR ?N IS NULL"),
 * as PostgreSQL infers a parameter's type from its first use.
 *
 * Rare statements, prepared per call (as store_registries.c). A registry
 * image is joined to its registry by images.instance_id = the registry's
 * id in decimal, and its image_type must be the one the registry's type
 * gives (TYPE_CASE), so an image ingested by hand with the same instance
 * id is not taken for a registry's. Claims, settlements and stops are
 * each one write transaction; a task finishes in the transaction that
 * settles its last item (FINISH).
 *
 * Claims carry an owner and a lease (store_tasks.h "Claims and leases"):
 * the claim's SELECT takes waiting items and running ones whose lease ran
 * out, and on PostgreSQL locks the row it takes with FOR UPDATE SKIP
 * LOCKED. The claim also marks the image scanning and appends to the
 * change log, so it runs in a store write transaction, which on
 * PostgreSQL also serializes claims (the advisory lock of db_begin_write);
 * SKIP LOCKED keeps them apart without it once the change log no longer
 * needs that lock. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/store_tasks.h"
#include "store_int.h"

/* registry type -> image_type, the one table of it (SQL below follows it) */
static const char *const TYPE_MAP[][2] = {
    {"Harbor", "harbor"},           {"Jfrog", "jfrog"},
    {"SwrPrivate", "private_image"}, {"SwrShared", "shared_image"},
    {"SwrEnterprise", "instance_image"}, {"Other", "private_image"},
};

const char *registry_image_type(const char *registry_type)
{
    for (size_t i = 0; i < sizeof TYPE_MAP / sizeof TYPE_MAP[0]; i++)
        if (strcmp(TYPE_MAP[i][0], registry_type) == 0)
            return TYPE_MAP[i][1];
    return "private_image";
}

#define TYPE_CASE                                                                              \
    "(CASE r.type WHEN 'Harbor' THEN 'harbor' WHEN 'Jfrog' THEN 'jfrog' WHEN 'SwrShared' THEN " \
    "'shared_image' WHEN 'SwrEnterprise' THEN 'instance_image' ELSE 'private_image' END)"

/* The registry images of a project (?2), with optional filters ?3..?7. */
#define REGISTRY_IMAGES                                                                        \
    " FROM images i JOIN registries r ON r.project_id = i.project_id AND i.instance_id = "     \
    "CAST(r.id AS TEXT) AND i.image_type = " TYPE_CASE " AND i.cicd_name = ''"                 \
    " WHERE i.project_id = ?2 AND (i.namespace = ?3 OR ?3 IS NULL)"                           \
    " AND (i.image_name = ?4 OR ?4 IS NULL) AND (i.image_version = ?5 OR ?5 IS NULL)"         \
    " AND (i.image_type = ?6 OR ?6 IS NULL) AND (r.id = ?7 OR ?7 IS NULL)"                    \
    " AND (i.id = ?8 OR ?8 IS NULL)"

#define FINISH                                                                                 \
    "UPDATE image_tasks SET status = 'finished', end_ms = ?2 WHERE id = ?1 AND status = "     \
    "'running' AND NOT EXISTS (SELECT 1 FROM image_task_items WHERE task_id = ?1 AND state IN " \
    "('waiting', 'running'))"

static int fail(store *st, db_stmt *s, int rc)
{
    if (s)
        db_finalize(s);
    store_rollback(st);
    return rc;
}

/* Runs sql once with (?1 int, ?2 int): a statement of no result. */
static int run2(store *st, const char *sql, int64_t a, int64_t b, const char *what,
                imgsec_err *err)
{
    db_stmt *s = store_dprepare(st, sql, what, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, a);
    db_bind_int64(s, 2, b);
    int rc = db_step(s) == DB_DONE ? IMGSEC_OK : store_derr(st, err, what);
    db_finalize(s);
    return rc;
}

static int count_of(store *st, const char *sql, const char *text, int64_t num, int64_t *n,
                    imgsec_err *err)
{
    db_stmt *s = store_dprepare(st, sql, "counting tasks", err);
    if (!s)
        return store_drc(err);
    if (text)
        db_bind_text(s, 1, text, -1);
    else
        db_bind_int64(s, 1, num);
    int rc = IMGSEC_OK;
    if (db_step(s) == DB_ROW)
        *n = db_column_int64(s, 0);
    else
        rc = store_derr(st, err, "counting tasks");
    db_finalize(s);
    return rc;
}

/* Opens the write transaction and inserts the task row. */
static int task_begin(store *st, const char *project_id, task_kind kind, int scan_scope,
                      int rate_limit, bool is_all, int64_t now_ms, int64_t *task_id,
                      imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    int64_t active = 0;
    if ((rc = count_of(st,
                       "SELECT count(*) FROM image_tasks WHERE project_id = ?1 AND status = "
                       "'running'",
                       project_id, 0, &active, err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    if (active >= TASK_ACTIVE_MAX)
        return fail(st, NULL,
                    err_set(err, IMGSEC_EINVAL,
                            "invalid parameter: the project has %d tasks running, the most it "
                            "may have; stop one or wait for one to finish",
                            TASK_ACTIVE_MAX));
    db_stmt *s = store_dprepare(
        st,
        "INSERT INTO image_tasks (project_id, kind, task_type, scan_scope, rate_limit, is_all, "
        "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        "adding a task", err);
    if (!s)
        return fail(st, NULL, store_drc(err));
    db_bind_text(s, 1, project_id, -1);
    db_bind_text(s, 2, kind == TASK_KIND_SCAN ? "image_scan" : "image_sync", -1);
    db_bind_text(s, 3, kind == TASK_KIND_SCAN ? "manual" : "manualSync", -1);
    db_bind_int64(s, 4, scan_scope);
    db_bind_int64(s, 5, rate_limit);
    db_bind_int64(s, 6, is_all);
    db_bind_int64(s, 7, now_ms);
    if (db_step(s) != DB_ROW)
        return fail(st, s, store_derr(st, err, "adding a task"));
    *task_id = db_column_int64(s, 0);
    db_finalize(s);
    return IMGSEC_OK;
}

/* Items of the task so far, bounded; commits, or fails with none. */
static int task_end(store *st, int64_t task_id, const char *what, imgsec_err *err)
{
    int64_t n = 0;
    int rc = count_of(st, "SELECT count(*) FROM image_task_items WHERE task_id = ?1", NULL,
                      task_id, &n, err);
    if (rc != IMGSEC_OK)
        return fail(st, NULL, rc);
    if (n == 0)
        return fail(st, NULL, err_set(err, IMGSEC_EINVAL, "invalid parameter: %s", what));
    if (n > TASK_ITEMS_MAX)
        return fail(st, NULL,
                    err_set(err, IMGSEC_EINVAL,
                            "invalid parameter: the task would hold more than %d items; select "
                            "fewer",
                            TASK_ITEMS_MAX));
    return store_commit(st, err);
}

static bool registry_of_project(store *st, const char *project_id, int64_t id, int *rc,
                                imgsec_err *err)
{
    int64_t n = 0;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM registries WHERE id = %lld AND project_id = ?1",
             (long long)id);
    *rc = count_of(st, sql, project_id, 0, &n, err);
    return *rc == IMGSEC_OK && n > 0;
}

static void bind_opt(db_stmt *s, int i, const char *v)
{
    if (v)
        db_bind_text(s, i, v, -1);
}

int store_task_create_scan(store *st, const char *project_id, bool is_all,
                           const store_task_query *q, const store_task_select *sel, size_t n,
                           int scan_scope, int rate_limit, int64_t now_ms, int64_t *task_id,
                           imgsec_err *err)
{
    if (!is_all && (n == 0 || n > TASK_SELECT_MAX))
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: image_info must hold 1 to %d images when is_all is "
                       "false",
                       TASK_SELECT_MAX);
    int rc = task_begin(st, project_id, TASK_KIND_SCAN, scan_scope, rate_limit, is_all, now_ms,
                        task_id, err);
    if (rc != IMGSEC_OK)
        return rc;
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO image_task_items (task_id, registry_id, namespace, "
             "image_name, image_version) SELECT ?1, r.id, i.namespace, i.image_name, "
             "i.image_version" REGISTRY_IMAGES " ORDER BY i.id LIMIT %d ON CONFLICT DO NOTHING",
             TASK_ITEMS_MAX + 1);
    db_stmt *s = store_dprepare(st, sql, "selecting images", err);
    db_stmt *one = s ? store_dprepare(st,
                                          "INSERT INTO image_task_items (task_id, "
                                          "registry_id, namespace, image_name, image_version) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                                          "selecting images", err)
                          : NULL;
    if (!one) {
        if (s)
            db_finalize(s);
        return fail(st, NULL, store_drc(err));
    }
    for (size_t k = 0; k < (is_all ? 1 : n) && rc == IMGSEC_OK; k++) {
        db_reset(s);
        db_clear_bindings(s);
        db_bind_int64(s, 1, *task_id);
        db_bind_text(s, 2, project_id, -1);
        if (is_all) {
            bind_opt(s, 3, q->namespace_);
            bind_opt(s, 4, q->image_name);
            bind_opt(s, 5, q->image_version);
            if (q->image_type >= 0)
                db_bind_text(s, 6, image_type_name((image_type)q->image_type), -1);
        } else if (sel[k].image_id > 0) {
            db_bind_int64(s, 8, sel[k].image_id);
        } else {
            if (!registry_of_project(st, project_id, sel[k].registry_id, &rc, err)) {
                if (rc == IMGSEC_OK)
                    rc = err_set(err, IMGSEC_ENOTFOUND,
                                 "invalid parameter: image_info[%zu].registry_id: the project "
                                 "has no such registry",
                                 k);
                break;
            }
            if (sel[k].image_name && sel[k].image_version) { /* one image, synced or not */
                db_reset(one);
                db_bind_int64(one, 1, *task_id);
                db_bind_int64(one, 2, sel[k].registry_id);
                db_bind_text(one, 3, sel[k].namespace_ ? sel[k].namespace_ : "", -1);
                db_bind_text(one, 4, sel[k].image_name, -1);
                db_bind_text(one, 5, sel[k].image_version, -1);
                if (db_step(one) != DB_DONE)
                    rc = store_derr(st, err, "selecting images");
                continue;
            }
            db_bind_int64(s, 7, sel[k].registry_id);
            bind_opt(s, 3, sel[k].namespace_);
            bind_opt(s, 4, sel[k].image_name);
            bind_opt(s, 5, sel[k].image_version);
        }
        if (db_step(s) != DB_DONE) {
            rc = store_derr(st, err, "selecting images");
        } else if (!is_all && sel[k].image_id > 0 && db_changes(st->conn) == 0) {
            /* not one of the project's registry images, or named twice */
            int64_t dup = 0;
            char q2[128];
            snprintf(q2, sizeof q2,
                     "SELECT count(*) FROM images WHERE id = %lld AND project_id = ?1",
                     (long long)sel[k].image_id);
            if ((rc = count_of(st, q2, project_id, 0, &dup, err)) == IMGSEC_OK && dup == 0)
                rc = err_set(err, IMGSEC_ENOTFOUND,
                             "invalid parameter: image_info[%zu].id: the project has no such "
                             "registry image",
                             k);
        }
    }
    db_finalize(s);
    db_finalize(one);
    if (rc != IMGSEC_OK)
        return fail(st, NULL, rc);
    return task_end(st, *task_id,
                    "the task selects no image (sync the registry first: "
                    "CreateImageSynchronizeTask)",
                    err);
}

int store_task_create_sync(store *st, const char *project_id, const int64_t *ids, size_t n,
                           int64_t now_ms, int64_t *task_id, imgsec_err *err)
{
    if (n > TASK_SELECT_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: registry_info holds more than %d",
                       TASK_SELECT_MAX);
    int rc = task_begin(st, project_id, TASK_KIND_SYNC, 0, 0, n == 0, now_ms, task_id, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dprepare(
        st,
        "INSERT INTO image_task_items (task_id, registry_id) SELECT ?1, id FROM "
        "registries WHERE project_id = ?2 AND (id = ?3 OR ?3 IS NULL) ON CONFLICT DO NOTHING",
        "selecting registries", err);
    if (!s)
        return fail(st, NULL, store_drc(err));
    for (size_t k = 0; k < (n ? n : 1) && rc == IMGSEC_OK; k++) {
        db_reset(s);
        db_bind_int64(s, 1, *task_id);
        db_bind_text(s, 2, project_id, -1);
        if (n)
            db_bind_int64(s, 3, ids[k]);
        if (db_step(s) != DB_DONE)
            rc = store_derr(st, err, "selecting registries");
        else if (n && !registry_of_project(st, project_id, ids[k], &rc, err) && rc == IMGSEC_OK)
            rc = err_set(err, IMGSEC_ENOTFOUND,
                         "invalid parameter: registry_info[%zu].registry_id: the project has "
                         "no such registry",
                         k);
    }
    db_finalize(s);
    if (rc != IMGSEC_OK)
        return fail(st, NULL, rc);
    return task_end(st, *task_id, "the project has no registry to sync (AddRegistry first)",
                    err);
}

/* Settles item of task in the open transaction. */
static int settle(store *st, int64_t item_id, const char *state, bool risky, const char *reason,
                  int64_t now_ms, imgsec_err *err)
{
    char cut[REG_BYTES(TASK_REASON_CHARS)];
    size_t len = 0, chars = 0;
    for (const char *p = reason ? reason : ""; *p && chars < TASK_REASON_CHARS; chars++) {
        size_t w = 1;
        while ((p[w] & 0xC0) == 0x80)
            w++;
        len += w;
        p += w;
    }
    snprintf(cut, sizeof cut, "%.*s", (int)len, reason ? reason : "");
    db_stmt *s = store_dprepare(st,
                                    "UPDATE image_task_items SET state = ?2, risky = ?3, "
                                    "failed_reason = ?4 WHERE id = ?1 RETURNING task_id",
                                    "settling a task item", err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, item_id);
    db_bind_text(s, 2, state, -1);
    db_bind_int64(s, 3, risky);
    db_bind_text(s, 4, cut, -1);
    int64_t task_id = 0;
    int step = db_step(s);
    if (step == DB_ROW) {
        task_id = db_column_int64(s, 0);
        step = db_step(s);
    }
    db_finalize(s);
    if (step != DB_DONE)
        return store_derr(st, err, "settling a task item");
    return task_id ? run2(st, FINISH, task_id, now_ms, "finishing a task", err) : IMGSEC_OK;
}

int store_task_item_done(store *st, int64_t item_id, bool ok, bool risky, const char *reason,
                         int64_t now_ms, imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    if ((rc = settle(st, item_id, ok ? "success" : "failed", risky, ok ? "" : reason, now_ms,
                     err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    return store_commit(st, err);
}

/* The registry of w (w->reg.id, w->project_id) into w; false if gone. */
static bool load_registry(store *st, store_task_work *w, int *rc, imgsec_err *err)
{
    db_stmt *s = store_dprepare(st,
                                    "SELECT name, type, protocol, addr, username, namespace, "
                                    "password_sealed FROM registries WHERE id = ?1 AND "
                                    "project_id = ?2",
                                    "reading a registry", err);
    if (!s) {
        *rc = store_drc(err);
        return false;
    }
    db_bind_int64(s, 1, w->reg.id);
    db_bind_text(s, 2, w->project_id, -1);
    int step = db_step(s);
    bool found = step == DB_ROW;
    if (found) {
        store_dcolumn_copy(w->reg.name, sizeof w->reg.name, s, 0);
        store_dcolumn_copy(w->reg.type, sizeof w->reg.type, s, 1);
        store_dcolumn_copy(w->reg.protocol, sizeof w->reg.protocol, s, 2);
        store_dcolumn_copy(w->reg.addr, sizeof w->reg.addr, s, 3);
        store_dcolumn_copy(w->reg.username, sizeof w->reg.username, s, 4);
        store_dcolumn_copy(w->reg.namespace_, sizeof w->reg.namespace_, s, 5);
        size_t bytes = db_column_bytes(s, 6);
        const void *blob = db_column_blob(s, 6);
        w->sealed_len = 0;
        if (blob && bytes > 0 && bytes <= sizeof w->sealed) {
            memcpy(w->sealed, blob, bytes);
            w->sealed_len = bytes;
        }
    } else if (step != DB_DONE) {
        *rc = store_derr(st, err, "reading a registry");
    }
    db_finalize(s);
    return found;
}

static int mark_image(store *st, const store_task_work *w, bool scanning, imgsec_err *err);

/* Marks w's image (if it has a row) scanning, with a change-log row. */
static int mark_scanning(store *st, const store_task_work *w, imgsec_err *err)
{
    return mark_image(st, w, true, err);
}

/* scanning: as above; else an image left scanning by the item becomes
 * failed (the item is failed without a scan), with a change-log row. */
static int mark_image(store *st, const store_task_work *w, bool scanning, imgsec_err *err)
{
    char inst[24];
    snprintf(inst, sizeof inst, "%lld", (long long)w->reg.id);
    db_stmt *s = store_dprepare(
        st,
        scanning ? "UPDATE images SET scan_status = 'scanning', severity_level = NULL WHERE "
                   "project_id = ?1 AND image_type = ?2 AND instance_id = ?3 AND cicd_name = '' "
                   "AND namespace = ?4 AND image_name = ?5 AND image_version = ?6 RETURNING id"
                 : "UPDATE images SET scan_status = 'failed' WHERE project_id = ?1 AND image_type "
                   "= ?2 AND instance_id = ?3 AND cicd_name = '' AND namespace = ?4 AND "
                   "image_name = ?5 AND image_version = ?6 AND scan_status = 'scanning' "
                   "RETURNING id",
        "marking an image scanning", err);
    if (!s)
        return store_drc(err);
    db_bind_text(s, 1, w->project_id, -1);
    db_bind_text(s, 2, registry_image_type(w->reg.type), -1);
    db_bind_text(s, 3, inst, -1);
    db_bind_text(s, 4, w->namespace_, -1);
    db_bind_text(s, 5, w->image_name, -1);
    db_bind_text(s, 6, w->image_version, -1);
    int64_t id = 0;
    int step = db_step(s);
    if (step == DB_ROW) {
        id = db_column_int64(s, 0);
        step = db_step(s);
    }
    db_finalize(s);
    if (step != DB_DONE)
        return store_derr(st, err, "marking an image scanning");
    int rc = IMGSEC_OK;
    if (id > 0 && (rc = store_change_append(st, id, err)) == IMGSEC_OK)
        rc = store_change_prune(st, err);
    return rc;
}

/* The next claimable item: waiting, or running with its lease run out
 * (or without a claim row: claimed before schema 13). */
#define CLAIM_SELECT                                                                           \
    "SELECT i.id, i.task_id, t.kind, t.project_id, i.registry_id, i.namespace, "               \
    "i.image_name, i.image_version, i.state, coalesce(c.takeovers, 0) FROM image_task_items i " \
    "JOIN image_tasks t ON t.id = i.task_id LEFT JOIN image_task_claims c ON c.item_id = i.id " \
    "WHERE t.status = 'running' AND (i.state = 'waiting' OR (i.state = 'running' AND "          \
    "coalesce(c.lease_ms, 0) <= ?1)) ORDER BY i.id LIMIT 1"

int store_task_claim(store *st, const char *owner, int64_t lease_ms, store_task_work *w,
                     bool *found, int64_t now_ms, imgsec_err *err)
{
    *found = false;
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    /* PostgreSQL: the row is locked, and one another claim holds is
     * skipped, whatever else serializes the transactions */
    const char *sql = db_backend_of(st->conn) == DB_PG ? CLAIM_SELECT " FOR UPDATE OF i SKIP LOCKED"
                                                       : CLAIM_SELECT;
    for (;;) {
        db_stmt *s = store_dprepare(st, sql, "claiming a task item", err);
        if (!s)
            return fail(st, NULL, store_drc(err));
        db_bind_int64(s, 1, now_ms);
        int step = db_step(s);
        if (step == DB_DONE) {
            db_finalize(s);
            return store_commit(st, err);
        }
        if (step != DB_ROW)
            return fail(st, s, store_derr(st, err, "claiming a task item"));
        memset(w, 0, sizeof *w);
        w->item_id = db_column_int64(s, 0);
        w->task_id = db_column_int64(s, 1);
        const char *kind = db_column_text(s, 2);
        w->kind = kind && strcmp(kind, "image_sync") == 0 ? TASK_KIND_SYNC : TASK_KIND_SCAN;
        store_dcolumn_copy(w->project_id, sizeof w->project_id, s, 3);
        w->reg.id = db_column_int64(s, 4);
        store_dcolumn_copy(w->namespace_, sizeof w->namespace_, s, 5);
        store_dcolumn_copy(w->image_name, sizeof w->image_name, s, 6);
        store_dcolumn_copy(w->image_version, sizeof w->image_version, s, 7);
        const char *state = db_column_text(s, 8);
        bool takeover = state && strcmp(state, "running") == 0;
        int64_t takeovers = db_column_int64(s, 9);
        db_finalize(s);
        bool reg_found = load_registry(st, w, &rc, err);
        if (rc != IMGSEC_OK)
            return fail(st, NULL, rc);
        if (takeover && takeovers >= TASK_TAKEOVERS_MAX) {
            /* its image, left scanning by the last server, failed too */
            if ((reg_found && w->kind == TASK_KIND_SCAN &&
                 (rc = mark_image(st, w, false, err)) != IMGSEC_OK) ||
                (rc = settle(st, w->item_id, "failed", false, TASK_TAKEOVER_REASON, now_ms, err)) !=
                    IMGSEC_OK)
                return fail(st, NULL, rc);
            continue;
        }
        if (!reg_found) {
            if (rc != IMGSEC_OK)
                return fail(st, NULL, rc);
            if ((rc = settle(st, w->item_id, "failed", false, "the registry was deleted", now_ms,
                             err)) != IMGSEC_OK)
                return fail(st, NULL, rc);
            continue;
        }
        db_stmt *u = store_dprepare(
            st,
            "INSERT INTO image_task_claims (item_id, owner, lease_ms, takeovers) VALUES (?1, ?2, "
            "?3, ?4) ON CONFLICT (item_id) DO UPDATE SET owner = excluded.owner, lease_ms = "
            "excluded.lease_ms, takeovers = image_task_claims.takeovers + excluded.takeovers",
            "claiming a task item", err);
        if (!u)
            return fail(st, NULL, store_drc(err));
        db_bind_int64(u, 1, w->item_id);
        db_bind_text(u, 2, owner, -1);
        db_bind_int64(u, 3, lease_ms);
        db_bind_int64(u, 4, takeover ? 1 : 0);
        if (db_step(u) != DB_DONE)
            return fail(st, u, store_derr(st, err, "claiming a task item"));
        db_finalize(u);
        if ((rc = run2(st, "UPDATE image_task_items SET state = 'running' WHERE id = ?1",
                       w->item_id, 0, "claiming a task item", err)) != IMGSEC_OK ||
            (rc = run2(st,
                       "UPDATE image_tasks SET begin_ms = ?2 WHERE id = ?1 AND begin_ms = 0",
                       w->task_id, now_ms, "claiming a task item", err)) != IMGSEC_OK ||
            (w->kind == TASK_KIND_SCAN && (rc = mark_scanning(st, w, err)) != IMGSEC_OK))
            return fail(st, NULL, rc);
        *found = true;
        return store_commit(st, err);
    }
}

int store_task_renew(store *st, const char *owner, int64_t lease_ms, int64_t *n, imgsec_err *err)
{
    *n = 0;
    db_stmt *s = store_dprepare(st,
                                "UPDATE image_task_claims SET lease_ms = ?2 WHERE owner = ?1 AND "
                                "item_id IN (SELECT id FROM image_task_items WHERE state = "
                                "'running')",
                                "renewing task leases", err);
    if (!s)
        return store_drc(err);
    db_bind_text(s, 1, owner, -1);
    db_bind_int64(s, 2, lease_ms);
    int rc = db_step(s) == DB_DONE ? IMGSEC_OK : store_derr(st, err, "renewing task leases");
    if (rc == IMGSEC_OK)
        *n = db_changes(st->conn);
    db_finalize(s);
    return rc;
}

int store_task_sync_apply(store *st, const char *project_id, const store_registry *reg,
                          const store_sync_tag *tags, size_t n, int64_t now_ms, int64_t *added,
                          imgsec_err *err)
{
    *added = 0;
    if (n > TASK_SYNC_TAGS_MAX)
        return err_set(err, IMGSEC_EINVAL, "the registry has more than %d tags",
                       TASK_SYNC_TAGS_MAX);
    char inst[24];
    snprintf(inst, sizeof inst, "%lld", (long long)reg->id);
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        json_t *root = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}}", "image",
                                 "image_type", registry_image_type(reg->type), "instance_id",
                                 inst, "instance_name", reg->name, "namespace", tags[i].namespace_,
                                 "image_name", tags[i].image_name, "image_version",
                                 tags[i].image_version, "scan_status", "waiting_for_scan",
                                 "latest_update_time", (json_int_t)now_ms);
        imgsec_doc d;
        if (!root) {
            rc = err_set(err, IMGSEC_EINVAL, "a tag of the registry is not valid UTF-8");
            break;
        }
        rc = doc_from_json(root, "", &d, err);
        json_decref(root);
        if (rc != IMGSEC_OK)
            break;
        int64_t id = 0;
        rc = store_image_find(st, project_id, "0", &d, NULL, "", &id, err);
        if (rc == IMGSEC_OK && id == 0) {
            rc = store_image_insert(st, project_id, "0", &d, &id, err);
            if (rc == IMGSEC_OK && id <= 0)
                rc = err_set(err, IMGSEC_EINTERNAL, "store: storing an image gave no id");
            if (rc == IMGSEC_OK)
                rc = store_change_append(st, id, err);
            if (rc == IMGSEC_OK)
                (*added)++;
        }
        doc_free(&d);
    }
    if (rc == IMGSEC_OK)
        rc = store_change_prune(st, err);
    if (rc == IMGSEC_OK) {
        db_stmt *s = store_dprepare(st,
                                        "UPDATE registries SET status = 'success', fail_reason = "
                                        "'', images_num = ?2, latest_sync_ms = ?3 WHERE id = ?1",
                                        "updating a registry", err);
        if (!s)
            return fail(st, NULL, store_drc(err));
        db_bind_int64(s, 1, reg->id);
        db_bind_int64(s, 2, (int64_t)n);
        db_bind_int64(s, 3, now_ms);
        if (db_step(s) != DB_DONE)
            rc = store_derr(st, err, "updating a registry");
        db_finalize(s);
    }
    if (rc != IMGSEC_OK)
        return fail(st, NULL, rc);
    return store_commit(st, err);
}

int store_task_sync_failed(store *st, int64_t registry_id, const char *code, int64_t now_ms,
                           imgsec_err *err)
{
    db_stmt *s = store_dprepare(st,
                                    "UPDATE registries SET status = 'fail', fail_reason = ?2, "
                                    "latest_sync_ms = ?3 WHERE id = ?1",
                                    "updating a registry", err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, registry_id);
    db_bind_text(s, 2, code, -1);
    db_bind_int64(s, 3, now_ms);
    int rc = db_step(s) == DB_DONE ? IMGSEC_OK : store_derr(st, err, "updating a registry");
    db_finalize(s);
    return rc;
}

int store_task_stop(store *st, const char *project_id, int64_t task_id, int64_t now_ms,
                    imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM image_tasks WHERE id = %lld AND project_id = ?1",
             (long long)task_id);
    int64_t n = 0;
    if ((rc = count_of(st, sql, project_id, 0, &n, err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    if (n == 0)
        return fail(st, NULL,
                    err_set(err, IMGSEC_ENOTFOUND,
                            "invalid parameter: task_id: the project has no such task"));
    if ((rc = run2(st,
                   "UPDATE image_task_items SET state = 'stopped' WHERE task_id = ?1 AND state = "
                   "'waiting' AND EXISTS (SELECT 1 FROM image_tasks WHERE id = ?1 AND "
                   "status = 'running')",
                   task_id, 0, "stopping a task", err)) != IMGSEC_OK ||
        (rc = run2(st,
                   "UPDATE image_tasks SET status = 'stopped', end_ms = ?2 WHERE id = ?1 AND "
                   "status = 'running'",
                   task_id, now_ms, "stopping a task", err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    return store_commit(st, err);
}

int store_task_resume(store *st, int64_t now_ms, int64_t *n, imgsec_err *err)
{
    *n = 0;
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    /* SQLite: every running item (?2 = 1); PostgreSQL: the ones of gone
     * owners. Past the last takeover: failed, with the reason. */
    bool all = db_backend_of(st->conn) == DB_SQLITE;
#define RESUMABLE                                                                               \
    "state = 'running' AND (?2 = 1 OR NOT EXISTS (SELECT 1 FROM image_task_claims c WHERE "     \
    "c.item_id = image_task_items.id AND c.lease_ms > ?1))"
    char sql[768];
    snprintf(sql, sizeof sql,
             "UPDATE image_task_items SET state = 'failed', failed_reason = ?3 WHERE " RESUMABLE
             " AND coalesce((SELECT takeovers FROM image_task_claims c WHERE c.item_id = "
             "image_task_items.id), 0) >= %d",
             TASK_TAKEOVERS_MAX);
    const char *const steps[] = {
        sql,
        /* a takeover more for each; the lease ends now */
        "INSERT INTO image_task_claims (item_id, owner, lease_ms, takeovers) SELECT id, '', 0, 1 "
        "FROM image_task_items WHERE " RESUMABLE " ON CONFLICT (item_id) DO UPDATE SET owner = '', "
        "lease_ms = 0, takeovers = image_task_claims.takeovers + 1",
        "UPDATE image_task_items SET state = 'waiting' WHERE " RESUMABLE,
    };
#undef RESUMABLE
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        db_stmt *s = store_dprepare(st, steps[k], "resuming tasks", err);
        if (!s)
            return fail(st, NULL, store_drc(err));
        db_bind_int64(s, 1, now_ms);
        db_bind_int64(s, 2, all);
        if (k == 0)
            db_bind_text(s, 3, TASK_TAKEOVER_REASON, -1);
        if (db_step(s) != DB_DONE)
            return fail(st, s, store_derr(st, err, "resuming tasks"));
        *n = db_changes(st->conn);
        db_finalize(s);
    }
    /* a task whose last items were failed above is over */
    if ((rc = run2(st,
                   "UPDATE image_tasks SET status = 'finished', end_ms = ?1 WHERE status = "
                   "'running' AND NOT EXISTS (SELECT 1 FROM image_task_items WHERE "
                   "task_id = image_tasks.id AND state IN ('waiting', 'running'))",
                   now_ms, 0, "resuming tasks", err)) != IMGSEC_OK)
        return fail(st, NULL, rc);
    return store_commit(st, err);
}

int store_task_pending(store *st, int64_t now_ms, bool *any, imgsec_err *err)
{
    int64_t n = 0;
    int rc = count_of(st,
                      "SELECT count(*) FROM (SELECT 1 FROM image_task_items i JOIN image_tasks t "
                      "ON t.id = i.task_id LEFT JOIN image_task_claims c ON c.item_id = i.id WHERE "
                      "(i.state = 'waiting' OR (i.state = 'running' AND coalesce(c.lease_ms, 0) <= "
                      "?1)) AND t.status = 'running' LIMIT 1) AS pending",
                      NULL, now_ms, &n, err);
    *any = n > 0;
    return rc;
}

/* ---- ListImageScanTask ---- */

static const char TASK_WHERE[] =
    " FROM image_tasks t WHERE t.project_id = ?1 AND t.kind = ?2"
    " AND (t.task_type = ?3 OR ?3 IS NULL) AND (t.id = ?4 OR ?4 IS NULL)"
    " AND (instr(t.kind || '-' || t.id, ?5) > 0 OR ?5 IS NULL)"
    " AND ((?6 = 0) = (t.status = 'running') OR ?6 IS NULL)"
    " AND (t.created_ms >= ?7 OR ?7 IS NULL) AND ((t.end_ms > 0 AND t.end_ms <= ?8) OR ?8 IS NULL)";

static void bind_task_filter(db_stmt *s, const char *project_id, const store_task_filter *f)
{
    db_bind_text(s, 1, project_id, -1);
    db_bind_text(s, 2, f->kind == TASK_KIND_SCAN ? "image_scan" : "image_sync", -1);
    bind_opt(s, 3, f->task_type);
    if (f->task_id > 0)
        db_bind_int64(s, 4, f->task_id);
    bind_opt(s, 5, f->name);
    if (f->status >= 0)
        db_bind_int64(s, 6, f->status);
    if (f->created_from > 0)
        db_bind_int64(s, 7, f->created_from);
    if (f->ended_before > 0)
        db_bind_int64(s, 8, f->ended_before);
}

static int list_failures(store *st, int64_t task_id,
                         void (*failure)(const store_task_failure *f, void *arg), void *arg,
                         imgsec_err *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT i.registry_id, coalesce(r.name, ''), coalesce(r.type, ''), i.namespace, "
             "i.image_name, i.image_version, i.failed_reason, coalesce((SELECT m.id FROM images m "
             "WHERE m.project_id = r.project_id AND m.instance_id = CAST(r.id AS TEXT) AND "
             "m.image_type = " TYPE_CASE " AND m.cicd_name = '' AND m.namespace = i.namespace AND "
             "m.image_name = i.image_name AND m.image_version = i.image_version), 0) FROM "
             "image_task_items i LEFT JOIN registries r ON r.id = i.registry_id WHERE i.task_id = "
             "?1 AND i.state = 'failed' ORDER BY i.id LIMIT %d",
             TASK_FAILED_SHOWN);
    db_stmt *s = store_dprepare(st, sql, "listing failed images", err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, task_id);
    int step;
    while ((step = db_step(s)) == DB_ROW) {
        store_task_failure f;
        memset(&f, 0, sizeof f);
        f.registry_id = db_column_int64(s, 0);
        store_dcolumn_copy(f.registry_name, sizeof f.registry_name, s, 1);
        store_dcolumn_copy(f.registry_type, sizeof f.registry_type, s, 2);
        store_dcolumn_copy(f.namespace_, sizeof f.namespace_, s, 3);
        store_dcolumn_copy(f.image_name, sizeof f.image_name, s, 4);
        store_dcolumn_copy(f.image_version, sizeof f.image_version, s, 5);
        store_dcolumn_copy(f.reason, sizeof f.reason, s, 6);
        f.image_id = db_column_int64(s, 7);
        failure(&f, arg);
    }
    db_finalize(s);
    return step == DB_DONE ? IMGSEC_OK : store_derr(st, err, "listing failed images");
}

int store_task_list(store *st, const char *project_id, const store_task_filter *f,
                    int64_t offset, int64_t limit, void (*task)(const store_task *t, void *arg),
                    void (*failure)(const store_task_failure *f, void *arg), void *arg,
                    int64_t *total, imgsec_err *err)
{
    char sql[2048];
    int rc = store_read_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    snprintf(sql, sizeof sql, "SELECT count(*)%s", TASK_WHERE);
    db_stmt *s = store_dprepare(st, sql, "counting tasks", err);
    if (!s)
        return fail(st, NULL, store_drc(err));
    bind_task_filter(s, project_id, f);
    if (db_step(s) != DB_ROW)
        return fail(st, s, store_derr(st, err, "counting tasks"));
    *total = db_column_int64(s, 0);
    db_finalize(s);
    snprintf(sql, sizeof sql,
             "SELECT t.id, t.kind, t.task_type, t.status, t.scan_scope, t.rate_limit, t.is_all, "
             "t.created_ms, t.begin_ms, t.end_ms, (SELECT count(*) FROM image_task_items WHERE "
             "task_id = t.id), (SELECT count(*) FROM image_task_items WHERE task_id = t.id AND "
             "state = 'success'), (SELECT count(*) FROM image_task_items WHERE task_id = t.id AND "
             "state = 'failed'), (SELECT count(*) FROM image_task_items WHERE task_id = t.id AND "
             "state = 'success' AND risky <> 0), (SELECT count(*) FROM image_task_items WHERE task_id = "
             "t.id AND state = 'waiting'), (SELECT count(*) FROM image_task_items WHERE task_id = "
             "t.id AND state = 'running'), (SELECT count(*) FROM image_task_items WHERE task_id = "
             "t.id AND state = 'stopped')%s ORDER BY t.id DESC LIMIT ?9 OFFSET ?10",
             TASK_WHERE);
    if (!(s = store_dprepare(st, sql, "listing tasks", err)))
        return fail(st, NULL, store_drc(err));
    bind_task_filter(s, project_id, f);
    db_bind_int64(s, 9, limit);
    db_bind_int64(s, 10, offset);
    int step;
    while ((step = db_step(s)) == DB_ROW) {
        store_task t;
        memset(&t, 0, sizeof t);
        t.id = db_column_int64(s, 0);
        const char *kind = db_column_text(s, 1);
        t.kind = kind && strcmp(kind, "image_sync") == 0 ? TASK_KIND_SYNC : TASK_KIND_SCAN;
        store_dcolumn_copy(t.task_type, sizeof t.task_type, s, 2);
        store_dcolumn_copy(t.status, sizeof t.status, s, 3);
        t.scan_scope = (int)db_column_int64(s, 4);
        t.rate_limit = (int)db_column_int64(s, 5);
        t.is_all = (int)db_column_int64(s, 6) != 0;
        t.created_ms = db_column_int64(s, 7);
        t.begin_ms = db_column_int64(s, 8);
        t.end_ms = db_column_int64(s, 9);
        t.total = db_column_int64(s, 10);
        t.success = db_column_int64(s, 11);
        t.failed = db_column_int64(s, 12);
        t.risky = db_column_int64(s, 13);
        t.waiting = db_column_int64(s, 14);
        t.running = db_column_int64(s, 15);
        t.stopped = db_column_int64(s, 16);
        task(&t, arg);
        if ((rc = list_failures(st, t.id, failure, arg, err)) != IMGSEC_OK)
            return fail(st, s, rc);
    }
    if (step != DB_DONE)
        return fail(st, s, store_derr(st, err, "listing tasks"));
    db_finalize(s);
    store_rollback(st); /* ends the read transaction */
    return IMGSEC_OK;
}
