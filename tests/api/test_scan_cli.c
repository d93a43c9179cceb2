/* test_scan_cli.c - `imgsec scan` end to end: images built here in every
 * input kind (docker-save archive, OCI layout directory and tar, a root
 * filesystem) are scanned by the real CLI into the database of a running
 * imgsecd (offline --db, and --server with a token file), and the
 * statistic route counts exactly what the analyzers found. A truncated
 * archive is refused and stores nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/scan_builder.h"
#include "harness.h"
#include "imgsec/util.h"

static srv_t S;
static char *TOKEN;

/* One image: an os-release, a secret a later layer deletes, a config that
 * runs as root with a secret in Env, and a history with four risky steps:
 * 6 build-command-risks (H001 curl|sh, H002 chmod 777, H007 sudo, H008
 * apt lists left, H005 the Env secret, H006 root). */
static const sb_file LOWER[] = {
    {"etc/os-release", 'f', "ID=debian\nVERSION_ID=\"12\"\n", 0, 0},
    {"root/.aws/credentials", 'f', "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", 0600, 0},
    {"app/run.sh", 'f', "#!/bin/sh\nexec app\n", 0755, 0},
};
static const sb_file UPPER[] = {
    {"root/.aws/.wh.credentials", 'f', "", 0, 0},
    {"app/run.sh", 'f', "#!/bin/sh\nexec app --safe\n", 0755, 0},
};
#define BUILD_RISKS 6

typedef struct {
    sb_layer l[2];
    char *config;
} image;

static image image_make(sb_comp c)
{
    image im;
    im.l[0] = sb_layer_make(LOWER, 3, c);
    im.l[1] = sb_layer_make(UPPER, 2, c);
    static const char *const env[] = {"PATH=/usr/bin", "DB_PASSWORD=hunter2", NULL};
    static const char *const hist[] = {
        "/bin/sh -c #(nop) ADD file:abc in / ",
        "/bin/sh -c apt-get update && apt-get install -y curl",
        "/bin/sh -c curl -fsSL https://get.example.com | sh",
        "/bin/sh -c chmod 777 /app && sudo ls",
        NULL};
    im.config = sb_config(im.l, 2, "", env, hist);
    return im;
}

static void image_free(image *im)
{
    free(im->l[0].data);
    free(im->l[1].data);
    free(im->config);
}

static int setup(void **state)
{
    (void)state;
    if (srv_start(&S) != 0)
        return -1;
    TOKEN = user_token(&S, "acme", "scanner", "scanner-pw-1", "P1", "admin", "all");
    return TOKEN ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(TOKEN);
    return srv_stop(&S, true);
}

static long long count(const char *type, const char *ep, const char *extra)
{
    return api_count(&S, TOKEN, "P1", type, ep, extra);
}

/* Runs `imgsec scan ARGS...`, asserting its exit code; returns its output. */
static char *scan_cli(int want_rc, const char *const *args)
{
    char *out = NULL;
    int rc = cli_runv(&S, NULL, args, &out);
    if (rc != want_rc)
        fail_msg("imgsec scan exited %d, not %d:\n%s", rc, want_rc, out ? out : "");
    return out;
}

