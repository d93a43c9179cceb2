/* an_npm.c - npm packages: installed package.json files and lock files.
 *
 * Installed: DIR/node_modules/NAME/package.json and
 * DIR/node_modules/@SCOPE/NAME/package.json (name, version, license; a
 * package.json without name or version, such as the {"type": "module"}
 * markers inside packages, is not a package).
 *
 * Locked: package-lock.json and npm's hidden lock
 * node_modules/.package-lock.json. Version 2 and 3 list every installed
 * package under "packages", keyed by its directory ("node_modules/a",
 * "node_modules/a/node_modules/b"); version 1 nests "dependencies". One
 * package per locked entry; links ("link": true, whose target has its own
 * entry), the root ("") and workspace sources (keys outside node_modules)
 * are not packages.
 *
 * Both name the package's directory, so the two are deduplicated by it:
 * when the installed package.json of a locked entry is in the image too,
 * only the installed one is emitted (its app_path is the package.json).
 * That needs every file seen first, so records are emitted in finish().
 * purl: pkg:npm/%40SCOPE/NAME@VERSION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define NPM_MANIFEST_MAX (1u << 20)  /* bytes of one package.json read */
#define NPM_LOCK_MAX (32u << 20)     /* bytes of one lock file read */
#define NPM_LOCK_DEPTH_MAX 64        /* nesting of a v1 lock's dependencies */

typedef struct {
    json_t *by_dir; /* package directory -> pending record ("_lock": true when from a lock) */
    size_t dropped;
} npm_state;

static int npm_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    npm_state *s = calloc(1, sizeof *s);
    if (!s || !(s->by_dir = json_object())) {
        free(s);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    *state = s;
    return IMGSEC_OK;
}

static void npm_close(void *state)
{
    npm_state *s = state;
    if (!s)
        return;
    json_decref(s->by_dir);
    free(s);
}

/* Is path DIR/node_modules/NAME/package.json or
 * DIR/node_modules/@SCOPE/NAME/package.json? */
static bool npm_is_manifest(const char *path)
{
    static const char PJ[] = "/package.json";
    size_t n = strlen(path);
    if (n < sizeof PJ || strcmp(path + n - (sizeof PJ - 1), PJ) != 0)
        return false;
    /* walk back over NAME, then maybe @SCOPE, then expect node_modules */
    const char *end = path + n - (sizeof PJ - 1); /* at "/package.json" */
    const char *p = end;
    while (p > path && p[-1] != '/')
        p--;
    if (p == end || p == path)
        return false;
    const char *seg_end = p - 1; /* the '/' before NAME */
    const char *q = seg_end;
    while (q > path && q[-1] != '/')
        q--;
    if (*q == '@') { /* scope */
        seg_end = q - 1;
        if (q == path)
            return false;
        q = seg_end;
        while (q > path && q[-1] != '/')
            q--;
    }
    return (size_t)(seg_end - q) == 12 && strncmp(q, "node_modules", 12) == 0;
}

static bool npm_is_lock(const char *path)
{
    const char *base = an_basename(path);
    if (strcmp(base, "package-lock.json") == 0)
        return true;
    return strcmp(base, ".package-lock.json") == 0 &&
           (strcmp(path, "node_modules/.package-lock.json") == 0 ||
            an_ends_with(path, "/node_modules/.package-lock.json"));
}

static int64_t npm_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode))
        return SCAN_WANT_NONE;
    if (npm_is_manifest(e->path))
        return NPM_MANIFEST_MAX;
    if (npm_is_lock(e->path))
        return NPM_LOCK_MAX;
    return SCAN_WANT_NONE;
}

/* A package's license as npm writes it: "MIT", or the legacy
 * {"type": "MIT"} and [{"type": ...}, ...]. Written into buf. */
static const char *npm_license(const json_t *pkg, char *buf, size_t size)
{
    const json_t *l = json_object_get(pkg, "license");
    if (json_is_string(l))
        return json_string_value(l);
    if (json_is_object(l))
        return json_string_value(json_object_get(l, "type"));
    const json_t *ls = json_object_get(pkg, "licenses");
    if (!json_is_array(ls))
        return NULL;
    size_t i, o = 0;
    json_t *it;
    buf[0] = '\0';
    json_array_foreach(ls, i, it) {
        const char *t = json_is_object(it) ? json_string_value(json_object_get(it, "type"))
                                           : json_string_value(it);
        if (!t || i >= 16)
            continue;
        int w = snprintf(buf + o, size - o, "%s%s", o ? " OR " : "", t);
        if (w < 0 || (size_t)w >= size - o)
            break;
        o += (size_t)w;
    }
    return o ? buf : NULL;
}

/* Records one package under dir. from_lock: an installed package.json of
 * the same dir wins. 0, or -1 on out of memory. */
static int npm_add(npm_state *s, const char *dir, const char *name, const char *version,
                   const char *license, const scan_entry *e, bool from_lock)
{
    if (!name || !*name || !version || !*version)
        return 0;
    json_t *old = json_object_get(s->by_dir, dir);
    if (old && (from_lock || !json_object_get(old, "_lock")))
        return 0; /* the first installed one, or any one over a locked entry */
    if (!old && json_object_size(s->by_dir) >= AN_PENDING_MAX) {
        s->dropped++;
        return 0;
    }
    an_app a = {.name = name, .version = version, .type = "npm", .path = e->path,
                .layer = e->layer, .license = license};
    json_t *rec = an_app_json(&a);
    if (!rec)
        return -1;
    if (from_lock && json_object_set_new(rec, "_lock", json_true()) != 0) {
        json_decref(rec);
        return -1;
    }
    /* the key is a path from the image, maybe not UTF-8: never serialised */
    return json_object_set_new_nocheck(s->by_dir, dir, rec) == 0 ? 0 : -1;
}

