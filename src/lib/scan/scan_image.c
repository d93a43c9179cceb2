/* scan_image.c - from an input path to the plan of one image: its config,
 * its layers bottom first with their digests, and how to open each one
 * (scan_int.h).
 *
 * An archive is read once up front (the index pass) to learn its member
 * names and keep its small members (manifests, indexes, configs: at most
 * SCAN_JSON_MAX each, MEMBER_CACHE_MAX in all) in memory; each layer is
 * later streamed by opening the archive again and skipping to it (a seek
 * on a plain tar; a compressed outer archive is decompressed up to it).
 * An OCI layout directory is read file by file.
 *
 * Resolution: a docker-save archive (a "manifest.json" member, legacy
 * "<id>/layer.tar" or Docker 25's "blobs/sha256/<hex>") names its config
 * and layers directly; an OCI layout's index.json is walked through nested
 * indexes (at most SCAN_INDEX_DEPTH deep) to the image manifests, of which
 * --image (the ref name annotations) and --platform pick one. Every blob
 * named by digest is verified when it is read; the config's digest is the
 * image id. A docker-save config whose member is named by its hash
 * ("<hex>.json") is verified against that name.
 */
#include "scan/scan_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsec/util.h"

#define MEMBER_CACHE_MAX (64u << 20)
#define MEMBER_SMALL (1u << 20) /* blobs kept from the index pass */
#define CANDIDATES_MAX 256

/* ---- small helpers ---- */

void scan_blob_free(scan_blob *b)
{
    if (!b)
        return;
    free(b->digest);
    free(b->member);
    b->digest = b->member = NULL;
}

void scan_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* "sha256:<64 hex>" only: other algorithms are refused. */
static bool digest_valid(const char *d)
{
    return d && strncmp(d, "sha256:", 7) == 0 && scan_is_hex64(d + 7);
}

static char *blob_member(const char *digest)
{
    char *m = malloc(13 + 64 + 1);
    if (m)
        snprintf(m, 13 + 64 + 1, "blobs/sha256/%s", digest + 7);
    return m;
}

