/* test_scan_risk_policy.c - the "policy" analyzer (an_policy.c).
 *
 * The apps records other analyzers emit are put into the result first
 * (as the driver runs the policy analyzer last); finish() must flag
 * exactly the apps the built-in policy or a policy file forbids, with
 * the rule's reason. Policy files that are not valid are refused with
 * the path of the fault; the version order is checked on a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "scan_risk_support.h"
#include "unit_tmp.h"

static const char *const FIELDS[] = {"app_name", "app_version", "app_path", "layer_digest",
                                     "reason", NULL};

static char TMP[512];

static int setup(void **state)
{
    (void)state;
    return unit_tmp_dir(TMP, sizeof TMP, "policy.");
}

static int teardown(void **state)
{
    (void)state;
    return unit_tmp_dir_remove(TMP);
}

typedef struct {
    const char *name, *version, *type, *license;
} app;

/* Runs the policy analyzer (policy_file may be NULL) over apps; returns
 * the non-compliant-app dump, or NULL with *rc and err on failure. */
static char *run_policy(const char *policy_file, const app *apps, size_t n, int *rc,
                        imgsec_err *err)
{
    scan_options opt = {.policy_file = policy_file};
    void *st = NULL;
    *rc = scan_an_policy.open(&opt, &st, err);
    if (*rc)
        return NULL;
    scan_result *res = scan_result_new();
    assert_non_null(res);
    for (size_t i = 0; i < n; i++) {
        json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app_name", apps[i].name,
                                "app_version", apps[i].version, "app_type", apps[i].type,
                                "app_path", "var/lib/dpkg/status", "layer_digest",
                                "sha256:l1");
        if (apps[i].license)
            json_object_set_new(rec, "license", json_string(apps[i].license));
        assert_int_equal(scan_emit(res, REPORT_APPS, rec), 0);
    }
    static const char *const diff_ids[] = {"sha256:l1"};
    scan_image img = {.config = NULL, .diff_ids = diff_ids, .n_layers = 1};
    assert_null(scan_an_policy.want);
    assert_int_equal(scan_an_policy.finish(st, &img, res, err), IMGSEC_OK);
    scan_an_policy.close(st);
    char *got = risk_dump(res, REPORT_NON_COMPLIANT_APP, FIELDS);
    scan_result_free(res);
    return got;
}

static char *write_policy(const char *name, const char *text)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/%s", TMP, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const app APPS[] = {
    {"netcat-openbsd", "1.219-1", "deb", "BSD-2-Clause"},
    {"nmap", "7.93+dfsg1-1", "deb", "NPSL"},
    {"nmap-ncat", "7.92-1.el9", "rpm", NULL},
    {"busybox", "1.36.0-r9", "apk", "GPL-2.0-only"}, /* its nc applet is no package */
    {"socat", "1.7.4.4-2", "deb", "GPL-2.0"},         /* dual-use: not in the default */
    {"tcpdump", "4.99.3-1", "deb", "BSD-3-Clause"},
    {"John", "1.9.0-2", "deb", "GPL-2.0"},           /* names match case-insensitively */
    {"openssl", "1.0.2k", "deb", "OpenSSL"},
    {"log4j-core", "2.14.1", "maven", "Apache-2.0"},
    {"log4j-core", "2.17.1", "maven", "Apache-2.0"},
    {"mongodb", "4.4.1", "deb", "SSPL-1.0"},
    {"grafana", "9.5.2", "deb", "AGPL-3.0-only"},
    {"libfoo", "1.0", "deb", "MIT OR AGPL-3.0-or-later"},
    {"python3-ncclient", "0.6.13", "deb", "Apache-2.0"},
};

