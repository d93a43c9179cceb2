/* test_scan_risk_baseline.c - the "baseline" analyzer (an_baseline.c).
 *
 * Real files of ../shared/fixtures/scan/baseline: Debian 12's default
 * login.defs and sshd_config, alpine:3.10's passwd/shadow, InSpec's
 * fixtures, and osv-scalibr's /etc/shadow with 14 hash schemes of the
 * verified weak password Password123. The expected records are worked
 * out from the files against the thresholds of docs/scanning-risks.md
 * (reasoning next to each). Then synthetic files for what the fixtures
 * do not hold: UID 0 aliases, hashes in passwd, sshd Include and Match,
 * the image user, a yescrypt hash made here with libxcrypt.
 */
#include <crypt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scan_risk_support.h"

static const char *const FIELDS[] = {"check_rule_id", "severity", "current_value", NULL};

static char *run_dump(const risk_file *f, size_t n, json_t *config, scan_result **out)
{
    scan_result *res = risk_run(&scan_an_baseline, NULL, f, n, config);
    char *got = risk_dump(res, REPORT_RISK_CONFIG, FIELDS);
    if (out)
        *out = res;
    else
        scan_result_free(res);
    return got;
}

/* Debian 12: PASS_MAX_DAYS 99999 (> 90), PASS_MIN_DAYS 0 (< 1),
 * PASS_WARN_AGE 7 (ok), no PASS_MIN_LEN (not judged), ENCRYPT_METHOD
 * SHA512 (ok), UMASK 022 (group/other write... 022 & 027 != 027).
 * sshd_config sets only X11Forwarding yes among the judged keywords;
 * PasswordAuthentication and MaxAuthTries keep OpenSSH's defaults (yes,
 * 6), PermitRootLogin's default prohibit-password passes. */
static void test_baseline_debian12(void **state)
{
    (void)state;
    const risk_file f[] = {
        {"etc/login.defs", 0, "baseline/debian-12/etc/login.defs", NULL, 0, NULL, NULL},
        {"etc/ssh/sshd_config", 0, "baseline/debian-12/etc/ssh/sshd_config", NULL, 0, NULL, NULL},
    };
    json_t *cfg = json_pack("{s:{s:s}}", "config", "User", "app");
    scan_result *res;
    char *got = run_dump(f, RISK_N(f), cfg, &res);
    assert_string_equal(got, "IMGSEC-B010;low;PASS_MAX_DAYS 99999\n"
                             "IMGSEC-B011;low;PASS_MIN_DAYS 0\n"
                             "IMGSEC-B015;low;UMASK 022\n"
                             "IMGSEC-B022;low;PasswordAuthentication yes (default)\n"
                             "IMGSEC-B024;low;X11Forwarding yes\n"
                             "IMGSEC-B025;low;MaxAuthTries 6 (default)\n");
    free(got);
    /* one record in full: every field of data-model.md's risk-config */
    json_t *want = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "check_name",
        "Password expiration (login.defs PASS_MAX_DAYS)", "check_rule_id", "IMGSEC-B010",
        "check_rule_name", "login-defs-pass-max-days", "check_type", "password-policy",
        "standard", "hw_standard", "severity", "low", "current_value", "PASS_MAX_DAYS 99999",
        "suggest_value", "PASS_MAX_DAYS 90 or less");
    assert_true(json_equal(json_array_get(res->records[REPORT_RISK_CONFIG], 0), want));
    assert_int_equal(json_array_size(res->warnings), 0);
    json_decref(want);
    json_decref(cfg);
    scan_result_free(res);
}

/* alpine:3.10.4: every shadow account is locked ("!"), only root has UID 0,
 * passwd holds "x" everywhere: nothing. The image config has no User:
 * the container runs as root. */
