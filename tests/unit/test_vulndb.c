/* test_vulndb.c - the OSV database and matching, with the real records of
 * fixtures/scan/osv/:
 *  - EXPECTED-MATCHES.tsv: every row (44; 17 AFFECTED), each record
 *    imported alone into a fresh database and the package matched;
 *  - EXPECTED-OS.md: Debian 9 DLA matches through source packages, the
 *    Alpine per-release rule, Go modules with pseudo-versions;
 *  - boundary cases of every range event, the versions list, withdrawn
 *    records, GIT ranges, unreadable versions (reported, not guessed);
 *  - incremental and atomic import, zip archives, status, file mode. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include <cmocka.h>

#include "imgsec/vulndb.h"
#include "unit_tmp.h"

#ifndef IMGSEC_FIXTURES_DIR
#define IMGSEC_FIXTURES_DIR "../shared/fixtures"
#endif

static const char *fixtures(void)
{
    const char *d = getenv("IMGSEC_FIXTURES_DIR");
    return d && *d ? d : IMGSEC_FIXTURES_DIR;
}

static char g_dir[1024];
static int g_seq;

static vulndb *fresh_db(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/v%d.sqlite", g_dir, ++g_seq);
    vulndb *db = NULL;
    imgsec_err err = {0};
    if (vulndb_open(path, true, &db, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    return db;
}

static void import_paths(vulndb *db, const char *const *rel, size_t n)
{
    char buf[8][1200];
    const char *paths[8];
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "%s/scan/osv/%s", fixtures(), rel[i]);
        paths[i] = buf[i];
    }
    imgsec_err err = {0};
    if (vulndb_import(db, paths, n, NULL, NULL, NULL, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
}

/* Matches one app; returns the vulnerability records (caller decrefs). */
static json_t *match_one(vulndb *db, const char *type, const char *name, const char *version,
                         const char *purl, const char *os_id, const char *os_ver,
                         vulndb_match_stats *st, json_t *warnings)
{
    json_t *apps = json_array();
    json_t *app = json_pack("{s:s,s:s,s:s,s:s}", "app_name", name, "app_version", version,
                            "app_type", type, "app_path", "/test");
    if (purl) json_object_set_new(app, "purl", json_string(purl));
    json_array_append_new(apps, app);
    json_t *out = json_array();
    imgsec_err err = {0};
    vulndb_match_stats local;
    if (vulndb_match_apps(db, apps, os_id, os_ver, out, warnings, st ? st : &local, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    json_decref(apps);
    return out;
}

static const json_t *find_vul(const json_t *out, const char *vul_id)
{
    size_t i;
    const json_t *v;
    json_array_foreach(out, i, v)
        if (strcmp(json_string_value(json_object_get(v, "vul_id")), vul_id) == 0) return v;
    return NULL;
}

static const char *type_of(const char *eco)
{
    if (strcmp(eco, "npm") == 0) return "npm";
    if (strcmp(eco, "PyPI") == 0) return "python";
    if (strcmp(eco, "Maven") == 0) return "jar";
    if (strcmp(eco, "Go") == 0) return "go";
    if (strcmp(eco, "crates.io") == 0) return "cargo";
    fail_msg("no app_type for %s", eco);
    return NULL;
}

/* The vul_id a record gets: its first CVE alias, else its id (read from
 * the record file, so the test does not trust the code under test). */
static void vul_id_of(const char *file, char *out, size_t size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/scan/%s", fixtures(), file);
    json_t *r = json_load_file(path, 0, NULL);
    assert_non_null(r);
    snprintf(out, size, "%s", json_string_value(json_object_get(r, "id")));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(r, "aliases"), i, a)
        if (strncmp(json_string_value(a), "CVE-", 4) == 0) {
            snprintf(out, size, "%s", json_string_value(a));
            break;
        }
    json_decref(r);
}

static void test_expected_matches(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/scan/osv/EXPECTED-MATCHES.tsv", fixtures());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int rows = 0, affected_rows = 0, checked = 0;
    struct { char key[512]; int affected; } groups[64];
    int n_groups = 0;
    /* rows repeat a (package, version, record) once per affected[] entry
     * of the record (GHSA-9vvw, -gxpj, -hrpp: one entry affects, one not):
     * the record affects the package when one of its rows says so. */
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        line[strcspn(line, "\n")] = '\0';
        char *col[8] = {0};
        int nc = 0;
        for (char *p = line; nc < 8;) {
            col[nc++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = '\0';
            p = t + 1;
        }
        assert_true(nc >= 8);
        rows++;
        int aff = strcmp(col[5], "AFFECTED") == 0;
        affected_rows += aff;
        char key[512];
        snprintf(key, sizeof key, "%s|%s|%s|%s", col[1], col[2], col[3], col[7]);
        int g;
        for (g = 0; g < n_groups; g++)
            if (strcmp(groups[g].key, key) == 0) break;
        if (g == n_groups) {
            assert_true(n_groups < 64);
            snprintf(groups[n_groups].key, sizeof groups[n_groups].key, "%s", key);
            groups[n_groups++].affected = 0;
        }
        groups[g].affected |= aff;
    }
    fclose(f);
    assert_int_equal(rows, 44);
    assert_int_equal(affected_rows, 17);
    assert_int_equal(n_groups, 41);
    int groups_affected = 0;
    for (int g = 0; g < n_groups; g++) {
        char *eco = strtok(groups[g].key, "|"), *pkg = strtok(NULL, "|"), *ver = strtok(NULL, "|");
        char *file = strtok(NULL, "|");
        vulndb *db = fresh_db();
        const char *rel = file + strlen("osv/");
        import_paths(db, &rel, 1);
        char want[200];
        vul_id_of(file, want, sizeof want);
        vulndb_match_stats st;
        json_t *warnings = json_array();
        json_t *out = match_one(db, type_of(eco), pkg, ver, NULL, NULL, NULL, &st, warnings);
        int got = find_vul(out, want) != NULL;
        if (got != groups[g].affected)
            fail_msg("%s %s %s (%s): expected %s, got %s", eco, pkg, ver, file,
                     groups[g].affected ? "AFFECTED" : "not affected", got ? "AFFECTED" : "not affected");
        assert_int_equal(st.errors, 0);
        assert_int_equal(json_array_size(warnings), 0);
        groups_affected += got;
        checked++;
        json_decref(out);
        json_decref(warnings);
        vulndb_close(db);
    }
    assert_int_equal(checked, 41);
    assert_int_equal(groups_affected, 17);
}

/* EXPECTED-OS.md: distributions by release, source packages, Go modules. */
static void test_expected_os(void **state)
{
    (void)state;
    vulndb *db = fresh_db();
    static const char *const DIRS[] = {"osv-scanner-offline-db/Debian", "osv-scanner-offline-db/Alpine",
                                       "osv-scanner-offline-db/Go", "records/Go", "records/Debian"};
    import_paths(db, DIRS, 5);
    static const struct {
        const char *type, *name, *version, *purl, *os_id, *os_ver, *vul_id, *fixed;
    } CASES[] = {
        /* Debian 9 (postgres:stretch): DLA records name source packages */
        {"deb", "dpkg", "1.18.25", "pkg:deb/debian/dpkg@1.18.25?arch=amd64&distro=debian-9", NULL, NULL,
         "CVE-2022-1664", "1.18.26"},
        {"deb", "libxml2", "2.9.4+dfsg1-2.2+deb9u6", "pkg:deb/debian/libxml2@2.9.4+dfsg1-2.2+deb9u6?distro=debian-9",
         NULL, NULL, "CVE-2022-29824", "2.9.4+dfsg1-2.2+deb9u7"},
        {"deb", "libssl1.1", "1.1.0l-1~deb9u5",
         "pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5?arch=amd64&upstream=openssl&distro=debian-9", NULL, NULL,
         "CVE-2022-1292", "1.1.0l-1~deb9u6"},
        /* no purl: the image's os-release gives the release */
        {"deb", "tzdata", "2021a-0+deb9u3", NULL, "debian", "9", NULL, "2021a-0+deb9u4"},
        /* Alpine: v3.18 is affected (fixed 1.2.4-r3), v3.17 (fixed 1.2.3-r6) too */
        {"apk", "musl", "1.2.4-r0", "pkg:apk/alpine/musl@1.2.4-r0?distro=3.18.0", NULL, NULL,
         "CVE-2025-26519", "1.2.4-r3"},
        {"apk", "musl-utils", "1.2.4-r0", "pkg:apk/alpine/musl-utils@1.2.4-r0?upstream=musl&distro=3.18.0",
         NULL, NULL, "CVE-2025-26519", "1.2.4-r3"},
        {"apk", "musl", "1.2.3-r4", NULL, "alpine", "3.17.2", "CVE-2025-26519", "1.2.3-r6"},
        /* Go modules, pseudo-versions */
        {"go", "github.com/opencontainers/runc", "v1.0.1", "pkg:golang/github.com/opencontainers/runc@v1.0.1",
         NULL, NULL, NULL, "1.1.0"},
        {"go", "golang.org/x/sys", "v0.0.0-20210817142637-7d9622a276b7",
         "pkg:golang/golang.org/x/sys@v0.0.0-20210817142637-7d9622a276b7", NULL, NULL, NULL,
         "0.0.0-20220412211240-33da011f77ad"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        json_t *out = match_one(db, CASES[i].type, CASES[i].name, CASES[i].version, CASES[i].purl,
                                CASES[i].os_id, CASES[i].os_ver, NULL, NULL);
        if (json_array_size(out) != 1)
            fail_msg("%s %s: %zu matches, expected 1", CASES[i].name, CASES[i].version,
                     json_array_size(out));
        const json_t *v = json_array_get(out, 0);
        if (CASES[i].vul_id) assert_string_equal(json_string_value(json_object_get(v, "vul_id")), CASES[i].vul_id);
        assert_string_equal(json_string_value(json_object_get(v, "fixed_version")), CASES[i].fixed);
        assert_string_equal(json_string_value(json_object_get(v, "app_name")), CASES[i].name);
        assert_string_equal(json_string_value(json_object_get(v, "app_version")), CASES[i].version);
        assert_string_equal(json_string_value(json_object_get(v, "vul_type")),
                            strcmp(CASES[i].type, "go") == 0 ? "app_vul" : "linux_vul");
        json_decref(out);
    }
    /* the Go toolchain (test.elf, Go 1.15.2), spelled as `go version` does:
     * GO-2022-0493 and GO-2022-0969 (EXPECTED-MATCHES.tsv) */
    json_t *go = match_one(db, "go", "stdlib", "go1.15.2", "pkg:golang/stdlib@go1.15.2", NULL, NULL,
                           NULL, NULL);
    assert_int_equal(json_array_size(go), 2);
    json_decref(go);
    /* Alpine 3.10: the record has no v3.10 entry, so musl 1.1.22-r3 is not affected */
    json_t *out = match_one(db, "apk", "musl", "1.1.22-r3", "pkg:apk/alpine/musl@1.1.22-r3?distro=3.10.4",
                            NULL, NULL, NULL, NULL);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    /* fixed versions are not affected; no release known: nothing matched, counted */
    out = match_one(db, "apk", "musl", "1.2.4-r3", NULL, "alpine", "3.18.0", NULL, NULL);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    vulndb_match_stats st;
    out = match_one(db, "deb", "dpkg", "1.18.25", NULL, NULL, NULL, &st, NULL);
    assert_int_equal(json_array_size(out), 0);
    assert_int_equal(st.unmatched, 1);
    assert_int_equal(st.lookups, 0);
    json_decref(out);
    /* the severity from the CVSS vector of the Alpine record: 7.0 high */
    out = match_one(db, "apk", "musl", "1.2.4-r0", NULL, "alpine", "3.18.0", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "severity")), "high");
    assert_true(json_real_value(json_object_get(json_array_get(out, 0), "cvss_score")) == 7.0);
    json_decref(out);
    vulndb_close(db);
}

