/* index.h - the in-memory query index that answers the statistic route.
 *
 * The statistic never walks record rows at request time (DESIGN.md, "The
 * query path"). The index keeps, per image, a dense row number, its
 * filterable attributes, its derived attributes and its record counts per
 * report type; categorical attributes as roaring bitmaps; name attributes
 * as dictionaries of distinct strings each with a bitmap; and inverted
 * indexes for the record filters (vul_id -> rows with counts; distinct
 * build-command risks -> rows with counts).
 *
 * The store is the truth: the index is built from store_summary_foreach at
 * start and kept equal to it by applying store_changes_since.
 *
 * Thread safety: index_count and index_select may run in many threads at
 * once, and never wait for the writer. Writes come from one thread at a
 * time, grouped in a batch between index_write_begin and index_write_end;
 * a reader sees either none or all of a batch, never a part of it. The
 * index keeps two instances (left-right): a batch is applied to the one
 * readers do not use and published at index_write_end with one atomic
 * store; the other one is brought up to date afterwards: by replaying the
 * batch, or, after a batch that began with index_clear (a full rebuild),
 * by copying the published instance, which needs no copy of the batch's
 * summaries. Memory is about twice that of one instance: the per-image
 * strings that never change once stored (image_id, image_digest) are
 * shared by the two, not copied (index_internal.h, ix_str).
 *
 * Internals: src/lib/index/index_internal.h explains the layout.
 */
#ifndef IMGSEC_INDEX_H
#define IMGSEC_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/filter.h"
#include "imgsec/model.h"

typedef struct imgsec_index imgsec_index;

imgsec_index *index_new(void);
void index_free(imgsec_index *ix);

/* Write batch. Between begin and end (or abort), only the writing thread
 * may call index_upsert / index_remove / index_clear.
 *
 * begin first brings the hidden instance up to date (index_catch_up),
 * which may wait for queries that are still running in it. It returns
 * IMGSEC_OK, or IMGSEC_EINTERNAL when that is impossible - the last batch
 * could not be recorded for the second instance or replayed on it (out of
 * memory), or a batch that had changed something was aborted: this batch
 * must then be a full rebuild (index_clear, then every image). It says so
 * again at every begin until a batch with index_clear has been published.
 *
 * end publishes the batch and returns IMGSEC_OK, or IMGSEC_EINTERNAL if it
 * could not be recorded for the second instance (out of memory): the
 * batch is published and the index usable, but the next begin asks for a
 * full rebuild. If begin asked for a full rebuild and the batch did not
 * call index_clear, end publishes nothing (that index would lack every
 * image the batch did not touch), drops the batch and returns
 * IMGSEC_EINVAL.
 *
 * abort ends a batch without publishing it: readers keep seeing the last
 * published state (the writer's way out of a batch that failed part-way).
 * A batch that changed nothing may simply be tried again; after one that
 * did, the next begin asks for a full rebuild. */
int index_write_begin(imgsec_index *ix);
/* A batch begun with index_clear (a full rebuild) builds its
 * vulnerability postings on a second thread, in the order of the
 * upserts, so that the result is the serial one (index_bulk.c).
 * index_write_flush waits for that thread: IMGSEC_OK, or IMGSEC_EINTERNAL
 * when it ran out of memory, and then the batch must be aborted, not
 * published. index_write_end flushes too; after such a failure it
 * publishes nothing: it aborts the batch and returns IMGSEC_EINTERNAL
 * (so a writer that must know whether its rebuild was published
 * flushes first). A batch without index_clear has nothing to flush. */
int index_write_flush(imgsec_index *ix, imgsec_err *err);
int index_write_end(imgsec_index *ix);
void index_write_abort(imgsec_index *ix);

/* Applies the last published batch to the instance readers left, now
 * (waiting for queries still running in it), so that the next
 * index_write_begin has nothing left to do. The writer's thread only,
 * outside a batch. Optional: a writer that wants its next batch fast calls
 * it when idle. */
