/* query.c - query parameters (query.h). libmicrohttpd has already split
 * and percent-decoded the query; a key without '=' comes with a NULL
 * value, which is where a bare key becomes "". */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/model.h"

const char *http_query(request *req, const char *name)
{
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      NULL) != MHD_YES)
        return NULL;
    return v ? v : "";
}

typedef struct {
    const char *name;
    const char **out;
    size_t cap, n;
} values_walk;

static enum MHD_Result values_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)value_size;
    values_walk *w = cls;
    if (key && strlen(w->name) == key_size && memcmp(key, w->name, key_size) == 0) {
        if (w->n < w->cap)
            w->out[w->n] = value ? value : "";
        w->n++;
    }
    return MHD_YES;
}

size_t query_values(request *req, const char *name, const char **out, size_t cap)
{
    values_walk w = {name, out, cap, 0};
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, values_cb, &w);
    return w.n;
}

/* The one value of a scalar parameter; NULL when not given (absent or "").
 * Replies and sets *bad when it is given more than once. */
static const char *scalar(request *req, const char *name, bool *bad)
{
    const char *v[2];
    size_t n = query_values(req, name, v, 2);
    *bad = false;
    if (n == 0)
        return NULL;
    if (n > 1) {
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: %s is given more than once",
                         name);
        *bad = true;
        return NULL;
    }
    return *v[0] ? v[0] : NULL;
}

/* Characters (UTF-8 code points) of s. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

bool query_string(request *req, const char *name, size_t max_len, const char **out)
{
    bool bad;
    *out = scalar(req, name, &bad);
    if (bad)
        return false;
    if (*out && utf8_chars(*out) > max_len) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: %s must be at most %zu characters", name, max_len);
        return false;
    }
    return true;
}

bool query_int(request *req, const char *name, int64_t min, int64_t max, int64_t dflt,
               int64_t *out, bool *given)
{
    bool bad;
    const char *v = scalar(req, name, &bad);
    if (given)
        *given = false;
    *out = dflt;
    if (bad)
        return false;
    if (!v)
        return true;
    if (!util_parse_int64(v, out) || *out < min || *out > max) {
        http_reply_error(req, 400, "HSS.0001",
                         "invalid parameter: %s must be an integer from %lld to %lld", name,
                         (long long)min, (long long)max);
        return false;
    }
    if (given)
        *given = true;
    return true;
}

bool query_bool(request *req, const char *name, bool *out, bool *given)
{
    bool bad;
    const char *v = scalar(req, name, &bad);
    if (given)
        *given = false;
    if (bad)
        return false;
    if (!v)
        return true;
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
        http_reply_error(req, 400, "HSS.0001", "invalid parameter: %s must be true or false",
                         name);
        return false;
    }
    *out = v[0] == 't';
    if (given)
        *given = true;
    return true;
}

bool query_enum(request *req, const char *name, const char *const *names, int *out)
{
    bool bad;
    const char *v = scalar(req, name, &bad);
    *out = -1;
    if (bad)
        return false;
    if (!v)
        return true;
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return true;
        }
    char list[512];
    http_reply_error(req, 400, "HSS.0001", "invalid parameter: %s must be one of %s", name,
                     model_join_names(names, list, sizeof list));
    return false;
}

bool query_page(request *req, int64_t limit_min, int64_t *offset, int64_t *limit)
{
    return query_int(req, "offset", 0, QUERY_OFFSET_MAX, 0, offset, NULL) &&
           query_int(req, "limit", limit_min, QUERY_LIMIT_MAX, QUERY_LIMIT_DEFAULT, limit, NULL);
}
