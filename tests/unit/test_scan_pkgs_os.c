/* test_scan_pkgs_os.c - the OS package analyzers (dpkg, apk, rpm) on the
 * real package databases of ../shared/fixtures/scan/pkgdb.
 *
 * Expectations come from the reference tools' own parses shipped with the
 * fixtures (dpkg-query, rpm -qa: expected-*.tsv, read here row by row) or,
 * for apk, the database's stanzas listed by awk (written out below).
 */
#include "test_scan_pkgs_support.h"

/* ---- dpkg ---------------------------------------------------------- */

/* Every "ii" row of dpkg-query's output is one app with the same name,
 * version, arch and source; the "rc" row (git) is not an app. */
static void test_dpkg_ubuntu_matches_dpkg_query(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("pkgdb/dpkg/ubuntu-18.04/var/lib/dpkg/status", "var/lib/dpkg/status")};
    scan_result *res = test_run_analyzer(&scan_an_dpkg, f, 1, "ubuntu", "18.04");
    size_t len;
    char *tsv = test_fixture_read("pkgdb/dpkg/ubuntu-18.04/expected-dpkg-query.tsv", &len);
    size_t rows = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char name[128], ver[128], src[128], srcver[128], arch[32], status[8];
        assert_int_equal(sscanf(line, "%127[^\t]\t%127[^\t]\t%127[^\t]\t%127[^\t]\t%31[^\t]\t%7s",
                                name, ver, src, srcver, arch, status), 6);
        if (strcmp(status, "ii") != 0) {
            assert_string_equal(name, "git");
            json_t *rec;
            size_t i;
            json_array_foreach(test_apps(res), i, rec)
                assert_string_not_equal(test_str(rec, "app_name"), "git");
            continue;
        }
        rows++;
        char purl[2048], en[256], ev[256], eup[512] = "";
        test_purl_enc(en, sizeof en, name, false);
        test_purl_enc(ev, sizeof ev, ver, true);
        if (strcmp(srcver, ver) != 0) {
            char es[128], esv[256];
            test_purl_enc(es, sizeof es, src, false);
            test_purl_enc(esv, sizeof esv, srcver, false);
            snprintf(eup, sizeof eup, "&upstream=%s%%40%s", es, esv);
        } else if (strcmp(src, name) != 0) {
            test_purl_enc(eup + 10, sizeof eup - 10, src, false);
            memcpy(eup, "&upstream=", 10);
        }
        snprintf(purl, sizeof purl, "pkg:deb/ubuntu/%s@%s?arch=%s&distro=ubuntu-18.04%s", en, ev,
                 arch, eup);
        test_expect_app(res, name, ver, "deb", "var/lib/dpkg/status", NULL, purl);
    }
    free(tsv);
    assert_int_equal(rows, 90);
    assert_int_equal(json_array_size(test_apps(res)), 90);
    assert_int_equal(json_array_size(res->warnings), 0);
    /* Spelled out once, so a mistake shared by the loop above and the
     * analyzer would still show: */
    test_expect_app(res, "fdisk", "2.31.1-0.4ubuntu3.1", "deb", "var/lib/dpkg/status", NULL,
                    "pkg:deb/ubuntu/fdisk@2.31.1-0.4ubuntu3.1?arch=amd64&distro=ubuntu-18.04"
                    "&upstream=util-linux");
    scan_result_free(res);
}

/* A distroless status.d file has no Status; its .md5sums companion is not
 * read. Without os-release there is no distro qualifier. */
static void test_dpkg_distroless_status_d(void **state)
{
    (void)state;
    test_file f[] = {
        TEST_FX("pkgdb/dpkg/distroless-status.d/var/lib/dpkg/status.d/libsqlite3-0", "var/lib/dpkg/status.d/libsqlite3-0"),
        TEST_FX("pkgdb/dpkg/distroless-status.d/var/lib/dpkg/status.d/libsqlite3-0.md5sums", "var/lib/dpkg/status.d/libsqlite3-0.md5sums"),
    };
    scan_result *res = test_run_analyzer(&scan_an_dpkg, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "libsqlite3-0", "3.34.1-3", "deb", "var/lib/dpkg/status.d/libsqlite3-0",
                    NULL, "pkg:deb/debian/libsqlite3-0@3.34.1-3?arch=arm64&upstream=sqlite3");
    scan_result_free(res);

    res = test_run_analyzer(&scan_an_dpkg, f, 1, "debian", "11");
    test_expect_app(res, "libsqlite3-0", "3.34.1-3", "deb", "var/lib/dpkg/status.d/libsqlite3-0",
                    NULL,
                    "pkg:deb/debian/libsqlite3-0@3.34.1-3?arch=arm64&distro=debian-11"
                    "&upstream=sqlite3");
    scan_result_free(res);
}

