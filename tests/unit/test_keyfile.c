/* test_keyfile.c - the key file and sealing (keyfile.c, security.md).
 *
 * Created once with mode 0600 and 32 bytes, read back unchanged; refused
 * when group/other can reach it, when it has the wrong size, when it is a
 * symlink; processes racing to create it all get the same key and none
 * sees a half-written file (nor is a temporary file left); a sealed SK opens under its key and under no other, and a
 * damaged row does not open. Also the AK/SK generator's alphabet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "imgsec/auth.h"
#include "imgsec/keyfile.h"
#include "imgsec/store_keys.h"
#include "unit_tmp.h"

static char DIR_[256];

static int setup(void **state)
{
    (void)state;
    imgsec_err err;
    if (auth_init(&err) != IMGSEC_OK)
        return -1;
    return unit_tmp_dir(DIR_, sizeof DIR_, "keyfile-");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(DIR_);
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", DIR_, name);
}

/* Entries of DIR_ whose name starts with prefix. */
static int count_entries(const char *prefix)
{
    DIR *d = opendir(DIR_);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void test_create_then_read(void **state)
{
    (void)state;
    char p[512];
    path_of(p, sizeof p, "a.key");
    unsigned char k1[KEYFILE_BYTES], k2[KEYFILE_BYTES];
    bool created = false;
    imgsec_err err = {0};
    umask(022);
    assert_int_equal(keyfile_load_or_create(p, k1, &created, &err), IMGSEC_OK);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, KEYFILE_BYTES);
    assert_int_equal(count_entries("a.key"), 1); /* no temporary file left beside it */
    assert_int_equal(keyfile_load_or_create(p, k2, &created, &err), IMGSEC_OK);
    assert_false(created);
    assert_memory_equal(k1, k2, KEYFILE_BYTES);
}

static void test_refused_files(void **state)
{
    (void)state;
    char p[512], link[512];
    unsigned char k[KEYFILE_BYTES];
    imgsec_err err = {0};
    path_of(p, sizeof p, "b.key");
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_OK);
    const mode_t loose[] = {0640, 0604, 0660, 0644};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(p, loose[i]), 0);
        assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_EINTERNAL);
        assert_non_null(strstr(err.msg, "group or others"));
    }
    assert_int_equal(chmod(p, 0400), 0); /* stricter than 0600 is fine */
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_OK);
    assert_int_equal(chmod(p, 0600), 0);
    /* 31 and 33 bytes */
    assert_int_equal(truncate(p, KEYFILE_BYTES - 1), 0);
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_EINTERNAL);
    assert_non_null(strstr(err.msg, "exactly 32 bytes"));
    assert_int_equal(truncate(p, KEYFILE_BYTES + 1), 0);
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_EINTERNAL);
    /* a symlink is not followed */
    assert_int_equal(truncate(p, KEYFILE_BYTES), 0);
    path_of(link, sizeof link, "link.key");
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(keyfile_load_or_create(link, k, NULL, &err), IMGSEC_EINTERNAL);
    /* a directory in the way */
    path_of(p, sizeof p, "dir.key");
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_EINTERNAL);
    /* the default path */
    char d[64];
    assert_int_equal(keyfile_default_path("x/imgsec.db", d, sizeof d, &err), IMGSEC_OK);
    assert_string_equal(d, "x/imgsec.db.key");
    assert_int_equal(keyfile_default_path("x/imgsec.db", d, 8, &err), IMGSEC_EINVAL);
}

#define RACERS 4
#define RACE_ROUNDS 150

/* One child: waits at the barrier, then loads or creates p and writes the
 * key (or 32 zero bytes with the error on stderr) to out. */
static void racer(const char *p, int go, int out)
{
    char c;
    unsigned char k[KEYFILE_BYTES] = {0};
    imgsec_err err = {0};
    if (read(go, &c, 1) != 1)
        _exit(3);
    int rc = keyfile_load_or_create(p, k, NULL, &err);
    if (rc != IMGSEC_OK) {
        fprintf(stderr, "racer: %s\n", err.msg);
        memset(k, 0, sizeof k);
    }
    _exit(write(out, k, sizeof k) == (ssize_t)sizeof k && rc == IMGSEC_OK ? 0 : 1);
}

/* A server and a CLI starting together: before the key file appeared
 * whole (temp file + link), a loser of the O_EXCL race could read it
 * between its creation and its 32 bytes ("must hold exactly 32 bytes").
 * Every racer must succeed with the one key. */
