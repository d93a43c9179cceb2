/* test_scan_risk_files.c - the "files" analyzer (an_files.c).
 *
 * A merged filesystem with one entry per rule of FILE_RULES and the look-
 * alikes that must not match (sticky /tmp, symlinks, setuid without x, a
 * *.pem certificate, a public key): the exact records, in entry order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scan_risk_support.h"

static const char *const FIELDS[] = {"file_path", "file_name", "size", "mode", "owner", NULL};

static void test_files_rules(void **state)
{
    (void)state;
    const risk_file files[] = {
        {"usr/bin/passwd", S_IFREG | 04755, NULL, "elf", 0, "root", NULL},
        {"usr/bin/wall", S_IFREG | 02755, NULL, "elf", 0, NULL, NULL},
        {"usr/bin/nox", S_IFREG | 04644, NULL, "x", 0, "root", NULL},      /* no exec bit */
        {"tmp", S_IFDIR | 01777, NULL, NULL, 0, "root", NULL},             /* sticky */
        {"srv/drop", S_IFDIR | 0777, NULL, NULL, 33, NULL, NULL},          /* not sticky */
        {"etc/app.conf", S_IFREG | 0666, NULL, "k=v\n", 1000, "app", NULL},
        {"etc/alternatives/x", S_IFLNK | 0777, NULL, NULL, 0, "root", NULL},
        {"root/.ssh/id_rsa", S_IFREG | 0600, NULL, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0,
         "root", NULL},
        {"root/.ssh/id_rsa.pub", S_IFREG | 0644, NULL, "ssh-rsa AAAA\n", 0, "root", NULL},
        {"etc/ssh/ssh_host_ed25519_key", S_IFREG | 0600, NULL, "k", 0, "root", NULL},
        {"etc/ssl/private/site.key", S_IFREG | 0640, NULL,
         "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n", 0, "root",
         NULL},
        {"etc/ssl/certs/ca.pem", S_IFREG | 0644, NULL,
         "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0, "root", NULL},
        {"opt/app/keystore.jks", S_IFREG | 0644, NULL, "\xfe\xed", 0, "root", NULL},
        {"root/.netrc", S_IFREG | 0600, NULL, "machine x login y password z\n", 0, "root", NULL},
        {"home/u/.pgpass", S_IFREG | 0600, NULL, "h:5432:*:u:p\n", 1000, NULL, NULL},
        {"home/u/.git-credentials", S_IFREG | 0600, NULL, "https://u:p@h\n", 1000, "u", NULL},
        {"root/.aws/credentials", S_IFREG | 0600, NULL, "[default]\n", 0, "root", NULL},
        {"root/.aws/config", S_IFREG | 0600, NULL, "[default]\n", 0, "root", NULL},
        {"root/.docker/config.json", S_IFREG | 0600, NULL, "{}", 0, "root", NULL},
        {"root/.kube/config", S_IFREG | 0600, NULL, "apiVersion: v1\n", 0, "root", NULL},
        {"root/.bash_history", S_IFREG | 0600, NULL, "ls\n", 0, "root", NULL},
        {"root/.python_history", S_IFREG | 0600, NULL, "1+1\n", 0, "root", NULL},
        {"root/bash_history", S_IFREG | 0600, NULL, "ls\n", 0, "root", NULL}, /* no dot */
    };
    scan_result *res = risk_run(&scan_an_files, NULL, files, RISK_N(files), NULL);
    char *got = risk_dump(res, REPORT_FILES, FIELDS);
    assert_string_equal(got,
                        "usr/bin/passwd;passwd;3;4755;root\n"
                        "usr/bin/wall;wall;3;2755;0\n"
                        "srv/drop;drop;0;777;33\n"
                        "etc/app.conf;app.conf;4;666;app\n"
                        "root/.ssh/id_rsa;id_rsa;36;600;root\n"
                        "etc/ssh/ssh_host_ed25519_key;ssh_host_ed25519_key;1;600;root\n"
                        "etc/ssl/private/site.key;site.key;67;640;root\n"
                        "opt/app/keystore.jks;keystore.jks;2;644;root\n"
                        "root/.netrc;.netrc;29;600;root\n"
                        "home/u/.pgpass;.pgpass;13;600;1000\n"
                        "home/u/.git-credentials;.git-credentials;14;600;u\n"
                        "root/.aws/credentials;credentials;10;600;root\n"
                        "root/.docker/config.json;config.json;2;600;root\n"
                        "root/.kube/config;config;15;600;root\n"
                        "root/.bash_history;.bash_history;3;600;root\n"
                        "root/.python_history;.python_history;4;600;root\n");
    free(got);
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
}

/* The real alpine:3.10 image has no file of interest among its account
 * files; a setuid busybox would be one. */
static void test_files_alpine_accounts(void **state)
{
    (void)state;
    const risk_file files[] = {
        {"etc/passwd", 0, "baseline/alpine-3.10/etc/passwd", NULL, 0, "root", NULL},
        {"etc/shadow", S_IFREG | 0640, "baseline/alpine-3.10/etc/shadow", NULL, 0, "root", NULL},
        {"bin/busybox", S_IFREG | 04755, NULL, "\x7f" "ELF", 0, "root", NULL},
    };
    scan_result *res = risk_run(&scan_an_files, NULL, files, RISK_N(files), NULL);
    char *got = risk_dump(res, REPORT_FILES, FIELDS);
    assert_string_equal(got, "bin/busybox;busybox;4;4755;root\n");
    free(got);
    scan_result_free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_rules),
        cmocka_unit_test(test_files_alpine_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
