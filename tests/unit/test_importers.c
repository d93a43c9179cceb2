/* test_importers.c - scanner reports -> ingest documents (importers.h).
 *
 * Every real fixture of ../shared/fixtures/scanners is imported from a
 * copy in a temp dir, and the resulting document is checked for the exact
 * number of records per report type, worked out by hand from the file
 * (the reasoning is written next to each expectation), plus the identity
 * fields the report gives. Synthetic reports cover what the fixtures do
 * not hold (Syft, Trivy Packages/Licenses/history, overrides), and every
 * refusal checks its message names the source and the position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "imgsec/importers.h"
#include "imgsec/store.h"
#include "imgsec/util.h"
#include "store/store_int.h"
#include "unit_tmp.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif
#ifndef IMGSEC_REPO_FIXTURES_DIR
#error "IMGSEC_REPO_FIXTURES_DIR must point at tests/fixtures"
#endif
/* A fixture name starting with this is under tests/fixtures, not shared. */
#define REPO_PREFIX "repo:"

enum { V = REPORT_VULNERABILITY, RC = REPORT_RISK_CONFIG, MW = REPORT_MALWARES, AP = REPORT_APPS,
       FI = REPORT_FILES, SI = REPORT_SENSITIVE_INFO, NC = REPORT_NON_COMPLIANT_APP,
       BC = REPORT_BUILD_COMMAND_RISKS };

static char TMP[512];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmp_dir(TMP, sizeof TMP, "imptest.");
}

static int group_teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(TMP);
}

/* Copies fixture rel (e.g. "trivy/alpine-310.json") into TMP, never
 * touching the original, and returns the copy's bytes (malloc'd). */
static char *fixture(const char *rel, size_t *len, char *copy_path, size_t size)
{
    char src[512];
    if (strncmp(rel, REPO_PREFIX, strlen(REPO_PREFIX)) == 0)
        snprintf(src, sizeof src, "%s/%s", IMGSEC_REPO_FIXTURES_DIR, rel + strlen(REPO_PREFIX));
    else
        snprintf(src, sizeof src, "%s/scanners/%s", IMGSEC_FIXTURES_DIR, rel);
    char *buf = util_read_file(src, len);
    if (!buf)
        fail_msg("cannot read fixture %s", src);
    const char *base = strrchr(rel, '/');
    snprintf(copy_path, size, "%s/%s", TMP, base ? base + 1 : rel);
    FILE *f = fopen(copy_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, *len, f), *len);
    assert_int_equal(fclose(f), 0);
    free(buf);
    buf = util_read_file(copy_path, len);
    assert_non_null(buf);
    return buf;
}

static const import_options NO_OVERRIDE = {.now_ms = 1700000000000};

/* Imports a fixture (auto-detected) and checks the format found and the
 * record count of every type. */
static void expect_counts(const char *rel, import_format want_fmt, const int64_t want[8],
                          int64_t want_linux, int64_t want_app, doc_list *out)
{
    char path[600];
    size_t len;
    char *buf = fixture(rel, &len, path, sizeof path);
    imgsec_err err = {0};
    import_format used = IMPORT_AUTO;
    int rc = import_buffer(buf, len, IMPORT_AUTO, false, &NO_OVERRIDE, path, out, &used, &err);
    free(buf);
    if (rc)
        fail_msg("%s: %s", rel, err.msg);
    assert_int_equal(used, want_fmt);
    assert_int_equal(out->n, 1);
    const image_summary *s = &out->items[0].summary;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (s->counts[t] != want[t])
            fail_msg("%s: %s records: want %lld, got %lld", rel, report_type_name((report_type)t),
                     (long long)want[t], (long long)s->counts[t]);
    assert_int_equal(s->vul_counts[VUL_TYPE_LINUX], want_linux);
    assert_int_equal(s->vul_counts[VUL_TYPE_APP], want_app);
    assert_int_equal(s->status, SCAN_STATUS_SUCCESS);
    assert_int_equal(s->type, IMAGE_TYPE_LOCAL);
}

static const doc_val *rec_value(const doc_list *l, int t, size_t i, const char *key)
{
    const record_kind *k = record_kind_get((report_type)t);
    const doc_records *r = &l->items[0].records[t];
    if (i >= r->n)
        return NULL;
    for (size_t f = 0; f < k->nfields; f++)
        if (strcmp(k->fields[f].name, key) == 0)
            return &DOC_RECORD(r, (report_type)t, i)[f];
    return NULL;
}

static const char *rec_field(const doc_list *l, int t, size_t i, const char *key)
{
    const doc_val *v = rec_value(l, t, i, key);
    return v && v->kind == DOC_V_TEXT ? v->u.s : NULL;
}

/* ---- the real fixtures ---- */

static void test_trivy_alpine(void **state)
{
    (void)state;
    /* Results[0] is Class os-pkgs (alpine 3.10.2) with 4 Vulnerabilities:
     * CVE-2019-1549 and CVE-2019-1551, each for libcrypto1.1 and libssl1.1
     * -> 4 linux_vul, all MEDIUM. No Packages key (no --list-all-pkgs) ->
     * 0 apps. ImageConfig.history has 2 entries, "ADD file:... in /" and
     * "CMD [\"/bin/sh\"]": neither breaks a history rule -> 0 build risks. */
    static const int64_t want[8] = {[V] = 4};
    doc_list l;
    expect_counts("trivy/alpine-310.json", IMPORT_TRIVY, want, 4, 0, &l);
    const image_summary *s = &l.items[0].summary;
    /* RepoTags[0] "ghcr.io/aquasecurity/trivy-test-images:alpine-310". */
    assert_string_equal(s->image_name, "ghcr.io/aquasecurity/trivy-test-images");
    assert_string_equal(s->image_version, "alpine-310");
    assert_string_equal(s->image_id,
                        "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4");
    assert_int_equal(s->image_size, 5843968);
    /* ImageConfig.created 2019-08-20T20:19:55.211423266Z, CreatedAt 2021-08-25T12:20:30Z. */
    assert_int_equal(s->latest_update_time, 1566332395211LL);
    assert_int_equal(s->latest_scan_time, 1629894030000LL);
    assert_int_equal(s->severity_level, SEVERITY_LEVEL_MEDIUM);
    assert_string_equal(rec_field(&l, V, 0, "vul_id"), "CVE-2019-1549");
    assert_string_equal(rec_field(&l, V, 0, "severity"), "medium");
    assert_string_equal(rec_field(&l, V, 0, "app_name"), "libcrypto1.1");
    assert_string_equal(rec_field(&l, V, 0, "fixed_version"), "1.1.1d-r0");
    doc_list_free(&l);
}

