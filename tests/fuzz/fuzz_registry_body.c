/* fuzz_registry_body.c - libFuzzer target: the registry routes' bodies
 * (registry_body.h). Input: a request body. When it is a JSON object it
 * is checked as AddRegistry's, UpdateRegistry's and BatchDeleteRegistry's
 * body; on top of memory safety, the answer must not depend on the
 * password's text, only on its length (abort if it does). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/registry_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Characters (code points) of s. */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void check(json_t *body, bool add)
{
    store_registry_fields f;
    const char *pw = NULL;
    imgsec_err err = {0};
    int rc = registry_body_check(body, add, &f, &pw, &err);
    if (rc == IMGSEC_OK && add && (!f.name || !f.type || !f.protocol || !f.addr || !f.api_version))
        abort();
    /* The answer may depend on the password's length, never on its text:
     * the same body with another password of as many characters gets the
     * same code and message. */
    const char *given = json_string_value(json_object_get(body, "registry_password"));
    if (!given || strlen(given) != json_string_length(json_object_get(body, "registry_password")))
        return;
    size_t n = chars(given);
    char *other = malloc(n + 1);
    if (!other)
        return;
    memset(other, 'Q', n);
    other[n] = '\0';
    json_t *copy = json_deep_copy(body);
    json_object_set_new(copy, "registry_password", json_string(other));
    imgsec_err err2 = {0};
    int rc2 = registry_body_check(copy, add, &f, &pw, &err2);
    if (rc2 != rc || strcmp(err.msg, err2.msg) != 0)
        abort();
    json_decref(copy);
    free(other);
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