static json_t *parse_json(const char *buf, size_t len, const char *what, imgsec_err *err)
{
    json_error_t je;
    if (len > SCAN_JSON_MAX) {
        err_set(err, IMGSEC_EINVAL, "%s: larger than %u bytes", what, SCAN_JSON_MAX);
        return NULL;
    }
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        err_set(err, IMGSEC_EINVAL, "%s: not JSON: %s (line %d)", what, je.text, je.line);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- parsers (fuzzed) ---- */

int scan_parse_config(const char *buf, size_t len, json_t **config, char ***diff_ids, size_t *n,
                      imgsec_err *err)
{
    *config = NULL;
    *diff_ids = NULL;
    *n = 0;
    json_t *c = parse_json(buf, len, "image config", err);
    if (!c)
        return err->code;
    const json_t *ids = json_object_get(json_object_get(c, "rootfs"), "diff_ids");
    size_t k = json_array_size(ids);
    if (!json_is_object(c) || !json_is_array(ids)) {
        json_decref(c);
        return err_set(err, IMGSEC_EINVAL, "image config: rootfs.diff_ids must be an array");
    }
    if (k > SCAN_LAYERS_MAX) {
        json_decref(c);
        return err_set(err, IMGSEC_EINVAL, "image config: more than %d layers", SCAN_LAYERS_MAX);
    }
    char **v = calloc(k ? k : 1, sizeof *v);
    if (!v) {
        json_decref(c);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        const char *d = json_string_value(json_array_get(ids, i));
        if (!digest_valid(d)) {
            scan_strv_free(v, i);
            json_decref(c);
            return err_set(err, IMGSEC_EINVAL,
                           "image config: rootfs.diff_ids[%zu] must be sha256:<64 hex digits>", i);
        }
        if (!(v[i] = strdup(d))) {
            scan_strv_free(v, i);
            json_decref(c);
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        }
    }
    *config = c;
    *diff_ids = v;
    *n = k;
    return IMGSEC_OK;
}

static int descriptor(const json_t *d, const char *at, scan_blob *out, imgsec_err *err)
{
    const char *dig = jstr(d, "digest");
    const json_t *sz = json_object_get(d, "size");
    if (!json_is_object(d) || !digest_valid(dig))
        return err_set(err, IMGSEC_EINVAL, "%s.digest must be sha256:<64 hex digits>", at);
    if (sz && (!json_is_integer(sz) || json_integer_value(sz) < 0))
        return err_set(err, IMGSEC_EINVAL, "%s.size must be an integer >= 0", at);
    out->size = sz ? json_integer_value(sz) : -1;
    out->digest = strdup(dig);
    out->member = blob_member(dig);
    if (!out->digest || !out->member) {
        scan_blob_free(out);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return IMGSEC_OK;
}

int scan_parse_manifest(const char *buf, size_t len, scan_blob *config, scan_blob **layers,
                        size_t *n, imgsec_err *err)
{
    memset(config, 0, sizeof *config);
    *layers = NULL;
    *n = 0;
    json_t *m = parse_json(buf, len, "image manifest", err);
    if (!m)
        return err->code;
    const json_t *ls = json_object_get(m, "layers");
    int rc;
    if (!json_is_object(m) || !json_is_array(ls)) {
        rc = err_set(err, IMGSEC_EINVAL, "image manifest: layers must be an array");
        goto done;
    }
    if (json_array_size(ls) > SCAN_LAYERS_MAX) {
        rc = err_set(err, IMGSEC_EINVAL, "image manifest: more than %d layers", SCAN_LAYERS_MAX);
        goto done;
    }
    if ((rc = descriptor(json_object_get(m, "config"), "image manifest: config", config, err)))
        goto done;
    size_t k = json_array_size(ls);
    scan_blob *v = calloc(k ? k : 1, sizeof *v);
    if (!v) {
        scan_blob_free(config);
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        char at[64];
        snprintf(at, sizeof at, "image manifest: layers[%zu]", i);
        if ((rc = descriptor(json_array_get(ls, i), at, &v[i], err))) {
            for (size_t j = 0; j < i; j++)
                scan_blob_free(&v[j]);
            free(v);
            scan_blob_free(config);
            goto done;
        }
    }
    *layers = v;
    *n = k;
done:
    json_decref(m);
    return rc;
}

/* Does ref (a RepoTag or ref name) name the image the user asked for? */
static bool ref_matches(const char *ref, const char *want)
{
    if (!ref || !want)
        return false;
    if (strcmp(ref, want) == 0)
        return true;
    size_t wl = strlen(want), rl = strlen(ref);
    const char *slash = strrchr(want, '/');
    bool has_tag = strchr(slash ? slash : want, ':') != NULL;
    /* "alpine" is "alpine:latest"; "alpine:3" matches "docker.io/library/alpine:3" */
    if (!has_tag && rl == wl + 7 && strncmp(ref, want, wl) == 0 && strcmp(ref + wl, ":latest") == 0)
        return true;
    return rl > wl && ref[rl - wl - 1] == '/' && strcmp(ref + rl - wl, want) == 0;
}

int scan_parse_docker_manifest(const char *buf, size_t len, const char *opt_image, char **config,
                               char ***layers, size_t *n, char **repo_tag, imgsec_err *err)
{
    *config = NULL;
    *layers = NULL;
    *n = 0;
    *repo_tag = NULL;
    json_t *m = parse_json(buf, len, "manifest.json", err);
    if (!m)
        return err->code;
    int rc = IMGSEC_OK;
    size_t count = json_array_size(m), pick = (size_t)-1;
    if (!json_is_array(m) || count == 0) {
        rc = err_set(err, IMGSEC_EINVAL, "manifest.json: must be a non-empty array");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_array_get(m, i);
        const json_t *tags = json_object_get(e, "RepoTags");
        if (!json_is_object(e) || !jstr(e, "Config") || !json_is_array(json_object_get(e, "Layers")) ||
            (tags && !json_is_null(tags) && !json_is_array(tags))) {
            rc = err_set(err, IMGSEC_EINVAL,
                         "manifest.json: [%zu] must have Config (string), Layers (array) and "
                         "RepoTags (array or null)", i);
            goto done;
        }
        for (size_t t = 0; opt_image && t < json_array_size(tags); t++)
            if (ref_matches(json_string_value(json_array_get(tags, t)), opt_image) && pick == (size_t)-1)
                pick = i;
    }
    if (!opt_image && count == 1)
        pick = 0;
    if (pick == (size_t)-1) {
        util_buf names = {0};
        for (size_t i = 0; i < count && i < 32; i++) {
            const json_t *tags = json_object_get(json_array_get(m, i), "RepoTags");
            const char *t = json_string_value(json_array_get(tags, 0));
            util_buf_printf(&names, "%s%s", i ? ", " : "", t ? t : "(untagged)");
        }
        if (opt_image)
            rc = err_set(err, IMGSEC_EINVAL, "the archive holds no image '%s'; it holds: %s",
                         opt_image, names.buf ? names.buf : "");
        else
            rc = err_set(err, IMGSEC_EINVAL,
                         "the archive holds %zu images; pick one with --image NAME:TAG: %s", count,
                         names.buf ? names.buf : "");
        free(names.buf);
        goto done;
    }
    const json_t *e = json_array_get(m, pick);
    const json_t *ls = json_object_get(e, "Layers");
    size_t k = json_array_size(ls);
    if (k > SCAN_LAYERS_MAX) {
        rc = err_set(err, IMGSEC_EINVAL, "manifest.json: more than %d layers", SCAN_LAYERS_MAX);
        goto done;
    }
    char **v = calloc(k ? k : 1, sizeof *v);
    if (!v) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        const char *l = json_string_value(json_array_get(ls, i));
        char norm[1024];
        if (!l || scan_path_normalise(l, norm, sizeof norm, SCAN_DOTDOT_REFUSE) <= 0) {
            scan_strv_free(v, i);
            rc = err_set(err, IMGSEC_EINVAL, "manifest.json: [%zu].Layers[%zu] must be a member name",
                         pick, i);
            goto done;
        }
        if (!(v[i] = strdup(norm))) {
            scan_strv_free(v, i);
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
            goto done;
        }
    }
    const char *tag = json_string_value(json_array_get(json_object_get(e, "RepoTags"), 0));
    if (opt_image) {
        const json_t *tags = json_object_get(e, "RepoTags");
        for (size_t t = 0; t < json_array_size(tags); t++)
            if (ref_matches(json_string_value(json_array_get(tags, t)), opt_image))
                tag = json_string_value(json_array_get(tags, t));
    }
    char cnorm[1024];
    if (scan_path_normalise(jstr(e, "Config"), cnorm, sizeof cnorm, SCAN_DOTDOT_REFUSE) <= 0) {
        scan_strv_free(v, k);
        rc = err_set(err, IMGSEC_EINVAL, "manifest.json: [%zu].Config must be a member name", pick);
        goto done;
    }
    *config = strdup(cnorm);
    *repo_tag = tag ? strdup(tag) : NULL;
    if (!*config || (tag && !*repo_tag)) {
        free(*config);
        free(*repo_tag);
        *config = *repo_tag = NULL;
        scan_strv_free(v, k);
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    *layers = v;
    *n = k;
done:
    json_decref(m);
    return rc;
}

/* ---- the archive: index pass and member streams ---- */

static struct archive *archive_open_outer(const char *path, imgsec_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
    if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
        err_set(err, IMGSEC_EINVAL, "%s: not a readable archive: %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static bool member_interesting(const char *name, int64_t size)
{
    if (size < 0 || (uint64_t)size > SCAN_JSON_MAX)
        return false;
    const char *dot = strrchr(name, '.');
    return strcmp(name, "manifest.json") == 0 || strcmp(name, "index.json") == 0 ||
           strcmp(name, "oci-layout") == 0 || (dot && strcmp(dot, ".json") == 0 && !strchr(name, '/')) ||
           (strncmp(name, "blobs/", 6) == 0 && size <= MEMBER_SMALL);
}

static int archive_index(scan_plan *plan, imgsec_err *err)
{
    struct archive *a = archive_open_outer(plan->archive, err);
    if (!a)
        return err->code;
    struct archive_entry *ae;
    size_t cached = 0, cap = 0;
    int r, rc = IMGSEC_OK;
    char name[1024] = "";
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *n = archive_entry_pathname(ae);
        int64_t size = archive_entry_size(ae);
        if (!n || scan_path_normalise(n, name, sizeof name, SCAN_DOTDOT_REFUSE) <= 0 ||
            archive_entry_filetype(ae) != AE_IFREG || !member_interesting(name, size) ||
            cached + (size_t)size > MEMBER_CACHE_MAX)
            continue;
        if (plan->n_members == cap) {
            cap = cap ? cap * 2 : 16;
            struct scan_member *m = realloc(plan->members, cap * sizeof *m);
            if (!m) {
                rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
                goto done;
            }
            plan->members = m;
        }
        struct scan_member *m = &plan->members[plan->n_members];
        m->name = strdup(name);
        m->data = malloc((size_t)size + 1);
        m->len = (size_t)size;
        if (!m->name || !m->data) {
            free(m->name);
            free(m->data);
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
            goto done;
        }
        plan->n_members++;
        la_ssize_t got = 0, k;
        while (got < size && (k = archive_read_data(a, m->data + got, (size_t)(size - got))) > 0)
            got += k;
        if (got != size) {
            rc = err_set(err, IMGSEC_EINVAL, "%s: member '%s' is truncated at offset %lld: %s",
                         plan->archive, name, (long long)got,
                         archive_error_string(a) ? archive_error_string(a) : "short read");
            goto done;
        }
        m->data[size] = '\0';
        cached += (size_t)size;
    }
    if (r != ARCHIVE_EOF)
        rc = err_set(err, IMGSEC_EINVAL,
                     "%s: corrupt or truncated archive at offset %lld, after member '%s': %s",
                     plan->archive, (long long)archive_filter_bytes(a, -1), name,
                     archive_error_string(a) ? archive_error_string(a) : "?");
done:
    archive_read_free(a);
    return rc;
}

static const struct scan_member *member_find(const scan_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->n_members; i++)
        if (strcmp(plan->members[i].name, name) == 0)
            return &plan->members[i];
    return NULL;
}

/* "a/b/../c" -> "a/c" into out; false when ".." climbs above the root. */
typedef struct {
    scan_src base;
    struct archive *a;
    int64_t next; /* expected offset of the next block */
} member_src;

static ssize_t member_read(scan_src *s, const void **buf, imgsec_err *err)
{
    member_src *m = (member_src *)s;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(m->a, buf, &size, &off);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN || off != m->next) {
        err_set(err, IMGSEC_EINVAL, "%s: corrupt or truncated at offset %lld: %s", s->name,
                (long long)m->next, r < ARCHIVE_WARN ? archive_error_string(m->a) : "sparse member");
        return -1;
    }
    m->next += (int64_t)size;
    return (ssize_t)size;
}

static void member_close(scan_src *s)
{
    member_src *m = (member_src *)s;
    archive_read_free(m->a);
    free(m);
}

/* Opens member name of the archive, following hard links and symlinks
 * between members (docker save shares layers between images with them)
 * at most MEMBER_LINKS_MAX times, never outside the archive's names. */
#define MEMBER_LINKS_MAX 8
static scan_src *member_open(const scan_plan *plan, const char *name_in, imgsec_err *err)
{
    char name[1024], norm[1024];
    snprintf(name, sizeof name, "%s", name_in);
    for (int hop = 0; hop <= MEMBER_LINKS_MAX; hop++) {
        member_src *m = calloc(1, sizeof *m);
        if (!m) {
            err_set(err, IMGSEC_EINTERNAL, "out of memory");
            return NULL;
        }
        if (!(m->a = archive_open_outer(plan->archive, err))) {
            free(m);
            return NULL;
        }
        struct archive_entry *ae;
        int r;
        bool found = false;
        while ((r = archive_read_next_header(m->a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
            const char *n = archive_entry_pathname(ae);
            if (!n || scan_path_normalise(n, norm, sizeof norm, SCAN_DOTDOT_REFUSE) <= 0 ||
                strcmp(norm, name) != 0)
                continue;
            found = true;
            break;
        }
        if (found) {
            const char *hl = archive_entry_hardlink(ae);
            const char *sl = archive_entry_filetype(ae) == AE_IFLNK ? archive_entry_symlink(ae) : NULL;
            if (!hl && !sl && archive_entry_filetype(ae) == AE_IFREG) {
                snprintf(m->base.name, sizeof m->base.name, "member '%s'", name_in);
                m->base.read = member_read;
                m->base.close = member_close;
                return &m->base;
            }
            char target[2100];
            const char *slash = strrchr(name, '/');
            if (hl)
                snprintf(target, sizeof target, "%s", hl);
            else if (sl && sl[0] != '/' && slash)
                snprintf(target, sizeof target, "%.*s/%s", (int)(slash - name), name, sl);
            else
                snprintf(target, sizeof target, "%s", sl ? sl : "");
            archive_read_free(m->a);
            free(m);
            /* resolve "a/../b" lexically; a name leaving the archive's root is refused */
            if (scan_path_normalise(target, name, sizeof name, SCAN_DOTDOT_RESOLVE) <= 0) {
                err_set(err, IMGSEC_EINVAL, "%s: member '%s' links outside the archive",
                        plan->archive, name_in);
                return NULL;
            }
            continue;
        }
        if (r == ARCHIVE_EOF)
            err_set(err, IMGSEC_EINVAL, "%s: no member '%s'", plan->archive, name_in);
        else
            err_set(err, IMGSEC_EINVAL, "%s: corrupt or truncated archive looking for '%s' at offset %lld: %s",
                    plan->archive, name_in, (long long)archive_filter_bytes(m->a, -1),
                    archive_error_string(m->a));
        archive_read_free(m->a);
        free(m);
        return NULL;
    }
    err_set(err, IMGSEC_EINVAL, "%s: member '%s': more than %d links", plan->archive, name_in,
            MEMBER_LINKS_MAX);
    return NULL;
}

/* A member or layout file, opened as a source. */
static scan_src *plan_open(const scan_plan *plan, const char *name, imgsec_err *err)
{
    if (plan->remote)
        return plan->remote->open(plan->remote, name, err);
    if (plan->dir) {
        char path[4096], label[1100];
        snprintf(path, sizeof path, "%s/%s", plan->dir, name);
        snprintf(label, sizeof label, "file '%s'", name);
        return scan_src_file(path, label, err);
    }
    const struct scan_member *m = member_find(plan, name);
    if (m) {
        char label[1100];
        snprintf(label, sizeof label, "member '%s'", name);
        return scan_src_memory(m->data, m->len, label, err);
    }
    return member_open(plan, name, err);
}

/* A small JSON member, read whole; hex (65) gets its SHA-256. */
static char *plan_read(const scan_plan *plan, const char *name, size_t *len, char *hex,
                       imgsec_err *err)
{
    scan_src *s = plan_open(plan, name, err);
    if (!s)
        return NULL;
    char *buf = scan_src_slurp(s, SCAN_JSON_MAX, len, hex, err);
    scan_src_close(s);
    return buf;
}

/* A blob named by digest: read and verified. */
static char *blob_read(const scan_plan *plan, const char *digest, size_t *len, imgsec_err *err)
{
    char *name = blob_member(digest), hex[65];
    if (!name) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    char *buf = plan_read(plan, name, len, hex, err);
    if (buf && strcmp(hex, digest + 7) != 0) {
        err_set(err, IMGSEC_EINVAL, "%s: digest mismatch: the bytes hash to sha256:%s", name, hex);
        free(buf);
        buf = NULL;
    }
    free(name);
    return buf;
}

scan_src *scan_plan_layer(const scan_plan *plan, size_t i, imgsec_err *err)
{
    return plan_open(plan, plan->layers[i].member, err);
}

/* ---- OCI index resolution ---- */

typedef struct {
    char *digest;
    int64_t size;
    char platform[128]; /* "" when the descriptor has none */
    const char *ref;    /* borrowed from an index kept alive in refs */
} candidate;

typedef struct {
    candidate v[CANDIDATES_MAX];
    size_t n;
    json_t *keep; /* the indexes whose strings candidates borrow */
} candidates;

static bool is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static int collect(const scan_plan *plan, json_t *index, const char *ref, int depth, candidates *c,
                   imgsec_err *err)
{
    if (json_array_append(c->keep, index) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    const json_t *ms = json_object_get(index, "manifests");
    if (!json_is_array(ms) && !json_is_null(ms) && ms)
        return err_set(err, IMGSEC_EINVAL, "image index: manifests must be an array");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        const json_t *d = json_array_get(ms, i);
        const char *dig = jstr(d, "digest");
        if (!json_is_object(d) || !digest_valid(dig))
            return err_set(err, IMGSEC_EINVAL,
                           "image index: manifests[%zu].digest must be sha256:<64 hex digits>", i);
        const json_t *ann = json_object_get(d, "annotations");
        const char *r = jstr(ann, "io.containerd.image.name");
        if (!r)
            r = jstr(ann, "org.opencontainers.image.ref.name");
        if (!r)
            r = ref;
        if (is_index_type(jstr(d, "mediaType"))) {
            if (depth >= SCAN_INDEX_DEPTH)
                return err_set(err, IMGSEC_EINVAL, "image index: nested more than %d deep",
                               SCAN_INDEX_DEPTH);
            size_t len;
            char *buf = blob_read(plan, dig, &len, err);
            if (!buf)
                return err->code;
            json_t *sub = parse_json(buf, len, "image index", err);
            free(buf);
            if (!sub)
                return err->code;
            int rc = json_is_object(sub) ? collect(plan, sub, r, depth + 1, c, err)
                                         : err_set(err, IMGSEC_EINVAL, "image index: not an object");
            json_decref(sub);
            if (rc)
                return rc;
            continue;
        }
        if (c->n == CANDIDATES_MAX)
            return err_set(err, IMGSEC_EINVAL, "image index: more than %d manifests", CANDIDATES_MAX);
        candidate *k = &c->v[c->n];
        const json_t *p = json_object_get(d, "platform");
        k->platform[0] = '\0';
        if (jstr(p, "os") && jstr(p, "architecture"))
            snprintf(k->platform, sizeof k->platform, "%s/%s%s%s", jstr(p, "os"),
                     jstr(p, "architecture"), jstr(p, "variant") ? "/" : "",
                     jstr(p, "variant") ? jstr(p, "variant") : "");
        const json_t *sz = json_object_get(d, "size");
        k->size = json_is_integer(sz) ? json_integer_value(sz) : -1;
        k->ref = r;
        if (!(k->digest = strdup(dig)))
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        c->n++;
    }
    return IMGSEC_OK;
}

/* "linux/arm64" matches "linux/arm64/v8"; "linux/arm/v7" needs the variant. */
static bool platform_matches(const char *have, const char *want)
{
    size_t wl = strlen(want);
    return strcmp(have, want) == 0 || (strncmp(have, want, wl) == 0 && have[wl] == '/' &&
                                       strchr(want, '/') == strrchr(want, '/'));
}

static int oci_resolve(scan_plan *plan, const scan_options *opt, char **manifest_digest,
                       imgsec_err *err)
{
    size_t len;
    char *buf = plan_read(plan, "index.json", &len, NULL, err);
    if (!buf)
        return err->code;
    json_t *index = parse_json(buf, len, "index.json", err);
    free(buf);
    if (!index)
        return err->code;
    candidates *c = calloc(1, sizeof *c);
    int rc;
    if (!c || !(c->keep = json_array())) {
        free(c);
        json_decref(index);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    rc = json_is_object(index) ? collect(plan, index, NULL, 0, c, err)
                               : err_set(err, IMGSEC_EINVAL, "index.json: not an object");
    json_decref(index);
    const char *want = opt->platform ? opt->platform : "linux/amd64";
    size_t pick = (size_t)-1, matches = 0;
    if (rc == IMGSEC_OK) {
        for (size_t i = 0; i < c->n; i++) {
            const candidate *k = &c->v[i];
            if (opt->image && !ref_matches(k->ref, opt->image))
                continue;
            if (k->platform[0] && !platform_matches(k->platform, want))
                continue;
            /* one image per ref: platform variants of the picked ref count once */
            if (pick == (size_t)-1) {
                pick = i;
                matches = 1;
            } else if (!(k->ref == c->v[pick].ref ||
                         (k->ref && c->v[pick].ref && strcmp(k->ref, c->v[pick].ref) == 0))) {
                matches++;
            }
        }
        util_buf list = {0};
        for (size_t i = 0; i < c->n && i < 32; i++)
            util_buf_printf(&list, "%s%s%s%s", i ? ", " : "", c->v[i].ref ? c->v[i].ref : "(no name)",
                            c->v[i].platform[0] ? " " : "", c->v[i].platform);
        if (c->n == 0)
            rc = err_set(err, IMGSEC_EINVAL, "index.json: names no image manifest");
        else if (matches == 0)
            rc = err_set(err, IMGSEC_EINVAL, "no image for %s%s%s in the index; it holds: %s",
                         opt->image ? opt->image : "platform ", opt->image ? " on " : "", want,
                         list.buf ? list.buf : "");
        else if (matches > 1)
            rc = err_set(err, IMGSEC_EINVAL,
                         "the index holds %zu images for %s; pick one with --image NAME:TAG: %s",
                         matches, want, list.buf ? list.buf : "");
        free(list.buf);
    }
    if (rc == IMGSEC_OK) {
        *manifest_digest = c->v[pick].digest;
        c->v[pick].digest = NULL;
        if (c->v[pick].ref && (strchr(c->v[pick].ref, ':') || strchr(c->v[pick].ref, '/')))
            plan->repo_tag = strdup(c->v[pick].ref);
    }
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].digest);
    json_decref(c->keep);
    free(c);
    return rc;
}

static int load_config(scan_plan *plan, const char *name, const char *want_hex, imgsec_err *err)
{
    size_t len;
    char hex[65];
    char *buf = plan_read(plan, name, &len, hex, err);
    if (!buf)
        return err->code;
    int rc = IMGSEC_OK;
    if (want_hex && strcmp(hex, want_hex) != 0)
        rc = err_set(err, IMGSEC_EINVAL, "%s: digest mismatch: the config hashes to sha256:%s", name,
                     hex);
    if (rc == IMGSEC_OK)
        rc = scan_parse_config(buf, len, &plan->config, &plan->diff_ids, &plan->n_layers, err);
    free(buf);
    if (rc)
        return rc;
    char d[72];
    snprintf(d, sizeof d, "sha256:%s", hex);
    if (!(plan->config_digest = strdup(d)))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return IMGSEC_OK;
}

int scan_plan_oci(scan_plan *plan, const scan_options *opt, imgsec_err *err)
{
    int rc = oci_resolve(plan, opt, &plan->manifest_digest, err);
    if (rc)
        return rc;
    size_t len;
    char *buf = blob_read(plan, plan->manifest_digest, &len, err);
    if (!buf)
        return err->code;
    scan_blob config;
    size_t n = 0;
    rc = scan_parse_manifest(buf, len, &config, &plan->layers, &n, err);
    free(buf);
    if (rc)
        return rc;
    rc = load_config(plan, config.member, config.digest + 7, err);
    scan_blob_free(&config);
    if (rc == IMGSEC_OK && n != plan->n_layers)
        rc = err_set(err, IMGSEC_EINVAL, "the manifest has %zu layers, the config's rootfs.diff_ids %zu",
                     n, plan->n_layers);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            scan_blob_free(&plan->layers[i]);
        free(plan->layers);
        plan->layers = NULL;
    }
    return rc;
}

static int plan_docker(scan_plan *plan, const scan_options *opt, const struct scan_member *mf,
                       imgsec_err *err)
{
    char *config = NULL, **layers = NULL;
    size_t n = 0;
    int rc = scan_parse_docker_manifest(mf->data, mf->len, opt->image, &config, &layers, &n,
                                        &plan->repo_tag, err);
    if (rc)
        return rc;
    /* "<hex>.json" (legacy) and "blobs/sha256/<hex>" (Docker 25) name their hash */
    char hex[65] = "";
    const char *base = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;
    if (strlen(base) >= 64 && snprintf(hex, sizeof hex, "%.64s", base) == 64 && scan_is_hex64(hex) &&
        (strcmp(base + 64, ".json") == 0 || (base[64] == '\0' && strncmp(config, "blobs/sha256/", 13) == 0)))
        ;
    else
        hex[0] = '\0';
    rc = load_config(plan, config, hex[0] ? hex : NULL, err);
    free(config);
    if (rc == IMGSEC_OK && n != plan->n_layers)
        rc = err_set(err, IMGSEC_EINVAL,
                     "manifest.json has %zu layers, the config's rootfs.diff_ids %zu", n, plan->n_layers);
    if (rc == IMGSEC_OK && !(plan->layers = calloc(n ? n : 1, sizeof *plan->layers)))
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; rc == IMGSEC_OK && i < n; i++) {
        scan_blob *b = &plan->layers[i];
        b->member = layers[i];
        layers[i] = NULL;
        b->size = -1;
        if (strncmp(b->member, "blobs/sha256/", 13) == 0 && scan_is_hex64(b->member + 13)) {
            char d[72];
            snprintf(d, sizeof d, "sha256:%s", b->member + 13);
            if (!(b->digest = strdup(d)))
                rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        }
    }
    scan_strv_free(layers, n);
    return rc;
}

