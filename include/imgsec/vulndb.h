/* vulndb.h - the offline vulnerability database (OSV records) and the
 * matching of packages (apps records) against it.
 *
 * The database is a SQLite file of its own (default: vulndb.sqlite beside
 * the imgsec database; several imgsec databases may share one), 0600. It
 * keeps every imported OSV record (the newest `modified` per id) and, per
 * affected package, one row keyed by (ecosystem, name) holding that
 * entry's ranges and versions: matching one package is one indexed lookup
 * (docs/design.md "Vulnerability database").
 *
 * Matching works from apps records (app_name, app_version, app_type,
 * app_path, purl), so it serves a fresh scan and stored apps alike; the
 * rules per ecosystem are in docs/scanning-vulns.md.
 *
 * One vulndb handle is one SQLite connection: one handle per thread.
 */
#ifndef IMGSEC_VULNDB_H
#define IMGSEC_VULNDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"

typedef struct vulndb vulndb;

/* The database path used when none is given: $IMGSEC_VULNDB, else
 * "vulndb.sqlite" in the directory of imgsec_db (the imgsec database
 * path; NULL: the current directory). Written into buf; returns buf. */
const char *vulndb_default_path(const char *imgsec_db, char *buf, size_t size);

/* Opens the database at path, creating it (mode 0600) when create is
 * true; IMGSEC_ENOTFOUND when it does not exist and create is false. */
int vulndb_open(const char *path, bool create, vulndb **out, imgsec_err *err);
void vulndb_close(vulndb *db);

/* Progress of a long call: what ("file 3/10: x.json", "npm"), done of
 * total (total 0 when unknown). May be NULL. */
typedef void (*vulndb_progress_fn)(void *ctx, const char *what, int64_t done, int64_t total);

typedef struct {
    int64_t files;      /* JSON files and archive members read */
    int64_t records;    /* OSV records seen */
    int64_t added;      /* ids new to the database */
    int64_t replaced;   /* ids whose stored record was older */
    int64_t unchanged;  /* ids whose stored record was as new or newer */
} vulndb_import_stats;

/* Imports OSV records from paths: JSON files (one record, or an array of
 * records), directories (every *.json below them) and zip archives such
 * as OSV's per-ecosystem all.zip (read with libarchive). A record replaces
 * the stored record of its id only when its `modified` is later. All
 * paths are ONE transaction: any bad file or record fails the run with
 * its name in the message and changes nothing. */
int vulndb_import(vulndb *db, const char *const *paths, size_t n, vulndb_progress_fn progress,
                  void *ctx, vulndb_import_stats *stats, imgsec_err *err);
/* The same for records already in memory (one JSON record or an array). */
int vulndb_import_buffer(vulndb *db, const char *buf, size_t len, const char *name,
                         vulndb_import_stats *stats, imgsec_err *err);

/* {"records": N, "withdrawn": N, "newest_modified": "..." | null,
 *  "ecosystems": [{"ecosystem": "Debian", "records": N}, ...] (by name; the
 *                 records, not withdrawn, that name a package of it),
 *  "sources": [{"ecosystem": "npm", "url": ..., "etag": ..., "last_modified": ...,
 *               "fetched_at": ms}, ...]} */
int vulndb_status(vulndb *db, json_t **out, imgsec_err *err);

/* ---- update: OSV's per-ecosystem all.zip over HTTP(S) ---- */
#define VULNDB_DEFAULT_BASE_URL "https://osv-vulnerabilities.storage.googleapis.com"
#define VULNDB_DOWNLOAD_MAX ((int64_t)4 << 30) /* bytes of one archive */

typedef struct {
    int64_t fetched;    /* archives downloaded and imported */
    int64_t unchanged;  /* archives the server said were not modified (304) */
    vulndb_import_stats import;
} vulndb_update_stats;

/* For each ecosystem, GETs <base_url>/<ecosystem>/all.zip (libcurl,
 * redirects followed, TLS verified), conditional on the ETag and
 * Last-Modified of the previous download (If-None-Match,
 * If-Modified-Since), into a temporary file beside the database, imports
 * it (one transaction per archive) and remembers the validators. A 304
 * imports nothing. Any failure stops the run with the ecosystem named;
 * archives finished before it stay imported. */
int vulndb_update(vulndb *db, const char *base_url, const char *const *ecosystems, size_t n,
                  vulndb_progress_fn progress, void *ctx, vulndb_update_stats *stats,
                  imgsec_err *err);

/* ---- matching ---- */
typedef struct {
    int64_t packages;   /* apps records looked at */
    int64_t unmatched;  /* apps with no ecosystem imgsec matches (type, purl) */
    int64_t lookups;    /* (ecosystem, name) lookups */
    int64_t candidates; /* affected entries evaluated */
    int64_t matches;    /* vulnerability records appended */
    int64_t errors;     /* versions that could not be compared (see warnings) */
} vulndb_match_stats;

