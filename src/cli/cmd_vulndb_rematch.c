/* cmd_vulndb_rematch.c - imgsec vulndb rematch --db DB (and the rematch
 * that follows `update --db DB`): vulndb_rematch_run with --workers threads
 * (default: one per core, at most 8), --bulk (default auto: the
 * offline command may hold the write lock for the run; the server never
 * does) and progress on stderr. SIGTERM and SIGINT stop the run between
 * images, as a server stop does: the images matched so far are written
 * (a bulk write commits them, indexes rebuilt), the summary is printed
 * and the command exits 1. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "imgsec/util.h"
#include "imgsec/vulndb.h"

int cmd_vulndb_rematch(const char *db_path, vulndb *vdb, unsigned workers,
                       vulndb_rematch_bulk bulk);

static void show(void *ctx, const char *what, int64_t done, int64_t total)
{
    int64_t *last = ctx;
    int64_t now = util_mono_ns();
    if (done != total && now - *last < 200000000) return;
    *last = now;
    fprintf(stderr, "%srematch: %lld/%lld %s%s", cli_stderr_is_tty() ? "\r" : "", (long long)done,
            (long long)total, what, cli_stderr_is_tty() && done != total ? "" : "\n");
}

static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static bool stop_now(void *ctx)
{
    (void)ctx;
    return stop_asked != 0;
}

int cmd_vulndb_rematch(const char *db_path, vulndb *vdb, unsigned workers,
                       vulndb_rematch_bulk bulk)
{
    store *st = cli_store_open(db_path);
    if (!st) return CLI_FAIL;
    int64_t last = 0;
    vulndb_rematch_stats rs;
    imgsec_err err = {0};
    struct sigaction sa, old_term, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    stop_asked = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    vulndb_rematch_opts o = {.workers = workers, .stop = stop_now, .progress = show, .ctx = &last,
                             .bulk = bulk};
    int rc = vulndb_rematch_run(vdb, st, &o, &rs, &err);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    store_close(st);
    fprintf(stderr,
            "rematch: %lld images, %lld rematched, %lld unchanged (%lld vulnerabilities), %lld "
            "without purls left alone, %lld versions not comparable, %lld changed meanwhile "
            "(left to the next rematch)%s\n",
            (long long)rs.images, (long long)rs.rematched, (long long)rs.unchanged,
            (long long)rs.vulnerabilities, (long long)rs.skipped, (long long)rs.errors,
            (long long)rs.changed,
            rs.bulk ? "; one transaction, indexes rebuilt at its end (--bulk)" : "");
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(&err);
}
