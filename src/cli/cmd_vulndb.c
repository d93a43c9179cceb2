/* cmd_vulndb.c - imgsec vulndb: the offline vulnerability database.
 *
 *   import FILE|DIR|ZIP...   OSV records (one transaction per run)
 *   update [--base-url U] [--ecosystems a,b]   download all.zip per ecosystem
 *   status                   ecosystems, record counts, newest modified
 *   match FILE               match an apps array (JSON) and print vulnerabilities
 *   rematch --db DB          recompute the vulnerabilities of stored images
 *
 * --vulndb FILE (default: $IMGSEC_VULNDB, else vulndb.sqlite beside --db).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "imgsec/util.h"
#include "imgsec/vulndb.h"

static const char USAGE[] =
    "usage: imgsec vulndb COMMAND [--vulndb FILE] [--db DB] ...\n"
    "  import FILE|DIR|ZIP...    load OSV records: JSON files (a record or an array),\n"
    "                            directories of them, OSV's per-ecosystem all.zip\n"
    "  update [--base-url URL] [--ecosystems E1,E2]\n"
    "                            download <URL>/<ecosystem>/all.zip (conditional: an\n"
    "                            unchanged archive is not fetched again) and import it;\n"
    "                            then rematch the images of --db when it is given\n"
    "  status                    ecosystems, record counts, newest modified time (JSON)\n"
    "  match [--os ID:VERSION] [--repeat N] FILE   match a JSON array of apps records,\n"
    "                            print the vulnerability records (JSON) and the time taken\n"
    "  rematch --db DB [--workers N] [--bulk auto|yes|no]   recompute the vulnerability\n"
    "                            records of every stored image from its stored apps,\n"
    "                            matching on N threads (default: one per core, at most 8);\n"
    "                            --bulk yes: one transaction for the whole run, the\n"
    "                            indexes by vulnerability rebuilt at its end (fast when\n"
    "                            most rows are new; other writers wait for the whole\n"
    "                            run); auto (default): when at least half the images\n"
    "                            with apps have no vulnerabilities; no: per 100 images\n"
    "  --vulndb FILE   the database (default: $IMGSEC_VULNDB, else vulndb.sqlite in the\n"
    "                  directory of --db)\n"
    "  See docs/scanning-vulns.md.\n";

#define DEFAULT_ECOSYSTEMS "Debian,Alpine,Ubuntu,npm,PyPI,Maven,Go,crates.io,RubyGems"

typedef struct {
    int64_t last_ns;
} progress_state;

static void show_progress(void *ctx, const char *what, int64_t done, int64_t total)
{
    progress_state *p = ctx;
    int64_t now = util_mono_ns();
    if (now - p->last_ns < 200000000) return;
    p->last_ns = now;
    if (total > 0)
        fprintf(stderr, "%s%s: %lld/%lld%s", cli_stderr_is_tty() ? "\r" : "", what, (long long)done,
                (long long)total, cli_stderr_is_tty() ? "" : "\n");
    else
        fprintf(stderr, "%s%s: %lld records%s", cli_stderr_is_tty() ? "\r" : "", what,
                (long long)done, cli_stderr_is_tty() ? "" : "\n");
}

int cmd_vulndb_rematch(const char *db_path, vulndb *vdb, unsigned workers,
                       vulndb_rematch_bulk bulk); /* cmd_vulndb_rematch.c */

