/* task_body.c - the task routes' bodies checked (task_body.h): small typed
 * getters over jansson, each refusal naming its field with its path
 * ("image_info[3].registry_id"), and the cross-field rules of the two
 * models checked after every field is. Nothing here allocates more than
 * TASK_SELECT_MAX entries, whatever the body says. */
#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"
#include "imgsec/registry_body.h"
#include "imgsec/task_body.h"
#include "imgsec/util.h"

#define bad(err, ...) err_set(err, IMGSEC_EINVAL, __VA_ARGS__)

/* A string of 0..chars characters at obj.key; *out NULL when absent or null. */
static int get_string(const json_t *obj, const char *where, const char *key, size_t chars,
                      const char **out, imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return IMGSEC_OK;
    if (!json_is_string(v) || util_utf8_chars(json_string_value(v), json_string_length(v)) > chars)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s%s must be a string of 0-%zu characters", where, key,
                       chars);
    *out = json_string_value(v);
    return IMGSEC_OK;
}

static int get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t dflt,
                   int64_t *out, imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return IMGSEC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must be an integer of %lld to %lld", key,
                       (long long)min, (long long)max);
    *out = json_integer_value(v);
    return IMGSEC_OK;
}

static int get_bool(const json_t *obj, const char *key, bool required, bool *out,
                    imgsec_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if ((!v || json_is_null(v)) && !required)
        return IMGSEC_OK;
    if (!json_is_boolean(v))
        return bad(err, "invalid parameter: %s must be true or false", key);
    *out = json_is_true(v);
    return IMGSEC_OK;
}

/* Keys of obj outside allowed: refused by name. */
static int only_keys(const json_t *obj, const char *where, const char *const *allowed,
                     imgsec_err *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k) == 0;
        if (!ok && !json_is_null(v))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s%.64s is not a filter imgsec supports", where, k);
    }
    return IMGSEC_OK;
}

static const char *const QUERY_KEYS[] = {"namespace", "image_name", "image_version", "image_type",
                                         NULL};
static const char *const REGISTRY_IMAGE_TYPES[] = {"private_image", "shared_image",
                                                   "instance_image", "harbor", "jfrog", NULL};

static int parse_query_info(const json_t *qi, store_task_query *q, imgsec_err *err)
{
    q->image_type = -1;
    if (!qi || json_is_null(qi))
        return IMGSEC_OK;
    if (!json_is_object(qi))
        return bad(err, "invalid parameter: query_info must be an object");
    int rc;
    const char *type;
    if ((rc = only_keys(qi, "query_info.", QUERY_KEYS, err)) ||
        (rc = get_string(qi, "query_info.", "namespace", 256, &q->namespace_, err)) ||
        (rc = get_string(qi, "query_info.", "image_name", 256, &q->image_name, err)) ||
        (rc = get_string(qi, "query_info.", "image_version", 128, &q->image_version, err)) ||
        (rc = get_string(qi, "query_info.", "image_type", 32, &type, err)))
        return rc;
    if (type) {
        for (size_t i = 0; REGISTRY_IMAGE_TYPES[i]; i++)
            if (strcmp(REGISTRY_IMAGE_TYPES[i], type) == 0)
                q->image_type = image_type_parse(type);
        if (q->image_type < 0)
            return bad(err,
                       "invalid parameter: query_info.image_type must be one of private_image, "
                       "shared_image, instance_image, harbor, jfrog");
    }
    return IMGSEC_OK;
}

/* image_info[i]: id, or registry_id with namespace / image_name /
 * image_version narrowing it; the list's other fields describe and are
 * not checked beyond their types. */
static int parse_image_info(const json_t *arr, store_task_select *sel, size_t *n, imgsec_err *err)
{
    *n = 0;
    if (!arr || json_is_null(arr))
        return IMGSEC_OK;
    if (!json_is_array(arr) || json_array_size(arr) > TASK_SELECT_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: image_info must be an array of at most %d images",
                       TASK_SELECT_MAX);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *it = json_array_get(arr, i);
        char where[40];
        snprintf(where, sizeof where, "image_info[%zu].", i);
        if (!json_is_object(it))
            return bad(err, "invalid parameter: %s must be an object", where);
        store_task_select *s = &sel[i];
        memset(s, 0, sizeof *s);
        const json_t *id = json_object_get(it, "id");
        if (id && !json_is_null(id)) {
            if (!json_is_integer(id) || json_integer_value(id) <= 0)
                return bad(err, "invalid parameter: %sid must be a positive integer", where);
            s->image_id = json_integer_value(id);
        }
        const char *reg, *ignored;
        int rc;
        if ((rc = get_string(it, where, "registry_id", REG_ID_CHARS, &reg, err)) ||
            (rc = get_string(it, where, "namespace", 256, &s->namespace_, err)) ||
            (rc = get_string(it, where, "image_name", 256, &s->image_name, err)) ||
            (rc = get_string(it, where, "image_version", 128, &s->image_version, err)))
            return rc;
        static const char *const DESCRIPTIVE[] = {"image_id",    "image_digest", "registry_name",
                                                  "instance_id", "instance_url", "registry_type",
                                                  NULL};
        for (size_t k = 0; DESCRIPTIVE[k]; k++)
            if ((rc = get_string(it, where, DESCRIPTIVE[k], 512, &ignored, err)))
                return rc;
        if (reg && !(s->registry_id = registry_id_parse(reg)))
            s->registry_id = INT64_MAX; /* not an id of ours: not the project's */
        if (!s->image_id && !s->registry_id)
            return bad(err, "invalid parameter: %sid or %sregistry_id is required", where, where);
        if (s->image_id)
            s->registry_id = 0;
        (*n)++;
    }
    return IMGSEC_OK;
}

