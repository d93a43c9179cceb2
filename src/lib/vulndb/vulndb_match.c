/* vulndb_match.c - packages (apps records) against the OSV database.
 *
 * For each app: its ecosystem, lookup name and version scheme come from
 * the purl when there is one (type, namespace, distro and upstream
 * qualifiers), else from app_type and the image's os-release. One indexed
 * lookup per (ecosystem, name) returns the affected entries of every
 * record that names the package (withdrawn records have none); only the
 * record of an entry that affects the version is read. An entry
 * affects the version when the version is in its versions list (equal
 * under the scheme) or inside one of its ECOSYSTEM or SEMVER ranges.
 *
 * A range, evaluated as the OSV schema defines it: the version is
 * affected when the event that decides it is an "introduced" one; the
 * deciding event is the greatest (by the scheme) among introduced <= v,
 * fixed <= v and last_affected < v ("0" as introduced is below every
 * version); a limit <= v (other than "*") excludes the version from the
 * range. fixed_version is the smallest fixed event above v in an
 * affecting range. An event version the scheme cannot read makes that
 * range unusable: counted and reported, never guessed.
 *
 * One vulnerability record per (package, vul_id): two OSV records with
 * the same CVE (GHSA and PYSEC, say) give one record.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulndb/vulndb_db.h"

typedef struct {
    char eco[96];              /* lookup ecosystem, e.g. "Debian:12" */
    char name[OSV_NAME_MAX + 1];
    char version[VERSION_MAX + 1]; /* version compared */
    const osv_ecosystem *e;
} pkg_key;

/* "debian-12", "12", "12.4" (Debian); "3.18.4", "alpine-3.18" (Alpine:v3.18);
 * "ubuntu-22.04"; "almalinux-8.9", "rocky-9", "el8". The release part is
 * written into rel (major, or major.minor for Alpine and Ubuntu). */
static bool release_of(const char *distro, int minor, char *rel, size_t size)
{
    const char *p = distro;
    while (*p && !isdigit((unsigned char)*p)) p++;
    if (!*p) return false;
    size_t n = 0;
    while (isdigit((unsigned char)p[n])) n++;
    if (minor && p[n] == '.' && isdigit((unsigned char)p[n + 1])) {
        n++;
        while (isdigit((unsigned char)p[n])) n++;
    }
    if (n + 1 > size) return false;
    memcpy(rel, p, n);
    rel[n] = '\0';
    return true;
}

/* The distribution ecosystem of an OS package: Debian:12, Ubuntu:22.04,
 * Alpine:v3.18, AlmaLinux:8, Rocky Linux:9. distro_id names the
 * distribution ("debian", "ubuntu", "alpine", ...), release its version. */
static bool os_ecosystem(const char *distro_id, const char *release, char *out, size_t size)
{
    char rel[32];
    if (!distro_id || !release) return false;
    if (strcasecmp(distro_id, "debian") == 0 && release_of(release, 0, rel, sizeof rel))
        return (size_t)snprintf(out, size, "Debian:%s", rel) < size;
    if (strcasecmp(distro_id, "ubuntu") == 0 && release_of(release, 1, rel, sizeof rel))
        return (size_t)snprintf(out, size, "Ubuntu:%s", rel) < size;
    if (strcasecmp(distro_id, "alpine") == 0 && release_of(release, 1, rel, sizeof rel))
        return (size_t)snprintf(out, size, "Alpine:v%s", rel) < size;
    if (strcasecmp(distro_id, "almalinux") == 0 && release_of(release, 0, rel, sizeof rel))
        return (size_t)snprintf(out, size, "AlmaLinux:%s", rel) < size;
    if ((strcasecmp(distro_id, "rocky") == 0 || strcasecmp(distro_id, "rocky linux") == 0) &&
        release_of(release, 0, rel, sizeof rel))
        return (size_t)snprintf(out, size, "Rocky Linux:%s", rel) < size;
    return false;
}

/* The distro qualifier split into id and release: "debian-12" ->
 * ("debian", "12"); a bare "3.18.4" keeps the namespace as id. */