static void test_trivy_debian(void **state)
{
    (void)state;
    /* Results[0] os-pkgs (debian 10.1): CVE-2019-18276 bash LOW and
     * CVE-2019-18224 libidn2-0 CRITICAL -> 2 linux_vul. History "ADD
     * file:... in /" and "CMD [\"bash\"]" -> no build risk. */
    static const int64_t want[8] = {[V] = 2};
    doc_list l;
    expect_counts("trivy/debian-buster.json", IMPORT_TRIVY, want, 2, 0, &l);
    assert_string_equal(l.items[0].summary.image_version, "debian-buster");
    assert_int_equal(l.items[0].summary.severity_level, SEVERITY_LEVEL_HIGH); /* critical */
    assert_string_equal(rec_field(&l, V, 1, "severity"), "critical");
    doc_list_free(&l);
}

static void test_trivy_secrets(void **state)
{
    (void)state;
    /* Results[0] Target deploy.sh, Class secret, 2 Secrets:
     * aws-access-key-id CRITICAL and mysecret HIGH -> 2 sensitive-info. */
    static const int64_t want[8] = {[SI] = 2};
    doc_list l;
    expect_counts("trivy/secrets.json", IMPORT_TRIVY, want, 0, 0, &l);
    /* ArtifactName "testdata/fixtures/repo/secrets" (no tag). */
    assert_string_equal(l.items[0].summary.image_name, "testdata/fixtures/repo/secrets");
    assert_string_equal(l.items[0].summary.image_version, "");
    assert_string_equal(rec_field(&l, SI, 0, "rule_id"), "aws-access-key-id");
    assert_string_equal(rec_field(&l, SI, 0, "file_path"), "deploy.sh");
    assert_string_equal(rec_field(&l, SI, 0, "severity"), "critical");
    /* Match "export AWS_ACCESS_KEY_ID=********************" (45 chars):
     * 4 kept, 41 stars. "echo ********" (13 chars): 4 kept, 9 stars. */
    assert_string_equal(rec_field(&l, SI, 0, "content"),
                        "expo*****************************************");
    assert_string_equal(rec_field(&l, SI, 1, "content"), "echo*********");
    doc_list_free(&l);
}

static void test_trivy_dockerfile(void **state)
{
    (void)state;
    /* Results[0] Type dockerfile, 1 Misconfiguration DS-0002 HIGH Status
     * FAIL -> 1 build-command-risk (its Message as the instruction: the
     * report has no CauseMetadata.Code). */
    static const int64_t want[8] = {[BC] = 1};
    doc_list l;
    expect_counts("trivy/dockerfile.json", IMPORT_TRIVY, want, 0, 0, &l);
    assert_string_equal(rec_field(&l, BC, 0, "rule_id"), "DS-0002");
    assert_string_equal(rec_field(&l, BC, 0, "risk_name"), "Image user should not be 'root'");
    assert_string_equal(rec_field(&l, BC, 0, "risk_level"), "high");
    assert_string_equal(rec_field(&l, BC, 0, "build_instruction"),
                        "Specify at least 1 USER command in Dockerfile with non-root user as argument");
    assert_int_equal(l.items[0].summary.n_builds, 1);
    doc_list_free(&l);
}

static void test_trivy_cyclonedx(void **state)
{
    (void)state;
    /* CycloneDX 1.7 made by Trivy: 13 components, 1 "application"
     * (package-lock.json, no purl: not a package) + 12 "library" with
     * pkg:npm purls -> 12 apps. vulnerabilities[0] CVE-2019-11358 affects
     * one ref, pkg:npm/jquery@3.3.9 -> 1 app_vul; ratings are 10 medium
     * and 1 low -> the most severe, medium. */
    static const int64_t want[8] = {[V] = 1, [AP] = 12};
    doc_list l;
    expect_counts("trivy/npm-cyclonedx.json", IMPORT_CYCLONEDX, want, 0, 1, &l);
    assert_string_equal(l.items[0].summary.image_name, "testdata/fixtures/repo/npm");
    assert_string_equal(rec_field(&l, V, 0, "app_name"), "jquery");
    assert_string_equal(rec_field(&l, V, 0, "severity"), "medium");
    assert_string_equal(rec_field(&l, AP, 0, "app_name"), "asap");
    assert_string_equal(rec_field(&l, AP, 0, "app_type"), "npm");
    assert_string_equal(rec_field(&l, AP, 1, "license"), "MIT"); /* jquery */
    doc_list_free(&l);
}

