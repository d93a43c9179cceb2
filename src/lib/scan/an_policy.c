/* an_policy.c - the "policy" analyzer: packages a policy forbids
 * (non-compliant-app).
 *
 * A policy is a JSON document (POLICY_DEFAULT is the built-in one, in the
 * same format as --policy FILE, parsed by the same code): rules that
 * match an app by name glob, version constraints, license glob and app
 * type, each with a reason. It is parsed and validated once, in open();
 * a policy file that is not valid fails the scan with the file and the
 * JSON path of the fault. finish() runs after every other analyzer (the
 * policy analyzer is last in scan_analyzers[]) over the apps they
 * emitted, res->records[REPORT_APPS]: an app that matches a rule gives one
 * record (the first rule wins) with app_name, app_version, app_path,
 * layer_digest and the rule's reason. Format, default rules and version
 * comparison: docs/scanning-risks.md.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imgsec/util.h"
#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

#define POLICY_FILE_MAX (1u << 20)  /* bytes of a policy file */
#define POLICY_RULES_MAX 1024
#define POLICY_VERSIONS_MAX 16      /* version constraints per rule */
#define POLICY_STRING_MAX 256       /* bytes of a pattern or version */
#define POLICY_REASON_MAX 1024

/* The built-in policy: common attack tooling, which has no business in a
 * production image. Dual-use tools (socat, tcpdump, strace, curl) are not
 * in it; nor are licenses (which ones to forbid is each organisation's
 * decision; see docs/scanning-risks.md for an example). */
static const char POLICY_DEFAULT[] =
    "{\"rules\": ["
    "{\"name\": \"nc\", \"reason\": \"netcat: raw network connections and reverse shells\"},"
    "{\"name\": \"ncat\", \"reason\": \"netcat: raw network connections and reverse shells\"},"
    "{\"name\": \"netcat\", \"reason\": \"netcat: raw network connections and reverse shells\"},"
    "{\"name\": \"netcat-*\", \"reason\": \"netcat: raw network connections and reverse shells\"},"
    "{\"name\": \"nmap-ncat\", \"reason\": \"netcat: raw network connections and reverse shells\"},"
    "{\"name\": \"nmap\", \"reason\": \"network scanner (attack tooling)\"},"
    "{\"name\": \"nmap-*\", \"reason\": \"network scanner (attack tooling)\"},"
    "{\"name\": \"masscan\", \"reason\": \"network scanner (attack tooling)\"},"
    "{\"name\": \"zmap\", \"reason\": \"network scanner (attack tooling)\"},"
    "{\"name\": \"hydra\", \"reason\": \"password brute-forcer (attack tooling)\"},"
    "{\"name\": \"medusa\", \"reason\": \"password brute-forcer (attack tooling)\"},"
    "{\"name\": \"ncrack\", \"reason\": \"password brute-forcer (attack tooling)\"},"
    "{\"name\": \"john\", \"reason\": \"password cracker (attack tooling)\"},"
    "{\"name\": \"hashcat\", \"reason\": \"password cracker (attack tooling)\"},"
    "{\"name\": \"aircrack-ng\", \"reason\": \"wireless cracker (attack tooling)\"},"
    "{\"name\": \"sqlmap\", \"reason\": \"SQL injection tool (attack tooling)\"},"
    "{\"name\": \"nikto\", \"reason\": \"web vulnerability scanner (attack tooling)\"},"
    "{\"name\": \"metasploit-framework\", \"reason\": \"exploitation framework (attack tooling)\"}"
    "]}";

typedef enum { VC_EQ, VC_PREFIX, VC_LT, VC_LE, VC_GT, VC_GE } vc_op;

#define POLICY_CMPS_MAX 4          /* comparisons ANDed in one constraint */

typedef struct {
    vc_op op;
    char *v;
} version_cmp;

/* ">=2.0 <2.17.1": every comparison must hold */
typedef struct {
    version_cmp c[POLICY_CMPS_MAX];
    size_t n;
} version_constraint;

typedef struct {
    char *name, *license, *type; /* globs, NULL: any */
    version_constraint vc[POLICY_VERSIONS_MAX];
    size_t n_vc;                 /* 0: any version; else one of them must hold */
    char *reason;
} policy_rule;

typedef struct {
    policy_rule *rules;
    size_t n;
} policy;

static void policy_free(policy *p)
{
    for (size_t i = 0; i < p->n; i++) {
        policy_rule *r = &p->rules[i];
        free(r->name);
        free(r->license);
        free(r->type);
        free(r->reason);
        for (size_t j = 0; j < r->n_vc; j++)
            for (size_t k = 0; k < r->vc[j].n; k++)
                free(r->vc[j].c[k].v);
    }
    free(p->rules);
    p->rules = NULL;
    p->n = 0;
}

