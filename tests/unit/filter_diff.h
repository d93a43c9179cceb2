/* filter_diff.h - the statistic body's two front ends must agree
 * (filter.c): for any text, filter_from_text either says FILTER_NOT_PLAIN
 * or gives exactly what the route's other way gives (blank text is {},
 * else json_loadb, an object, filter_from_json): the same code and
 * message, or the same query, field by field and list item by list item.
 * Header-only: test_filter.c runs it on every body it tries, and the
 * fuzz target fuzz_statistic on every input. */
#ifndef IMGSEC_FILTER_DIFF_H
#define IMGSEC_FILTER_DIFF_H

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/filter.h"
#include "imgsec/util.h"

static inline void filter_diff_list(util_buf *b, const char *name, const char **items, size_t n)
{
    util_buf_printf(b, "%s[%zu]:", name, n);
    for (size_t i = 0; i < n; i++)
        util_buf_printf(b, "%zu:%s,", strlen(items[i]), items[i]);
    util_buf_printf(b, "\n");
}

/* Every member of q, in order, as text (malloc'd). */
static inline char *filter_diff_dump(const stat_query *q)
{
    util_buf b = {0};
    util_buf_printf(&b, "operate_all=%d\n", q->operate_all);
    filter_diff_list(&b, "image_ids", q->image_ids, q->n_image_ids);
    util_buf_printf(&b, "image_type=%d scan_status=%d\n", q->image_type, q->scan_status);
#define FILTER_DIFF_STRING(m, key, ...)                                                            \
    util_buf_printf(&b, "%s=%s%s\n", key, q->m ? "\"" : "NULL", q->m ? q->m : "");
    MODEL_IMAGE_FILTER_STRINGS(FILTER_DIFF_STRING)
#undef FILTER_DIFF_STRING
    util_buf_printf(&b, "latest_version=%d size=%d:%lld\n", q->latest_version, q->has_image_size,
                    (long long)q->image_size);
    util_buf_printf(&b, "update=%d:%lld..%d:%lld scan=%d:%lld..%d:%lld\n", q->has_update_start,
                    (long long)q->update_start, q->has_update_end, (long long)q->update_end,
                    q->has_scan_start, (long long)q->scan_start, q->has_scan_end,
                    (long long)q->scan_end);
    util_buf_printf(&b, "tri=%d,%d,%d,%d,%d severity_level=%d vul_type=%d build_level=%d\n",
                    (int)q->has_malicious_file, (int)q->has_vul, (int)q->has_unsafe_setting,
                    (int)q->has_container, (int)q->risky, q->severity_level, q->vul_type,
                    q->build_level);
    filter_diff_list(&b, "vul_ids", q->vul_ids, q->n_vul_ids);
    util_buf_printf(&b, "build_name=%s%s\n", q->build_name ? "\"" : "NULL",
                    q->build_name ? q->build_name : "");
    filter_diff_list(&b, "build_rule_ids", q->build_rule_ids, q->n_build_rule_ids);
    if (b.failed)
        abort();
    return b.buf;
}

/* The outcome of one front end as text: "error CODE: MESSAGE" or the dump. */
static inline char *filter_diff_outcome(int rc, const stat_query *q, const imgsec_err *err)
{
    if (rc != IMGSEC_OK) {
        util_buf b = {0};
        util_buf_printf(&b, "error %d: %s", rc, err->msg);
        return b.buf;
    }
    return filter_diff_dump(q);
}

static inline bool filter_diff_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)p[i]))
            return false;
    return true;
}

/* true when the two agree; *plain (may be NULL) tells whether the text
 * front end took the text. On a difference, why gets both outcomes. */
static inline bool filter_diff_text(const char *text, size_t len, bool *plain, char *why,
                                    size_t cap)
{
    stat_query qf, qj;
    imgsec_err ef = {0}, ej = {0};
    int rf = filter_from_text(text, len, &qf, &ef);
    if (plain)
        *plain = rf != FILTER_NOT_PLAIN;
    if (rf == FILTER_NOT_PLAIN)
        return true;
    char *of = filter_diff_outcome(rf, &qf, &ef);
    if (rf == IMGSEC_OK)
        filter_free(&qf);
    json_error_t jerr;
    json_t *body = filter_diff_blank(text, len) ? json_object() : json_loadb(text, len, 0, &jerr);
    char *oj;
    if (!body || !json_is_object(body)) {
        util_buf b = {0};
        util_buf_printf(&b, "jansson: %s", body ? "not an object" : jerr.text);
        oj = b.buf;
    } else {
        int rj = filter_from_json(body, &qj, &ej);
        oj = filter_diff_outcome(rj, &qj, &ej);
        if (rj == IMGSEC_OK)
            filter_free(&qj);
    }
    json_decref(body);
    bool same = strcmp(of, oj) == 0;
    if (!same)
        snprintf(why, cap, "text front end:\n%s\njansson:\n%s", of, oj);
    free(of);
    free(oj);
    return same;
}

#endif
