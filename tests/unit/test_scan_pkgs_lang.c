/* test_scan_pkgs_lang.c - the language package analyzers on the real
 * manifests, lock files, archives and binaries of
 * ../shared/fixtures/scan/lang.
 *
 * Expectations: the upstream expected-parse files shipped beside the
 * fixtures (trivy's *_test.go.txt), or the files' own contents where
 * written out below with how they were read.
 */
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "test_scan_pkgs_support.h"

/* ---- npm ----------------------------------------------------------- */

/* The 33 entries of the lock files' tree (same in v1, v2 and v3:
 * python's json module over each file): directory under node_modules and
 * version. debug 2.6.9 and ms 2.0.0 are each locked twice, nested. */
static const char *const NPM_LOCKED[][2] = {
    {"@babel/helper-string-parser", "7.19.4"},
    {"asap", "2.0.6"},
    {"body-parser", "1.18.3"},
    {"body-parser/node_modules/debug", "2.6.9"},
    {"body-parser/node_modules/ms", "2.0.0"},
    {"bytes", "3.0.0"},
    {"content-type", "1.0.5"},
    {"debug", "2.5.2"},
    {"debug/node_modules/ms", "0.7.2"},
    {"depd", "1.1.2"},
    {"ee-first", "1.1.1"},
    {"encodeurl", "1.0.2"},
    {"escape-html", "1.0.3"},
    {"finalhandler", "1.1.1"},
    {"finalhandler/node_modules/debug", "2.6.9"},
    {"finalhandler/node_modules/ms", "2.0.0"},
    {"http-errors", "1.6.3"},
    {"iconv-lite", "0.4.23"},
    {"inherits", "2.0.3"},
    {"media-typer", "0.3.0"},
    {"mime-db", "1.52.0"},
    {"mime-types", "2.1.35"},
    {"ms", "1.0.0"},
    {"on-finished", "2.3.0"},
    {"parseurl", "1.3.3"},
    {"promise", "8.3.0"},
    {"qs", "6.5.2"},
    {"raw-body", "2.3.3"},
    {"safer-buffer", "2.1.2"},
    {"setprototypeof", "1.1.0"},
    {"statuses", "1.4.0"},
    {"type-is", "1.6.18"},
    {"unpipe", "1.0.0"},
};
#define NPM_N_LOCKED (sizeof NPM_LOCKED / sizeof *NPM_LOCKED)

/* How many apps have this name, version and path. */
static size_t count_apps(const scan_result *res, const char *name, const char *version,
                         const char *path)
{
    size_t i, hits = 0;
    json_t *rec;
    json_array_foreach(test_apps(res), i, rec) {
        if (strcmp(test_str(rec, "app_name"), name) == 0 &&
            strcmp(test_str(rec, "app_version"), version) == 0 &&
            strcmp(test_str(rec, "app_path"), path) == 0)
            hits++;
    }
    return hits;
}

/* Each lock version alone: one app per locked entry, with the lock file
 * as its path. */
static void test_npm_lock_versions(void **state)
{
    (void)state;
    static const char *const LOCKS[] = {"lang/npm/package-lock_v1.json",
                                        "lang/npm/package-lock_v2.json",
                                        "lang/npm/package-lock_v3.json"};
    for (size_t v = 0; v < 3; v++) {
        test_file f[] = {TEST_FX(LOCKS[v], "srv/app/package-lock.json")};
        scan_result *res = test_run_analyzer(&scan_an_npm, f, 1, NULL, NULL);
        assert_int_equal(json_array_size(test_apps(res)), NPM_N_LOCKED);
        for (size_t i = 0; i < NPM_N_LOCKED; i++) {
            const char *name = strrchr(NPM_LOCKED[i][0], '/');
            name = name && strncmp(NPM_LOCKED[i][0], "@babel/", 7) != 0 ? name + 1
                                                                        : NPM_LOCKED[i][0];
            size_t want = strcmp(name, "debug") == 0 && strcmp(NPM_LOCKED[i][1], "2.6.9") == 0 ? 2
                          : strcmp(name, "ms") == 0 && strcmp(NPM_LOCKED[i][1], "2.0.0") == 0 ? 2
                                                                                             : 1;
            if (count_apps(res, name, NPM_LOCKED[i][1], "srv/app/package-lock.json") != want)
                fail_msg("v%zu: %s %s", v + 1, name, NPM_LOCKED[i][1]);
        }
        test_expect_app(res, "@babel/helper-string-parser", "7.19.4", "npm",
                        "srv/app/package-lock.json", NULL,
                        "pkg:npm/%40babel/helper-string-parser@7.19.4");
        test_expect_app(res, "qs", "6.5.2", "npm", "srv/app/package-lock.json", NULL,
                        "pkg:npm/qs@6.5.2");
        assert_int_equal(json_array_size(res->warnings), 0);
        scan_result_free(res);
    }
}

