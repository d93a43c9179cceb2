/* trivy.c - Trivy JSON reports (SchemaVersion 2) -> one ingest document.
 *
 * One Trivy report describes one artifact: Results[] holds one entry per
 * target (the OS packages, each lock file, each config file, each file
 * with secrets), each with its own finding lists. We walk them in order
 * and append records as we go; the mapping is docs/importers.md "Trivy".
 * Anything the report holds that has no record type (passed checks,
 * license notices) is skipped, never invented. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/util.h"
#include "imp_int.h"

#define AT(buf, ...) imp_at(buf, sizeof buf, __VA_ARGS__)

const char *const IMP_TRIVY_LISTS[IMP_TRIVY_NLISTS] = {"Vulnerabilities", "Misconfigurations",
                                                      "Secrets", "Licenses", "Packages"};

/* CVSS score: nvd's V3Score, else the highest V3Score, else the highest V2Score. */
static int cvss_score(const json_t *cvss, double *out)
{
    const json_t *nvd = json_object_get(cvss, "nvd");
    const json_t *v = nvd ? json_object_get(nvd, "V3Score") : NULL;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    double best3 = -1, best2 = -1;
    const char *key;
    const json_t *vendor;
    json_object_foreach((json_t *)cvss, key, vendor) {
        const json_t *s3 = json_object_get(vendor, "V3Score"), *s2 = json_object_get(vendor, "V2Score");
        if (json_is_number(s3) && json_number_value(s3) > best3)
            best3 = json_number_value(s3);
        if (json_is_number(s2) && json_number_value(s2) > best2)
            best2 = json_number_value(s2);
    }
    *out = best3 >= 0 ? best3 : best2;
    return *out >= 0;
}

static const char *layer_digest(const json_t *item)
{
    const json_t *layer = json_object_get(item, "Layer");
    const char *d = json_string_value(json_object_get(layer, "Digest"));
    return d ? d : json_string_value(json_object_get(layer, "DiffID"));
}

static const char *pkg_purl(const json_t *item)
{
    return json_string_value(json_object_get(json_object_get(item, "PkgIdentifier"), "PURL"));
}

/* Is this result's package list an OS one? Class says so (Trivy >= 0.20);
 * without Class, the package's purl type decides. */
static int os_class(const char *cls, const char *purl)
{
    char t[32];
    if (cls && strcmp(cls, "os-pkgs") == 0)
        return 1;
    if (cls && strcmp(cls, "lang-pkgs") == 0)
        return 0;
    return imp_is_os_pkg_type(imp_purl_type(purl, t, sizeof t));
}

static int severity_of(imp_ctx *c, const json_t *item, const char *at, const char *key,
                       const char **out)
{
    const char *s;
    int rc = imp_str(c, item, at, key, &s);
    if (rc)
        return rc;
    if (!(*out = imp_severity(s))) {
        char where[IMP_AT_MAX];
        AT(where, "%s.%s", at, key);
        return imp_fail(c, where, "must be one of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN");
    }
    return IMGSEC_OK;
}

static int required(imp_ctx *c, const json_t *item, const char *at, const char *key,
                    const char **out)
{
    int rc = imp_str(c, item, at, key, out);
    if (!rc && (!*out || !**out))
        return imp_fail_required(c, at, key);
    return rc;
}

static int vulnerability(imp_ctx *c, json_t *doc, const json_t *v, const char *at, int os)
{
    const char *id, *sev, *name, *ver, *path, *fixed, *desc, *url;
    int rc;
    if ((rc = imp_elem_obj(c, v, at)) || (rc = required(c, v, at, "VulnerabilityID", &id)) ||
        (rc = severity_of(c, v, at, "Severity", &sev)) ||
        (rc = imp_str(c, v, at, "PkgName", &name)) ||
        (rc = imp_str(c, v, at, "InstalledVersion", &ver)) ||
        (rc = imp_str(c, v, at, "PkgPath", &path)) ||
        (rc = imp_str(c, v, at, "FixedVersion", &fixed)) ||
        (rc = imp_str(c, v, at, "Description", &desc)) ||
        (rc = imp_str(c, v, at, "PrimaryURL", &url)))
        return rc;
    json_t *rec = json_object();
    double score;
    char solution[256] = "";
    if (fixed && *fixed && name)
        snprintf(solution, sizeof solution, "upgrade %s to %s", name, fixed);
    if (!rec || imp_set_str(rec, "vul_id", id) ||
        imp_set_str(rec, "vul_type", os || os_class(NULL, pkg_purl(v)) ? "linux_vul" : "app_vul") ||
        imp_set_str(rec, "severity", sev) || imp_set_str(rec, "app_name", name) ||
        imp_set_str(rec, "app_version", ver) || imp_set_str(rec, "app_path", path) ||
        imp_set_str(rec, "fixed_version", fixed) || imp_set_str(rec, "description", desc) ||
        imp_set_str(rec, "solution", solution) || imp_set_str(rec, "url", url) ||
        (json_is_object(json_object_get(v, "CVSS")) &&
         cvss_score(json_object_get(v, "CVSS"), &score) &&
         json_object_set_new(rec, "cvss_score", json_real(score)))) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, "vulnerabilities", rec) ? imp_oom(c) : IMGSEC_OK;
}

