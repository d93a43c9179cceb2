/* vulndb.c - the vulnerability database file: schema, import, status.
 *
 * Tables (docs/design.md "Vulnerability database"):
 *   vuln(id, modified, modified_key, withdrawn, vul_id, severity, score,
 *        description, url)                one row per OSV id, the newest
 *   vuln_json(vuln, json)                 its record as imported, apart so
 *        that the rows matching reads stay small and dense
 *   affected(ecosystem, name, vuln, entry, spec) one row per affected
 *        package of a record that is not withdrawn, spec its ranges and
 *        versions in the binary encoding of vulndb_int.h, clustered by
 *        (ecosystem, name) (WITHOUT ROWID): the lookup matching makes is
 *        one range of one B-tree
 *   source(ecosystem, url, etag, last_modified, fetched_at)  update's
 *        validators per downloaded archive
 * modified_key is `modified` written so that string order is time order
 * (fraction padded to 9 digits), which decides "newer" on import.
 *
 * An import run is one write transaction (BEGIN IMMEDIATE): records are
 * parsed one at a time (osv.c), so memory holds one record, never a file
 * of them beyond its bytes, never an archive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsec/util.h"
#include "imgsec/vulndb.h"
#include "vulndb/vulndb_db.h"

/* 1: affected.spec was JSON text; 2: the binary spec encoding
 * (vulndb_int.h). Opening a version 1 file rebuilds its affected rows from
 * the stored records (migrate_v1). */
#define SCHEMA_VERSION 2

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS vuln("
    " id TEXT PRIMARY KEY, modified TEXT NOT NULL, modified_key TEXT NOT NULL,"
    " withdrawn INTEGER NOT NULL, vul_id TEXT NOT NULL, severity TEXT NOT NULL,"
    " score REAL, description TEXT NOT NULL, url TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vuln_json(vuln INTEGER PRIMARY KEY, json TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS affected("
    " ecosystem TEXT NOT NULL, name TEXT NOT NULL, vuln INTEGER NOT NULL, entry INTEGER NOT NULL,"
    " spec BLOB NOT NULL, PRIMARY KEY (ecosystem, name, vuln, entry)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS affected_vuln ON affected(vuln);"
    "CREATE TABLE IF NOT EXISTS source("
    " ecosystem TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,"
    " fetched_at INTEGER NOT NULL);";

const char *vulndb_default_path(const char *imgsec_db, char *buf, size_t size)
{
    const char *env = getenv("IMGSEC_VULNDB");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    const char *slash = imgsec_db ? strrchr(imgsec_db, '/') : NULL;
    if (slash)
        snprintf(buf, size, "%.*s/vulndb.sqlite", (int)(slash - imgsec_db), imgsec_db);
    else
        snprintf(buf, size, "vulndb.sqlite");
    return buf;
}

int vdb_sql_err(vulndb *db, imgsec_err *err, const char *what)
{
    return err_set(err, IMGSEC_EINTERNAL, "vulnerability database: %s: %s", what,
                   sqlite3_errmsg(db->db));
}

static int migrate_v1(vulndb *db, imgsec_err *err);

/* Pages are read through a memory map of the file (up to this many
 * bytes): matching touches pages all over the affected and vuln tables,
 * and a mapped page costs neither a read() nor a copy into the cache. */
#define VDB_MMAP_SIZE "4294967296"

/* The file's PRAGMA user_version (its schema), 0 when it cannot be read. */
static int user_version(vulndb *db)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

int vulndb_open(const char *path, bool create, vulndb **out, imgsec_err *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (!create) return err_set(err, IMGSEC_ENOTFOUND, "no vulnerability database at %s", path);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return err_set(err, IMGSEC_EINTERNAL, "cannot create %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
    }
    vulndb *db = calloc(1, sizeof *db);
    if (!db) return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    db->path = strdup(path);
    mode_t old = umask(077); /* -wal and -shm files too */
    int rc = sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db->db, 30000);
        rc = sqlite3_exec(db->db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA cache_size=-65536; PRAGMA mmap_size=" VDB_MMAP_SIZE ";",
                          NULL, NULL, NULL);
    }
    umask(old);
    if (rc != SQLITE_OK || !db->path) {
        err_set(err, IMGSEC_EINTERNAL, "cannot open vulnerability database %s: %s", path,
                db->db ? sqlite3_errmsg(db->db) : "out of memory");
        vulndb_close(db);
        return IMGSEC_EINTERNAL;
    }
    int version = user_version(db);
    if (version > SCHEMA_VERSION) {
        err_set(err, IMGSEC_EINTERNAL, "%s: vulnerability database schema %d is newer than this imgsec (%d)",
                path, version, SCHEMA_VERSION);
        vulndb_close(db);
        return IMGSEC_EINTERNAL;
    }
    if (version == 1 && migrate_v1(db, err) != IMGSEC_OK) {
        vulndb_close(db);
        return IMGSEC_EINTERNAL;
    }
    if (version == 0) {
        char *msg = NULL;
        char sql[sizeof SCHEMA + 64];
        snprintf(sql, sizeof sql, "BEGIN IMMEDIATE;%sPRAGMA user_version=%d;COMMIT;", SCHEMA,
                 SCHEMA_VERSION);
        if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
            err_set(err, IMGSEC_EINTERNAL, "%s: cannot create the schema: %s", path, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
            vulndb_close(db);
            return IMGSEC_EINTERNAL;
        }
    }
    *out = db;
    return IMGSEC_OK;
}

