/* an_secrets.c - the "secrets" analyzer: secrets in file contents
 * (sensitive-info).
 *
 * One table of rules (SECRET_RULES): an id, a title, a severity, a PCRE2
 * pattern whose group "secret" (else the whole match) is the secret, and
 * lower-case keywords of which one must occur in the file before the
 * pattern is tried (a cheap pre-filter: most files hold none). Patterns
 * are compiled and JIT-compiled once per scan (open). The keywords of all
 * rules are found in one pass over the content, ASCII case folded on the
 * fly: each position's two folded bytes index a table of the keywords
 * starting with them (a bucket of few), compared in full only there; so
 * the pre-filter costs one table look-up per byte, not one memmem per
 * keyword (profiled: 80 memmem passes were a third of a scan's CPU).
 *
 * Skipped by rule, before any byte is read: what is not a regular file,
 * files over SECRETS_FILE_MAX bytes, and paths of the allow-list
 * (SECRETS_ALLOW_PATHS: tests, examples, vendored and system trees).
 * Skipped after the first bytes: binaries (a NUL in the first
 * SECRETS_BINARY_SNIFF bytes). A match is dropped when its secret holds
 * "example" (documentation keys such as AKIAIOSFODNN7EXAMPLE) or overlaps
 * a secret already reported in the same file; the generic rules (an
 * assignment to a password-like name) also need a value that is not a
 * placeholder and has at least SECRETS_GENERIC_ENTROPY bits of Shannon
 * entropy per character. At most SECRETS_PER_FILE_MAX findings per file.
 *
 * A finding's content is the secret redacted by import_redact (as the
 * importers store it); the raw secret never leaves this file: warnings
 * name the path and the rule only. Rules, their sources and limits:
 * docs/scanning-risks.md.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgsec/importers.h"
#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

#define SECRETS_FILE_MAX (8u << 20)     /* larger files are not scanned */
#define SECRETS_BINARY_SNIFF 8000       /* a NUL in these first bytes: binary */
#define SECRETS_PER_FILE_MAX 64         /* findings kept per file */
#define SECRETS_GENERIC_ENTROPY 3.5     /* bits per character, generic rules */
#define SECRETS_KEYWORDS_MAX 10         /* keywords per rule */
#define SECRETS_JIT_STACK_MAX (1u << 20)
#define SECRETS_MATCH_LIMIT 1000000u    /* backtracking bound without JIT */

/* Boundaries: a secret that does not continue a word (SW), and that is
 * not continued by one (EW). */
#define SW "(?:[^0-9a-zA-Z_]|^)"
#define EW "(?:[^0-9a-zA-Z_]|$)"
/* key = "value" assignments of the vendor rules */
#define ASSIGN "(?:=|>|:=|\\|\\|:|<=|=>|:).{0,5}['\"]"

/* The files the generic rule reads: configuration, where a password is a
 * literal; in source code the same names mostly hold expressions. */
#define GENERIC_FILES                                                                   \
    "*.env|.env*|*.ini|*.conf|*.cfg|*.cnf|*.config|*.properties|*.yaml|*.yml|*.toml|" \
    "*.json|*.xml"

typedef struct {
    const char *id;
    const char *title;
    severity sev;
    const char *pattern;  /* PCRE2; the secret is group "secret" or the whole match */
    const char *keywords; /* lower-case, '|'-separated; one must occur */
    const char *name;     /* basename globs ('|'-separated) one of which the file
                             must match, or NULL */
    bool generic;         /* value filters apply (entropy, placeholders) */
} secret_rule;