/* The lock and the installed package.json files of the same project: the
 * installed promise (8.0.3, MIT) replaces the locked promise 8.3.0 of the
 * same directory; jquery is installed only. The hidden lock
 * node_modules/.package-lock.json is keyed on the project directory too:
 * no double counting. */
static void test_npm_dedupe_with_installed(void **state)
{
    (void)state;
    test_file f[] = {
        TEST_FX("lang/npm/package-lock_v3.json", "srv/app/package-lock.json"),
        TEST_FX("lang/npm/node_modules/promise/package.json",
                "srv/app/node_modules/promise/package.json"),
        TEST_FX("lang/npm/node_modules/jquery/package.json",
                "srv/app/node_modules/jquery/package.json"),
        TEST_FX("lang/npm/package-lock_v2.json", "srv/app/node_modules/.package-lock.json"),
    };
    scan_result *res = test_run_analyzer(&scan_an_npm, f, 4, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), NPM_N_LOCKED + 1);
    test_expect_app(res, "promise", "8.0.3", "npm", "srv/app/node_modules/promise/package.json",
                    "MIT", "pkg:npm/promise@8.0.3");
    test_expect_app(res, "jquery", "3.3.9", "npm", "srv/app/node_modules/jquery/package.json",
                    "MIT", "pkg:npm/jquery@3.3.9");
    assert_int_equal(count_apps(res, "promise", "8.3.0", "srv/app/package-lock.json"), 0);
    assert_int_equal(count_apps(res, "qs", "6.5.2", "srv/app/package-lock.json"), 1);
    scan_result_free(res);
}

static void test_npm_malformed(void **state)
{
    (void)state;
    static const char BAD[] = "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": ";
    static const char NOTOBJ[] = "[1, 2]";
    static const char NOVERSION[] = "{\"name\": \"x\"}";
    static const char LINKED[] = "{\"packages\": {\"\": {\"name\": \"root\", \"version\": \"1\"},"
                                 "\"node_modules/w\": {\"resolved\": \"packages/w\", \"link\": true},"
                                 "\"packages/w\": {\"name\": \"w\", \"version\": \"2\"},"
                                 "\"node_modules/@s/n\": {\"version\": \"3\","
                                 " \"license\": {\"type\": \"ISC\"}}}}";
    test_file f[] = {
        TEST_BYTES("a/package-lock.json", BAD),
        TEST_BYTES("b/package-lock.json", NOTOBJ),
        TEST_BYTES("c/node_modules/x/package.json", NOVERSION),
        TEST_BYTES("d/package-lock.json", LINKED),
    };
    scan_result *res = test_run_analyzer(&scan_an_npm, f, 4, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "@s/n", "3", "npm", "d/package-lock.json", "ISC", "pkg:npm/%40s/n@3");
    assert_int_equal(json_array_size(res->warnings), 2);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 1)),
                        "b/package-lock.json: not a JSON object, skipped");
    scan_result_free(res);
}

/* ---- python -------------------------------------------------------- */

