/* config.c - see config.h. Flags win over environment, environment over defaults. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsec/auth.h"
#include "imgsec/store.h"
#include "imgsec/util.h"

static const char USAGE[] =
    "usage: imgsecd [--db FILE] [--listen HOST:PORT] [--region REGION]\n"
    "               [--port-file FILE] [--threads N] [--token-ttl SECONDS]\n"
    "               [--max-ingest-bytes N]\n"
    "  --db FILE|URI       SQLite file or postgresql:// URI, created or migrated on start\n"
    "                      (IMGSEC_DB; ./imgsec.db); a URI needs --export-dir and a key file\n"
    "  --listen HOST:PORT  address to serve on; port 0 picks a free port (IMGSEC_LISTEN; 127.0.0.1:8080)\n"
    "  --region REGION     the region callers must name in their region header (IMGSEC_REGION; local-1)\n"
    "  --port-file FILE    once ready, write the bound port to FILE\n"
    "  --threads N         HTTP worker threads (default: number of cores, at least 2)\n"
    "  --token-ttl SECONDS lifetime of issued tokens (default 86400)\n"
    "  --max-ingest-bytes N  largest scan-results body (default 67108864)\n"
    "  --key-file PATH     key that seals access-key secrets, made 0600 on first start\n"
    "                      (IMGSEC_KEY_FILE; <db>.key)\n"
    "  --tls-cert PEM --tls-key PEM  serve HTTPS with this certificate and private key\n"
    "  --auth-fail-limit N failed authentications per client address per minute before 429\n"
    "                      (IMGSEC_AUTH_FAIL_LIMIT; 20; 0 disables)\n"
    "  --export-dir DIR    where export files live (default <db>.exports)\n"
    "  --export-retention SECONDS  export files are deleted this long after they were made\n"
    "                      (IMGSEC_EXPORT_RETENTION; 604800, 7 days)\n"
    "  --export-workers N  export tasks run at once (default 2); --export-queue N more may\n"
    "                      wait (default 8), beyond that creating a task answers 429\n"
    "  --scan-workers N    registry images pulled and scanned at once by scan tasks (default 2)\n"
    "  --result-cache-mb N memory for remembered statistic answers, each kept only until\n"
    "                      an image changes (IMGSEC_RESULT_CACHE_MB; 64; 0 disables)\n"
    "  --access-log FILE   the one line per request goes here, written in batches\n"
    "                      (IMGSEC_ACCESS_LOG; default: stderr)\n"
    "  --vulndb FILE       vulnerability database (imgsec vulndb) to watch: when it changes,\n"
    "                      the stored images are rematched in the background (IMGSEC_VULNDB)\n"
    "  --console-dir DIR   the web console's files, served at /console/ (IMGSEC_CONSOLE_DIR;\n"
    "                      default: ../share/imgsec/console or ../console beside the binary)\n"
    "  --unverified-body-mb N  memory for bodies of signed requests whose signature is not\n"
    "                      checked yet, in all (IMGSEC_UNVERIFIED_BODY_MB; 512)\n"
    "  --unverified-body-per-address-mb N  the same per client address\n"
    "                      (IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB; 128)\n"
    "  --metrics-from loopback|any  who may read GET /metrics: clients on the loopback\n"
    "                      address only (default), or any address (IMGSEC_METRICS_FROM)\n"
    "  --follow-notify on|off  on PostgreSQL, apply other nodes' writes to the index when\n"
    "                      their notification arrives (LISTEN/NOTIFY; IMGSEC_FOLLOW_NOTIFY; on)\n"
    "  --follow-poll-ms N  look for other processes' writes every N ms besides (IMGSEC_FOLLOW_POLL_MS;\n"
    "                      default 10, or 1000 while notifications are on)\n";

#define AUTH_FAIL_LIMIT_MAX 1000000
/* Unverified bodies (body_budget.h): one address may hold two of the
 * largest default ingest bodies, the server eight. */