static const secret_rule SECRET_RULES[] = {
    {"aws-access-key-id", "AWS Access Key ID", SEVERITY_CRITICAL,
     SW "(?P<secret>(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16})"
        "[\"']?[.,]?(?:\\s+|$)",
     "akia|agpa|aida|aroa|aipa|anpa|anva|asia|a3t", NULL, false},
    {"aws-secret-access-key", "AWS Secret Access Key", SEVERITY_CRITICAL,
     "(?i)[\"']?aws_?(?:sec(?:ret)?)?_?(?:access)?_?key[\"']?\\s*(?::|=>|=)?\\s*[\"']?"
     "(?P<secret>[A-Za-z0-9/+=]{40})[\"']?[.,]?(?:\\s+|$)",
     "key", NULL, false},
    {"github-pat", "GitHub Personal Access Token", SEVERITY_CRITICAL,
     SW "(?P<secret>ghp_[0-9a-zA-Z]{36})", "ghp_", NULL, false},
    {"github-oauth", "GitHub OAuth Access Token", SEVERITY_CRITICAL,
     SW "(?P<secret>gho_[0-9a-zA-Z]{36})", "gho_", NULL, false},
    {"github-app-token", "GitHub App Token", SEVERITY_CRITICAL,
     SW "(?P<secret>ghu_[0-9a-zA-Z]{36}|ghs_[0-9a-zA-Z._-]{36,})", "ghu_|ghs_", NULL, false},
    {"github-refresh-token", "GitHub Refresh Token", SEVERITY_CRITICAL,
     SW "(?P<secret>ghr_[0-9a-zA-Z]{76})", "ghr_", NULL, false},
    {"github-fine-grained-pat", "GitHub Fine-grained personal access tokens", SEVERITY_CRITICAL,
     "github_pat_[a-zA-Z0-9]{22}_[a-zA-Z0-9]{59}", "github_pat_", NULL, false},
    {"gitlab-pat", "GitLab Personal Access Token", SEVERITY_CRITICAL,
     SW "(?P<secret>glpat-[0-9a-zA-Z_-]{20})", "glpat-", NULL, false},
    {"hugging-face-access-token", "Hugging Face Access Token", SEVERITY_CRITICAL,
     SW "(?P<secret>hf_[A-Za-z0-9]{34,40})" EW, "hf_", NULL, false},
    {"private-key", "Asymmetric Private Key", SEVERITY_HIGH,
     "(?i)-----\\s*?BEGIN[ A-Z0-9_-]*?PRIVATE KEY(?: BLOCK)?\\s*?-----[\\s]*?"
     "(?P<secret>[A-Za-z0-9=+/\\\\][A-Za-z0-9=+/\\\\\\s]{30,}[A-Za-z0-9=+/\\\\])[\\s]*?"
     "-----\\s*?END[ A-Z0-9_-]*? PRIVATE KEY(?: BLOCK)?\\s*?-----",
     "-----", NULL, false},
    {"shopify-token", "Shopify token", SEVERITY_HIGH, "shp(?:ss|at|ca|pa)_[a-fA-F0-9]{32}",
     "shpss_|shpat_|shpca_|shppa_", NULL, false},
    {"slack-access-token", "Slack token", SEVERITY_HIGH,
     SW "(?P<secret>xox[baprs]-[0-9a-zA-Z]{10,48})", "xoxb-|xoxa-|xoxp-|xoxr-|xoxs-", NULL,
     false},
    {"slack-web-hook", "Slack Webhook", SEVERITY_MEDIUM,
     "https://hooks\\.slack\\.com/services/[A-Za-z0-9+/]{44,48}", "hooks.slack.com", NULL, false},
    {"stripe-publishable-token", "Stripe Publishable Key", SEVERITY_LOW,
     SW "(?P<secret>(?i)pk_(?:test|live)_[0-9a-z]{10,32})", "pk_test_|pk_live_", NULL, false},
    {"stripe-secret-token", "Stripe Secret Key", SEVERITY_CRITICAL,
     SW "(?P<secret>(?i)sk_(?:test|live)_[0-9a-z]{10,32})", "sk_test_|sk_live_", NULL, false},
    {"pypi-upload-token", "PyPI upload token", SEVERITY_HIGH,
     "pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}", "pypi-ageichlwas5vcmc", NULL, false},
    {"gcp-api-key", "Google API key", SEVERITY_HIGH, SW "(?P<secret>AIza[0-9A-Za-z_-]{35})" EW,
     "aiza", NULL, false},
    {"gcp-service-account", "Google (GCP) Service-account", SEVERITY_CRITICAL,
     "\"type\": \"service_account\"", "\"type\": \"service_account\"", NULL, false},
    {"alibaba-access-key-id", "Alibaba AccessKey ID", SEVERITY_HIGH,
     "(?:[^0-9A-Za-z]|^)(?P<secret>LTAI(?i)[a-z0-9]{20})(?:[^0-9A-Za-z]|$)", "ltai", NULL,
     false},
    {"age-secret-key", "Age secret key", SEVERITY_MEDIUM,
     "AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "age-secret-key-1", NULL, false},
    {"grafana-api-token", "Grafana API token", SEVERITY_MEDIUM,
     "['\"]?(?P<secret>eyJrIjoi(?i)[a-z0-9_=-]{72,92})['\"]?", "eyjrijoi", NULL, false},
    {"jwt-token", "JWT token", SEVERITY_MEDIUM,
     "(?P<secret>ey[a-zA-Z0-9]{17,}\\.ey[a-zA-Z0-9/\\\\_-]{17,}\\."
     "(?:[a-zA-Z0-9/\\\\_-]{10,}={0,2})?)",
     ".eyj", NULL, false},
    {"npm-access-token", "npm access token", SEVERITY_CRITICAL,
     "['\"](?P<secret>npm_(?i)[a-z0-9]{36})['\"]", "npm_", NULL, false},
    {"private-packagist-token", "Private Packagist token", SEVERITY_HIGH,
     "packagist_[ou][ru]t_(?i)[a-f0-9]{68}", "packagist_", NULL, false},
    {"sendgrid-api-token", "SendGrid API token", SEVERITY_MEDIUM, "SG\\.(?i)[a-z0-9_.-]{66}",
     "sg.", NULL, false},
    {"dockerconfig-secret", "Dockerconfig secret exposed", SEVERITY_HIGH,
     "(?i)\\.(?:dockerconfigjson|dockercfg):\\s*\\|*\\s*(?P<secret>(?:ey|ew)+[A-Za-z0-9/+=]+)",
     "dockerc", NULL, false},
    {"symfony-default-secret", "Symfony Default Secret", SEVERITY_LOW,
     "ThisTokenIsNotSoSecretChangeIt|ThisEzPlatformTokenIsNotSoSecret_PleaseChangeIt",
     "thistokenisnotsosecretchangeit|thisezplatformtokenisnotsosecret_pleasechangeit", NULL,
     false},
    {"azure-storage-account-key", "Azure Storage Account Key", SEVERITY_CRITICAL,
     "(?i)AccountKey\\s*=\\s*(?P<secret>[A-Za-z0-9+/]{86}==)", "accountkey", NULL, false},
    {"azure-sas-token", "Azure Shared Access Signature Token", SEVERITY_HIGH,
     "sv=\\d{4}-\\d{2}-\\d{2}(?:[&;][a-z]+=[^&\\s'\"]*){1,12}[&;]sig=(?P<secret>[A-Za-z0-9%+/=]{40,})",
     "sig=", NULL, false},
    {"azure-entra-client-secret", "Azure Entra ID Client Secret", SEVERITY_CRITICAL,
     "(?:[^a-zA-Z0-9_~.-]|^)(?P<secret>[a-zA-Z0-9_~.-]{3}8Q~[a-zA-Z0-9_~.-]{34})"
     "(?:[^a-zA-Z0-9_~.-]|$)",
     "8q~", NULL, false},
    {"azure-devops-pat", "Azure DevOps Personal Access Token", SEVERITY_HIGH,
     "(?i)(?:azure[_-]?devops|ado)[_-]?(?:pat|token|personal.?access.?token)\\s*[:=]\\s*[\"']?"
     "(?P<secret>[a-z2-7]{52})[\"']?",
     "devops|ado_|ado-|adopat|adotoken", NULL, false},
    {"azure-container-registry-credential", "Azure Container Registry Credential",
     SEVERITY_CRITICAL,
     "(?P<secret>[A-Za-z0-9+/]{52}JQQJ99C[A-Z]ACYeBjFEqg7NAAA[A-Z]AZCR[A-Za-z0-9+/]{4})",
     "acyebjfeqg7naaa", NULL, false},
    {"azure-container-registry-password", "Azure Container Registry Password", SEVERITY_CRITICAL,
     "(?i)azurecr\\.io[^\\n]{0,100}(?:password|pwd)\\s*[:=]\\s*[\"']?(?P<secret>[a-zA-Z0-9+/]{32})[\"']?",
     "azurecr.io", NULL, false},
    {"azure-app-config-connection-string", "Azure App Configuration Connection String",
     SEVERITY_CRITICAL,
     "(?i)Endpoint\\s*=\\s*https://[a-zA-Z0-9-]+\\.azconfig\\.io\\s*;\\s*Id\\s*=\\s*[a-zA-Z0-9+/=:-]+"
     "\\s*;\\s*Secret\\s*=\\s*(?P<secret>[a-zA-Z0-9+/=~]{32,88})",
     "azconfig.io", NULL, false},
    {"azure-ai-services-key", "Azure AI Services Key", SEVERITY_HIGH,
     "(?P<secret>[A-Za-z0-9+/]{52}JQQJ99C[A-Z][A-Za-z0-9+/]{7}XJ3w3[A-Za-z0-9+/]{4}ACOG[A-Za-z0-9+/]{4})",
     "xj3w3", NULL, false},
    {"openai-project-api-key", "OpenAI Project API Key", SEVERITY_CRITICAL,
     SW "(?P<secret>sk-proj-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100})", "t3blbkfj",
     NULL, false},
    {"openai-service-account-key", "OpenAI Service Account Key", SEVERITY_CRITICAL,
     SW "(?P<secret>sk-svcacct-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100})", "t3blbkfj",
     NULL, false},
    {"openai-admin-api-key", "OpenAI Admin API Key", SEVERITY_CRITICAL,
     SW "(?P<secret>sk-admin-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100})", "t3blbkfj",
     NULL, false},
    {"openai-service-api-key", "OpenAI Service API Key", SEVERITY_HIGH,
     SW "(?P<secret>sk-service-[A-Za-z0-9-]+-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})", "t3blbkfj",
     NULL, false},
    {"openai-realtime-client-secret", "OpenAI Realtime Client Secret", SEVERITY_MEDIUM,
     SW "(?P<secret>ek_[a-f0-9]{32})" EW, "ek_", NULL, false},
    {"openai-legacy-api-key", "OpenAI Legacy User API Key", SEVERITY_HIGH,
     SW "(?P<secret>sk-(?:None-)?[A-Za-z0-9]{20,42}T3BlbkFJ[A-Za-z0-9]{20,42})", "t3blbkfj",
     NULL, false},
    {"maven-settings-password", "Maven settings.xml password", SEVERITY_HIGH,
     "(?i)<\\s*password\\s*>\\s*(?P<secret>[^<\\s{][^<{]+[^<\\s])\\s*<\\s*/\\s*password\\s*>",
     "password", "settings.xml", false},
    {"maven-settings-passphrase", "Maven settings.xml passphrase", SEVERITY_HIGH,
     "(?i)<\\s*passphrase\\s*>\\s*(?P<secret>[^<\\s{][^<{]+[^<\\s])\\s*<\\s*/\\s*passphrase\\s*>",
     "passphrase", "settings.xml", false},
    {"maven-settings-security-master", "Maven settings-security.xml master password",
     SEVERITY_HIGH,
     "(?i)<\\s*master\\s*>\\s*(?P<secret>[^<\\s][^<]+[^<\\s])\\s*<\\s*/\\s*master\\s*>", "master",
     "settings-security.xml", false},
    /* Generic: a password-like name assigned a literal value (.env, ini,
     * yaml, properties, shell). Last, so a vendor rule names the secret. */
    {"generic-password", "Password or secret in a configuration assignment", SEVERITY_HIGH,
     "(?i)(?:^|[^a-z0-9])[a-z0-9_.-]{0,24}(?:password|passwd|pwd|secret|api_?key|"
     "access_?token|auth_?token)[\"']?[ \\t]*(?::=|=>|=|:)[ \\t]*[\"']?"
     "(?P<secret>[!#-&*+\\--:=?-Z\\\\^-z|~]{8,100})",
     "password|passwd|pwd|secret|api_key|apikey|access_token|accesstoken|auth_token|authtoken",
     GENERIC_FILES, true},
};
#define N_SECRET_RULES (sizeof SECRET_RULES / sizeof SECRET_RULES[0])

/* Paths never scanned (anchored at the start of the relative path where
 * they start with ^): test and example trees, vendored code, the system
 * and language runtimes' own trees, package metadata, markdown. */
static const char SECRETS_ALLOW_PATHS[] =
    "(?:^|/)(?i:tests?|testdata|__tests__|spec|examples?)/"
    "|(?:^|/)[^/]*(?i:[-_.]test|example)[^/]*$"
    "|\\.dist-info/|/vendor/|/locales?/|\\.md$"
    "|^usr/(?:share|include|lib)/|^usr/local/go/|^usr/local/lib/python[0-9.]+/"
    "|^usr/lib/gems/|^usr/src/wordpress/|^opt/yarn-v[0-9.]+/|^var/log/anaconda/";

typedef struct {
    pcre2_code *re;
    uint32_t secret_group; /* 0: the whole match */
    size_t nkw;            /* keywords; 0: the rule is always tried */
} compiled_rule;

/* One keyword of one rule (keywords are at least 2 bytes). */
typedef struct {
    const char *kw; /* lower case, into kwbuf */
    size_t len;
    unsigned rule;
} keyword;

typedef struct {
    compiled_rule rules[N_SECRET_RULES];
    char kwbuf[N_SECRET_RULES][128]; /* keyword strings, split in place */
    keyword kws[N_SECRET_RULES * SECRETS_KEYWORDS_MAX]; /* sorted by their first two bytes */
    size_t nkws;
    uint16_t bucket[65536 + 1]; /* kws[bucket[k] .. bucket[k+1]) start with the bytes k>>8, k&255 */
    uint64_t any[65536 / 64];   /* bit k: bucket k is not empty (8 KiB: stays in L1) */
    pcre2_code *allow;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
} secrets_state;

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static unsigned bucket_of(const unsigned char *two)
{
    return (unsigned)fold(two[0]) << 8 | fold(two[1]);
}

static int cmp_keyword(const void *a, const void *b)
{
    unsigned x = bucket_of((const unsigned char *)((const keyword *)a)->kw);
    unsigned y = bucket_of((const unsigned char *)((const keyword *)b)->kw);
    return (x > y) - (x < y);
}

static void secrets_close(void *p)
{
    secrets_state *s = p;
    if (!s)
        return;
    for (size_t i = 0; i < N_SECRET_RULES; i++)
        pcre2_code_free(s->rules[i].re);
    pcre2_code_free(s->allow);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_jit_stack_free(s->jit);
    free(s);
}

static pcre2_code *compile(const char *pattern, uint32_t flags, const char *what, imgsec_err *err)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   flags | PCRE2_MULTILINE, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof msg);
        err_set(err, IMGSEC_EINTERNAL, "secrets: rule %s does not compile at %zu: %s", what,
                (size_t)off, (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT (not built in): interpreted */
    return re;
}

static int secrets_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    secrets_state *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, IMGSEC_EINTERNAL, "secrets: out of memory");
    for (size_t i = 0; i < N_SECRET_RULES; i++) {
        compiled_rule *c = &s->rules[i];
        if (!(c->re = compile(SECRET_RULES[i].pattern, 0, SECRET_RULES[i].id, err)))
            goto fail;
        int g = pcre2_substring_number_from_name(c->re, (PCRE2_SPTR) "secret");
        c->secret_group = g > 0 ? (uint32_t)g : 0;
        if ((size_t)snprintf(s->kwbuf[i], sizeof s->kwbuf[i], "%s", SECRET_RULES[i].keywords) >=
            sizeof s->kwbuf[i]) {
            err_set(err, IMGSEC_EINTERNAL, "secrets: rule %s: keywords too long",
                    SECRET_RULES[i].id);
            goto fail;
        }
        for (char *tok = s->kwbuf[i], *save = NULL;
             c->nkw < SECRETS_KEYWORDS_MAX && (tok = strtok_r(tok, "|", &save)); tok = NULL) {
            if (strlen(tok) < 2) {
                err_set(err, IMGSEC_EINTERNAL, "secrets: rule %s: a keyword shorter than 2 bytes",
                        SECRET_RULES[i].id);
                goto fail;
            }
            s->kws[s->nkws++] = (keyword){.kw = tok, .len = strlen(tok), .rule = (unsigned)i};
            c->nkw++;
        }
    }
    qsort(s->kws, s->nkws, sizeof *s->kws, cmp_keyword);
    for (size_t k = 0, j = 0; k <= 65536; k++) {
        while (j < s->nkws && bucket_of((const unsigned char *)s->kws[j].kw) < k)
            j++;
        s->bucket[k] = (uint16_t)j;
    }
    for (size_t j = 0; j < s->nkws; j++) {
        unsigned k = bucket_of((const unsigned char *)s->kws[j].kw);
        s->any[k / 64] |= (uint64_t)1 << (k % 64);
    }
    if (!(s->allow = compile(SECRETS_ALLOW_PATHS, 0, "allow-paths", err)))
        goto fail;
    s->md = pcre2_match_data_create(16, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    s->jit = pcre2_jit_stack_create(32 * 1024, SECRETS_JIT_STACK_MAX, NULL);
    if (!s->md || !s->mctx) {
        err_set(err, IMGSEC_EINTERNAL, "secrets: out of memory");
        goto fail;
    }
    pcre2_set_match_limit(s->mctx, SECRETS_MATCH_LIMIT);
    if (s->jit)
        pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
    *state = s;
    return IMGSEC_OK;
fail:
    secrets_close(s);
    return err->code;
}