static void test_scan_every_input_kind(void **state)
{
    (void)state;
    image gz = image_make(SB_GZIP), zs = image_make(SB_ZSTD), plain = image_make(SB_PLAIN);
    char *arch = h_strdupf("%s/app.tar", S.dir), *dir = h_strdupf("%s/layout", S.dir),
         *otar = h_strdupf("%s/layout.tar", S.dir), *root = h_strdupf("%s/rootfs", S.dir),
         *tokf = h_strdupf("%s/token", S.dir), *url = h_strdupf("http://127.0.0.1:%d", S.port);
    sb_docker_archive(arch, plain.l, 2, plain.config, "registry.example.com/team/app:1.0");
    sb_oci(dir, false, gz.l, 2, gz.config, SB_GZIP, "team/web:2.0");
    sb_oci(otar, true, zs.l, 2, zs.config, SB_ZSTD, "team/api:3.0");
    mkdir(root, 0700);
    char *etc = h_strdupf("%s/etc", root), *osr = h_strdupf("%s/etc/os-release", root);
    mkdir(etc, 0755);
    assert_int_equal(h_write_file(osr, "ID=alpine\nVERSION_ID=3.18.0\n", 28), 0);
    assert_int_equal(h_write_file(tokf, TOKEN, strlen(TOKEN)), 0);

    /* offline into the server's database */
    const char *a1[] = {"scan", "--db", S.db, "--project", "P1", arch, NULL};
    char *out = scan_cli(0, a1);
    assert_non_null(strstr(out, "image      team/app:1.0 (docker-archive)"));
    assert_non_null(strstr(out, "build-command-risks         0        2        2        2        0        6"));
    free(out);
    const char *a2[] = {"scan", "--db", S.db, "--project", "P1", "--ep", "ep-scan", dir, NULL};
    free(scan_cli(0, a2));
    /* through the server, with a token file */
    const char *a3[] = {"scan", "--server", url, "--token-file", tokf, "--region", H_REGION,
                        "--project", "P1", otar, NULL};
    out = scan_cli(0, a3);
    assert_non_null(strstr(out, "stored via"));
    free(out);
    const char *a4[] = {"scan", "--db", S.db, "--project", "P1", "--rootfs", root, "--name",
                        "host-1:today", NULL};
    free(scan_cli(0, a4));

    /* the statistic counts what was found: 6 risks per image, 2 images in EP 0 and
     * one in ep-scan; the rootfs has no config */
    assert_int_equal(count("build-command-risks", NULL, NULL), 2 * BUILD_RISKS);
    assert_int_equal(count("build-command-risks", "ep-scan", NULL), BUILD_RISKS);
    assert_int_equal(count("build-command-risks", "ep-scan", "\"image_name\":\"web\""), BUILD_RISKS);
    assert_int_equal(count("build-command-risks", NULL, "\"image_name\":\"web\""), 0);
    assert_int_equal(count("build-command-risks", NULL, "\"image_name\":\"api\""), BUILD_RISKS);
    assert_int_equal(count("build-command-risks", NULL, "\"build_command_risk_level\":\"high\""), 2 * 2);
    assert_int_equal(count("build-command-risks", NULL, "\"image_name\":\"host-1\""), 0);
    assert_int_equal(count("build-command-risks", NULL, "\"scan_status\":\"success\""), 2 * BUILD_RISKS);
    /* the deleted credentials file is no finding of any kind */
    assert_int_equal(count("sensitive-info", NULL, NULL), 0);

    /* scanning the same image again replaces it (same identity), no double count */
    free(scan_cli(0, a1));
    assert_int_equal(count("build-command-risks", NULL, NULL), 2 * BUILD_RISKS);

    free(etc);
    free(osr);
    free(arch);
    free(dir);
    free(otar);
    free(root);
    free(tokf);
    free(url);
    image_free(&gz);
    image_free(&zs);
    image_free(&plain);
}

static void test_corrupt_stores_nothing(void **state)
{
    (void)state;
    long long before = count("build-command-risks", NULL, NULL);
    image im = image_make(SB_GZIP);
    char *arch = h_strdupf("%s/whole.tar", S.dir), *cut = h_strdupf("%s/cut.tar", S.dir);
    sb_docker_archive(arch, im.l, 2, im.config, "team/cut:1");
    size_t len = 0;
    char *buf = util_read_file(arch, &len);
    assert_non_null(buf);
    assert_int_equal(h_write_file(cut, buf, len / 2), 0);
    const char *a[] = {"scan", "--db", S.db, "--project", "P1", cut, NULL};
    char *out = scan_cli(1, a);
    /* cut inside the config member, the last but one: named with the offset */
    if (!strstr(out, ".json' is truncated at offset 0: Truncated tar archive (nothing stored)"))
        fail_msg("unexpected: %s", out);
    assert_non_null(strstr(out, "(nothing stored)"));
    free(out);
    assert_int_equal(count("build-command-risks", NULL, NULL), before);
    assert_int_equal(count("build-command-risks", NULL, "\"image_name\":\"cut\""), 0);
    free(buf);
    free(arch);
    free(cut);
    image_free(&im);
}

