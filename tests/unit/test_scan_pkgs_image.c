/* test_scan_pkgs_image.c - the package analyzers through the scan driver
 * (scan_run): a real image and a root filesystem directory, so what the
 * driver hands over (paths, layers, the os analyzer's os-release) reaches
 * the records as it does in `imgsec scan`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "imgsec/scan.h"
#include "imgsec/util.h"
#include "unit_tmp.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif

static const char *str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

static const json_t *app_named(const json_t *apps, const char *name)
{
    size_t i;
    json_t *rec;
    json_array_foreach(apps, i, rec)
        if (strcmp(str(rec, "app_name"), name) == 0)
            return rec;
    fail_msg("no app %s", name);
    return NULL;
}

/* trivy's alpine:3.10 docker archive (one layer, diff id
 * sha256:531743b7..., os-release VERSION_ID 3.10.4): its 14 packages as
 * the database in the layer lists them (read with python's tarfile: the
 * golden file beside the image is from an older build, busybox r2 and
 * libcrypto 1.1.1c, and does not match the layer). */
static void test_alpine_image_apps(void **state)
{
    (void)state;
    static const char *const PKGS[][4] = {
        {"musl", "1.1.22-r3", "MIT", "musl"},
        {"busybox", "1.30.1-r3", "GPL-2.0", "busybox"},
        {"alpine-baselayout", "3.1.2-r0", "GPL-2.0-only", "alpine-baselayout"},
        {"alpine-keys", "2.1-r2", "MIT", "alpine-keys"},
        {"libcrypto1.1", "1.1.1d-r2", "OpenSSL", "openssl"},
        {"libssl1.1", "1.1.1d-r2", "OpenSSL", "openssl"},
        {"ca-certificates-cacert", "20190108-r0", "MPL-2.0 GPL-2.0-or-later", "ca-certificates"},
        {"libtls-standalone", "2.9.1-r0", "ISC", "libtls-standalone"},
        {"ssl_client", "1.30.1-r3", "GPL-2.0", "busybox"},
        {"zlib", "1.2.11-r1", "zlib", "zlib"},
        {"apk-tools", "2.10.4-r2", "GPL2", "apk-tools"},
        {"scanelf", "1.2.3-r0", "GPL-2.0", "pax-utils"},
        {"musl-utils", "1.1.22-r3", "MIT BSD GPL2+", "musl"},
        {"libc-utils", "0.7.1-r0", "BSD", "libc-dev"},
    };
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(IMGSEC_FIXTURES_DIR "/scan/images/trivy-alpine-310.docker-archive.tar.gz",
                              SCAN_INPUT_AUTO, &(scan_options){0}, &res, &err),
                     IMGSEC_OK);
    const json_t *apps = scan_result_records(res, REPORT_APPS);
    assert_int_equal(json_array_size(apps), 14);
    for (size_t i = 0; i < 14; i++) {
        const json_t *rec = app_named(apps, PKGS[i][0]);
        char purl[256];
        snprintf(purl, sizeof purl, "pkg:apk/alpine/%s@%s?arch=x86_64&distro=3.10.4&upstream=%s",
                 PKGS[i][0], PKGS[i][1], PKGS[i][3]);
        assert_string_equal(str(rec, "app_version"), PKGS[i][1]);
        assert_string_equal(str(rec, "app_type"), "apk");
        assert_string_equal(str(rec, "app_path"), "lib/apk/db/installed");
        assert_string_equal(str(rec, "layer_digest"),
                            "sha256:531743b7098cb2aaf615641007a129173f63ed86ca32fe7b5a246a1c47286028");
        assert_string_equal(str(rec, "license"), PKGS[i][2]);
        assert_string_equal(str(rec, "purl"), purl);
    }
    scan_result_destroy(res);
}

/* Copies fixture rel (under fixtures/scan) to ROOT/dest, making dirs. */
static void plant(const char *root, const char *rel, const char *dest, mode_t mode)
{
    char src[1024], dst[1024], cmd[4400];
    snprintf(src, sizeof src, "%s/scan/%s", IMGSEC_FIXTURES_DIR, rel);
    snprintf(dst, sizeof dst, "%s/%s", root, dest);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && cp '%s' '%s' && chmod %o '%s'", dst,
             src, dst, (unsigned)mode, dst);
    assert_int_equal(system(cmd), 0);
}

