/* fuzz_version.h - the body of the fuzz_version_<scheme> targets: the
 * input is two version strings separated by the first newline (or one
 * string compared with itself), compared under FUZZ_SCHEME both ways; the
 * answers must be opposite, and a string must equal itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[2 * VERSION_MAX + 4];
    if (size > sizeof buf - 1) size = sizeof buf - 1;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *a = buf, *b = strchr(buf, '\n');
    if (b) *b++ = '\0';
    else b = a;
    imgsec_err err = {0};
    int ab = 0, ba = 0, aa = 0;
    if (version_compare(FUZZ_SCHEME, a, b, &ab, &err) == IMGSEC_OK) {
        if (version_compare(FUZZ_SCHEME, b, a, &ba, &err) != IMGSEC_OK || ab != -ba) abort();
        if (version_compare(FUZZ_SCHEME, a, a, &aa, &err) != IMGSEC_OK || aa != 0) abort();
    }
    return 0;
}
