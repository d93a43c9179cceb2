/* test_scan.c - the analyzer's readers, layer semantics and driver
 * (scan.h, src/lib/scan): every fixture image of ../shared/fixtures/scan
 * gives its exact merged file list; images built here (scan_builder.h)
 * in every format give the same list, with whiteouts, opaque directories,
 * overwrites and unsafe names; corrupt and truncated inputs are refused
 * naming the member; the os and history analyzers give exact records.
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

#include "imgsec/doc.h"
#include "imgsec/scan.h"
#include "imgsec/util.h"
#include "scan/scan_int.h"
#include "scan_builder.h"
#include "unit_tmp.h"

#ifndef IMGSEC_FIXTURES_DIR
#error "IMGSEC_FIXTURES_DIR must point at shared/fixtures"
#endif
#define IMAGES IMGSEC_FIXTURES_DIR "/scan/images/"

/* ---- the merged file list, as "path|layer#|mode|size[|->target]" lines, sorted ---- */

typedef struct {
    char **lines;
    size_t n, cap;
    const char *const *diff_ids; /* to print layer numbers (1 = bottom); NULL: first 12 hex */
    size_t n_ids;
} listing;

static void observe(void *ctx, const scan_entry *e)
{
    listing *l = ctx;
    char layer[32] = "-";
    for (size_t i = 0; i < l->n_ids; i++)
        if (strcmp(l->diff_ids[i], e->layer) == 0)
            snprintf(layer, sizeof layer, "L%zu", i + 1);
    if (!l->n_ids && *e->layer)
        snprintf(layer, sizeof layer, "%.12s", e->layer + 7);
    char line[2048];
    snprintf(line, sizeof line, "%s|%s|%o|%lld%s%s", e->path, layer, (unsigned)e->mode,
             (long long)e->size, e->link_target ? "|->" : "", e->link_target ? e->link_target : "");
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->lines = realloc(l->lines, l->cap * sizeof *l->lines);
    }
    l->lines[l->n++] = strdup(line);
}