static int do_status(vulndb *vdb)
{
    json_t *o;
    imgsec_err err = {0};
    if (vulndb_status(vdb, &o, &err) != IMGSEC_OK) return cli_fail(&err);
    json_dumpf(o, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(o);
    return CLI_OK;
}

/* CPU time of this thread: on a loaded machine, what the work cost. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int do_match(vulndb *vdb, const char *os, const char *file, int repeat)
{
    size_t len;
    char *buf = util_read_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file, &len);
    if (!buf) {
        fprintf(stderr, "imgsec vulndb: cannot read %s\n", file);
        return CLI_FAIL;
    }
    json_error_t je;
    json_t *apps = json_loadb(buf, len, 0, &je);
    free(buf);
    if (!json_is_array(apps)) {
        fprintf(stderr, "imgsec vulndb: %s: not a JSON array of apps records\n", file);
        json_decref(apps);
        return CLI_FAIL;
    }
    char os_id[64] = "";
    const char *os_ver = NULL;
    if (os) {
        snprintf(os_id, sizeof os_id, "%.*s", (int)strcspn(os, ":"), os);
        os_ver = strchr(os, ':') ? strchr(os, ':') + 1 : NULL;
    }
    json_t *out = json_array(), *warnings = json_array();
    vulndb_match_stats st;
    imgsec_err err = {0};
    int64_t t0 = 0, t1 = 0, c0 = 0, c1 = 0;
    int rc = IMGSEC_OK;
    for (int r = 0; r < repeat && rc == IMGSEC_OK; r++) { /* --repeat: the later runs are warm */
        json_array_clear(out);
        json_array_clear(warnings);
        t0 = util_mono_ns();
        c0 = cpu_ns();
        rc = vulndb_match_apps(vdb, apps, os ? os_id : NULL, os_ver, out, warnings, &st, &err);
        c1 = cpu_ns();
        t1 = util_mono_ns();
        if (repeat > 1)
            fprintf(stderr, "run %d: %.2f ms (%.2f ms CPU)\n", r + 1, (double)(t1 - t0) / 1e6,
                    (double)(c1 - c0) / 1e6);
    }
    json_decref(apps);
    if (rc == IMGSEC_OK) {
        size_t i;
        json_t *w;
        json_array_foreach(warnings, i, w) fprintf(stderr, "imgsec vulndb: %s\n", json_string_value(w));
        json_dumpf(out, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        fprintf(stderr,
                "%lld packages (%lld matched no ecosystem), %lld lookups, %lld candidates, "
                "%lld vulnerabilities, %lld errors in %.2f ms (%.2f ms CPU)\n",
                (long long)st.packages, (long long)st.unmatched, (long long)st.lookups,
                (long long)st.candidates, (long long)st.matches, (long long)st.errors,
                (double)(t1 - t0) / 1e6, (double)(c1 - c0) / 1e6);
    }
    json_decref(out);
    json_decref(warnings);
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(&err);
}

