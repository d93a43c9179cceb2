/* an_rpm.c - RPM packages, read through librpm.
 *
 * The databases: rpmdb.sqlite (rpm >= 4.16), Packages (Berkeley DB, read
 * with rpm's bdb_ro backend) and Packages.db (ndb, SUSE), under
 * var/lib/rpm/ or usr/lib/sysimage/rpm/. librpm opens a database only
 * from a directory, so the entry's bytes are written to a private
 * directory made with mkdtemp under $TMPDIR (0700, the file 0600, created
 * with O_EXCL|O_NOFOLLOW), read there with an rpmdb iterator, and the
 * directory and everything librpm left in it are removed right after,
 * before entry() returns. An rpmdb.sqlite is first checked with SQLite
 * (rpm_sqlite_check: librpm leaks on a corrupt one). A database the Debian
 * build of librpm cannot
 * read (ndb: not compiled in) or a corrupt one is skipped with a warning
 * that carries librpm's own message. librpm's configuration (macros,
 * logging) is process-global, so one database is read at a time
 * (rpm_lock); the macros pushed for it are popped again and librpm's log
 * callback is restored.
 *
 * Per package: NAME, EPOCH, VERSION, RELEASE, ARCH, SOURCERPM, LICENSE,
 * VENDOR; gpg-pubkey pseudo-packages (imported keys) are not software and
 * are skipped. app_version is VERSION-RELEASE, "EPOCH:VERSION-RELEASE"
 * when the header has an epoch. Packages are kept until finish(), when
 * os-release is known:
 * pkg:rpm/<ns>/NAME@VERSION-RELEASE?arch=A&distro=<id>-<version>&epoch=E&upstream=SOURCERPM
 * where <ns> is the os-release ID, else a name derived from the vendor
 * (VENDOR_NS below), else left out. The same package seen in two
 * databases (a copy under both paths) is emitted once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>
#include <sqlite3.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define RPM_PACKAGES_MAX 100000 /* packages read from one database */

/* The database files, by name, and the librpm backend that reads them. */
static const struct {
    const char *file;
    const char *backend;
} RPM_DBS[] = {
    {"rpmdb.sqlite", "sqlite"},
    {"Packages", "bdb_ro"},
    {"Packages.db", "ndb"},
};
static const char *const RPM_DIRS[] = {"var/lib/rpm/", "usr/lib/sysimage/rpm/"};

/* purl namespace from the vendor when os-release is unknown: the
 * os-release ID of the distribution that vendor ships. */
static const struct {
    const char *prefix;
    const char *ns;
} VENDOR_NS[] = {
    {"Red Hat", "rhel"},       {"CentOS", "centos"},     {"Fedora", "fedora"},
    {"Rocky", "rocky"},        {"AlmaLinux", "almalinux"}, {"Amazon", "amzn"},
    {"Oracle", "ol"},          {"openSUSE", "opensuse"}, {"SUSE", "sles"},
    {"Microsoft", "mariner"},
};

typedef struct {
    an_pending pkgs;
} rpm_state;

static pthread_mutex_t rpm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t rpm_once = PTHREAD_ONCE_INIT;
static int rpm_config_rc = -1;

static void rpm_config_read(void)
{
    rpm_config_rc = rpmReadConfigFiles(NULL, NULL);
}

static int rpm_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    rpm_state *s = calloc(1, sizeof *s);
    if (!s || an_pending_init(&s->pkgs) != 0) {
        free(s);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    *state = s;
    return IMGSEC_OK;
}

static void rpm_close(void *state)
{
    rpm_state *s = state;
    if (!s)
        return;
    an_pending_free(&s->pkgs);
    free(s);
}

/* The backend for a database path, or NULL when it is not one. */
static const char *rpm_backend(const char *path)
{
    for (size_t d = 0; d < sizeof RPM_DIRS / sizeof *RPM_DIRS; d++) {
        size_t n = strlen(RPM_DIRS[d]);
        if (strncmp(path, RPM_DIRS[d], n) != 0)
            continue;
        for (size_t i = 0; i < sizeof RPM_DBS / sizeof *RPM_DBS; i++)
            if (strcmp(path + n, RPM_DBS[i].file) == 0)
                return RPM_DBS[i].backend;
    }
    return NULL;
}

static int64_t rpm_want(void *state, const scan_entry *e)
{
    (void)state;
    return S_ISREG(e->mode) && rpm_backend(e->path) ? SCAN_WANT_ALL : SCAN_WANT_NONE;
}

/* librpm's last error message of one read (under rpm_lock). */
static char rpm_log_msg[256];

static int rpm_log_cb(rpmlogRec rec, rpmlogCallbackData data)
{
    (void)data;
    if (rpmlogRecPriority(rec) <= RPMLOG_ERR) {
        snprintf(rpm_log_msg, sizeof rpm_log_msg, "%s", rpmlogRecMessage(rec));
        size_t n = strlen(rpm_log_msg);
        while (n && (rpm_log_msg[n - 1] == '\n' || rpm_log_msg[n - 1] == ' '))
            rpm_log_msg[--n] = '\0';
    }
    return 0; /* never printed: library code does not print */
}