static char *h_line(const char *a, const char *b)
{
    util_buf u = {0};
    util_buf_printf(&u, "%s %s", a ? a : "?", b ? b : "?");
    return u.buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scans input and returns the sorted listing joined by '\n' (malloc'd). */
static char *list_scan(const char *input, scan_input_kind kind, scan_options opt,
                       const char *const *ids, size_t n_ids, scan_result **res_out, imgsec_err *err)
{
    listing l = {.diff_ids = ids, .n_ids = n_ids};
    opt.observe = observe;
    opt.observe_ctx = &l;
    scan_result *res = NULL;
    int rc = scan_run(input, kind, &opt, &res, err);
    qsort(l.lines, l.n, sizeof *l.lines, cmp_str);
    util_buf b = {0};
    for (size_t i = 0; i < l.n; i++) {
        util_buf_printf(&b, "%s\n", l.lines[i]);
        free(l.lines[i]);
    }
    free(l.lines);
    if (res_out)
        *res_out = res;
    else
        scan_result_destroy(res);
    if (rc != IMGSEC_OK) {
        free(b.buf);
        return NULL;
    }
    return b.buf ? b.buf : strdup("");
}

static void assert_listing(const char *input, scan_options opt, const char *want)
{
    imgsec_err err = {0};
    char *got = list_scan(input, SCAN_INPUT_AUTO, opt, NULL, 0, NULL, &err);
    if (!got)
        fail_msg("%s: %s", input, err.msg);
    assert_string_equal(got, want);
    free(got);
}

/* ---- the fixture images ---- */

static void test_fixture_whiteout(void **state)
{
    (void)state;
    /* L1 bar.txt foo.txt; L2 .wh.foo.txt; L3 empty: foo.txt is gone */
    assert_listing(IMAGES "gcr-whiteout_image.tar", (scan_options){0},
                   "bar.txt|891f36a00862|100555|4\n");
}

static void test_fixture_overwritten(void **state)
{
    (void)state;
    /* L1 foo.txt (file); L2 bar.txt and foo.txt -> bar.txt: the upper symlink wins */
    assert_listing(IMAGES "gcr-overwritten_file.tar", (scan_options){0},
                   "bar.txt|6f23bf1fbcc9|100555|4\n"
                   "foo.txt|6f23bf1fbcc9|120755|0|->bar.txt\n");
    /* L1 sample.txt (17 bytes), L2 sample.txt (29 bytes): offered once, the upper one */
    assert_listing(IMAGES "scalibr-overwrite-file.tar", (scan_options){0},
                   "sample.txt|b3b2e4003474|100664|29\n");
}

static void test_fixture_buildkit(void **state)
{
    (void)state;
    assert_listing(IMAGES "scalibr-basic.tar", (scan_options){0},
                   "larger-sample.txt|eb9be5a47890|100664|6800\n"
                   "sample.txt|c1aaf9767066|100664|17\n");
    assert_listing(IMAGES "scalibr-multiple-files.tar", (scan_options){0},
                   "dir1/bar.txt|587f186db782|100664|4\n"
                   "dir1/baz.txt|587f186db782|100664|4\n"
                   "dir1|587f186db782|40755|0\n"
                   "foo.txt|74bb327db0ed|100664|4\n");
}

static void test_fixture_symlinks(void **state)
{
    (void)state;
    /* links are reported as links, never followed: no secret.txt, no loop */
    assert_listing(IMAGES "scalibr-symlink-attack.tar", (scan_options){0},
                   "dir1/attack-symlink-absolute.txt|79f13c8f4580|120777|0|->/../secret.txt\n"
                   "dir1/attack-symlink.txt|79f13c8f4580|120777|0|->../../secret.txt\n"
                   "dir1|79f13c8f4580|40755|0\n");
    assert_listing(IMAGES "scalibr-symlink-cycle.tar", (scan_options){0},
                   "dir1/absolute-symlink.txt|1ac95f882230|120777|0|->/dir1/sample.txt\n"
                   "dir1/chain-symlink.txt|1ac95f882230|120777|0|->absolute-symlink.txt\n"
                   "dir1/sample.txt|1ac95f882230|120777|0|->/dir1/chain-symlink.txt\n"
                   "dir1|1ac95f882230|40755|0\n");
}

static void test_fixture_oci(void **state)
{
    (void)state;
    assert_listing(IMAGES "trivy-hello-world.oci", (scan_options){0},
                   "hello|9c27e219663c|100775|13336\n");
    assert_listing(IMAGES "stereoscope-valid-oci.tar", (scan_options){0},
                   "README.md|7cec5b0994b7|100644|10\n");
    assert_listing(IMAGES "gcr-hello-world-docker25.tar", (scan_options){0},
                   "hello|12660636fe55|100755|9136\n");
}

static void test_fixture_platforms(void **state)
{
    (void)state;
    const char *mp = IMAGES "stereoscope-multiplatform.oci";
    assert_listing(mp, (scan_options){0},
                   "linux/amd64/README.md|153922c8857b|100755|1618\n"
                   "linux/amd64|153922c8857b|40755|0\n"
                   "linux|153922c8857b|40755|0\n");
    assert_listing(mp, (scan_options){.platform = "linux/arm64"},
                   "linux/arm64/README.md|a6b19b78ec5a|100755|1618\n"
                   "linux/arm64|a6b19b78ec5a|40755|0\n"
                   "linux|a6b19b78ec5a|40755|0\n");
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(mp, SCAN_INPUT_AUTO, &(scan_options){0}, &res, &err), IMGSEC_OK);
    const scan_info *in = scan_result_info(res);
    assert_string_equal(in->format, "oci-dir");
    assert_string_equal(in->config_digest,
                        "sha256:549248a7ac95478805d9248e4ffdc778fc2404257d8c071848746e0100e08099");
    assert_string_equal(in->manifest_digest,
                        "sha256:e7c26a4b4d156fd9947ee82295b7b78acf7aa54b93b8f3e4b9f608179ffb20e8");
    assert_string_equal(in->repo_tag, "docker.io/library/multi-platform:latest");
    assert_string_equal(in->platform, "linux/amd64");
    scan_result_destroy(res);
    assert_int_equal(scan_run(mp, SCAN_INPUT_AUTO, &(scan_options){.platform = "linux/s390x"}, &res, &err),
                     IMGSEC_EINVAL);
    assert_null(res);
    assert_string_equal(err.msg, "no image for platform linux/s390x in the index; it holds: "
                                 "docker.io/library/multi-platform:latest linux/amd64, "
                                 "docker.io/library/multi-platform:latest linux/arm64");
}

static void test_fixture_multi_image(void **state)
{
    (void)state;
    const char *tl = IMAGES "gcr-test_link.tar";
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(tl, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_null(res);
    assert_string_equal(err.msg, "the archive holds 2 images; pick one with --image NAME:TAG: "
                                 "bazel/v1/tarball:test_image_1, bazel/v1/tarball:test_image_3");
    assert_listing(tl, (scan_options){.image = "bazel/v1/tarball:test_image_1"},
                   "bar|8897395fd26d|100555|4\n"
                   "foo|8897395fd26d|100555|4\n");
    /* test_image_3's first layer member is a symlink to test_image_1's layer.tar */
    assert_listing(tl, (scan_options){.image = "bazel/v1/tarball:test_image_3"},
                   "bar|8897395fd26d|100555|4\n"
                   "foo|8897395fd26d|100555|4\n"
                   "test|6b617a270657|100640|6\n");
    assert_int_equal(scan_run(tl, SCAN_INPUT_AUTO, &(scan_options){.image = "nope:1"}, &res, &err),
                     IMGSEC_EINVAL);
    assert_string_equal(err.msg, "the archive holds no image 'nope:1'; it holds: "
                                 "bazel/v1/tarball:test_image_1, bazel/v1/tarball:test_image_3");
}

static void test_fixture_alpine(void **state)
{
    (void)state;
    scan_result *res = NULL;
    imgsec_err err = {0};
    char *got = list_scan(IMAGES "trivy-alpine-310.docker-archive.tar.gz", SCAN_INPUT_AUTO,
                          (scan_options){0}, NULL, 0, &res, &err);
    assert_non_null(got);
    const scan_info *in = scan_result_info(res);
    assert_int_equal(in->entries, 482);
    assert_int_equal(in->n_layers, 1);
    assert_int_equal(in->layer_bytes, 5818880);
    assert_string_equal(in->format, "docker-archive");
    assert_string_equal(in->repo_tag, "alpine:3.10");
    assert_string_equal(scan_os_id(res), "alpine");
    assert_string_equal(scan_os_version(res), "3.10.4");
    assert_non_null(strstr(got, "lib/apk/db/installed|531743b7098c|100644|11226\n"));
    assert_non_null(strstr(got, "etc/os-release|"));
    free(got);
    json_t *doc = scan_result_document(res, &(scan_identity){.scan_ms = 1700000000000});
    json_t *img = json_object_get(doc, "image");
    assert_string_equal(json_string_value(json_object_get(img, "image_name")), "alpine");
    assert_string_equal(json_string_value(json_object_get(img, "image_version")), "3.10");
    assert_null(json_object_get(img, "namespace"));
    assert_string_equal(json_string_value(json_object_get(img, "image_id")),
                        "sha256:af341ccd2df8b0e2d67cf8dd32e087bfda4e5756ebd1c76bbf3efa0dc246590e");
    assert_string_equal(json_string_value(json_object_get(img, "scan_status")), "success");
    assert_int_equal(json_integer_value(json_object_get(img, "latest_scan_time")), 1700000000000);
    json_decref(doc);
    scan_result_destroy(res);
}

/* The 14 apk packages of alpine:3.10 as its lib/apk/db/installed lists
 * them (trivy's golden file is of an older build: busybox -r2, libcrypto
 * 1.1.1c), each from the image's only layer. Runs once the apk analyzer
 * (scanpkg's an_apk.c) is in the table. */
static void test_fixture_alpine_apk(void **state)
{
    (void)state;
    bool have_apk = false;
    for (size_t i = 0; i < scan_analyzers_count; i++)
        have_apk |= strcmp(scan_analyzers[i]->name, "apk") == 0;
    if (!have_apk)
        skip();
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(IMAGES "trivy-alpine-310.docker-archive.tar.gz", SCAN_INPUT_AUTO,
                              &(scan_options){.analyzers = "os,apk"}, &res, &err),
                     IMGSEC_OK);
    const json_t *apps = scan_result_records(res, REPORT_APPS);
    static const char *const want =
        "alpine-baselayout 3.1.2-r0\nalpine-keys 2.1-r2\napk-tools 2.10.4-r2\nbusybox 1.30.1-r3\n"
        "ca-certificates-cacert 20190108-r0\nlibc-utils 0.7.1-r0\nlibcrypto1.1 1.1.1d-r2\n"
        "libssl1.1 1.1.1d-r2\nlibtls-standalone 2.9.1-r0\nmusl 1.1.22-r3\nmusl-utils 1.1.22-r3\n"
        "scanelf 1.2.3-r0\nssl_client 1.30.1-r3\nzlib 1.2.11-r1\n";
    char *lines[32];
    size_t n = json_array_size(apps);
    assert_int_equal(n, 14);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(apps, i);
        assert_string_equal(json_string_value(json_object_get(a, "layer_digest")),
                            "sha256:531743b7098cb2aaf615641007a129173f63ed86ca32fe7b5a246a1c47286028");
        assert_string_equal(json_string_value(json_object_get(a, "app_path")), "lib/apk/db/installed");
        lines[i] = h_line(json_string_value(json_object_get(a, "app_name")),
                          json_string_value(json_object_get(a, "app_version")));
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    util_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        util_buf_printf(&b, "%s\n", lines[i]);
        free(lines[i]);
    }
    assert_string_equal(b.buf, want);
    free(b.buf);
    scan_result_destroy(res);
}