static bool path_allowed(secrets_state *s, const char *path)
{
    return pcre2_match(s->allow, (PCRE2_SPTR)path, strlen(path), 0, 0, s->md, s->mctx) >= 0;
}

static int64_t secrets_want(void *state, const scan_entry *e)
{
    secrets_state *s = state;
    if (!S_ISREG(e->mode) || e->size <= 0 || (uint64_t)e->size > SECRETS_FILE_MAX ||
        path_allowed(s, e->path))
        return SCAN_WANT_NONE;
    return SCAN_WANT_ALL;
}

/* Sets hit[r] for every rule r one of whose keywords occurs in data
 * (ASCII case folded), and for the rules without keywords. */
static void find_keywords(const secrets_state *s, const unsigned char *data, size_t len, bool *hit)
{
    size_t left = 0;
    for (size_t r = 0; r < N_SECRET_RULES; r++) {
        hit[r] = s->rules[r].nkw == 0;
        left += !hit[r];
    }
    for (size_t i = 0; i + 1 < len && left; i++) {
        unsigned k = bucket_of(data + i);
        if (!(s->any[k / 64] >> (k % 64) & 1))
            continue;
        for (unsigned j = s->bucket[k]; j < s->bucket[k + 1]; j++) {
            const keyword *w = &s->kws[j];
            if (hit[w->rule] || w->len > len - i)
                continue;
            size_t m = 2;
            while (m < w->len && fold(data[i + m]) == (unsigned char)w->kw[m])
                m++;
            if (m == w->len) {
                hit[w->rule] = true;
                left--;
            }
        }
    }
}