void vulndb_close(vulndb *db)
{
    if (!db) return;
    for (size_t i = 0; i < VDB_STMT_COUNT; i++) sqlite3_finalize(db->stmt[i]);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

static const char *const STMT_SQL[VDB_STMT_COUNT] = {
    [VDB_GET_VULN] = "SELECT rowid, modified_key FROM vuln WHERE id = ?1",
    [VDB_INSERT_VULN] = "INSERT INTO vuln(id, modified, modified_key, withdrawn, vul_id, severity,"
                        " score, description, url) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [VDB_UPDATE_VULN] = "UPDATE vuln SET modified=?2, modified_key=?3, withdrawn=?4, vul_id=?5,"
                        " severity=?6, score=?7, description=?8, url=?9 WHERE rowid=?10",
    [VDB_PUT_JSON] = "INSERT OR REPLACE INTO vuln_json(vuln, json) VALUES(?1, ?2)",
    [VDB_DELETE_AFFECTED] = "DELETE FROM affected WHERE vuln = ?1",
    [VDB_INSERT_AFFECTED] = "INSERT INTO affected(ecosystem, name, vuln, entry, spec)"
                            " VALUES(?1,?2,?3,?4,?5)",
    /* matching: the entries of a package, then the record of an entry that
     * affects it (most candidates do not: their record is never read) */
    [VDB_LOOKUP] = "SELECT spec, vuln FROM affected WHERE ecosystem = ?1 AND name = ?2",
    [VDB_DETAILS] = "SELECT id, vul_id, severity, score, description, url FROM vuln WHERE rowid = ?1",
    /* prepared, not sqlite3_exec'd: a match call parses no SQL */
    [VDB_BEGIN_READ] = "BEGIN",
    [VDB_COMMIT] = "COMMIT",
};

sqlite3_stmt *vdb_stmt(vulndb *db, vdb_stmt_id id, imgsec_err *err)
{
    if (!db->stmt[id] &&
        sqlite3_prepare_v3(db->db, STMT_SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[id], NULL) !=
            SQLITE_OK) {
        vdb_sql_err(db, err, "prepare");
        return NULL;
    }
    sqlite3_reset(db->stmt[id]);
    sqlite3_clear_bindings(db->stmt[id]);
    return db->stmt[id];
}

/* modified as a string whose order is time order: the first 19 bytes
 * (YYYY-MM-DDTHH:MM:SS), the fraction padded to 9 digits, the rest. */
static void modified_key(const char *m, char *out, size_t size)
{
    size_t n = strlen(m);
    if (n < 19) {
        snprintf(out, size, "%s", m);
        return;
    }
    const char *p = m + 19;
    char frac[10] = "000000000";
    if (*p == '.') {
        p++;
        for (int i = 0; isdigit_c(*p); p++, i++)
            if (i < 9) frac[i] = *p;
    }
    snprintf(out, size, "%.19s.%s%s", m, frac, p);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* The affected rows of rec, stored as record rowid. A withdrawn record
 * keeps its row (status counts it) but no entries: it can never match. */
static int insert_affected(vulndb *db, const osv_record *rec, int64_t rowid, imgsec_err *err)
{
    for (size_t i = 0; i < rec->n_affected && !rec->withdrawn; i++) {
        sqlite3_stmt *st = vdb_stmt(db, VDB_INSERT_AFFECTED, err);
        if (!st) return err->code;
        bind_text(st, 1, rec->affected[i].ecosystem);
        bind_text(st, 2, rec->affected[i].name);
        sqlite3_bind_int64(st, 3, rowid);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)i);
        sqlite3_bind_blob(st, 5, rec->affected[i].spec, (int)rec->affected[i].spec_len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) return vdb_sql_err(db, err, "write");
    }
    return IMGSEC_OK;
}