static void test_baseline_alpine310(void **state)
{
    (void)state;
    const risk_file f[] = {
        {"etc/passwd", 0, "baseline/alpine-3.10/etc/passwd", NULL, 0, NULL, NULL},
        {"etc/shadow", S_IFREG | 0640, "baseline/alpine-3.10/etc/shadow", NULL, 0, NULL, NULL},
        {"etc/group", 0, "baseline/alpine-3.10/etc/group", NULL, 0, NULL, NULL},
    };
    json_t *cfg = json_pack("{s:{s:[s]}}", "config", "Cmd", "/bin/sh");
    char *got = run_dump(f, RISK_N(f), cfg, NULL);
    assert_string_equal(got, "IMGSEC-B030;medium;User not set (root)\n");
    free(got);
    json_decref(cfg);
    /* a root filesystem directory has no image config: no image user check */
    got = run_dump(f, RISK_N(f), NULL, NULL);
    assert_string_equal(got, "");
    free(got);
}

/* InSpec: shadow "root:x:..." (x is no hash of any scheme: not tried, not
 * empty), www-data "!!" (locked); login.defs sets PASS_MIN_DAYS 0,
 * PASS_WARN_AGE 7, UMASK 022 and neither PASS_MAX_DAYS nor ENCRYPT_METHOD
 * (shadow-utils' default is then DES); sshd_config sets none of the
 * judged keywords. */
static void test_baseline_inspec(void **state)
{
    (void)state;
    const risk_file f[] = {
        {"etc/passwd", 0, "baseline/inspec/passwd", NULL, 0, NULL, NULL},
        {"etc/shadow", 0, "baseline/inspec/shadow", NULL, 0, NULL, NULL},
        {"etc/login.defs", 0, "baseline/inspec/login.defs", NULL, 0, NULL, NULL},
        {"etc/ssh/sshd_config", 0, "baseline/inspec/sshd_config", NULL, 0, NULL, NULL},
    };
    char *got = run_dump(f, RISK_N(f), NULL, NULL);
    assert_string_equal(got, "IMGSEC-B010;low;PASS_MAX_DAYS not set\n"
                             "IMGSEC-B011;low;PASS_MIN_DAYS 0\n"
                             "IMGSEC-B014;medium;ENCRYPT_METHOD not set (DES)\n"
                             "IMGSEC-B015;low;UMASK 022\n"
                             "IMGSEC-B022;low;PasswordAuthentication yes (default)\n"
                             "IMGSEC-B025;low;MaxAuthTries 6 (default)\n");
    free(got);
}

/* osv-scalibr's shadow: 14 hashes of Password123. The full dictionary
 * (which holds Password123, and Password for the DES schemes that keep 8
 * characters) goes to the cheap schemes: bcrypt cost 5, sha512crypt and
 * sha256crypt at 5000 rounds, md5crypt, NT, bsdicrypt, descrypt (twice).
 * yescrypt, gost-yescrypt, scrypt and sunmd5 (46947 rounds) are slow: only
 * "", 123456, password and the account name are tried, so they are not
 * found. Legacy: sunmd5, md5crypt, NT, bsdicrypt, descrypt x2. The line
 * "user-bcrypt-a" without a colon is malformed. The record never holds
 * the password. */
static void test_baseline_scalibr_shadow(void **state)
{
    (void)state;
    const risk_file f[] = {
        {"etc/shadow", 0, "baseline/osv-scalibr-etcshadow/shadow", NULL, 0, NULL, NULL},
    };
    scan_result *res;
    char *got = run_dump(f, RISK_N(f), NULL, &res);
    const char *W = ": the password is in the weak-password list\n";
    char want[4096];
    snprintf(want, sizeof want,
             "IMGSEC-B002;high;user-bcrypt%s"
             "IMGSEC-B002;high;user-bcrypt-a%s"
             "IMGSEC-B002;high;user-sha512crypt%s"
             "IMGSEC-B002;high;user-sha256crypt%s"
             "IMGSEC-B002;high;user-md5crypt%s"
             "IMGSEC-B002;high;user-NT-Hash%s"
             "IMGSEC-B002;high;user-bsdicrypt%s"
             "IMGSEC-B002;high;user-descrypt%s"
             "IMGSEC-B002;high;user-descrypt2%s"
             "IMGSEC-B003;medium;user-sunmd5: sunmd5 hash\n"
             "IMGSEC-B003;medium;user-md5crypt: md5crypt hash\n"
             "IMGSEC-B003;medium;user-NT-Hash: NT hash\n"
             "IMGSEC-B003;medium;user-bsdicrypt: bsdicrypt (DES) hash\n"
             "IMGSEC-B003;medium;user-descrypt: descrypt (DES) hash\n"
             "IMGSEC-B003;medium;user-descrypt2: descrypt (DES) hash\n",
             W, W, W, W, W, W, W, W, W);
    assert_string_equal(got, want);
    assert_null(strstr(got, "Password123"));
    free(got);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "baseline: etc/shadow: 1 malformed lines skipped");
    scan_result_free(res);
}

