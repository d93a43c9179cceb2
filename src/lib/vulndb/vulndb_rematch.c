/* vulndb_rematch.c - recompute the vulnerability records of stored images
 * from their stored apps, without the images.
 *
 * Per image, in id order: its row and every record are read in one read
 * transaction of the store (the columns named by model.h's record tables
 * and store_image_col), rebuilt into an ingest document, its
 * vulnerabilities replaced by vulndb_match_apps over its apps, and the
 * document stored again through store_ingest: one write transaction per
 * image, the image keeps its id, the counts, aggregates and change log
 * follow, so a server's index and statistic move from one true answer to
 * the next, image by image.
 *
 * An image whose recomputed records equal its stored ones (same records,
 * same order: matching is deterministic) is not written again, so a
 * rematch after an update that changed little costs reads, not writes.
 *
 * Only images with at least one apps record carrying a purl are
 * rematched (those imgsec scan produced, or an importer that keeps
 * purls): vulnerabilities of images whose apps cannot be matched again
 * (no purl: other scanners' reports) are left as they are. An ingest of
 * the same image between the read and the write of a rematch is
 * overwritten by it; run it when no scan of those images is arriving.
 */
#include <stdlib.h>
#include <string.h>

#include "imgsec/doc.h"
#include "imgsec/util.h"
#include "store/store_int.h"
#include "vulndb/vulndb_db.h"

typedef struct {
    int64_t id;
    char project[MODEL_PROJECT_ID_MAX + 1];
    char ep[MODEL_PROJECT_ID_MAX + 1];
} image_ref;

/* The statements of read_document, prepared once per rematch run (reset
 * after each use, so they never hold a transaction open). */
typedef struct {
    sqlite3_stmt *image;
    sqlite3_stmt *records[REPORT_TYPE_COUNT];
} reader;

static void reader_free(reader *r)
{
    sqlite3_finalize(r->image);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) sqlite3_finalize(r->records[t]);
}

/* The statement reading an image row, prepared on first use. */
static sqlite3_stmt *image_stmt(store *st, reader *rd, imgsec_err *err)
{
    if (rd->image) return rd->image;
    char col[64];
    util_buf sql = {0};
    util_buf_printf(&sql, "SELECT ");
    for (int c = IC_IMAGE_TYPE; c < IC_SEVERITY_LEVEL; c++) {
        store_image_col(c, col, sizeof col);
        util_buf_printf(&sql, "%s\"%s\"", c == IC_IMAGE_TYPE ? "" : ", ", col);
    }
    util_buf_printf(&sql, " FROM images WHERE id = ?1");
    if (sql.failed) {
        free(sql.buf);
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    rd->image = store_prepare(st, sql.buf, "read image", err);
    free(sql.buf);
    return rd->image;
}

/* The statement reading the records of type t of an image, in seq order. */
static sqlite3_stmt *records_stmt(store *st, reader *rd, report_type t, imgsec_err *err)
{
    if (rd->records[t]) return rd->records[t];
    const record_kind *k = record_kind_get(t);
    util_buf q = {0};
    util_buf_printf(&q, "SELECT ");
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&q, "%s\"%s\"", f ? ", " : "", k->fields[f].name);
    util_buf_printf(&q, " FROM \"%s\" WHERE image = ?1 ORDER BY seq", k->table);
    if (q.failed) {
        free(q.buf);
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    rd->records[t] = store_prepare(st, q.buf, "read records", err);
    free(q.buf);
    return rd->records[t];
}

/* The stored document of image id (records in seq order), or NULL. */
static json_t *read_document(store *st, reader *rd, int64_t id, imgsec_err *err)
{
    char col[64];
    sqlite3_stmt *s = image_stmt(st, rd, err);
    if (!s) return NULL;
    sqlite3_bind_int64(s, 1, id);
    json_t *doc = json_object(), *image = json_object();
    json_object_set_new(doc, "image", image);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        json_decref(doc);
        err_set(err, IMGSEC_ENOTFOUND, "image %lld is gone", (long long)id);
        return NULL;
    }
    for (int c = IC_IMAGE_TYPE; c < IC_SEVERITY_LEVEL; c++) {
        int k = c - IC_IMAGE_TYPE;
        store_image_col(c, col, sizeof col);
        if (sqlite3_column_type(s, k) == SQLITE_INTEGER)
            json_object_set_new(image, col, json_integer(sqlite3_column_int64(s, k)));
        else if (sqlite3_column_type(s, k) == SQLITE_TEXT && sqlite3_column_bytes(s, k) > 0)
            json_object_set_new(image, col, json_string((const char *)sqlite3_column_text(s, k)));
    }
    sqlite3_reset(s);
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const record_kind *k = record_kind_get((report_type)t);
        if (!(s = records_stmt(st, rd, (report_type)t, err))) {
            json_decref(doc);
            return NULL;
        }
        sqlite3_bind_int64(s, 1, id);
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            json_t *r = json_object();
            for (size_t f = 0; f < k->nfields; f++) {
                int ty = sqlite3_column_type(s, (int)f);
                const char *name = k->fields[f].name;
                if (ty == SQLITE_INTEGER) json_object_set_new(r, name, json_integer(sqlite3_column_int64(s, (int)f)));
                else if (ty == SQLITE_FLOAT) json_object_set_new(r, name, json_real(sqlite3_column_double(s, (int)f)));
                else if (ty == SQLITE_TEXT)
                    json_object_set_new(r, name, json_stringn((const char *)sqlite3_column_text(s, (int)f),
                                                              (size_t)sqlite3_column_bytes(s, (int)f)));
            }
            json_array_append_new(arr, r);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            json_decref(arr);
            json_decref(doc);
            err_set(err, IMGSEC_EINTERNAL, "store: read records of image %lld", (long long)id);
            return NULL;
        }
        if (json_array_size(arr)) json_object_set_new(doc, k->doc_key, arr);
        else json_decref(arr);
    }
    return doc;
}