static void test_trivy_spdx(void **state)
{
    (void)state;
    /* SPDX-2.3, 3 packages: openssl and pip (pkg:conda purls) and
     * SPDXRef-Filesystem-2e2426fd0f2580ef, which SPDXRef-DOCUMENT
     * DESCRIBES (the subject, not a package) -> 2 apps. */
    static const int64_t want[8] = {[AP] = 2};
    doc_list l;
    expect_counts("trivy/conda-spdx.json", IMPORT_SPDX, want, 0, 0, &l);
    assert_string_equal(l.items[0].summary.image_name, "testdata/fixtures/repo/conda");
    assert_string_equal(rec_field(&l, AP, 0, "app_name"), "openssl");
    assert_string_equal(rec_field(&l, AP, 0, "app_type"), "conda");
    assert_string_equal(rec_field(&l, AP, 0, "license"), "OpenSSL");
    /* creationInfo.created 2021-08-25T12:20:30Z */
    assert_int_equal(l.items[0].summary.latest_scan_time, 1629894030000LL);
    doc_list_free(&l);
}

static void test_grype_image(void **state)
{
    (void)state;
    /* 2 matches: CVE-1999-0001 Low on package-1 (type rpm) and
     * CVE-1999-0002 Critical on package-2 (type deb) -> 2 linux_vul. Grype
     * lists only matched packages: no apps. */
    static const int64_t want[8] = {[V] = 2};
    doc_list l;
    expect_counts("grype/image.json", IMPORT_GRYPE, want, 2, 0, &l);
    const image_summary *s = &l.items[0].summary;
    assert_string_equal(s->image_name, "user-input"); /* source.target.userInput */
    assert_int_equal(s->image_size, 65);
    assert_string_equal(l.items[0].summary.image_digest,
                        "sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5");
    /* descriptor.timestamp is "": the caller's now. */
    assert_int_equal(s->latest_scan_time, 1700000000000LL);
    assert_string_equal(rec_field(&l, V, 0, "fixed_version"), "1.2.1, 2.1.3, 3.4.0");
    assert_string_equal(rec_field(&l, V, 1, "severity"), "critical");
    doc_list_free(&l);
}

static void test_cyclonedx_juice_shop(void **state)
{
    (void)state;
    /* CycloneDX 1.4 from cyclonedx-npm: 1115 top-level components, all
     * "library" with pkg:npm purls, none nested -> 1115 apps; no
     * vulnerabilities key -> 0. metadata.component juice-shop 14.1.1. */
    static const int64_t want[8] = {[AP] = 1115};
    doc_list l;
    expect_counts("cyclonedx/juice-shop-1.4.json", IMPORT_CYCLONEDX, want, 0, 0, &l);
    assert_string_equal(l.items[0].summary.image_name, "juice-shop");
    assert_string_equal(l.items[0].summary.image_version, "14.1.1");
    doc_list_free(&l);
}

/* CycloneDX 1.2 and 1.3 from cyclonedx-php-composer (the CycloneDX
 * project's bom-examples, tests/fixtures/cyclonedx/PROVENANCE): 62
 * top-level components, all "library" with pkg:composer purls, none
 * nested -> 62 apps; 1.2/1.3 have no vulnerabilities. metadata.component
 * cyclonedx-php-composer-demo dev-master. */
static void test_cyclonedx_laravel_old_specs(void **state)
{
    (void)state;
    static const int64_t want[8] = {[AP] = 62};
    const char *files[] = {REPO_PREFIX "cyclonedx/laravel-7.12.0.bom.1.2.json",
                           REPO_PREFIX "cyclonedx/laravel-7.12.0.bom.1.3.json"};
    for (size_t i = 0; i < 2; i++) {
        doc_list l;
        expect_counts(files[i], IMPORT_CYCLONEDX, want, 0, 0, &l);
        assert_string_equal(l.items[0].summary.image_name, "cyclonedx-php-composer-demo");
        assert_string_equal(l.items[0].summary.image_version, "dev-master");
        assert_string_equal(rec_field(&l, AP, 0, "app_name"), "stack-cors");
        assert_string_equal(rec_field(&l, AP, 0, "app_type"), "composer");
        assert_string_equal(rec_field(&l, AP, 0, "license"), "MIT");
        doc_list_free(&l);
    }
}

/* ---- refusals ---- */

static void expect_refused(const char *buf, size_t len, import_format f, int code,
                           const char *needle1, const char *needle2)
{
    doc_list l;
    imgsec_err err = {0};
    int rc = import_buffer(buf, len, f, false, &NO_OVERRIDE, "in.json", &l, NULL, &err);
    if (rc == IMGSEC_OK)
        doc_list_free(&l);
    if (rc != code || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("want %s with \"%s\" / \"%s\", got %s \"%s\"", err_code_name(code), needle1,
                 needle2 ? needle2 : "", err_code_name(rc), err.msg);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
}

static void test_truncated_refused(void **state)
{
    (void)state;
    const char *files[] = {"trivy/alpine-310.json", "grype/image.json", "trivy/conda-spdx.json",
                           "cyclonedx/juice-shop-1.4.json"};
    const import_format fmts[] = {IMPORT_TRIVY, IMPORT_GRYPE, IMPORT_SPDX, IMPORT_CYCLONEDX};
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        size_t len;
        char *buf = fixture(files[i], &len, path, sizeof path);
        /* Half the file: invalid JSON, position given; auto and explicit. */
        expect_refused(buf, len / 2, fmts[i], IMGSEC_EPARSE, "in.json", "line ");
        expect_refused(buf, len / 2, IMPORT_AUTO, IMGSEC_EPARSE, "in.json: invalid JSON at line",
                       "column");
        free(buf);
    }
}