/* Epochs and '+' in versions, a source with its own version, a stanza
 * without Version, a half-installed package, CRLF line ends, a file cut
 * mid-stanza: what the fixtures lack. */
static void test_dpkg_edge_cases(void **state)
{
    (void)state;
    static const char STATUS[] =
        "Package: git\r\nStatus: install ok installed\r\nArchitecture: amd64\r\n"
        "Version: 1:2.39.2-1.1+deb12u1\r\nDescription: x\r\n y\r\n\r\n"
        "Package: libbinutils\nStatus: install ok installed\nSource: binutils (2.40-2)\n"
        "Version: 2.40-2+b1\nArchitecture: amd64\n\n"
        "Package: nover\nStatus: install ok installed\n\n"
        "Package: half\nStatus: install ok half-configured\nVersion: 1\n\n"
        "Package: cut\nStatus: install ok installed\nVersion: 3.0";
    test_file f[] = {TEST_BYTES("var/lib/dpkg/status", STATUS)};
    scan_result *res = test_run_analyzer(&scan_an_dpkg, f, 1, "debian", "12");
    assert_int_equal(json_array_size(test_apps(res)), 3);
    test_expect_app(res, "git", "1:2.39.2-1.1+deb12u1", "deb", "var/lib/dpkg/status", NULL,
                    "pkg:deb/debian/git@1:2.39.2-1.1%2Bdeb12u1?arch=amd64&distro=debian-12");
    test_expect_app(res, "libbinutils", "2.40-2+b1", "deb", "var/lib/dpkg/status", NULL,
                    "pkg:deb/debian/libbinutils@2.40-2%2Bb1?arch=amd64&distro=debian-12"
                    "&upstream=binutils%402.40-2");
    test_expect_app(res, "cut", "3.0", "deb", "var/lib/dpkg/status", NULL,
                    "pkg:deb/debian/cut@3.0?distro=debian-12");
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "var/lib/dpkg/status: package nover has no Version, skipped");
    scan_result_free(res);
}

/* ---- apk ----------------------------------------------------------- */

/* The 15 stanzas of the Alpine 3.18 database (awk over the file):
 * name, version, license, origin; all x86_64. */
static const char *const ALPINE_318[][4] = {
    {"alpine-baselayout", "3.4.3-r1", "GPL-2.0-only", "alpine-baselayout"},
    {"alpine-baselayout-data", "3.4.3-r1", "GPL-2.0-only", "alpine-baselayout"},
    {"alpine-keys", "2.4-r1", "MIT", "alpine-keys"},
    {"apk-tools", "2.14.0-r0", "GPL-2.0-only", "apk-tools"},
    {"busybox", "1.36.0-r9", "GPL-2.0-only", "busybox"},
    {"busybox-binsh", "1.36.0-r9", "GPL-2.0-only", "busybox"},
    {"ca-certificates-bundle", "20230506-r0", "MPL-2.0 AND MIT", "ca-certificates"},
    {"libc-utils", "0.7.2-r5", "BSD-2-Clause AND BSD-3-Clause", "libc-dev"},
    {"libcrypto3", "3.1.0-r4", "Apache-2.0", "openssl"},
    {"libssl3", "3.1.0-r4", "Apache-2.0", "openssl"},
    {"musl", "1.2.4-r0", "MIT", "musl"},
    {"musl-utils", "1.2.4-r0", "MIT AND BSD-2-Clause AND GPL-2.0-or-later", "musl"},
    {"scanelf", "1.3.7-r1", "GPL-2.0-only", "pax-utils"},
    {"ssl_client", "1.36.0-r9", "GPL-2.0-only", "busybox"},
    {"zlib", "1.2.13-r1", "Zlib", "zlib"},
};

