/* model.c - the value tables of imgsec/model.h.
 *
 * Every enum is a NULL-terminated name table indexed by the enum value;
 * parse and name functions and the "one of ..." lists for error messages
 * are all derived from those tables, so a value is spelled in one place.
 */
#include "imgsec/model.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const IMAGE_TYPE_NAMES[] = {
    "private_image", "shared_image", "local_image", "instance_image",
    "harbor", "jfrog", "cicd", NULL};
static const char *const SCAN_STATUS_NAMES[] = {
    "unscan", "success", "scanning", "failed", "download_failed", "image_oversized",
    "waiting_for_scan", NULL};
static const char *const SEVERITY_NAMES[] = {
    "unknown", "low", "medium", "high", "critical", NULL};
static const char *const SEVERITY_LEVEL_NAMES[] = {
    "Security", "Low", "Medium", "High", NULL};
static const char *const VUL_TYPE_NAMES[] = {"linux_vul", "app_vul", NULL};
static const char *const REPORT_TYPE_NAMES[] = {
    "vulnerability", "risk-config", "malwares", "apps", "files",
    "sensitive-info", "non-compliant-app", "build-command-risks", NULL};
static const char *const STANDARD_NAMES[] = {"cn_standard", "hw_standard", NULL};

static int table_find(const char *const *table, const char *s, int icase)
{
    if (!s)
        return -1;
    for (int i = 0; table[i]; i++)
        if (icase ? strcasecmp(table[i], s) == 0 : strcmp(table[i], s) == 0)
            return i;
    return -1;
}

const char *model_join_names(const char *const *names, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    return buf;
}

/* Builds "a, b, c" once into buf (tables are constant, so the text is too). */
static const char *table_choices(const char *const *table, char *buf, size_t size)
{
    return buf[0] ? buf : model_join_names(table, buf, size);
}

#define CHOICES(fn, table)                                       \
    const char *fn(void)                                         \
    {                                                            \
        static _Thread_local char buf[256];                      \
        return table_choices(table, buf, sizeof buf);            \
    }

int image_type_parse(const char *s) { return table_find(IMAGE_TYPE_NAMES, s, 0); }
const char *image_type_name(image_type t) { return IMAGE_TYPE_NAMES[t]; }
int scan_status_parse(const char *s) { return table_find(SCAN_STATUS_NAMES, s, 0); }
const char *scan_status_name(scan_status s) { return SCAN_STATUS_NAMES[s]; }
int severity_parse(const char *s) { return table_find(SEVERITY_NAMES, s, 1); }
const char *severity_name(severity s) { return SEVERITY_NAMES[s]; }
int severity_level_parse(const char *s) { return table_find(SEVERITY_LEVEL_NAMES, s, 0); }
const char *severity_level_name(severity_level l)
{
    return l < SEVERITY_LEVEL_COUNT ? SEVERITY_LEVEL_NAMES[l] : NULL;
}
int vul_type_parse(const char *s) { return table_find(VUL_TYPE_NAMES, s, 0); }
const char *vul_type_name(vul_type t) { return VUL_TYPE_NAMES[t]; }
int report_type_parse(const char *s) { return table_find(REPORT_TYPE_NAMES, s, 0); }
const char *report_type_name(report_type t) { return REPORT_TYPE_NAMES[t]; }

CHOICES(image_type_choices, IMAGE_TYPE_NAMES)
CHOICES(scan_status_choices, SCAN_STATUS_NAMES)
CHOICES(severity_level_choices, SEVERITY_LEVEL_NAMES)
CHOICES(vul_type_choices, VUL_TYPE_NAMES)
CHOICES(report_type_choices, REPORT_TYPE_NAMES)

const char *severity_choices(severity lowest, char *buf, size_t size)
{
    const char *names[SEVERITY_COUNT + 1];
    size_t n = 0;
    for (int s = SEVERITY_COUNT - 1; s >= (int)lowest; s--)
        names[n++] = SEVERITY_NAMES[s];
    names[n] = NULL;
    return model_join_names(names, buf, size);
}

bool model_scope_id_valid(const char *s)
{
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n >= MODEL_PROJECT_ID_MAX)
            return false;
    }
    return n > 0;
}

severity_level model_severity_level(scan_status status, int have_max, severity max_severity)
{
    if (status != SCAN_STATUS_SUCCESS)
        return SEVERITY_LEVEL_NONE;
    if (!have_max)
        return SEVERITY_LEVEL_SECURITY;
    switch (max_severity) {
    case SEVERITY_CRITICAL:
    case SEVERITY_HIGH: return SEVERITY_LEVEL_HIGH;
    case SEVERITY_MEDIUM: return SEVERITY_LEVEL_MEDIUM;
    default: return SEVERITY_LEVEL_LOW;
    }
}

