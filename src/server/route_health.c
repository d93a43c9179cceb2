/* route_health.c - the operators' routes (docs/operations.md).
 *
 * GET /healthz: the process answers (liveness). The daemon only listens
 * once its index is built, so an answer also means the index exists.
 *
 * GET /readyz: this node should be sent requests (readiness): it is not
 * draining (SIGTERM), the database answers a real read (a read
 * transaction and the change log's last position, on one of the request
 * connections), and the index has caught up with every commit made before
 * the probe (follower_sync). Otherwise 503 with Retry-After and the reason,
 * so that a load balancer takes the node out until it recovers.
 *
 * GET /metrics: the Prometheus text format (0.0.4): requests per route and
 * status and their latency (metrics.h), the index's size and its lag
 * behind the change log, the caches' hits and misses, the background
 * queues, database errors. Reading it costs a read transaction and a few
 * thousand atomic loads; nothing on the request path waits for it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth_cache.h"
#include "bg.h"
#include "imgsec/store_exports.h"
#include "metrics.h"
#include "result_cache.h"
#include "routes.h"

#define READY_RETRY_AFTER "1"    /* seconds: a database or index that failed may be back */
#define DRAINING_RETRY_AFTER "5" /* a node that stops is replaced by a new process */

void health_handle(request *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* The database answers a read: *max_seq gets the change log's last
 * position (0 when empty). */
static int store_probe(app *a, int64_t *max_seq, imgsec_err *err)
{
    store *st = store_pool_acquire(a->pool);
    int rc = store_snapshot_begin(st, max_seq, err);
    if (rc == IMGSEC_OK)
        store_snapshot_end(st);
    store_pool_release(a->pool, st);
    return rc;
}

static void not_ready(request *req, const char *retry_after, const char *reason)
{
    http_add_header(req, "Retry-After", retry_after);
    http_reply_json(req, 503, json_pack("{s:s, s:s}", "status", "not ready", "reason", reason));
}

void ready_handle(request *req)
{
    app *a = req->app;
    if (atomic_load(&a->draining))
        return not_ready(req, DRAINING_RETRY_AFTER, "draining: the server is stopping");
    imgsec_err err = {0};
    int64_t max_seq = 0;
    if (store_probe(a, &max_seq, &err) != IMGSEC_OK) {
        http_log_internal(req, err.code, err.msg);
        return not_ready(req, READY_RETRY_AFTER, "the database does not answer");
    }
    if (follower_sync(a->follow, &err) != IMGSEC_OK) {
        http_log_internal(req, err.code, err.msg);
        return not_ready(req, READY_RETRY_AFTER, "the index cannot catch up with the database");
    }
    http_reply_json(req, 200,
                    json_pack("{s:s, s:I, s:I}", "status", "ready", "images",
                              (json_int_t)index_size(a->ix), "position",
                              (json_int_t)follower_position(a->follow)));
}

static void write_queues(util_buf *out, bg *b)
{
    bg_queue_stats qs[BG_TYPES];
    bg_stats_get(b, qs);
    static const struct {
        const char *name, *help;
        size_t off;
    } COLS[] = {
        {"imgsec_queue_waiting", "Background jobs submitted and not started, by queue.",
         offsetof(bg_queue_stats, waiting)},
        {"imgsec_queue_running", "Background jobs running, by queue.",
         offsetof(bg_queue_stats, running)},
        {"imgsec_queue_capacity", "Background jobs a queue takes at once (workers + waiting "
         "places); beyond it new work is refused with 429.", offsetof(bg_queue_stats, capacity)},
    };
    for (size_t c = 0; c < sizeof COLS / sizeof COLS[0]; c++) {
        util_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", COLS[c].name, COLS[c].help,
                        COLS[c].name);
        for (int t = 0; t < BG_TYPES; t++) {
            unsigned v = *(const unsigned *)((const char *)&qs[t] + COLS[c].off);
            util_buf_printf(out, "%s{queue=\"%s\"} %u\n", COLS[c].name, bg_type_name((bg_type)t),
                            v);
        }
    }
}

