/* keyfile.h - the server's key file, and sealing access-key secrets under it.
 *
 * Secret keys of access keys must be recoverable (the server recomputes
 * each signature with the SK), so they cannot be hashed like passwords;
 * they are sealed with libsodium secretbox (XSalsa20-Poly1305) under a
 * 32-byte key that lives only in a file beside the database, mode 0600.
 * A copy of the database alone reveals no SK. The server and the command
 * line share this one function to find or create the file, so whichever
 * runs first creates it, exactly once: written under a temporary name in
 * the same directory, then link()ed into place, so nobody ever reads a
 * half-written key file.
 */
#ifndef IMGSEC_KEYFILE_H
#define IMGSEC_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "imgsec/err.h"

#define KEYFILE_BYTES 32
#define KEYFILE_SEAL_OVERHEAD 40   /* nonce (24) + MAC (16) */
#define KEYFILE_PATH_MAX 4096

/* The key file when --key-file is not given: IMGSEC_KEY_FILE if set and
 * not empty, else "<db path>.key", into out. IMGSEC_EINVAL if it does
 * not fit, or if db_path is a PostgreSQL URI and IMGSEC_KEY_FILE is not
 * set (nothing is beside a database on a server). */
int keyfile_default_path(const char *db_path, char *out, size_t size, imgsec_err *err);

/* Reads the key file at path, or creates it (0600, 32 random bytes) if it
 * does not exist; *created tells which (may be NULL). Creating needs a
 * directory where a temporary file "<path>.tmp-XXXXXX" can be made and
 * hard-linked (a crash in between may leave that temporary file). Refuses a file that
 * is not a regular file, is readable or writable by group or others, or
 * is not exactly 32 bytes. Call auth_init (sodium_init) first. */
int keyfile_load_or_create(const char *path, unsigned char key[KEYFILE_BYTES], bool *created,
                           imgsec_err *err);

/* nonce || secretbox(msg) into out (>= len + KEYFILE_SEAL_OVERHEAD). */
void keyfile_seal(const unsigned char key[KEYFILE_BYTES], const unsigned char *msg, size_t len,
                  unsigned char *out);
/* Opens what keyfile_seal made into out (>= sealed_len - overhead bytes);
 * *len gets the length. IMGSEC_EINTERNAL if it does not authenticate
 * (wrong key file, or a damaged row). */
int keyfile_open(const unsigned char key[KEYFILE_BYTES], const unsigned char *sealed,
                 size_t sealed_len, unsigned char *out, size_t *len, imgsec_err *err);

#endif
