/* main.c - imgsecd: open the store, build the index, serve until SIGTERM.
 *
 * Signals are blocked before any thread starts, so only the main thread
 * receives them, synchronously with sigwait: shutdown runs as ordinary
 * code (drain requests in flight, stop the daemon, close the store)
 * rather than inside a signal handler. */
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_log.h"
#include "app.h"
#include "auth_cache.h"
#include "bg.h"
#include "config.h"
#include "export_workers.h"
#include "scan_tasks.h"
#include "http.h"
#include "imgsec/auth.h"
#include "imgsec/follow.h"
#include "imgsec/keyfile.h"
#include "imgsec/util.h"
#include "metrics.h"
#include "ratelimit.h"
#include "rematch.h"
#include "result_cache.h"

/* Tokens remembered at once (auth_cache.h): many more than clients that
 * call at the same time, few enough to be nothing in memory (~1.3 KiB each). */
#define TOKEN_CACHE_SLOTS 1024
#define TOKEN_PURGE_MS (3600LL * 1000) /* expired tokens go about once an hour */

/* A tick of the background clock (bg.h): deletes the expired tokens, one
 * indexed DELETE, so that the tokens table does not grow for the life of
 * the process (they are purged on start too). */
static void purge_tokens_tick(void *ctx, store *st)
{
    (void)ctx;
    imgsec_err err = {0};
    int64_t n = store_token_purge(st, util_now_ms(), &err);
    if (n < 0)
        server_log("purging expired tokens: %s", err.msg);
    else if (n)
        server_log("deleted %lld expired tokens", (long long)n);
}

/* TOKEN_PURGE_MS, or IMGSEC_TOKEN_PURGE_TEST_MS (tests). */
static int64_t token_purge_ms(void)
{
    const char *s = getenv("IMGSEC_TOKEN_PURGE_TEST_MS");
    int64_t v;
    if (!s || !*s || !util_parse_int64(s, &v) || v <= 0 || v > TOKEN_PURGE_MS)
        return TOKEN_PURGE_MS;
    return v;
}

/* Writes the port to path via a temporary file and rename, so a reader
 * never sees a half-written number. */
static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

static void app_close(app *a)
{
    http_stop(a); /* stops the background pool between the drain and the daemon's end */
    bg_stop(a->bg); /* when the daemon never started */
    export_workers_stop(a->exports); /* its tasks ended with the pool: the lease goes */
    a->exports = NULL;
    rematch_free(a->rematch);
    a->rematch = NULL;
    bg_free(a->bg);
    a->bg = NULL;
    if (a->results && a->cfg.result_cache_bytes == 0) {
        fprintf(stderr, "imgsecd: statistic answers: result cache off\n");
    } else if (a->results) {
        result_cache_stats rs;
        result_cache_stats_get(a->results, &rs);
        fprintf(stderr, "imgsecd: statistic answers: %llu from the result cache, %llu not in it\n",
                (unsigned long long)rs.hits, (unsigned long long)rs.misses);
    }
    if (a->tokens) {
        uint64_t hits, misses;
        auth_cache_counts(a->tokens, &hits, &misses);
        fprintf(stderr, "imgsecd: principals (tokens and access keys): %llu from the cache, "
                "%llu not in it\n", (unsigned long long)hits, (unsigned long long)misses);
    }
    if (a->follow) {
        follower_stats fs;
        follower_stats_get(a->follow, &fs);
        fprintf(stderr, "imgsecd: index follower: %lld batches applied; %lld requests waited for a "
                "commit to be applied, %.1f ms in all, %.1f ms at most; longest probe %.1f ms\n",
                (long long)fs.syncs, (long long)fs.waits, (double)fs.wait_ns_total / 1e6,
                (double)fs.wait_ns_max / 1e6, (double)fs.probe_ns_max / 1e6);
        fprintf(stderr, "imgsecd: index follower: %lld syncs asked by requests, %lld woken by "
                "notifications (%lld taken, %lld reconnections), %lld found by polling\n",
                (long long)fs.syncs_by[FOLLOW_BY_REQUEST], (long long)fs.syncs_by[FOLLOW_BY_NOTIFY],
                (long long)fs.notifications, (long long)fs.listen_reconnects,
                (long long)fs.syncs_by[FOLLOW_BY_POLL]);
    }
    follower_close(a->follow);
    index_free(a->ix);
    store_pool_close(a->pool);
    ratelimit_free(a->limiter);
    auth_cache_free(a->tokens);
    result_cache_free(a->results);
    metrics_free(a->metrics);
    a->metrics = NULL;
    access_log_close(a->alog); /* last: requests logged until the daemon stopped */
    a->alog = NULL;
    sodium_memzero(a->sk_key, sizeof a->sk_key);
    if (a->tls_key_pem)
        sodium_memzero(a->tls_key_pem, strlen(a->tls_key_pem));
    free(a->tls_key_pem);
    free(a->tls_cert_pem);
}