static void test_wrong_format_refused(void **state)
{
    (void)state;
    char path[600];
    size_t len;
    char *buf = fixture("grype/image.json", &len, path, sizeof path);
    expect_refused(buf, len, IMPORT_TRIVY, IMGSEC_EINVAL, "in.json: not a trivy report",
                   "SchemaVersion");
    expect_refused(buf, len, IMPORT_SPDX, IMGSEC_EINVAL, "not a SPDX document", "spdxVersion");
    free(buf);
    buf = fixture("trivy/alpine-310.json", &len, path, sizeof path);
    expect_refused(buf, len, IMPORT_CYCLONEDX, IMGSEC_EINVAL, "not a CycloneDX BOM", "bomFormat");
    expect_refused(buf, len, IMPORT_GRYPE, IMGSEC_EINVAL, "not a grype report", "matches");
    expect_refused(buf, len, IMPORT_SYFT, IMGSEC_EINVAL, "not a syft report", "artifacts");
    free(buf);
    static const char unknown[] = "{\"hello\": [1, 2]}";
    expect_refused(unknown, strlen(unknown), IMPORT_AUTO, IMGSEC_EINVAL, "in.json: unknown format",
                   NULL);
}

/* A Trivy report with one bad element deep inside is refused naming it. */
static void test_bad_element_position(void **state)
{
    (void)state;
    static const char sev[] =
        "{\"SchemaVersion\":2,\"ArtifactName\":\"a\",\"Results\":[{\"Class\":\"os-pkgs\"},"
        "{\"Class\":\"lang-pkgs\",\"Vulnerabilities\":[{\"VulnerabilityID\":\"CVE-1\","
        "\"Severity\":\"LOW\"},{\"VulnerabilityID\":\"CVE-2\",\"Severity\":\"SEVERE\"}]}]}";
    expect_refused(sev, strlen(sev), IMPORT_TRIVY, IMGSEC_EINVAL,
                   "in.json: trivy report: Results[1].Vulnerabilities[1].Severity must be one of",
                   NULL);
    static const char noid[] = "{\"SchemaVersion\":2,\"ArtifactName\":\"a\",\"Results\":[{"
                               "\"Vulnerabilities\":[{\"Severity\":\"LOW\"}]}]}";
    expect_refused(noid, strlen(noid), IMPORT_TRIVY, IMGSEC_EINVAL,
                   "Results[0].Vulnerabilities[0].VulnerabilityID is required", NULL);
    static const char schema[] = "{\"SchemaVersion\":1,\"ArtifactName\":\"a\",\"Results\":[]}";
    expect_refused(schema, strlen(schema), IMPORT_TRIVY, IMGSEC_EINVAL, "SchemaVersion must be 2",
                   NULL);
    static const char results[] = "{\"SchemaVersion\":2,\"Results\":{}}";
    expect_refused(results, strlen(results), IMPORT_AUTO, IMGSEC_EINVAL, "Results must be an array",
                   NULL);
    static const char grype[] = "{\"matches\":[{\"vulnerability\":{\"id\":\"X\",\"severity\":"
                                "\"Low\"},\"artifact\":{\"name\":7}}],"
                                "\"source\":{\"type\":\"image\",\"target\":{\"userInput\":\"x:1\"}}}";
    expect_refused(grype, strlen(grype), IMPORT_AUTO, IMGSEC_EINVAL,
                   "grype report: matches[0].artifact.name must be a string", NULL);
    static const char cdx[] = "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.1\"}";
    expect_refused(cdx, strlen(cdx), IMPORT_AUTO, IMGSEC_EINVAL,
                   "specVersion must be 1.2, 1.3, 1.4, 1.5, 1.6 or 1.7 (got 1.1)", NULL);
    static const char ref[] = "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"metadata\":"
                              "{\"component\":{\"name\":\"x\"}},\"vulnerabilities\":[{\"id\":\"C\","
                              "\"affects\":[{\"ref\":\"nope\"}]}]}";
    expect_refused(ref, strlen(ref), IMPORT_AUTO, IMGSEC_EINVAL,
                   "vulnerabilities[0].affects[0].ref names no component", NULL);
    /* No image name anywhere and none given. */
    static const char anon[] = "{\"matches\":[]}";
    expect_refused(anon, strlen(anon), IMPORT_GRYPE, IMGSEC_EINVAL, "names no image", NULL);
}

/* ---- what the fixtures do not hold ---- */

