/* scan_tasks.c - see scan_tasks.h.
 *
 * Mechanism. A job (scan_job) holds nothing but the app: its run loops
 * store_task_claim -> do_scan / do_sync -> store_task_item_done on the
 * worker's own store connection, checking bg_stopping between items (an
 * item running when the pool stops is finished first; one not claimed
 * stays waiting for the next start). The password is opened into a
 * buffer on the worker's stack and wiped as soon as the pull or the
 * listing returned; it reaches neither a log line nor a reason (the
 * registry errors name the user at most).
 *
 * Leases (store_tasks.h "Claims and leases"): this process claims as one
 * owner, a random id drawn at start, with a lease of SCAN_LEASE_MS that
 * the kick tick renews every SCAN_KICK_MS while scan jobs run; a node
 * that dies stops renewing, and any node's next claim past the lease
 * takes its item over. */
#include "scan_tasks.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "bg.h"
#include "imgsec/doc.h"
#include "imgsec/keyfile.h"
#include "imgsec/scan.h"
#include "imgsec/store_tasks.h"
#include "imgsec/util.h"

typedef struct {
    bg_job base;
    app *a;
} scan_job;

/* This process as the owner of the items it claims (one server per
 * process): random, drawn once by scan_tasks_start. */
static char owner_id[STORE_TASK_OWNER_MAX + 1];

/* The registry's password opened into pw (NUL-terminated), or "". */
static int open_password(app *a, const store_task_work *w, char *pw, size_t size,
                         imgsec_err *err)
{
    pw[0] = '\0';
    if (!w->sealed_len)
        return IMGSEC_OK;
    size_t len = 0;
    if (w->sealed_len <= KEYFILE_SEAL_OVERHEAD || w->sealed_len - KEYFILE_SEAL_OVERHEAD >= size ||
        keyfile_open(a->sk_key, w->sealed, w->sealed_len, (unsigned char *)pw, &len, err) !=
            IMGSEC_OK)
        return err_set(err, IMGSEC_EINTERNAL,
                       "the registry's password cannot be opened with this server's key file; "
                       "set it again with UpdateRegistry");
    pw[len] = '\0';
    return IMGSEC_OK;
}

static void registry_options(app *a, const store_task_work *w, const char *pw, scan_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->insecure_registry = strcmp(w->reg.protocol, "http") == 0;
    if (w->reg.username[0]) {
        opt->registry_username = w->reg.username;
        opt->registry_password = pw;
    }
    opt->vulndb = a->cfg.vulndb_path;
}

/* The document of a pull that failed before the image was identified. */
static json_t *failed_document(const store_task_work *w, const char *type)
{
    int64_t now = util_now_ms();
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:I, s:I}}", "image", "image_type", type,
                     "namespace", w->namespace_, "image_name", w->image_name, "image_version",
                     w->image_version, "scan_status", "failed", "latest_scan_time",
                     (json_int_t)now, "latest_update_time", (json_int_t)now);
}

/* Stores docj (stolen) as the image of w; rc of the store. */
static int store_image(store *st, const store_task_work *w, json_t *docj, imgsec_err *err)
{
    if (!docj)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    char inst[24];
    snprintf(inst, sizeof inst, "%lld", (long long)w->reg.id);
    json_t *img = json_object_get(docj, "image");
    json_object_set_new(img, "instance_id", json_string(inst));
    json_object_set_new(img, "instance_name", json_string(w->reg.name));
    imgsec_doc d;
    int rc = doc_from_json(docj, "", &d, err);
    json_decref(docj);
    if (rc != IMGSEC_OK)
        return rc;
    store_ingest_result r;
    rc = store_ingest(st, w->project_id, "0", &d, 1, NULL, &r, NULL, NULL, err);
    doc_free(&d);
    return rc;
}