static void test_not_an_image(void **state)
{
    (void)state;
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(IMAGES "scalibr-unpack-escape.tar", SCAN_INPUT_AUTO, NULL, &res, &err),
                     IMGSEC_EINVAL);
    assert_null(res);
    assert_string_equal(err.msg, IMAGES "scalibr-unpack-escape.tar: neither a docker-save archive (no "
                                 "manifest.json) nor an OCI layout (no index.json and oci-layout)");
    assert_int_equal(scan_run(IMAGES, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "a directory without oci-layout; scan a root filesystem with --rootfs"));
    assert_int_equal(scan_run(IMAGES "trivy-hello-world.oci", SCAN_INPUT_AUTO,
                              &(scan_options){.analyzers = "os,nope"}, &res, &err),
                     IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "unknown analyzer 'nope'; the analyzers are os,history"));
}

/* ---- images built here ---- */

/* Lower layer: an os-release, a secret later deleted, files later
 * overwritten or hidden by an opaque dir, a dir later replaced by a
 * symlink, and names a safe reader must normalise or refuse (the member
 * names of scalibr's unpack-escape.tar among them). */
static const sb_file L1[] = {
    {"etc", 'd', NULL, 0, 0},
    {"etc/os-release", 'f', "ID=debian\nVERSION_ID=\"12\"\n", 0, 0},
    {"etc/secret.env", 'f', "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", 0, 0},
    {"./app", 'd', NULL, 0, 0},
    {"./app/config.txt", 'f', "v1", 0, 0},
    {"app/old/a.txt", 'f', "a", 0, 0},
    {"opq", 'd', NULL, 0, 0},
    {"opq/lower.txt", 'f', "lower", 0, 0},
    {"replaced/child.txt", 'f', "c", 0, 0},
    {"/escape/poc.txt", 'f', "poc", 0, 0},
    {"/escape", 'l', "trampoline/trampoline/../../../../tmp", 0, 0},
    {"evil/../../x", 'f', "x", 0, 0},
};
static const sb_file L2[] = {
    {"etc/.wh.secret.env", 'f', "", 0, 0},
    {"app/config.txt", 'f', "v2!", 0, 0},
    {"opq/.wh..wh..opq", 'f', "", 0, 0},
    {"opq/upper.txt", 'f', "upper", 0, 0},
    {"replaced", 'l', "/tmp", 0, 0},
    {"app/hl", 'h', "app/config.txt", 0, 0},
};
static const sb_file L3[] = {
    {"usr/bin/tool", 'f', "#!/bin/sh\n", 04755, 0},
};