static void test_apk_alpine_318(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("pkgdb/apk/alpine-3.18/lib/apk/db/installed", "lib/apk/db/installed")};
    scan_result *res = test_run_analyzer(&scan_an_apk, f, 1, "alpine", "3.18.0");
    assert_int_equal(json_array_size(test_apps(res)), 15);
    for (size_t i = 0; i < sizeof ALPINE_318 / sizeof *ALPINE_318; i++) {
        char purl[512];
        snprintf(purl, sizeof purl, "pkg:apk/alpine/%s@%s?arch=x86_64&distro=3.18.0&upstream=%s",
                 ALPINE_318[i][0], ALPINE_318[i][1], ALPINE_318[i][3]);
        test_expect_app(res, ALPINE_318[i][0], ALPINE_318[i][1], "apk", "lib/apk/db/installed",
                        ALPINE_318[i][2], purl);
    }
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
}

/* The stanza reader dpkg and apk share: every field and stanza end of a
 * text with CRLF lines, a deb822 continuation, a line without ':', a
 * stanza of such lines only, blank lines in a row and no final newline. */
static void test_stanza_reader(void **state)
{
    (void)state;
    static const char text[] = "Package: a\r\nDescription: x\r\n more: text\r\nP:b\r\n"
                               "\r\n\r\nno colon here\n\nK :  v  \nempty:\nlast: 1";
    an_stanzas r;
    an_stanzas_init(&r, (const unsigned char *)text, sizeof text - 1);
    util_buf b = {0};
    an_span k, v;
    int t;
    while ((t = an_stanza_next(&r, &k, &v)) != AN_STANZAS_DONE) {
        if (t == AN_STANZA_END)
            util_buf_printf(&b, "|");
        else
            util_buf_printf(&b, "[%.*s=%.*s]", (int)k.n, k.v, (int)v.n, v.v);
    }
    assert_string_equal(b.buf, "[Package=a][Description=x][P=b]||[K =v][empty=][last=1]|");
    free(b.buf);
    assert_int_equal(an_stanza_next(&r, &k, &v), AN_STANZAS_DONE);
    an_stanzas_init(&r, NULL, 0);
    assert_int_equal(an_stanza_next(&r, &k, &v), AN_STANZAS_DONE);
}

/* trivy's database with a stanza that has no version: 15 packages and one
 * warning naming it; the name with '_pre' and the license with
 * parentheses come through as written. */
static void test_apk_invalid_stanza(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("pkgdb/apk/trivy-with-invalid/lib/apk/db/installed", "lib/apk/db/installed")};
    scan_result *res = test_run_analyzer(&scan_an_apk, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 15);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "lib/apk/db/installed: a package without a version (V:), skipped");
    test_expect_app(res, "test", "2.9.11_pre20061021-r2", "apk", "lib/apk/db/installed",
                    "Public-Domain",
                    "pkg:apk/alpine/test@2.9.11_pre20061021-r2?arch=x86_64&upstream=test-parent");
    test_expect_app(res, "ada-libs", "2.7.4-r0", "apk", "lib/apk/db/installed",
                    "( Apache-2.0 OR MIT ) AND MPL-2.0",
                    "pkg:apk/alpine/ada-libs@2.7.4-r0?arch=x86_64&upstream=ada");
    scan_result_free(res);
}

/* ---- rpm ----------------------------------------------------------- */

/* Every row of `rpm -qa` on the database (expected-rpm-qa.tsv: NAME
 * EPOCHNUM VERSION RELEASE ARCH SOURCERPM LICENSE) is one app, with the
 * epoch in the version when it is set. Returns the rows checked. */