static void test_racing_creators(void **state)
{
    (void)state;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char p[512];
        snprintf(p, sizeof p, "%s/race-%d.key", DIR_, round);
        int go[2], keys[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(keys), 0);
        pid_t pids[RACERS];
        for (int i = 0; i < RACERS; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                close(go[1]);
                close(keys[0]);
                racer(p, go[0], keys[1]);
            }
        }
        close(go[0]);
        close(keys[1]);
        assert_int_equal(write(go[1], "gogo", RACERS), RACERS); /* release all at once */
        close(go[1]);
        int failed = 0;
        for (int i = 0; i < RACERS; i++) {
            int st = 0;
            assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
            failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        unsigned char k[RACERS][KEYFILE_BYTES];
        for (int i = 0; i < RACERS; i++)
            assert_int_equal(read(keys[0], k[i], KEYFILE_BYTES), KEYFILE_BYTES);
        close(keys[0]);
        if (failed)
            fail_msg("round %d: %d of %d racers failed", round, failed, RACERS);
        for (int i = 1; i < RACERS; i++)
            assert_memory_equal(k[0], k[i], KEYFILE_BYTES);
        unsigned char disk[KEYFILE_BYTES];
        assert_int_equal(keyfile_load_or_create(p, disk, NULL, &(imgsec_err){0}), IMGSEC_OK);
        assert_memory_equal(k[0], disk, KEYFILE_BYTES);
    }
    /* the temporary files were all removed */
    assert_int_equal(count_entries("race-"), RACE_ROUNDS);
}

/* A creation that cannot even start (no such directory) says so with the
 * key file's path, as before the temporary file. */
static void test_create_in_missing_dir(void **state)
{
    (void)state;
    char p[512];
    path_of(p, sizeof p, "no-such-dir/c.key");
    unsigned char k[KEYFILE_BYTES];
    imgsec_err err = {0};
    assert_int_equal(keyfile_load_or_create(p, k, NULL, &err), IMGSEC_EINTERNAL);
    assert_non_null(strstr(err.msg, "cannot create the key file"));
    assert_non_null(strstr(err.msg, "no-such-dir/c.key"));
}

static void test_seal_open(void **state)
{
    (void)state;
    unsigned char k[KEYFILE_BYTES], other[KEYFILE_BYTES];
    memset(k, 7, sizeof k);
    memset(other, 8, sizeof other);
    const char *sk = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";
    unsigned char s1[STORE_SK_SEALED_MAX], s2[STORE_SK_SEALED_MAX], out[STORE_SK_SEALED_MAX];
    keyfile_seal(k, (const unsigned char *)sk, STORE_SK_LEN, s1);
    keyfile_seal(k, (const unsigned char *)sk, STORE_SK_LEN, s2);
    assert_memory_not_equal(s1, s2, sizeof s1); /* fresh nonce each time */
    assert_null(memmem(s1, sizeof s1, sk, STORE_SK_LEN));
    size_t len = 0;
    imgsec_err err = {0};
    assert_int_equal(keyfile_open(k, s1, sizeof s1, out, &len, &err), IMGSEC_OK);
    assert_int_equal(len, STORE_SK_LEN);
    assert_memory_equal(out, sk, STORE_SK_LEN);
    assert_int_equal(keyfile_open(other, s1, sizeof s1, out, &len, &err), IMGSEC_EINTERNAL);
    s1[30] ^= 1;
    assert_int_equal(keyfile_open(k, s1, sizeof s1, out, &len, &err), IMGSEC_EINTERNAL);
    assert_int_equal(keyfile_open(k, s2, KEYFILE_SEAL_OVERHEAD - 1, out, &len, &err),
                     IMGSEC_EINTERNAL);
}

static void test_generate(void **state)
{
    (void)state;
    char ak[STORE_AK_LEN + 1], sk[STORE_SK_LEN + 1], ak2[STORE_AK_LEN + 1], sk2[STORE_SK_LEN + 1];
    store_key_generate(ak, sk);
    store_key_generate(ak2, sk2);
    assert_int_equal(strlen(ak), 20);
    assert_int_equal(strlen(sk), 40);
    assert_true(store_key_ak_valid(ak));
    assert_string_not_equal(ak, ak2);
    assert_string_not_equal(sk, sk2);
    for (const char *p = sk; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", *p));
    assert_false(store_key_ak_valid("abcdefghijklmnopqrst"));
    assert_false(store_key_ak_valid("ABCDEFGHIJKLMNOPQRS"));
    assert_false(store_key_ak_valid("ABCDEFGHIJKLMNOPQRSTU"));
    assert_false(store_key_ak_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_read),
        cmocka_unit_test(test_refused_files),
        cmocka_unit_test(test_racing_creators),
        cmocka_unit_test(test_create_in_missing_dir),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_generate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