/* What every format of the planted image must list. */
static const char PLANTED[] =
    "app/config.txt|L2|100644|3\n"
    "app/hl|L2|100644|0|->app/config.txt\n"
    "app/old/a.txt|L1|100644|1\n"
    "app|L1|40755|0\n"
    "escape/poc.txt|L1|100644|3\n"
    "escape|L1|120777|0|->trampoline/trampoline/../../../../tmp\n"
    "etc/os-release|L1|100644|26\n"
    "etc|L1|40755|0\n"
    "opq/upper.txt|L2|100644|5\n"
    "opq|L1|40755|0\n"
    "replaced|L2|120777|0|->/tmp\n"
    "usr/bin/tool|L3|104755|10\n";

typedef struct {
    char dir[512];
    sb_layer layers[3];
    char *config;
    const char *ids[3];
} planted;

static planted *planted_new(sb_comp comp)
{
    planted *p = calloc(1, sizeof *p);
    assert_int_equal(unit_tmp_dir(p->dir, sizeof p->dir, "scan_"), 0);
    p->layers[0] = sb_layer_make(L1, sizeof L1 / sizeof L1[0], comp);
    p->layers[1] = sb_layer_make(L2, sizeof L2 / sizeof L2[0], comp);
    p->layers[2] = sb_layer_make(L3, sizeof L3 / sizeof L3[0], comp);
    for (int i = 0; i < 3; i++)
        p->ids[i] = p->layers[i].diff_id;
    static const char *const env[] = {"PATH=/usr/bin", "DB_PASSWORD=hunter2", NULL};
    static const char *const hist[] = {
        "/bin/sh -c #(nop) ADD file:abc in / ",
        "/bin/sh -c apt-get update && apt-get install -y curl",
        "/bin/sh -c curl -fsSL https://get.example.com | sh",
        "/bin/sh -c chmod 777 /app && sudo ls",
        NULL};
    p->config = sb_config(p->layers, 3, "", env, hist);
    return p;
}

