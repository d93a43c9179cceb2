/* vulndb_update.c - imgsec vulndb update: OSV's per-ecosystem archives
 * over HTTP(S) with libcurl.
 *
 * Per ecosystem: GET <base>/<ecosystem>/all.zip (the ecosystem
 * percent-encoded) into a 0600 temporary file beside the database, with
 * If-None-Match and If-Modified-Since from the previous download's ETag
 * and Last-Modified (table source). 304: nothing to import. 200: the
 * archive is imported and the new validators stored in ONE transaction,
 * so validators never describe an archive that was not imported. Only
 * http and https are allowed (redirects too), TLS peers are verified,
 * and an archive larger than VULNDB_DOWNLOAD_MAX is refused.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsec/util.h"
#include "vulndb/vulndb_db.h"

typedef struct {
    char etag[512];
    char last_modified[128];
} validators;

typedef struct {
    FILE *f;
    int64_t written;
    bool too_big;
    vulndb_progress_fn progress;
    void *ctx;
    const char *what;
} download;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    download *d = arg;
    size_t len = size * n;
    if (d->written + (int64_t)len > VULNDB_DOWNLOAD_MAX) {
        d->too_big = true;
        return 0;
    }
    if (fwrite(p, 1, len, d->f) != len) return 0;
    d->written += (int64_t)len;
    return len;
}

/* Keeps ETag and Last-Modified of the final response. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    validators *v = arg;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) memset(v, 0, sizeof *v); /* a redirect's headers */
    const char *names[] = {"ETag:", "Last-Modified:"};
    char *outs[] = {v->etag, v->last_modified};
    size_t sizes[] = {sizeof v->etag, sizeof v->last_modified};
    for (int i = 0; i < 2; i++) {
        size_t k = strlen(names[i]);
        if (len > k && strncasecmp(p, names[i], k) == 0) {
            const char *s = p + k, *e = p + len;
            while (s < e && (*s == ' ' || *s == '\t')) s++;
            while (e > s && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
            if ((size_t)(e - s) < sizes[i]) {
                memcpy(outs[i], s, (size_t)(e - s));
                outs[i][e - s] = '\0';
            }
        }
    }
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    download *d = arg;
    if (d->progress) d->progress(d->ctx, d->what, (int64_t)dlnow, (int64_t)dltotal);
    return 0;
}

static int load_validators(vulndb *db, const char *eco, validators *v, imgsec_err *err)
{
    memset(v, 0, sizeof *v);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT etag, last_modified FROM source WHERE ecosystem = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return vdb_sql_err(db, err, "read");
    sqlite3_bind_text(st, 1, eco, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *e = (const char *)sqlite3_column_text(st, 0);
        const char *l = (const char *)sqlite3_column_text(st, 1);
        if (e) snprintf(v->etag, sizeof v->etag, "%s", e);
        if (l) snprintf(v->last_modified, sizeof v->last_modified, "%s", l);
    }
    sqlite3_finalize(st);
    return IMGSEC_OK;
}

static int save_validators(vulndb *db, const char *eco, const char *url, const validators *v,
                           imgsec_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO source(ecosystem, url, etag, last_modified, fetched_at)"
                           " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(ecosystem) DO UPDATE SET"
                           " url=?2, etag=?3, last_modified=?4, fetched_at=?5",
                           -1, &st, NULL) != SQLITE_OK)
        return vdb_sql_err(db, err, "write");
    sqlite3_bind_text(st, 1, eco, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
    if (v->etag[0]) sqlite3_bind_text(st, 3, v->etag, -1, SQLITE_STATIC);
    if (v->last_modified[0]) sqlite3_bind_text(st, 4, v->last_modified, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, util_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? IMGSEC_OK : vdb_sql_err(db, err, "write");
    sqlite3_finalize(st);
    return rc;
}

static int update_one(vulndb *db, CURL *c, const char *base, const char *eco,
                      vulndb_progress_fn progress, void *ctx, vulndb_update_stats *stats,
                      imgsec_err *err)
{
    if (!*eco || strlen(eco) > 64) return err_set(err, IMGSEC_EINVAL, "bad ecosystem name '%s'", eco);
    char *enc = curl_easy_escape(c, eco, 0);
    char url[2048];
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') bl--;
    int un = snprintf(url, sizeof url, "%.*s/%s/all.zip", (int)bl, base, enc ? enc : "");
    curl_free(enc);
    if (un < 0 || (size_t)un >= sizeof url) return err_set(err, IMGSEC_EINVAL, "base URL too long");
    validators old, got;
    int rc = load_validators(db, eco, &old, err);
    if (rc != IMGSEC_OK) return rc;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.download.XXXXXX", db->path);
    int fd = mkstemp(tmp); /* 0600 */
    if (fd < 0) return err_set(err, IMGSEC_EINTERNAL, "cannot create a temporary file: %s", strerror(errno));
    download d = {fdopen(fd, "w+"), 0, false, progress, ctx, eco};
    if (!d.f) {
        close(fd);
        unlink(tmp);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    struct curl_slist *h = NULL;
    char line[700];
    if (old.etag[0]) {
        snprintf(line, sizeof line, "If-None-Match: %s", old.etag);
        h = curl_slist_append(h, line);
    }
    if (old.last_modified[0]) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", old.last_modified);
        h = curl_slist_append(h, line);
    }
    memset(&got, 0, sizeof got);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VULNDB_DOWNLOAD_MAX);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "imgsec-vulndb/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &got);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    int ok = fflush(d.f) == 0;
    fclose(d.f);
    if (cc != CURLE_OK) {
        rc = err_set(err, IMGSEC_EINTERNAL, "%s: %s: %s", eco, url,
                     d.too_big ? "archive larger than the limit" : curl_easy_strerror(cc));
    } else if (status == 304) {
        stats->unchanged++;
        rc = IMGSEC_OK;
    } else if (status != 200) {
        rc = err_set(err, IMGSEC_EINTERNAL, "%s: %s: HTTP %ld", eco, url, status);
    } else if (!ok) {
        rc = err_set(err, IMGSEC_EINTERNAL, "%s: cannot write the download", eco);
    } else {
        rc = vdb_begin(db, err);
        if (rc == IMGSEC_OK) {
            const char *paths[] = {tmp};
            char where[64];
            snprintf(where, sizeof where, "%s/all.zip", eco);
            rc = vdb_import_paths(db, paths, 1, progress, ctx, &stats->import, err);
            if (rc == IMGSEC_OK) rc = save_validators(db, eco, url, &got, err);
            rc = vdb_end(db, rc, err);
        }
        if (rc == IMGSEC_OK) stats->fetched++;
    }
    unlink(tmp);
    return rc;
}

int vulndb_update(vulndb *db, const char *base_url, const char *const *ecosystems, size_t n,
                  vulndb_progress_fn progress, void *ctx, vulndb_update_stats *stats,
                  imgsec_err *err)
{
    vulndb_update_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return err_set(err, IMGSEC_EINVAL, "the base URL must be http:// or https://");
    CURL *c = curl_easy_init();
    if (!c) return err_set(err, IMGSEC_EINTERNAL, "cannot start libcurl");
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < n && rc == IMGSEC_OK; i++)
        rc = update_one(db, c, base_url, ecosystems[i], progress, ctx, stats, err);
    curl_easy_cleanup(c);
    return rc;
}