static bool distro_split(const char *qual, const char *ns, char *id, size_t id_size, const char **rel)
{
    const char *dash = strrchr(qual, '-');
    if (dash && isdigit((unsigned char)dash[1]) && !isdigit((unsigned char)qual[0])) {
        size_t n = (size_t)(dash - qual);
        if (n + 1 > id_size) return false;
        memcpy(id, qual, n);
        id[n] = '\0';
        *rel = dash + 1;
        return true;
    }
    if (!ns || !*ns || strlen(ns) + 1 > id_size) return false;
    snprintf(id, id_size, "%s", ns);
    *rel = qual;
    return true;
}

/* rpm source package name from "util-linux-2.32.1-42.el8_8.src.rpm":
 * drop ".src.rpm", then the release and the version. */
static void rpm_source_name(const char *srpm, char *out, size_t size)
{
    snprintf(out, size, "%s", srpm);
    size_t n = strlen(out);
    if (n > 8 && strcmp(out + n - 8, ".src.rpm") == 0) {
        out[n - 8] = '\0';
        for (int k = 0; k < 2; k++) {
            char *d = strrchr(out, '-');
            if (d && d > out) *d = '\0';
        }
    }
}

static const char *str_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/* Fills k from one apps record; false when imgsec matches no ecosystem
 * for it. */
static bool app_key(const json_t *app, const char *os_id, const char *os_version, pkg_key *k)
{
    memset(k, 0, sizeof *k);
    const char *type = str_of(app, "app_type"), *name = str_of(app, "app_name");
    const char *ver = str_of(app, "app_version");
    const char *ps = str_of(app, "purl");
    purl p;
    bool have_purl = ps && purl_parse(ps, &p);
    char eco[96] = "", lname[OSV_NAME_MAX + 1] = "";
    const char *t = have_purl ? p.type : type;
    if (!t) return false;
    if (!ver && have_purl && p.version[0]) ver = p.version;
    if (strcmp(t, "deb") == 0 || strcmp(t, "apk") == 0 || strcmp(t, "rpm") == 0) {
        char id[64] = "";
        const char *rel = NULL;
        if (have_purl && p.distro[0] && distro_split(p.distro, p.namespace_, id, sizeof id, &rel)) {
            if (!os_ecosystem(id, rel, eco, sizeof eco)) return false;
        } else if (!os_ecosystem(os_id, os_version, eco, sizeof eco)) {
            return false;
        }
        const char *src = have_purl && p.upstream[0] ? p.upstream : NULL;
        if (src && strcmp(t, "rpm") == 0) {
            rpm_source_name(src, lname, sizeof lname);
        } else if (src) {
            snprintf(lname, sizeof lname, "%.*s", (int)strcspn(src, "@"), src);
            /* deb "upstream=openssl@3.0.11-1": Debian's ranges are source versions */
            const char *at = strchr(src, '@');
            if (at && at[1] && strcmp(t, "deb") == 0) ver = at + 1;
        }
        if (!lname[0]) snprintf(lname, sizeof lname, "%s", have_purl ? p.name : (name ? name : ""));
    } else {
        static const struct { const char *type, *eco; } LANG[] = {
            {"npm", "npm"}, {"python", "PyPI"}, {"pypi", "PyPI"}, {"jar", "Maven"},
            {"maven", "Maven"}, {"go", "Go"}, {"golang", "Go"}, {"gem", "RubyGems"},
            {"cargo", "crates.io"},
        };
        for (size_t i = 0; i < sizeof LANG / sizeof *LANG && !eco[0]; i++)
            if (strcmp(t, LANG[i].type) == 0) snprintf(eco, sizeof eco, "%s", LANG[i].eco);
        if (!eco[0]) return false;
        if (have_purl && p.namespace_[0]) {
            /* Maven group:artifact; Go module path; npm @scope/name */
            char sep = strcmp(eco, "Maven") == 0 ? ':' : '/';
            snprintf(lname, sizeof lname, "%s%c%s", p.namespace_, sep, p.name);
        } else {
            snprintf(lname, sizeof lname, "%s", have_purl ? p.name : (name ? name : ""));
        }
    }
    /* Go toolchain versions are spelled go1.22.1 by some tools */
    if (ver && strcmp(eco, "Go") == 0 && ver[0] == 'g' && ver[1] == 'o' && ver[2] >= '0' && ver[2] <= '9')
        ver += 2;
    if (!lname[0] || !ver || strlen(ver) > VERSION_MAX) return false;
    memcpy(k->version, ver, strlen(ver) + 1);
    if (!osv_key(eco, lname, k->eco, sizeof k->eco, k->name, sizeof k->name)) return false;
    k->e = osv_ecosystem_find(k->eco);
    return k->e && k->e->scheme >= 0;
}

