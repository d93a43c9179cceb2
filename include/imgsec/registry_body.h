/* registry_body.h - the request bodies of the registry routes, checked
 * (docs/api.md "Registries"): AddRegistryRequestBody,
 * UpdateRegistryRequestBody and BatchDeleteRegistryRequestBody as JSON
 * objects already parsed. Every check is on types, enums and character
 * bounds; a refusal is IMGSEC_EINVAL (or ENOTFOUND for an id that cannot
 * be ours) whose message names the field and never quotes a value, so it
 * may be answered and logged even when the field is the password.
 */
#ifndef IMGSEC_REGISTRY_BODY_H
#define IMGSEC_REGISTRY_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/store_registries.h"

/* Checks body into f (its strings point into body, f->sealed left NULL)
 * and *password (into body, NULL when absent). add: the Add model (name,
 * type, protocol, addr required; api_version defaults to V2), else the
 * Update model (at least one field; name and type refused). */
int registry_body_check(const json_t *body, bool add, store_registry_fields *f,
                        const char **password, imgsec_err *err);

/* A registry id as the API writes it (a decimal string of 1-64
 * characters); 0 when text is no id imgsec ever gives. */
int64_t registry_id_parse(const char *text);

/* BatchDelete's {"ids": [...]}: 1..REG_PER_PROJECT_MAX distinct strings of
 * 1-64 characters into ids (>= REG_PER_PROJECT_MAX), *n their count. An
 * entry that is no id of ours is IMGSEC_ENOTFOUND naming ids[i]. */
int registry_ids_check(const json_t *body, int64_t *ids, size_t *n, imgsec_err *err);

#endif