/* What the fixtures lack: a yescrypt hash of a dictionary word made here
 * (found: slow schemes still get the first words), an empty password in
 * shadow and in passwd, a hash in passwd, UID 0 aliases, a compliant
 * login.defs, sshd_config with Include (the included file's value comes
 * first) and a Match block (ignored), and User 0:0. */
static void test_baseline_synthetic(void **state)
{
    (void)state;
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    assert_non_null(crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt));
    struct crypt_data *cd = calloc(1, sizeof *cd);
    assert_non_null(cd);
    char shadow[1024];
    snprintf(shadow, sizeof shadow,
             "root:%s:19000:0:99999:7:::\n"
             "empty::19000::::::\n"
             "locked:!$6$x$y:19000::::::\n"
             "svc:*:19000::::::\n",
             crypt_rn("123456", salt, cd, sizeof *cd));
    free(cd);
    const risk_file f[] = {
        {"etc/shadow", 0, NULL, shadow, 0, NULL, NULL},
        {"etc/passwd", 0, NULL,
         "root:x:0:0:root:/root:/bin/sh\n"
         "toor:x:0:0::/root:/bin/sh\n"
         "old:abcdefghijklm:1000:1000::/home/old:/bin/sh\n"
         "nopw::1001:1001::/home/nopw:/bin/sh\n"
         "bad:x:notanumber:0::/:/bin/sh\n",
         0, NULL, NULL},
        {"etc/login.defs", 0, NULL,
         "PASS_MAX_DAYS 30\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 14\nPASS_MIN_LEN 6\n"
         "ENCRYPT_METHOD YESCRYPT\nUMASK 077\n",
         0, NULL, NULL},
        {"etc/ssh/sshd_config", 0, NULL,
         "Include /etc/ssh/sshd_config.d/*.conf\n"
         "X11Forwarding yes\n"
         "PermitRootLogin=yes\n"
         "permitemptypasswords yes\n"
         "Protocol 2,1\n"
         "MaxAuthTries 3\n"
         "PasswordAuthentication no\n"
         "Match User admin\n"
         "  HostbasedAuthentication yes\n",
         0, NULL, NULL},
        {"etc/ssh/sshd_config.d/10-x11.conf", 0, NULL, "X11Forwarding no\n", 0, NULL, NULL},
        {"etc/ssh/sshd_config.d/20-env.conf", 0, NULL, "PermitUserEnvironment yes\n", 0, NULL,
         NULL},
    };
    json_t *cfg = json_pack("{s:{s:s}}", "config", "User", "0:0");
    scan_result *res;
    char *got = run_dump(f, RISK_N(f), cfg, &res);
    assert_string_equal(got,
                        "IMGSEC-B001;critical;empty: empty password field in /etc/shadow\n"
                        "IMGSEC-B002;high;root: the password is in the weak-password list\n"
                        "IMGSEC-B004;high;toor: UID 0\n"
                        "IMGSEC-B005;high;old: a password hash in /etc/passwd\n"
                        "IMGSEC-B001;critical;nopw: empty password field in /etc/passwd\n"
                        "IMGSEC-B013;medium;PASS_MIN_LEN 6\n"
                        "IMGSEC-B020;high;PermitRootLogin yes\n"
                        "IMGSEC-B021;critical;PermitEmptyPasswords yes\n"
                        "IMGSEC-B023;high;Protocol 2,1\n"
                        "IMGSEC-B028;medium;PermitUserEnvironment yes\n"
                        "IMGSEC-B030;medium;User 0:0\n");
    free(got);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "baseline: etc/passwd: 1 malformed lines skipped");
    json_decref(cfg);
    scan_result_free(res);
}