static double entropy(const unsigned char *v, size_t n)
{
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[v[i]]++;
    double h = 0;
    for (size_t i = 0; i < 256; i++)
        if (count[i]) {
            double p = (double)count[i] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

/* A generic value that is a reference or a template, not a literal. */
static bool placeholder(const unsigned char *v, size_t n)
{
    if (v[0] == '$' || v[0] == '%' || v[0] == '{' || v[0] == '<' || v[0] == '*')
        return true;
    for (size_t i = 0; i + 1 < n; i++)
        if ((v[i] == '$' && v[i + 1] == '{') || (v[i] == '{' && v[i + 1] == '{') ||
            (v[i] == '*' && v[i + 1] == '*'))
            return true;
    return false;
}

static bool icontains(const unsigned char *v, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower(v[i + j]) == needle[j])
            j++;
        if (j == m)
            return true;
    }
    return false;
}

/* A dotted identifier (self._password, config.db.pass): code, not a value. */
static bool dotted_identifier(const unsigned char *v, size_t n)
{
    bool dot = false, start = true;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '.') {
            if (start)
                return false;
            dot = start = true;
        } else if (isalpha(v[i]) || v[i] == '_' || (!start && isdigit(v[i]))) {
            start = false;
        } else {
            return false;
        }
    }
    return dot && !start;
}

