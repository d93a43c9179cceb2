/* keyfile.c - see keyfile.h. */
#include "imgsec/keyfile.h"
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(KEYFILE_BYTES == crypto_secretbox_KEYBYTES, "secretbox key size");
_Static_assert(KEYFILE_SEAL_OVERHEAD == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES,
               "secretbox overhead");

int keyfile_default_path(const char *db_path, char *out, size_t size, imgsec_err *err)
{
    const char *env = getenv("IMGSEC_KEY_FILE");
    if (!(env && *env) && db_uri_is_pg(db_path))
        return err_set(err, IMGSEC_EINVAL, "a PostgreSQL database has no key file beside it: give "
                                           "--key-file (or IMGSEC_KEY_FILE)");
    int n = env && *env ? snprintf(out, size, "%s", env) : snprintf(out, size, "%s.key", db_path);
    if (n < 0 || (size_t)n >= size)
        return err_set(err, IMGSEC_EINVAL, "the key file path is too long");
    return IMGSEC_OK;
}

static int read_exact(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_exact(int fd, const unsigned char *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t w = write(fd, buf + put, n - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        put += (size_t)w;
    }
    return 0;
}

/* Writes a fresh random key into a new temporary file beside path
 * (mode 0600, synced to disk); its name goes to tmp. */
static int write_temp(const char *path, char *tmp, size_t size,
                      unsigned char key[KEYFILE_BYTES], imgsec_err *err)
{
    if (snprintf(tmp, size, "%s.tmp-XXXXXX", path) >= (int)size)
        return err_set(err, IMGSEC_EINVAL, "invalid key file path");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return err_set(err, IMGSEC_EINTERNAL, "cannot create the key file %s: %s", path,
                       strerror(errno));
    randombytes_buf(key, KEYFILE_BYTES);
    /* The umask may have narrowed 0600 further, never widened it; make it exact. */
    bool ok = fchmod(fd, 0600) == 0 && write_exact(fd, key, KEYFILE_BYTES) == 0 && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        sodium_memzero(key, KEYFILE_BYTES);
        unlink(tmp);
        return err_set(err, IMGSEC_EINTERNAL, "cannot write the key file %s", path);
    }
    return IMGSEC_OK;
}

/* The file appears under path only complete: written and synced under a
 * temporary name first, then hard-linked into place. A process racing us
 * thus finds either no file or all 32 bytes, never a short file; link()
 * refuses to replace an existing one, so exactly one creator wins
 * (IMGSEC_ECONFLICT to the others, which then read the winner's). */
static int create_new(const char *path, unsigned char key[KEYFILE_BYTES], imgsec_err *err)
{
    char tmp[KEYFILE_PATH_MAX + 16];
    int rc = write_temp(path, tmp, sizeof tmp, key, err);
    if (rc != IMGSEC_OK)
        return rc;
    if (link(tmp, path) != 0) {
        int e = errno;
        sodium_memzero(key, KEYFILE_BYTES);
        rc = e == EEXIST ? IMGSEC_ECONFLICT
                         : err_set(err, IMGSEC_EINTERNAL, "cannot create the key file %s: %s",
                                   path, strerror(e));
    }
    unlink(tmp); /* path (if linked) keeps the data; a failed unlink only leaves a stray copy */
    return rc;
}

static int read_existing(const char *path, unsigned char key[KEYFILE_BYTES], imgsec_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? IMGSEC_ENOTFOUND
                               : err_set(err, IMGSEC_EINTERNAL, "cannot open the key file %s: %s",
                                         path, strerror(errno));
    struct stat st;
    int rc = IMGSEC_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = err_set(err, IMGSEC_EINTERNAL, "the key file %s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = err_set(err, IMGSEC_EINTERNAL,
                     "the key file %s is accessible to group or others (mode %03o); it must be 0600",
                     path, (unsigned)(st.st_mode & 0777));
    else if (st.st_size != KEYFILE_BYTES)
        rc = err_set(err, IMGSEC_EINTERNAL, "the key file %s must hold exactly %d bytes", path,
                     KEYFILE_BYTES);
    else if (read_exact(fd, key, KEYFILE_BYTES) != 0)
        rc = err_set(err, IMGSEC_EINTERNAL, "cannot read the key file %s", path);
    close(fd);
    if (rc != IMGSEC_OK)
        sodium_memzero(key, KEYFILE_BYTES);
    return rc;
}

int keyfile_load_or_create(const char *path, unsigned char key[KEYFILE_BYTES], bool *created,
                           imgsec_err *err)
{
    if (created)
        *created = false;
    if (!path || !*path || strlen(path) >= KEYFILE_PATH_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid key file path");
    /* Two tries: a server and a CLI starting together may both find no
     * file; link() lets exactly one create it, the other then reads it
     * (complete: it was written before it got its name). */
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = read_existing(path, key, err);
        if (rc != IMGSEC_ENOTFOUND)
            return rc;
        rc = create_new(path, key, err);
        if (rc == IMGSEC_OK && created)
            *created = true;
        if (rc != IMGSEC_ECONFLICT)
            return rc;
    }
    return err_set(err, IMGSEC_EINTERNAL, "cannot create or read the key file %s", path);
}

void keyfile_seal(const unsigned char key[KEYFILE_BYTES], const unsigned char *msg, size_t len,
                  unsigned char *out)
{
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, msg, len, out, key);
}

int keyfile_open(const unsigned char key[KEYFILE_BYTES], const unsigned char *sealed,
                 size_t sealed_len, unsigned char *out, size_t *len, imgsec_err *err)
{
    if (sealed_len < KEYFILE_SEAL_OVERHEAD ||
        crypto_secretbox_open_easy(out, sealed + crypto_secretbox_NONCEBYTES,
                                   sealed_len - crypto_secretbox_NONCEBYTES,
                                   sealed, key) != 0)
        return err_set(err, IMGSEC_EINTERNAL,
                       "a sealed secret key does not open under this key file");
    *len = sealed_len - KEYFILE_SEAL_OVERHEAD;
    return IMGSEC_OK;
}