/* Bounds: a line over 4096 bytes and a line with a NUL are skipped, the
 * rest of the file still counts; a shadow file over 1 MiB is read up to
 * 1 MiB. */
static void test_baseline_bounds(void **state)
{
    (void)state;
    char *big = malloc(5000 + 64);
    assert_non_null(big);
    memset(big, 'a', 5000);
    strcpy(big + 5000, ":\nempty::1::::::\n");
    const risk_file f[] = {{"etc/shadow", 0, NULL, big, 0, NULL, NULL}};
    scan_result *res;
    char *got = run_dump(f, RISK_N(f), NULL, &res);
    assert_string_equal(got, "IMGSEC-B001;critical;empty: empty password field in /etc/shadow\n");
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "baseline: etc/shadow: 1 lines over 4096 bytes skipped");
    free(got);
    free(big);
    scan_result_free(res);

    void *st = NULL;
    imgsec_err err = {0};
    scan_options opt = {0};
    assert_int_equal(scan_an_baseline.open(&opt, &st, &err), IMGSEC_OK);
    scan_entry e = {.path = "etc/shadow", .mode = S_IFREG | 0640, .size = 5 << 20};
    assert_int_equal(scan_an_baseline.want(st, &e), 1 << 20);
    e.path = "etc/shadow-";
    assert_int_equal(scan_an_baseline.want(st, &e), SCAN_WANT_NONE);
    e.path = "etc/ssh/sshd_config.d/sub/x.conf";
    assert_int_equal(scan_an_baseline.want(st, &e), SCAN_WANT_NONE);
    scan_an_baseline.close(st);
}

/* The weak-password budget: 1024 tries of cheap schemes per scan. Each
 * account below has the dictionary's last word (of 39), found on the 39th
 * try, so 26 accounts are found (1014 tries) and the 27th runs out. A
 * 13-character string that starts with "_" is no descrypt hash (libxcrypt
 * reads it as bsdicrypt with a huge count): not tried at all. */
static void test_baseline_budget(void **state)
{
    (void)state;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    assert_non_null(cd);
    const char *des = crypt_rn("secret", "ab", cd, sizeof *cd);
    assert_non_null(des);
    util_buf b = {0};
    util_buf_printf(&b, "trap:_J1239..a4bc5:1::::::\n");
    for (int i = 0; i < 30; i++)
        util_buf_printf(&b, "user%02d:%s:1::::::\n", i, des);
    free(cd);
    const risk_file f[] = {{"etc/shadow", 0, NULL, b.buf, 0, NULL, NULL}};
    scan_result *res;
    char *got = run_dump(f, RISK_N(f), NULL, &res);
    util_buf want = {0};
    for (int i = 0; i < 26; i++)
        util_buf_printf(&want, "IMGSEC-B002;high;user%02d: the password is in the weak-password list\n", i);
    for (int i = 0; i < 30; i++)
        util_buf_printf(&want, "IMGSEC-B003;medium;user%02d: descrypt (DES) hash\n", i);
    assert_string_equal(got, want.buf);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "baseline: the weak-password budget (1024 tries, 32 of slow schemes) is "
                        "spent, some hashes not tried");
    free(got);
    free(want.buf);
    free(b.buf);
    scan_result_free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_debian12),
        cmocka_unit_test(test_baseline_alpine310),
        cmocka_unit_test(test_baseline_inspec),
        cmocka_unit_test(test_baseline_scalibr_shadow),
        cmocka_unit_test(test_baseline_synthetic),
        cmocka_unit_test(test_baseline_bounds),
        cmocka_unit_test(test_baseline_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