/* The key file (security.md) and the TLS files, before serving. */
static int app_load_secrets(app *a, imgsec_err *err)
{
    char path[KEYFILE_PATH_MAX];
    const char *kf = a->cfg.key_file;
    int rc;
    if (!kf) {
        if ((rc = keyfile_default_path(a->cfg.db_path, path, sizeof path, err)) != IMGSEC_OK)
            return rc;
        kf = path;
    }
    bool created = false;
    if ((rc = keyfile_load_or_create(kf, a->sk_key, &created, err)) != IMGSEC_OK)
        return rc;
    if (created)
        fprintf(stderr, "imgsecd: created the key file %s (mode 0600); back it up with the database\n",
                kf);
    if (!(a->limiter = ratelimit_new(a->cfg.auth_fail_limit, 60000)) ||
        !(a->tokens = auth_cache_new(TOKEN_CACHE_SLOTS)) ||
        !(a->results = result_cache_new(a->cfg.result_cache_bytes)))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (a->cfg.tls_cert) {
        size_t len;
        if (!(a->tls_cert_pem = util_read_file(a->cfg.tls_cert, &len)))
            return err_set(err, IMGSEC_EINVAL, "cannot read --tls-cert %s", a->cfg.tls_cert);
        if (!(a->tls_key_pem = util_read_file(a->cfg.tls_key, &len)))
            return err_set(err, IMGSEC_EINVAL, "cannot read --tls-key %s", a->cfg.tls_key);
    }
    return IMGSEC_OK;
}

/* One warning line per data file or directory that exists and that other
 * users can reach (group or other permission bits): they hold every
 * tenant's findings and the password hashes. What imgsec creates is
 * 0600/0700 whatever the umask (docs/security.md "Data at rest"); an
 * older file, or one chmod'ed since, is the operator's to fix. */
static void warn_open_modes(const config *cfg)
{
    static const char *const SUFFIXES[] = {"", "-wal", "-shm"};
    char path[4200];
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        struct stat sb;
        if (snprintf(path, sizeof path, "%s%s", cfg->db_path, SUFFIXES[i]) >= (int)sizeof path ||
            stat(path, &sb) != 0 || !(sb.st_mode & (S_IRWXG | S_IRWXO)))
            continue;
        fprintf(stderr, "imgsecd: warning: %s has mode %04o: other users can read it; chmod 600 it\n",
                path, (unsigned)(sb.st_mode & 07777));
    }
    struct stat sb;
    if (stat(cfg->export_dir, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO)))
        fprintf(stderr, "imgsecd: warning: %s has mode %04o: other users can read it; chmod 700 it\n",
                cfg->export_dir, (unsigned)(sb.st_mode & 07777));
}

int main(int argc, char **argv)
{
    app a;
    memset(&a, 0, sizeof a);
    int exit_code = 0;
    if (config_parse(&a.cfg, argc, argv, &exit_code) != 0)
        return exit_code;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    warn_open_modes(&a.cfg); /* before anything is created */
    imgsec_err err = {0};
    int64_t t0 = util_mono_ns();
    unsigned port = 0;
    int rc = auth_init(&err);
    if (rc == IMGSEC_OK)
        rc = access_log_open(a.cfg.access_log, &a.alog, &err);
    if (rc == IMGSEC_OK)
        rc = store_pool_open(a.cfg.db_path, a.cfg.threads + 1, &a.pool, &err);
    if (rc == IMGSEC_OK) {
        store *st = store_pool_acquire(a.pool);
        rc = store_token_purge(st, util_now_ms(), &err) < 0 ? IMGSEC_EINTERNAL : IMGSEC_OK;
        store_pool_release(a.pool, st);
    }
    if (rc == IMGSEC_OK)
        rc = app_load_secrets(&a, &err);
    if (rc == IMGSEC_OK && !(a.ix = index_new()))
        rc = err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    if (rc == IMGSEC_OK)
        rc = follower_open_opts(a.cfg.db_path, a.ix,
                                &(follower_opts){.listen = a.cfg.follow_notify,
                                                 .poll_ms = a.cfg.follow_poll_ms},
                                &a.follow, &err);
    if (rc == IMGSEC_OK)
        rc = bg_start(&a.cfg, &a.bg, &err);
    if (rc == IMGSEC_OK)
        rc = bg_every(a.bg, token_purge_ms(), purge_tokens_tick, NULL, &err);
    if (rc == IMGSEC_OK)
        rc = export_workers_start(&a, &a.exports, &err);
    if (rc == IMGSEC_OK)
        rc = rematch_start(&a, &a.rematch, &err);
    if (rc == IMGSEC_OK && !(a.metrics = metrics_new()))
        rc = err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    if (rc == IMGSEC_OK)
        rc = scan_tasks_start(&a, &err);
    if (rc == IMGSEC_OK)
        rc = http_start(&a, &port, &err);
    if (rc != IMGSEC_OK) {
        fprintf(stderr, "imgsecd: %s\n", err.msg);
        app_close(&a);
        return 1;
    }
    fprintf(stderr, "imgsecd: serving %s on %s (port %u), region %s: %zu images indexed in %.1f ms\n",
            a.cfg.db_path, a.cfg.listen, port, a.cfg.region, index_size(a.ix),
            (double)(util_mono_ns() - t0) / 1e6);
    if (a.cfg.port_file && write_port_file(a.cfg.port_file, port) != 0) {
        fprintf(stderr, "imgsecd: cannot write --port-file %s\n", a.cfg.port_file);
        app_close(&a);
        return 1;
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "imgsecd: %s received, draining requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    app_close(&a);
    fprintf(stderr, "imgsecd: stopped\n");
    return 0;
}