static void test_python_metadata(void **state)
{
    (void)state;
    test_file f[] = {
        TEST_FX("lang/python/site-packages/Flask-2.0.0.dist-info/METADATA",
                "usr/lib/python3/dist-packages/Flask-2.0.0.dist-info/METADATA"),
        TEST_FX("lang/python/site-packages/click-8.0.0.dist-info/METADATA",
                "usr/lib/python3/dist-packages/click-8.0.0.dist-info/METADATA"),
        TEST_FX("lang/python/site-packages/annotated_types-0.7.0.dist-info/METADATA",
                "usr/lib/python3/dist-packages/annotated_types-0.7.0.dist-info/METADATA"),
        TEST_FX("lang/python/setuptools-51.3.3-py3.8.egg-info/PKG-INFO",
                "usr/lib/python3.8/site-packages/setuptools-51.3.3-py3.8.egg-info/PKG-INFO"),
        TEST_FX("lang/python/setuptools-51.3.3-py3.8.egg-info/PKG-INFO",
                "usr/lib/python3.8/site-packages/setuptools-51.3.3-py3.8.egg-info"),
    };
    scan_result *res = test_run_analyzer(&scan_an_python, f, 4, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 4);
    test_expect_app(res, "Flask", "2.0.0", "python",
                    "usr/lib/python3/dist-packages/Flask-2.0.0.dist-info/METADATA", "BSD-3-Clause",
                    "pkg:pypi/flask@2.0.0");
    test_expect_app(res, "click", "8.0.0", "python",
                    "usr/lib/python3/dist-packages/click-8.0.0.dist-info/METADATA", "BSD-3-Clause",
                    "pkg:pypi/click@8.0.0");
    /* no License header: the classifier "License :: OSI Approved :: MIT License" */
    test_expect_app(res, "annotated-types", "0.7.0", "python",
                    "usr/lib/python3/dist-packages/annotated_types-0.7.0.dist-info/METADATA",
                    "MIT License", "pkg:pypi/annotated-types@0.7.0");
    /* "License: UNKNOWN": the classifier */
    test_expect_app(res, "setuptools", "51.3.3", "python",
                    "usr/lib/python3.8/site-packages/setuptools-51.3.3-py3.8.egg-info/PKG-INFO",
                    "MIT License", "pkg:pypi/setuptools@51.3.3");
    scan_result_free(res);
    /* the single-file egg-info */
    res = test_run_analyzer(&scan_an_python, f + 4, 1, NULL, NULL);
    test_expect_app(res, "setuptools", "51.3.3", "python",
                    "usr/lib/python3.8/site-packages/setuptools-51.3.3-py3.8.egg-info",
                    "MIT License", "pkg:pypi/setuptools@51.3.3");
    scan_result_free(res);
}

static void test_python_edge_cases(void **state)
{
    (void)state;
    static const char EXPR[] = "Metadata-Version: 2.4\r\nName: Zope.Interface__x\r\n"
                               "Version: 6.0\r\nLicense: long text\r\n  more\r\n"
                               "License-Expression: ZPL-2.1\r\n\r\nName: Body\r\n";
    static const char NONAME[] = "Metadata-Version: 2.1\n\nThe body.\nName: late\nVersion: 1\n";
    test_file f[] = {
        TEST_BYTES("a/zope.interface-6.0.dist-info/METADATA", EXPR),
        TEST_BYTES("b/x.dist-info/METADATA", NONAME),
    };
    scan_result *res = test_run_analyzer(&scan_an_python, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "Zope.Interface__x", "6.0", "python",
                    "a/zope.interface-6.0.dist-info/METADATA", "ZPL-2.1",
                    "pkg:pypi/zope-interface-x@6.0");
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "b/x.dist-info/METADATA: no Name or Version, skipped");
    scan_result_free(res);
}

/* ---- java ---------------------------------------------------------- */

/* trivy's wantFatjar: the five pom.properties of the shaded jar. */
static void test_java_fat_jar(void **state)
{
    (void)state;
    static const char *const POMS[][3] = {
        {"org.apache.hadoop.thirdparty", "hadoop-shaded-guava", "1.1.0-SNAPSHOT"},
        {"com.google.guava", "guava", "29.0-jre"},
        {"com.google.guava", "failureaccess", "1.0.1"},
        {"com.google.guava", "listenablefuture", "9999.0-empty-to-avoid-conflict-with-guava"},
        {"com.google.j2objc", "j2objc-annotations", "1.3"},
    };
    const char *path = "opt/hadoop/lib/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar";
    test_file f[] = {TEST_FX("lang/java/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", path)};
    scan_result *res = test_run_analyzer(&scan_an_java, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 5);
    for (size_t i = 0; i < 5; i++) {
        char name[256], purl[512];
        snprintf(name, sizeof name, "%s:%s", POMS[i][0], POMS[i][1]);
        snprintf(purl, sizeof purl, "pkg:maven/%s/%s@%s", POMS[i][0], POMS[i][1], POMS[i][2]);
        test_expect_app(res, name, POMS[i][2], "jar", path, NULL, purl);
    }
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
}

/* trivy's wantOffline: a manifest only (Bundle-SymbolicName
 * org.springframework.core, Implementation-Title Spring Framework). */
static void test_java_manifest_only(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("lang/java/spring-core-manifest-only.jar", "app/lib/spring-core.jar")};
    scan_result *res = test_run_analyzer(&scan_an_java, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "org.springframework:Spring Framework", "2.5.6.SEC03", "jar",
                    "app/lib/spring-core.jar", NULL,
                    "pkg:maven/org.springframework/Spring%20Framework@2.5.6.SEC03");
    scan_result_free(res);
}