/* The lines Trivy marks as the cause, joined by newlines, into *out (NULL
 * if none). Nonzero when out of memory. */
static int cause_lines(const json_t *m, char **out)
{
    const json_t *lines =
        json_object_get(json_object_get(json_object_get(m, "CauseMetadata"), "Code"), "Lines");
    size_t i;
    const json_t *l;
    util_buf b = {0};
    json_array_foreach(lines, i, l) {
        const char *content = json_string_value(json_object_get(l, "Content"));
        if (!json_is_true(json_object_get(l, "IsCause")) || !content || !*content)
            continue;
        if (b.len)
            util_buf_put(&b, "\n", 1);
        util_buf_put(&b, content, strlen(content));
    }
    if (b.failed) {
        free(b.buf);
        return -1;
    }
    *out = b.buf;
    return 0;
}

static int misconfiguration(imp_ctx *c, json_t *doc, const json_t *m, const char *at,
                            int dockerfile)
{
    const char *id, *avd, *title, *sev, *status, *msg, *res, *desc, *type;
    int rc;
    if ((rc = imp_elem_obj(c, m, at)) || (rc = imp_str(c, m, at, "ID", &id)) ||
        (rc = imp_str(c, m, at, "AVDID", &avd)) || (rc = imp_str(c, m, at, "Title", &title)) ||
        (rc = severity_of(c, m, at, "Severity", &sev)) ||
        (rc = imp_str(c, m, at, "Status", &status)) ||
        (rc = imp_str(c, m, at, "Message", &msg)) ||
        (rc = imp_str(c, m, at, "Resolution", &res)) ||
        (rc = imp_str(c, m, at, "Description", &desc)) || (rc = imp_str(c, m, at, "Type", &type)))
        return rc;
    if (status && strcmp(status, "FAIL") != 0)
        return IMGSEC_OK; /* PASS / EXCEPTION: not a finding */
    if (!id || !*id)
        id = avd;
    if (!id || !*id)
        return imp_fail_required(c, at, "ID");
    if (!title || !*title)
        title = id;
    json_t *rec = json_object();
    int bad = !rec;
    if (!bad && dockerfile) {
        char *cause = NULL;
        const char *instr = NULL;
        if (!(bad = cause_lines(m, &cause)))
            instr = cause ? cause : msg && *msg ? msg : title;
        bad = bad || imp_set_str(rec, "rule_id", id) || imp_set_str(rec, "risk_name", title) ||
              imp_set_str(rec, "risk_level", sev) || imp_set_instruction(rec, instr) ||
              imp_set_str(rec, "remediation", res) || imp_set_str(rec, "description", desc);
        free(cause);
    } else if (!bad) {
        bad = imp_set_str(rec, "check_name", title) || imp_set_str(rec, "check_rule_id", id) ||
              imp_set_str(rec, "check_rule_name", title) || imp_set_str(rec, "check_type", type) ||
              imp_set_str(rec, "severity", sev) || imp_set_str(rec, "current_value", msg) ||
              imp_set_str(rec, "suggest_value", res);
    }
    if (bad) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, dockerfile ? "build_command_risks" : "risk_configs", rec) ? imp_oom(c)
                                                                                  : IMGSEC_OK;
}

static int secret(imp_ctx *c, json_t *doc, const json_t *s, const char *at, const char *target)
{
    const char *rule, *title, *sev, *match;
    int rc;
    if ((rc = imp_elem_obj(c, s, at)) || (rc = required(c, s, at, "RuleID", &rule)) ||
        (rc = imp_str(c, s, at, "Title", &title)) ||
        (rc = severity_of(c, s, at, "Severity", &sev)) ||
        (rc = imp_str(c, s, at, "Match", &match)))
        return rc;
    char *content = import_redact(match ? match : "");
    json_t *rec = json_object();
    if (!content || !rec || imp_set_str(rec, "rule_id", rule) || imp_set_str(rec, "name", title) ||
        imp_set_str(rec, "severity", sev) ||
        imp_set_str(rec, "file_path", target && *target ? target : "(unknown)") ||
        imp_set_str(rec, "position", layer_digest(s)) || imp_set_str(rec, "content", content)) {
        free(content);
        json_decref(rec);
        return imp_oom(c);
    }
    free(content);
    return imp_push(doc, "sensitive_info", rec) ? imp_oom(c) : IMGSEC_OK;
}

