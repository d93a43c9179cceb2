/* an_java.c - Java archives: *.jar, *.war, *.ear and the archives nested
 * in them, read with libarchive from memory (never unpacked).
 *
 * What one archive is, first of:
 *  1. its pom.properties files (Maven writes META-INF/maven/G/A/
 *     pom.properties; shaded "fat" jars carry one per bundled artifact,
 *     and any path ending in pom.properties is read): one app per
 *     distinct groupId:artifactId:version;
 *  2. its META-INF/MANIFEST.MF main section: groupId from
 *     Implementation-Vendor-Id, else Bundle-SymbolicName without its last
 *     ".part", else Implementation-Vendor, else Specification-Vendor;
 *     artifactId from Implementation-Title, else Specification-Title,
 *     else Bundle-Name; version from Implementation-Version, else
 *     Specification-Version, else Bundle-Version (all three needed);
 *  3. its file name NAME-VERSION.jar (split at the last "-" followed by a
 *     digit): app_name NAME alone, no purl (no groupId).
 * Archives inside (*.jar, *.war, *.ear members, e.g. WEB-INF/lib/ or
 * Spring Boot's BOOT-INF/lib/) are read the same way up to JAVA_DEPTH_MAX
 * levels, each at most JAVA_NESTED_MAX bytes (held in memory while it is
 * read); their app_path is OUTER/MEMBER ("app.war/WEB-INF/lib/x.jar").
 * One top-level archive reads at most JAVA_BUDGET_BYTES decompressed and
 * JAVA_BUDGET_READS members in all, nested ones included.
 * purl: pkg:maven/GROUP/ARTIFACT@VERSION.
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "scan/an_pkg.h"
#include "scan/analyzers.h"

#define JAVA_DEPTH_MAX 3              /* archives inside archives, levels */
#define JAVA_NESTED_MAX (16u << 20)   /* bytes of one nested archive */
#define JAVA_TEXT_MAX (256u << 10)    /* bytes of one MANIFEST.MF or pom.properties */
#define JAVA_MEMBERS_MAX 200000       /* members of one archive looked at */
#define JAVA_POMS_MAX 1000            /* pom.properties of one archive */
#define JAVA_FIELD_MAX 512            /* bytes of one manifest value kept */
/* What one top-level archive may cost in all, nested ones included: bytes
 * decompressed and members read (a zip bomb of nested jars stops here). */
#define JAVA_BUDGET_BYTES (256u << 20)
#define JAVA_BUDGET_READS 10000

static bool java_is_archive(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (strcasecmp(name + n - 4, ".jar") == 0 || strcasecmp(name + n - 4, ".war") == 0 ||
                     strcasecmp(name + n - 4, ".ear") == 0);
}

static int64_t java_want(void *state, const scan_entry *e)
{
    (void)state;
    return S_ISREG(e->mode) && java_is_archive(e->path) ? SCAN_WANT_ALL : SCAN_WANT_NONE;
}

/* Emits one Maven artifact. 0 or -1 (out of memory). */
static int java_emit(scan_result *res, const char *group, const char *artifact,
                     const char *version, const char *path, const char *layer)
{
    char name[2 * JAVA_FIELD_MAX + 2];
    char *purl = NULL;
    if (group && *group) {
        snprintf(name, sizeof name, "%s:%s", group, artifact);
        if (!(purl = an_purl("maven", group, artifact, version, NULL, 0)))
            return -1;
    } else {
        snprintf(name, sizeof name, "%s", artifact);
    }
    an_app a = {.name = name, .version = version, .type = "jar", .path = path, .layer = layer,
                .purl = purl};
    int rc = an_emit_app(res, &a);
    free(purl);
    return rc;
}

/* A value copied out of text, bounded. */
typedef struct {
    char v[JAVA_FIELD_MAX + 1];
    size_t n;
    bool set;
} jval;