static doc_list convert_ok(const char *text, import_format f, const import_options *opt)
{
    doc_list l;
    imgsec_err err = {0};
    if (import_buffer(text, strlen(text), f, false, opt, "t.json", &l, NULL, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(l.n, 1);
    return l;
}

static void test_syft(void **state)
{
    (void)state;
    /* 3 artifacts -> 3 apps; licenses in both Syft spellings. */
    static const char syft[] =
        "{\"artifacts\":["
        "{\"name\":\"musl\",\"version\":\"1.2.4\",\"type\":\"apk\",\"licenses\":[{\"value\":\"MIT\","
        "\"spdxExpression\":\"MIT\"}],\"locations\":[{\"path\":\"/lib/apk/db/installed\","
        "\"layerID\":\"sha256:aaa\"}]},"
        "{\"name\":\"requests\",\"version\":\"2.31.0\",\"type\":\"python\",\"licenses\":[\"Apache-2.0\"]},"
        "{\"name\":\"left-pad\",\"type\":\"npm\"}],"
        "\"source\":{\"type\":\"image\",\"target\":{\"userInput\":\"registry:5000/shop/web:1.4.2\","
        "\"imageID\":\"sha256:bbb\",\"imageSize\":1234,\"repoDigests\":[\"registry:5000/shop/web@sha256:ccc\"]}},"
        "\"distro\":{\"name\":\"alpine\"},\"schema\":{\"version\":\"16.0.0\"}}";
    doc_list l = convert_ok(syft, IMPORT_AUTO, &NO_OVERRIDE);
    const image_summary *s = &l.items[0].summary;
    assert_int_equal(s->counts[AP], 3);
    assert_int_equal(s->counts[V], 0);
    assert_string_equal(s->image_name, "registry:5000/shop/web"); /* port is not a tag */
    assert_string_equal(s->image_version, "1.4.2");
    assert_string_equal(l.items[0].summary.image_digest, "sha256:ccc");
    assert_int_equal(s->image_size, 1234);
    assert_string_equal(rec_field(&l, AP, 0, "license"), "MIT");
    assert_string_equal(rec_field(&l, AP, 0, "layer_digest"), "sha256:aaa");
    assert_string_equal(rec_field(&l, AP, 1, "license"), "Apache-2.0");
    assert_string_equal(rec_field(&l, AP, 2, "app_type"), "npm");
    doc_list_free(&l);
}

static const char SYNTH_TRIVY[] =
    "{\"SchemaVersion\":2,\"ArtifactName\":\"web:1\",\"CreatedAt\":\"2024-01-02T03:04:05+01:00\","
    "\"Metadata\":{\"ImageConfig\":{\"history\":["
    "{\"created_by\":\"/bin/sh -c curl -fsSL https://x.example/i.sh | sh\"},"
    "{\"created_by\":\"/bin/sh -c chmod 777 /app\"},"
    "{\"created_by\":\"/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2\"},"
    "{\"created_by\":\"/bin/sh -c #(nop)  USER root\"},"
    "{\"created_by\":\"/bin/sh -c curl -fsSLO https://x.example/a.tgz && sha256sum a.tgz | shasum -c\"},"
    "{\"created_by\":\"/bin/sh -c apk add musl\"}]}},"
    "\"Results\":["
    "{\"Target\":\"os\",\"Class\":\"os-pkgs\",\"Type\":\"debian\",\"Packages\":["
    "{\"Name\":\"bash\",\"Version\":\"5.2\",\"Licenses\":[\"GPL-3.0\"],\"Layer\":{\"Digest\":\"sha256:l1\"}},"
    "{\"Name\":\"zlib1g\",\"Version\":\"1.2\"}],"
    "\"Vulnerabilities\":[{\"VulnerabilityID\":\"CVE-9\",\"Severity\":\"UNKNOWN\",\"PkgName\":\"bash\"}]},"
    "{\"Target\":\"app/requirements.txt\",\"Class\":\"lang-pkgs\",\"Type\":\"pip\",\"Packages\":["
    "{\"Name\":\"flask\",\"Version\":\"2.0\",\"FilePath\":\"app/requirements.txt\"}],"
    "\"Vulnerabilities\":[{\"VulnerabilityID\":\"GHSA-1\",\"Severity\":\"HIGH\","
    "\"CVSS\":{\"ghsa\":{\"V3Score\":7.5},\"nvd\":{\"V3Score\":9.8}}}]},"
    "{\"Target\":\"OS Packages\",\"Class\":\"license\",\"Licenses\":["
    "{\"Severity\":\"HIGH\",\"Category\":\"restricted\",\"PkgName\":\"bash\",\"Name\":\"GPL-3.0\"},"
    "{\"Severity\":\"LOW\",\"Category\":\"notice\",\"PkgName\":\"zlib1g\",\"Name\":\"MIT\"}]},"
    "{\"Target\":\"k8s/pod.yaml\",\"Class\":\"config\",\"Type\":\"kubernetes\",\"Misconfigurations\":["
    "{\"ID\":\"KSV001\",\"Title\":\"Process can elevate its own privileges\",\"Severity\":\"MEDIUM\",\"Status\":\"FAIL\"},"
    "{\"ID\":\"KSV002\",\"Title\":\"ok\",\"Severity\":\"LOW\",\"Status\":\"PASS\"}]}]}";

static void test_trivy_packages_licenses_history(void **state)
{
    (void)state;
    /* Packages: 2 OS + 1 lang -> 3 apps. Vulnerabilities: 1 per class.
     * Licenses: GPL-3.0 HIGH (restricted) -> 1 non-compliant app; MIT LOW
     * (notice) -> none. Misconfigurations of a Kubernetes file: 1 FAIL ->
     * 1 risk-config, 1 PASS -> none. History: curl|sh (H001), chmod 777
     * (H002), ENV DB_PASSWORD=... (H005, redacted), USER root (H006), a
     * download piped into `shasum` (not a shell: none) and a plain RUN ->
     * 4 build risks. */
    doc_list l = convert_ok(SYNTH_TRIVY, IMPORT_AUTO, &NO_OVERRIDE);
    const image_summary *s = &l.items[0].summary;
    assert_int_equal(s->counts[AP], 3);
    assert_int_equal(s->counts[V], 2);
    assert_int_equal(s->vul_counts[VUL_TYPE_LINUX], 1);
    assert_int_equal(s->vul_counts[VUL_TYPE_APP], 1);
    assert_int_equal(s->counts[NC], 1);
    assert_int_equal(s->counts[RC], 1);
    assert_int_equal(s->counts[BC], 4);
    assert_int_equal(s->counts[SI] + s->counts[MW] + s->counts[FI], 0);
    assert_string_equal(s->image_name, "web");
    assert_string_equal(s->image_version, "1");
    assert_int_equal(s->latest_scan_time, 1704161045000LL); /* 02:04:05Z */
    assert_string_equal(rec_field(&l, AP, 0, "app_type"), "deb");
    assert_string_equal(rec_field(&l, AP, 0, "license"), "GPL-3.0");
    assert_string_equal(rec_field(&l, AP, 0, "layer_digest"), "sha256:l1");
    assert_string_equal(rec_field(&l, AP, 2, "app_type"), "pip");
    assert_string_equal(rec_field(&l, V, 0, "severity"), "unknown");
    assert_true(rec_value(&l, V, 1, "cvss_score")->kind == DOC_V_REAL &&
                rec_value(&l, V, 1, "cvss_score")->u.d == 9.8); /* nvd */
    assert_string_equal(rec_field(&l, NC, 0, "reason"), "license GPL-3.0 (restricted, high)");
    assert_string_equal(rec_field(&l, RC, 0, "check_rule_id"), "KSV001");
    assert_string_equal(rec_field(&l, BC, 0, "rule_id"), "IMGSEC-H001");
    assert_string_equal(rec_field(&l, BC, 1, "rule_id"), "IMGSEC-H002");
    assert_string_equal(rec_field(&l, BC, 2, "rule_id"), "IMGSEC-H005");
    assert_string_equal(rec_field(&l, BC, 2, "build_instruction"),
                        "/bin/sh -c #(nop)  ENV DB_PASSWORD=*******"); /* never the secret */
    assert_string_equal(rec_field(&l, BC, 3, "rule_id"), "IMGSEC-H006");
    doc_list_free(&l);
}

/* A Dockerfile finding's cause lines are redacted like history commands. */
static void test_trivy_dockerfile_cause_redacted(void **state)
{
    (void)state;
    doc_list l = convert_ok(
        "{\"SchemaVersion\":2,\"ArtifactName\":\"web:3\",\"Results\":[{\"Target\":\"Dockerfile\","
        "\"Class\":\"config\",\"Type\":\"dockerfile\",\"Misconfigurations\":[{\"ID\":\"DS-0031\","
        "\"Title\":\"secret in ENV\",\"Severity\":\"HIGH\",\"Status\":\"FAIL\",\"CauseMetadata\":"
        "{\"Code\":{\"Lines\":[{\"Content\":\"FROM alpine\",\"IsCause\":false},"
        "{\"Content\":\"ENV DB_PASSWORD=hunter2 MODE=x\",\"IsCause\":true},"
        "{\"Content\":\"USER app\",\"IsCause\":true}]}}}]}]}",
        IMPORT_AUTO, &NO_OVERRIDE);
    assert_int_equal(l.items[0].summary.counts[BC], 1);
    assert_string_equal(rec_field(&l, BC, 0, "build_instruction"),
                        "ENV DB_PASSWORD=******* MODE=*\nUSER app");
    doc_list_free(&l);
}

static void test_identity_overrides(void **state)
{
    (void)state;
    char path[600];
    size_t len;
    char *buf = fixture("trivy/alpine-310.json", &len, path, sizeof path);
    import_options opt = {.image_type = "cicd", .namespace_ = "team-a", .image_name = "alpine",
                          .image_version = "3.10", .now_ms = 1};
    doc_list l;
    imgsec_err err = {0};
    assert_int_equal(import_buffer(buf, len, IMPORT_TRIVY, false, &opt, path, &l, NULL, &err), 0);
    const image_summary *s = &l.items[0].summary;
    assert_int_equal(s->type, IMAGE_TYPE_CICD);
    assert_string_equal(s->namespace_, "team-a");
    assert_string_equal(s->image_name, "alpine");
    assert_string_equal(s->image_version, "3.10");
    assert_int_equal(s->counts[V], 4);
    doc_list_free(&l);
    /* An override that breaks data-model.md is refused by the one validation. */
    opt.image_type = "vm_image";
    assert_int_not_equal(import_buffer(buf, len, IMPORT_TRIVY, false, &opt, path, &l, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "image.image_type must be one of"));
    free(buf);
}

static void test_redact(void **state)
{
    (void)state;
    char *r = import_redact("AKIAIOSFODNN7EXAMPLE");
    assert_string_equal(r, "AKIA****************");
    free(r);
    r = import_redact("ab");
    assert_string_equal(r, "ab");
    free(r);
    r = import_redact("");
    assert_string_equal(r, "");
    free(r);
    char *longs = malloc(1001);
    memset(longs, 'x', 1000);
    longs[1000] = '\0';
    r = import_redact(longs);
    assert_int_equal(strlen(r), IMPORT_REDACT_MAX);
    free(r);
    free(longs);
    r = import_redact("\xc3\xa9t\xc3\xa9-secret"); /* "été-secret": characters, not bytes */
    assert_string_equal(r, "\xc3\xa9t\xc3\xa9-******");
    free(r);
}

/* ---- the streaming path (import_trivy_stream) ---- */

typedef struct {
    int n;
    int64_t counts[REPORT_TYPE_COUNT], vul_counts[VUL_TYPE_COUNT];
    severity_level level;
    size_t n_vuls, n_builds;
    char build0[128]; /* the first build aggregate: "rule|name|level|n" */
} walk_out;

static int walk_cb(const image_summary *s, void *arg)
{
    walk_out *w = arg;
    w->n++;
    memcpy(w->counts, s->counts, sizeof w->counts);
    memcpy(w->vul_counts, s->vul_counts, sizeof w->vul_counts);
    w->level = s->severity_level;
    w->n_vuls = s->n_vuls;
    w->n_builds = s->n_builds;
    if (s->n_builds)
        snprintf(w->build0, sizeof w->build0, "%s|%s|%s|%lld", s->builds[0].rule_id,
                 s->builds[0].risk_name, severity_name(s->builds[0].level),
                 (long long)s->builds[0].n);
    return 0;
}

static store *fresh_store(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", TMP, name);
    unlink(path);
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(path, &st, &err))
        fail_msg("store_open: %s", err.msg);
    return st;
}

static walk_out walk(store *st)
{
    walk_out w = {0};
    imgsec_err err = {0};
    assert_int_equal(store_summary_foreach(st, walk_cb, &w, NULL, &err), 0);
    return w;
}

/* agg_vul's rows without the image id, one line each, in key order. */
static char *agg_dump(store *st)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db,
                                        "SELECT vul_id, vul_type, n, rank, cvss, rep_seq, rep_cvss "
                                        "FROM agg_vul ORDER BY vul_id, vul_type",
                                        -1, &s, NULL),
                     SQLITE_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const char *t = (const char *)sqlite3_column_text(s, c);
            fprintf(f, "%s|", t ? t : "-");
        }
        fputc('\n', f);
        rows++;
    }
    sqlite3_finalize(s);
    fprintf(f, "%d rows\n", rows);
    fclose(f);
    return out;
}