static void planted_free(planted *p)
{
    for (int i = 0; i < 3; i++)
        free(p->layers[i].data);
    free(p->config);
    unit_tmp_dir_remove(p->dir);
    free(p);
}

static void check_planted(const char *path, const planted *p, const char *format)
{
    imgsec_err err = {0};
    scan_result *res = NULL;
    char *got = list_scan(path, SCAN_INPUT_AUTO, (scan_options){0}, p->ids, 3, &res, &err);
    if (!got)
        fail_msg("%s: %s", path, err.msg);
    assert_string_equal(got, PLANTED);
    free(got);
    assert_string_equal(scan_result_info(res)->format, format);
    assert_string_equal(scan_os_id(res), "debian");
    assert_string_equal(scan_os_version(res), "12");
    size_t dropped = 9;
    const json_t *w = scan_result_warnings(res, &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(json_array_size(w), 1);
    assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
                           ": member 'evil/../../x' skipped: its name has '..' or is too long"));
    /* the deleted secret is nowhere in the document */
    json_t *doc = scan_result_document(res, NULL);
    char *s = json_dumps(doc, 0);
    assert_null(strstr(s, "secret.env"));
    assert_null(strstr(s, "wJalrXUtnFEMI"));
    assert_null(strstr(s, "hunter2"));
    free(s);
    json_decref(doc);
    scan_result_destroy(res);
}

static void test_built_docker_archive(void **state)
{
    (void)state;
    for (sb_comp c = SB_PLAIN; c <= SB_ZSTD; c++) {
        planted *p = planted_new(c);
        char path[600];
        snprintf(path, sizeof path, "%s/image.tar", p->dir);
        sb_docker_archive(path, p->layers, 3, p->config, "registry.example.com:5000/team/app:1.2");
        check_planted(path, p, "docker-archive");
        planted_free(p);
    }
}