/* trivy's wantNestedJar: three levels, each named by its path inside. */
static void test_java_nested(void **state)
{
    (void)state;
    test_file f[] = {TEST_FX("lang/java/nested.jar", "app/nested.jar")};
    scan_result *res = test_run_analyzer(&scan_an_java, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 3);
    test_expect_app(res, "test:nested", "0.0.1", "jar", "app/nested.jar", NULL,
                    "pkg:maven/test/nested@0.0.1");
    test_expect_app(res, "test:nested2", "0.0.2", "jar", "app/nested.jar/META-INF/jars/nested2.jar",
                    NULL, "pkg:maven/test/nested2@0.0.2");
    test_expect_app(res, "test:nested3", "0.0.3", "jar",
                    "app/nested.jar/META-INF/jars/nested2.jar/META-INF/jars/nested3.jar", NULL,
                    "pkg:maven/test/nested3@0.0.3");
    scan_result_free(res);
}

/* A zip (written here with libarchive) with neither pom.properties nor a
 * manifest: the file name; not a zip at all: one warning. */
static void test_java_file_name_and_junk(void **state)
{
    (void)state;
    static char zip[4096];
    size_t used = 0;
    struct archive *w = archive_write_new();
    assert_int_equal(archive_write_set_format_zip(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(w, zip, sizeof zip, &used), ARCHIVE_OK);
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, "org/x/A.class");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, 4);
    assert_int_equal(archive_write_header(w, ae), ARCHIVE_OK);
    assert_int_equal(archive_write_data(w, "\xca\xfe\xba\xbe", 4), 4);
    archive_entry_free(ae);
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    static const char JUNK[] = "PK\x03\x04 not really";
    test_file f[] = {
        {.path = "usr/share/java/log4j-1.2-api-2.17.1.jar", .bytes = zip, .len = used},
        TEST_BYTES("usr/share/java/junk.war", JUNK),
    };
    scan_result *res = test_run_analyzer(&scan_an_java, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "log4j-1.2-api", "2.17.1", "jar", "usr/share/java/log4j-1.2-api-2.17.1.jar",
                    NULL, NULL);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "usr/share/java/junk.war: not a zip archive, skipped");
    scan_result_free(res);
}

/* A zip of 10 001 members the analyzer reads (manifests, after one
 * pom.properties): reading stops at the budget of 10 000 with one
 * warning, and what was found is kept. */
static void test_java_budget(void **state)
{
    (void)state;
    size_t cap = 4u << 20, used = 0;
    char *zip = malloc(cap);
    assert_non_null(zip);
    struct archive *w = archive_write_new();
    assert_int_equal(archive_write_set_format_zip(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(w, zip, cap, &used), ARCHIVE_OK);
    static const char POM[] = "groupId=g\nartifactId=a\nversion=1\n";
    static const char MF[] = "Manifest-Version: 1.0\n";
    for (int i = 0; i < 10002; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, i == 0 ? "META-INF/maven/g/a/pom.properties"
                                              : "META-INF/MANIFEST.MF");
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        size_t n = i == 0 ? sizeof POM - 1 : sizeof MF - 1;
        archive_entry_set_size(ae, (la_int64_t)n);
        assert_int_equal(archive_write_header(w, ae), ARCHIVE_OK);
        assert_int_equal(archive_write_data(w, i == 0 ? POM : MF, n), (la_ssize_t)n);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    archive_write_free(w);
    test_file f[] = {{.path = "big.jar", .bytes = zip, .len = used}};
    scan_result *res = test_run_analyzer(&scan_an_java, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 1);
    test_expect_app(res, "g:a", "1", "jar", "big.jar", NULL, "pkg:maven/g/a@1");
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "big.jar: more nested content than 256 MiB or 10000 members read, the "
                        "rest skipped");
    scan_result_free(res);
    free(zip);
}

/* ---- go ------------------------------------------------------------ */

/* trivy's TestParse "ELF": Go 1.15.2, pointer-style build info, main
 * module (devel), three dependencies and stdlib. */
static void test_go_old_buildinfo(void **state)
{
    (void)state;
    test_file f[] = {{.fixture = "lang/go/test.elf", .path = "usr/local/bin/test",
                      .mode = S_IFREG | 0755}};
    scan_result *res = test_run_analyzer(&scan_an_go, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 5);
    const char *p = "usr/local/bin/test";
    test_expect_app(res, "github.com/aquasecurity/test", NULL, "go", p, NULL,
                    "pkg:golang/github.com/aquasecurity/test");
    test_expect_app(res, "github.com/aquasecurity/go-pep440-version",
                    "v0.0.0-20210121094942-22b2f8951d46", "go", p, NULL,
                    "pkg:golang/github.com/aquasecurity/go-pep440-version"
                    "@v0.0.0-20210121094942-22b2f8951d46");
    test_expect_app(res, "github.com/aquasecurity/go-version", "v0.0.0-20210121072130-637058cfe492",
                    "go", p, NULL,
                    "pkg:golang/github.com/aquasecurity/go-version@v0.0.0-20210121072130-637058cfe492");
    test_expect_app(res, "golang.org/x/xerrors", "v0.0.0-20200804184101-5ec99f83aff1", "go", p,
                    NULL, "pkg:golang/golang.org/x/xerrors@v0.0.0-20200804184101-5ec99f83aff1");
    test_expect_app(res, "stdlib", "v1.15.2", "go", p, NULL, "pkg:golang/stdlib@v1.15.2");
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
}