/* Streams path into a fresh store and compares everything the index sees
 * with the in-memory conversion of the same bytes. */
static void expect_stream_equal(const char *path)
{
    size_t len;
    char *buf = util_read_file(path, &len);
    assert_non_null(buf);
    doc_list l;
    imgsec_err err = {0};
    if (import_buffer(buf, len, IMPORT_TRIVY, false, &NO_OVERRIDE, path, &l, NULL, &err))
        fail_msg("%s", err.msg);
    free(buf);
    const image_summary *want = &l.items[0].summary;

    store *st = fresh_store("stream.db");
    store_ingest_result r = {0};
    if (import_trivy_stream(st, "P1", "0", path, &NO_OVERRIDE, NULL, &r, &err))
        fail_msg("%s", err.msg);
    walk_out w = walk(st);
    assert_int_equal(w.n, 1);
    int64_t total = 0;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        assert_int_equal(w.counts[t], want->counts[t]);
        total += want->counts[t];
    }
    assert_int_equal(r.records, total);
    assert_int_equal(w.vul_counts[0], want->vul_counts[0]);
    assert_int_equal(w.vul_counts[1], want->vul_counts[1]);
    assert_int_equal(w.level, want->severity_level);
    assert_int_equal(w.n_vuls, want->n_vuls);
    assert_int_equal(w.n_builds, want->n_builds);
    /* agg_vul's maxima and representatives (rank, CVSS, rep_seq, rep_cvss), streamed and in memory */
    store *mem = fresh_store("stream-mem.db");
    if (store_ingest(mem, "P1", "0", l.items, l.n, NULL, NULL, NULL, NULL, &err))
        fail_msg("%s", err.msg);
    char *a = agg_dump(st), *b = agg_dump(mem);
    assert_string_equal(a, b);
    free(a);
    free(b);
    store_close(mem);
    if (want->n_builds) {
        char want0[128];
        snprintf(want0, sizeof want0, "%s|%s|%s|%lld", want->builds[0].rule_id,
                 want->builds[0].risk_name, severity_name(want->builds[0].level),
                 (long long)want->builds[0].n);
        assert_string_equal(w.build0, want0);
    }
    store_close(st);
    doc_list_free(&l);
}