static void test_output_json_and_cyclonedx(void **state)
{
    (void)state;
    image im = image_make(SB_PLAIN);
    char *arch = h_strdupf("%s/out.tar", S.dir);
    sb_docker_archive(arch, im.l, 2, im.config, "team/out:9");
    const char *a[] = {"scan", "--output", "json", "--name", "renamed:7", arch, NULL};
    char *out = scan_cli(0, a);
    json_t *doc = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(doc);
    json_t *img = json_object_get(doc, "image");
    assert_string_equal(json_string_value(json_object_get(img, "image_name")), "renamed");
    assert_string_equal(json_string_value(json_object_get(img, "image_version")), "7");
    assert_string_equal(json_string_value(json_object_get(img, "namespace")), "team");
    assert_string_equal(json_string_value(json_object_get(img, "scan_status")), "success");
    char cdig[72];
    sb_sha256(im.config, strlen(im.config), cdig);
    assert_string_equal(json_string_value(json_object_get(img, "image_id")), cdig);
    assert_int_equal(json_array_size(json_object_get(doc, "build_command_risks")), BUILD_RISKS);
    json_decref(doc);
    free(out);
    const char *b[] = {"scan", "--output", "cyclonedx", arch, NULL};
    out = scan_cli(0, b);
    json_t *bom = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(bom);
    assert_string_equal(json_string_value(json_object_get(bom, "bomFormat")), "CycloneDX");
    assert_string_equal(json_string_value(json_object_get(bom, "specVersion")), "1.6");
    json_t *subject = json_object_get(json_object_get(bom, "metadata"), "component");
    assert_string_equal(json_string_value(json_object_get(subject, "type")), "container");
    assert_string_equal(json_string_value(json_object_get(subject, "name")), "out");
    assert_true(json_is_array(json_object_get(bom, "components")));
    json_decref(bom);
    free(out);
    /* usage errors */
    const char *c[] = {"scan", arch, NULL};
    out = scan_cli(2, c);
    assert_non_null(strstr(out, "storing needs --project"));
    free(out);
    const char *d[] = {"scan", "--output", "json", "--analyzers", "os,bogus", arch, NULL};
    out = scan_cli(1, d);
    assert_non_null(strstr(out, "unknown analyzer 'bogus'"));
    free(out);
    free(arch);
    image_free(&im);
}

/* --server with an access key instead of a token: the CLI signs the
 * ingest request as the cloud SDKs do (auth.md), the server verifies it. */
static void test_server_with_access_key(void **state)
{
    (void)state;
    char *out = NULL, ak[32], sk[64];
    assert_int_equal(cli_run(&S, NULL, &out, "key", "create", "--db", S.db, "--domain", "acme",
                             "--name", "scanner", (char *)NULL), 0);
    assert_int_equal(sscanf(strstr(out, "AK: ") ? strstr(out, "AK: ") : "", "AK: %31s", ak), 1);
    assert_int_equal(sscanf(strstr(out, "SK: ") ? strstr(out, "SK: ") : "", "SK: %63s", sk), 1);
    free(out);
    image im = image_make(SB_GZIP);
    char *dir = h_strdupf("%s/signed-layout", S.dir), *url = h_strdupf("http://127.0.0.1:%d", S.port);
    sb_oci(dir, false, im.l, 2, im.config, SB_GZIP, "team/signed:5");
    long long before = count("build-command-risks", "ep-signed", NULL);
    unsetenv("IMGSEC_TOKEN");
    setenv("IMGSEC_AK", ak, 1);
    setenv("IMGSEC_SK", "wrong-secret", 1);
    const char *a[] = {"scan", "--server", url, "--region", H_REGION, "--project", "P1", "--ep",
                       "ep-signed", dir, NULL};
    out = scan_cli(1, a); /* a bad signature: 401, nothing stored */
    assert_non_null(strstr(out, "server answered 401"));
    free(out);
    setenv("IMGSEC_SK", sk, 1);
    out = scan_cli(0, a);
    assert_non_null(strstr(out, "stored via"));
    free(out);
    unsetenv("IMGSEC_AK");
    unsetenv("IMGSEC_SK");
    assert_int_equal(before, 0);
    assert_int_equal(count("build-command-risks", "ep-signed", NULL), BUILD_RISKS);
    free(dir);
    free(url);
    image_free(&im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_every_input_kind),
        cmocka_unit_test(test_corrupt_stores_nothing),
        cmocka_unit_test(test_output_json_and_cyclonedx),
        cmocka_unit_test(test_server_with_access_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown) + harness_failures();
}