severity_level model_image_severity_level(scan_status status, int have_max, severity max_severity,
                                          int64_t n_malware)
{
    if (n_malware > 0 && (!have_max || max_severity < SEVERITY_HIGH)) {
        have_max = 1;
        max_severity = SEVERITY_HIGH;
    }
    return model_severity_level(status, have_max, max_severity);
}

/* ---- record kinds (data-model.md "Records, one table per report type") ---- */

#define STR(n) {n, FIELD_STRING, false, NULL}
#define STR_REQ(n) {n, FIELD_STRING, true, NULL}
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const record_field VUL_FIELDS[] = {
    STR_REQ("vul_id"),
    {"vul_type", FIELD_ENUM, true, VUL_TYPE_NAMES},
    {"severity", FIELD_SEVERITY, true, NULL},
    STR("app_name"), STR("app_version"), STR("app_path"), STR("fixed_version"),
    {"cvss_score", FIELD_NUMBER, false, NULL},
    STR("description"), STR("solution"), STR("url"),
};
static const record_field RISK_CONFIG_FIELDS[] = {
    STR_REQ("check_name"), STR_REQ("check_rule_id"), STR("check_rule_name"), STR("check_type"),
    {"standard", FIELD_ENUM, false, STANDARD_NAMES},
    {"severity", FIELD_SEVERITY, true, NULL},
    STR("current_value"), STR("suggest_value"),
};
static const record_field MALWARE_FIELDS[] = {
    STR_REQ("file_path"), STR("file_name"), {"size", FIELD_INT64, false, NULL},
    STR("malware_name"), STR("description"), STR("sha256"),
};
static const record_field APP_FIELDS[] = {
    STR_REQ("app_name"), STR("app_version"), STR("app_type"), STR("app_path"),
    STR("layer_digest"), STR("license"),
    /* Package URL (purl-spec): ecosystem, distro and source package, so
     * vulnerabilities can be matched again from stored apps (vulndb). */
    STR("purl"),
};
static const record_field FILE_FIELDS[] = {
    STR_REQ("file_path"), STR("file_name"), {"size", FIELD_INT64, false, NULL},
    {"mode", FIELD_OCTAL, false, NULL}, STR("owner"),
};
static const record_field SENSITIVE_FIELDS[] = {
    STR_REQ("rule_id"), STR("name"), {"severity", FIELD_SEVERITY, true, NULL},
    STR_REQ("file_path"), STR("position"), STR("content"),
};
static const record_field NON_COMPLIANT_FIELDS[] = {
    STR_REQ("app_name"), STR("app_version"), STR("app_path"), STR("layer_digest"), STR("reason"),
};
static const record_field BUILD_FIELDS[] = {
    STR_REQ("rule_id"), STR_REQ("risk_name"), {"risk_level", FIELD_SEVERITY, true, NULL},
    STR_REQ("build_instruction"), STR("remediation"), STR("description"),
};

static const record_kind RECORD_KINDS[REPORT_TYPE_COUNT] = {
    {REPORT_VULNERABILITY, "vulnerability", "vulnerabilities", "rec_vulnerability",
     VUL_FIELDS, NFIELDS(VUL_FIELDS)},
    {REPORT_RISK_CONFIG, "risk-config", "risk_configs", "rec_risk_config",
     RISK_CONFIG_FIELDS, NFIELDS(RISK_CONFIG_FIELDS)},
    {REPORT_MALWARES, "malwares", "malwares", "rec_malware", MALWARE_FIELDS, NFIELDS(MALWARE_FIELDS)},
    {REPORT_APPS, "apps", "apps", "rec_app", APP_FIELDS, NFIELDS(APP_FIELDS)},
    {REPORT_FILES, "files", "files", "rec_file", FILE_FIELDS, NFIELDS(FILE_FIELDS)},
    {REPORT_SENSITIVE_INFO, "sensitive-info", "sensitive_info", "rec_sensitive_info",
     SENSITIVE_FIELDS, NFIELDS(SENSITIVE_FIELDS)},
    {REPORT_NON_COMPLIANT_APP, "non-compliant-app", "non_compliant_apps", "rec_non_compliant_app",
     NON_COMPLIANT_FIELDS, NFIELDS(NON_COMPLIANT_FIELDS)},
    {REPORT_BUILD_COMMAND_RISKS, "build-command-risks", "build_command_risks",
     "rec_build_command_risk", BUILD_FIELDS, NFIELDS(BUILD_FIELDS)},
};

const record_kind *record_kind_get(report_type t)
{
    return t < REPORT_TYPE_COUNT ? &RECORD_KINDS[t] : NULL;
}
