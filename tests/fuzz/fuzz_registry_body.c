/* fuzz_registry_body.c - libFuzzer target: the registry routes' bodies
 * (registry_body.h). Input: a request body. When it is a JSON object it
 * is checked as AddRegistry's, UpdateRegistry's and BatchDeleteRegistry's
 * body; on top of memory safety, a refusal's message must never quote the
 * password (abort if it does). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/registry_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const json_t *body, bool add)
{
    store_registry_fields f;
    const char *pw = NULL;
    imgsec_err err = {0};
    int rc = registry_body_check(body, add, &f, &pw, &err);
    const char *given = json_string_value(json_object_get(body, "registry_password"));
    if (rc != IMGSEC_OK && given && strlen(given) >= 6 && strstr(err.msg, given))
        abort();
    if (rc == IMGSEC_OK && add && (!f.name || !f.type || !f.protocol || !f.addr || !f.api_version))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    check(body, true);
    check(body, false);
    int64_t ids[REG_PER_PROJECT_MAX];
    size_t n;
    imgsec_err err = {0};
    if (registry_ids_check(body, ids, &n, &err) == IMGSEC_OK && (n < 1 || n > REG_PER_PROJECT_MAX))
        abort();
    json_decref(body);
    return 0;
}