typedef struct {
    vulndb *db;
    vulndb_match_stats *st;
    json_t *warnings;
    const char *app_name;
    int64_t vuln;  /* rowid of the record whose entry is evaluated */
} match_ctx;

static void warn(match_ctx *m, const pkg_key *k, const imgsec_err *e)
{
    m->st->errors++;
    if (!json_is_array(m->warnings) || json_array_size(m->warnings) >= 1000) return;
    char id[OSV_ID_MAX + 1] = "?";
    imgsec_err e2 = {0};
    sqlite3_stmt *d = vdb_stmt(m->db, VDB_DETAILS, &e2);
    if (d) {
        sqlite3_bind_int64(d, 1, m->vuln);
        if (sqlite3_step(d) == SQLITE_ROW)
            snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(d, 0));
        sqlite3_reset(d);
    }
    char buf[IMGSEC_ERR_MSG_MAX + 1024];
    snprintf(buf, sizeof buf, "%.200s %.256s: %.128s: %s", m->app_name, k->version, id, e->msg);
    json_array_append_new(m->warnings, json_string(buf));
}

/* A cursor over an encoded spec (vulndb_int.h). Reading past its end or
 * a string without its NUL sets bad (a damaged entry) and yields 0 / "". */
typedef struct {
    const unsigned char *p, *end;
    bool bad;
} spec_rd;

static uint32_t rd_u32(spec_rd *r)
{
    if (r->end - r->p < 4) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static int rd_u8(spec_rd *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static const char *rd_str(spec_rd *r)
{
    const unsigned char *nul = r->p < r->end ? memchr(r->p, 0, (size_t)(r->end - r->p)) : NULL;
    if (!nul) {
        r->bad = true;
        r->p = r->end;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p = nul + 1;
    return s;
}

/* One range whose n events start at r (r is left after them): 1 affected,
 * 0 not, -1 could not be evaluated (warned). *fixed (may stay NULL) gets
 * the smallest fixed event above v. */
static int range_affects(match_ctx *m, const pkg_key *k, version_scheme s, spec_rd *r, uint32_t n,
                         const char **fixed)
{
    const char *best = NULL; /* deciding event's version */
    int best_intro = 0, result = -2; /* -2: not decided before the last event */
    *fixed = NULL;
    imgsec_err e = {0};
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        int kind = rd_u8(r);
        const char *ver = rd_str(r);
        if (result != -2) continue; /* decided: only skip to the range's end */
        int c;
        if (kind == SPEC_LIMIT) {
            if (strcmp(ver, "*") == 0) continue;
            if (version_compare(s, k->version, ver, &c, &e) != IMGSEC_OK) {
                warn(m, k, &e);
                result = -1;
            } else if (c >= 0) {
                result = 0;
            }
            continue;
        }
        int intro = kind == SPEC_INTRODUCED;
        int zero = intro && ver[0] == '0' && ver[1] == '\0';
        int applies;
        if (zero) {
            c = 1;
            applies = 1;
        } else {
            if (version_compare(s, k->version, ver, &c, &e) != IMGSEC_OK) {
                warn(m, k, &e);
                result = -1;
                continue;
            }
            applies = kind == SPEC_LAST_AFFECTED ? c > 0 : c >= 0;
        }
        if (kind == SPEC_FIXED && c < 0) {
            int fc = -1;
            if (!*fixed || (version_compare(s, ver, *fixed, &fc, &e) == IMGSEC_OK && fc < 0))
                *fixed = ver;
        }
        if (!applies) continue;
        /* the greatest applicable event decides; a later event wins a tie */
        int bc = 1;
        if (best) {
            if (zero) bc = strcmp(best, "0") == 0 ? 0 : -1;
            else if (strcmp(best, "0") == 0 && best_intro) bc = 1;
            else if (version_compare(s, ver, best, &bc, &e) != IMGSEC_OK) {
                warn(m, k, &e);
                result = -1;
                continue;
            }
        }
        if (!best || bc >= 0) {
            best = ver;
            best_intro = intro;
        }
    }
    if (result == -1) *fixed = NULL;
    if (result != -2) return result;
    return best && best_intro;
}

/* One affected entry (its encoded spec): 1 affected, 0 not, -1 could not
 * be decided, -2 damaged. */
static int entry_affects(match_ctx *m, const pkg_key *k, const void *spec, int len,
                         const char **fixed)
{
    spec_rd r = {spec, (const unsigned char *)spec + (len > 0 ? len : 0), false};
    *fixed = NULL;
    imgsec_err e = {0};
    int unknown = 0, hit = 0;
    uint32_t n = rd_u32(&r);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        const char *s = rd_str(&r);
        int c;
        if (hit) continue;
        if (strcmp(s, k->version) == 0 ||
            (version_compare(k->e->scheme, k->version, s, &c, &e) == IMGSEC_OK && c == 0))
            hit = 1;
    }
    n = rd_u32(&r);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        version_scheme s = rd_u8(&r) == SPEC_SEMVER ? VERSION_SEMVER : (version_scheme)k->e->scheme;
        uint32_t n_events = rd_u32(&r);
        const char *f = NULL;
        int a = range_affects(m, k, s, &r, n_events, &f);
        if (a < 0) unknown = 1;
        if (a > 0) {
            hit = 1;
            if (f && !*fixed) *fixed = f;
        }
    }
    if (r.bad) return -2;
    return hit ? 1 : (unknown ? -1 : 0);
}

