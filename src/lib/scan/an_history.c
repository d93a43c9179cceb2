/* an_history.c - the "history" analyzer: build-command-risks from the
 * image config (docs/scanning.md "history").
 *
 * Every history[].created_by is checked by the shared rules
 * (imgsec/buildrisk.h, the importers' too) except "runs as root", which is
 * decided once from what the image actually does: config.User empty,
 * "root" or uid 0 (with or without a group). Secrets are also looked for
 * in config.Env, where they stay even when no history line shows them
 * (a squashed or rewritten history). Instructions are stored redacted.
 */
#include "scan/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "imgsec/buildrisk.h"

static int emit(scan_result *res, const buildrisk_rule *r, const char *instruction,
                const char *description, imgsec_err *err)
{
    char *shown = buildrisk_redact(instruction);
    json_t *rec = json_object();
    int bad = !shown || !rec || scan_set_str(rec, "rule_id", r->rule_id) ||
              scan_set_str(rec, "risk_name", r->name) || scan_set_str(rec, "risk_level", r->level) ||
              scan_set_str(rec, "build_instruction", shown) ||
              scan_set_str(rec, "remediation", r->remediation) ||
              scan_set_str(rec, "description", description);
    free(shown);
    if (bad) {
        json_decref(rec);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    return scan_emit(res, REPORT_BUILD_COMMAND_RISKS, rec) ? err_set(err, IMGSEC_EINTERNAL, "out of memory")
                                                           : IMGSEC_OK;
}

static bool runs_as_root(const char *user)
{
    if (!user || !*user)
        return true;
    size_t n = strcspn(user, ":");
    return (n == 4 && strncmp(user, "root", 4) == 0) || (n == 1 && user[0] == '0');
}

/* Did a history line already report the secret NAME= of an Env entry? */
static bool in_history(const json_t *history, const char *env)
{
    const char *eq = strchr(env, '=');
    size_t n = eq ? (size_t)(eq - env) + 1 : strlen(env);
    for (size_t i = 0; i < json_array_size(history); i++) {
        const char *by = json_string_value(json_object_get(json_array_get(history, i), "created_by"));
        if (!by)
            continue;
        for (const char *p = strstr(by, env); p; p = strstr(p + 1, env))
            if (strncmp(p, env, n) == 0 && buildrisk_secret_assignment(by))
                return true;
        (void)n;
    }
    return false;
}

static int history_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)state;
    if (!img->config)
        return IMGSEC_OK;
    const json_t *history = json_object_get(img->config, "history");
    const json_t *cfg = json_object_get(img->config, "config");
    const char *last_user = NULL;
    int rc;
    for (size_t i = 0; i < json_array_size(history); i++) {
        const char *by = json_string_value(json_object_get(json_array_get(history, i), "created_by"));
        if (!by || !*by)
            continue;
        if (strstr(by, "USER "))
            last_user = by;
        for (size_t k = 0; k < buildrisk_rules_count; k++) {
            const buildrisk_rule *r = &buildrisk_rules[k];
            if (r != buildrisk_rule_root && r->match(by) &&
                (rc = emit(res, r, by, "found in the image's build history", err)))
                return rc;
        }
    }
    const json_t *env = json_object_get(cfg, "Env");
    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *e = json_string_value(json_array_get(env, i));
        if (!e || !buildrisk_secret_assignment(e) || in_history(history, e))
            continue;
        size_t n = strlen(e);
        char *line = malloc(n + 5);
        if (!line)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        memcpy(line, "ENV ", 4);
        memcpy(line + 4, e, n + 1);
        rc = emit(res, buildrisk_rule_secret, line, "found in the image config's Env", err);
        free(line);
        if (rc)
            return rc;
    }
    const char *user = json_string_value(json_object_get(cfg, "User"));
    if (runs_as_root(user))
        return emit(res, buildrisk_rule_root,
                    last_user ? last_user : (user && *user ? user : "USER (none: the default is root)"),
                    "the image config's User runs the container as root", err);
    return IMGSEC_OK;
}

const scan_analyzer scan_an_history = {
    .name = "history", .emits = REPORT_BUILD_COMMAND_RISKS, .finish = history_finish,
};