static void test_built_oci(void **state)
{
    (void)state;
    for (sb_comp c = SB_PLAIN; c <= SB_ZSTD; c++) {
        planted *p = planted_new(c);
        char path[600];
        snprintf(path, sizeof path, "%s/layout", p->dir);
        sb_oci(path, false, p->layers, 3, p->config, c, "team/app:1.2");
        check_planted(path, p, "oci-dir");
        snprintf(path, sizeof path, "%s/layout.tar", p->dir);
        sb_oci(path, true, p->layers, 3, p->config, c, "team/app:1.2");
        check_planted(path, p, "oci-archive");
        planted_free(p);
    }
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_corrupt_and_truncated(void **state)
{
    (void)state;
    planted *p = planted_new(SB_GZIP);
    char path[600], bad[700];
    imgsec_err err = {0};
    scan_result *res = NULL;
    snprintf(path, sizeof path, "%s/image.tar", p->dir);
    sb_docker_archive(path, p->layers, 3, p->config, "team/app:1");
    size_t len = 0;
    char *buf = util_read_file(path, &len);

    /* truncated in the middle of the first (bottom) layer member: the
     * index pass cannot even walk the archive */
    snprintf(bad, sizeof bad, "%s/truncated.tar", p->dir);
    write_bytes(bad, buf, 1024 + p->layers[0].len / 2);
    assert_int_equal(scan_run(bad, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_null(res);
    assert_non_null(strstr(err.msg, "corrupt or truncated archive at offset"));

    /* a flipped byte inside layer 2's gzip stream: refused naming the layer */
    const unsigned char *l2 = p->layers[1].data;
    unsigned char *at = memmem(buf, len, l2, p->layers[1].len);
    assert_non_null(at);
    at[p->layers[1].len / 2] ^= 0x55;
    snprintf(bad, sizeof bad, "%s/flipped.tar", p->dir);
    write_bytes(bad, buf, len);
    assert_int_equal(scan_run(bad, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_null(res);
    char member[128];
    snprintf(member, sizeof member, "layer 2/3 (1%.12s/layer.tar): ", p->layers[1].diff_id + 7);
    if (!strstr(err.msg, member) || !(strstr(err.msg, "corrupt or truncated at offset") ||
                                      strstr(err.msg, "diff id mismatch")))
        fail_msg("unexpected: %s", err.msg);
    free(buf);

    /* an OCI blob whose bytes do not hash to its name */
    snprintf(path, sizeof path, "%s/layout", p->dir);
    sb_oci(path, false, p->layers, 3, p->config, SB_GZIP, "team/app:1");
    snprintf(bad, sizeof bad, "%s/blobs/sha256/%s", path, p->layers[2].digest + 7);
    sb_layer other = sb_layer_make(L3, 1, SB_PLAIN);
    write_bytes(bad, other.data, other.len);
    assert_int_equal(scan_run(path, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_null(res);
    snprintf(member, sizeof member, "layer 1/3 (blobs/sha256/%s): ", p->layers[2].digest + 7);
    assert_non_null(strstr(err.msg, member));
    char want[300];
    snprintf(want, sizeof want, "%ssize mismatch: %zu bytes, the manifest says %zu", member,
             other.len, p->layers[2].len);
    assert_string_equal(err.msg, want);

    /* a truncated gzip layer blob: refused with the member and the offset */
    write_bytes(bad, p->layers[2].data, p->layers[2].len - 8);
    assert_int_equal(scan_run(path, SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_EINVAL);
    assert_null(res);
    free(other.data);
    snprintf(want, sizeof want, "layer 1/3 (blobs/sha256/%s): corrupt or truncated at offset %zu",
             p->layers[2].digest + 7, p->layers[2].len - 8);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("unexpected: %s", err.msg);
    planted_free(p);
}

static void test_rootfs(void **state)
{
    (void)state;
    char dir[512], p[700];
    assert_int_equal(unit_tmp_dir(dir, sizeof dir, "rootfs_"), 0);
    snprintf(p, sizeof p, "%s/etc", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/proc", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/proc/1", dir);
    write_bytes(p, "x", 1);
    snprintf(p, sizeof p, "%s/etc/os-release", dir);
    write_bytes(p, "ID=alpine\nVERSION_ID=3.18.0\n", 28);
    snprintf(p, sizeof p, "%s/etc/link", dir);
    assert_int_equal(symlink("/etc/shadow", p), 0);
    chmod(dir, 0755);
    snprintf(p, sizeof p, "%s/etc", dir);
    chmod(p, 0755);
    snprintf(p, sizeof p, "%s/etc/os-release", dir);
    chmod(p, 0644);
    imgsec_err err = {0};
    scan_result *res = NULL;
    char *got = list_scan(dir, SCAN_INPUT_ROOTFS, (scan_options){0}, NULL, 0, &res, &err);
    assert_non_null(got);
    assert_string_equal(got, "etc/link|-|120777|0|->/etc/shadow\n"
                             "etc/os-release|-|100644|28\n"
                             "etc|-|40755|0\n");
    free(got);
    assert_string_equal(scan_os_id(res), "alpine");
    assert_string_equal(scan_result_info(res)->format, "rootfs");
    assert_int_equal(scan_result_info(res)->layer_bytes, 28); /* the regular files' bytes */
    json_t *doc = scan_result_document(res, &(scan_identity){.image_name = "host1", .image_version = "now"});
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "image"), "image_name")),
                        "host1");
    json_decref(doc);
    scan_result_destroy(res);
    unit_tmp_dir_remove(dir);
}

/* A failed scan's document: the identity, scan_status failed, no records
 * (never half of them), and the validator takes it. */
static void test_failed_document(void **state)
{
    (void)state;
    scan_result *res = NULL;
    imgsec_err err = {0};
    assert_int_equal(scan_run(IMAGES "scalibr-basic.tar", SCAN_INPUT_AUTO, NULL, &res, &err), IMGSEC_OK);
    assert_int_equal(json_array_size(scan_result_records(res, REPORT_BUILD_COMMAND_RISKS)), 1);
    res->failed = true; /* what scan_run leaves after an analyzer's error */
    json_t *doc = scan_result_document(res, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "image"), "scan_status")),
                        "failed");
    assert_int_equal(json_object_size(doc), 1); /* "image" only */
    imgsec_doc d;
    assert_int_equal(doc_from_json(doc, "", &d, &err), IMGSEC_OK);
    assert_int_equal(d.summary.status, SCAN_STATUS_FAILED);
    assert_int_equal(d.summary.severity_level, SEVERITY_LEVEL_NONE);
    doc_free(&d);
    json_decref(doc);
    scan_result_destroy(res);
}

/* ---- analyzers: history ---- */

static json_t *history_records(const char *config_json)
{
    json_t *config = json_loads(config_json, 0, NULL);
    assert_non_null(config);
    scan_result *res = scan_result_new();
    imgsec_err err = {0};
    scan_image img = {.config = config};
    extern const scan_analyzer scan_an_history;
    assert_int_equal(scan_an_history.finish(NULL, &img, res, &err), IMGSEC_OK);
    json_t *recs = json_incref(res->records[REPORT_BUILD_COMMAND_RISKS]);
    scan_result_free(res);
    json_decref(config);
    return recs;
}

static const char *rec_str(const json_t *recs, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(recs, i), key));
}

