/* test_scan_risk_secrets.c - the "secrets" analyzer (an_secrets.c).
 *
 * Every input of trivy's secret-scanner tests and gitleaks' nogit repo
 * (../shared/fixtures/scan/secrets), each as one file of an image, with
 * the exact findings of the built-in rules. The expectations are trivy's
 * for its built-in rules (scanner_test.go.txt: the same rule ids, counts
 * and files; the config-driven custom rules "rule1" etc. do not exist
 * here, so those files expect nothing unless a built-in rule fires) and
 * gitleaks' for nogit (EXPECTED.md), with two documented differences:
 * api.go is reported (gitleaks ignores it through .gitleaksignore, which
 * imgsec does not read) and the .env.prod secret is found by the
 * generic-password rule (gitleaks: generic-api-key). Then the rules of
 * the analyzer itself: redaction, position, allow-listed paths, binaries,
 * size cap, findings cap, warnings without secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "imgsec/importers.h"
#include "scan_risk_support.h"

static const char *const FIELDS[] = {"rule_id", "severity", "content", NULL};

static const struct {
    const char *fixture;
    const char *want;
} CASES[] = {
    {"secrets/trivy/testdata/alibaba-access-key-id.txt", "alibaba-access-key-id;high;LTAI********************\n"},
    {"secrets/trivy/testdata/allow-path.yaml", ""},
    {"secrets/trivy/testdata/allow-regex-outside-group.yaml", ""},
    {"secrets/trivy/testdata/allow-regex.yaml", ""},
    {"secrets/trivy/testdata/asymmetric-private-key.txt", "private-key;high;MIIE************************************************************\n""private-key;high;4c6f****************************\n"},
    {"secrets/trivy/testdata/asymmetric-private-secret.json", "private-key;high;\\n7e************************************************************\n"},
    {"secrets/trivy/testdata/asymmetric-private-secret.txt", "private-key;high;YObV************************************************************\n"},
    {"secrets/trivy/testdata/aws-secrets.txt", "aws-access-key-id;critical;AKIA****************\n""aws-secret-access-key;critical;12AS************************************\n""aws-secret-access-key;critical;KEYK************************************\n"},
    {"secrets/trivy/testdata/azure-ai-services-key.txt", "azure-ai-services-key;high;ABCD************************************************************\n"},
    {"secrets/trivy/testdata/azure-app-config-connection-string.txt", "azure-app-config-connection-string;critical;ABCD********************************\n"},
    {"secrets/trivy/testdata/azure-container-registry-credential.txt", "azure-container-registry-credential;critical;ABCD************************************************************\n"},
    {"secrets/trivy/testdata/azure-container-registry-password.txt", "azure-container-registry-password;critical;A1bC****************************\n"},
    {"secrets/trivy/testdata/azure-devops-pat.txt", "azure-devops-pat;high;abcd************************************************\n"},
    {"secrets/trivy/testdata/azure-entra-client-secret.txt", "azure-entra-client-secret;critical;pFF8************************************\n"},
    {"secrets/trivy/testdata/azure-sas-token.txt", "azure-sas-token;high;ABCD****************************************\n"},
    {"secrets/trivy/testdata/azure-storage-account-key.txt", "azure-storage-account-key;critical;ABCD************************************************************\n"},
    {"secrets/trivy/testdata/builtin-rule-secret.txt", "aws-access-key-id;critical;AKIA****************\n""github-pat;critical;ghp_************************************\n"},
    {"secrets/trivy/testdata/config-disable-allow-rule-md.yaml", ""},
    {"secrets/trivy/testdata/config-disable-ghp.yaml", ""},
    {"secrets/trivy/testdata/config-disable-rule1.yaml", ""},
    {"secrets/trivy/testdata/config-enable-ghp.yaml", ""},
    {"secrets/trivy/testdata/config-happy-keywords.yaml", ""},
    {"secrets/trivy/testdata/config-sad-keywords.yaml", ""},
    {"secrets/trivy/testdata/config-with-incorrect-severity.yaml", ""},
    {"secrets/trivy/testdata/config-with-non-uppercase-severity.yaml", ""},
    {"secrets/trivy/testdata/config-without-severity.yaml", ""},
    {"secrets/trivy/testdata/config.yaml", ""},
    {"secrets/trivy/testdata/crlf-line-endings.txt", "aws-access-key-id;critical;AKIA****************\n""github-pat;critical;ghp_************************************\n"},
    {"secrets/trivy/testdata/docker-secrets.txt", "dockerconfig-secret;high;eyE1********\n""dockerconfig-secret;high;ewE1********\n"},
    {"secrets/trivy/testdata/example-secret.txt", ""},
    {"secrets/trivy/testdata/exclude-block.yaml", ""},
    {"secrets/trivy/testdata/github-app-token.txt", "github-app-token;critical;ghs_************************************************************\n"},
    {"secrets/trivy/testdata/github-token.txt", "github-fine-grained-pat;critical;gith************************************************************\n"},
    {"secrets/trivy/testdata/global-allow-path.yaml", ""},
    {"secrets/trivy/testdata/global-allow-regex.yaml", ""},
    {"secrets/trivy/testdata/global-exclude-block.yaml", ""},
    {"secrets/trivy/testdata/grafana-env.txt", "grafana-api-token;medium;eyJr************************************************************\n""grafana-api-token;medium;eyJr************************************************************\n"},
    {"secrets/trivy/testdata/hugging-face-secret.txt", "hugging-face-access-token;critical;hf_T**************************************\n"},
    {"secrets/trivy/testdata/invalid-aws-secrets.txt", ""},
    {"secrets/trivy/testdata/invalid-utf8.txt", "github-pat;critical;ghp_************************************\n"},
    {"secrets/trivy/testdata/jwt-secret.txt", "jwt-token;medium;eyJh************************************************************\n"},
    {"secrets/trivy/testdata/long-line-secret.txt", "github-pat;critical;ghp_************************************\n"},
    {"secrets/trivy/testdata/multi-line-off.yaml", ""},
    {"secrets/trivy/testdata/multi-line-on.yaml", ""},
    {"secrets/trivy/testdata/multi-line.txt", ""},
    {"secrets/trivy/testdata/multiple-secret-groups.yaml", ""},
    {"secrets/trivy/testdata/obfuscated.js", "stripe-publishable-token;low;pk_l****************************\n"},
    {"secrets/trivy/testdata/openai-admin-api-key.txt", "openai-admin-api-key;critical;sk-a*****************************************************\n"},
    {"secrets/trivy/testdata/openai-invalid.txt", ""},
    {"secrets/trivy/testdata/openai-legacy-api-key.txt", "openai-legacy-api-key;high;sk-a***********************************************\n"},
    {"secrets/trivy/testdata/openai-project-api-key.txt", "openai-project-api-key;critical;sk-p****************************************************\n"},
    {"secrets/trivy/testdata/openai-realtime-client-secret.txt", "openai-realtime-client-secret;medium;ek_0*******************************\n"},
    {"secrets/trivy/testdata/openai-service-account-key.txt", "openai-service-account-key;critical;sk-s*******************************************************\n"},
    {"secrets/trivy/testdata/openai-service-api-key.txt", "openai-service-api-key;high;sk-s************************************************************\n"},
    {"secrets/trivy/testdata/private-packagist.txt", "private-packagist-token;high;pack************************************************************\n""private-packagist-token;high;pack************************************************************\n""private-packagist-token;high;pack************************************************************\n"},
    {"secrets/trivy/testdata/secret.md", ""},
    {"secrets/trivy/testdata/secret.txt", ""},
    {"secrets/trivy/testdata/settings-encrypted.xml", ""},
    {"secrets/trivy/testdata/settings-security.xml", "maven-settings-security-master;high;plai*******\n"},
    {"secrets/trivy/testdata/settings.xml", "maven-settings-password;high;plai*******\n""maven-settings-passphrase;high;gpgP*********\n"},
    {"secrets/trivy/testdata/skip-test.yaml", ""},
    {"secrets/trivy/testdata/symfony-secret.yaml", "symfony-default-secret;low;This**************************\n"},
    {"secrets/trivy/testdata/wrapped-secrets-sensitive.txt", "aws-secret-access-key;critical;12AS************************************\n""github-fine-grained-pat;critical;gith************************************************************\n"},
    {"secrets/trivy/testdata/wrapped-secrets.txt", ""},
    {"secrets/gitleaks/nogit/api.go", "aws-access-key-id;critical;AKIA****************\n"},
    {"secrets/gitleaks/nogit/main.go", "aws-access-key-id;critical;AKIA****************\n"},
    {"secrets/gitleaks/nogit/.env.prod", "generic-password;high;8ae3******************\n"},
};

static char *scan_one(const char *path, const char *fixture, const char *data)
{
    risk_file f = {path, 0, fixture, data, 0, NULL, NULL};
    scan_result *res = risk_run(&scan_an_secrets, NULL, &f, 1, NULL);
    char *got = risk_dump(res, REPORT_SENSITIVE_INFO, FIELDS);
    assert_int_equal(json_array_size(res->warnings), 0);
    scan_result_free(res);
    return got;
}

static void test_secrets_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < RISK_N(CASES); i++) {
        const char *base = strrchr(CASES[i].fixture, '/') + 1;
        char path[256];
        snprintf(path, sizeof path, "app/%s", base);
        char *got = scan_one(path, CASES[i].fixture, NULL);
        if (strcmp(got, CASES[i].want) != 0)
            fail_msg("%s: got\n%s\nwant\n%s", CASES[i].fixture, got, CASES[i].want);
        free(got);
    }
}

/* One record in full: redaction as the importers do it, the layer as
 * position, the rule's title and severity. */
