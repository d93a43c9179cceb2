/* an_dpkg.c - Debian packages: var/lib/dpkg/status and the per-package
 * files of distroless images, var/lib/dpkg/status.d/<name>.
 *
 * Both are deb822 stanzas ("Field: value", continuation lines start with
 * a blank, stanzas separated by blank lines; an_pkg.h's stanza reader).
 * A package of the status
 * file counts only when its Status is "install ok installed" (what
 * `dpkg-query -W` calls "ii"); a status.d file has no Status field (the
 * distroless build writes only installed packages), and one that does
 * carry Status is held to the same rule. The source package comes from
 * Source ("util-linux", or "binutils (2.31-1)" when its version differs).
 *
 * Packages are kept until finish(), when the distro (os-release) is known:
 * pkg:deb/<os id>/NAME@VERSION?arch=A&distro=<id>-<version>&upstream=SRC
 * (upstream "SRC@SRCVERSION" when the source's version differs from the
 * package's; no upstream when there is no Source field).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define DPKG_STATUS_D "var/lib/dpkg/status.d/"
#define DPKG_STANZAS_MAX 100000 /* stanzas read from one file */

typedef struct {
    an_pending pkgs;
} dpkg_state;

typedef struct {
    an_span package, status, version, arch, source;
} stanza;

static int dpkg_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    dpkg_state *s = calloc(1, sizeof *s);
    if (!s || an_pending_init(&s->pkgs) != 0) {
        free(s);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    *state = s;
    return IMGSEC_OK;
}

static void dpkg_close(void *state)
{
    dpkg_state *s = state;
    if (!s)
        return;
    an_pending_free(&s->pkgs);
    free(s);
}

static int64_t dpkg_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode))
        return SCAN_WANT_NONE;
    if (strcmp(e->path, DPKG_STATUS) == 0)
        return SCAN_WANT_ALL;
    if (strncmp(e->path, DPKG_STATUS_D, sizeof DPKG_STATUS_D - 1) == 0) {
        const char *name = e->path + sizeof DPKG_STATUS_D - 1;
        if (*name && !strchr(name, '/') && !an_ends_with(name, ".md5sums"))
            return SCAN_WANT_ALL;
    }
    return SCAN_WANT_NONE;
}

static bool field_is(const an_span *f, const char *s)
{
    return f->n == strlen(s) && memcmp(f->v, s, f->n) == 0;
}

/* Keeps one package of a finished stanza. 0, or -1 on out of memory. */
static int dpkg_keep(dpkg_state *s, const stanza *st, bool in_status_d, const scan_entry *e,
                     scan_result *res)
{
    if (!st->package.n)
        return 0;
    if (st->status.n ? !field_is(&st->status, "install ok installed") : !in_status_d)
        return 0;
    if (!st->version.n) {
        scan_warn(res, "%s: package %.*s has no Version, skipped", e->path,
                  (int)(st->package.n < 128 ? st->package.n : 128), st->package.v);
        return 0;
    }
    json_t *o = json_object();
    if (!o)
        return -1;
    int rc = an_obj_setn(o, "app_name", st->package.v, st->package.n, AN_NAME_MAX) |
             an_obj_setn(o, "app_version", st->version.v, st->version.n, AN_VERSION_MAX) |
             an_obj_setn(o, "app_type", "deb", 3, AN_VERSION_MAX) |
             an_obj_setn(o, "app_path", e->path, strlen(e->path), AN_PATH_MAX) |
             an_obj_setn(o, "layer_digest", e->layer, strlen(e->layer), AN_VERSION_MAX) |
             an_obj_setn(o, "_arch", st->arch.v, st->arch.n, AN_VERSION_MAX);
    if (st->source.n) {
        /* "name" or "name (version)" */
        const char *src = st->source.v;
        size_t n = st->source.n;
        const char *paren = memchr(src, '(', n);
        size_t name_n = paren ? (size_t)(paren - src) : n;
        const char *nm = src;
        an_trim(&nm, &name_n);
        rc |= an_obj_setn(o, "_src", nm, name_n, AN_NAME_MAX);
        if (paren) {
            const char *close = memchr(paren, ')', (size_t)(src + n - paren));
            const char *v = paren + 1;
            size_t vn = close ? (size_t)(close - v) : (size_t)(src + n - v);
            an_trim(&v, &vn);
            rc |= an_obj_setn(o, "_srcver", v, vn, AN_VERSION_MAX);
        }
    }
    if (rc) {
        json_decref(o);
        return -1;
    }
    return an_pending_add(&s->pkgs, o) < 0 ? -1 : 0;
}