/* Removes dir and what librpm may have created in it (one level). */
static void rpm_tmp_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[4096 + 256];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) < sizeof p)
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Writes data to DIR/name in a fresh private directory. 0, or -1 with
 * errno. */
static int rpm_tmp_write(char *dir, size_t size, const char *name, const unsigned char *data,
                         size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/imgsec-rpmdb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    char path[4096 + 64];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            goto fail;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        goto fail;
    return 0;
fail:;
    int saved = errno;
    rpm_tmp_remove(dir);
    errno = saved;
    return -1;
}

static const char *hdr_str(Header h, rpmTagVal tag)
{
    const char *s = headerGetString(h, tag);
    return s ? s : "";
}

/* Keeps one header's package. 0, or -1 on out of memory. */
static int rpm_keep(rpm_state *s, Header h, const scan_entry *e)
{
    const char *name = hdr_str(h, RPMTAG_NAME);
    if (!*name || strcmp(name, "gpg-pubkey") == 0)
        return 0;
    const char *ver = hdr_str(h, RPMTAG_VERSION), *rel = hdr_str(h, RPMTAG_RELEASE);
    char epoch[24] = "";
    if (headerIsEntry(h, RPMTAG_EPOCH))
        snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)headerGetNumber(h, RPMTAG_EPOCH));
    char vr[2 * AN_VERSION_MAX + 2], full[2 * AN_VERSION_MAX + 26];
    snprintf(vr, sizeof vr, "%.*s%s%.*s", AN_VERSION_MAX, ver, *rel ? "-" : "", AN_VERSION_MAX,
             rel);
    snprintf(full, sizeof full, "%s%s%s", epoch, *epoch ? ":" : "", vr);
    json_t *o = json_object();
    if (!o)
        return -1;
    const char *arch = hdr_str(h, RPMTAG_ARCH), *src = hdr_str(h, RPMTAG_SOURCERPM),
               *lic = hdr_str(h, RPMTAG_LICENSE), *vendor = hdr_str(h, RPMTAG_VENDOR);
    int rc = an_obj_setn(o, "app_name", name, strlen(name), AN_NAME_MAX) |
             an_obj_setn(o, "app_version", full, strlen(full), AN_VERSION_MAX) |
             an_obj_setn(o, "app_type", "rpm", 3, AN_VERSION_MAX) |
             an_obj_setn(o, "app_path", e->path, strlen(e->path), AN_PATH_MAX) |
             an_obj_setn(o, "layer_digest", e->layer, strlen(e->layer), AN_VERSION_MAX) |
             an_obj_setn(o, "license", lic, strlen(lic), AN_LICENSE_MAX) |
             an_obj_setn(o, "_arch", arch, strlen(arch), AN_VERSION_MAX) |
             an_obj_setn(o, "_src", src, strlen(src), AN_NAME_MAX) |
             an_obj_setn(o, "_epoch", epoch, strlen(epoch), AN_VERSION_MAX) |
             an_obj_setn(o, "_vendor", vendor, strlen(vendor), AN_NAME_MAX) |
             an_obj_setn(o, "_pver", vr, strlen(vr), AN_VERSION_MAX);
    if (rc) {
        json_decref(o);
        return -1;
    }
    return an_pending_add(&s->pkgs, o) < 0 ? -1 : 0;
}

/* librpm 4.18's sqlite backend leaks its handle when its open fails (a
 * corrupt or truncated file, a foreign schema), so an rpmdb.sqlite is
 * first checked with SQLite itself, read-only: the file is intact
 * (quick_check) and has rpm's Packages(hnum, blob) table. NULL when it
 * is, else why not. */
static const char *rpm_sqlite_check(const char *dir, const char *file, char *why, size_t size)
{
    char uri[4096 + 64];
    snprintf(uri, sizeof uri, "file:%s/%s?immutable=1", dir, file);
    sqlite3 *db = NULL;
    const char *bad = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
        bad = "cannot be opened";
    else if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
             sqlite3_step(st) != SQLITE_ROW ||
             strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        bad = "is not an intact SQLite database";
    sqlite3_finalize(st);
    st = NULL;
    if (!bad && sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages LIMIT 0", -1, &st, NULL) !=
                    SQLITE_OK)
        bad = "has no rpm Packages table";
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (bad)
        snprintf(why, size, "%s", bad);
    return bad ? why : NULL;
}

/* Reads the database in dir with librpm (under rpm_lock). 0, or -1 on
 * out of memory; a database librpm cannot read is warned about. */