/* Whether the basename of path matches one of the '|'-separated globs. */
static bool name_matches(const char *globs, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char g[64];
    for (const char *p = globs; *p;) {
        size_t n = strcspn(p, "|");
        if (n < sizeof g) {
            memcpy(g, p, n);
            g[n] = '\0';
            if (fnmatch(g, b, 0) == 0)
                return true;
        }
        p += n + (p[n] == '|');
    }
    return false;
}

typedef struct {
    size_t start, end;
} span;

static int emit(const secret_rule *r, const scan_entry *e, const unsigned char *v, size_t n,
                scan_result *res, imgsec_err *err)
{
    char raw[128]; /* the redaction keeps at most IMPORT_REDACT_MAX characters */
    size_t k = n < sizeof raw - 1 ? n : sizeof raw - 1;
    for (size_t i = 0; i < k; i++) /* JSON strings are UTF-8: keep bytes readable */
        raw[i] = v[i] >= 0x80 || v[i] == 0 ? '?' : (char)v[i];
    raw[k] = '\0';
    char *content = import_redact(raw);
    explicit_bzero(raw, sizeof raw);
    if (!content)
        return err_set(err, IMGSEC_EINTERNAL, "secrets: out of memory");
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "rule_id", r->id, "name", r->title,
                            "severity", severity_name(r->sev), "file_path", e->path, "position",
                            e->layer ? e->layer : "", "content", content);
    free(content);
    if (!rec) {
        scan_warn(res, "secrets: a finding of rule %s in a path that is not UTF-8 skipped", r->id);
        return IMGSEC_OK;
    }
    return scan_emit(res, REPORT_SENSITIVE_INFO, rec) ? err_set(err, IMGSEC_EINTERNAL,
                                                                "secrets: out of memory")
                                                      : IMGSEC_OK;
}