static void test_policy_default(void **state)
{
    (void)state;
    int rc;
    imgsec_err err = {0};
    char *got = run_policy(NULL, APPS, RISK_N(APPS), &rc, &err);
    assert_non_null(got);
    assert_string_equal(
        got,
        "netcat-openbsd;1.219-1;var/lib/dpkg/status;sha256:l1;netcat: raw network connections "
        "and reverse shells\n"
        "nmap;7.93+dfsg1-1;var/lib/dpkg/status;sha256:l1;network scanner (attack tooling)\n"
        "nmap-ncat;7.92-1.el9;var/lib/dpkg/status;sha256:l1;netcat: raw network connections and "
        "reverse shells\n"
        "John;1.9.0-2;var/lib/dpkg/status;sha256:l1;password cracker (attack tooling)\n");
    free(got);
}

/* Versions (exact, prefix, ranges, OR of constraints), types, licenses,
 * and the default rules added after the file's. */
static void test_policy_file(void **state)
{
    (void)state;
    const char *path = write_policy(
        "p.json",
        "{\"use_default_rules\": true, \"rules\": [\n"
        " {\"name\": \"openssl\", \"version\": [\"<1.1.1\", \"3.0.*\"], \"reason\": \"EOL\"},\n"
        " {\"name\": \"log4j-*\", \"type\": \"maven\", \"version\": \">=2.0 <2.17.1\",\n"
        "  \"reason\": \"Log4Shell\"},\n"
        " {\"license\": \"AGPL-3.0*\", \"reason\": \"network copyleft\"},\n"
        " {\"license\": \"SSPL-*\", \"type\": \"rpm\", \"reason\": \"not on deb\"},\n"
        " {\"name\": \"nmap\", \"version\": \"=7.93+dfsg1-1\", \"reason\": \"ours first\"}\n"
        "]}\n");
    int rc;
    imgsec_err err = {0};
    char *got = run_policy(path, APPS, RISK_N(APPS), &rc, &err);
    if (!got)
        fail_msg("%s", err.msg);
    assert_string_equal(
        got,
        "netcat-openbsd;1.219-1;var/lib/dpkg/status;sha256:l1;netcat: raw network connections "
        "and reverse shells\n"
        "nmap;7.93+dfsg1-1;var/lib/dpkg/status;sha256:l1;ours first\n"
        "nmap-ncat;7.92-1.el9;var/lib/dpkg/status;sha256:l1;netcat: raw network connections and "
        "reverse shells\n"
        "John;1.9.0-2;var/lib/dpkg/status;sha256:l1;password cracker (attack tooling)\n"
        "openssl;1.0.2k;var/lib/dpkg/status;sha256:l1;EOL\n"
        "log4j-core;2.14.1;var/lib/dpkg/status;sha256:l1;Log4Shell\n"
        "grafana;9.5.2;var/lib/dpkg/status;sha256:l1;network copyleft\n"
        "libfoo;1.0;var/lib/dpkg/status;sha256:l1;network copyleft\n");
    free(got);

    /* without use_default_rules, only the file's rules */
    path = write_policy("q.json", "{\"rules\": [{\"name\": \"socat\", \"reason\": \"no\"}]}");
    got = run_policy(path, APPS, RISK_N(APPS), &rc, &err);
    assert_string_equal(got, "socat;1.7.4.4-2;var/lib/dpkg/status;sha256:l1;no\n");
    free(got);
}