void index_catch_up(imgsec_index *ix);

/* Inserts or replaces the image s->id (copies everything it keeps).
 * Recomputes latest_version for the image's group (data-model.md).
 * IMGSEC_EINVAL for a summary out of its enums (or with a count outside
 * 0..UINT32_MAX), changing nothing; IMGSEC_EINTERNAL when out of memory, after which the
 * image s->id is absent from the index (rebuild to recover it). */
int index_upsert(imgsec_index *ix, const image_summary *s, imgsec_err *err);
/* Removes image id if present. */
void index_remove(imgsec_index *ix, int64_t id);
/* Removes every image (used before a full rebuild). */
void index_clear(imgsec_index *ix);

/* Where the caller may look: one project, and either every EP of it or
 * a list of EPs. */
typedef struct {
    const char *project_id;
    bool all_eps;
    const char *const *eps;
    size_t n_eps;
} index_scope;

/* The EPs that hold images of project_id in the published state, each
 * once, in no order: cb(ep, arg) per EP, called inside the read section
 * (cb must not call the index; ep lives until cb returns). Returns how
 * many. A dictionary scan: one entry per (project, EP), not per image. */
int index_project_eps(imgsec_index *ix, const char *project_id,
                      void (*cb)(const char *ep, void *arg), void *arg);

/* total_num of statistic.md for q over scope. */
int index_count(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                int64_t *total, imgsec_err *err);

/* Images indexed (all projects) as of the last completed write batch;
 * never blocks, so it may be called inside a batch too. */
size_t index_size(imgsec_index *ix);
/* Their records (every report type's, summed), as of the same batch. */
int64_t index_records(imgsec_index *ix);

/* Selected images in id order, for exports (export.md): calls cb with each
 * selected image id and the number of its records of q->report that pass
 * the record filters (skipping images with none). The selection is taken
 * from one published state; cb then runs outside the index (so it may be
 * slow, or query the index). A non-zero return from cb stops the
 * walk and is returned. */
int index_select(imgsec_index *ix, const index_scope *scope, const stat_query *q,
                 int (*cb)(int64_t image_id, int64_t records, void *arg), void *arg,
                 imgsec_err *err);

/* ---- pages of images, for the image list routes ---- */

/* The orders a page can be read in; ties broken by image id, ascending. */
typedef enum { INDEX_ORDER_ID, INDEX_ORDER_SCAN_TIME, INDEX_ORDER_COUNT } index_order;

/* One image as a list shows it. Strings point into the index: valid only
 * during the callback that receives it. */
typedef struct {
    int64_t id;
    image_type type;
    scan_status status;
    severity_level severity_level; /* SEVERITY_LEVEL_NONE: null */
    MODEL_IMAGE_STRINGS(MODEL_IMAGE_STRING_MEMBER) /* model.h's string attributes */
    int64_t image_size, latest_update_time, latest_scan_time, container_num;
    bool latest_version;
    int64_t counts[REPORT_TYPE_COUNT]; /* records per report type: the statistic's */
} index_image;

typedef struct {
    unsigned type_mask;   /* (1u << image_type) of the types listed; 0 = every type */
    index_order order;
    bool desc;
    int64_t offset, limit; /* >= 0 */
} index_page_req;

/* The images selected by scope and q's image filters (statistic.md; q's
 * record filters must be empty and q->report valid) and of a type in
 * p->type_mask: *total gets how many, and cb is called for each of the
 * page [offset, offset + limit) in p's order. The cost does not grow
 * with the offset: a page is found by counting bits in a bitset of the
 * selection laid out in that order (index_page.c). cb runs inside the
 * read of one published state: it must be quick and must not call the
 * index. */
int index_page(imgsec_index *ix, const index_scope *scope, const stat_query *q,
               const index_page_req *p, int64_t *total,
               void (*cb)(const index_image *img, void *arg), void *arg, imgsec_err *err);

#endif