/* A license finding breaks the policy when Trivy classes it forbidden,
 * restricted or reciprocal (severity CRITICAL, HIGH, MEDIUM). */
static int license(imp_ctx *c, json_t *doc, const json_t *l, const char *at)
{
    const char *sev, *pkg, *path, *name, *cat;
    int rc;
    if ((rc = imp_elem_obj(c, l, at)) || (rc = severity_of(c, l, at, "Severity", &sev)) ||
        (rc = imp_str(c, l, at, "PkgName", &pkg)) || (rc = imp_str(c, l, at, "FilePath", &path)) ||
        (rc = imp_str(c, l, at, "Name", &name)) || (rc = imp_str(c, l, at, "Category", &cat)))
        return rc;
    if (severity_parse(sev) < SEVERITY_MEDIUM)
        return IMGSEC_OK;
    const char *app = pkg && *pkg ? pkg : path && *path ? path : NULL;
    if (!app) {
        char where[IMP_AT_MAX];
        AT(where, "%s.PkgName", at);
        return imp_fail(c, where, "is required (or FilePath)");
    }
    char reason[512];
    snprintf(reason, sizeof reason, "license %s (%s, %s)", name ? name : "unknown",
             cat ? cat : "unclassified", sev);
    json_t *rec = json_object();
    if (!rec || imp_set_str(rec, "app_name", app) || imp_set_str(rec, "app_path", path) ||
        imp_set_str(rec, "reason", reason)) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, "non_compliant_apps", rec) ? imp_oom(c) : IMGSEC_OK;
}

/* OS family (Result.Type) -> package manager, when a package has no purl. */
static const char *os_pkg_type(const char *family)
{
    if (!family)
        return NULL;
    if (!strcmp(family, "debian") || !strcmp(family, "ubuntu"))
        return "deb";
    if (!strcmp(family, "alpine") || !strcmp(family, "wolfi") || !strcmp(family, "chainguard"))
        return "apk";
    return "rpm";
}

static int package(imp_ctx *c, json_t *doc, const json_t *p, const char *at, int os,
                   const char *rtype)
{
    const char *name, *ver, *path;
    const json_t *lic;
    int rc;
    if ((rc = imp_elem_obj(c, p, at)) || (rc = required(c, p, at, "Name", &name)) ||
        (rc = imp_str(c, p, at, "Version", &ver)) || (rc = imp_str(c, p, at, "FilePath", &path)) ||
        (rc = imp_arr(c, p, at, "Licenses", &lic)))
        return rc;
    char type[32], licenses[1024] = "";
    const char *t = imp_purl_type(pkg_purl(p), type, sizeof type);
    if (!*t)
        t = os ? os_pkg_type(rtype) : rtype;
    size_t i, used = 0;
    const json_t *l;
    json_array_foreach(lic, i, l) {
        if (json_is_string(l))
            imp_join(licenses, sizeof licenses, &used, json_string_value(l));
    }
    json_t *rec = json_object();
    if (!rec || imp_set_str(rec, "app_name", name) || imp_set_str(rec, "app_version", ver) ||
        imp_set_str(rec, "app_type", t) || imp_set_str(rec, "app_path", path) ||
        imp_set_str(rec, "layer_digest", layer_digest(p)) || imp_set_str(rec, "license", licenses)) {
        json_decref(rec);
        return imp_oom(c);
    }
    return imp_push(doc, "apps", rec) ? imp_oom(c) : IMGSEC_OK;
}

int imp_trivy_item(imp_ctx *c, json_t *doc, const char *kind, const json_t *item,
                   const char *at, const json_t *res)
{
    const char *target = json_string_value(json_object_get(res, "Target"));
    const char *cls = json_string_value(json_object_get(res, "Class"));
    const char *type = json_string_value(json_object_get(res, "Type"));
    int os = os_class(cls, NULL);
    if (!strcmp(kind, "Vulnerabilities"))
        return vulnerability(c, doc, item, at, os);
    if (!strcmp(kind, "Misconfigurations"))
        return misconfiguration(c, doc, item, at, type && strcmp(type, "dockerfile") == 0);
    if (!strcmp(kind, "Secrets"))
        return secret(c, doc, item, at, target);
    if (!strcmp(kind, "Licenses"))
        return license(c, doc, item, at);
    if (!strcmp(kind, "Packages"))
        return package(c, doc, item, at, os, type);
    return IMGSEC_OK;
}