int task_scan_body_check(const json_t *body, task_scan_body *b, imgsec_err *err)
{
    memset(b, 0, sizeof *b);
    int64_t scope = 0, rate = 0;
    static const char *const KEYS[] = {"scan_scope", "rate_limit", "is_all", "query_info",
                                       "image_info", NULL};
    int rc = only_keys(body, "", KEYS, err);
    if (rc == IMGSEC_OK)
        rc = get_int(body, "scan_scope", 0, 0x7fffffff, 0x7fffffff, &scope, err);
    if (rc == IMGSEC_OK)
        rc = get_int(body, "rate_limit", 0, 1000, 0, &rate, err);
    if (rc == IMGSEC_OK)
        rc = get_bool(body, "is_all", false, &b->is_all, err);
    b->scan_scope = (int)scope;
    b->rate_limit = (int)rate;
    if (rc == IMGSEC_OK)
        rc = parse_query_info(json_object_get(body, "query_info"), &b->q, err);
    if (rc == IMGSEC_OK) {
        const json_t *ii = json_object_get(body, "image_info");
        size_t cap = json_is_array(ii) && json_array_size(ii) <= TASK_SELECT_MAX
                         ? json_array_size(ii)
                         : 0;
        if (cap && !(b->sel = calloc(cap, sizeof *b->sel)))
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        else
            rc = parse_image_info(ii, b->sel, &b->n, err);
    }
    if (rc == IMGSEC_OK && b->is_all && b->n)
        rc = bad(err, "invalid parameter: image_info must be absent when is_all is true");
    if (rc == IMGSEC_OK && !b->is_all && !b->n)
        rc = bad(err, "invalid parameter: image_info must name images when is_all is false");
    if (rc == IMGSEC_OK && !b->is_all &&
        (b->q.namespace_ || b->q.image_name || b->q.image_version || b->q.image_type >= 0))
        rc = bad(err, "invalid parameter: query_info applies only when is_all is true");
    return rc;
}

void task_scan_body_free(task_scan_body *b)
{
    free(b->sel);
    b->sel = NULL;
    b->n = 0;
}

int task_sync_body_check(const json_t *body, bool *all, int64_t *ids, size_t *n,
                         imgsec_err *err)
{
    static const char *const KEYS[] = {"sync_all_registries", "registry_info", NULL};
    *all = false;
    *n = 0;
    int rc = only_keys(body, "", KEYS, err);
    if (rc == IMGSEC_OK)
        rc = get_bool(body, "sync_all_registries", true, all, err);
    const json_t *ri = json_object_get(body, "registry_info");
    if (rc == IMGSEC_OK && ri && !json_is_null(ri) &&
        (!json_is_array(ri) || json_array_size(ri) > TASK_SELECT_MAX))
        rc = err_set(err, IMGSEC_EINVAL,
                     "invalid parameter: registry_info must be an array of at most %d registries",
                     TASK_SELECT_MAX);
    for (size_t i = 0; rc == IMGSEC_OK && i < json_array_size(ri); i++) {
        const json_t *it = json_array_get(ri, i);
        char where[40];
        snprintf(where, sizeof where, "registry_info[%zu].", i);
        const char *id, *type;
        if (!json_is_object(it))
            return bad(err, "invalid parameter: %s must be an object", where);
        if ((rc = get_string(it, where, "registry_id", REG_ID_CHARS, &id, err)) ||
            (rc = get_string(it, where, "registry_type", 16, &type, err)))
            return rc;
        if (!id)
            return bad(err, "invalid parameter: %sregistry_id is required", where);
        ids[*n] = registry_id_parse(id);
        if (!ids[*n])
            ids[*n] = INT64_MAX; /* no registry of ours: not found by the store */
        (*n)++;
    }
    if (rc == IMGSEC_OK && *all && *n)
        rc = bad(err,
                 "invalid parameter: registry_info must be absent when sync_all_registries is "
                 "true");
    if (rc == IMGSEC_OK && !*all && !*n)
        rc = bad(err,
                 "invalid parameter: registry_info must name registries when "
                 "sync_all_registries is false");
    return rc;
}
