/* scan_builder.h - images the scan tests build themselves (header-only;
 * the unit and API tests of the analyzer include it).
 *
 * A layer is a list of files written as a tar by libarchive's writer,
 * then (optionally) compressed by libarchive's raw writer with a gzip or
 * zstd filter; its diff id and blob digest are computed here from the
 * bytes, so the images are as real as `docker save` or `skopeo copy`
 * would make them: a docker-save archive (legacy "<id>/layer.tar" and
 * "<hex>.json" members) or an OCI layout (directory or tar).
 */
#ifndef IMGSEC_SCAN_BUILDER_H
#define IMGSEC_SCAN_BUILDER_H

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *path;  /* as written in the tar: "etc/x", "./etc/x", ".wh.x", ... */
    char type;         /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
    const char *data;  /* file content, or the link target */
    int mode;          /* permission bits; 0: 0644 / 0755 */
    int uid;
} sb_file;

typedef enum { SB_PLAIN, SB_GZIP, SB_ZSTD } sb_comp;

typedef struct {
    unsigned char *data;
    size_t len;
    char diff_id[72], digest[72]; /* "sha256:<hex>" */
} sb_layer;

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} sb_mem;

static inline la_ssize_t sb_mem_write(struct archive *a, void *ud, const void *p, size_t n)
{
    (void)a;
    sb_mem *m = ud;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *b = realloc(m->buf, cap);
        if (!b)
            return -1;
        m->buf = b;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return (la_ssize_t)n;
}

static inline void sb_sha256(const void *p, size_t n, char out[72])
{
    unsigned char d[32];
    crypto_hash_sha256(d, p, n);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", d[i]);
}

static inline void sb_add(struct archive *a, const sb_file *f)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, f->path);
    archive_entry_set_uid(e, f->uid);
    archive_entry_set_gid(e, f->uid);
    archive_entry_set_mtime(e, 1700000000, 0);
    size_t n = 0;
    switch (f->type) {
    case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, f->mode ? f->mode : 0755);
        break;
    case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_perm(e, 0777);
        archive_entry_set_symlink(e, f->data);
        break;
    case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, f->mode ? f->mode : 0644);
        archive_entry_set_hardlink(e, f->data);
        break;
    default:
        n = f->data ? strlen(f->data) : 0;
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, f->mode ? f->mode : 0644);
        archive_entry_set_size(e, (la_int64_t)n);
    }
    archive_write_header(a, e);
    if (n)
        archive_write_data(a, f->data, n);
    archive_entry_free(e);
}

/* A layer of files[0..n) (n may be 0: an empty tar). */
static inline sb_layer sb_layer_make(const sb_file *files, size_t n, sb_comp comp)
{
    sb_layer l = {0};
    sb_mem tar = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &tar, NULL, sb_mem_write, NULL);
    for (size_t i = 0; i < n; i++)
        sb_add(a, &files[i]);
    archive_write_close(a);
    archive_write_free(a);
    sb_sha256(tar.buf, tar.len, l.diff_id);
    if (comp == SB_PLAIN) {
        l.data = tar.buf;
        l.len = tar.len;
    } else {
        sb_mem z = {0};
        a = archive_write_new();
        archive_write_set_format_raw(a);
        if (comp == SB_GZIP)
            archive_write_add_filter_gzip(a);
        else
            archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, &z, NULL, sb_mem_write, NULL);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)tar.len);
        archive_write_header(a, e);
        archive_write_data(a, tar.buf, tar.len);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        free(tar.buf);
        l.data = z.buf;
        l.len = z.len;
    }
    sb_sha256(l.data, l.len, l.digest);
    return l;
}

/* The image config: os/arch, User, Env (NULL-terminated), history lines. */
static inline char *sb_config(const sb_layer *layers, size_t n, const char *user, const char *const *env,
                       const char *const *history)
{
    json_t *ids = json_array(), *envs = json_array(), *hist = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(layers[i].diff_id));
    for (size_t i = 0; env && env[i]; i++)
        json_array_append_new(envs, json_string(env[i]));
    for (size_t i = 0; history && history[i]; i++)
        json_array_append_new(hist, json_pack("{s:s}", "created_by", history[i]));
    json_t *c = json_pack("{s:s, s:s, s:{s:s, s:o}, s:{s:s, s:o}, s:o}", "architecture", "amd64",
                          "os", "linux", "config", "User", user ? user : "", "Env", envs, "rootfs",
                          "type", "layers", "diff_ids", ids, "history", hist);
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return s;
}

