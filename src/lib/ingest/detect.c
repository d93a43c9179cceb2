/* detect.c - which scanner wrote this JSON? (import_detect)
 *
 * Each format has a key no other one has at its top level, so detection
 * is a few lookups on the parsed root, checked in a fixed order; the
 * converter then checks the whole shape and refuses what does not fit. */
#include <string.h>

#include "imp_int.h"

import_format import_detect(const json_t *root)
{
    if (json_is_array(root))
        return IMPORT_NATIVE; /* an array of ingest documents */
    if (!json_is_object(root))
        return IMPORT_AUTO;
    const char *bom = json_string_value(json_object_get(root, "bomFormat"));
    const char *spdx = json_string_value(json_object_get(root, "spdxVersion"));
    if (json_is_object(json_object_get(root, "image")))
        return IMPORT_NATIVE;
    if (json_object_get(root, "SchemaVersion") &&
        (json_object_get(root, "Results") || json_object_get(root, "ArtifactName")))
        return IMPORT_TRIVY;
    if (bom && strcmp(bom, "CycloneDX") == 0)
        return IMPORT_CYCLONEDX;
    if (spdx && strncmp(spdx, "SPDX-", 5) == 0)
        return IMPORT_SPDX;
    if (json_is_array(json_object_get(root, "matches")))
        return IMPORT_GRYPE;
    if (json_is_array(json_object_get(root, "artifacts")))
        return IMPORT_SYFT;
    return IMPORT_AUTO;
}