static void test_policy_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
        const char *msg; /* after "--policy <path>" */
    } BAD[] = {
        {"{\"rules\": [}", IMGSEC_EPARSE, ":1:12: unexpected token near '}'"},
        {"[]", IMGSEC_EINVAL, ": must be a JSON object {\"rules\": [...]}"},
        {"{\"rule\": []}", IMGSEC_EINVAL, ": unknown key \"rule\" (rules, use_default_rules)"},
        {"{\"rules\": {}}", IMGSEC_EINVAL, ": rules must be a list of at most 1024 rules"},
        {"{\"rules\": [], \"use_default_rules\": 1}", IMGSEC_EINVAL,
         ": use_default_rules must be true or false"},
        {"{\"rules\": [1]}", IMGSEC_EINVAL, ": rules[0] must be an object"},
        {"{\"rules\": [{\"name\": \"x\"}]}", IMGSEC_EINVAL, ": rules[0].reason is required"},
        {"{\"rules\": [{\"reason\": \"x\"}]}", IMGSEC_EINVAL,
         ": rules[0] needs a name or a license"},
        {"{\"rules\": [{\"name\": \"\", \"reason\": \"x\"}]}", IMGSEC_EINVAL,
         ": rules[0].name must be a string of 1-256 bytes"},
        {"{\"rules\": [{\"name\": \"a\", \"reason\": \"x\", \"versions\": []}]}", IMGSEC_EINVAL,
         ": rules[0]: unknown key \"versions\" (name, version, license, type, reason)"},
        {"{\"rules\": [{\"name\": \"a\", \"reason\": \"x\"}, {\"name\": \"b\", \"reason\": \"y\", "
         "\"version\": [\"1.0\", \"~>1.2\"]}]}",
         IMGSEC_EINVAL,
         ": rules[1].version[1] is not a version constraint (V, =V, V*, <V, <=V, >V, >=V, or up "
         "to 4 of these separated by spaces)"},
        {"{\"rules\": [{\"name\": \"a\", \"reason\": \"x\", \"version\": \"<1.*\"}]}",
         IMGSEC_EINVAL,
         ": rules[0].version[0] is not a version constraint (V, =V, V*, <V, <=V, >V, >=V, or up "
         "to 4 of these separated by spaces)"},
        {"{\"rules\": [{\"name\": \"a\", \"reason\": \"x\", \"version\": []}]}", IMGSEC_EINVAL,
         ": rules[0].version must be a constraint or a list of 1-16"},
        {"{\"rules\": [], \"rules\": []}", IMGSEC_EPARSE,
         ":1:21: duplicate object key near '\"rules\"'"},
    };
    for (size_t i = 0; i < RISK_N(BAD); i++) {
        const char *path = write_policy("bad.json", BAD[i].text);
        int rc;
        imgsec_err err = {0};
        char *got = run_policy(path, APPS, 1, &rc, &err);
        assert_null(got);
        char want[1024];
        snprintf(want, sizeof want, "--policy %s%s", path, BAD[i].msg);
        if (rc != BAD[i].code || strcmp(err.msg, want) != 0)
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg, BAD[i].code, want);
        /* the same through the validator the fuzz target uses */
        err = (imgsec_err){0};
        assert_int_equal(scan_policy_validate(BAD[i].text, strlen(BAD[i].text), &err),
                         BAD[i].code);
    }
    int rc;
    imgsec_err err = {0};
    assert_null(run_policy("/nonexistent/p.json", APPS, 1, &rc, &err));
    assert_int_equal(rc, IMGSEC_EINVAL);
    assert_string_equal(err.msg, "--policy /nonexistent/p.json: cannot read it");
}

static void test_policy_vercmp(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int want;
    } V[] = {
        {"1.10", "1.9", 1},          {"1.2", "1.2.1", -1},        {"1.2.0", "1.2.0", 0},
        {"1.0", "1.00", 0},          {"2.17.0", "2.17.1", -1},    {"1.0.1", "1.0.beta", 1},
        {"1.0a", "1.0b", -1},        {"7.93+dfsg1-1", "7.93", 1}, {"10", "9", 1},
        {"1.0.2k", "1.1.1", -1},     {"1.1.1w", "1.1.1", 1},      {"", "0", -1},
        {"2.14.1", "2.17.1", -1},    {"abc", "abd", -1},          {"ab", "abc", -1},
    };
    for (size_t i = 0; i < RISK_N(V); i++) {
        int got = scan_policy_vercmp(V[i].a, V[i].b);
        if (got != V[i].want)
            fail_msg("vercmp(%s, %s) = %d, want %d", V[i].a, V[i].b, got, V[i].want);
        if (scan_policy_vercmp(V[i].b, V[i].a) != -V[i].want)
            fail_msg("vercmp(%s, %s) not antisymmetric", V[i].b, V[i].a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_default),
        cmocka_unit_test(test_policy_file),
        cmocka_unit_test(test_policy_refusals),
        cmocka_unit_test(test_policy_vercmp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