static void test_history_fixture(void **state)
{
    (void)state;
    size_t len;
    char *h = util_read_file(IMGSEC_FIXTURES_DIR "/scan/history/trivy-alpineConfig.history.json", &len);
    assert_non_null(h);
    /* composer on php:alpine: chmod 777 (H002), no USER (H006); every apk
     * add has --no-cache, no secret: nothing else */
    json_t *recs = history_records(h);
    free(h);
    assert_int_equal(json_array_size(recs), 2);
    assert_string_equal(rec_str(recs, 0, "rule_id"), "IMGSEC-H002");
    assert_non_null(strstr(rec_str(recs, 0, "build_instruction"), "chmod 777 /var/www/html"));
    assert_string_equal(rec_str(recs, 1, "rule_id"), "IMGSEC-H006");
    assert_string_equal(rec_str(recs, 1, "build_instruction"), "USER (none: the default is root)");
    json_decref(recs);
}

static void test_history_rules(void **state)
{
    (void)state;
    /* trivy's imgconf secret test: a token in config.Env, nowhere in history */
    json_t *recs = history_records(
        "{\"config\":{\"User\":\"app\",\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
        "/usr/bin:/sbin:/bin\",\"secret=ghp_eifae6eigh3aeSah1shahd6oi1tague6vaey\"]}}");
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(rec_str(recs, 0, "rule_id"), "IMGSEC-H005");
    assert_string_equal(rec_str(recs, 0, "risk_level"), "high");
    assert_string_equal(rec_str(recs, 0, "build_instruction"),
                        "ENV secret=****************************************");
    assert_string_equal(rec_str(recs, 0, "description"), "found in the image config's Env");
    json_decref(recs);

    recs = history_records(
        "{\"config\":{\"User\":\"0:0\",\"Env\":[\"API_TOKEN=abc\"]},\"history\":["
        "{\"created_by\":\"/bin/sh -c #(nop)  ARG API_TOKEN=abc\"},"
        "{\"created_by\":\"RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit\"},"
        "{\"created_by\":\"RUN /bin/sh -c apt-get install -y x && rm -rf /var/lib/apt/lists/*\"},"
        "{\"created_by\":\"RUN /bin/sh -c apk add git\"},"
        "{\"created_by\":\"RUN /bin/sh -c wget -qO- https://x.example/i | bash\"},"
        "{\"created_by\":\"ADD https://x.example/a.tgz /a.tgz # buildkit\"},"
        "{\"created_by\":\"RUN /bin/sh -c sudo make install\"},"
        "{\"created_by\":\"RUN /bin/sh -c pseudo-sudo-tool\"},"
        "{\"created_by\":\"USER 0:0\"},"
        "{\"empty_layer\":true}]}");
    const char *want[][2] = {
        {"IMGSEC-H005", "/bin/sh -c #(nop)  ARG API_TOKEN=***"},
        {"IMGSEC-H008", "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit"},
        {"IMGSEC-H008", "RUN /bin/sh -c apk add git"},
        {"IMGSEC-H001", "RUN /bin/sh -c wget -qO- https://x.example/i | bash"},
        {"IMGSEC-H004", "ADD https://x.example/a.tgz /a.tgz # buildkit"},
        {"IMGSEC-H007", "RUN /bin/sh -c sudo make install"},
        {"IMGSEC-H006", "USER 0:0"},
    };
    assert_int_equal(json_array_size(recs), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(rec_str(recs, i, "rule_id"), want[i][0]);
        assert_string_equal(rec_str(recs, i, "build_instruction"), want[i][1]);
    }
    json_decref(recs);
}

