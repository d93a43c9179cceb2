/* an_go.c - Go binaries: the build information the Go linker embeds
 * (what `go version -m` prints), in ELF, Mach-O and PE executables.
 *
 * Where: the .go.buildinfo section (ELF), __go_buildinfo (Mach-O), else
 * the first writable data segment or section (as Go's debug/buildinfo
 * searches), at most GO_SEARCH_MAX bytes from its start, for the 16-byte
 * aligned magic "\xff Go buildinf:". The 32-byte header then says the
 * pointer size and flags:
 *  - Go >= 1.18 (flag 2): the Go version and the module information
 *    follow the header inline, each a uvarint length and bytes;
 *  - older (1.13-1.17): two pointers follow the magic, each to a Go
 *    string header (data pointer, length), read through the binary's
 *    address map (an_exe.h), in the byte order flag 1 gives.
 * The module information (between 16-byte sentinels) is lines of tab-
 * separated fields: "mod PATH VERSION SUM" (the main module), "dep PATH
 * VERSION SUM", and "=> PATH VERSION SUM" replacing the line above it.
 *
 * Emitted: the main module (no version when it is "(devel)", as go
 * build writes for a local build), each dependency (a replaced one as its
 * replacement; one replaced by a local directory, which has no version,
 * keeps its own path without a version), and "stdlib" at the Go version
 * ("go1.22.1" -> "v1.22.1"; none for a development toolchain).
 * purl: pkg:golang/MODULE/PATH@VERSION (the module path as written: Go
 * module paths are case-sensitive).
 *
 * Executables are every regular file with an execute bit, read whole up
 * to SCAN_CONTENT_MAX; a binary larger than that whose build info lies
 * beyond is not found (warned).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/an_exe.h"
#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define GO_MAGIC "\xff Go buildinf:"
#define GO_MAGIC_LEN 14
#define GO_SEARCH_MAX (64u << 10)   /* bytes searched for the magic */
#define GO_STRING_MAX (1u << 20)    /* bytes of the version or module information */
#define GO_DEPS_MAX 100000          /* modules of one binary */
#define GO_MIN_SIZE 64              /* smaller files are no executables */

static int64_t go_want(void *state, const scan_entry *e)
{
    (void)state;
    return S_ISREG(e->mode) && (e->mode & 0111) && e->size >= GO_MIN_SIZE ? SCAN_WANT_ALL
                                                                          : SCAN_WANT_NONE;
}

/* A uvarint at *p (< end); advances *p. false when malformed. */
static bool uvarint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* The header at the magic, in the region's bytes, or NULL. */
static const unsigned char *go_find(const unsigned char *r, size_t n)
{
    if (n > GO_SEARCH_MAX)
        n = GO_SEARCH_MAX;
    for (size_t i = 0; i + 32 <= n; i += 16)
        if (memcmp(r + i, GO_MAGIC, GO_MAGIC_LEN) == 0)
            return r + i;
    return NULL;
}

/* A Go string through the address map: at addr a (pointer, length)
 * header. */
static bool go_read_ptr_string(const an_exe *x, const unsigned char *d, size_t len, uint64_t addr,
                               const unsigned char **s, size_t *n)
{
    const unsigned char *hdr = an_exe_at(x, d, len, addr, 2 * x->ptr_size);
    if (!hdr)
        return false;
    uint64_t data = an_exe_uint(x, hdr, x->ptr_size);
    uint64_t slen = an_exe_uint(x, hdr + x->ptr_size, x->ptr_size);
    if (slen > GO_STRING_MAX)
        return false;
    if (slen == 0) {
        *s = hdr;
        *n = 0;
        return true;
    }
    *s = an_exe_at(x, d, len, data, slen);
    *n = (size_t)slen;
    return *s != NULL;
}

/* Reads the version and module information. false when there is none. */
static bool go_buildinfo(const an_exe *x, const unsigned char *d, size_t len,
                         const unsigned char **ver, size_t *ver_n, const unsigned char **mod,
                         size_t *mod_n)
{
    const unsigned char *hdr = NULL;
    const an_exe_region *sec = an_exe_section(x, x->format == AN_EXE_MACHO ? "__go_buildinfo"
                                                                           : ".go.buildinfo");
    size_t n = 0;
    const unsigned char *r;
    if (sec && (r = an_exe_region_bytes(x, d, len, sec, &n)))
        hdr = go_find(r, n);
    for (size_t i = 0; !hdr && i < x->n_regions; i++) {
        const an_exe_region *reg = &x->regions[i];
        bool data_seg = reg->writable && (reg->segment || x->format != AN_EXE_ELF);
        if (data_seg && (r = an_exe_region_bytes(x, d, len, reg, &n)))
            hdr = go_find(r, n);
    }
    if (!hdr)
        return false;
    unsigned ptr_size = hdr[14], flags = hdr[15];
    const unsigned char *end = d + len;
    if (flags & 2) { /* inline */
        const unsigned char *p = hdr + 32;
        uint64_t vn, mn;
        if (!uvarint(&p, end, &vn) || vn > GO_STRING_MAX || vn > (uint64_t)(end - p))
            return false;
        *ver = p;
        *ver_n = (size_t)vn;
        p += vn;
        if (!uvarint(&p, end, &mn) || mn > GO_STRING_MAX || mn > (uint64_t)(end - p))
            return false;
        *mod = p;
        *mod_n = (size_t)mn;
    } else {
        if (ptr_size != 4 && ptr_size != 8)
            return false;
        an_exe y = *x; /* the header's pointer size and byte order win */
        y.ptr_size = ptr_size;
        y.big_endian = hdr[15] != 0;
        uint64_t va = an_exe_uint(&y, hdr + 16, ptr_size);
        uint64_t ma = an_exe_uint(&y, hdr + 16 + ptr_size, ptr_size);
        if (!go_read_ptr_string(&y, d, len, va, ver, ver_n) ||
            !go_read_ptr_string(&y, d, len, ma, mod, mod_n))
            return false;
    }
    /* the module information sits between two 16-byte sentinels */
    if (*mod_n >= 33 && (*mod)[*mod_n - 17] == '\n') {
        *mod += 16;
        *mod_n -= 32;
    } else {
        *mod_n = 0;
    }
    return true;
}

