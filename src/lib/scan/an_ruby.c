/* an_ruby.c - Ruby gems: installed specifications and Gemfile.lock.
 *
 * Installed gems: .../specifications/NAME-VERSION.gemspec (and
 * specifications/default/), the Ruby files RubyGems writes on install.
 * They are read as text, never run: the lines "X.name = "..."",
 * "X.version = "..."" and "X.license(s) = ..." (every quoted string of
 * the value, joined with ", "), with X any identifier; .freeze and the
 * like after the string are ignored. A gemspec without both name and
 * version is skipped with a warning.
 *
 * Gemfile.lock: the "specs:" of the GEM, GIT and PATH sections, lines
 * indented by exactly four spaces, "NAME (VERSION)" (a platform suffix
 * such as "-x86_64-linux" is cut: gem versions have no '-'); deeper lines
 * are dependency constraints, not packages.
 * purl: pkg:gem/NAME@VERSION.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define RUBY_TEXT_MAX (4u << 20)  /* bytes of one gemspec or lock file read */
#define RUBY_GEMS_MAX 100000      /* gems of one lock file */

static bool ruby_is_gemspec(const char *path)
{
    return an_ends_with(path, ".gemspec") &&
           (strncmp(path, "specifications/", 15) == 0 || strstr(path, "/specifications/"));
}

static int64_t ruby_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode))
        return SCAN_WANT_NONE;
    if (ruby_is_gemspec(e->path) || strcmp(an_basename(e->path), "Gemfile.lock") == 0)
        return RUBY_TEXT_MAX;
    return SCAN_WANT_NONE;
}

static int ruby_emit(scan_result *res, const scan_entry *e, const char *name, const char *version,
                     const char *license)
{
    char *purl = an_purl("gem", NULL, name, version, NULL, 0);
    an_app a = {.name = name, .version = version, .type = "gem", .path = e->path,
                .layer = e->layer, .license = license, .purl = purl};
    int rc = purl ? an_emit_app(res, &a) : -1;
    free(purl);
    return rc;
}

/* Appends every quoted string of s[0..n) to out (joined with ", "); with
 * first_only, only the first. */
static void quoted(const char *s, size_t n, char *out, size_t size, bool first_only)
{
    size_t o = strlen(out);
    for (size_t i = 0; i < n; i++) {
        char q = s[i];
        if (q != '"' && q != '\'')
            continue;
        size_t j = i + 1;
        while (j < n && s[j] != q)
            j++;
        if (j >= n)
            return;
        int w = snprintf(out + o, size - o, "%s%.*s", o ? ", " : "", (int)(j - i - 1), s + i + 1);
        if (w < 0 || (size_t)w >= size - o)
            return;
        o += (size_t)w;
        if (first_only)
            return;
        i = j;
    }
}

/* "X.field = value": the value, when the line assigns field. */
static bool assigns(const char *line, size_t n, const char *field, const char **v, size_t *vn)
{
    size_t i = 0;
    while (i < n && (line[i] == '_' || (line[i] >= 'a' && line[i] <= 'z') ||
                     (line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9')))
        i++;
    size_t f = strlen(field);
    if (i == 0 || i + 1 + f > n || line[i] != '.' || memcmp(line + i + 1, field, f) != 0)
        return false;
    i += 1 + f;
    while (i < n && line[i] == ' ')
        i++;
    if (i >= n || line[i] != '=' || (i + 1 < n && line[i + 1] == '='))
        return false;
    *v = line + i + 1;
    *vn = n - i - 1;
    return true;
}

static int ruby_gemspec(const scan_entry *e, const char *text, size_t len, scan_result *res)
{
    char name[AN_NAME_MAX + 1] = "", version[AN_VERSION_MAX + 1] = "",
         license[AN_LICENSE_MAX + 1] = "";
    const char *p = text, *end = text + len, *line, *v;
    size_t n, vn;
    while (an_line_next(&p, end, &line, &n)) {
        an_trim(&line, &n);
        if (!name[0] && assigns(line, n, "name", &v, &vn))
            quoted(v, vn, name, sizeof name, true);
        else if (!version[0] && assigns(line, n, "version", &v, &vn))
            quoted(v, vn, version, sizeof version, true);
        else if (!license[0] &&
                 (assigns(line, n, "licenses", &v, &vn) || assigns(line, n, "license", &v, &vn)))
            quoted(v, vn, license, sizeof license, false);
    }
    if (!name[0] || !version[0]) {
        scan_warn(res, "%s: no name or version, skipped", e->path);
        return 0;
    }
    return ruby_emit(res, e, name, version, license);
}

static int ruby_lock(const scan_entry *e, const char *text, size_t len, scan_result *res)
{
    const char *p = text, *end = text + len, *line;
    size_t n, gems = 0;
    bool in_source = false, in_specs = false;
    while (an_line_next(&p, end, &line, &n)) {
        if (n == 0)
            continue;
        if (line[0] != ' ') { /* a section */
            in_source = (n == 3 && memcmp(line, "GEM", 3) == 0) ||
                        (n == 3 && memcmp(line, "GIT", 3) == 0) ||
                        (n == 4 && memcmp(line, "PATH", 4) == 0);
            in_specs = false;
            continue;
        }
        if (!in_source)
            continue;
        if (n >= 8 && memcmp(line, "  specs:", 8) == 0) {
            in_specs = true;
            continue;
        }
        if (!in_specs || n < 5 || memcmp(line, "    ", 4) != 0 || line[4] == ' ')
            continue;
        const char *s = line + 4;
        size_t sn = n - 4;
        const char *open = memchr(s, '(', sn);
        const char *close = open ? memchr(open, ')', (size_t)(s + sn - open)) : NULL;
        if (!open || !close)
            continue;
        const char *nm = s;
        size_t nn = (size_t)(open - s);
        an_trim(&nm, &nn);
        const char *ver = open + 1;
        size_t vn = (size_t)(close - ver);
        const char *dash = memchr(ver, '-', vn);
        if (dash)
            vn = (size_t)(dash - ver);
        an_trim(&ver, &vn);
        if (!nn || !vn)
            continue;
        if (++gems > RUBY_GEMS_MAX) {
            scan_warn(res, "%s: more than %d gems, the rest skipped", e->path, RUBY_GEMS_MAX);
            break;
        }
        char name[AN_NAME_MAX + 1], version[AN_VERSION_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)(nn < AN_NAME_MAX ? nn : AN_NAME_MAX), nm);
        snprintf(version, sizeof version, "%.*s", (int)(vn < AN_VERSION_MAX ? vn : AN_VERSION_MAX),
                 ver);
        if (ruby_emit(res, e, name, version, NULL) != 0)
            return -1;
    }
    return 0;
}

static int ruby_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                      scan_result *res, imgsec_err *err)
{
    (void)state;
    if (len < (size_t)e->size) {
        scan_warn(res, "%s: larger than %u bytes, not read", e->path, RUBY_TEXT_MAX);
        return IMGSEC_OK;
    }
    int rc = ruby_is_gemspec(e->path) ? ruby_gemspec(e, an_text(data), len, res)
                                      : ruby_lock(e, an_text(data), len, res);
    return rc == 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_ruby = {
    .name = "ruby",
    .emits = REPORT_APPS,
    .want = ruby_want,
    .entry = ruby_entry,
};