static size_t expect_rpm_qa(const scan_result *res, const char *tsv_rel, const char *path,
                            const char *ns, const char *distro)
{
    size_t len, rows = 0;
    char *tsv = test_fixture_read(tsv_rel, &len);
    char *save = NULL;
    for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char name[128], epoch[16], ver[128], rel[128], arch[32], srpm[256], lic[256];
        assert_int_equal(sscanf(line, "%127[^\t]\t%15[^\t]\t%127[^\t]\t%127[^\t]\t%31[^\t]\t"
                                      "%255[^\t]\t%255[^\n]",
                                name, epoch, ver, rel, arch, srpm, lic), 7);
        rows++;
        char full[300], vr[260], purl[2048], en[256], evr[512], esrpm[512], eq[64] = "";
        snprintf(vr, sizeof vr, "%s-%s", ver, rel);
        if (strcmp(epoch, "0") != 0) {
            snprintf(full, sizeof full, "%s:%s", epoch, vr);
            snprintf(eq, sizeof eq, "&epoch=%s", epoch);
        } else {
            snprintf(full, sizeof full, "%s", vr);
        }
        test_purl_enc(en, sizeof en, name, false);
        test_purl_enc(evr, sizeof evr, vr, true);
        test_purl_enc(esrpm, sizeof esrpm, srpm, false);
        snprintf(purl, sizeof purl, "pkg:rpm/%s/%s@%s?arch=%s%s%s%s&upstream=%s", ns, en, evr, arch,
                 distro ? "&distro=" : "", distro ? distro : "", eq, esrpm);
        test_expect_app(res, name, full, "rpm", path, lic, purl);
    }
    free(tsv);
    return rows;
}

/* CBL-Mariner 2.0's sqlite database: 129 packages, three with epoch 1. */
static void test_rpm_sqlite_mariner(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("pkgdb/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite",
                             "var/lib/rpm/rpmdb.sqlite")};
    scan_result *res = test_run_analyzer(&scan_an_rpm, f, 1, "mariner", "2.0");
    assert_int_equal(expect_rpm_qa(res, "pkgdb/rpm/cbl-mariner-2.0/expected-rpm-qa.tsv",
                                   "var/lib/rpm/rpmdb.sqlite", "mariner", "mariner-2.0"), 129);
    assert_int_equal(json_array_size(test_apps(res)), 129);
    assert_int_equal(json_array_size(res->warnings), 0);
    test_expect_app(res, "curl", "7.76.0-6.cm2", "rpm", "var/lib/rpm/rpmdb.sqlite", "MIT",
                    "pkg:rpm/mariner/curl@7.76.0-6.cm2?arch=x86_64&distro=mariner-2.0"
                    "&upstream=curl-7.76.0-6.cm2.src.rpm");
    test_expect_app(res, "ca-certificates-base", "1:2.0.0-1.cm2", "rpm",
                    "var/lib/rpm/rpmdb.sqlite", "MPLv2.0",
                    "pkg:rpm/mariner/ca-certificates-base@2.0.0-1.cm2?arch=noarch"
                    "&distro=mariner-2.0&epoch=1&upstream=ca-certificates-2.0.0-1.cm2.src.rpm");
    scan_result_free(res);
}

/* Berkeley DB databases, one package each; without os-release the
 * namespace comes from the vendor (Red Hat, Inc. -> rhel) or is left out
 * (dive has no vendor). The same database under both paths is one app. */