/* A fresh database holding one npm record for package "p" with the given
 * affected[] body; returns the database. */
static vulndb *db_with(const char *id, const char *affected_json, const char *extra)
{
    vulndb *db = fresh_db();
    char rec[4096];
    snprintf(rec, sizeof rec,
             "{\"id\":\"%s\",\"modified\":\"2024-01-01T00:00:00Z\"%s%s,"
             "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"p\"},%s}]}",
             id, extra ? "," : "", extra ? extra : "", affected_json);
    imgsec_err err = {0};
    if (vulndb_import_buffer(db, rec, strlen(rec), "test", NULL, &err) != IMGSEC_OK)
        fail_msg("%s", err.msg);
    return db;
}

/* "v1=1,v2=0,..." -> each version matched against db: 1 affected, 0 not;
 * with fixed_version when affected (may be NULL: none). */
static void expect(vulndb *db, const char *version, int affected, const char *fixed)
{
    json_t *out = match_one(db, "npm", "p", version, NULL, NULL, NULL, NULL, NULL);
    if ((int)json_array_size(out) != affected)
        fail_msg("p %s: %zu matches, expected %d", version, json_array_size(out), affected);
    if (affected) {
        const json_t *f = json_object_get(json_array_get(out, 0), "fixed_version");
        if (fixed) assert_string_equal(json_string_value(f), fixed);
        else assert_null(f);
    }
    json_decref(out);
}