static void do_scan(app *a, store *st, const store_task_work *w)
{
    imgsec_err err = {0}, serr = {0};
    char pw[REG_PASSWORD_CHARS * 4 + 1];
    const char *type = registry_image_type(w->reg.type);
    scan_result *res = NULL;
    int rc = open_password(a, w, pw, sizeof pw, &err);
    if (rc == IMGSEC_OK) {
        scan_options opt;
        registry_options(a, w, pw, &opt);
        char ref[4096]; /* longer than a reference may be: refused by scan_run */
        snprintf(ref, sizeof ref, "%s/%s%s%s:%s", w->reg.addr, w->namespace_,
                 w->namespace_[0] ? "/" : "", w->image_name, w->image_version);
        rc = scan_run(ref, SCAN_INPUT_REGISTRY, &opt, &res, &err);
    }
    sodium_memzero(pw, sizeof pw);
    bool risky = false;
    json_t *docj;
    if (res) {
        scan_identity id = {.image_type = type,
                            .namespace_ = w->namespace_,
                            .image_name = w->image_name,
                            .image_version = w->image_version};
        docj = scan_result_document(res, &id);
        risky = !scan_result_failed(res) &&
                (json_array_size(scan_result_records(res, REPORT_VULNERABILITY)) +
                     json_array_size(scan_result_records(res, REPORT_RISK_CONFIG)) +
                     json_array_size(scan_result_records(res, REPORT_MALWARES)) >
                 0);
        if (rc == IMGSEC_OK && scan_result_failed(res))
            rc = err_set(&err, IMGSEC_EINTERNAL, "the scan failed");
        scan_result_destroy(res);
    } else {
        docj = failed_document(w, type);
    }
    int src = store_image(st, w, docj, &serr);
    if (src != IMGSEC_OK && rc == IMGSEC_OK) {
        rc = src;
        err = serr;
    }
    if (src != IMGSEC_OK)
        server_log("scan task %lld: %s/%s: not stored: %s", (long long)w->task_id,
                   w->namespace_, w->image_name, serr.msg);
    imgsec_err derr = {0};
    if (store_task_item_done(st, w->item_id, rc == IMGSEC_OK, risky, err.msg, util_now_ms(),
                             &derr) != IMGSEC_OK)
        server_log("scan task %lld: %s", (long long)w->task_id, derr.msg);
}

/* Tags found by a sync, split into namespace and name. */
typedef struct {
    store_sync_tag *tags;
    char **strings;
    size_t n, cap;
} sync_list;

static int sync_add(void *ctx, const char *repo, const char *tag)
{
    sync_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        store_sync_tag *t = realloc(l->tags, cap * sizeof *t);
        if (!t)
            return IMGSEC_EINTERNAL;
        l->tags = t;
        char **s = realloc(l->strings, cap * 2 * sizeof *s);
        if (!s)
            return IMGSEC_EINTERNAL;
        l->strings = s;
        l->cap = cap;
    }
    char *r = strdup(repo), *v = strdup(tag);
    if (!r || !v) {
        free(r);
        free(v);
        return IMGSEC_EINTERNAL;
    }
    l->strings[2 * l->n] = r;
    l->strings[2 * l->n + 1] = v;
    char *slash = strrchr(r, '/');
    store_sync_tag *t = &l->tags[l->n++];
    if (slash) {
        *slash = '\0';
        t->namespace_ = r;
        t->image_name = slash + 1;
    } else {
        t->namespace_ = "";
        t->image_name = r;
    }
    t->image_version = v;
    return IMGSEC_OK;
}