/* ---- parsing ---- */

/* A string member of o at rules[i].key, at most POLICY_STRING_MAX bytes
 * (max for reasons); NULL when absent. */
static int get_string(const json_t *o, const char *key, size_t i, size_t max, const char *src,
                      char **out, imgsec_err *err)
{
    *out = NULL;
    const json_t *v = json_object_get(o, key);
    if (!v)
        return IMGSEC_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return err_set(err, IMGSEC_EINVAL, "%s: rules[%zu].%s must be a string of 1-%zu bytes",
                       src, i, key, max);
    if (!(*out = strdup(json_string_value(v))))
        return err_set(err, IMGSEC_EINTERNAL, "policy: out of memory");
    return IMGSEC_OK;
}

/* One comparison, s[0..n): an optional operator, then a version made of
 * letters, digits and . - + ~ : _ , ending in * only for a prefix. */
static int parse_cmp(const char *s, size_t n, version_cmp *c)
{
    static const struct {
        const char *prefix;
        vc_op op;
    } OPS[] = {{"<=", VC_LE}, {">=", VC_GE}, {"<", VC_LT}, {">", VC_GT}, {"=", VC_EQ}};
    c->op = VC_EQ;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        size_t l = strlen(OPS[i].prefix);
        if (n >= l && strncmp(s, OPS[i].prefix, l) == 0) {
            c->op = OPS[i].op;
            s += l;
            n -= l;
            break;
        }
    }
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-+~:_", s[i]) &&
            !(s[i] == '*' && i == n - 1))
            return -1;
    if (s[n - 1] == '*') {
        if (c->op != VC_EQ || n == 1)
            return -1;
        c->op = VC_PREFIX;
        n--;
    }
    return (c->v = strndup(s, n)) ? 0 : -2;
}

/* A constraint: comparisons separated by spaces, all of which must hold. */
static int parse_constraint(const char *s, version_constraint *vc)
{
    vc->n = 0;
    for (;;) {
        s += strspn(s, " ");
        size_t n = strcspn(s, " ");
        if (n == 0)
            return vc->n ? 0 : -1;
        if (vc->n == POLICY_CMPS_MAX)
            return -1;
        int rc = parse_cmp(s, n, &vc->c[vc->n]);
        if (rc)
            return rc;
        vc->n++;
        s += n;
    }
}

static const char *const RULE_KEYS[] = {"name", "version", "license", "type", "reason", NULL};

static int parse_rule(const json_t *o, size_t i, const char *src, policy_rule *r, imgsec_err *err)
{
    if (!json_is_object(o))
        return err_set(err, IMGSEC_EINVAL, "%s: rules[%zu] must be an object", src, i);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        size_t k = 0;
        while (RULE_KEYS[k] && strcmp(RULE_KEYS[k], key) != 0)
            k++;
        if (!RULE_KEYS[k])
            return err_set(err, IMGSEC_EINVAL,
                           "%s: rules[%zu]: unknown key \"%.64s\" (name, version, license, type, "
                           "reason)",
                           src, i, key);
    }
    int rc;
    if ((rc = get_string(o, "name", i, POLICY_STRING_MAX, src, &r->name, err)) ||
        (rc = get_string(o, "license", i, POLICY_STRING_MAX, src, &r->license, err)) ||
        (rc = get_string(o, "type", i, POLICY_STRING_MAX, src, &r->type, err)) ||
        (rc = get_string(o, "reason", i, POLICY_REASON_MAX, src, &r->reason, err)))
        return rc;
    if (!r->reason)
        return err_set(err, IMGSEC_EINVAL, "%s: rules[%zu].reason is required", src, i);
    if (!r->name && !r->license)
        return err_set(err, IMGSEC_EINVAL, "%s: rules[%zu] needs a name or a license", src, i);
    const json_t *ver = json_object_get(o, "version");
    if (!ver)
        return IMGSEC_OK;
    json_t *one = json_is_string(ver) ? json_pack("[O]", ver) : NULL;
    const json_t *list = one ? one : ver;
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > POLICY_VERSIONS_MAX) {
        json_decref(one);
        return err_set(err, IMGSEC_EINVAL,
                       "%s: rules[%zu].version must be a constraint or a list of 1-%d", src, i,
                       POLICY_VERSIONS_MAX);
    }
    size_t j;
    json_array_foreach(list, j, v) {
        const char *s = json_string_value(v);
        int prc = s && strlen(s) <= POLICY_STRING_MAX ? parse_constraint(s, &r->vc[j]) : -1;
        r->n_vc++; /* its comparisons parsed so far are freed with the rule */
        if (prc == 0)
            continue;
        json_decref(one);
        if (prc == -2)
            return err_set(err, IMGSEC_EINTERNAL, "policy: out of memory");
        return err_set(err, IMGSEC_EINVAL,
                       "%s: rules[%zu].version[%zu] is not a version constraint "
                       "(V, =V, V*, <V, <=V, >V, >=V, or up to %d of these separated by spaces)",
                       src, i, j, POLICY_CMPS_MAX);
    }
    json_decref(one);
    return IMGSEC_OK;
}

