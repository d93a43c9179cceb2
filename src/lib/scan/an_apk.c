/* an_apk.c - Alpine packages: lib/apk/db/installed.
 *
 * The database is stanzas of "K:value" lines, one letter per field,
 * separated by blank lines (apk-tools' database format; an_pkg.h's
 * stanza reader, shared with dpkg): P name, V
 * version, A architecture, L license, o origin (the source package). A
 * stanza without P or V is skipped with a warning.
 *
 * Packages are kept until finish(), when os-release is known:
 * pkg:apk/<os id>/NAME@VERSION?arch=A&distro=<VERSION_ID>&upstream=ORIGIN.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define APK_DB "lib/apk/db/installed"
#define APK_STANZAS_MAX 100000 /* stanzas read from one database */

typedef struct {
    an_pending pkgs;
} apk_state;

static int apk_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    apk_state *s = calloc(1, sizeof *s);
    if (!s || an_pending_init(&s->pkgs) != 0) {
        free(s);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    *state = s;
    return IMGSEC_OK;
}

static void apk_close(void *state)
{
    apk_state *s = state;
    if (!s)
        return;
    an_pending_free(&s->pkgs);
    free(s);
}

static int64_t apk_want(void *state, const scan_entry *e)
{
    (void)state;
    return S_ISREG(e->mode) && strcmp(e->path, APK_DB) == 0 ? SCAN_WANT_ALL : SCAN_WANT_NONE;
}

enum { F_NAME, F_VERSION, F_ARCH, F_LICENSE, F_ORIGIN, F_COUNT };
static const char FIELD_LETTERS[F_COUNT] = {'P', 'V', 'A', 'L', 'o'};
static const char *const FIELD_KEYS[F_COUNT] = {"app_name", "app_version", "_arch", "license",
                                                "_src"};
static const size_t FIELD_MAX[F_COUNT] = {AN_NAME_MAX, AN_VERSION_MAX, AN_VERSION_MAX,
                                          AN_LICENSE_MAX, AN_NAME_MAX};

static int apk_keep(apk_state *s, const an_span *f, const scan_entry *e, scan_result *res)
{
    if (!f[F_NAME].n || !f[F_VERSION].n) {
        scan_warn(res, "%s: a package without %s, skipped", e->path,
                  f[F_NAME].n ? "a version (V:)" : "a name (P:)");
        return 0;
    }
    json_t *o = json_object();
    if (!o)
        return -1;
    int rc = an_obj_setn(o, "app_type", "apk", 3, AN_VERSION_MAX) |
             an_obj_setn(o, "app_path", e->path, strlen(e->path), AN_PATH_MAX) |
             an_obj_setn(o, "layer_digest", e->layer, strlen(e->layer), AN_VERSION_MAX);
    for (int i = 0; i < F_COUNT; i++)
        rc |= an_obj_setn(o, FIELD_KEYS[i], f[i].v, f[i].n, FIELD_MAX[i]);
    if (rc) {
        json_decref(o);
        return -1;
    }
    return an_pending_add(&s->pkgs, o) < 0 ? -1 : 0;
}

static int apk_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                     scan_result *res, imgsec_err *err)
{
    apk_state *s = state;
    if (len < (size_t)e->size)
        scan_warn(res, "%s: larger than %u bytes, only the first part read", e->path,
                  SCAN_CONTENT_MAX);
    an_stanzas r;
    an_stanzas_init(&r, data, len);
    an_span f[F_COUNT] = {{0}}, key, value;
    size_t stanzas = 0;
    int k;
    while ((k = an_stanza_next(&r, &key, &value)) != AN_STANZAS_DONE) {
        if (k == AN_STANZA_FIELD) {
            for (int i = 0; key.n == 1 && i < F_COUNT; i++)
                if (key.v[0] == FIELD_LETTERS[i])
                    f[i] = value;
            continue;
        }
        if (++stanzas > APK_STANZAS_MAX) {
            scan_warn(res, "%s: more than %d packages, the rest skipped", e->path, APK_STANZAS_MAX);
            break;
        }
        if (apk_keep(s, f, e, res) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        memset(f, 0, sizeof f);
    }
    return IMGSEC_OK;
}

static int apk_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    apk_state *s = state;
    const char *os = scan_os_id(res);
    const char *distro = scan_os_version(res);
    if (s->pkgs.dropped)
        scan_warn(res, "apk: more than %d packages, %zu skipped", AN_PENDING_MAX, s->pkgs.dropped);
    size_t i;
    json_t *o;
    json_array_foreach(s->pkgs.items, i, o) {
        an_qual q[] = {{"arch", an_obj_get(o, "_arch")},
                       {"distro", distro},
                       {"upstream", an_obj_get(o, "_src")}};
        char *purl = an_purl("apk", os ? os : "alpine", an_obj_get(o, "app_name"),
                             an_obj_get(o, "app_version"), q, sizeof q / sizeof *q);
        if (!purl || an_pending_emit(res, o, purl) != 0)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

const scan_analyzer scan_an_apk = {
    .name = "apk",
    .emits = REPORT_APPS,
    .open = apk_open,
    .want = apk_want,
    .entry = apk_entry,
    .finish = apk_finish,
    .close = apk_close,
};
