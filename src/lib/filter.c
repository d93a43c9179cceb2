/* filter.c - the statistic request body, validated into a stat_query
 * (imgsec/filter.h, statistic.md "Body fields").
 *
 * Why it is shaped this way: every body field is one of six shapes (bool,
 * tri-state bool, int64 >= 0, bounded string, enum, bounded string list),
 * so there is one small reader per shape and filter_from_json is the body
 * table of statistic.md written as a list of reader calls, in table order.
 * Each reader treats an absent key and JSON null alike (statistic.md) and
 * names the key in its error, so the first offending field is reported.
 * Cross-field rules (start <= end, operate_all) run after every field has
 * passed its own check. Nothing is copied: strings are borrowed from the
 * body, lists are arrays of borrowed pointers.
 *
 * Decisions where the spec is silent:
 * - Lengths ("chars") count UTF-8 code points; jansson guarantees valid
 *   UTF-8. Strings holding a NUL character are refused, since the C
 *   string seen by the index would be a truncated filter.
 * - With operate_all true, image_id_list is still checked (a malformed
 *   body is malformed whatever it asks for) but then dropped from the
 *   query (image_ids NULL, n_image_ids 0), so no consumer can use it.
 * - An empty substring/exact filter ("") is stored as NULL: both mean
 *   "filters nothing" (filter.h), NULL is the one consumers test.
 * - Duplicate ids in a list are kept; the index deduplicates.
 */
#include "imgsec/filter.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"

static int invalid_type(imgsec_err *err, const char *key, const char *what)
{
    return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be %s", key, what);
}

/* The value of key, or NULL when absent or null. */
static const json_t *field(const json_t *body, const char *key)
{
    const json_t *v = json_object_get(body, key);
    return json_is_null(v) ? NULL : v;
}

/* A string of min..max UTF-8 code points without NUL characters. */
static bool string_fits(const json_t *v, size_t min, size_t max)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len)
        return false;
    size_t chars = util_utf8_chars(s, len);
    return chars >= min && chars <= max;
}

/* ---- one reader per field shape ---- */

static int read_bool(const json_t *body, const char *key, bool *out, imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    if (!json_is_boolean(v))
        return invalid_type(err, key, "true or false");
    *out = json_is_true(v);
    return IMGSEC_OK;
}

static int read_tri(const json_t *body, const char *key, tri_bool *out, imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    if (!json_is_boolean(v))
        return invalid_type(err, key, "true or false");
    *out = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
    return IMGSEC_OK;
}

static int read_int64(const json_t *body, const char *key, bool *has, int64_t *out,
                      imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return invalid_type(err, key, "an integer >= 0");
    *has = true;
    *out = (int64_t)json_integer_value(v);
    return IMGSEC_OK;
}

/* "" is stored as NULL (see the top comment). */
static int read_string(const json_t *body, const char *key, size_t min, size_t max,
                       const char **out, imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    if (!string_fits(v, min, max))
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must be a string of %zu-%zu characters", key, min,
                       max);
    *out = json_string_length(v) ? json_string_value(v) : NULL;
    return IMGSEC_OK;
}

/* choices() spells the accepted values for the error message: it is only
 * called on that path. */
static int read_enum(const json_t *body, const char *key, int (*parse)(const char *),
                     const char *(*choices)(void), int *out, imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    int value = json_is_string(v) ? parse(json_string_value(v)) : -1;
    if (value < 0)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must be one of %s", key,
                       choices());
    *out = value;
    return IMGSEC_OK;
}

static int read_list(const json_t *body, const char *key, size_t max_items, size_t item_max,
                     const char ***out, size_t *n, imgsec_err *err)
{
    const json_t *v = field(body, key);
    if (!v)
        return IMGSEC_OK;
    if (!json_is_array(v))
        return invalid_type(err, key, "an array of strings");
    size_t count = json_array_size(v);
    if (count > max_items)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s must have at most %zu items",
                       key, max_items);
    for (size_t i = 0; i < count; i++)
        if (!string_fits(json_array_get(v, i), 1, item_max))
            return err_set(err, IMGSEC_EINVAL,
                           "invalid parameter: %s[%zu] must be a string of 1-%zu characters", key,
                           i, item_max);
    if (count == 0)
        return IMGSEC_OK;
    const char **items = malloc(count * sizeof *items);
    if (!items)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; i < count; i++)
        items[i] = json_string_value(json_array_get(v, i));
    *out = items;
    *n = count;
    return IMGSEC_OK;
}

/* build_command_risk_level: a record severity other than unknown, spelled
 * exactly as model.c spells it (lower-case; severity_parse ignores case). */
static int parse_build_level(const char *s)
{
    int level = severity_parse(s);
    if (level <= (int)SEVERITY_UNKNOWN || strcmp(s, severity_name((severity)level)) != 0)
        return -1;
    return level;
}

/* "critical, high, medium, low", built once per thread like model.c's
 * other choices (the table is constant, so the text is too). */
static const char *build_level_choices(void)
{
    static _Thread_local char buf[64];
    return buf[0] ? buf : severity_choices(SEVERITY_LOW, buf, sizeof buf);
}

static int check_range(bool has_start, int64_t start, bool has_end, int64_t end,
                       const char *start_key, const char *end_key, imgsec_err *err)
{
    if (has_start && has_end && start > end)
        return err_set(err, IMGSEC_EINVAL,
                       "invalid parameter: %s must not be greater than %s", start_key, end_key);
    return IMGSEC_OK;
}

