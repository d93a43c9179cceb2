/* registry_body.c - see registry_body.h. */
#include "imgsec/registry_body.h"

#include <string.h>

#include "imgsec/model.h"
#include "imgsec/util.h"

static const char *const ADD_TYPES[] = {"Harbor", "Jfrog", "Other", NULL};
static const char *const API_VERSIONS[] = {"V1", "V2", NULL};
static const char *const PROTOCOLS[] = {"http", "https", NULL};
static const char *const CHANNELS[] = {"Swr", "Other", NULL};

/* A body's string fields: key, bound in characters, allowed values (NULL:
 * any text without control characters), where it goes. */
typedef struct {
    const char *key;
    size_t max_chars;
    const char *const *values;
    size_t offset; /* of the const char * in store_registry_fields */
    bool update;   /* in UpdateRegistryRequestBody */
} body_field;

#define AT(m) offsetof(store_registry_fields, m)
static const body_field BODY_FIELDS[] = {
    {"registry_name", REG_NAME_CHARS, NULL, AT(name), false},
    {"registry_type", 16, ADD_TYPES, AT(type), false},
    {"api_version", 2, API_VERSIONS, AT(api_version), true},
    {"protocol", 5, PROTOCOLS, AT(protocol), true},
    {"registry_addr", REG_ADDR_CHARS, NULL, AT(addr), true},
    {"registry_username", REG_USER_CHARS, NULL, AT(username), true},
    {"namespace", REG_NAMESPACE_CHARS, NULL, AT(namespace_), true},
    {"connect_cluster_id", REG_CLUSTER_CHARS, NULL, AT(cluster_id), true},
    {"get_scan_image_channel", 5, CHANNELS, AT(channel), true},
};
#define NBODY (sizeof BODY_FIELDS / sizeof BODY_FIELDS[0])

/* Characters (code points) of s; jansson has checked it is UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool in_list(const char *v, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return true;
    return false;
}

/* HOST or HOST:PORT as the model's "网址/IP:端口" (no scheme, no path,
 * no user info): letters, digits and . - _ : [ ] only. */
static bool addr_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(".-_:[]", *s)))
            return false;
    return true;
}

/* The string value of v, or NULL if v is no string or holds a NUL. */
static const char *string_of(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && json_string_length(v) == strlen(s) ? s : NULL;
}

int registry_body_check(const json_t *body, bool add, store_registry_fields *f,
                        const char **password, imgsec_err *err)
{
    memset(f, 0, sizeof *f);
    *password = NULL;
    size_t given = 0;
    for (size_t i = 0; i < NBODY; i++) {
        const body_field *bf = &BODY_FIELDS[i];
        json_t *v = json_object_get(body, bf->key);
        if (!v || json_is_null(v))
            continue;
        if (!add && !bf->update)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s cannot be changed",
                           bf->key);
        const char *s = string_of(v);
        if (!s)
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be a string", bf->key);
        char list[128];
        if (bf->values && !in_list(s, bf->values))
            return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be one of %s", bf->key,
                           model_join_names(bf->values, list, sizeof list));
        size_t n = utf8_chars(s);
        if (n < 1 || n > bf->max_chars || has_control(s))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s must be 1 to %zu characters without control "
                           "characters",
                           bf->key, bf->max_chars);
        if (strcmp(bf->key, "registry_addr") == 0 && !addr_ok(s))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_addr must be HOST or HOST:PORT (no "
                           "scheme: that is protocol's)");
        *(const char **)((char *)f + bf->offset) = s;
        given++;
    }
    json_t *pw = json_object_get(body, "registry_password");
    const char *p = NULL;
    if (pw && !json_is_null(pw)) {
        if (!(p = string_of(pw)))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_password must be a string");
        size_t n = utf8_chars(p);
        if (n < 1 || n > REG_PASSWORD_CHARS)
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: registry_password must be 1 to %d characters",
                           REG_PASSWORD_CHARS);
        given++;
    }
    if (!f->username != !p)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s: registry_username and registry_password go "
                       "together",
                       f->username ? "registry_password" : "registry_username");
    if (f->channel && strcmp(f->channel, "Other") == 0 && !f->namespace_)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: namespace is required when get_scan_image_channel "
                       "is Other");
    if (add) {
        static const char *const REQUIRED[] = {"registry_name", "registry_type", "protocol",
                                               "registry_addr"};
        const char *have[] = {f->name, f->type, f->protocol, f->addr};
        for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
            if (!have[i])
                return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s is required",
                               REQUIRED[i]);
        if (!f->api_version)
            f->api_version = "V2";
    } else if (given == 0) {
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: body names no field to change");
    }
    *password = p;
    return IMGSEC_OK;
}

int64_t registry_id_parse(const char *text)
{
    int64_t id;
    if (!text || strlen(text) > REG_ID_CHARS || !util_parse_int64(text, &id) || id <= 0)
        return 0;
    return id;
}

int registry_ids_check(const json_t *body, int64_t *ids, size_t *n, imgsec_err *err)
{
    const json_t *list = json_object_get(body, "ids");
    *n = json_array_size(list);
    if (!json_is_array(list) || *n < 1 || *n > REG_PER_PROJECT_MAX)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: ids must be an array of 1 to %d registry ids",
                       REG_PER_PROJECT_MAX);
    for (size_t i = 0; i < *n; i++) {
        const char *s = string_of(json_array_get(list, i));
        if (!s || utf8_chars(s) < 1 || utf8_chars(s) > REG_ID_CHARS)
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: ids[%zu] must be a string of 1 to %d characters",
                           i, REG_ID_CHARS);
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(list, j)), s) == 0)
                return err_set(err, IMGSEC_EINVAL,
                               "invalid parameter: ids[%zu] repeats ids[%zu]", i, j);
        if (!(ids[i] = registry_id_parse(s)))
            return err_set(err, IMGSEC_ENOTFOUND,
                           "invalid parameter: ids[%zu]: the project has no such registry", i);
    }
    return IMGSEC_OK;
}
