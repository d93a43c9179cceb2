/* fuzz_scan_registry.c - libFuzzer target: what a registry pull parses
 * before any manifest (scan_int.h): the input is tried as an image
 * reference (the command line's, e.g. from a scan task) and as a
 * WWW-Authenticate challenge (the registry's 401), and as a page of a
 * sync's catalog and tag lists. Manifests, indexes and
 * configs go through the parsers of fuzz_scan_manifest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    imgsec_err err = {0};
    scan_registry_ref ref;
    if (scan_registry_ref_parse(s, &ref, &err) == IMGSEC_OK &&
        (!ref.repo[0] || !ref.host[0] || (!ref.tag[0] && !ref.digest[0])))
        abort(); /* a parsed reference always names a host, a repository and a tag or digest */
    scan_registry_challenge c;
    scan_registry_challenge_parse(s, &c, &err);
    json_t *names = json_array();
    for (int repos = 0; repos < 2 && names; repos++) {
        if (scan_registry_list_parse((const char *)data, size, repos, names, "fuzz", &err) !=
                IMGSEC_OK &&
            json_array_size(names) != 0)
            abort(); /* a refused page names nothing */
        for (size_t i = 0; i < json_array_size(names); i++) {
            const char *n = json_string_value(json_array_get(names, i));
            if (!n || !*n || strlen(n) > 255 || strchr(n, '?') || strchr(n, '&') ||
                strchr(n, '%') || n[0] == '.' || strstr(n, "/.") || strstr(n, "//"))
                abort(); /* every name goes into a URL as it is: no query, no escape, no dot segment */
        }
    }
    json_decref(names);
    free(s);
    return 0;
}