/* A root filesystem directory with one file of each ecosystem's fixtures
 * and an os-release: every package analyzer finds its packages through
 * the driver, with the distro from the os analyzer and no layer. */
static void test_rootfs_every_ecosystem(void **state)
{
    (void)state;
    char root[512];
    assert_int_equal(unit_tmp_dir(root, sizeof root, "pkgroot."), 0);
    plant(root, "pkgdb/apk/alpine-3.18/etc/os-release", "etc/os-release", 0644);
    plant(root, "pkgdb/apk/alpine-3.18/lib/apk/db/installed", "lib/apk/db/installed", 0644);
    plant(root, "pkgdb/dpkg/distroless-status.d/var/lib/dpkg/status.d/libsqlite3-0",
          "var/lib/dpkg/status.d/libsqlite3-0", 0644);
    plant(root, "pkgdb/rpm/rhel8-libuuid-bdb/var/lib/rpm/Packages", "var/lib/rpm/Packages", 0644);
    plant(root, "lang/npm/package-lock_v3.json", "srv/app/package-lock.json", 0644);
    plant(root, "lang/python/site-packages/Flask-2.0.0.dist-info/METADATA",
          "usr/lib/python3/site-packages/Flask-2.0.0.dist-info/METADATA", 0644);
    plant(root, "lang/java/nested.jar", "opt/app/nested.jar", 0644);
    plant(root, "lang/go/test.elf", "usr/local/bin/test", 0755);
    plant(root, "lang/ruby/Gemfile.lock", "srv/app/Gemfile.lock", 0644);
    plant(root, "lang/rust/cargo_v3.lock", "srv/rs/Cargo.lock", 0644);
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(root, SCAN_INPUT_ROOTFS, &(scan_options){0}, &res, &err), IMGSEC_OK);
    const json_t *apps = scan_result_records(res, REPORT_APPS);
    /* 15 apk + 1 deb + 1 rpm + 33 npm + 1 python + 3 jar + 5 go + 7 gem + 9 cargo */
    assert_int_equal(json_array_size(apps), 75);
    size_t counts[9] = {0};
    static const char *const TYPES[9] = {"apk", "deb", "rpm", "npm", "python",
                                         "jar", "go", "gem", "cargo"};
    static const size_t WANT[9] = {15, 1, 1, 33, 1, 3, 5, 7, 9};
    size_t i;
    json_t *rec;
    json_array_foreach(apps, i, rec) {
        assert_null(json_object_get(rec, "layer_digest"));
        for (int t = 0; t < 9; t++)
            counts[t] += strcmp(str(rec, "app_type"), TYPES[t]) == 0;
    }
    for (int t = 0; t < 9; t++)
        if (counts[t] != WANT[t])
            fail_msg("%s: %zu apps, want %zu", TYPES[t], counts[t], WANT[t]);
    assert_string_equal(str(app_named(apps, "musl"), "purl"),
                        "pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64&distro=3.18.0&upstream=musl");
    assert_string_equal(str(app_named(apps, "libsqlite3-0"), "purl"),
                        "pkg:deb/alpine/libsqlite3-0@3.34.1-3?arch=arm64&distro=alpine-3.18.0"
                        "&upstream=sqlite3");
    assert_string_equal(str(app_named(apps, "libuuid"), "purl"),
                        "pkg:rpm/alpine/libuuid@2.32.1-42.el8_8?arch=x86_64&distro=alpine-3.18.0"
                        "&upstream=util-linux-2.32.1-42.el8_8.src.rpm");
    assert_string_equal(str(app_named(apps, "stdlib"), "app_path"), "usr/local/bin/test");
    scan_result_destroy(res);
    assert_int_equal(unit_tmp_dir_remove(root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpine_image_apps),
        cmocka_unit_test(test_rootfs_every_ecosystem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