/* The values every vulnerability record of one app shares: made once
 * per app, shared by reference (JSON values are immutable here). */
typedef struct {
    const char *name; /* app_name, else the lookup name */
    json_t *vul_type, *app_name, *app_version, *app_path;
} app_vals;

static void app_vals_free(app_vals *a)
{
    json_decref(a->vul_type);
    json_decref(a->app_name);
    json_decref(a->app_version);
    json_decref(a->app_path);
    memset(a, 0, sizeof *a);
}

static bool app_vals_make(app_vals *a, const json_t *app, const pkg_key *k)
{
    const char *name = str_of(app, "app_name"), *ver = str_of(app, "app_version");
    const char *path = str_of(app, "app_path");
    a->name = name ? name : k->name;
    /* strings of a JSON document, or of the vulnerability database (read
     * from JSON at import): valid UTF-8 already */
    a->vul_type = json_string_nocheck(vul_type_name(k->e->type));
    a->app_name = json_string_nocheck(a->name);
    a->app_version = json_string_nocheck(ver ? ver : k->version);
    a->app_path = path ? json_string_nocheck(path) : NULL;
    return a->vul_type && a->app_name && a->app_version && (!path || a->app_path);
}

static json_t *column_string(sqlite3_stmt *row, int col)
{
    return json_stringn_nocheck((const char *)sqlite3_column_text(row, col),
                                (size_t)sqlite3_column_bytes(row, col));
}

/* The severity names of one call, each one JSON string shared by every
 * record that has it (there are five). */
typedef struct {
    json_t *v[8];
    size_t n;
} sev_strings;

static json_t *severity_string(sev_strings *c, sqlite3_stmt *row, int col)
{
    const char *s = (const char *)sqlite3_column_text(row, col);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(json_string_value(c->v[i]), s) == 0) return json_incref(c->v[i]);
    json_t *j = column_string(row, col);
    if (j && c->n < sizeof c->v / sizeof *c->v) c->v[c->n++] = json_incref(j);
    return j;
}

/* Appends the vulnerability record of row for the app, unless
 * out[app_first..] (this app's records so far) already has its vul_id. */