/* The directory of a path (dir written into buf, "" for the top). */
static void npm_dirname(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= size)
        n = size - 1;
    memmove(buf, path, n); /* buf may be path itself */
    buf[n] = '\0';
}

/* The package name of a v2/v3 lock key: what follows its last
 * "node_modules/" ("@scope/name" or "name"). NULL outside node_modules. */
static const char *npm_key_name(const char *key)
{
    const char *last = NULL;
    for (const char *p = key; (p = strstr(p, "node_modules/")); p += 13)
        if (p == key || p[-1] == '/')
            last = p + 13;
    return last && *last ? last : NULL;
}

static int npm_lock_v1(npm_state *s, const json_t *deps, const char *base, const char *prefix,
                       int depth, const scan_entry *e, scan_result *res)
{
    if (!json_is_object(deps))
        return 0;
    if (depth > NPM_LOCK_DEPTH_MAX) {
        scan_warn(res, "%s: dependencies nested deeper than %d, the rest skipped", e->path,
                  NPM_LOCK_DEPTH_MAX);
        return 0;
    }
    const char *name;
    json_t *dep;
    json_object_foreach((json_t *)deps, name, dep) {
        char dir[AN_PATH_MAX];
        int w = snprintf(dir, sizeof dir, "%s%snode_modules/%s", prefix, *prefix ? "/" : "", name);
        if (w < 0 || (size_t)w >= sizeof dir)
            continue;
        char key[AN_PATH_MAX + 1];
        w = snprintf(key, sizeof key, "%s%s%s", base, *base ? "/" : "", dir);
        if (w < 0 || (size_t)w >= sizeof key)
            continue;
        char lic[AN_LICENSE_MAX];
        if (npm_add(s, key, name, json_string_value(json_object_get(dep, "version")),
                    npm_license(dep, lic, sizeof lic), e, true) != 0)
            return -1;
        if (npm_lock_v1(s, json_object_get(dep, "dependencies"), base, dir, depth + 1, e, res) != 0)
            return -1;
    }
    return 0;
}

static int npm_lock(npm_state *s, const json_t *lock, const scan_entry *e, scan_result *res)
{
    char base[AN_PATH_MAX];
    npm_dirname(e->path, base, sizeof base);
    if (an_ends_with(e->path, ".package-lock.json")) /* DIR/node_modules/.package-lock.json */
        npm_dirname(base, base, sizeof base);
    const json_t *pkgs = json_object_get(lock, "packages");
    if (!json_is_object(pkgs)) /* version 1 */
        return npm_lock_v1(s, json_object_get(lock, "dependencies"), base, "", 0, e, res);
    const char *key;
    json_t *pkg;
    json_object_foreach((json_t *)pkgs, key, pkg) {
        const char *dirname = npm_key_name(key);
        if (!dirname || !json_is_object(pkg) || json_is_true(json_object_get(pkg, "link")))
            continue;
        const char *name = json_string_value(json_object_get(pkg, "name"));
        char dir[AN_PATH_MAX + 1];
        int w = snprintf(dir, sizeof dir, "%s%s%s", base, *base ? "/" : "", key);
        if (w < 0 || (size_t)w >= sizeof dir)
            continue;
        char lic[AN_LICENSE_MAX];
        if (npm_add(s, dir, name ? name : dirname,
                    json_string_value(json_object_get(pkg, "version")),
                    npm_license(pkg, lic, sizeof lic), e, true) != 0)
            return -1;
    }
    return 0;
}

static int npm_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                     scan_result *res, imgsec_err *err)
{
    npm_state *s = state;
    bool lock = !npm_is_manifest(e->path);
    if (len < (size_t)e->size) {
        scan_warn(res, "%s: larger than %u bytes, not read", e->path,
                  lock ? NPM_LOCK_MAX : NPM_MANIFEST_MAX);
        return IMGSEC_OK;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(an_text(data), len, 0, &jerr);
    if (!json_is_object(doc)) {
        if (doc)
            scan_warn(res, "%s: not a JSON object, skipped", e->path);
        else
            scan_warn(res, "%s: not JSON (line %d: %s), skipped", e->path, jerr.line, jerr.text);
        json_decref(doc);
        return IMGSEC_OK;
    }
    int rc;
    if (lock) {
        rc = npm_lock(s, doc, e, res);
    } else {
        char dir[AN_PATH_MAX], lic[AN_LICENSE_MAX];
        npm_dirname(e->path, dir, sizeof dir);
        rc = npm_add(s, dir, json_string_value(json_object_get(doc, "name")),
                     json_string_value(json_object_get(doc, "version")),
                     npm_license(doc, lic, sizeof lic), e, false);
    }
    json_decref(doc);
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

static int npm_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    npm_state *s = state;
    if (s->dropped)
        scan_warn(res, "npm: more than %d packages, %zu skipped", AN_PENDING_MAX, s->dropped);
    const char *dir;
    json_t *rec;
    json_object_foreach(s->by_dir, dir, rec) {
        const char *name = an_obj_get(rec, "app_name");
        const char *slash = name[0] == '@' ? strchr(name, '/') : NULL;
        char ns[AN_NAME_MAX + 1] = "";
        if (slash)
            snprintf(ns, sizeof ns, "%.*s", (int)(slash - name), name);
        char *purl = an_purl("npm", slash ? ns : NULL, slash ? slash + 1 : name,
                             an_obj_get(rec, "app_version"), NULL, 0);
        if (!purl || an_pending_emit(res, rec, purl) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

const scan_analyzer scan_an_npm = {
    .name = "npm",
    .emits = REPORT_APPS,
    .open = npm_open,
    .want = npm_want,
    .entry = npm_entry,
    .finish = npm_finish,
    .close = npm_close,
};
