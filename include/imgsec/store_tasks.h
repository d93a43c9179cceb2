/* store_tasks.h - registry sync and scan tasks (CreateImageSynchronizeTask,
 * CreateManualImageScanTask, ListImageScanTask, StopImageScanTask;
 * docs/api.md "Scan tasks", docs/scanning.md "Scan tasks").
 *
 * A task is a row of image_tasks and one row of image_task_items per unit
 * of work: a registry for a sync task, an image (registry, namespace,
 * name, version) for a scan task. An item moves waiting -> running ->
 * success | failed, or waiting -> stopped when its task is stopped; the
 * task is "running" until no item of it waits or runs, then "finished"
 * (or "stopped" by StopImageScanTask). The server's scan workers claim
 * items one at a time (store_task_claim), oldest first, across tasks.
 *
 * Registry images. A registry's images are images rows of a registry
 * image_type (registry_image_type) whose instance_id is the registry's id
 * (decimal) and instance_name its name: the registry is part of the
 * image's identity, so two registries holding the same namespace/name:tag
 * are two images. A sync inserts the tags it finds that have no row yet
 * with scan_status "waiting_for_scan" (and no record); a claimed scan item
 * marks its image "scanning"; the scan's result is then stored with
 * store_ingest like any document (success with its records, or failed
 * with none). Every such write appends to the change log.
 *
 * Every write is one transaction; every count from outside is bounded
 * below before anything is read or written.
 */
#ifndef IMGSEC_STORE_TASKS_H
#define IMGSEC_STORE_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/store.h"
#include "imgsec/store_registries.h"

#define TASK_ITEMS_MAX 10000      /* images (or registries) of one task */
#define TASK_ACTIVE_MAX 16        /* running tasks of a project */
#define TASK_SELECT_MAX 1000      /* image_info entries / registry_info entries of a body */
#define TASK_REASON_CHARS 128     /* failed_reason: the SDK's 0-128 characters */
#define TASK_FAILED_SHOWN 100     /* failed_images of one task in a list item */
#define TASK_SYNC_TAGS_MAX 10000  /* tags one registry sync takes (more: the sync fails) */

typedef enum { TASK_KIND_SCAN, TASK_KIND_SYNC } task_kind;

/* The image_type of a registry's images, from its registry_type. */
const char *registry_image_type(const char *registry_type);

/* One entry of a scan task's selection (image_info). Either image_id (an
 * id of ListRegistryImages) or registry_id with optional namespace /
 * name / version: NULL means any (every synced image of the registry, of
 * a namespace of it, ...); a full name:version need not be synced yet. */
typedef struct {
    int64_t image_id;
    int64_t registry_id;
    const char *namespace_, *image_name, *image_version;
} store_task_select;

/* is_all's filters (query_info): NULL / -1 means any. */
typedef struct {
    const char *namespace_, *image_name, *image_version;
    int image_type;
} store_task_query;

/* A scan task of project: with is_all, every registry image of the
 * project matching q; otherwise the images sel[0..n) name (n 1 ..
 * TASK_SELECT_MAX), each once. IMGSEC_ENOTFOUND naming
 * "image_info[i].id" / ".registry_id" when it is not the project's;
 * IMGSEC_EINVAL when the selection names no image or more than
 * TASK_ITEMS_MAX, or the project has TASK_ACTIVE_MAX running tasks. */
int store_task_create_scan(store *st, const char *project_id, bool is_all,
                           const store_task_query *q, const store_task_select *sel, size_t n,
                           int scan_scope, int rate_limit, int64_t now_ms, int64_t *task_id,
                           imgsec_err *err);

/* A sync task of the registries ids[0..n) of project (n 0: all of them;
 * none: IMGSEC_EINVAL). IMGSEC_ENOTFOUND naming "registry_info[i]". */
int store_task_create_sync(store *st, const char *project_id, const int64_t *ids, size_t n,
                           int64_t now_ms, int64_t *task_id, imgsec_err *err);

/* Work claimed by a scan worker. The sealed password is a copy (wipe it). */
typedef struct {
    int64_t item_id, task_id;
    task_kind kind;
    char project_id[72];
    store_registry reg;
    unsigned char sealed[REG_SEALED_MAX];
    size_t sealed_len; /* 0: no password */
    char namespace_[REG_BYTES(256)], image_name[REG_BYTES(256)], image_version[REG_BYTES(128)];
} store_task_work;

/* Claims and leases. A claimed item names its owner (the server process
 * running it, STORE_TASK_OWNER_MAX bytes) and a lease (lease_ms, wall
 * clock): the owner renews it (store_task_renew) while it runs. An item
 * whose lease ran out is taken over by the next claim, of any server, as
 * if it were waiting, and counts one more takeover; the claim that would
 * take it over a TASK_TAKEOVERS_MAX + 1st time fails it instead, with
 * reason TASK_TAKEOVER_REASON: an item whose scan kills its node is not
 * run for ever, nor lost. On PostgreSQL the item is chosen with FOR
 * UPDATE SKIP LOCKED, so two claims never get the same one. */
