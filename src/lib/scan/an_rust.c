/* an_rust.c - Rust crates: Cargo.lock and the dependency lists that
 * cargo-auditable embeds in binaries.
 *
 * Cargo.lock (every version: the old one with [metadata] checksums and a
 * [root] table, v3, v4): each [[package]] (and [root]) table's name and
 * version, read as the TOML subset Cargo writes (key = "string" lines);
 * other tables ([metadata], [[patch.unused]]) are not packages.
 *
 * Binaries: the section ".dep-v0" (ELF, PE; "__dep_v0" is also accepted
 * for Mach-O) holds zlib-compressed JSON {"packages": [{"name",
 * "version", "source", "kind", ...}]}; inflated to at most
 * RUST_AUDIT_MAX bytes (cargo-auditable's own limit), every package is
 * one app. Executables are every regular file with an execute bit.
 * purl: pkg:cargo/NAME@VERSION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "scan/an_exe.h"
#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define RUST_LOCK_MAX (16u << 20)   /* bytes of one Cargo.lock read */
#define RUST_AUDIT_MAX (8u << 20)   /* inflated bytes of one .dep-v0 */
#define RUST_CRATES_MAX 100000      /* packages of one lock file or binary */
#define RUST_MIN_SIZE 64

static int64_t rust_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode))
        return SCAN_WANT_NONE;
    if (strcmp(an_basename(e->path), "Cargo.lock") == 0)
        return RUST_LOCK_MAX;
    return (e->mode & 0111) && e->size >= RUST_MIN_SIZE ? SCAN_WANT_ALL : SCAN_WANT_NONE;
}

static int rust_emit(scan_result *res, const scan_entry *e, const char *name, const char *version)
{
    char *purl = an_purl("cargo", NULL, name, version, NULL, 0);
    an_app a = {.name = name, .version = version, .type = "cargo", .path = e->path,
                .layer = e->layer, .purl = purl};
    int rc = purl ? an_emit_app(res, &a) : -1;
    free(purl);
    return rc;
}

/* `key = "value"`: the value (without quotes) when the line sets key. */
static bool toml_string(const char *line, size_t n, const char *key, char *out, size_t size)
{
    size_t k = strlen(key);
    if (n <= k || memcmp(line, key, k) != 0)
        return false;
    size_t i = k;
    while (i < n && line[i] == ' ')
        i++;
    if (i >= n || line[i] != '=')
        return false;
    i++;
    while (i < n && line[i] == ' ')
        i++;
    if (i >= n || line[i] != '"')
        return false;
    const char *v = line + i + 1;
    const char *q = memchr(v, '"', n - i - 1);
    if (!q)
        return false;
    size_t vn = (size_t)(q - v);
    snprintf(out, size, "%.*s", (int)(vn < size ? vn : size - 1), v);
    return true;
}

static int rust_lock(const scan_entry *e, const char *text, size_t len, scan_result *res)
{
    const char *p = text, *end = text + len, *line;
    size_t n, crates = 0;
    bool in_pkg = false;
    char name[AN_NAME_MAX + 1] = "", version[AN_VERSION_MAX + 1] = "";
    for (;;) {
        bool more = an_line_next(&p, end, &line, &n);
        if (more)
            an_trim(&line, &n);
        bool table = more && n && line[0] == '[';
        if (!more || table) { /* the end of a table */
            if (in_pkg && name[0] && version[0]) {
                if (++crates > RUST_CRATES_MAX) {
                    scan_warn(res, "%s: more than %d packages, the rest skipped", e->path,
                              RUST_CRATES_MAX);
                    return 0;
                }
                if (rust_emit(res, e, name, version) != 0)
                    return -1;
            }
            name[0] = version[0] = '\0';
            if (!more)
                return 0;
            in_pkg = (n == 11 && memcmp(line, "[[package]]", 11) == 0) ||
                     (n == 6 && memcmp(line, "[root]", 6) == 0);
            continue;
        }
        if (!in_pkg)
            continue;
        if (!name[0])
            toml_string(line, n, "name", name, sizeof name);
        if (!version[0])
            toml_string(line, n, "version", version, sizeof version);
    }
}

