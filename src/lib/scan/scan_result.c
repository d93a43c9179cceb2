/* scan_result.c - what analyzers emit into (scan_int.h). */
#include "scan/scan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

scan_result *scan_result_new(void)
{
    scan_result *res = calloc(1, sizeof *res);
    if (!res)
        return NULL;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (!(res->records[t] = json_array()))
            goto fail;
    if (!(res->warnings = json_array()))
        goto fail;
    return res;
fail:
    scan_result_free(res);
    return NULL;
}

void scan_result_free(scan_result *res)
{
    if (!res)
        return;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        json_decref(res->records[t]);
    json_decref(res->warnings);
    free(res->os_id);
    free(res->os_version);
    for (size_t i = 0; i < sizeof res->info_strings / sizeof res->info_strings[0]; i++)
        free(res->info_strings[i]);
    free(res);
}

int scan_emit(scan_result *res, report_type t, json_t *rec)
{
    if (!rec || (unsigned)t >= REPORT_TYPE_COUNT || json_array_append_new(res->records[t], rec) != 0) {
        res->oom = 1;
        return -1;
    }
    return 0;
}

void scan_set_os(scan_result *res, const char *id, const char *version_id)
{
    if (res->os_id || !id || !*id)
        return;
    res->os_id = strdup(id);
    res->os_version = version_id && *version_id ? strdup(version_id) : NULL;
    if (!res->os_id || (version_id && *version_id && !res->os_version))
        res->oom = 1;
}

const char *scan_os_id(const scan_result *res)
{
    return res->os_id;
}

const char *scan_os_version(const scan_result *res)
{
    return res->os_version;
}

void scan_warn(scan_result *res, const char *fmt, ...)
{
    if (json_array_size(res->warnings) >= SCAN_WARN_MAX) {
        res->warnings_dropped++;
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_t *s = json_string(buf);
    if (!s) { /* not UTF-8 (a path from the image): keep it readable as ASCII */
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        s = json_string(buf);
    }
    if (json_array_append_new(res->warnings, s) != 0)
        res->oom = 1;
}