int cmd_vulndb(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1];
    const char *vpath = NULL, *db = NULL, *base = NULL, *ecos = NULL, *os = NULL;
    int repeat = 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = cpus > 1 ? (unsigned)(cpus < 8 ? cpus : 8) : 1;
    vulndb_rematch_bulk bulk = VULNDB_REMATCH_BULK_AUTO;
    static const struct option opts[] = {
        {"vulndb", required_argument, 0, 'v'}, {"db", required_argument, 0, 'd'},
        {"base-url", required_argument, 0, 'b'}, {"ecosystems", required_argument, 0, 'e'},
        {"os", required_argument, 0, 'o'}, {"repeat", required_argument, 0, 'r'},
        {"workers", required_argument, 0, 'w'}, {"bulk", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        switch (c) {
        case 'v': vpath = optarg; break;
        case 'd': db = optarg; break;
        case 'b': base = optarg; break;
        case 'e': ecos = optarg; break;
        case 'o': os = optarg; break;
        case 'r':
            repeat = atoi(optarg);
            if (repeat < 1 || repeat > 1000) {
                fprintf(stderr, "imgsec vulndb: --repeat takes 1 to 1000\n");
                return CLI_USAGE;
            }
            break;
        case 'w': {
            int w = atoi(optarg);
            if (w < 1 || w > VULNDB_REMATCH_WORKERS_MAX) {
                fprintf(stderr, "imgsec vulndb: --workers takes 1 to %d\n", VULNDB_REMATCH_WORKERS_MAX);
                return CLI_USAGE;
            }
            workers = (unsigned)w;
            break;
        }
        case 'B':
            if (strcmp(optarg, "auto") == 0) bulk = VULNDB_REMATCH_BULK_AUTO;
            else if (strcmp(optarg, "yes") == 0) bulk = VULNDB_REMATCH_BULK_ALWAYS;
            else if (strcmp(optarg, "no") == 0) bulk = VULNDB_REMATCH_BULK_NEVER;
            else {
                fprintf(stderr, "imgsec vulndb: --bulk takes auto, yes or no\n");
                return CLI_USAGE;
            }
            break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    char **rest = argv + 1 + optind;
    int nrest = argc - 1 - optind;
    char vbuf[4096];
    if (!vpath) vpath = vulndb_default_path(db ? db : getenv("IMGSEC_DB"), vbuf, sizeof vbuf);
    bool writes = strcmp(sub, "import") == 0 || strcmp(sub, "update") == 0;
    if (!writes && strcmp(sub, "status") && strcmp(sub, "match") && strcmp(sub, "rematch")) {
        fprintf(stderr, "imgsec vulndb: unknown command '%s'\n%s", sub, USAGE);
        return CLI_USAGE;
    }
    if (strcmp(sub, "import") == 0 && nrest < 1) {
        fprintf(stderr, "imgsec vulndb import: FILE is required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (strcmp(sub, "match") == 0 && nrest != 1) {
        fprintf(stderr, "imgsec vulndb match: one FILE is required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (strcmp(sub, "rematch") == 0 && !cli_need("vulndb rematch", USAGE, db, "--db"))
        return CLI_USAGE;
    vulndb *vdb;
    imgsec_err err = {0};
    if (vulndb_open(vpath, writes, &vdb, &err) != IMGSEC_OK) return cli_fail(&err);
    int rc = CLI_OK;
    progress_state ps = {0};
    if (strcmp(sub, "import") == 0) {
        vulndb_import_stats st;
        if (vulndb_import(vdb, (const char *const *)rest, (size_t)nrest, show_progress, &ps, &st,
                          &err) != IMGSEC_OK)
            rc = cli_fail(&err);
        else
            fprintf(stderr,
                    "imported %lld records from %lld files: %lld new, %lld replaced, %lld unchanged\n",
                    (long long)st.records, (long long)st.files, (long long)st.added,
                    (long long)st.replaced, (long long)st.unchanged);
    } else if (strcmp(sub, "update") == 0) {
        char list[1024];
        snprintf(list, sizeof list, "%s", ecos ? ecos : DEFAULT_ECOSYSTEMS);
        const char *names[64];
        size_t n = 0;
        for (char *tok = strtok(list, ","); tok && n < 64; tok = strtok(NULL, ",")) names[n++] = tok;
        vulndb_update_stats st;
        if (vulndb_update(vdb, base ? base : VULNDB_DEFAULT_BASE_URL, names, n, show_progress, &ps,
                          &st, &err) != IMGSEC_OK) {
            rc = cli_fail(&err);
        } else {
            fprintf(stderr,
                    "%lld archives fetched, %lld unchanged; %lld records: %lld new, %lld replaced, "
                    "%lld unchanged\n",
                    (long long)st.fetched, (long long)st.unchanged, (long long)st.import.records,
                    (long long)st.import.added, (long long)st.import.replaced,
                    (long long)st.import.unchanged);
            if (db) rc = cmd_vulndb_rematch(db, vdb, workers, bulk);
        }
    } else if (strcmp(sub, "status") == 0) {
        rc = do_status(vdb);
    } else if (strcmp(sub, "match") == 0) {
        rc = do_match(vdb, os, rest[0], repeat);
    } else {
        rc = cmd_vulndb_rematch(db, vdb, workers, bulk);
    }
    vulndb_close(vdb);
    return rc;
}