static void test_stream_matches_memory(void **state)
{
    (void)state;
    const char *files[] = {"trivy/alpine-310.json", "trivy/debian-buster.json",
                           "trivy/secrets.json", "trivy/dockerfile.json"};
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        size_t len;
        free(fixture(files[i], &len, path, sizeof path));
        expect_stream_equal(path);
    }
    /* Packages, licenses, config checks and history (9 + 4 records). */
    char path[600];
    snprintf(path, sizeof path, "%s/synth-trivy.json", TMP);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(SYNTH_TRIVY, f);
    assert_int_equal(fclose(f), 0);
    expect_stream_equal(path);
    /* Dockerfile findings whose id and title hold the byte 0x1f, twice (one
     * aggregate of n = 2): record strings may hold any character but NUL. */
    snprintf(path, sizeof path, "%s/synth-unit-sep.json", TMP);
    f = fopen(path, "wb");
    assert_non_null(f);
    static const char FINDING[] =
        "{\"ID\":\"DS\\u001f031\",\"Title\":\"Secrets\\u001fin ENV\",\"Severity\":\"HIGH\","
        "\"Status\":\"FAIL\",\"Message\":\"m\"}";
    fprintf(f,
            "{\"SchemaVersion\":2,\"ArtifactName\":\"web:2\",\"Results\":[{\"Target\":"
            "\"Dockerfile\",\"Class\":\"config\",\"Type\":\"dockerfile\","
            "\"Misconfigurations\":[%s,%s]}]}",
            FINDING, FINDING);
    assert_int_equal(fclose(f), 0);
    expect_stream_equal(path);
    store *st = fresh_store("stream-sep.db");
    imgsec_err err = {0};
    if (import_trivy_stream(st, "P1", "0", path, &NO_OVERRIDE, NULL, NULL, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(walk(st).build0, "DS\x1f" "031|Secrets\x1fin ENV|high|2");
    store_close(st);
}

static void expect_stream_refused(store *st, const char *path, int code, const char *needle)
{
    imgsec_err err = {0};
    int rc = import_trivy_stream(st, "P1", "0", path, &NO_OVERRIDE, NULL, NULL, &err);
    if (rc != code || !strstr(err.msg, needle) || strncmp(err.msg, path, strlen(path)) != 0)
        fail_msg("want %s with \"%s\", got %s \"%s\"", err_code_name(code), needle,
                 err_code_name(rc), err.msg);
}

static void test_stream_refusals_store_nothing(void **state)
{
    (void)state;
    char path[600], bad[700];
    size_t len;
    char *buf = fixture("trivy/alpine-310.json", &len, path, sizeof path);
    store *st = fresh_store("stream-bad.db");

    /* Truncated in the middle of Results[0].Vulnerabilities. */
    snprintf(bad, sizeof bad, "%s/trunc.json", TMP);
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fwrite(buf, 1, len / 2, f);
    fclose(f);
    expect_stream_refused(st, bad, IMGSEC_EPARSE, "not a trivy report: invalid JSON at byte");
    assert_int_equal(walk(st).n, 0);

    /* A good image first; then a bad one with the same identity must leave it. */
    assert_int_equal(import_trivy_stream(st, "P1", "0", path, &NO_OVERRIDE, NULL, NULL,
                                         &(imgsec_err){0}), 0);
    char *sev = strstr(buf, "\"Severity\": \"MEDIUM\"");
    assert_non_null(sev);
    sev = strstr(sev + 1, "\"Severity\": \"MEDIUM\""); /* Vulnerabilities[1] */
    assert_non_null(sev);
    memcpy(sev, "\"Severity\": \"ZZZZZZ\"", 20);
    f = fopen(bad, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    expect_stream_refused(st, bad, IMGSEC_EINVAL,
                          "trivy report: Results[0].Vulnerabilities[1].Severity must be one of");
    walk_out w = walk(st);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.counts[REPORT_VULNERABILITY], 4); /* the old image, untouched */

    /* Other formats and other top levels. */
    char gpath[600];
    free(fixture("grype/image.json", &len, gpath, sizeof gpath));
    expect_stream_refused(st, gpath, IMGSEC_EINVAL, "not a trivy report: top level has no");
    f = fopen(bad, "wb");
    fputs("[1, 2]", f);
    fclose(f);
    expect_stream_refused(st, bad, IMGSEC_EINVAL, "trivy report: is not a JSON object");
    f = fopen(bad, "wb");
    fputs("{\"SchemaVersion\":2,\"ArtifactName\":\"a\",\"Results\":[{\"Vulnerabilities\":{}}]}", f);
    fclose(f);
    expect_stream_refused(st, bad, IMGSEC_EINVAL, "Results[0].Vulnerabilities must be an array");
    f = fopen(bad, "wb");
    fputs("{\"SchemaVersion\":2,\"ArtifactName\":\"a\",\"Results\":[7]}", f);
    fclose(f);
    expect_stream_refused(st, bad, IMGSEC_EINVAL, "Results[0] must be an object");
    assert_int_equal(walk(st).n, 1);
    store_close(st);
    free(buf);
}

/* Counts jansson's allocations (json_set_alloc_funcs): how many times a
 * body was parsed shows in how much was allocated. */
static size_t JSON_ALLOCS;

static void *counting_malloc(size_t n)
{
    JSON_ALLOCS++;
    return malloc(n);
}

static size_t allocs_of_import(const char *body, import_format f, imgsec_err *err, size_t *n_docs)
{
    doc_list l;
    JSON_ALLOCS = 0;
    json_set_alloc_funcs(counting_malloc, free);
    import_buffer(body, strlen(body), f, false, &NO_OVERRIDE, "body", &l, NULL, err);
    json_set_alloc_funcs(malloc, free);
    *n_docs = l.n;
    doc_list_free(&l);
    return JSON_ALLOCS;
}

/* A native body is parsed without a jansson tree (doc_stream), also when
 * it is an array given as "auto"; a single object given as "auto" is
 * parsed once by jansson, to detect its format, and that tree is used for
 * the document (doc_list_from_json). Either way the same documents and
 * errors as with the format given as native. */
static void test_native_auto_parsed_once(void **state)
{
    (void)state;
#define NATIVE_DOC(name) "{\"image\": {\"image_type\": \"cicd\", \"image_name\": \"" name "\"}}"
    static const char *const bodies[] = {
        NATIVE_DOC("a"),
        "[" NATIVE_DOC("a") ", " NATIVE_DOC("b") ", " NATIVE_DOC("c") "]",
        "[" NATIVE_DOC("a") ", {\"image\": {\"image_type\": \"cicd\"}}]",
        "[" NATIVE_DOC("a") ", 5]",
        "[]",
    };
#undef NATIVE_DOC
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        imgsec_err e_auto = {0}, e_native = {0};
        size_t n_auto, n_native;
        size_t a_auto = allocs_of_import(bodies[i], IMPORT_AUTO, &e_auto, &n_auto);
        size_t a_native = allocs_of_import(bodies[i], IMPORT_NATIVE, &e_native, &n_native);
        assert_int_equal(a_native, 0);
        if (bodies[i][0] == '[')
            assert_int_equal(a_auto, 0);
        else if (a_auto == 0 || a_auto > 20) /* one small tree, not two */
            fail_msg("body %zu: %zu jansson allocations with auto", i, a_auto);
        assert_int_equal(e_auto.code, e_native.code);
        assert_string_equal(e_auto.msg, e_native.msg);
        assert_int_equal(n_auto, n_native);
    }
}