static int secrets_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                         scan_result *res, imgsec_err *err)
{
    secrets_state *s = state;
    if (!data || len == 0)
        return IMGSEC_OK;
    if (memchr(data, 0, len < SECRETS_BINARY_SNIFF ? len : SECRETS_BINARY_SNIFF))
        return IMGSEC_OK; /* binary */
    bool hit[N_SECRET_RULES];
    find_keywords(s, data, len, hit);

    span found[SECRETS_PER_FILE_MAX];
    size_t nfound = 0;
    bool capped = false;
    for (size_t i = 0; i < N_SECRET_RULES && !capped; i++) {
        const secret_rule *r = &SECRET_RULES[i];
        const compiled_rule *c = &s->rules[i];
        if (r->name && !name_matches(r->name, e->path))
            continue;
        if (!hit[i])
            continue;
        PCRE2_SIZE at = 0;
        while (at <= len) {
            int rc = pcre2_match(c->re, data, len, at, 0, s->md, s->mctx);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                scan_warn(res, "secrets: %s: rule %s gave up (pcre2 error %d), rest skipped",
                          e->path, r->id, rc);
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
            PCRE2_SIZE m0 = ov[0], m1 = ov[1];
            PCRE2_SIZE s0 = ov[2 * c->secret_group], s1 = ov[2 * c->secret_group + 1];
            at = m1 > m0 ? m1 : m1 + 1;
            /* the boundary character after a secret may start the next one */
            if (s1 != PCRE2_UNSET && s1 < m1 && s1 > m0)
                at = s1;
            if (s0 == PCRE2_UNSET || s1 <= s0)
                continue;
            const unsigned char *v = data + s0;
            size_t n = s1 - s0;
            if (icontains(v, n, "example"))
                continue;
            if (r->generic && (placeholder(v, n) || dotted_identifier(v, n) ||
                               entropy(v, n) < SECRETS_GENERIC_ENTROPY))
                continue;
            bool overlap = false;
            for (size_t f = 0; f < nfound && !overlap; f++)
                overlap = s0 < found[f].end && found[f].start < s1;
            if (overlap)
                continue;
            if (nfound == SECRETS_PER_FILE_MAX) {
                scan_warn(res, "secrets: %s: more than %d findings, the rest not reported",
                          e->path, SECRETS_PER_FILE_MAX);
                capped = true;
                break;
            }
            found[nfound++] = (span){s0, s1};
            int erc = emit(r, e, v, n, res, err);
            if (erc)
                return erc;
        }
    }
    return IMGSEC_OK;
}

const scan_analyzer scan_an_secrets = {
    .name = "secrets",
    .emits = REPORT_SENSITIVE_INFO,
    .open = secrets_open,
    .want = secrets_want,
    .entry = secrets_entry,
    .close = secrets_close,
};
