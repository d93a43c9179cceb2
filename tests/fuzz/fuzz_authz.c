/* fuzz_authz.c - libFuzzer target: the Authorization header parser, and
 * behind it the canonical request builder.
 * Input: "<Authorization value>" or "<Authorization value>\n<raw target>".
 * When the header parses, the canonical request of the raw target (with
 * fixed header values) is built and verified against a fixed SK. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fixed_header(void *arg, const char *name)
{
    (void)arg;
    if (strcmp(name, "host") == 0)
        return "127.0.0.1:8080";
    if (strcmp(name, "x-sdk-date") == 0)
        return "20261128T201500Z";
    if (strcmp(name, "content-type") == 0)
        return " application/json ";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = memchr(text, '\n', size);
    size_t hlen = nl ? (size_t)(nl - text) : size;
    if (nl)
        *nl = '\0';
    sign_auth a;
    imgsec_err err = {0};
    (void)sign_is_signed(text);
    if (sign_parse_authorization(text, strnlen(text, hlen), &a, &err) == IMGSEC_OK && nl) {
        sign_request r = {
            .method = "POST",
            .raw_target = nl + 1,
            .header = fixed_header,
            .body = (const unsigned char *)text,
            .body_len = hlen,
        };
        (void)sign_verify(&r, &a, "20261128T201500Z", "sk", 2);
    }
    int64_t ms;
    (void)sign_parse_date(text, &ms);
    free(text);
    return 0;
}