static int append_vul(json_t *out, size_t app_first, const app_vals *a, sev_strings *sev,
                      sqlite3_stmt *row, const char *fixed)
{
    const char *vul_id = (const char *)sqlite3_column_text(row, 1);
    for (size_t i = app_first; i < json_array_size(out); i++) {
        json_t *prev = json_array_get(out, i);
        if (strcmp(json_string_value(json_object_get(prev, "vul_id")), vul_id) == 0) {
            if (fixed && !json_object_get(prev, "fixed_version"))
                json_object_set_new(prev, "fixed_version", json_string_nocheck(fixed));
            return 0;
        }
    }
    json_t *v = json_object();
    if (!v) return -1;
    json_object_set_new_nocheck(v, "vul_id", column_string(row, 1));
    json_object_set_nocheck(v, "vul_type", a->vul_type);
    json_object_set_new_nocheck(v, "severity", severity_string(sev, row, 2));
    if (sqlite3_column_type(row, 3) != SQLITE_NULL)
        json_object_set_new_nocheck(v, "cvss_score", json_real(sqlite3_column_double(row, 3)));
    json_object_set_nocheck(v, "app_name", a->app_name);
    json_object_set_nocheck(v, "app_version", a->app_version);
    if (a->app_path) json_object_set_nocheck(v, "app_path", a->app_path);
    if (fixed) {
        json_object_set_new_nocheck(v, "fixed_version", json_string_nocheck(fixed));
        char sol[600];
        snprintf(sol, sizeof sol, "Upgrade %s to %s or later.", a->name, fixed);
        json_object_set_new_nocheck(v, "solution", json_string(sol)); /* checked: may be cut */
    }
    json_object_set_new_nocheck(v, "description", column_string(row, 4));
    json_object_set_new_nocheck(v, "url", column_string(row, 5));
    return json_array_append_new(out, v);
}

int vulndb_match_apps(vulndb *db, const json_t *apps, const char *os_id, const char *os_version,
                      json_t *vul_out, json_t *warnings, vulndb_match_stats *stats,
                      imgsec_err *err)
{
    vulndb_match_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!json_is_array(apps) || !json_is_array(vul_out))
        return err_set(err, IMGSEC_EINVAL, "apps and the output must be JSON arrays");
    size_t first = json_array_size(vul_out);
    int rc = IMGSEC_OK;
    sqlite3_stmt *tx = vdb_stmt(db, VDB_BEGIN_READ, err);
    if (!tx) return err->code;
    if (sqlite3_step(tx) != SQLITE_DONE) {
        sqlite3_reset(tx);
        return vdb_sql_err(db, err, "begin");
    }
    sqlite3_reset(tx);
    sev_strings sev = {0};
    size_t i;
    const json_t *app;
    json_array_foreach(apps, i, app) {
        stats->packages++;
        pkg_key k;
        if (!app_key(app, os_id, os_version, &k)) {
            stats->unmatched++;
            continue;
        }
        sqlite3_stmt *st = vdb_stmt(db, VDB_LOOKUP, err);
        if (!st) { rc = err->code; break; }
        sqlite3_bind_text(st, 1, k.eco, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, k.name, -1, SQLITE_STATIC);
        stats->lookups++;
        size_t app_first = json_array_size(vul_out);
        app_vals av = {0};
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            stats->candidates++;
            match_ctx m = {db, stats, warnings,
                           str_of(app, "app_name") ? str_of(app, "app_name") : k.name,
                           sqlite3_column_int64(st, 1)};
            const char *fixed = NULL;
            int a = entry_affects(&m, &k, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), &fixed);
            if (a == -2) {
                rc = err_set(err, IMGSEC_EINTERNAL, "vulnerability database: a damaged entry");
                break;
            }
            if (a > 0) {
                sqlite3_stmt *d = vdb_stmt(db, VDB_DETAILS, err);
                if (!d) rc = err->code;
                else {
                    sqlite3_bind_int64(d, 1, m.vuln);
                    if (!av.app_name && !app_vals_make(&av, app, &k))
                        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
                    else if (sqlite3_step(d) == SQLITE_ROW && append_vul(vul_out, app_first, &av, &sev, d, fixed) != 0)
                        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
                    sqlite3_reset(d);
                }
            }
            if (rc != IMGSEC_OK) break;
        }
        if (rc == IMGSEC_OK && step != SQLITE_DONE && step != SQLITE_ROW) rc = vdb_sql_err(db, err, "lookup");
        sqlite3_reset(st);
        app_vals_free(&av);
        if (rc != IMGSEC_OK) break;
    }
    for (size_t j = 0; j < sev.n; j++) json_decref(sev.v[j]);
    imgsec_err e2 = {0};
    if ((tx = vdb_stmt(db, VDB_COMMIT, &e2))) {
        sqlite3_step(tx);
        sqlite3_reset(tx);
    } else {
        sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != IMGSEC_OK) {
        while (json_array_size(vul_out) > first) json_array_remove(vul_out, json_array_size(vul_out) - 1);
        return rc;
    }
    stats->matches = (int64_t)(json_array_size(vul_out) - first);
    return IMGSEC_OK;
}
