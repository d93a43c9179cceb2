/* fuzz_scan_manifest.c - libFuzzer target: the JSON an image archive
 * carries (scan_int.h): the input is tried as an image config, an OCI
 * image manifest, a docker-save manifest.json (with and without --image)
 * and an OCI layout's index.json (resolved with its nested indexes, whose
 * blobs are absent: an error, never a crash). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    imgsec_err err = {0};
    json_t *config = NULL;
    char **ids = NULL;
    size_t n = 0;
    if (scan_parse_config(buf, size, &config, &ids, &n, &err) == IMGSEC_OK) {
        json_decref(config);
        scan_strv_free(ids, n);
    }
    scan_blob cfg;
    scan_blob *layers = NULL;
    if (scan_parse_manifest(buf, size, &cfg, &layers, &n, &err) == IMGSEC_OK) {
        scan_blob_free(&cfg);
        for (size_t i = 0; i < n; i++)
            scan_blob_free(&layers[i]);
        free(layers);
    }
    static const char *const pick[] = {NULL, "a/b:c"};
    for (int k = 0; k < 2; k++) {
        char *c = NULL, *tag = NULL, **ls = NULL;
        if (scan_parse_docker_manifest(buf, size, pick[k], &c, &ls, &n, &tag, &err) == IMGSEC_OK) {
            free(c);
            free(tag);
            scan_strv_free(ls, n);
        }
    }
    /* index.json of an OCI layout held in memory */
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    struct scan_member m = {.name = (char *)"index.json", .data = copy, .len = size};
    scan_plan plan = {.archive = (char *)"/nonexistent/fuzz.tar", .members = &m, .n_members = 1};
    scan_options opt = {.platform = "linux/arm64"};
    scan_plan_oci(&plan, &opt, &err);
    json_decref(plan.config);
    free(plan.config_digest);
    free(plan.manifest_digest);
    free(plan.repo_tag);
    scan_strv_free(plan.diff_ids, plan.n_layers);
    free(copy);
    return 0;
}