static int result(imp_ctx *c, json_t *doc, const json_t *res, size_t ri)
{
    char at[IMP_AT_MAX], iat[IMP_AT_MAX];
    const char *target, *cls, *type;
    const json_t *vulns, *mis, *secrets, *lics, *pkgs, *item;
    size_t i;
    int rc;
    AT(at, "Results[%zu]", ri);
    if ((rc = imp_elem_obj(c, res, at)) || (rc = imp_str(c, res, at, "Target", &target)) ||
        (rc = imp_str(c, res, at, "Class", &cls)) || (rc = imp_str(c, res, at, "Type", &type)) ||
        (rc = imp_arr(c, res, at, "Vulnerabilities", &vulns)) ||
        (rc = imp_arr(c, res, at, "Misconfigurations", &mis)) ||
        (rc = imp_arr(c, res, at, "Secrets", &secrets)) ||
        (rc = imp_arr(c, res, at, "Licenses", &lics)) ||
        (rc = imp_arr(c, res, at, "Packages", &pkgs)))
        return rc;
    (void)target, (void)cls, (void)type; /* type-checked above; read by imp_trivy_item */
    const json_t *lists[] = {vulns, mis, secrets, lics, pkgs};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        json_array_foreach(lists[k], i, item) {
            AT(iat, "%s.%s[%zu]", at, IMP_TRIVY_LISTS[k], i);
            if ((rc = imp_trivy_item(c, doc, IMP_TRIVY_LISTS[k], item, iat, res)))
                return rc;
        }
    }
    return IMGSEC_OK;
}

static const char *first_string(const json_t *arr)
{
    return json_string_value(json_array_get(arr, 0));
}

int imp_trivy(imp_ctx *c, const json_t *r, const import_options *opt, json_t **out)
{
    const json_t *sv = json_object_get(r, "SchemaVersion"), *results, *meta, *config = NULL,
                 *history = NULL, *tags = NULL, *digests = NULL, *item;
    const char *name, *created_at, *image_id = NULL, *created = NULL;
    int rc;
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return imp_fail(c, "SchemaVersion", "must be 2 (Trivy >= 0.20 JSON report)");
    if ((rc = imp_str(c, r, "", "ArtifactName", &name)) ||
        (rc = imp_str(c, r, "", "CreatedAt", &created_at)) ||
        (rc = imp_arr(c, r, "", "Results", &results)) || (rc = imp_obj(c, r, "", "Metadata", &meta)))
        return rc;
    if (meta && ((rc = imp_str(c, meta, "Metadata", "ImageID", &image_id)) ||
                 (rc = imp_arr(c, meta, "Metadata", "RepoTags", &tags)) ||
                 (rc = imp_arr(c, meta, "Metadata", "RepoDigests", &digests)) ||
                 (rc = imp_obj(c, meta, "Metadata", "ImageConfig", &config))))
        return rc;
    if (config && ((rc = imp_str(c, config, "Metadata.ImageConfig", "created", &created)) ||
                   (rc = imp_arr(c, config, "Metadata.ImageConfig", "history", &history))))
        return rc;

    const char *repo_digest = first_string(digests), *at_sign;
    const json_t *size = json_object_get(meta, "Size");
    imp_image img = {
        .ref = first_string(tags) ? first_string(tags) : name,
        .image_id = image_id,
        .digest = repo_digest && (at_sign = strchr(repo_digest, '@')) ? at_sign + 1 : NULL,
        .size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1,
        .created_ms = imp_time_ms(created),
        .scan_ms = imp_time_ms(created_at),
    };
    json_t *doc;
    if ((rc = imp_doc_new(c, &img, opt, &doc)))
        return rc;

    size_t i;
    json_array_foreach(results, i, item) {
        if ((rc = result(c, doc, item, i)))
            goto fail;
    }
    json_array_foreach(history, i, item) {
        char at[IMP_AT_MAX];
        const char *by;
        AT(at, "Metadata.ImageConfig.history[%zu]", i);
        if ((rc = imp_elem_obj(c, item, at)) || (rc = imp_str(c, item, at, "created_by", &by)) ||
            (rc = imp_history_risks(c, doc, by)))
            goto fail;
    }
    *out = doc;
    return IMGSEC_OK;
fail:
    json_decref(doc);
    return rc;
}
