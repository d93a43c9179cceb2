/* scan_layer.c - one layer of an image, or a root filesystem directory,
 * through the driver (scan_int.h).
 *
 * A layer is two libarchive readers chained by callbacks: the first reads
 * the source in "raw" format with the decompression filters (gzip, zstd,
 * xz, bzip2, lz4, or none), the second reads the tar from the first's
 * output. Both callbacks hash what passes through them, so the stored
 * bytes are checked against the manifest's blob digest and the
 * uncompressed bytes against the config's diff id, in the same single
 * pass that feeds the analyzers; nothing touches the disk.
 *
 * OCI layer semantics, layers walked top first: a path already seen in an
 * upper layer is not offered again (the upper one won); ".wh.NAME" hides
 * NAME and ".wh..wh..opq" hides the directory's lower content, both only
 * for the layers below (applied when the layer ends); a path under an
 * upper layer's non-directory (file or symlink) is hidden too. Member
 * names are normalised (leading "/", "./", "." dropped); a name with ".."
 * is skipped with a warning. Nothing is ever resolved through a symlink,
 * so no name can reach outside the image's root.
 */
#include "scan/scan_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsec/util.h"

#define PATH_BUF 8192

typedef struct {
    scan_src *src;
    struct archive *raw; /* decompressor */
    scan_sha256 blob_h, plain_h;
    int64_t raw_n, plain_n;
    bool same; /* no compression: the plain bytes are the raw bytes, hashed once */
    imgsec_err *err;
    bool src_failed;
    imgsec_err src_err; /* why the source failed (scan_offer's "read failed" would hide it) */
    scan_run_ctx *rc;
} layer_io;

static la_ssize_t raw_cb(struct archive *a, void *ud, const void **buf)
{
    layer_io *io = ud;
    ssize_t n = io->src->read(io->src, buf, &io->src_err);
    if (n < 0) {
        io->src_failed = true;
        *io->err = io->src_err;
        archive_set_error(a, EIO, "source read failed");
        return -1;
    }
    scan_sha256_update(&io->blob_h, *buf, (size_t)n);
    io->raw_n += n;
    return n;
}

static la_ssize_t plain_cb(struct archive *a, void *ud, const void **buf)
{
    layer_io *io = ud;
    size_t size = 0;
    la_int64_t off;
    int r = archive_read_data_block(io->raw, buf, &size, &off);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r < ARCHIVE_WARN) {
        archive_set_error(a, EIO, "%s", archive_error_string(io->raw));
        return -1;
    }
    if (!io->same)
        scan_sha256_update(&io->plain_h, *buf, size);
    io->plain_n += (int64_t)size;
    scan_progress_add(io->rc, (int64_t)size);
    return (la_ssize_t)size;
}

static ssize_t tar_content(void *ctx, void *buf, size_t n)
{
    return archive_read_data((struct archive *)ctx, buf, n);
}

static int digest_check(const char *hex, const char *want, const char *label, const char *what,
                        imgsec_err *err)
{
    char got[7 + 64 + 1];
    snprintf(got, sizeof got, "sha256:%s", hex);
    if (!want || strcmp(want, got) == 0)
        return IMGSEC_OK;
    return err_set(err, IMGSEC_EINVAL, "%s: %s mismatch: the bytes hash to %s, the image says %s",
                   label, what, got, want);
}

/* Is path (len bytes) hidden by what the upper layers did? */
static bool hidden(const scan_paths *seen, const char *path, size_t len)
{
    if (scan_paths_get(seen, path, len) & (SCAN_PATH_FILE | SCAN_PATH_DIR | SCAN_PATH_WHITEOUT))
        return true;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/' && (scan_paths_get(seen, path, i) &
                               (SCAN_PATH_FILE | SCAN_PATH_WHITEOUT | SCAN_PATH_OPAQUE)))
            return true;
    return false;
}