static void test_rpm_bdb(void **state)
{
    (void)state;
    test_file f[] = {
        TEST_FX("pkgdb/rpm/rhel8-libuuid-bdb/var/lib/rpm/Packages", "var/lib/rpm/Packages"),
        TEST_FX("pkgdb/rpm/rhel8-libuuid-bdb/var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages"),
    };
    scan_result *res = test_run_analyzer(&scan_an_rpm, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    assert_int_equal(expect_rpm_qa(res, "pkgdb/rpm/rhel8-libuuid-bdb/expected-rpm-qa.tsv",
                                   "var/lib/rpm/Packages", "rhel", NULL), 1);
    scan_result_free(res);

    test_file g[] = {TEST_FX("pkgdb/rpm/centos-dive-bdb/var/lib/rpm/Packages",
                             "var/lib/rpm/Packages")};
    res = test_run_analyzer(&scan_an_rpm, g, 1, "centos", "8");
    assert_int_equal(json_array_size(test_apps(res)), 1);
    assert_int_equal(expect_rpm_qa(res, "pkgdb/rpm/centos-dive-bdb/expected-rpm-qa.tsv",
                                   "var/lib/rpm/Packages", "centos", "centos-8"), 1);
    scan_result_free(res);
}

/* Bytes that are no database: one warning, no apps, and nothing left in
 * $TMPDIR. */
static void test_rpm_not_a_database(void **state)
{
    (void)state;
    static const char JUNK[] = "SQLite format 3\0this is not a database at all";
    test_file f[] = {TEST_BYTES("var/lib/rpm/rpmdb.sqlite", JUNK),
                     TEST_BYTES("var/lib/rpm/Packages", JUNK)};
    scan_result *res = test_run_analyzer(&scan_an_rpm, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 0);
    assert_int_equal(json_array_size(res->warnings), 2);
    const char *w = json_string_value(json_array_get(res->warnings, 0));
    assert_true(strncmp(w, "var/lib/rpm/rpmdb.sqlite: ", 26) == 0);
    scan_result_free(res);

    /* a real database cut short: SQLite's quick_check refuses it before
     * librpm sees it (librpm leaks its handle on a failed open; the
     * sanitizer pass saw that leak before the check) */
    size_t len;
    char *db = test_fixture_read("pkgdb/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite", &len);
    test_file g[] = {{.path = "var/lib/rpm/rpmdb.sqlite", .bytes = db, .len = 100000}};
    res = test_run_analyzer(&scan_an_rpm, g, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 0);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "var/lib/rpm/rpmdb.sqlite: is not an intact SQLite database, skipped");
    scan_result_free(res);
    free(db);

    const char *tmp = getenv("TMPDIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -d '%s'/imgsec-rpmdb.* >/dev/null 2>&1", tmp && *tmp ? tmp : "/tmp");
    assert_int_not_equal(system(cmd), 0);
}

/* want() takes exactly the database paths. */
static void test_os_want(void **state)
{
    (void)state;
    static const struct {
        const scan_analyzer *a;
        const char *path;
        mode_t mode;
        int64_t want;
    } CASES[] = {
        {&scan_an_dpkg, "var/lib/dpkg/status", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_dpkg, "var/lib/dpkg/status", S_IFLNK | 0777, SCAN_WANT_NONE},
        {&scan_an_dpkg, "var/lib/dpkg/status-old", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_dpkg, "x/var/lib/dpkg/status", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_dpkg, "var/lib/dpkg/status.d/base", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_dpkg, "var/lib/dpkg/status.d/base.md5sums", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_dpkg, "var/lib/dpkg/status.d/a/b", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_apk, "lib/apk/db/installed", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_apk, "lib/apk/db/lock", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_rpm, "var/lib/rpm/rpmdb.sqlite", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_rpm, "var/lib/rpm/Packages", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_rpm, "usr/lib/sysimage/rpm/Packages.db", S_IFREG | 0644, SCAN_WANT_ALL},
        {&scan_an_rpm, "var/lib/rpm/rpmdb.sqlite-shm", S_IFREG | 0644, SCAN_WANT_NONE},
        {&scan_an_rpm, "var/lib/rpm/Packages", S_IFLNK | 0777, SCAN_WANT_NONE},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        scan_entry e = {.path = CASES[i].path, .layer = "", .mode = CASES[i].mode, .size = 10};
        void *st = NULL;
        imgsec_err err = {0};
        scan_options opt = {0};
        assert_int_equal(CASES[i].a->open(&opt, &st, &err), IMGSEC_OK);
        if (CASES[i].a->want(st, &e) != CASES[i].want)
            fail_msg("%s want(%s)", CASES[i].a->name, CASES[i].path);
        CASES[i].a->close(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpkg_ubuntu_matches_dpkg_query),
        cmocka_unit_test(test_dpkg_distroless_status_d),
        cmocka_unit_test(test_dpkg_edge_cases),
        cmocka_unit_test(test_apk_alpine_318),
        cmocka_unit_test(test_apk_invalid_stanza),
        cmocka_unit_test(test_stanza_reader),
        cmocka_unit_test(test_rpm_sqlite_mariner),
        cmocka_unit_test(test_rpm_bdb),
        cmocka_unit_test(test_rpm_not_a_database),
        cmocka_unit_test(test_os_want),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