static void jval_set(jval *j, const char *s, size_t n)
{
    an_trim(&s, &n);
    j->n = n < JAVA_FIELD_MAX ? n : JAVA_FIELD_MAX;
    memcpy(j->v, s, j->n);
    j->v[j->n] = '\0';
    j->set = true;
}

static void jval_append(jval *j, const char *s, size_t n)
{
    size_t room = JAVA_FIELD_MAX - j->n;
    if (n > room)
        n = room;
    memcpy(j->v + j->n, s, n);
    j->n += n;
    j->v[j->n] = '\0';
}

/* pom.properties: groupId, artifactId, version ("key=value" or "key:
 * value" lines, '#' and '!' comments). */
static void java_pom_parse(const char *text, size_t len, jval *group, jval *artifact, jval *version)
{
    const char *p = text, *end = text + len, *line;
    size_t n;
    while (an_line_next(&p, end, &line, &n)) {
        an_trim(&line, &n);
        if (!n || line[0] == '#' || line[0] == '!')
            continue;
        size_t k = 0;
        while (k < n && line[k] != '=' && line[k] != ':')
            k++;
        if (k == n)
            continue;
        const char *key = line;
        size_t kn = k;
        an_trim(&key, &kn);
        jval *dst = kn == 7 && memcmp(key, "groupId", 7) == 0      ? group
                    : kn == 10 && memcmp(key, "artifactId", 10) == 0 ? artifact
                    : kn == 7 && memcmp(key, "version", 7) == 0      ? version
                                                                     : NULL;
        if (dst)
            jval_set(dst, line + k + 1, n - k - 1);
    }
}

enum { M_IMPL_VENDOR_ID, M_BUNDLE_SYMBOLIC, M_IMPL_VENDOR, M_SPEC_VENDOR, M_IMPL_TITLE,
       M_SPEC_TITLE, M_BUNDLE_NAME, M_IMPL_VERSION, M_SPEC_VERSION, M_BUNDLE_VERSION, M_COUNT };
static const char *const MANIFEST_KEYS[M_COUNT] = {
    "Implementation-Vendor-Id", "Bundle-SymbolicName", "Implementation-Vendor",
    "Specification-Vendor", "Implementation-Title", "Specification-Title", "Bundle-Name",
    "Implementation-Version", "Specification-Version", "Bundle-Version"};

/* The manifest's main section (up to the first blank line); continuation
 * lines start with one space, which is dropped. */
static void java_manifest_parse(const char *text, size_t len, jval *m)
{
    const char *p = text, *end = text + len, *line;
    size_t n;
    jval *last = NULL;
    while (an_line_next(&p, end, &line, &n)) {
        if (n == 0)
            break;
        if (line[0] == ' ') {
            if (last)
                jval_append(last, line + 1, n - 1);
            continue;
        }
        last = NULL;
        const char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        size_t kn = (size_t)(colon - line);
        for (int i = 0; i < M_COUNT; i++) {
            if (strlen(MANIFEST_KEYS[i]) == kn && strncasecmp(line, MANIFEST_KEYS[i], kn) == 0) {
                jval_set(&m[i], colon + 1, n - kn - 1);
                last = &m[i];
            }
        }
    }
    for (int i = 0; i < M_COUNT; i++) { /* trailing blanks of joined values */
        const char *s = m[i].v;
        size_t k = m[i].n;
        an_trim(&s, &k);
        memmove(m[i].v, s, k);
        m[i].v[k] = '\0';
        m[i].n = k;
        m[i].set = k > 0;
    }
}