#define UNVERIFIED_BODY_MB_DEFAULT 512
#define UNVERIFIED_BODY_PER_ADDRESS_MB_DEFAULT 128
#define UNVERIFIED_BODY_MB_MAX 65536
#define EXPORT_RETENTION_MAX_S (3660LL * 86400)

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* An integer from min to max, or a message naming what (a flag or an
 * environment variable) and -1. */
static int parse_range(const char *what, const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (!util_parse_int64(s, &v) || v < min || v > max) {
        fprintf(stderr, "imgsecd: %s must be an integer from %lld to %lld\n", what,
                (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_positive(const char *what, const char *s, int64_t max, int64_t *out)
{
    return parse_range(what, s, 1, max, out);
}

/* 0 to 65536 MiB, as bytes. */
static int parse_cache_mb(const char *what, const char *s, size_t *out)
{
    int64_t v;
    if (parse_range(what, s, 0, 65536, &v))
        return -1;
    *out = (size_t)v << 20;
    return 0;
}

/* 1 to UNVERIFIED_BODY_MB_MAX MiB, as bytes. */
static int parse_budget_mb(const char *what, const char *s, size_t *out)
{
    int64_t v;
    if (parse_positive(what, s, UNVERIFIED_BODY_MB_MAX, &v))
        return -1;
    *out = (size_t)v << 20;
    return 0;
}

/* "loopback" or "any". */
static int parse_metrics_from(const char *what, const char *s, bool *any)
{
    if (strcmp(s, "loopback") != 0 && strcmp(s, "any") != 0) {
        fprintf(stderr, "imgsecd: %s must be loopback or any\n", what);
        return -1;
    }
    *any = strcmp(s, "any") == 0;
    return 0;
}

/* "on" or "off". */
static int parse_on_off(const char *what, const char *s, bool *on)
{
    if (strcmp(s, "on") != 0 && strcmp(s, "off") != 0) {
        fprintf(stderr, "imgsecd: %s must be on or off\n", what);
        return -1;
    }
    *on = strcmp(s, "on") == 0;
    return 0;
}

#define FOLLOW_POLL_MS_MAX (86400LL * 1000)

/* Beside the binary: an install's share/imgsec/console, else the source
 * tree's console/ (the binary in build/). NULL when neither exists. */
static const char *console_dir_default(void)
{
    static char dir[4096];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    static const char *const CANDIDATES[] = {"/../share/imgsec/console", "/../console"};
    for (size_t i = 0; i < sizeof CANDIDATES / sizeof CANDIDATES[0]; i++) {
        struct stat st;
        if (snprintf(dir, sizeof dir, "%s%s", exe, CANDIDATES[i]) < (int)sizeof dir &&
            stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return dir;
    }
    return NULL;
}

int config_parse(config *cfg, int argc, char **argv, int *exit_code)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (config){
        .db_path = env_or("IMGSEC_DB", "./imgsec.db"),
        .listen = env_or("IMGSEC_LISTEN", "127.0.0.1:8080"),
        .region = env_or("IMGSEC_REGION", "local-1"),
        .threads = cores > 2 ? (unsigned)cores : 2,
        .token_ttl_ms = AUTH_TOKEN_TTL_MS,
        .ingest_max_bytes = 64u << 20,
        .drain_seconds = 30,
        .export_retention_ms = 7LL * 86400 * 1000,
        .export_workers = 2,
        .export_queue = 8,
        .scan_workers = 2,
        .auth_fail_limit = 20,
        .result_cache_bytes = (size_t)64 << 20,
        .access_log = env_or("IMGSEC_ACCESS_LOG", NULL),
        .console_dir = env_or("IMGSEC_CONSOLE_DIR", NULL),
        .vulndb_path = env_or("IMGSEC_VULNDB", NULL),
        .unverified_body_bytes = (size_t)UNVERIFIED_BODY_MB_DEFAULT << 20,
        .unverified_body_per_address_bytes = (size_t)UNVERIFIED_BODY_PER_ADDRESS_MB_DEFAULT << 20,
        .follow_notify = true,
    };
    const char *fn = getenv("IMGSEC_FOLLOW_NOTIFY");
    if (fn && *fn && parse_on_off("IMGSEC_FOLLOW_NOTIFY", fn, &cfg->follow_notify))
        goto bad;
    const char *fp = getenv("IMGSEC_FOLLOW_POLL_MS");
    if (fp && *fp && parse_positive("IMGSEC_FOLLOW_POLL_MS", fp, FOLLOW_POLL_MS_MAX,
                                    &cfg->follow_poll_ms))
        goto bad;
    const char *ub = getenv("IMGSEC_UNVERIFIED_BODY_MB");
    if (ub && *ub && parse_budget_mb("IMGSEC_UNVERIFIED_BODY_MB", ub, &cfg->unverified_body_bytes))
        goto bad;
    const char *uba = getenv("IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB");
    if (uba && *uba &&
        parse_budget_mb("IMGSEC_UNVERIFIED_BODY_PER_ADDRESS_MB", uba,
                        &cfg->unverified_body_per_address_bytes))
        goto bad;
    const char *afl = getenv("IMGSEC_AUTH_FAIL_LIMIT");
    int64_t v;
    if (afl && *afl) {
        if (parse_range("IMGSEC_AUTH_FAIL_LIMIT", afl, 0, AUTH_FAIL_LIMIT_MAX, &v))
            goto bad;
        cfg->auth_fail_limit = (unsigned)v;
    }
    const char *rcm = getenv("IMGSEC_RESULT_CACHE_MB");
    if (rcm && *rcm) {
        if (parse_cache_mb("IMGSEC_RESULT_CACHE_MB", rcm, &cfg->result_cache_bytes))
            goto bad;
    }
    const char *mf = getenv("IMGSEC_METRICS_FROM");
    if (mf && *mf && parse_metrics_from("IMGSEC_METRICS_FROM", mf, &cfg->metrics_any))
        goto bad;
    const char *ret = getenv("IMGSEC_EXPORT_RETENTION");
    if (ret && *ret) {
        if (parse_positive("IMGSEC_EXPORT_RETENTION", ret, EXPORT_RETENTION_MAX_S, &v))
            goto bad;
        cfg->export_retention_ms = v * 1000;
    }
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"region", required_argument, NULL, 'r'},
        {"port-file", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"token-ttl", required_argument, NULL, 'T'},
        {"max-ingest-bytes", required_argument, NULL, 'M'},
        {"key-file", required_argument, NULL, 'K'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'S'},
        {"auth-fail-limit", required_argument, NULL, 'A'},
        {"export-dir", required_argument, NULL, 'X'},
        {"export-retention", required_argument, NULL, 'R'},
        {"export-workers", required_argument, NULL, 'W'},
        {"export-queue", required_argument, NULL, 'Q'},
        {"scan-workers", required_argument, NULL, 'N'},
        {"result-cache-mb", required_argument, NULL, 'c'},
        {"access-log", required_argument, NULL, 'L'},
        {"unverified-body-mb", required_argument, NULL, 'U'},
        {"unverified-body-per-address-mb", required_argument, NULL, 'u'},
        {"console-dir", required_argument, NULL, 'D'},
        {"vulndb", required_argument, NULL, 'V'},
        {"metrics-from", required_argument, NULL, 'm'},
        {"follow-notify", required_argument, NULL, 'F'},
        {"follow-poll-ms", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg->db_path = optarg; break;
        case 'l': cfg->listen = optarg; break;
        case 'r': cfg->region = optarg; break;
        case 'p': cfg->port_file = optarg; break;
        case 't':
            if (parse_positive("--threads", optarg, 256, &v))
                goto bad;
            cfg->threads = (unsigned)v;
            break;
        case 'T':
            if (parse_positive("--token-ttl", optarg, 366LL * 86400, &v))
                goto bad;
            cfg->token_ttl_ms = v * 1000;
            break;
        case 'M':
            if (parse_positive("--max-ingest-bytes", optarg, 1LL << 32, &v))
                goto bad;
            cfg->ingest_max_bytes = (size_t)v;
            break;
        case 'K': cfg->key_file = optarg; break;
        case 'C': cfg->tls_cert = optarg; break;
        case 'S': cfg->tls_key = optarg; break;
        case 'A':
            if (parse_range("--auth-fail-limit", optarg, 0, AUTH_FAIL_LIMIT_MAX, &v))
                goto bad;
            cfg->auth_fail_limit = (unsigned)v;
            break;
        case 'X': cfg->export_dir = optarg; break;
        case 'R':
            if (parse_positive("--export-retention", optarg, EXPORT_RETENTION_MAX_S, &v))
                goto bad;
            cfg->export_retention_ms = v * 1000;
            break;
        case 'W':
            if (parse_positive("--export-workers", optarg, 64, &v))
                goto bad;
            cfg->export_workers = (unsigned)v;
            break;
        case 'N':
            if (parse_positive("--scan-workers", optarg, 64, &v))
                goto bad;
            cfg->scan_workers = (unsigned)v;
            break;
        case 'Q':
            if (parse_positive("--export-queue", optarg, 4096, &v))
                goto bad;
            cfg->export_queue = (unsigned)v;
            break;
        case 'c':
            if (parse_cache_mb("--result-cache-mb", optarg, &cfg->result_cache_bytes))
                goto bad;
            break;
        case 'L': cfg->access_log = optarg; break;
        case 'U':
            if (parse_budget_mb("--unverified-body-mb", optarg, &cfg->unverified_body_bytes))
                goto bad;
            break;
        case 'u':
            if (parse_budget_mb("--unverified-body-per-address-mb", optarg,
                                &cfg->unverified_body_per_address_bytes))
                goto bad;
            break;
        case 'D': cfg->console_dir = optarg; break;
        case 'V': cfg->vulndb_path = optarg; break;
        case 'm':
            if (parse_metrics_from("--metrics-from", optarg, &cfg->metrics_any))
                goto bad;
            break;
        case 'F':
            if (parse_on_off("--follow-notify", optarg, &cfg->follow_notify))
                goto bad;
            break;
        case 'P':
            if (parse_positive("--follow-poll-ms", optarg, FOLLOW_POLL_MS_MAX, &cfg->follow_poll_ms))
                goto bad;
            break;
        case 'h':
            fputs(USAGE, stdout);
            *exit_code = 0;
            return -1;
        default:
            goto bad;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imgsecd: unexpected argument '%s'\n", argv[optind]);
        goto bad;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        fprintf(stderr, "imgsecd: --tls-cert and --tls-key go together\n");
        goto bad;
    }
    /* Beside a SQLite file go its exports and key file by default; a
     * PostgreSQL database has no "beside": the operator names the
     * directory (the key file: main.c, keyfile_default_path). */
    if (store_db_is_pg(cfg->db_path) && !cfg->export_dir) {
        fprintf(stderr, "imgsecd: --db: a PostgreSQL database needs --export-dir (and --key-file "
                        "or IMGSEC_KEY_FILE)\n");
        goto bad;
    }
    if (!cfg->export_dir) {
        static char export_dir[4096];
        if (snprintf(export_dir, sizeof export_dir, "%s.exports", cfg->db_path) >=
            (int)sizeof export_dir) {
            fprintf(stderr, "imgsecd: --db path too long\n");
            goto bad;
        }
        cfg->export_dir = export_dir;
    }
    if (cfg->vulndb_path && !*cfg->vulndb_path)
        cfg->vulndb_path = NULL;
    if (!cfg->console_dir)
        cfg->console_dir = console_dir_default();
    if (!*cfg->region) {
        fprintf(stderr, "imgsecd: --region must not be empty\n");
        goto bad;
    }
    return 0;
bad:
    fputs(USAGE, stderr);
    *exit_code = 2;
    return -1;
}