static int dpkg_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                      scan_result *res, imgsec_err *err)
{
    dpkg_state *s = state;
    bool in_status_d = strcmp(e->path, DPKG_STATUS) != 0;
    if (len < (size_t)e->size)
        scan_warn(res, "%s: larger than %u bytes, only the first part read", e->path,
                  SCAN_CONTENT_MAX);
    an_stanzas r;
    an_stanzas_init(&r, data, len);
    stanza st = {0};
    an_span key, value;
    size_t stanzas = 0;
    int k;
    while ((k = an_stanza_next(&r, &key, &value)) != AN_STANZAS_DONE) {
        if (k == AN_STANZA_END) {
            if (st.package.n || st.status.n || st.version.n) {
                if (++stanzas > DPKG_STANZAS_MAX) {
                    scan_warn(res, "%s: more than %d stanzas, the rest skipped", e->path,
                              DPKG_STANZAS_MAX);
                    break;
                }
                if (dpkg_keep(s, &st, in_status_d, e, res) != 0)
                    return err_set(err, IMGSEC_EINTERNAL, "out of memory");
            }
            memset(&st, 0, sizeof st);
            continue;
        }
        /* fields of other names, and continuation lines, are not read: none
         * of these spans lines */
        an_span *f = NULL;
        if (key.n == 7 && strncasecmp(key.v, "Package", 7) == 0)
            f = &st.package;
        else if (key.n == 6 && strncasecmp(key.v, "Status", 6) == 0)
            f = &st.status;
        else if (key.n == 7 && strncasecmp(key.v, "Version", 7) == 0)
            f = &st.version;
        else if (key.n == 12 && strncasecmp(key.v, "Architecture", 12) == 0)
            f = &st.arch;
        else if (key.n == 6 && strncasecmp(key.v, "Source", 6) == 0)
            f = &st.source;
        if (f)
            *f = value;
    }
    return IMGSEC_OK;
}

static int dpkg_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    dpkg_state *s = state;
    char distro[256];
    const char *os = scan_os_id(res);
    const char *d = an_distro(res, distro, sizeof distro);
    size_t i;
    json_t *o;
    if (s->pkgs.dropped)
        scan_warn(res, "dpkg: more than %d packages, %zu skipped", AN_PENDING_MAX, s->pkgs.dropped);
    json_array_foreach(s->pkgs.items, i, o) {
        const char *src = an_obj_get(o, "_src"), *srcver = an_obj_get(o, "_srcver");
        char upstream[AN_NAME_MAX + AN_VERSION_MAX + 2];
        const char *up = NULL;
        if (src && srcver && strcmp(srcver, an_obj_get(o, "app_version")) != 0) {
            snprintf(upstream, sizeof upstream, "%s@%s", src, srcver);
            up = upstream;
        } else if (src) {
            up = src;
        }
        an_qual q[] = {{"arch", an_obj_get(o, "_arch")}, {"distro", d}, {"upstream", up}};
        char *purl = an_purl("deb", os ? os : "debian", an_obj_get(o, "app_name"),
                             an_obj_get(o, "app_version"), q, sizeof q / sizeof *q);
        if (!purl || an_pending_emit(res, o, purl) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

const scan_analyzer scan_an_dpkg = {
    .name = "dpkg",
    .emits = REPORT_APPS,
    .open = dpkg_open,
    .want = dpkg_want,
    .entry = dpkg_entry,
    .finish = dpkg_finish,
    .close = dpkg_close,
};