static const char *first_set(const jval *m, int a, int b, int c, int d)
{
    int idx[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if (idx[i] >= 0 && m[idx[i]].set)
            return m[idx[i]].v;
    return NULL;
}

/* NAME-VERSION from a file name (without .jar): split at the last '-'
 * followed by a digit. false when there is none. */
static bool java_name_version(const char *path, char *name, char *version, size_t size)
{
    const char *base = an_basename(path);
    size_t n = strlen(base);
    if (n <= 4)
        return false;
    n -= 4;
    const char *split = NULL;
    for (size_t i = 1; i + 1 < n; i++)
        if (base[i] == '-' && isdigit((unsigned char)base[i + 1]))
            split = base + i;
    if (!split)
        return false;
    snprintf(name, size, "%.*s", (int)(split - base), base);
    snprintf(version, size, "%.*s", (int)(base + n - split - 1), split + 1);
    return true;
}

typedef struct {
    jval group, artifact, version;
} pom;

/* Reads the current member's content (up to max bytes) into a malloc'd
 * buffer. NULL with *len 0 on a read error; *truncated when cut. */
static unsigned char *member_read(struct archive *a, int64_t size, size_t max, size_t *len,
                                  bool *truncated)
{
    size_t want = size > 0 && (uint64_t)size < max ? (size_t)size : max;
    *truncated = size < 0 || (uint64_t)size > max;
    unsigned char *buf = malloc(want + 1);
    *len = 0;
    if (!buf)
        return NULL;
    while (*len < want) {
        la_ssize_t r = archive_read_data(a, buf + *len, want - *len);
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        *len += (size_t)r;
    }
    buf[*len] = '\0';
    return buf;
}

/* What is left of a top-level archive's budget. */
typedef struct {
    uint64_t bytes;
    unsigned reads;
    bool warned;
} java_budget;

/* Reads one archive at path (depth 0: the image's file). 0, or -1 on out
 * of memory. */
static int java_archive(const unsigned char *data, size_t len, const char *path, int depth,
                        java_budget *budget, const scan_entry *e, scan_result *res)
{
    struct archive *a = archive_read_new();
    if (!a)
        return -1;
    archive_read_support_format_zip(a);
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        scan_warn(res, "%s: not a zip archive, skipped", path);
        archive_read_free(a);
        return 0;
    }
    pom *poms = NULL;
    size_t n_poms = 0;
    jval manifest[M_COUNT];
    memset(manifest, 0, sizeof manifest);
    bool have_manifest = false;
    int rc = 0;
    struct archive_entry *ae;
    size_t members = 0;
    int r;
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (++members > JAVA_MEMBERS_MAX) {
            scan_warn(res, "%s: more than %d members, the rest skipped", path, JAVA_MEMBERS_MAX);
            break;
        }
        const char *name = archive_entry_pathname(ae);
        if (!name || archive_entry_filetype(ae) != AE_IFREG)
            continue;
        bool is_pom = an_ends_with(name, "pom.properties") && n_poms < JAVA_POMS_MAX;
        bool is_manifest = strcmp(name, "META-INF/MANIFEST.MF") == 0;
        bool is_nested = java_is_archive(name) && depth < JAVA_DEPTH_MAX;
        if (!is_pom && !is_manifest && !is_nested)
            continue;
        size_t blen;
        bool truncated;
        size_t max = is_nested ? JAVA_NESTED_MAX : JAVA_TEXT_MAX;
        if (budget->reads == 0 || budget->bytes < max) {
            if (!budget->warned)
                scan_warn(res, "%s: more nested content than %u MiB or %d members read, the rest "
                          "skipped", e->path, JAVA_BUDGET_BYTES >> 20, JAVA_BUDGET_READS);
            budget->warned = true;
            break;
        }
        budget->reads--;
        unsigned char *buf = member_read(a, archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1,
                                         max, &blen, &truncated);
        if (!buf) {
            scan_warn(res, "%s: member %s unreadable, skipped", path, name);
            continue;
        }
        budget->bytes -= blen;
        if (is_pom) {
            pom *np = realloc(poms, (n_poms + 1) * sizeof *poms);
            if (!np) {
                free(buf);
                rc = -1;
                break;
            }
            poms = np;
            memset(&poms[n_poms], 0, sizeof *poms);
            java_pom_parse((const char *)buf, blen, &poms[n_poms].group, &poms[n_poms].artifact,
                           &poms[n_poms].version);
            if (poms[n_poms].artifact.n && poms[n_poms].version.n)
                n_poms++;
        } else if (is_manifest) {
            java_manifest_parse((const char *)buf, blen, manifest);
            have_manifest = true;
        } else if (is_nested) {
            char sub[AN_PATH_MAX];
            int w = snprintf(sub, sizeof sub, "%s/%s", path, name);
            if (truncated)
                scan_warn(res, "%s/%s: nested archive larger than %u bytes, skipped", path, name,
                          JAVA_NESTED_MAX);
            else if (w > 0 && (size_t)w < sizeof sub && java_archive(buf, blen, sub, depth + 1, budget, e, res) != 0)
                rc = -1;
        }
        free(buf);
        if (rc)
            break;
    }
    if (r == ARCHIVE_FATAL && members == 0)
        scan_warn(res, "%s: not a zip archive, skipped", path);
    archive_read_free(a);
    if (rc) {
        free(poms);
        return rc;
    }
    if (n_poms) {
        for (size_t i = 0; i < n_poms && rc == 0; i++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = strcmp(poms[i].group.v, poms[j].group.v) == 0 &&
                      strcmp(poms[i].artifact.v, poms[j].artifact.v) == 0 &&
                      strcmp(poms[i].version.v, poms[j].version.v) == 0;
            if (!dup)
                rc = java_emit(res, poms[i].group.v, poms[i].artifact.v, poms[i].version.v, path,
                               e->layer);
        }
        free(poms);
        return rc;
    }
    free(poms);
    if (have_manifest) {
        const char *group =
            first_set(manifest, M_IMPL_VENDOR_ID, -1, M_IMPL_VENDOR, M_SPEC_VENDOR);
        char sym[JAVA_FIELD_MAX + 1];
        if (!manifest[M_IMPL_VENDOR_ID].set && manifest[M_BUNDLE_SYMBOLIC].set) {
            /* "org.springframework.core" -> "org.springframework"; directives after ';' dropped */
            snprintf(sym, sizeof sym, "%s", manifest[M_BUNDLE_SYMBOLIC].v);
            sym[strcspn(sym, ";")] = '\0';
            char *dot = strrchr(sym, '.');
            if (dot && dot != sym)
                *dot = '\0';
            group = sym;
        }
        const char *artifact = first_set(manifest, M_IMPL_TITLE, M_SPEC_TITLE, M_BUNDLE_NAME, -1);
        const char *version =
            first_set(manifest, M_IMPL_VERSION, M_SPEC_VERSION, M_BUNDLE_VERSION, -1);
        if (group && *group && artifact && version)
            return java_emit(res, group, artifact, version, path, e->layer);
    }
    char name[256], version[256];
    if (java_name_version(path, name, version, sizeof name))
        return java_emit(res, NULL, name, version, path, e->layer);
    return 0;
}

static int java_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                      scan_result *res, imgsec_err *err)
{
    (void)state;
    if (len < (size_t)e->size) {
        scan_warn(res, "%s: larger than %u bytes, not read", e->path, SCAN_CONTENT_MAX);
        return IMGSEC_OK;
    }
    if (len == 0)
        return IMGSEC_OK; /* an empty file: not an archive, nothing to say */
    java_budget budget = {.bytes = JAVA_BUDGET_BYTES, .reads = JAVA_BUDGET_READS};
    return java_archive(data, len, e->path, 0, &budget, e, res) == 0
               ? IMGSEC_OK
               : err_set(err, IMGSEC_EINTERNAL, "out of memory");
}

const scan_analyzer scan_an_java = {
    .name = "java",
    .emits = REPORT_APPS,
    .want = java_want,
    .entry = java_entry,
};