static void test_format_names(void **state)
{
    (void)state;
    assert_int_equal(import_format_parse("trivy"), IMPORT_TRIVY);
    assert_int_equal(import_format_parse("auto"), IMPORT_AUTO);
    assert_int_equal(import_format_parse("spdx"), IMPORT_SPDX);
    assert_int_equal(import_format_parse("Trivy"), -1);
    assert_int_equal(import_format_parse("sarif"), -1);
    assert_string_equal(import_format_name(IMPORT_CYCLONEDX), "cyclonedx");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trivy_alpine),
        cmocka_unit_test(test_trivy_debian),
        cmocka_unit_test(test_trivy_secrets),
        cmocka_unit_test(test_trivy_dockerfile),
        cmocka_unit_test(test_trivy_cyclonedx),
        cmocka_unit_test(test_trivy_spdx),
        cmocka_unit_test(test_grype_image),
        cmocka_unit_test(test_cyclonedx_juice_shop),
        cmocka_unit_test(test_cyclonedx_laravel_old_specs),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_wrong_format_refused),
        cmocka_unit_test(test_bad_element_position),
        cmocka_unit_test(test_syft),
        cmocka_unit_test(test_trivy_packages_licenses_history),
        cmocka_unit_test(test_identity_overrides),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_trivy_dockerfile_cause_redacted),
        cmocka_unit_test(test_stream_matches_memory),
        cmocka_unit_test(test_stream_refusals_store_nothing),
        cmocka_unit_test(test_native_auto_parsed_once),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