/* One tar member: whiteout bookkeeping or an offer. */
static int layer_entry(layer_io *io, struct archive *tar, struct archive_entry *ae,
                       const scan_layer_spec *spec, scan_paths *seen, util_buf *pending, char *path,
                       imgsec_err *err)
{
    const char *name = archive_entry_pathname(ae);
    int len = name ? scan_path_normalise(name, path, PATH_BUF, SCAN_DOTDOT_REFUSE) : -1;
    scan_result *res = scan_run_result(io->rc);
    if (len < 0) {
        scan_warn(res, "%s: member '%.200s' skipped: its name has '..' or is too long", spec->label,
                  name ? name : "?");
        return IMGSEC_OK;
    }
    if (len == 0)
        return IMGSEC_OK;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, ".wh.", 4) == 0) {
        /* pending: flag byte, path, NUL */
        char flag = (char)SCAN_PATH_WHITEOUT;
        size_t dirlen = (size_t)(base - path);
        if (strcmp(base, ".wh..wh..opq") == 0) {
            flag = (char)SCAN_PATH_OPAQUE;
            util_buf_put(pending, &flag, 1);
            util_buf_put(pending, path, dirlen ? dirlen - 1 : 0);
        } else {
            util_buf_put(pending, &flag, 1);
            util_buf_put(pending, path, dirlen);
            util_buf_put(pending, base + 4, strlen(base + 4));
        }
        util_buf_put(pending, "", 1);
        return pending->failed ? err_set(err, IMGSEC_EINTERNAL, "out of memory") : IMGSEC_OK;
    }
    if (hidden(seen, path, (size_t)len))
        return IMGSEC_OK;
    mode_t type = archive_entry_filetype(ae);
    const char *hl = archive_entry_hardlink(ae);
    if (spec->record &&
        scan_paths_add(seen, path, (size_t)len, type == AE_IFDIR ? SCAN_PATH_DIR : SCAN_PATH_FILE) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    char target[PATH_BUF];
    const char *link = NULL;
    if (hl) {
        link = scan_path_normalise(hl, target, sizeof target, SCAN_DOTDOT_REFUSE) > 0 ? target : NULL;
        if (!type)
            type = AE_IFREG;
    } else if (type == AE_IFLNK) {
        link = archive_entry_symlink(ae);
    }
    scan_entry e = {
        .path = path, .layer = spec->diff_id ? spec->diff_id : "",
        .mode = (archive_entry_mode(ae) & 07777) | type,
        .uid = archive_entry_uid(ae), .gid = archive_entry_gid(ae),
        .uname = archive_entry_uname(ae), .gname = archive_entry_gname(ae),
        .size = type == AE_IFREG && archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0,
        .link_target = link,
    };
    if (e.size < 0)
        e.size = 0;
    return scan_offer(io->rc, &e, tar_content, tar, err);
}

static void apply_pending(scan_paths *seen, const util_buf *pending, int *oom)
{
    for (size_t i = 0; i < pending->len;) {
        unsigned flag = (unsigned char)pending->buf[i];
        const char *p = pending->buf + i + 1;
        size_t n = strlen(p);
        if (scan_paths_add(seen, p, n, flag) != 0)
            *oom = 1;
        i += n + 2;
    }
}