static void do_sync(app *a, store *st, const store_task_work *w)
{
    imgsec_err err = {0};
    char pw[REG_PASSWORD_CHARS * 4 + 1];
    sync_list l = {0};
    int rc = open_password(a, w, pw, sizeof pw, &err);
    if (rc == IMGSEC_OK) {
        scan_options opt;
        registry_options(a, w, pw, &opt);
        rc = scan_registry_catalog(w->reg.addr, w->reg.namespace_, &opt, TASK_SYNC_TAGS_MAX,
                                   sync_add, &l, &err);
        if (rc == IMGSEC_EINTERNAL && !err.msg[0])
            err_set(&err, rc, "out of memory");
    }
    sodium_memzero(pw, sizeof pw);
    int64_t now = util_now_ms(), added = 0;
    if (rc == IMGSEC_OK)
        rc = store_task_sync_apply(st, w->project_id, &w->reg, l.tags, l.n, now, &added, &err);
    imgsec_err serr = {0};
    if (rc != IMGSEC_OK &&
        store_task_sync_failed(st, w->reg.id, rc == IMGSEC_EAUTH ? "auth_failed" : "sync_failed",
                               now, &serr) != IMGSEC_OK)
        server_log("sync task %lld: %s", (long long)w->task_id, serr.msg);
    if (store_task_item_done(st, w->item_id, rc == IMGSEC_OK, false, err.msg, util_now_ms(),
                             &serr) != IMGSEC_OK)
        server_log("sync task %lld: %s", (long long)w->task_id, serr.msg);
    for (size_t i = 0; i < 2 * l.n; i++)
        free(l.strings[i]);
    free(l.strings);
    free(l.tags);
}

static void job_run(bg_job *job, store *st)
{
    scan_job *j = (scan_job *)job;
    app *a = j->a;
    store_task_work *w = malloc(sizeof *w);
    while (w && !bg_stopping(a->bg)) {
        imgsec_err err = {0};
        bool found = false;
        int64_t now = util_now_ms();
        if (store_task_claim(st, owner_id, now + SCAN_LEASE_MS, w, &found, now, &err) != IMGSEC_OK) {
            server_log("scan tasks: %s", err.msg);
            break;
        }
        if (!found)
            break;
        if (w->kind == TASK_KIND_SYNC)
            do_sync(a, st, w);
        else
            do_scan(a, st, w);
        sodium_memzero(w->sealed, sizeof w->sealed);
    }
    free(w);
    free(j);
}

static void job_cancel(bg_job *job, store *st)
{
    (void)st;
    free(job); /* its items stay waiting: the next start does them */
}

void scan_tasks_kick(app *a)
{
    for (unsigned i = 0; i < a->cfg.scan_workers; i++) {
        if (!bg_reserve(a->bg, BG_SCAN))
            return;
        scan_job *j = calloc(1, sizeof *j);
        if (!j) {
            bg_unreserve(a->bg, BG_SCAN);
            return;
        }
        j->base.type = BG_SCAN;
        j->base.run = job_run;
        j->base.cancel = job_cancel;
        j->a = a;
        bg_submit(a->bg, &j->base);
    }
}

static void kick_tick(void *ctx, store *st)
{
    app *a = ctx;
    bool any = false;
    imgsec_err err = {0};
    int64_t n = 0;
    if (bg_places(a->bg, BG_SCAN) > 0 &&
        store_task_renew(st, owner_id, util_now_ms() + SCAN_LEASE_MS, &n, &err) != IMGSEC_OK)
        server_log("scan tasks: renewing the lease: %s", err.msg);
    if (bg_places(a->bg, BG_SCAN) < a->cfg.scan_workers &&
        store_task_pending(st, util_now_ms(), &any, &err) == IMGSEC_OK && any)
        scan_tasks_kick(a);
}

int scan_tasks_start(app *a, imgsec_err *err)
{
    util_random_hex(owner_id, 16); /* 128 bits, 32 hex digits */
    store *st = store_pool_acquire(a->pool);
    int64_t n = 0;
    int rc = store_task_resume(st, util_now_ms(), &n, err);
    store_pool_release(a->pool, st);
    if (rc != IMGSEC_OK)
        return rc;
    if (n > 0)
        server_log("scan tasks: %lld items interrupted by the last stop run again",
                   (long long)n);
    if ((rc = bg_every(a->bg, SCAN_KICK_MS, kick_tick, a, err)) != IMGSEC_OK)
        return rc;
    scan_tasks_kick(a);
    return IMGSEC_OK;
}