static void test_range_events(void **state)
{
    (void)state;
    /* introduced/fixed: [1.0.0, 2.0.0) */
    vulndb *db = db_with("T-1", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"1.0.0\"},"
                                "{\"fixed\":\"2.0.0\"}]}]", NULL);
    expect(db, "0.9.9", 0, NULL);
    expect(db, "1.0.0-rc.1", 0, NULL);
    expect(db, "1.0.0", 1, "2.0.0");
    expect(db, "1.9.9", 1, "2.0.0");
    expect(db, "2.0.0-rc.1", 1, "2.0.0");
    expect(db, "2.0.0", 0, NULL);
    expect(db, "2.0.1", 0, NULL);
    vulndb_close(db);
    /* introduced 0 / last_affected: (-inf, 1.5.0] */
    db = db_with("T-2", "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
                        "{\"last_affected\":\"1.5.0\"}]}]", NULL);
    expect(db, "0.0.1", 1, NULL);
    expect(db, "1.5.0", 1, NULL);
    expect(db, "1.5.1", 0, NULL);
    vulndb_close(db);
    /* several intervals in one range, events out of order: [1,2) [3,4) */
    db = db_with("T-3", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"3.0.0\"},"
                        "{\"fixed\":\"2.0.0\"},{\"introduced\":\"1.0.0\"},{\"fixed\":\"4.0.0\"}]}]", NULL);
    expect(db, "1.5.0", 1, "2.0.0");
    expect(db, "2.5.0", 0, NULL);
    expect(db, "3.0.0", 1, "4.0.0");
    expect(db, "4.0.0", 0, NULL);
    vulndb_close(db);
    /* limit: introduced 0 with no fix, limited to < 1.2.0 */
    db = db_with("T-4", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},"
                        "{\"limit\":\"1.2.0\"}]}]", NULL);
    expect(db, "1.1.9", 1, NULL);
    expect(db, "1.2.0", 0, NULL);
    vulndb_close(db);
    /* introduced only: everything from 2.0.0 on */
    db = db_with("T-5", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"2.0.0\"}]}]", NULL);
    expect(db, "1.9.9", 0, NULL);
    expect(db, "99.0.0", 1, NULL);
    vulndb_close(db);
    /* versions list only; GIT ranges ignored */
    db = db_with("T-6", "\"versions\":[\"1.0.1\",\"1.0.3\"],\"ranges\":[{\"type\":\"GIT\",\"repo\":"
                        "\"https://x\",\"events\":[{\"introduced\":\"0\"}]}]", NULL);
    expect(db, "1.0.1", 1, NULL);
    expect(db, "1.0.2", 0, NULL);
    expect(db, "v1.0.3", 1, NULL); /* equal under SemVer */
    vulndb_close(db);
    /* withdrawn records never match */
    db = db_with("T-7", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"}]}]",
                 "\"withdrawn\":\"2024-02-01T00:00:00Z\"");
    expect(db, "1.0.0", 0, NULL);
    vulndb_close(db);
}