/* Writes a member into an outer tar being built. */
static inline void sb_member(struct archive *a, const char *name, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, 1700000000, 0);
    archive_write_header(a, e);
    archive_write_data(a, data, len);
    archive_entry_free(e);
}

/* A docker-save archive at path: "<i>/layer.tar" members (compressed
 * layers keep their compression, as Docker 25 may), "<hex>.json". */
static inline void sb_docker_archive(const char *path, const sb_layer *layers, size_t n, const char *config,
                              const char *repo_tag)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, path);
    char cname[80], cdig[72];
    sb_sha256(config, strlen(config), cdig);
    snprintf(cname, sizeof cname, "%s.json", cdig + 7);
    json_t *ls = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%zu%.12s/layer.tar", i, layers[i].diff_id + 7);
        sb_member(a, name, layers[i].data, layers[i].len);
        json_array_append_new(ls, json_string(name));
    }
    sb_member(a, cname, config, strlen(config));
    json_t *m = json_pack("[{s:s, s:[s], s:o}]", "Config", cname, "RepoTags", repo_tag, "Layers", ls);
    char *ms = json_dumps(m, JSON_COMPACT);
    sb_member(a, "manifest.json", ms, strlen(ms));
    free(ms);
    json_decref(m);
    archive_write_close(a);
    archive_write_free(a);
}

static inline void sb_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* An OCI layout: a directory at path (as_tar false) or a tar file. */
static inline void sb_oci(const char *path, bool as_tar, const sb_layer *layers, size_t n, const char *config,
                   sb_comp comp, const char *ref_name)
{
    char cdig[72], mdig[72];
    sb_sha256(config, strlen(config), cdig);
    json_t *ls = json_array();
    const char *mt = comp == SB_GZIP   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                     : comp == SB_ZSTD ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                       : "application/vnd.oci.image.layer.v1.tar";
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest",
                                            layers[i].digest, "size", (json_int_t)layers[i].len));
    json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                          "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                          "application/vnd.oci.image.config.v1+json", "digest", cdig, "size",
                          (json_int_t)strlen(config), "layers", ls);
    char *ms = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    sb_sha256(ms, strlen(ms), mdig);
    json_t *ix = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}, s:{s:s, s:s}}]}", "schemaVersion", 2,
                           "manifests", "mediaType", "application/vnd.oci.image.manifest.v1+json",
                           "digest", mdig, "size", (json_int_t)strlen(ms), "annotations",
                           "org.opencontainers.image.ref.name", ref_name, "platform",
                           "architecture", "amd64", "os", "linux");
    char *is = json_dumps(ix, JSON_COMPACT);
    json_decref(ix);
    const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
    char name[128];
    if (as_tar) {
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_open_filename(a, path);
        sb_member(a, "oci-layout", layout, strlen(layout));
        sb_member(a, "index.json", is, strlen(is));
        for (size_t i = 0; i < n; i++) {
            snprintf(name, sizeof name, "blobs/sha256/%s", layers[i].digest + 7);
            sb_member(a, name, layers[i].data, layers[i].len);
        }
        snprintf(name, sizeof name, "blobs/sha256/%s", cdig + 7);
        sb_member(a, name, config, strlen(config));
        snprintf(name, sizeof name, "blobs/sha256/%s", mdig + 7);
        sb_member(a, name, ms, strlen(ms));
        archive_write_close(a);
        archive_write_free(a);
    } else {
        char p[4096];
        mkdir(path, 0700);
        snprintf(p, sizeof p, "%s/blobs", path);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/blobs/sha256", path);
        mkdir(p, 0700);
        sb_write_file(path, "oci-layout", layout, strlen(layout));
        sb_write_file(path, "index.json", is, strlen(is));
        for (size_t i = 0; i < n; i++) {
            snprintf(name, sizeof name, "blobs/sha256/%s", layers[i].digest + 7);
            sb_write_file(path, name, layers[i].data, layers[i].len);
        }
        snprintf(name, sizeof name, "blobs/sha256/%s", cdig + 7);
        sb_write_file(path, name, config, strlen(config));
        snprintf(name, sizeof name, "blobs/sha256/%s", mdig + 7);
        sb_write_file(path, name, ms, strlen(ms));
    }
    free(ms);
    free(is);
}

#endif