/* Go 1.22.1, inline build info, no dependencies (the -X main.version is
 * a linker symbol, not build info: not read). */
static void test_go_inline_buildinfo(void **state)
{
    (void)state;
    test_file f[] = {{.fixture = "lang/go/main-version-via-ldflags.elf", .path = "app/main",
                      .mode = S_IFREG | 0755}};
    scan_result *res = test_run_analyzer(&scan_an_go, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 2);
    test_expect_app(res, "github.com/aquasecurity/test", NULL, "go", "app/main", NULL,
                    "pkg:golang/github.com/aquasecurity/test");
    test_expect_app(res, "stdlib", "v1.22.1", "go", "app/main", NULL, "pkg:golang/stdlib@v1.22.1");
    scan_result_free(res);
}

/* A copy of a real ELF (the Go 1.22 fixture) with one more section (when
 * section is not NULL), added with objcopy as a linker step would, and
 * converted to another object format (target: objcopy's -O, e.g.
 * "pei-x86-64"; NULL keeps ELF); malloc'd bytes. */
static char *exe_with_section(const char *section, const void *bytes, size_t n, const char *target,
                              size_t *len)
{
    char dir[512], blob[600], in[600], out[600], cmd[2400];
    snprintf(dir, sizeof dir, "%s/elfXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(blob, sizeof blob, "%s/section", dir);
    snprintf(in, sizeof in, "%s/scan/lang/go/main-version-via-ldflags.elf", IMGSEC_FIXTURES_DIR);
    snprintf(out, sizeof out, "%s/out", dir);
    char add[1024] = "", fmt[64] = "";
    if (section) {
        FILE *fp = fopen(blob, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(bytes, 1, n, fp), n);
        assert_int_equal(fclose(fp), 0);
        snprintf(add, sizeof add, "--remove-section %s --add-section %s='%s'", section, section,
                 blob);
    }
    if (target)
        snprintf(fmt, sizeof fmt, "-O %s", target);
    snprintf(cmd, sizeof cmd, "objcopy %s %s '%s' '%s'", fmt, add, in, out);
    assert_int_equal(system(cmd), 0);
    char *bin = util_read_file(out, len);
    assert_non_null(bin);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return bin;
}

/* Go build info written here in the Go >= 1.18 layout (header, inline
 * version and module information between the sentinels Go's linker
 * uses), replacing the fixture's: replacements by a module and by a local
 * directory, a Go version with a GOEXPERIMENT suffix. */
static void test_go_replacements(void **state)
{
    (void)state;
    static const char MODINFO[] =
        "path\texample.com/cmd/app\n"
        "mod\texample.com/app\tv1.2.3\th1:abc=\n"
        "dep\tgolang.org/x/text\tv0.3.7\th1:x=\n"
        "=>\tgithub.com/fork/text\tv0.3.8\th1:y=\n"
        "dep\texample.com/local\tv1.0.0\th1:z=\n"
        "=>\t../local\t\t\n"
        "dep\tgithub.com/BurntSushi/toml\tv1.3.2\th1:w=\n"
        "build\t-compiler=gc\n";
    static const char SENT_A[] = "0w\xaf\x0c\x92t\x08\x02" "A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    static const char SENT_B[] = "\xf9" "2C1\x86\x18 r\x00\x82" "B\x10" "A\x16\xd8\xf2";
    static const char VERSION[] = "go1.21.5 X:boringcrypto";
    unsigned char blob[1024];
    size_t n = 0;
    memcpy(blob, "\xff Go buildinf:", 14);
    blob[14] = 8;
    blob[15] = 2;
    memset(blob + 16, 0, 16);
    n = 32;
    blob[n++] = (unsigned char)(sizeof VERSION - 1);
    memcpy(blob + n, VERSION, sizeof VERSION - 1);
    n += sizeof VERSION - 1;
    size_t mlen = 16 + sizeof MODINFO - 1 + 16;
    blob[n++] = (unsigned char)(0x80 | (mlen & 0x7f));
    blob[n++] = (unsigned char)(mlen >> 7);
    memcpy(blob + n, SENT_A, 16);
    memcpy(blob + n + 16, MODINFO, sizeof MODINFO - 1);
    memcpy(blob + n + 16 + sizeof MODINFO - 1, SENT_B, 16);
    n += mlen;
    size_t len;
    char *bin = exe_with_section(".go.buildinfo", blob, n, NULL, &len);
    test_file f[] = {{.path = "app", .bytes = bin, .len = len, .mode = S_IFREG | 0755}};
    scan_result *res = test_run_analyzer(&scan_an_go, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 5);
    test_expect_app(res, "example.com/app", "v1.2.3", "go", "app", NULL,
                    "pkg:golang/example.com/app@v1.2.3");
    test_expect_app(res, "github.com/fork/text", "v0.3.8", "go", "app", NULL,
                    "pkg:golang/github.com/fork/text@v0.3.8");
    test_expect_app(res, "example.com/local", NULL, "go", "app", NULL,
                    "pkg:golang/example.com/local");
    test_expect_app(res, "github.com/BurntSushi/toml", "v1.3.2", "go", "app", NULL,
                    "pkg:golang/github.com/BurntSushi/toml@v1.3.2");
    test_expect_app(res, "stdlib", "v1.21.5", "go", "app", NULL, "pkg:golang/stdlib@v1.21.5");
    scan_result_free(res);
    free(bin);
}

/* The Go 1.22 fixture converted to PE by objcopy: the build info is found
 * in a writable data section (PE names are 8 bytes: ".go.buildinfo" is
 * not its name there), as in Go's own Windows binaries. */
static void test_go_pe(void **state)
{
    (void)state;
    size_t len;
    char *bin = exe_with_section(NULL, NULL, 0, "pei-x86-64", &len);
    assert_memory_equal(bin, "MZ", 2);
    test_file f[] = {{.path = "app.exe", .bytes = bin, .len = len, .mode = S_IFREG | 0755}};
    scan_result *res = test_run_analyzer(&scan_an_go, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 2);
    test_expect_app(res, "github.com/aquasecurity/test", NULL, "go", "app.exe", NULL,
                    "pkg:golang/github.com/aquasecurity/test");
    test_expect_app(res, "stdlib", "v1.22.1", "go", "app.exe", NULL, "pkg:golang/stdlib@v1.22.1");
    scan_result_free(res);
    free(bin);
}

/* Only executables are asked for; one without build info, or cut short,
 * gives nothing. */
static void test_go_not_go(void **state)
{
    (void)state;
    size_t len;
    char *elf = test_fixture_read("lang/go/test.elf", &len);
    test_file f[] = {
        {.path = "bin/cut", .bytes = elf, .len = 4096, .mode = S_IFREG | 0755},
        TEST_BYTES("bin/script", "#!/bin/sh\necho this is a shell script, not a Go binary\n"),
        {.fixture = "lang/go/test.elf", .path = "data/test.elf", .mode = S_IFREG | 0644},
    };
    f[1].mode = S_IFREG | 0755;
    scan_result *res = test_run_analyzer(&scan_an_go, f, 3, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 0);
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
    free(elf);
}

/* ---- ruby ---------------------------------------------------------- */

static void test_ruby_gemspecs(void **state)
{
    (void)state;
    test_file f[] = {
        TEST_FX("lang/ruby/specifications/normal00.gemspec",
                "usr/lib/ruby/gems/3.0.0/specifications/rake-13.0.3.gemspec"),
        TEST_FX("lang/ruby/specifications/bundler.gemspec",
                "usr/lib/ruby/gems/3.0.0/specifications/default/bundler-2.1.4.gemspec"),
        TEST_FX("lang/ruby/specifications/bundler.gemspec", "src/app/bundler.gemspec"),
    };
    scan_result *res = test_run_analyzer(&scan_an_ruby, f, 3, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 2);
    test_expect_app(res, "rake", "13.0.3", "gem",
                    "usr/lib/ruby/gems/3.0.0/specifications/rake-13.0.3.gemspec", "MIT",
                    "pkg:gem/rake@13.0.3");
    test_expect_app(res, "bundler", "2.1.4", "gem",
                    "usr/lib/ruby/gems/3.0.0/specifications/default/bundler-2.1.4.gemspec", "MIT",
                    "pkg:gem/bundler@2.1.4");
    scan_result_free(res);
}

/* The specs of both lock files (7 gems, bundler 1; 8 gems, bundler 2),
 * not their dependency lines nor DEPENDENCIES. */
static void test_ruby_gemfile_lock(void **state)
{
    (void)state;
    static const char *const V1[][2] = {
        {"coderay", "1.1.2"}, {"concurrent-ruby", "1.1.5"}, {"dotenv", "2.7.2"},
        {"faker", "1.9.3"},   {"i18n", "1.6.0"},            {"method_source", "0.9.2"},
        {"pry", "0.12.2"},
    };
    static const char *const V2[][2] = {
        {"coderay", "1.1.3"},   {"concurrent-ruby", "1.1.10"}, {"dotenv", "2.7.6"},
        {"faker", "2.21.0"},    {"i18n", "1.10.0"},            {"json", "2.6.2"},
        {"method_source", "1.0.0"}, {"pry", "0.14.1"},
    };
    test_file f[] = {TEST_FX("lang/ruby/Gemfile.lock", "app/Gemfile.lock")};
    scan_result *res = test_run_analyzer(&scan_an_ruby, f, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 7);
    for (size_t i = 0; i < 7; i++) {
        char purl[128];
        snprintf(purl, sizeof purl, "pkg:gem/%s@%s", V1[i][0], V1[i][1]);
        test_expect_app(res, V1[i][0], V1[i][1], "gem", "app/Gemfile.lock", NULL, purl);
    }
    scan_result_free(res);
    test_file g[] = {TEST_FX("lang/ruby/Gemfile_bundler2.lock", "app/Gemfile.lock")};
    res = test_run_analyzer(&scan_an_ruby, g, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 8);
    for (size_t i = 0; i < 8; i++) {
        char purl[128];
        snprintf(purl, sizeof purl, "pkg:gem/%s@%s", V2[i][0], V2[i][1]);
        test_expect_app(res, V2[i][0], V2[i][1], "gem", "app/Gemfile.lock", NULL, purl);
    }
    scan_result_free(res);
}

/* A platform gem and a GIT source; a gemspec without a version. */
static void test_ruby_edge_cases(void **state)
{
    (void)state;
    static const char LOCK[] = "GIT\n  remote: https://example.com/x.git\n  revision: abc\n"
                               "  specs:\n    xgem (0.1.0)\n\nGEM\n  specs:\n"
                               "    nokogiri (1.13.6-x86_64-linux)\n      racc (~> 1.4)\n";
    static const char SPEC[] = "Gem::Specification.new do |spec|\n  spec.name = 'noversion'\nend\n";
    test_file f[] = {TEST_BYTES("a/Gemfile.lock", LOCK),
                     TEST_BYTES("gems/specifications/noversion.gemspec", SPEC)};
    scan_result *res = test_run_analyzer(&scan_an_ruby, f, 2, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 2);
    test_expect_app(res, "xgem", "0.1.0", "gem", "a/Gemfile.lock", NULL, "pkg:gem/xgem@0.1.0");
    test_expect_app(res, "nokogiri", "1.13.6", "gem", "a/Gemfile.lock", NULL,
                    "pkg:gem/nokogiri@1.13.6");
    assert_int_equal(json_array_size(res->warnings), 1);
    scan_result_free(res);
}

/* ---- rust ---------------------------------------------------------- */

static void expect_crates(const scan_result *res, const char *const (*crates)[2], size_t n,
                          const char *path)
{
    assert_int_equal(json_array_size(test_apps(res)), n);
    for (size_t i = 0; i < n; i++) {
        char purl[128];
        snprintf(purl, sizeof purl, "pkg:cargo/%s@%s", crates[i][0], crates[i][1]);
        test_expect_app(res, crates[i][0], crates[i][1], "cargo", path, NULL, purl);
    }
}

/* The [[package]] tables (awk over each file), not [metadata]. */
static void test_rust_cargo_lock(void **state)
{
    (void)state;
    static const char *const V3[][2] = {
        {"aho-corasick", "0.7.20"}, {"app", "0.1.0"},           {"libc", "0.2.140"},
        {"memchr", "1.0.2"},        {"memchr", "2.5.0"},        {"regex", "1.7.3"},
        {"regex-syntax", "0.5.6"},  {"regex-syntax", "0.6.29"}, {"ucd-util", "0.1.10"},
    };
    static const char *const OLD[][2] = {
        {"libc", "0.2.54"}, {"normal", "0.1.0"},  {"unsafe-any", "0.4.2"},
        {"typemap", "0.3.3"}, {"idna", "0.1.5"},  {"matches", "0.1.8"},
        {"percent-encoding", "1.0.1"}, {"url", "1.7.2"},
    };
    test_file f[] = {TEST_FX("lang/rust/cargo_v3.lock", "src/app/Cargo.lock")};
    scan_result *res = test_run_analyzer(&scan_an_rust, f, 1, NULL, NULL);
    expect_crates(res, V3, 9, "src/app/Cargo.lock");
    scan_result_free(res);
    test_file g[] = {TEST_FX("lang/rust/cargo_normal.lock", "Cargo.lock")};
    res = test_run_analyzer(&scan_an_rust, g, 1, NULL, NULL);
    expect_crates(res, OLD, 8, "Cargo.lock");
    scan_result_free(res);
}

/* A real ELF (the Go fixture) given a .dep-v0 section with objcopy, as
 * cargo-auditable's linker step adds one: zlib-compressed JSON in the
 * format of cargo-auditable's auditable-serde. */
static void test_rust_auditable_binary(void **state)
{
    (void)state;
    static const char JSON[] =
        "{\"packages\":[{\"name\":\"hello\",\"version\":\"0.1.0\",\"source\":\"local\","
        "\"dependencies\":[1],\"root\":true},{\"name\":\"regex\",\"version\":\"1.7.3\","
        "\"source\":\"crates.io\"},{\"name\":\"cc\",\"version\":\"1.0.79\","
        "\"source\":\"crates.io\",\"kind\":\"build\"}],\"format\":1}";
    unsigned char z[1024];
    uLongf zn = sizeof z;
    assert_int_equal(compress2(z, &zn, (const unsigned char *)JSON, sizeof JSON - 1, 9), Z_OK);
    size_t len;
    char *bin = exe_with_section(".dep-v0", z, zn, NULL, &len);

    test_file f[] = {{.path = "usr/bin/hello", .bytes = bin, .len = len, .mode = S_IFREG | 0755},
                     {.path = "usr/bin/plain", .bytes = bin, .len = 4096, .mode = S_IFREG | 0755}};
    scan_result *res = test_run_analyzer(&scan_an_rust, f, 2, NULL, NULL);
    static const char *const CRATES[][2] = {{"hello", "0.1.0"}, {"regex", "1.7.3"},
                                            {"cc", "1.0.79"}};
    expect_crates(res, CRATES, 3, "usr/bin/hello");
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);

    /* the same section holding bytes that are not zlib: one warning */
    test_file g[] = {{.path = "usr/bin/hello", .bytes = bin, .len = len, .mode = S_IFREG | 0755}};
    char *zat = memmem(bin, len, z, zn);
    assert_non_null(zat);
    zat[0] ^= 0xff;
    res = test_run_analyzer(&scan_an_rust, g, 1, NULL, NULL);
    assert_int_equal(json_array_size(test_apps(res)), 0);
    assert_int_equal(json_array_size(res->warnings), 1);
    assert_string_equal(json_string_value(json_array_get(res->warnings, 0)),
                        "usr/bin/hello: .dep-v0 is not zlib data, skipped");
    scan_result_free(res);
    free(bin);

    /* the same section in a PE executable */
    bin = exe_with_section(".dep-v0", z, zn, "pei-x86-64", &len);
    assert_memory_equal(bin, "MZ", 2);
    test_file h[] = {{.path = "hello.exe", .bytes = bin, .len = len, .mode = S_IFREG | 0755}};
    res = test_run_analyzer(&scan_an_rust, h, 1, NULL, NULL);
    expect_crates(res, CRATES, 3, "hello.exe");
    scan_result_free(res);
    free(bin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_lock_versions),
        cmocka_unit_test(test_npm_dedupe_with_installed),
        cmocka_unit_test(test_npm_malformed),
        cmocka_unit_test(test_python_metadata),
        cmocka_unit_test(test_python_edge_cases),
        cmocka_unit_test(test_java_fat_jar),
        cmocka_unit_test(test_java_manifest_only),
        cmocka_unit_test(test_java_nested),
        cmocka_unit_test(test_java_file_name_and_junk),
        cmocka_unit_test(test_java_budget),
        cmocka_unit_test(test_go_old_buildinfo),
        cmocka_unit_test(test_go_inline_buildinfo),
        cmocka_unit_test(test_go_replacements),
        cmocka_unit_test(test_go_pe),
        cmocka_unit_test(test_go_not_go),
        cmocka_unit_test(test_ruby_gemspecs),
        cmocka_unit_test(test_ruby_gemfile_lock),
        cmocka_unit_test(test_ruby_edge_cases),
        cmocka_unit_test(test_rust_cargo_lock),
        cmocka_unit_test(test_rust_auditable_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