static void test_secrets_record(void **state)
{
    (void)state;
    risk_file f = {"srv/app/.env", 0, NULL, "X=1\nGITHUB=ghp_012345678901234567890123456789abcdef\n",
                   0, NULL, "sha256:abcd"};
    scan_result *res = risk_run(&scan_an_secrets, NULL, &f, 1, NULL);
    assert_int_equal(json_array_size(res->records[REPORT_SENSITIVE_INFO]), 1);
    json_t *rec = json_array_get(res->records[REPORT_SENSITIVE_INFO], 0);
    char *redacted = import_redact("ghp_012345678901234567890123456789abcdef");
    json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "rule_id", "github-pat", "name",
                             "GitHub Personal Access Token", "severity", "critical", "file_path",
                             "srv/app/.env", "position", "sha256:abcd", "content", redacted);
    assert_true(json_equal(rec, want));
    assert_string_equal(redacted, "ghp_************************************");
    free(redacted);
    json_decref(want);
    scan_result_free(res);
}

/* The allow-list (docs/scanning-risks.md): test and example trees,
 * system trees, markdown; the same bytes elsewhere are found. */
static void test_secrets_allow_paths(void **state)
{
    (void)state;
    static const char *const SKIPPED[] = {
        "app/tests/conf.env", "app/test/conf.env", "src/testdata/x.txt", "app/examples/a.env",
        "app/conf_test.go", "app/example.env", "usr/share/doc/x/README", "usr/lib/python3/x.py",
        "usr/include/x.h", "app/README.md", "app/vendor/x/y.go", "usr/local/go/src/x.go",
        "app/x.dist-info/METADATA", "usr/local/lib/python3.11/site-packages/x.py",
    };
    static const char *const FOUND[] = {"app/conf.env", "etc/app/conf", "root/.env",
                                        "app/testament.txt", "usr/local/bin/run.sh"};
    const char *data = "TOKEN=ghp_012345678901234567890123456789abcdef\n";
    for (size_t i = 0; i < RISK_N(SKIPPED); i++) {
        char *got = scan_one(SKIPPED[i], NULL, data);
        if (*got)
            fail_msg("%s should be skipped, got %s", SKIPPED[i], got);
        free(got);
    }
    for (size_t i = 0; i < RISK_N(FOUND); i++) {
        char *got = scan_one(FOUND[i], NULL, data);
        if (strcmp(got, "github-pat;critical;ghp_************************************\n") != 0)
            fail_msg("%s should be found, got '%s'", FOUND[i], got);
        free(got);
    }
}