#define STORE_TASK_OWNER_MAX 64
#define TASK_TAKEOVERS_MAX 3
#define TASK_TAKEOVER_REASON "the server running it stopped (its lease ran out) 4 times"

/* The oldest waiting item of a running task, or one whose lease ran out
 * at now_ms, marked running by owner until lease_ms (and its image, if it
 * has a row, "scanning"), into *w; *found false when none. An item whose
 * registry was deleted meanwhile is failed on the way. */
int store_task_claim(store *st, const char *owner, int64_t lease_ms, store_task_work *w,
                     bool *found, int64_t now_ms, imgsec_err *err);
/* Renews the lease of every item owner runs, to lease_ms. *n the items. */
int store_task_renew(store *st, const char *owner, int64_t lease_ms, int64_t *n, imgsec_err *err);

/* Settles a claimed item: success (risky: the image has vulnerability,
 * risk-config or malware records) or failed with reason (cut to
 * TASK_REASON_CHARS). Its task finishes when it was the last. */
int store_task_item_done(store *st, int64_t item_id, bool ok, bool risky, const char *reason,
                         int64_t now_ms, imgsec_err *err);

/* One tag found by a sync. */
typedef struct {
    const char *namespace_, *image_name, *image_version;
} store_sync_tag;

/* A sync's outcome for registry reg of project: the tags found get an
 * image row (waiting_for_scan) unless they have one; the registry's
 * status becomes "success", images_num n, latest_sync_time now. All in
 * one transaction. *added the rows made. */
int store_task_sync_apply(store *st, const char *project_id, const store_registry *reg,
                          const store_sync_tag *tags, size_t n, int64_t now_ms, int64_t *added,
                          imgsec_err *err);
/* A failed sync: the registry's status "fail" with fail_reason (a short
 * code, e.g. "auth_failed"). */
int store_task_sync_failed(store *st, int64_t registry_id, const char *code, int64_t now_ms,
                           imgsec_err *err);

/* StopImageScanTask: the waiting items of the project's task become
 * "stopped", the task "stopped" (an item running finishes). A task that
 * ended already is left as it is. IMGSEC_ENOTFOUND naming task_id. */
int store_task_stop(store *st, const char *project_id, int64_t task_id, int64_t now_ms,
                    imgsec_err *err);

/* At start: items left running by a stopped server wait again (they are
 * claimed and run again: tasks resume), each counting a takeover (failed
 * past TASK_TAKEOVERS_MAX, see above). On SQLite every running item (one
 * server per database file runs tasks); on PostgreSQL only those whose
 * lease ran out at now_ms or that have no owner: the others belong to
 * live nodes. *n the items made waiting. */
int store_task_resume(store *st, int64_t now_ms, int64_t *n, imgsec_err *err);
/* Whether an item of a running task waits, or runs with its lease run
 * out at now_ms (a claim would take it over). */
int store_task_pending(store *st, int64_t now_ms, bool *any, imgsec_err *err);

/* ListImageScanTask. */
typedef struct {
    task_kind kind;
    const char *task_type; /* NULL: any */
    int64_t task_id;       /* > 0: that one */
    const char *name;      /* substring of task_name */
    int status;            /* -1 any, 0 running ("scanning"), 1 ended ("finished") */
    int64_t created_from, ended_before; /* 0: no bound */
} store_task_filter;

typedef struct {
    int64_t id;
    task_kind kind;
    char task_type[16];
    char status[16]; /* running, finished, stopped */
    int scan_scope, rate_limit;
    bool is_all;
    int64_t created_ms, begin_ms, end_ms;
    int64_t total, success, failed, risky, waiting, running, stopped;
} store_task;

/* A failed item of the task just reported (image items and registries). */
typedef struct {
    int64_t image_id; /* images.id, 0 if none */
    int64_t registry_id;
    char registry_name[REG_BYTES(REG_NAME_CHARS)];
    char registry_type[16];
    char namespace_[REG_BYTES(256)], image_name[REG_BYTES(256)], image_version[REG_BYTES(128)];
    char reason[REG_BYTES(TASK_REASON_CHARS)];
} store_task_failure;

/* The project's tasks matching f, newest first, from offset, at most
 * limit: task(t) for each, then failure(f) for each of its failed items
 * (at most TASK_FAILED_SHOWN). *total all that match. One read
 * transaction. */
int store_task_list(store *st, const char *project_id, const store_task_filter *f,
                    int64_t offset, int64_t limit, void (*task)(const store_task *t, void *arg),
                    void (*failure)(const store_task_failure *f, void *arg), void *arg,
                    int64_t *total, imgsec_err *err);

#endif