/* A version the scheme cannot read is reported, not guessed. */
static void test_unreadable_versions(void **state)
{
    (void)state;
    vulndb *db = db_with("T-8", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},"
                                "{\"fixed\":\"2.0.0\"}]}]", NULL);
    vulndb_match_stats st;
    json_t *w = json_array();
    json_t *out = match_one(db, "npm", "p", "not-a-version", NULL, NULL, NULL, &st, w);
    assert_int_equal(json_array_size(out), 0);
    assert_int_equal(st.errors, 1);
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "p not-a-version: T-8: semver version 'not-a-version': does not start with a number");
    json_decref(out);
    json_decref(w);
    vulndb_close(db);
}

/* A schema 1 file (affected.spec as JSON text) is migrated at open: its
 * entries are rebuilt from the stored records, and match as before. */
static void test_migrate_v1(void **state)
{
    (void)state;
    vulndb *db = db_with("T-9", "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"1.0.0\"},"
                                "{\"fixed\":\"2.0.0\"}]}]", NULL);
    vulndb_close(db);
    char path[1200];
    snprintf(path, sizeof path, "%s/v%d.sqlite", g_dir, g_seq);
    /* turn it into what imgsec wrote with schema 1 */
    sqlite3 *s;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    assert_int_equal(sqlite3_exec(s,
        "DROP TABLE affected;"
        "CREATE TABLE affected(ecosystem TEXT NOT NULL, name TEXT NOT NULL, vuln INTEGER NOT NULL,"
        " entry INTEGER NOT NULL, spec TEXT NOT NULL, PRIMARY KEY (ecosystem, name, vuln, entry)) WITHOUT ROWID;"
        "CREATE INDEX affected_vuln ON affected(vuln);"
        "INSERT INTO affected SELECT 'npm', 'p', rowid, 0, '{\"ranges\":[{\"type\":\"SEMVER\",\"events\":"
        "[{\"introduced\":\"1.0.0\"},{\"fixed\":\"2.0.0\"}]}]}' FROM vuln;"
        "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    imgsec_err err = {0};
    if (vulndb_open(path, false, &db, &err) != IMGSEC_OK) fail_msg("%s", err.msg);
    expect(db, "0.9.9", 0, NULL);
    expect(db, "1.5.0", 1, "2.0.0");
    expect(db, "2.0.0", 0, NULL);
    vulndb_close(db);
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT (SELECT typeof(spec) FROM affected),"
                                           " (SELECT user_version FROM pragma_user_version)", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "blob");
    assert_int_equal(sqlite3_column_int(q, 1), 2);
    sqlite3_finalize(q);
    sqlite3_close(s);
}

/* An entry whose encoding ends early (a damaged file) fails the match
 * with a clear error and appends nothing; it is never read past its end. */
static void test_damaged_entry(void **state)
{
    (void)state;
    vulndb *db = db_with("T-10", "\"versions\":[\"1.0.0\"]", NULL);
    vulndb_close(db);
    char path[1200];
    snprintf(path, sizeof path, "%s/v%d.sqlite", g_dir, g_seq);
    sqlite3 *s;
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    /* one version announced, its string without the NUL that ends it */
    assert_int_equal(sqlite3_exec(s, "UPDATE affected SET spec = x'0100000031'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
    imgsec_err err = {0};
    assert_int_equal(vulndb_open(path, false, &db, &err), IMGSEC_OK);
    json_t *apps = json_pack("[{s:s,s:s,s:s}]", "app_name", "p", "app_version", "1.0.0", "app_type", "npm");
    json_t *out = json_array();
    assert_int_equal(vulndb_match_apps(db, apps, NULL, NULL, out, NULL, NULL, &err), IMGSEC_EINTERNAL);
    assert_string_equal(err.msg, "vulnerability database: a damaged entry");
    assert_int_equal(json_array_size(out), 0);
    json_decref(apps);
    json_decref(out);
    vulndb_close(db);
}

/* Incremental (id + modified), atomic runs, zip archives, status, mode. */
static void test_import(void **state)
{
    (void)state;
    vulndb *db = fresh_db();
    char path[1200];
    snprintf(path, sizeof path, "%s/v%d.sqlite", g_dir, g_seq);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    const char *rec1 = "{\"id\":\"X-1\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":"
                       "{\"ecosystem\":\"npm\",\"name\":\"p\"},\"versions\":[\"1.0.0\"]}]}";
    const char *rec1_old = "{\"id\":\"X-1\",\"modified\":\"2023-12-31T23:59:59.999Z\",\"affected\":[{\"package\":"
                           "{\"ecosystem\":\"npm\",\"name\":\"p\"},\"versions\":[\"9.0.0\"]}]}";
    const char *rec1_new = "{\"id\":\"X-1\",\"modified\":\"2024-01-01T00:00:00.5Z\",\"affected\":[{\"package\":"
                           "{\"ecosystem\":\"npm\",\"name\":\"p\"},\"versions\":[\"2.0.0\"]}]}";
    vulndb_import_stats st;
    imgsec_err err = {0};
    assert_int_equal(vulndb_import_buffer(db, rec1, strlen(rec1), "a", &st, &err), IMGSEC_OK);
    assert_int_equal(st.added, 1);
    assert_int_equal(vulndb_import_buffer(db, rec1_old, strlen(rec1_old), "b", &st, &err), IMGSEC_OK);
    assert_int_equal(st.unchanged, 1);
    expect(db, "1.0.0", 1, NULL);
    expect(db, "9.0.0", 0, NULL);
    assert_int_equal(vulndb_import_buffer(db, rec1_new, strlen(rec1_new), "c", &st, &err), IMGSEC_OK);
    assert_int_equal(st.replaced, 1);
    expect(db, "1.0.0", 0, NULL); /* the old entry is gone */
    expect(db, "2.0.0", 1, NULL);
    /* a run with one bad record stores nothing of it */
    const char *batch = "[{\"id\":\"X-2\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":"
                        "{\"ecosystem\":\"npm\",\"name\":\"p\"},\"versions\":[\"3.0.0\"]}]},"
                        "{\"id\":\"X-3\",\"affected\":[]}]";
    assert_int_equal(vulndb_import_buffer(db, batch, strlen(batch), "batch.json", &st, &err), IMGSEC_EINVAL);
    assert_string_equal(err.msg, "batch.json[1]: X-3: modified missing or not a time");
    expect(db, "3.0.0", 0, NULL);
    assert_int_equal(vulndb_import_buffer(db, "{", 1, "broken.json", &st, &err), IMGSEC_EPARSE);
    /* a zip archive like OSV's all.zip, written with libarchive */
    char zip[1200];
    snprintf(zip, sizeof zip, "%s/all.zip", g_dir);
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    assert_int_equal(archive_write_open_filename(a, zip), ARCHIVE_OK);
    const char *members[] = {"X-4.json", "X-5.json"};
    for (int i = 0; i < 2; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"id\":\"X-%d\",\"modified\":\"2024-03-01T00:00:00Z\",\"affected\":"
                 "[{\"package\":{\"ecosystem\":\"PyPI\",\"name\":\"Flask_Login\"},\"versions\":[\"0.%d\"]}]}", 4 + i, i);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, members[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(body));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, body, strlen(body)), (la_ssize_t)strlen(body));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    const char *paths[] = {zip};
    assert_int_equal(vulndb_import(db, paths, 1, NULL, NULL, &st, &err), IMGSEC_OK);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.added, 2);
    /* PyPI names compare PEP 503-normalised */
    json_t *out = match_one(db, "python", "flask-login", "0.1", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "vul_id")), "X-5");
    json_decref(out);
    json_t *status;
    assert_int_equal(vulndb_status(db, &status, &err), IMGSEC_OK);
    char *s = json_dumps(status, JSON_COMPACT);
    assert_string_equal(s, "{\"ecosystems\":[{\"ecosystem\":\"PyPI\",\"records\":2},{\"ecosystem\":\"npm\","
                           "\"records\":1}],\"sources\":[],\"records\":3,\"withdrawn\":0,"
                           "\"newest_modified\":\"2024-03-01T00:00:00Z\"}");
    free(s);
    json_decref(status);
    vulndb_close(db);
}

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(g_dir, sizeof g_dir, "vulndb");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_matches),
        cmocka_unit_test(test_expected_os),
        cmocka_unit_test(test_range_events),
        cmocka_unit_test(test_unreadable_versions),
        cmocka_unit_test(test_import),
        cmocka_unit_test(test_migrate_v1),
        cmocka_unit_test(test_damaged_entry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