/* Binaries (a NUL early), files over the size cap, non-regular entries. */
static void test_secrets_skips(void **state)
{
    (void)state;
    void *st = NULL;
    imgsec_err err = {0};
    scan_options opt = {0};
    assert_int_equal(scan_an_secrets.open(&opt, &st, &err), IMGSEC_OK);
    scan_entry e = {.path = "app/big.txt", .layer = "", .mode = S_IFREG | 0644,
                    .size = 8 << 20};
    assert_true(scan_an_secrets.want(st, &e) == SCAN_WANT_ALL);
    e.size = (8 << 20) + 1;
    assert_true(scan_an_secrets.want(st, &e) == SCAN_WANT_NONE);
    e.size = 10;
    e.mode = S_IFLNK | 0777;
    assert_true(scan_an_secrets.want(st, &e) == SCAN_WANT_NONE);
    e.mode = S_IFREG | 0644;
    scan_result *res = scan_result_new();
    static const unsigned char bin[] = "\x7f" "ELF\0\0\0TOKEN=ghp_012345678901234567890123456789abcdef\n";
    e.size = sizeof bin - 1;
    assert_int_equal(scan_an_secrets.entry(st, &e, bin, sizeof bin - 1, res, &err), IMGSEC_OK);
    assert_int_equal(json_array_size(res->records[REPORT_SENSITIVE_INFO]), 0);
    scan_an_secrets.close(st);
    scan_result_free(res);
}

