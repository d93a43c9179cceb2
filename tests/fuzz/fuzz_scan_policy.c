/* fuzz_scan_policy.c - libFuzzer target: the non-compliant-app policy
 * file parser and validator (an_policy.c, --policy FILE), then the
 * policy's version order on the input's two halves. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/analyzers_risk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    imgsec_err err = {0};
    scan_policy_validate((const char *)data, size, &err);
    char *a = malloc(size + 2);
    if (!a)
        return 0;
    size_t h = size / 2;
    memcpy(a, data, h);
    a[h] = '\0';
    memcpy(a + h + 1, data + h, size - h);
    a[size + 1] = '\0';
    int x = scan_policy_vercmp(a, a + h + 1), y = scan_policy_vercmp(a + h + 1, a);
    if (strlen(a) == h && strlen(a + h + 1) == size - h && x != -y)
        abort(); /* the order must be antisymmetric */
    free(a);
    return 0;
}