static bool has_purl(const json_t *apps)
{
    size_t i;
    const json_t *a;
    json_array_foreach(apps, i, a) {
        const json_t *p = json_object_get(a, "purl");
        if (json_is_string(p) && json_string_length(p) > 0) return true;
    }
    return false;
}

/* The image ids of the store with their project and EP. */
static int list_images(store *st, image_ref **out, size_t *n, imgsec_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = store_prepare(st, "SELECT id, project_id, ep FROM images ORDER BY id", "list images", err);
    if (!s) return err->code;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            image_ref *nr = realloc(*out, cap * sizeof **out);
            if (!nr) { sqlite3_finalize(s); return err_set(err, IMGSEC_EINTERNAL, "out of memory"); }
            *out = nr;
        }
        image_ref *r = &(*out)[(*n)++];
        r->id = sqlite3_column_int64(s, 0);
        store_column_copy(r->project, sizeof r->project, s, 1);
        store_column_copy(r->ep, sizeof r->ep, s, 2);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "store: list images");
}

int vulndb_rematch(vulndb *db, store *st, vulndb_progress_fn progress, void *ctx,
                   vulndb_rematch_stats *stats, imgsec_err *err)
{
    vulndb_rematch_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    image_ref *imgs = NULL;
    size_t n = 0;
    int rc = store_read_begin(st, err);
    if (rc == IMGSEC_OK) {
        rc = list_images(st, &imgs, &n, err);
        store_rollback(st);
    }
    reader rd = {0};
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        stats->images++;
        if ((rc = store_read_begin(st, err)) != IMGSEC_OK) break;
        json_t *doc = read_document(st, &rd, imgs[i].id, err);
        store_rollback(st);
        if (!doc) {
            if (err->code == IMGSEC_ENOTFOUND) { rc = IMGSEC_OK; stats->skipped++; continue; } /* deleted meanwhile */
            rc = err->code;
            break;
        }
        json_t *apps = json_object_get(doc, "apps");
        if (!has_purl(apps)) {
            stats->skipped++;
            json_decref(doc);
            continue;
        }
        json_t *vuls = json_array();
        vulndb_match_stats ms;
        rc = vulndb_match_apps(db, apps, NULL, NULL, vuls, NULL, &ms, err);
        stats->errors += ms.errors;
        json_t *old = json_object_get(doc, "vulnerabilities");
        if (rc == IMGSEC_OK && json_equal(old ? old : json_array_size(vuls) ? NULL : vuls, vuls)) {
            /* the same records in the same order: nothing to write */
            stats->vulnerabilities += (int64_t)json_array_size(vuls);
            stats->unchanged++;
            json_decref(vuls);
        } else if (rc == IMGSEC_OK) {
            stats->vulnerabilities += (int64_t)json_array_size(vuls);
            json_object_set_new(doc, "vulnerabilities", vuls);
            imgsec_doc d;
            char where[64];
            snprintf(where, sizeof where, "image %lld: ", (long long)imgs[i].id);
            rc = doc_from_json(doc, where, &d, err);
            if (rc == IMGSEC_OK) {
                store_ingest_result res;
                rc = store_ingest(st, imgs[i].project, imgs[i].ep, &d, 1, NULL, &res, NULL, NULL, err);
                doc_free(&d);
                if (rc == IMGSEC_OK) stats->rematched++;
            }
        } else {
            json_decref(vuls);
        }
        json_decref(doc);
        if (progress && (i + 1 == n || (i + 1) % 100 == 0))
            progress(ctx, "images", (int64_t)(i + 1), (int64_t)n);
    }
    reader_free(&rd);
    free(imgs);
    return rc;
}