/* Stores rec unless the stored record of its id is as new. */
static int store_record(vulndb *db, const osv_record *rec, vulndb_import_stats *stats, imgsec_err *err)
{
    char key[128];
    modified_key(rec->modified, key, sizeof key);
    sqlite3_stmt *st = vdb_stmt(db, VDB_GET_VULN, err);
    if (!st) return err->code;
    bind_text(st, 1, rec->id);
    int64_t rowid = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rowid = sqlite3_column_int64(st, 0);
        const char *old = (const char *)sqlite3_column_text(st, 1);
        if (old && strcmp(old, key) >= 0) {
            stats->unchanged++;
            sqlite3_reset(st);
            return IMGSEC_OK;
        }
    } else if (rc != SQLITE_DONE) {
        return vdb_sql_err(db, err, "read");
    }
    sqlite3_reset(st);
    st = vdb_stmt(db, rowid ? VDB_UPDATE_VULN : VDB_INSERT_VULN, err);
    if (!st) return err->code;
    bind_text(st, 1, rec->id);
    bind_text(st, 2, rec->modified);
    bind_text(st, 3, key);
    sqlite3_bind_int(st, 4, rec->withdrawn);
    bind_text(st, 5, rec->vul_id);
    bind_text(st, 6, severity_name(rec->sev));
    if (rec->score >= 0) sqlite3_bind_double(st, 7, rec->score);
    bind_text(st, 8, rec->description);
    bind_text(st, 9, rec->url);
    if (rowid) sqlite3_bind_int64(st, 10, rowid);
    if (sqlite3_step(st) != SQLITE_DONE) return vdb_sql_err(db, err, "write");
    if (rowid) {
        stats->replaced++;
        if (!(st = vdb_stmt(db, VDB_DELETE_AFFECTED, err))) return err->code;
        sqlite3_bind_int64(st, 1, rowid);
        if (sqlite3_step(st) != SQLITE_DONE) return vdb_sql_err(db, err, "write");
    } else {
        stats->added++;
        rowid = sqlite3_last_insert_rowid(db->db);
    }
    if (!(st = vdb_stmt(db, VDB_PUT_JSON, err))) return err->code;
    sqlite3_bind_int64(st, 1, rowid);
    bind_text(st, 2, rec->json);
    if (sqlite3_step(st) != SQLITE_DONE) return vdb_sql_err(db, err, "write");
    return insert_affected(db, rec, rowid, err);
}

/* Version 1 -> 2: the affected rows again, from every stored record that
 * is not withdrawn, in the binary spec encoding. One transaction; under
 * its lock the version is read again (another process may have done it). */
