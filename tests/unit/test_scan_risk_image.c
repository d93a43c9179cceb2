/* test_scan_risk_image.c - the risk analyzers through the real driver
 * (scan_run): an image built here, in both archive formats, with planted
 * risks in two layers; a secret and an EICAR file that the upper layer
 * deletes or replaces are never reported, and each finding names the
 * layer that last wrote its file; the policy judges the apps the dpkg
 * analyzer found.
 */
#include <setjmp.h>
#include <stdbool.h> /* before scan_builder.h, which uses bool */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scan_builder.h"
#include "scan_risk_support.h"
#include "unit_tmp.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static const sb_file L1[] = {
    {"etc/shadow", 'f', "root::19000:0:99999:7:::\nbin:!:19000::::::\n", 0640, 0},
    {"etc/passwd", 'f', "root:x:0:0:root:/root:/bin/sh\napp:x:0:0::/app:/bin/sh\n", 0, 0},
    {"etc/ssh/sshd_config", 'f', "PermitRootLogin yes\nX11Forwarding no\n", 0, 0},
    {"usr/bin/su", 'f', "\x7f" "ELF", 04755, 0},
    {"app/.env", 'f', "TOKEN=ghp_000000000000000000000000000000000001\n", 0, 0},
    {"tmp/eicar.com", 'f', EICAR, 0, 0},
    {"root/.bash_history", 'f', "export AWS_ACCESS_KEY_ID=AKIA0123456789ABCDEF\n", 0600, 0},
};
/* dpkg's status: an installed netcat (the default policy's), an installed
 * curl (allowed), and an nmap only half removed (config-files: no app) */
#define DPKG_STATUS                                                              \
    "Package: netcat-openbsd\nStatus: install ok installed\nArchitecture: amd64\n" \
    "Version: 1.219-1\n\n"                                                       \
    "Package: curl\nStatus: install ok installed\nArchitecture: amd64\n"          \
    "Version: 7.88.1-10+deb12u5\n\n"                                             \
    "Package: nmap\nStatus: deinstall ok config-files\nArchitecture: amd64\n"     \
    "Version: 7.93+dfsg1-1\n"

static const sb_file L2[] = {
    {"var/lib/dpkg/status", 'f', DPKG_STATUS, 0, 0},
    {"app/.env", 'f', "TOKEN=ghp_000000000000000000000000000000000002\n", 0, 0},
    {"tmp/.wh.eicar.com", 'f', "", 0, 0},
    {"srv/upload/test.com", 'f', EICAR, 0, 1000},
};

static void check(const char *path, const sb_layer *layers)
{
    scan_result *res = NULL;
    imgsec_err err = {0};
    if (scan_run(path, SCAN_INPUT_AUTO, NULL, &res, &err) != IMGSEC_OK)
        fail_msg("%s: %s", path, err.msg);
    const char *l1 = layers[0].diff_id, *l2 = layers[1].diff_id;
    char want[2048];

    static const char *const FILES[] = {"file_path", "mode", "owner", "size", NULL};
    char *got = risk_dump(res, REPORT_FILES, FILES);
    /* records in the order the driver offers entries (upper layer first,
     * then each layer in its tar order) */
    assert_string_equal(got, "usr/bin/su;4755;0;4\n"
                             "root/.bash_history;600;0;46\n");
    free(got);

    /* the history's key is found too (the file is no allow-listed path);
     * the .env holds L2's token only, at L2 */
    static const char *const SECRETS[] = {"file_path", "rule_id", "position", "content", NULL};
    got = risk_dump(res, REPORT_SENSITIVE_INFO, SECRETS);
    snprintf(want, sizeof want,
             "app/.env;github-pat;%s;ghp_************************************\n"
             "root/.bash_history;aws-access-key-id;%s;AKIA****************\n",
             l2, l1);
    assert_string_equal(got, want);
    free(got);

    static const char *const CHECKS[] = {"check_rule_id", "current_value", NULL};
    got = risk_dump(res, REPORT_RISK_CONFIG, CHECKS);
    assert_string_equal(got, "IMGSEC-B001;root: empty password field in /etc/shadow\n"
                             "IMGSEC-B004;app: UID 0\n"
                             "IMGSEC-B020;PermitRootLogin yes\n"
                             "IMGSEC-B022;PasswordAuthentication yes (default)\n"
                             "IMGSEC-B025;MaxAuthTries 6 (default)\n"
                             "IMGSEC-B030;User app:app (UID 0 in /etc/passwd)\n");
    free(got);

    static const char *const MALWARE[] = {"file_path", "malware_name", "sha256", NULL};
    got = risk_dump(res, REPORT_MALWARES, MALWARE);
    assert_string_equal(got, "srv/upload/test.com;EICAR_Test_File;"
                             "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n");
    free(got);
    /* the policy analyzer, last, over the apps the dpkg analyzer emitted */
    static const char *const NC[] = {"app_name", "app_version", "app_path", "layer_digest",
                                     "reason", NULL};
    got = risk_dump(res, REPORT_NON_COMPLIANT_APP, NC);
    snprintf(want, sizeof want,
             "netcat-openbsd;1.219-1;var/lib/dpkg/status;%s;netcat: raw network connections "
             "and reverse shells\n",
             l2);
    assert_string_equal(got, want);
    free(got);

    /* the document the driver stores: every record validated in its shape */
    json_t *doc = scan_result_document(res, NULL);
    assert_non_null(doc);
    char *s = json_dumps(doc, 0);
    assert_null(strstr(s, "tmp/eicar.com"));
    assert_null(strstr(s, "000000000000000000000000000000000001"));
    assert_null(strstr(s, "ghp_000000000000000000000000000000000002"));
    free(s);
    json_decref(doc);
    scan_result_destroy(res);
}

static void test_image_both_formats(void **state)
{
    (void)state;
    char dir[512], path[600];
    assert_int_equal(unit_tmp_dir(dir, sizeof dir, "scanrisk_"), 0);
    sb_layer layers[2] = {sb_layer_make(L1, sizeof L1 / sizeof L1[0], SB_GZIP),
                          sb_layer_make(L2, sizeof L2 / sizeof L2[0], SB_PLAIN)};
    /* a User that is no root by name, but UID 0 in etc/passwd */
    char *config = sb_config(layers, 2, "app:app", NULL, NULL);

    snprintf(path, sizeof path, "%s/image.tar", dir);
    sb_docker_archive(path, layers, 2, config, "team/risky:1");
    check(path, layers);
    snprintf(path, sizeof path, "%s/oci", dir);
    sb_oci(path, false, layers, 2, config, SB_GZIP, "team/risky:1");
    check(path, layers);

    free(config);
    for (int i = 0; i < 2; i++)
        free(layers[i].data);
    unit_tmp_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_both_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