/* More than 64 findings in one file: 64 kept, one warning that names the
 * path and carries no secret. Generic values below the entropy bar and
 * placeholders are not findings. */
static void test_secrets_caps_and_generic(void **state)
{
    (void)state;
    util_buf b = {0};
    for (int i = 0; i < 70; i++)
        util_buf_printf(&b, "k%d=ghp_%036d\n", i, i);
    risk_file f = {"app/many.env", 0, NULL, b.buf, 0, NULL, NULL};
    scan_result *res = risk_run(&scan_an_secrets, NULL, &f, 1, NULL);
    assert_int_equal(json_array_size(res->records[REPORT_SENSITIVE_INFO]), 64);
    assert_int_equal(json_array_size(res->warnings), 1);
    const char *w = json_string_value(json_array_get(res->warnings, 0));
    assert_string_equal(w, "secrets: app/many.env: more than 64 findings, the rest not reported");
    scan_result_free(res);
    free(b.buf);

    char *got = scan_one("app/app.env", NULL,
                         "DB_PASSWORD=password1\n"           /* entropy 2.9 */
                         "API_KEY=${API_KEY}\n"              /* placeholder */
                         "secret: '{{ vault_secret }}'\n"    /* template */
                         "admin_password = Xk9#mQ2$vLp7!wZ4\n" /* found */
                         "\"auth_token\": \"a8F3kL9qZ2mX7vB1\"\n"); /* found */
    assert_string_equal(got, "generic-password;high;Xk9#************\n"
                             "generic-password;high;a8F3************\n");
    free(got);

    /* source code: expressions, not literals, and not read by the generic
     * rule; in configuration, a dotted identifier or a call is no value */
    got = scan_one("app/settings.py", NULL, "admin_password = \"Xk9#mQ2$vLp7!wZ4\"\n");
    assert_string_equal(got, "");
    free(got);
    got = scan_one("app/app.yaml", NULL,
                   "password: self._password_value\n"
                   "api_key: base64.b64encode(raw)\n"
                   "maps_key: AIzaSyA1b2C3d4E5f6G7h8I9j0KLmnOpQrStUvW\n");
    assert_string_equal(got, "gcp-api-key;high;AIza***********************************\n");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets_fixtures),
        cmocka_unit_test(test_secrets_record),
        cmocka_unit_test(test_secrets_allow_paths),
        cmocka_unit_test(test_secrets_skips),
        cmocka_unit_test(test_secrets_caps_and_generic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