static int migrate_v1(vulndb *db, imgsec_err *err)
{
    int rc = vdb_begin(db, err);
    if (rc != IMGSEC_OK) return rc;
    sqlite3_stmt *st = NULL;
    int version = user_version(db);
    if (version != 1) return vdb_end(db, IMGSEC_OK, err);
    if (sqlite3_exec(db->db, "DROP TABLE affected", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "SELECT v.rowid, j.json FROM vuln v JOIN vuln_json j ON j.vuln = v.rowid"
                           " WHERE v.withdrawn = 0 ORDER BY v.rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = vdb_sql_err(db, err, "migrating to schema 2");
        goto done;
    }
    int step = SQLITE_DONE;
    while (rc == IMGSEC_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        osv_record rec;
        imgsec_err e2 = {0};
        rc = osv_parse((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                       &rec, &e2);
        if (rc == IMGSEC_OK) rc = insert_affected(db, &rec, sqlite3_column_int64(st, 0), &e2);
        if (rc != IMGSEC_OK)
            err_set(err, rc, "%s: migrating to schema 2: %s (import the records into a new database)",
                    db->path, e2.msg);
        osv_record_free(&rec);
    }
    if (rc == IMGSEC_OK && step != SQLITE_DONE) rc = vdb_sql_err(db, err, "migrating to schema 2");
    if (rc == IMGSEC_OK && sqlite3_exec(db->db, "PRAGMA user_version=2", NULL, NULL, NULL) != SQLITE_OK)
        rc = vdb_sql_err(db, err, "migrating to schema 2");
done:
    sqlite3_finalize(st);
    return vdb_end(db, rc, err);
}

/* One JSON text: a record or an array of records. name is for errors. */
static int import_text(vulndb *db, const char *buf, size_t len, const char *name,
                       vulndb_import_stats *stats, imgsec_err *err)
{
    if (len > OSV_RECORD_MAX && !(len > 0 && buf[0] == '['))
        return err_set(err, IMGSEC_ETOOLARGE, "%s: larger than %u bytes", name, OSV_RECORD_MAX);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return err_set(err, IMGSEC_EPARSE, "%s: not JSON: %s (line %d)", name, je.text, je.line);
    int rc = IMGSEC_OK;
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        const json_t *o = json_is_array(root) ? json_array_get(root, i) : root;
        osv_record rec;
        imgsec_err e2 = {0};
        rc = json_is_array(root) ? osv_from_json(o, &rec, &e2) : osv_from_json_raw(o, buf, len, &rec, &e2);
        if (rc == IMGSEC_OK) {
            stats->records++;
            rc = store_record(db, &rec, stats, &e2);
        }
        if (rc != IMGSEC_OK) {
            if (json_is_array(root)) err_set(err, e2.code, "%s[%zu]: %s", name, i, e2.msg);
            else err_set(err, e2.code, "%s: %s", name, e2.msg);
        }
        osv_record_free(&rec);
    }
    json_decref(root);
    return rc;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

typedef struct {
    vulndb *db;
    vulndb_import_stats *stats;
    vulndb_progress_fn progress;
    void *ctx;
    size_t path_i, n_paths;
} import_run;

static void report(import_run *r, const char *what)
{
    if (r->progress) r->progress(r->ctx, what, r->stats->records, 0);
}

static int import_zip(import_run *r, const char *path, imgsec_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    archive_read_support_format_zip(a);
    archive_read_support_filter_all(a);
    int rc = IMGSEC_OK;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        rc = err_set(err, IMGSEC_EINVAL, "%s: not a zip archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *e;
    char *buf = NULL;
    size_t cap = 0;
    int64_t members = 0;
    int ar;
    while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !name || !has_suffix(name, ".json")) continue;
        int64_t size = archive_entry_size(e);
        if (size < 0 || size > (int64_t)OSV_RECORD_MAX) {
            rc = err_set(err, IMGSEC_ETOOLARGE, "%s: %s: larger than %u bytes", path, name,
                         OSV_RECORD_MAX);
            break;
        }
        if ((size_t)size + 1 > cap) {
            char *nb = realloc(buf, (size_t)size + 1);
            if (!nb) { rc = err_set(err, IMGSEC_EINTERNAL, "out of memory"); break; }
            buf = nb;
            cap = (size_t)size + 1;
        }
        la_ssize_t got = archive_read_data(a, buf, (size_t)size);
        if (got != size) {
            rc = err_set(err, IMGSEC_EINVAL, "%s: %s: cannot read: %s", path, name,
                         got < 0 ? archive_error_string(a) : "short member");
            break;
        }
        char where[PATH_MAX];
        snprintf(where, sizeof where, "%s: %s", path, name);
        if ((rc = import_text(r->db, buf, (size_t)size, where, r->stats, err)) != IMGSEC_OK) break;
        r->stats->files++;
        if (++members % 5000 == 0) report(r, path);
    }
    if (rc == IMGSEC_OK && ar != ARCHIVE_EOF)
        rc = err_set(err, IMGSEC_EINVAL, "%s: broken archive: %s", path, archive_error_string(a));
    free(buf);
    archive_read_free(a);
    return rc;
}

static int import_file(import_run *r, const char *path, imgsec_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return err_set(err, IMGSEC_ENOTFOUND, "%s: %s", path, strerror(errno));
    /* a zip archive by its magic, whatever its name (update's temporary file) */
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    if (got == 4 && magic[0] == 'P' && magic[1] == 'K' &&
        ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6)))
        return import_zip(r, path, err);
    if (sb.st_size > (off_t)OSV_RECORD_MAX * 64)
        return err_set(err, IMGSEC_ETOOLARGE, "%s: larger than %u bytes", path, OSV_RECORD_MAX * 64);
    size_t len = 0;
    char *buf = util_read_file(path, &len);
    if (!buf) return err_set(err, IMGSEC_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
    int rc = import_text(r->db, buf, len, path, r->stats, err);
    free(buf);
    if (rc == IMGSEC_OK) r->stats->files++;
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json below dir (and *.zip), in name order, so that a run is
 * repeatable. */
static int import_dir(import_run *r, const char *dir, int depth, imgsec_err *err)
{
    if (depth > 32) return err_set(err, IMGSEC_EINVAL, "%s: directories nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d) return err_set(err, IMGSEC_EINTERNAL, "cannot read %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = IMGSEC_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) { rc = err_set(err, IMGSEC_EINTERNAL, "out of memory"); break; }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) { rc = err_set(err, IMGSEC_EINTERNAL, "out of memory"); break; }
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int64_t files0 = r->stats->files;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            rc = err_set(err, IMGSEC_EINVAL, "%s/%s: path too long", dir, names[i]);
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) rc = import_dir(r, path, depth + 1, err);
        else if (S_ISREG(sb.st_mode) && (has_suffix(names[i], ".json") || has_suffix(names[i], ".zip"))) {
            rc = import_file(r, path, err);
            if (rc == IMGSEC_OK && (r->stats->files - files0) % 1000 == 0) report(r, dir);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int vdb_begin(vulndb *db, imgsec_err *err)
{
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return vdb_sql_err(db, err, "begin");
    return IMGSEC_OK;
}

int vdb_end(vulndb *db, int rc, imgsec_err *err)
{
    if (rc == IMGSEC_OK) {
        if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return IMGSEC_OK;
        rc = vdb_sql_err(db, err, "commit");
    }
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int vdb_import_paths(vulndb *db, const char *const *paths, size_t n, vulndb_progress_fn progress,
                     void *ctx, vulndb_import_stats *stats, imgsec_err *err)
{
    import_run r = {db, stats, progress, ctx, 0, n};
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++) {
        r.path_i = i;
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            rc = err_set(err, IMGSEC_ENOTFOUND, "%s: %s", paths[i], strerror(errno));
        else if (S_ISDIR(sb.st_mode))
            rc = import_dir(&r, paths[i], 0, err);
        else
            rc = import_file(&r, paths[i], err);
        if (rc == IMGSEC_OK) report(&r, paths[i]);
    }
    return rc;
}

int vulndb_import(vulndb *db, const char *const *paths, size_t n, vulndb_progress_fn progress,
                  void *ctx, vulndb_import_stats *stats, imgsec_err *err)
{
    vulndb_import_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    int rc = vdb_begin(db, err);
    if (rc != IMGSEC_OK) return rc;
    rc = vdb_import_paths(db, paths, n, progress, ctx, stats, err);
    return vdb_end(db, rc, err);
}

int vulndb_import_buffer(vulndb *db, const char *buf, size_t len, const char *name,
                         vulndb_import_stats *stats, imgsec_err *err)
{
    vulndb_import_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    int rc = vdb_begin(db, err);
    if (rc != IMGSEC_OK) return rc;
    rc = import_text(db, buf, len, name ? name : "input", stats, err);
    if (rc == IMGSEC_OK) stats->files++;
    return vdb_end(db, rc, err);
}

int vulndb_status(vulndb *db, json_t **out, imgsec_err *err)
{
    *out = NULL;
    json_t *o = json_object(), *ecos = json_array(), *srcs = json_array();
    if (!o || !ecos || !srcs) {
        json_decref(o);
        json_decref(ecos);
        json_decref(srcs);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    json_object_set_new(o, "ecosystems", ecos);
    json_object_set_new(o, "sources", srcs);
    int rc = IMGSEC_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        json_decref(o);
        return vdb_sql_err(db, err, "begin");
    }
    if (sqlite3_prepare_v2(db->db,
                           "SELECT count(*), coalesce(sum(withdrawn),0), max(modified_key) FROM vuln",
                           -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        rc = vdb_sql_err(db, err, "status");
        goto done;
    }
    json_object_set_new(o, "records", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "withdrawn", json_integer(sqlite3_column_int64(st, 1)));
    json_object_set_new(o, "newest_modified", json_null());
    sqlite3_finalize(st);
    st = NULL;
    /* the modified string as imported, of the newest record */
    if (sqlite3_prepare_v2(db->db, "SELECT modified FROM vuln ORDER BY modified_key DESC LIMIT 1", -1,
                           &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        json_object_set_new(o, "newest_modified",
                            json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT substr(ecosystem, 1, instr(ecosystem || ':', ':') - 1) AS e,"
                           " count(DISTINCT vuln) FROM affected GROUP BY e ORDER BY e",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = vdb_sql_err(db, err, "status");
        goto done;
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(ecos, json_pack("{s:s,s:I}", "ecosystem",
                                              (const char *)sqlite3_column_text(st, 0), "records",
                                              (json_int_t)sqlite3_column_int64(st, 1)));
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT ecosystem, url, etag, last_modified, fetched_at FROM source"
                           " ORDER BY ecosystem", -1, &st, NULL) != SQLITE_OK) {
        rc = vdb_sql_err(db, err, "status");
        goto done;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *s = json_pack("{s:s,s:s,s:I}", "ecosystem", (const char *)sqlite3_column_text(st, 0),
                              "url", (const char *)sqlite3_column_text(st, 1), "fetched_at",
                              (json_int_t)sqlite3_column_int64(st, 4));
        const char *etag = (const char *)sqlite3_column_text(st, 2);
        const char *lm = (const char *)sqlite3_column_text(st, 3);
        json_object_set_new(s, "etag", etag ? json_string(etag) : json_null());
        json_object_set_new(s, "last_modified", lm ? json_string(lm) : json_null());
        json_array_append_new(srcs, s);
    }
done:
    sqlite3_finalize(st);
    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    if (rc == IMGSEC_OK) *out = o;
    else json_decref(o);
    return rc;
}