/* Matches every apps record of apps (a JSON array of apps records) and
 * appends one vulnerability record (data-model.md) per (package,
 * vulnerability) to vul_out (a JSON array). os_id and os_version (from
 * os-release, e.g. "debian", "12"; may be NULL) give the distribution
 * release for OS packages whose purl carries no distro qualifier.
 * A version that cannot be compared is never a silent match or miss: it
 * is counted in stats->errors and, when warnings is an array, described
 * there ("libfoo 1.x: DSA-1: dpkg version '...': ..."). */
int vulndb_match_apps(vulndb *db, const json_t *apps, const char *os_id, const char *os_version,
                      json_t *vul_out, json_t *warnings, vulndb_match_stats *stats,
                      imgsec_err *err);

/* ---- rematch: stored images from their stored apps ---- */
typedef struct store store;
typedef struct {
    int64_t images;          /* images looked at */
    int64_t rematched;       /* images stored again with recomputed vulnerabilities */
    int64_t unchanged;       /* images whose recomputed vulnerabilities equal the stored ones
                                (not written) */
    int64_t skipped;         /* images without an apps record with a purl (left alone) */
    int64_t changed;         /* images stored again or deleted by another writer between
                                the rematch's read and its write (not written: a newer scan
                                carries its own matches, else the next rematch does it) */
    int64_t vulnerabilities; /* vulnerability records they now hold */
    int64_t errors;          /* versions that could not be compared */
    bool stopped;            /* the run ended at a stop request (VULNDB_REMATCH_STOPPED) */
    bool bulk;               /* written as one bulk write (vulndb_rematch_opts.bulk) */
    bool busy;               /* another rematch of the database held its lock: nothing done
                                (VULNDB_REMATCH_BUSY) */
} vulndb_rematch_stats;

/* Whether a rematch writes as one bulk write (store_vul_bulk_begin: one
 * transaction for the whole run, the indexes ordered by vulnerability
 * dropped and rebuilt at its end) instead of a transaction per batch of
 * images. NEVER is what a server uses: other writers (ingests) would wait
 * for the whole run and readers see nothing of it until its end. AUTO:
 * bulk when at least half of the images that have apps records have no
 * vulnerability records (a first rematch: nearly every row is new).
 * ALWAYS: bulk whatever the store holds. */
typedef enum {
    VULNDB_REMATCH_BULK_NEVER = 0,
    VULNDB_REMATCH_BULK_AUTO,
    VULNDB_REMATCH_BULK_ALWAYS,
} vulndb_rematch_bulk;

/* How vulndb_rematch_run runs; all zero: on the calling thread alone, no
 * stop, no progress. */
typedef struct {
    /* Threads that read and match images. 0 or 1: the calling thread
     * does everything. N >= 2 (at most VULNDB_REMATCH_WORKERS_MAX): N
     * threads, each with its own connections to the vulnerability
     * database and the store (opened by the file name or URI st was
     * opened with), match while the calling thread writes, through st.
     * A store without a file (":memory:") is done on the calling thread
     * whatever workers says. */
    unsigned workers;
    /* Polled on the calling thread before each image; true stops the run
     * there. May be NULL. */
    bool (*stop)(void *ctx);
    /* ("images", done, total) on the calling thread, every 100 images and
     * at the end. May be NULL. */
    vulndb_progress_fn progress;
    void *ctx; /* for stop and progress */
    /* NEVER (0) unless set; with bulk, progress also reports ("indexes",
     * done, total) as the dropped indexes are rebuilt */
    vulndb_rematch_bulk bulk;
} vulndb_rematch_opts;
#define VULNDB_REMATCH_WORKERS_MAX 64
/* What vulndb_rematch_run returns when opts->stop asked it to stop
 * (stats->stopped is set, the message says how many images were done). */
#define VULNDB_REMATCH_STOPPED IMGSEC_ECONFLICT
/* What it returns when another rematch of the same database runs (on
 * PostgreSQL, on any node: the lock of store_rematch.c); stats->busy. */
#define VULNDB_REMATCH_BUSY IMGSEC_ECONFLICT

/* For every image of st (id order) that has an apps record with a purl:
 * reads its stored apps and vulnerability records, matches the apps, and
 * when the matches differ from the stored vulnerabilities replaces them,
 * storing the image again (store_ingest: one transaction per image, same
 * id, counts and change log updated); images whose matches equal the
 * stored records are not written. Images are written in id order. Stops
 * at the first failure or stop request; images done before it stay done
 * (in a bulk write too, unless rebuilding the indexes or the commit
 * fails: then nothing of the run is written).
 * First it takes the rematch lock of st's database (PostgreSQL: one
 * rematch per database, from any node or process; docs/design.md
 * "Rematch on PostgreSQL"): held by another, it returns
 * VULNDB_REMATCH_BUSY with stats->busy and does nothing.
 * db and st are used by the calling thread only. */
int vulndb_rematch_run(vulndb *db, store *st, const vulndb_rematch_opts *opts,
                       vulndb_rematch_stats *stats, imgsec_err *err);

/* vulndb_rematch_run on the calling thread alone, progress as in opts. */
int vulndb_rematch(vulndb *db, store *st, vulndb_progress_fn progress, void *ctx,
                   vulndb_rematch_stats *stats, imgsec_err *err);

#endif
