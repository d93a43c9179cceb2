/* an_python.c - Python distributions: *.dist-info/METADATA (wheels, pip),
 * *.egg-info/PKG-INFO, *.egg/EGG-INFO/PKG-INFO and single-file *.egg-info
 * (distutils).
 *
 * All are Core Metadata: RFC 822 headers up to the first blank line (the
 * description may follow), continuation lines start with a blank; blank
 * lines followed by an indented one is still inside a folded header (old
 * distutils wrote Description so, classifiers after it), and so is a
 * blank line followed by more "Key:" headers; there, headers only fill
 * fields still unset, and the first line that is neither ends them. Read:
 * Name, Version, and the license, first of: License-Expression (PEP
 * 639), License (its first line; "UNKNOWN" means none), the last part of
 * each "Classifier: License :: ..." (joined with ", "). Only the first
 * PY_HEAD_MAX bytes are read: the headers come first.
 * purl: pkg:pypi/NAME@VERSION with NAME normalised as PEP 503 says
 * (lower case, runs of "-", "_", "." become one "-").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define PY_HEAD_MAX (256u << 10) /* bytes of one metadata file read */
#define PY_CLASSIFIERS_MAX 16    /* license classifiers kept */

static int64_t python_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode))
        return SCAN_WANT_NONE;
    const char *p = e->path;
    if (an_ends_with(p, ".dist-info/METADATA") || an_ends_with(p, ".egg-info/PKG-INFO") ||
        an_ends_with(p, ".egg/EGG-INFO/PKG-INFO") || an_ends_with(p, ".egg-info"))
        return PY_HEAD_MAX;
    return SCAN_WANT_NONE;
}

typedef struct {
    const char *v;
    size_t n;
} field;

/* Is the header line "Key:" (case-insensitive)? Sets the value. */
static bool header_is(const char *line, size_t n, const char *key, field *out)
{
    size_t k = strlen(key);
    if (n <= k || line[k] != ':' || strncasecmp(line, key, k) != 0)
        return false;
    out->v = line + k + 1;
    out->n = n - k - 1;
    an_trim(&out->v, &out->n);
    return true;
}

/* Does the line at s start "Token:" (letters, digits, '-')? */
static bool looks_like_header(const char *s, const char *end)
{
    const char *p = s;
    while (p < end && (isalnum((unsigned char)*p) || *p == '-'))
        p++;
    return p > s && p < end && *p == ':';
}

/* PEP 503 normalised name into buf. */
static void py_normalise(const char *name, char *buf, size_t size)
{
    size_t o = 0;
    bool sep = false;
    for (const char *p = name; *p && o + 1 < size; p++) {
        if (*p == '-' || *p == '_' || *p == '.') {
            sep = true;
            continue;
        }
        if (sep && o) {
            buf[o++] = '-';
            if (o + 1 >= size)
                break;
        }
        sep = false;
        buf[o++] = (char)tolower((unsigned char)*p);
    }
    buf[o] = '\0';
}

static int python_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                        scan_result *res, imgsec_err *err)
{
    (void)state;
    const char *p = an_text(data), *end = p + len;
    field name = {0}, version = {0}, lic = {0}, expr = {0}, f;
    field classifiers[PY_CLASSIFIERS_MAX];
    size_t n_class = 0;
    bool past_blank = false;
    const char *line;
    size_t n;
    while (an_line_next(&p, end, &line, &n)) {
        if (n == 0) {
            /* the end of the headers, unless what follows is indented or
             * another header (see the top of the file) */
            const char *q = p;
            while (q < end && (*q == '\n' || *q == '\r'))
                q++;
            if (q < end && (*q == ' ' || *q == '\t' || looks_like_header(q, end))) {
                past_blank = true;
                continue;
            }
            break;
        }
        if (line[0] == ' ' || line[0] == '\t')
            continue; /* continuation: only first lines are read */
        if (past_blank && !looks_like_header(line, end))
            break;
        /* past a blank line, headers only fill what is still unset */
        if (header_is(line, n, "Name", &f)) {
            if (!past_blank || !name.n)
                name = f;
        } else if (header_is(line, n, "Version", &f)) {
            if (!past_blank || !version.n)
                version = f;
        } else if (header_is(line, n, "License", &f)) {
            if (!past_blank || !lic.n)
                lic = f;
        } else if (header_is(line, n, "License-Expression", &f)) {
            if (!past_blank || !expr.n)
                expr = f;
        } else if (header_is(line, n, "Classifier", &f) && f.n > 11 &&
                   strncmp(f.v, "License :: ", 11) == 0 && n_class < PY_CLASSIFIERS_MAX) {
            /* the last " :: " part: "MIT License" */
            const char *last = f.v;
            for (const char *q = f.v; q + 4 <= f.v + f.n; q++)
                if (memcmp(q, " :: ", 4) == 0)
                    last = q + 4;
            classifiers[n_class].v = last;
            classifiers[n_class++].n = (size_t)(f.v + f.n - last);
        }
    }
    if (!name.n || !version.n) {
        scan_warn(res, "%s: no Name or Version, skipped", e->path);
        return IMGSEC_OK;
    }
    char nm[AN_NAME_MAX + 1], ver[AN_VERSION_MAX + 1], license[AN_LICENSE_MAX + 1] = "";
    snprintf(nm, sizeof nm, "%.*s", (int)(name.n < AN_NAME_MAX ? name.n : AN_NAME_MAX), name.v);
    snprintf(ver, sizeof ver, "%.*s", (int)(version.n < AN_VERSION_MAX ? version.n : AN_VERSION_MAX),
             version.v);
    if (expr.n) {
        snprintf(license, sizeof license, "%.*s",
                 (int)(expr.n < AN_LICENSE_MAX ? expr.n : AN_LICENSE_MAX), expr.v);
    } else if (lic.n && !(lic.n == 7 && strncasecmp(lic.v, "UNKNOWN", 7) == 0)) {
        snprintf(license, sizeof license, "%.*s",
                 (int)(lic.n < AN_LICENSE_MAX ? lic.n : AN_LICENSE_MAX), lic.v);
    } else {
        size_t o = 0;
        for (size_t i = 0; i < n_class; i++) {
            int w = snprintf(license + o, sizeof license - o, "%s%.*s", o ? ", " : "",
                             (int)classifiers[i].n, classifiers[i].v);
            if (w < 0 || (size_t)w >= sizeof license - o)
                break;
            o += (size_t)w;
        }
    }
    char norm[AN_NAME_MAX + 1];
    py_normalise(nm, norm, sizeof norm);
    char *purl = an_purl("pypi", NULL, norm, ver, NULL, 0);
    an_app a = {.name = nm, .version = ver, .type = "python", .path = e->path,
                .layer = e->layer, .license = license, .purl = purl};
    int rc = purl ? an_emit_app(res, &a) : -1;
    free(purl);
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_python = {
    .name = "python",
    .emits = REPORT_APPS,
    .want = python_want,
    .entry = python_entry,
};