/* Parses and validates a policy document; p is empty on error. */
static int policy_parse(const char *buf, size_t len, const char *src, policy *p, imgsec_err *err)
{
    memset(p, 0, sizeof *p);
    if (len > POLICY_FILE_MAX)
        return err_set(err, IMGSEC_EINVAL, "%s: over %u bytes", src, POLICY_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(err, IMGSEC_EPARSE, "%s:%d:%d: %s", src, je.line, je.column, je.text);
    int rc = IMGSEC_OK;
    const json_t *rules = json_object_get(root, "rules");
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        rc = err_set(err, IMGSEC_EINVAL, "%s: must be a JSON object {\"rules\": [...]}", src);
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "rules") != 0 && strcmp(key, "use_default_rules") != 0) {
            rc = err_set(err, IMGSEC_EINVAL,
                         "%s: unknown key \"%.64s\" (rules, use_default_rules)", src, key);
            goto out;
        }
    }
    const json_t *use_default = json_object_get(root, "use_default_rules");
    if (use_default && !json_is_boolean(use_default)) {
        rc = err_set(err, IMGSEC_EINVAL, "%s: use_default_rules must be true or false", src);
        goto out;
    }
    if (!json_is_array(rules) || json_array_size(rules) > POLICY_RULES_MAX) {
        rc = err_set(err, IMGSEC_EINVAL, "%s: rules must be a list of at most %d rules", src,
                     POLICY_RULES_MAX);
        goto out;
    }
    policy dflt = {0};
    if (json_is_true(use_default) &&
        (rc = policy_parse(POLICY_DEFAULT, sizeof POLICY_DEFAULT - 1, "built-in policy", &dflt,
                           err)))
        goto out;
    size_t n = json_array_size(rules) + dflt.n;
    if (n && !(p->rules = calloc(n, sizeof *p->rules))) {
        policy_free(&dflt);
        rc = err_set(err, IMGSEC_EINTERNAL, "policy: out of memory");
        goto out;
    }
    size_t i;
    json_array_foreach(rules, i, v) {
        rc = parse_rule(v, i, src, &p->rules[p->n++], err);
        if (rc)
            break;
    }
    /* the file's rules first: its reasons win */
    for (size_t d = 0; d < dflt.n && !rc; d++)
        p->rules[p->n++] = dflt.rules[d];
    if (!rc) {
        free(dflt.rules);
        dflt.rules = NULL;
        dflt.n = 0;
    }
    policy_free(&dflt);
    if (rc)
        policy_free(p);
out:
    json_decref(root);
    return rc;
}

int scan_policy_validate(const char *buf, size_t len, imgsec_err *err)
{
    policy p;
    int rc = policy_parse(buf, len, "policy", &p, err);
    policy_free(&p);
    return rc;
}

/* ---- matching ---- */

/* Plain version comparison: runs of digits compare as numbers, other runs
 * byte-wise, separators skipped; a version that runs out first is less. */