static int rpm_read_db(rpm_state *s, const char *dir, const char *backend, const scan_entry *e,
                       scan_result *res)
{
    int rc = 0;
    rpm_log_msg[0] = '\0';
    rpmlogCallback old_cb = rpmlogSetCallback(rpm_log_cb, NULL);
    rpmPushMacro(NULL, "_dbpath", NULL, dir, RMIL_CMDLINE);
    rpmPushMacro(NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);
    rpmts ts = rpmtsCreate();
    if (!ts) {
        rc = -1;
        goto out;
    }
    rpmtsSetRootDir(ts, "/");
    rpmtsSetVSFlags(ts, _RPMVSF_NOSIGNATURES | _RPMVSF_NODIGESTS);
    if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
        scan_warn(res, "%s: not an rpm database librpm (%s) can read, skipped%s%s", e->path,
                  backend, rpm_log_msg[0] ? ": " : "", rpm_log_msg);
        goto out;
    }
    rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
    Header h;
    size_t n = 0;
    while (mi && (h = rpmdbNextIterator(mi))) {
        if (++n > RPM_PACKAGES_MAX) {
            scan_warn(res, "%s: more than %d packages, the rest skipped", e->path,
                      RPM_PACKAGES_MAX);
            break;
        }
        if (rpm_keep(s, h, e) != 0) {
            rc = -1;
            break;
        }
    }
    rpmdbFreeIterator(mi);
    if (n == 0 && rpm_log_msg[0])
        scan_warn(res, "%s: no packages read: %s", e->path, rpm_log_msg);
out:
    if (ts) {
        rpmtsCloseDB(ts);
        rpmtsFree(ts);
    }
    rpmPopMacro(NULL, "_db_backend");
    rpmPopMacro(NULL, "_dbpath");
    rpmlogSetCallback(old_cb, NULL);
    return rc;
}

static int rpm_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                     scan_result *res, imgsec_err *err)
{
    rpm_state *s = state;
    const char *backend = rpm_backend(e->path);
    if (!backend)
        return IMGSEC_OK;
    if (len < (size_t)e->size) {
        scan_warn(res, "%s: larger than %u bytes, not read", e->path, SCAN_CONTENT_MAX);
        return IMGSEC_OK;
    }
    pthread_once(&rpm_once, rpm_config_read);
    if (rpm_config_rc != 0) {
        scan_warn(res, "%s: librpm could not read its configuration, skipped", e->path);
        return IMGSEC_OK;
    }
    char dir[4096];
    if (rpm_tmp_write(dir, sizeof dir, an_basename(e->path), data, len) != 0) {
        scan_warn(res, "%s: cannot write a temporary copy for librpm (%s), skipped", e->path,
                  strerror(errno));
        return IMGSEC_OK;
    }
    char why[64];
    if (strcmp(backend, "sqlite") == 0 &&
        rpm_sqlite_check(dir, an_basename(e->path), why, sizeof why)) {
        scan_warn(res, "%s: %s, skipped", e->path, why);
        rpm_tmp_remove(dir);
        return IMGSEC_OK;
    }
    pthread_mutex_lock(&rpm_lock);
    int rc = rpm_read_db(s, dir, backend, e, res);
    pthread_mutex_unlock(&rpm_lock);
    rpm_tmp_remove(dir);
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

static const char *rpm_namespace(const char *os, const char *vendor)
{
    if (os)
        return os;
    for (size_t i = 0; vendor && i < sizeof VENDOR_NS / sizeof *VENDOR_NS; i++)
        if (strncasecmp(vendor, VENDOR_NS[i].prefix, strlen(VENDOR_NS[i].prefix)) == 0)
            return VENDOR_NS[i].ns;
    return NULL;
}

static int rpm_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    rpm_state *s = state;
    char distro[256];
    const char *os = scan_os_id(res);
    const char *d = an_distro(res, distro, sizeof distro);
    json_t *seen = json_object();
    if (!seen)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (s->pkgs.dropped)
        scan_warn(res, "rpm: more than %d packages, %zu skipped", AN_PENDING_MAX, s->pkgs.dropped);
    size_t i;
    json_t *o;
    json_array_foreach(s->pkgs.items, i, o) {
        char key[AN_NAME_MAX + 2 * AN_VERSION_MAX + 3];
        snprintf(key, sizeof key, "%s\t%s\t%s", an_obj_get(o, "app_name"),
                 an_obj_get(o, "app_version"),
                 an_obj_get(o, "_arch") ? an_obj_get(o, "_arch") : "");
        if (json_object_get(seen, key))
            continue;
        if (json_object_set_new(seen, key, json_true()) != 0)
            goto oom;
        an_qual q[] = {{"arch", an_obj_get(o, "_arch")},
                       {"distro", d},
                       {"epoch", an_obj_get(o, "_epoch")},
                       {"upstream", an_obj_get(o, "_src")}};
        char *purl = an_purl("rpm", rpm_namespace(os, an_obj_get(o, "_vendor")),
                             an_obj_get(o, "app_name"), an_obj_get(o, "_pver"), q,
                             sizeof q / sizeof *q);
        if (!purl || an_pending_emit(res, o, purl) != 0)
            goto oom;
    }
    json_decref(seen);
    return IMGSEC_OK;
oom:
    json_decref(seen);
    return err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_rpm = {
    .name = "rpm",
    .emits = REPORT_APPS,
    .open = rpm_open,
    .want = rpm_want,
    .entry = rpm_entry,
    .finish = rpm_finish,
    .close = rpm_close,
};
