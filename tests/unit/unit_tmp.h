/* unit_tmp.h - scratch paths under $TMPDIR for the unit tests.
 *
 * ctest sets TMPDIR to the build tree's tmp/ (tests/CMakeLists.txt), so
 * what a test leaves behind stays out of /tmp; /tmp is the fallback when
 * a test binary is run by hand. Header-only: each test is one file.
 */
#ifndef IMGSEC_UNIT_TMP_H
#define IMGSEC_UNIT_TMP_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline const char *unit_tmp_base(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

/* A fresh directory $TMPDIR/<prefix>XXXXXX into out. 0 or -1. */
static inline int unit_tmp_dir(char *out, size_t size, const char *prefix)
{
    snprintf(out, size, "%s/%sXXXXXX", unit_tmp_base(), prefix);
    return mkdtemp(out) ? 0 : -1;
}

/* Removes dir and everything in it. 0 or -1. */
static inline int unit_tmp_dir_remove(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A unique path $TMPDIR/<prefix>XXXXXX that does not exist yet (for a
 * database the test then creates). 0 or -1. */
static inline int unit_tmp_db_path(char *out, size_t size, const char *prefix)
{
    snprintf(out, size, "%s/%sXXXXXX", unit_tmp_base(), prefix);
    int fd = mkstemp(out);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(out);
    return 0;
}

/* Removes a SQLite database file with its -wal and -shm. */
static inline void unit_tmp_db_remove(const char *path)
{
    char p[PATH_MAX + 8];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

#endif