/* Inflates a zlib stream, at most RUST_AUDIT_MAX bytes. NULL when it is
 * not one, or larger (*too_big). */
static char *rust_inflate(const unsigned char *z, size_t n, size_t *out_n, bool *too_big)
{
    *too_big = false;
    size_t cap = 64 << 10, used = 0;
    char *out = malloc(cap + 1);
    if (!out)
        return NULL;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) {
        free(out);
        return NULL;
    }
    s.next_in = (unsigned char *)(uintptr_t)z;
    s.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
    int rc;
    do {
        if (used == cap) {
            if (cap >= RUST_AUDIT_MAX) {
                *too_big = true;
                rc = Z_BUF_ERROR;
                break;
            }
            cap *= 2;
            char *grown = realloc(out, cap + 1);
            if (!grown) {
                rc = Z_MEM_ERROR;
                break;
            }
            out = grown;
        }
        s.next_out = (unsigned char *)out + used;
        s.avail_out = (uInt)(cap - used);
        rc = inflate(&s, Z_NO_FLUSH);
        used = cap - s.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&s);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[used] = '\0';
    *out_n = used;
    return out;
}

/* The dependency list of an auditable binary. 0, or -1 on out of memory. */
static int rust_audit_json(const scan_entry *e, const char *json, size_t len, scan_result *res)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, 0, &jerr);
    json_t *pkgs = json_object_get(doc, "packages");
    if (!json_is_array(pkgs)) {
        scan_warn(res, "%s: .dep-v0 is not cargo-auditable JSON, skipped", e->path);
        json_decref(doc);
        return 0;
    }
    size_t i;
    json_t *pkg;
    int rc = 0;
    json_array_foreach(pkgs, i, pkg) {
        if (i >= RUST_CRATES_MAX) {
            scan_warn(res, "%s: more than %d packages, the rest skipped", e->path,
                      RUST_CRATES_MAX);
            break;
        }
        const char *name = json_string_value(json_object_get(pkg, "name"));
        const char *version = json_string_value(json_object_get(pkg, "version"));
        if (name && *name && version && *version && (rc = rust_emit(res, e, name, version)) != 0)
            break;
    }
    json_decref(doc);
    return rc;
}

static int rust_binary(const scan_entry *e, const unsigned char *data, size_t len,
                       scan_result *res)
{
    if (!an_exe_is(data, len))
        return 0;
    an_exe *x = malloc(sizeof *x);
    if (!x)
        return -1;
    const an_exe_region *sec = NULL;
    const unsigned char *z = NULL;
    size_t zn = 0;
    if (an_exe_parse(data, len, x) == 0 &&
        ((sec = an_exe_section(x, ".dep-v0")) || (sec = an_exe_section(x, "__dep_v0"))))
        z = an_exe_region_bytes(x, data, len, sec, &zn);
    free(x);
    if (!z)
        return 0;
    return an_rust_audit(e, z, zn, res);
}

int an_rust_audit(const scan_entry *e, const unsigned char *z, size_t zn, scan_result *res)
{
    size_t jn;
    bool too_big;
    char *json = rust_inflate(z, zn, &jn, &too_big);
    if (!json) {
        scan_warn(res, "%s: .dep-v0 %s, skipped", e->path,
                  too_big ? "inflates to more than 8 MiB" : "is not zlib data");
        return 0;
    }
    int rc = rust_audit_json(e, json, jn, res);
    free(json);
    return rc;
}

static int rust_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                      scan_result *res, imgsec_err *err)
{
    (void)state;
    int rc;
    if (strcmp(an_basename(e->path), "Cargo.lock") == 0) {
        if (len < (size_t)e->size) {
            scan_warn(res, "%s: larger than %u bytes, not read", e->path, RUST_LOCK_MAX);
            return IMGSEC_OK;
        }
        rc = rust_lock(e, an_text(data), len, res);
    } else {
        rc = rust_binary(e, data, len, res);
    }
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_rust = {
    .name = "rust",
    .emits = REPORT_APPS,
    .want = rust_want,
    .entry = rust_entry,
};