int scan_plan_open(const char *input, scan_input_kind kind, const scan_options *opt, scan_plan *plan,
                   imgsec_err *err)
{
    memset(plan, 0, sizeof *plan);
    if (kind == SCAN_INPUT_REGISTRY)
        return scan_registry_plan(input, opt, plan, err);
    struct stat sb;
    if (stat(input, &sb) != 0)
        return err_set(err, IMGSEC_EINVAL, "%s: %s", input, strerror(errno));
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/oci-layout", input);
        if (kind == SCAN_INPUT_ARCHIVE || access(p, R_OK) != 0)
            return err_set(err, IMGSEC_EINVAL,
                           "%s: a directory without oci-layout; scan a root filesystem with --rootfs",
                           input);
        if (!(plan->dir = strdup(input)))
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        plan->format = "oci-dir";
        rc = scan_plan_oci(plan, opt, err);
    } else {
        if (kind == SCAN_INPUT_OCI_DIR)
            return err_set(err, IMGSEC_EINVAL, "%s: not a directory", input);
        if (!(plan->archive = strdup(input)))
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        if ((rc = archive_index(plan, err)))
            return rc;
        const struct scan_member *mf = member_find(plan, "manifest.json");
        if (mf) {
            plan->format = "docker-archive";
            rc = plan_docker(plan, opt, mf, err);
        } else if (member_find(plan, "index.json") && member_find(plan, "oci-layout")) {
            plan->format = "oci-archive";
            rc = scan_plan_oci(plan, opt, err);
        } else {
            rc = err_set(err, IMGSEC_EINVAL,
                         "%s: neither a docker-save archive (no manifest.json) nor an OCI layout "
                         "(no index.json and oci-layout)", input);
        }
    }
    return rc;
}

void scan_plan_free(scan_plan *plan)
{
    json_decref(plan->config);
    free(plan->config_digest);
    free(plan->manifest_digest);
    free(plan->repo_tag);
    for (size_t i = 0; plan->layers && i < plan->n_layers; i++)
        scan_blob_free(&plan->layers[i]);
    free(plan->layers);
    scan_strv_free(plan->diff_ids, plan->n_layers);
    free(plan->archive);
    free(plan->dir);
    for (size_t i = 0; i < plan->n_members; i++) {
        free(plan->members[i].name);
        free(plan->members[i].data);
    }
    free(plan->members);
    if (plan->remote)
        plan->remote->free(plan->remote);
    memset(plan, 0, sizeof *plan);
}