int scan_policy_vercmp(const char *a, const char *b)
{
    for (;;) {
        while (*a && !isalnum((unsigned char)*a))
            a++;
        while (*b && !isalnum((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return *a ? 1 : *b ? -1 : 0;
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
        } else if (isdigit((unsigned char)*a) != isdigit((unsigned char)*b)) {
            return isdigit((unsigned char)*a) ? 1 : -1; /* 1.0.1 > 1.0.beta */
        } else {
            size_t la = 0, lb = 0;
            while (isalpha((unsigned char)a[la]))
                la++;
            while (isalpha((unsigned char)b[lb]))
                lb++;
            int c = strncmp(a, b, la < lb ? la : lb);
            if (c || la != lb)
                return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : 1);
            a += la;
            b += lb;
        }
    }
}

static bool cmp_ok(const version_cmp *c, const char *v)
{
    switch (c->op) {
    case VC_EQ: return strcmp(v, c->v) == 0;
    case VC_PREFIX: return strncmp(v, c->v, strlen(c->v)) == 0;
    case VC_LT: return scan_policy_vercmp(v, c->v) < 0;
    case VC_LE: return scan_policy_vercmp(v, c->v) <= 0;
    case VC_GT: return scan_policy_vercmp(v, c->v) > 0;
    case VC_GE: return scan_policy_vercmp(v, c->v) >= 0;
    }
    return false;
}

static bool version_ok(const version_constraint *vc, const char *v)
{
    for (size_t i = 0; i < vc->n; i++)
        if (!cmp_ok(&vc->c[i], v))
            return false;
    return true;
}

/* Whether one identifier of a license expression matches the glob:
 * "MIT OR (GPL-2.0-only AND BSD-3-Clause)" holds MIT, GPL-2.0-only, ... */
static bool license_ok(const char *glob, const char *expr)
{
    char tok[POLICY_STRING_MAX + 1];
    for (const char *p = expr; *p;) {
        p += strcspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-_");
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+-_");
        if (n == 0)
            break;
        if (n <= POLICY_STRING_MAX) {
            memcpy(tok, p, n);
            tok[n] = '\0';
            if (strcasecmp(tok, "AND") != 0 && strcasecmp(tok, "OR") != 0 &&
                strcasecmp(tok, "WITH") != 0 && fnmatch(glob, tok, FNM_CASEFOLD) == 0)
                return true;
        }
        p += n;
    }
    return false;
}

static const policy_rule *policy_match(const policy *p, const char *name, const char *version,
                                       const char *license, const char *type)
{
    for (size_t i = 0; i < p->n; i++) {
        const policy_rule *r = &p->rules[i];
        if (r->name && fnmatch(r->name, name, FNM_CASEFOLD) != 0)
            continue;
        if (r->type && (!type || fnmatch(r->type, type, FNM_CASEFOLD) != 0))
            continue;
        if (r->license && (!license || !license_ok(r->license, license)))
            continue;
        if (r->n_vc) {
            bool any = false;
            for (size_t j = 0; j < r->n_vc && !any && version; j++)
                any = version_ok(&r->vc[j], version);
            if (!any)
                continue;
        }
        return r;
    }
    return NULL;
}

/* ---- the analyzer ---- */

static void policy_close(void *state)
{
    if (!state)
        return;
    policy_free(state);
    free(state);
}

static int policy_open(const scan_options *opt, void **state, imgsec_err *err)
{
    policy *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(err, IMGSEC_EINTERNAL, "policy: out of memory");
    int rc;
    if (opt->policy_file) {
        size_t len;
        char *buf = util_read_file(opt->policy_file, &len);
        char src[600];
        snprintf(src, sizeof src, "--policy %s", opt->policy_file);
        if (!buf) {
            free(p);
            return err_set(err, IMGSEC_EINVAL, "%s: cannot read it", src);
        }
        rc = policy_parse(buf, len, src, p, err);
        free(buf);
    } else {
        rc = policy_parse(POLICY_DEFAULT, sizeof POLICY_DEFAULT - 1, "built-in policy", p, err);
    }
    if (rc) {
        free(p);
        return rc;
    }
    *state = p;
    return IMGSEC_OK;
}

static const char *str_field(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int policy_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    const policy *p = state;
    size_t i;
    json_t *app;
    json_array_foreach(res->records[REPORT_APPS], i, app) {
        const char *name = str_field(app, "app_name");
        if (!name)
            continue;
        const char *version = str_field(app, "app_version");
        const policy_rule *r = policy_match(p, name, version, str_field(app, "license"),
                                            str_field(app, "app_type"));
        if (!r)
            continue;
        json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app_name", name, "app_version",
                                version ? version : "", "app_path",
                                str_field(app, "app_path") ? str_field(app, "app_path") : "",
                                "layer_digest",
                                str_field(app, "layer_digest") ? str_field(app, "layer_digest")
                                                               : "",
                                "reason", r->reason);
        if (!rec || scan_emit(res, REPORT_NON_COMPLIANT_APP, rec))
            return err_set(err, IMGSEC_EINTERNAL, "policy: out of memory");
    }
    return IMGSEC_OK;
}

const scan_analyzer scan_an_policy = {
    .name = "policy",
    .emits = REPORT_NON_COMPLIANT_APP,
    .open = policy_open,
    .finish = policy_finish,
    .close = policy_close,
};