int scan_layer_walk(scan_run_ctx *rc, scan_src *src, const scan_layer_spec *spec, scan_paths *seen,
                    int64_t *raw_bytes, int64_t *plain_bytes, imgsec_err *err)
{
    layer_io io = {.src = src, .err = err, .rc = rc};
    int hash_bad = scan_sha256_init(&io.blob_h) | scan_sha256_init(&io.plain_h);
    struct archive *tar = archive_read_new();
    io.raw = archive_read_new();
    util_buf pending = {0};
    char *path = malloc(PATH_BUF);
    struct archive_entry *ae;
    int rc_ = IMGSEC_OK, r;
    if (!tar || !io.raw || !path || hash_bad) {
        rc_ = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    archive_read_support_format_raw(io.raw);
    archive_read_support_filter_gzip(io.raw);
    archive_read_support_filter_zstd(io.raw);
    archive_read_support_filter_xz(io.raw);
    archive_read_support_filter_bzip2(io.raw);
    archive_read_support_filter_lz4(io.raw);
    archive_read_support_format_tar(tar);
    if (archive_read_open(io.raw, &io, NULL, raw_cb, NULL) != ARCHIVE_OK ||
        archive_read_next_header(io.raw, &ae) != ARCHIVE_OK)
        goto corrupt;
    io.same = archive_filter_count(io.raw) == 1; /* only the client's reader: no filter */
    if (archive_read_open(tar, &io, NULL, plain_cb, NULL) != ARCHIVE_OK)
        goto corrupt;
    while ((r = archive_read_next_header(tar, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if ((rc_ = layer_entry(&io, tar, ae, spec, seen, &pending, path, err)) != IMGSEC_OK) {
            if (scan_offer_read_failed(rc))
                goto corrupt;
            goto done;
        }
    }
    if (r != ARCHIVE_EOF)
        goto corrupt;
    /* The tar ended: the rest of both streams still counts for the digests. */
    const void *blk;
    size_t size;
    la_int64_t off;
    while ((r = archive_read_data_block(io.raw, &blk, &size, &off)) == ARCHIVE_OK) {
        if (!io.same)
            scan_sha256_update(&io.plain_h, blk, size);
        io.plain_n += (int64_t)size;
    }
    if (r != ARCHIVE_EOF)
        goto corrupt;
    ssize_t n;
    while ((n = src->read(src, &blk, err)) > 0) {
        scan_sha256_update(&io.blob_h, blk, (size_t)n);
        io.raw_n += n;
    }
    if (n < 0) {
        rc_ = err->code;
        goto done;
    }
    if (spec->blob_size >= 0 && io.raw_n != spec->blob_size) {
        rc_ = err_set(err, IMGSEC_EINVAL, "%s: size mismatch: %lld bytes, the manifest says %lld", spec->label,
                      (long long)io.raw_n, (long long)spec->blob_size);
        goto done;
    }
    char blob_hex[65], plain_hex[65];
    scan_sha256_final(&io.blob_h, blob_hex);
    if (io.same)
        memcpy(plain_hex, blob_hex, sizeof plain_hex);
    else
        scan_sha256_final(&io.plain_h, plain_hex);
    if ((rc_ = digest_check(blob_hex, spec->blob_digest, spec->label, "blob digest", err)) ||
        (rc_ = digest_check(plain_hex, spec->diff_id, spec->label, "diff id", err)))
        goto done;
    int oom = 0;
    apply_pending(seen, &pending, &oom);
    if (oom)
        rc_ = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    goto done;
corrupt:
    if (io.src_failed) {
        *err = io.src_err;
        rc_ = err->code;
    } else {
        const char *why = archive_error_string(tar);
        if (!why || !*why)
            why = archive_error_string(io.raw);
        rc_ = err_set(err, IMGSEC_EINVAL,
                      "%s: corrupt or truncated at offset %lld of the member (%lld uncompressed): %s",
                      spec->label, (long long)io.raw_n, (long long)io.plain_n,
                      why && *why ? why : "unreadable");
    }
done:
    *raw_bytes = io.raw_n;
    *plain_bytes = io.plain_n;
    archive_read_free(tar);
    archive_read_free(io.raw);
    scan_sha256_free(&io.blob_h);
    scan_sha256_free(&io.plain_h);
    free(pending.buf);
    free(path);
    return rc_;
}

/* ---- a root filesystem directory ---- */

typedef struct {
    int fd;
} file_reader;

static ssize_t fd_content(void *ctx, void *buf, size_t n)
{
    file_reader *f = ctx;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(f->fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int scan_rootfs_walk(scan_run_ctx *rc, const char *dir, imgsec_err *err)
{
    char *const roots[] = {(char *)dir, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
    if (!fts)
        return err_set(err, IMGSEC_EINVAL, "%s: cannot read: %s", dir, strerror(errno));
    scan_result *res = scan_run_result(rc);
    size_t rootlen = strlen(dir);
    char path[PATH_BUF], target[PATH_BUF];
    int out = IMGSEC_OK;
    FTSENT *f;
    while ((f = fts_read(fts))) {
        if (f->fts_info == FTS_DP)
            continue;
        if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR || f->fts_info == FTS_NS) {
            scan_warn(res, "%.300s: skipped: %s", f->fts_path, strerror(f->fts_errno));
            continue;
        }
        int len = scan_path_normalise(f->fts_path + rootlen, path, sizeof path, SCAN_DOTDOT_REFUSE);
        if (len <= 0)
            continue;
        if (f->fts_level == 1 && f->fts_info == FTS_D &&
            (strcmp(path, "proc") == 0 || strcmp(path, "sys") == 0 || strcmp(path, "dev") == 0)) {
            fts_set(fts, f, FTS_SKIP);
            continue;
        }
        const struct stat *sb = f->fts_statp;
        const char *link = NULL;
        if (S_ISLNK(sb->st_mode)) {
            ssize_t n = readlink(f->fts_accpath, target, sizeof target - 1);
            if (n >= 0) {
                target[n] = '\0';
                link = target;
            }
        }
        scan_entry e = {
            .path = path, .layer = "", .mode = sb->st_mode, .uid = sb->st_uid, .gid = sb->st_gid,
            .size = S_ISREG(sb->st_mode) ? sb->st_size : 0, .link_target = link,
        };
        file_reader fr = {-1};
        if (S_ISREG(sb->st_mode))
            fr.fd = open(f->fts_accpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (S_ISREG(sb->st_mode) && fr.fd < 0) {
            scan_warn(res, "%.300s: cannot open: %s", path, strerror(errno));
            e.size = 0;
        }
        out = scan_offer(rc, &e, fd_content, &fr, err);
        if (fr.fd >= 0)
            close(fr.fd);
        if (out != IMGSEC_OK) {
            if (scan_offer_read_failed(rc))
                out = err_set(err, IMGSEC_EINTERNAL, "%.300s: read error", path);
            break;
        }
        scan_progress_add(rc, e.size);
        res->info.layer_bytes += e.size; /* the image size of a root filesystem */
    }
    fts_close(fts);
    return out;
}
