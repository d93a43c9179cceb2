/* config.c - see config.h. Flags win over environment, environment over defaults. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgsec/util.h"

static const char USAGE[] =
    "usage: imgsecd [--db FILE] [--listen HOST:PORT] [--region REGION]\n"
    "               [--port-file FILE] [--threads N] [--token-ttl SECONDS]\n"
    "               [--max-ingest-bytes N]\n"
    "  --db FILE           SQLite database, created or migrated on start (IMGSEC_DB; ./imgsec.db)\n"
    "  --listen HOST:PORT  address to serve on; port 0 picks a free port (IMGSEC_LISTEN; 127.0.0.1:8080)\n"
    "  --region REGION     the region callers must name in their region header (IMGSEC_REGION; local-1)\n"
    "  --port-file FILE    once ready, write the bound port to FILE\n"
    "  --threads N         HTTP worker threads (default: number of cores, at least 2)\n"
    "  --token-ttl SECONDS lifetime of issued tokens (default 86400)\n"
    "  --max-ingest-bytes N  largest scan-results body (default 67108864)\n";

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_positive(const char *flag, const char *s, int64_t max, int64_t *out)
{
    int64_t v;
    if (!util_parse_int64(s, &v) || v <= 0 || v > max) {
        fprintf(stderr, "imgsecd: %s must be an integer from 1 to %lld\n", flag, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int config_parse(config *cfg, int argc, char **argv, int *exit_code)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (config){
        .db_path = env_or("IMGSEC_DB", "./imgsec.db"),
        .listen = env_or("IMGSEC_LISTEN", "127.0.0.1:8080"),
        .region = env_or("IMGSEC_REGION", "local-1"),
        .threads = cores > 2 ? (unsigned)cores : 2,
        .token_ttl_ms = 24LL * 3600 * 1000,
        .ingest_max_bytes = 64u << 20,
        .drain_seconds = 30,
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"region", required_argument, NULL, 'r'},
        {"port-file", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"token-ttl", required_argument, NULL, 'T'},
        {"max-ingest-bytes", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    int64_t v;
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