static void test_path_normalise(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(scan_path_normalise("/a//b/./c/", out, sizeof out, SCAN_DOTDOT_REFUSE), 5);
    assert_string_equal(out, "a/b/c");
    assert_int_equal(scan_path_normalise("./", out, sizeof out, SCAN_DOTDOT_REFUSE), 0);
    assert_int_equal(scan_path_normalise("a/../b", out, sizeof out, SCAN_DOTDOT_REFUSE), -1);
    assert_int_equal(scan_path_normalise("..", out, sizeof out, SCAN_DOTDOT_REFUSE), -1);
    assert_int_equal(scan_path_normalise("a/..b", out, sizeof out, SCAN_DOTDOT_REFUSE), 5);
    assert_int_equal(scan_path_normalise("abcdef", out, 4, SCAN_DOTDOT_REFUSE), -1);
}

/* The same walker resolving ".." (link targets of an outer archive). */
static void test_path_resolve(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(scan_path_normalise("a/../b", out, sizeof out, SCAN_DOTDOT_RESOLVE), 1);
    assert_string_equal(out, "b");
    assert_int_equal(scan_path_normalise("/x/y/./../../z//w/", out, sizeof out, SCAN_DOTDOT_RESOLVE), 3);
    assert_string_equal(out, "z/w");
    assert_int_equal(scan_path_normalise("blobs/sha256/../sha256/ab", out, sizeof out,
                                         SCAN_DOTDOT_RESOLVE), 15);
    assert_string_equal(out, "blobs/sha256/ab");
    assert_int_equal(scan_path_normalise("a/..", out, sizeof out, SCAN_DOTDOT_RESOLVE), 0);
    assert_int_equal(scan_path_normalise("..", out, sizeof out, SCAN_DOTDOT_RESOLVE), -1);
    assert_int_equal(scan_path_normalise("a/../../b", out, sizeof out, SCAN_DOTDOT_RESOLVE), -1);
    assert_int_equal(scan_path_normalise("./../a", out, sizeof out, SCAN_DOTDOT_RESOLVE), -1);
    assert_int_equal(scan_path_normalise("a/..b", out, sizeof out, SCAN_DOTDOT_RESOLVE), 5);
    assert_string_equal(out, "a/..b");
    assert_int_equal(scan_path_normalise("ab/../cdef", out, 4, SCAN_DOTDOT_RESOLVE), -1);
    assert_int_equal(scan_path_normalise("ab/../cde", out, 4, SCAN_DOTDOT_RESOLVE), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_whiteout),   cmocka_unit_test(test_fixture_overwritten),
        cmocka_unit_test(test_fixture_buildkit),   cmocka_unit_test(test_fixture_symlinks),
        cmocka_unit_test(test_fixture_oci),        cmocka_unit_test(test_fixture_platforms),
        cmocka_unit_test(test_fixture_multi_image), cmocka_unit_test(test_fixture_alpine),
        cmocka_unit_test(test_fixture_alpine_apk), cmocka_unit_test(test_failed_document),
        cmocka_unit_test(test_not_an_image),       cmocka_unit_test(test_built_docker_archive),
        cmocka_unit_test(test_built_oci),          cmocka_unit_test(test_corrupt_and_truncated),
        cmocka_unit_test(test_rootfs),             cmocka_unit_test(test_history_fixture),
        cmocka_unit_test(test_history_rules),      cmocka_unit_test(test_path_normalise),
        cmocka_unit_test(test_path_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