void metrics_handle(request *req)
{
    app *a = req->app;
    util_buf out = {0};
    metrics_write_requests(a->metrics, &out);
    metrics_write_one(&out, "imgsec_http_in_flight", "gauge",
                      "Requests begun and not yet completed (this scrape included).",
                      (double)atomic_load(&a->in_flight));

    imgsec_err err = {0};
    int64_t max_seq = 0;
    bool up = store_probe(a, &max_seq, &err) == IMGSEC_OK;
    int64_t position = follower_position(a->follow);
    metrics_write_one(&out, "imgsec_database_up", "gauge",
                      "1 if the database answered this scrape's read, else 0.", up ? 1 : 0);
    metrics_write_one(&out, "imgsec_database_errors_total", "counter",
                      "Errors the database returned to this process (failed statements, "
                      "busy timeouts, full disk, I/O).", (double)store_db_errors());
    metrics_write_one(&out, "imgsec_index_images", "gauge", "Images in the in-memory index.",
                      (double)index_size(a->ix));
    metrics_write_one(&out, "imgsec_index_records", "gauge",
                      "Records (findings of every report type) of the indexed images.",
                      (double)index_records(a->ix));
    metrics_write_one(&out, "imgsec_index_position", "gauge",
                      "Change-log position the index reflects.", (double)position);
    if (up) {
        metrics_write_one(&out, "imgsec_changelog_position", "gauge",
                          "Last position of the database's change log.", (double)max_seq);
        metrics_write_one(&out, "imgsec_index_lag_changes", "gauge",
                          "Change-log entries committed and not yet in the index.",
                          (double)(max_seq > position ? max_seq - position : 0));
    }
    metrics_write_one(&out, "imgsec_index_rebuilds_total", "counter",
                      "Full rebuilds of the index from the database since start.",
                      (double)follower_rebuilds(a->follow));
    follower_stats fs;
    follower_stats_get(a->follow, &fs);
    static const char *const CAUSES[FOLLOW_CAUSES] = {"request", "notify", "poll"};
    util_buf_printf(&out, "# HELP imgsec_follow_syncs_total Index syncs begun, by what started "
                          "them: a request that found the index behind, a notification (or a "
                          "reconnection) of the listener, an unwoken look.\n"
                          "# TYPE imgsec_follow_syncs_total counter\n");
    for (int c = 0; c < FOLLOW_CAUSES; c++)
        util_buf_printf(&out, "imgsec_follow_syncs_total{cause=\"%s\"} %lld\n", CAUSES[c],
                        (long long)fs.syncs_by[c]);
    metrics_write_one(&out, "imgsec_follow_listening", "gauge",
                      "1 if the follower listens for the change log's notifications "
                      "(PostgreSQL), else 0.", fs.listening ? 1 : 0);
    metrics_write_one(&out, "imgsec_follow_notifications_total", "counter",
                      "Change-log notifications the follower's listener took.",
                      (double)fs.notifications);
    metrics_write_one(&out, "imgsec_follow_listen_reconnects_total", "counter",
                      "Times the listener's connection was made again after a loss.",
                      (double)fs.listen_reconnects);

    result_cache_stats rs;
    result_cache_stats_get(a->results, &rs);
    metrics_write_one(&out, "imgsec_result_cache_hits_total", "counter",
                      "Statistic answers served from the result cache.", (double)rs.hits);
    metrics_write_one(&out, "imgsec_result_cache_misses_total", "counter",
                      "Statistic answers computed (not in the result cache).", (double)rs.misses);
    metrics_write_one(&out, "imgsec_result_cache_entries", "gauge",
                      "Answers held by the result cache.", (double)rs.entries);
    metrics_write_one(&out, "imgsec_result_cache_bytes", "gauge",
                      "Memory held by the result cache.", (double)rs.bytes);
    uint64_t hits = 0, misses = 0;
    auth_cache_counts(a->tokens, &hits, &misses);
    metrics_write_one(&out, "imgsec_auth_cache_hits_total", "counter",
                      "Credentials (tokens and access keys) resolved from the cache.",
                      (double)hits);
    metrics_write_one(&out, "imgsec_auth_cache_misses_total", "counter",
                      "Credentials resolved by reading the database.", (double)misses);
    write_queues(&out, a->bg);

    if (out.failed) {
        free(out.buf);
        return http_reply_internal(req, "out of memory formatting the metrics");
    }
    http_reply_text(req, 200, out.buf, out.len, "text/plain; version=0.0.4; charset=utf-8");
    free(out.buf);
}