/* Field i (0-based) of a tab-separated line. */
static bool tab_field(const char *line, size_t n, int i, const char **f, size_t *fn)
{
    const char *p = line, *end = line + n;
    for (; i > 0; i--) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        if (!t)
            return false;
        p = t + 1;
    }
    const char *t = memchr(p, '\t', (size_t)(end - p));
    *f = p;
    *fn = t ? (size_t)(t - p) : (size_t)(end - p);
    return true;
}

typedef struct {
    char path[AN_NAME_MAX + 1];
    char version[AN_VERSION_MAX + 1];
    bool set;
} go_mod;

static int go_emit(const go_mod *m, const scan_entry *e, scan_result *res)
{
    if (!m->set || !m->path[0])
        return 0;
    const char *ver = strcmp(m->version, "(devel)") == 0 ? "" : m->version;
    const char *slash = strrchr(m->path, '/');
    char ns[AN_NAME_MAX + 1] = "";
    if (slash)
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - m->path), m->path);
    char *purl = an_purl("golang", ns, slash ? slash + 1 : m->path, ver, NULL, 0);
    an_app a = {.name = m->path, .version = ver, .type = "go", .path = e->path, .layer = e->layer,
                .purl = purl};
    int rc = purl ? an_emit_app(res, &a) : -1;
    free(purl);
    return rc;
}

static void copy_field(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int go_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                    scan_result *res, imgsec_err *err)
{
    (void)state;
    if (!an_exe_is(data, len))
        return IMGSEC_OK;
    an_exe *x = malloc(sizeof *x);
    if (!x)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    const unsigned char *ver, *mod;
    size_t ver_n, mod_n;
    bool found = an_exe_parse(data, len, x) == 0 &&
                 go_buildinfo(x, data, len, &ver, &ver_n, &mod, &mod_n);
    free(x);
    if (!found) {
        if (len < (size_t)e->size)
            scan_warn(res, "%s: larger than %u bytes, Go build info not searched beyond",
                      e->path, SCAN_CONTENT_MAX);
        return IMGSEC_OK;
    }
    int rc = 0;
    go_mod cur = {0};
    size_t mods = 0;
    const char *p = (const char *)mod, *end = p + mod_n, *line;
    size_t n;
    while (rc == 0 && an_line_next(&p, end, &line, &n)) {
        const char *kind, *path, *version = "";
        size_t kn, pn, vn = 0;
        if (!tab_field(line, n, 0, &kind, &kn) || !tab_field(line, n, 1, &path, &pn))
            continue;
        tab_field(line, n, 2, &version, &vn);
        bool is_mod = kn == 3 && (memcmp(kind, "mod", 3) == 0 || memcmp(kind, "dep", 3) == 0);
        bool is_rep = kn == 2 && memcmp(kind, "=>", 2) == 0;
        if (is_mod) {
            rc = go_emit(&cur, e, res);
            if (++mods > GO_DEPS_MAX) {
                scan_warn(res, "%s: more than %d Go modules, the rest skipped", e->path,
                          GO_DEPS_MAX);
                cur.set = false;
                break;
            }
            copy_field(cur.path, sizeof cur.path, path, pn);
            copy_field(cur.version, sizeof cur.version, version, vn);
            cur.set = true;
        } else if (is_rep && cur.set) {
            if (vn) { /* a module replacement; a local directory keeps the path */
                copy_field(cur.path, sizeof cur.path, path, pn);
                copy_field(cur.version, sizeof cur.version, version, vn);
            } else {
                cur.version[0] = '\0';
            }
        }
    }
    if (rc == 0)
        rc = go_emit(&cur, e, res);
    /* stdlib at the Go version: "go1.22.1" or "go1.22.1 X:boringcrypto" */
    if (rc == 0 && ver_n > 2 && memcmp(ver, "go", 2) == 0 && ver[2] >= '0' && ver[2] <= '9') {
        go_mod std = {.set = true};
        strcpy(std.path, "stdlib");
        size_t k = 2;
        while (k < ver_n && ver[k] != ' ' && k - 2 < AN_VERSION_MAX - 2)
            k++;
        snprintf(std.version, sizeof std.version, "v%.*s", (int)(k - 2), (const char *)ver + 2);
        rc = go_emit(&std, e, res);
    }
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_go = {
    .name = "go",
    .emits = REPORT_APPS,
    .want = go_want,
    .entry = go_entry,
};
