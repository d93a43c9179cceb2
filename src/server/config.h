/* config.h - imgsecd settings from flags and environment (spec/README.md). */
#ifndef IMGSECD_CONFIG_H
#define IMGSECD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *db_path;      /* --db, IMGSEC_DB; default ./imgsec.db */
    const char *listen;       /* --listen, IMGSEC_LISTEN; default 127.0.0.1:8080 */
    const char *region;       /* --region, IMGSEC_REGION; default local-1 */
    const char *port_file;    /* --port-file: write the bound port here once ready */
    unsigned threads;         /* --threads: HTTP worker threads; default: cores, >= 2 */
    int64_t token_ttl_ms;     /* --token-ttl SECONDS; default 24 h */
    size_t ingest_max_bytes;  /* --max-ingest-bytes; default 64 MiB */
    unsigned drain_seconds;   /* how long SIGTERM waits for requests in flight */
    const char *key_file;     /* --key-file: seals access-key SKs; default <db>.key (security.md) */
    const char *tls_cert;     /* --tls-cert PEM: serve HTTPS (with --tls-key) */
    const char *tls_key;      /* --tls-key PEM */
    unsigned auth_fail_limit; /* --auth-fail-limit, IMGSEC_AUTH_FAIL_LIMIT: failed
                                 authentications per client address per minute
                                 before 429 (default 20; 0 disables) */
    const char *export_dir;   /* --export-dir: export files; default <db>.exports */
    int64_t export_retention_ms; /* --export-retention SECONDS; default 7 days */
    unsigned export_workers;  /* --export-workers: tasks run at once; default 2 */
    unsigned export_queue;    /* --export-queue: tasks waiting beyond those; default 8 */
    unsigned scan_workers;    /* --scan-workers: registry images pulled and scanned at once;
                                 default 2 (scan_tasks.h) */
    size_t result_cache_bytes; /* --result-cache-mb, IMGSEC_RESULT_CACHE_MB: statistic
                                  answers kept for the index's current content
                                  (default 64 MiB; 0 disables) */
    const char *access_log;   /* --access-log, IMGSEC_ACCESS_LOG: request lines; NULL: stderr */
    /* Bodies of signed requests held before their signature is checked
     * (body_budget.h): in all, and per client address. */
    size_t unverified_body_bytes;             /* --unverified-body-mb, IMGSEC_UNVERIFIED_BODY_MB */
    size_t unverified_body_per_address_bytes; /* --unverified-body-per-address-mb,
                                                 IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB */
    const char *vulndb_path;  /* --vulndb, IMGSEC_VULNDB: the vulnerability database whose
                                 changes rematch the stored images (rematch.h); NULL:
                                 none (no default: the server rematches only when told) */
    const char *console_dir;  /* --console-dir, IMGSEC_CONSOLE_DIR: the web console's files;
                                 default <binary dir>/../share/imgsec/console if it exists,
                                 else <binary dir>/../console (the source tree from build/) */
    bool metrics_any;         /* --metrics-from any (IMGSEC_METRICS_FROM): /metrics answers
                                 every address; default loopback only (operations.md) */
    bool follow_notify;       /* --follow-notify on|off, IMGSEC_FOLLOW_NOTIFY: on PostgreSQL,
                                 wake the index follower by LISTEN/NOTIFY (default on) */
    int64_t follow_poll_ms;   /* --follow-poll-ms, IMGSEC_FOLLOW_POLL_MS: the follower's
                                 unwoken looks; 0 (default): 10 ms, or 1000 ms while it
                                 listens (follow.h follower_opts) */
} config;

/* Fills cfg from argv and the environment. Returns 0, or prints usage /
 * an error to stderr and returns the exit code to use (0 for --help). */
int config_parse(config *cfg, int argc, char **argv, int *exit_code);

#endif