/* Everything but q->report, which filter_from_json's caller may set after. */
static void query_reset(stat_query *q)
{
    _Static_assert(offsetof(stat_query, report) == 0, "report must stay the first member");
    const size_t from = offsetof(stat_query, operate_all);
    memset((char *)q + from, 0, sizeof *q - from);
    q->image_type = q->scan_status = q->severity_level = -1;
    q->vul_type = q->build_level = -1;
    q->has_malicious_file = q->has_vul = q->has_unsafe_setting = q->has_container = q->risky =
        TRI_ANY;
}

void filter_init(stat_query *q, report_type report)
{
    q->report = report;
    query_reset(q);
}

/* ---- the body ---- */

int filter_from_json(const json_t *body, stat_query *q, imgsec_err *err)
{
    int rc;

    query_reset(q);
    /* An absent or null body is {} (statistic.md): every reader then sees
     * absent keys, and the operate_all rule below still applies. */
    if (json_is_null(body))
        body = NULL;
    if (body && !json_is_object(body))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: the body must be a JSON object");

#define TRY(call)                 \
    do {                          \
        if ((rc = (call)) != 0)   \
            goto fail;            \
    } while (0)

    TRY(read_bool(body, "operate_all", &q->operate_all, err));
    TRY(read_list(body, "image_id_list", FILTER_IMAGE_ID_LIST_MAX, FILTER_IMAGE_ID_ITEM_MAX,
                  &q->image_ids, &q->n_image_ids, err));
    TRY(read_enum(body, "image_type", image_type_parse, image_type_choices, &q->image_type, err));
    TRY(read_enum(body, "scan_status", scan_status_parse, scan_status_choices, &q->scan_status,
                  err));
#define READ_IMAGE_STRING(m, key, dmin, dmax, filter, fmax, ...)                                \
    TRY(read_string(body, key, 0, fmax, &q->m, err));
    MODEL_IMAGE_FILTER_STRINGS(READ_IMAGE_STRING)
#undef READ_IMAGE_STRING
    TRY(read_bool(body, "latest_version", &q->latest_version, err));
    TRY(read_int64(body, "image_size", &q->has_image_size, &q->image_size, err));
    TRY(read_int64(body, "start_latest_update_time", &q->has_update_start, &q->update_start, err));
    TRY(read_int64(body, "end_latest_update_time", &q->has_update_end, &q->update_end, err));
    TRY(read_int64(body, "start_latest_scan_time", &q->has_scan_start, &q->scan_start, err));
    TRY(read_int64(body, "end_latest_scan_time", &q->has_scan_end, &q->scan_end, err));
    TRY(read_tri(body, "has_malicious_file", &q->has_malicious_file, err));
    TRY(read_tri(body, "has_vul", &q->has_vul, err));
    TRY(read_tri(body, "has_unsafe_setting", &q->has_unsafe_setting, err));
    TRY(read_tri(body, "has_container", &q->has_container, err));
    TRY(read_tri(body, "risky", &q->risky, err));
    TRY(read_enum(body, "severity_level", severity_level_parse, severity_level_choices,
                  &q->severity_level, err));
    /* Record filters: validated whatever the report type (statistic.md). */
    TRY(read_enum(body, "vul_type", vul_type_parse, vul_type_choices, &q->vul_type, err));
    TRY(read_list(body, "vul_id_list", FILTER_VUL_ID_LIST_MAX, FILTER_VUL_ID_ITEM_MAX,
                  &q->vul_ids, &q->n_vul_ids, err));
    TRY(read_enum(body, "build_command_risk_level", parse_build_level, build_level_choices,
                  &q->build_level, err));
    TRY(read_string(body, "build_command_risk_name", 1, FILTER_SHORT_STRING_MAX, &q->build_name,
                    err));
    TRY(read_list(body, "build_command_rule_id_list", FILTER_RULE_ID_LIST_MAX,
                  FILTER_RULE_ID_ITEM_MAX, &q->build_rule_ids, &q->n_build_rule_ids, err));
#undef TRY

    if ((rc = check_range(q->has_update_start, q->update_start, q->has_update_end, q->update_end,
                          "start_latest_update_time", "end_latest_update_time", err)) ||
        (rc = check_range(q->has_scan_start, q->scan_start, q->has_scan_end, q->scan_end,
                          "start_latest_scan_time", "end_latest_scan_time", err)))
        goto fail;

    if (q->operate_all) {
        free(q->image_ids); /* ignored when operate_all is true (statistic.md) */
        q->image_ids = NULL;
        q->n_image_ids = 0;
    } else if (q->n_image_ids == 0) {
        rc = err_set(err, IMGSEC_EINVAL,
                     "invalid parameter: image_id_list must not be empty unless operate_all is true");
        goto fail;
    }
    return IMGSEC_OK;

fail:
    filter_free(q);
    return rc;
}

void filter_free(stat_query *q)
{
    if (!q)
        return;
    free(q->image_ids);
    free(q->vul_ids);
    free(q->build_rule_ids);
    q->image_ids = q->vul_ids = q->build_rule_ids = NULL;
    q->n_image_ids = q->n_vul_ids = q->n_build_rule_ids = 0;
}
