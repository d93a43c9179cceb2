/* an_baseline.c - the "baseline" analyzer: configuration checks on the
 * image's own files (risk-config).
 *
 * It reads four kinds of files as they are offered: etc/shadow,
 * etc/passwd, etc/login.defs and etc/ssh/sshd_config (plus the
 * etc/ssh/sshd_config.d/ files it includes), parses each into a small
 * bounded state, and judges everything in finish(), against one table of
 * checks (BASELINE_CHECKS), so that the result does not depend on the
 * order entries come in. The image config's User is judged there too.
 *
 * Weak passwords: each shadow hash whose cost is bounded (see
 * hash_cost_of) is tried against a small built-in dictionary and the
 * account's own name with libxcrypt's crypt_rn; a match is a finding that
 * names the account, never the password. Every record follows
 * data-model.md's risk-config: check_name, check_rule_id,
 * check_rule_name, check_type, standard, severity, current_value,
 * suggest_value. The rules and their thresholds: docs/scanning-risks.md.
 */
#include <crypt.h>
#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

#define BASELINE_FILE_MAX (1u << 20)  /* bytes read of each file */
#define BASELINE_LINE_MAX 4096        /* longer lines are skipped */
#define BASELINE_ACCOUNTS_MAX 4096    /* accounts kept per file */
#define BASELINE_NAME_MAX 64          /* account names, sshd keywords */
#define BASELINE_HASH_MAX 256         /* password hash field */
#define BASELINE_VALUE_MAX 128        /* a login.defs or sshd value */
#define BASELINE_SSHD_FILES_MAX 32    /* sshd_config + included files */
#define BASELINE_SSHD_KEYS_MAX 256    /* keyword lines kept per sshd file */
#define BASELINE_TRIES_MAX 1024       /* crypt_rn calls per scan, cheap schemes */
#define BASELINE_SLOW_TRIES_MAX 32    /* crypt_rn calls per scan, slow schemes */

/* The weak-password dictionary: the most common passwords of public
 * leak lists and image defaults, the empty password first; the account
 * name is tried too. */
static const char *const WEAK_PASSWORDS[] = {
    "", "123456", "password", "12345678", "qwerty", "123456789", "12345", "1234", "111111",
    "1234567", "123123", "abc123", "letmein", "monkey", "dragon", "master", "shadow",
    "iloveyou", "admin", "root", "toor", "changeme", "welcome", "test", "guest", "default",
    "passw0rd", "P@ssw0rd", "Password", "Password1", "Password123", "password123", "qwerty123",
    "alpine", "ubuntu", "debian", "centos", "docker", "secret",
};
#define N_WEAK (sizeof WEAK_PASSWORDS / sizeof WEAK_PASSWORDS[0])

/* The weak-password budget of every scan of this process (fuzzing lowers
 * it: scan_baseline_budget). */
static size_t budget_cheap = BASELINE_TRIES_MAX, budget_slow = BASELINE_SLOW_TRIES_MAX;

void scan_baseline_budget(size_t cheap, size_t slow)
{
    budget_cheap = cheap;
    budget_slow = slow;
}

/* ---- the checks ---- */

typedef enum {
    CK_EMPTY_PASSWORD, CK_WEAK_PASSWORD, CK_LEGACY_HASH, CK_UID0, CK_HASH_IN_PASSWD,
    CK_PASS_MAX_DAYS, CK_PASS_MIN_DAYS, CK_PASS_WARN_AGE, CK_PASS_MIN_LEN, CK_ENCRYPT_METHOD,
    CK_UMASK,
    CK_SSH_ROOT_LOGIN, CK_SSH_EMPTY_PASSWORDS, CK_SSH_PASSWORD_AUTH, CK_SSH_PROTOCOL,
    CK_SSH_X11, CK_SSH_MAX_AUTH_TRIES, CK_SSH_HOSTBASED, CK_SSH_IGNORE_RHOSTS,
    CK_SSH_USER_ENV,
    CK_IMAGE_USER_ROOT,
    CK_COUNT
} check_id;

typedef struct {
    const char *rule_id;
    const char *rule_name;
    const char *type;
    const char *title; /* check_name */
    severity sev;
    const char *suggest;
} baseline_check;

#define STANDARD "hw_standard"

static const baseline_check BASELINE_CHECKS[CK_COUNT] = {
    [CK_EMPTY_PASSWORD] = {"IMGSEC-B001", "account-empty-password", "account",
                           "Accounts must not have an empty password", SEVERITY_CRITICAL,
                           "a password hash, or locked (! or *)"},
    [CK_WEAK_PASSWORD] = {"IMGSEC-B002", "account-weak-password", "account",
                          "Accounts must not have a weak password", SEVERITY_HIGH,
                          "a strong password, or locked (! or *)"},
    [CK_LEGACY_HASH] = {"IMGSEC-B003", "account-legacy-hash", "account",
                        "Password hashes must use a modern scheme", SEVERITY_MEDIUM,
                        "yescrypt ($y$), SHA-512 ($6$) or bcrypt ($2b$)"},
    [CK_UID0] = {"IMGSEC-B004", "account-uid0-not-root", "account",
                 "Only root may have UID 0", SEVERITY_HIGH, "a UID other than 0"},
    [CK_HASH_IN_PASSWD] = {"IMGSEC-B005", "account-hash-in-passwd", "account",
                           "Password hashes must be in /etc/shadow, not /etc/passwd",
                           SEVERITY_HIGH, "x"},
    [CK_PASS_MAX_DAYS] = {"IMGSEC-B010", "login-defs-pass-max-days", "password-policy",
                          "Password expiration (login.defs PASS_MAX_DAYS)", SEVERITY_LOW,
                          "PASS_MAX_DAYS 90 or less"},
    [CK_PASS_MIN_DAYS] = {"IMGSEC-B011", "login-defs-pass-min-days", "password-policy",
                          "Minimum days between password changes (login.defs PASS_MIN_DAYS)",
                          SEVERITY_LOW, "PASS_MIN_DAYS 1 or more"},
    [CK_PASS_WARN_AGE] = {"IMGSEC-B012", "login-defs-pass-warn-age", "password-policy",
                          "Password expiration warning (login.defs PASS_WARN_AGE)", SEVERITY_LOW,
                          "PASS_WARN_AGE 7 or more"},
    [CK_PASS_MIN_LEN] = {"IMGSEC-B013", "login-defs-pass-min-len", "password-policy",
                         "Minimum password length (login.defs PASS_MIN_LEN)", SEVERITY_MEDIUM,
                         "PASS_MIN_LEN 8 or more"},
    [CK_ENCRYPT_METHOD] = {"IMGSEC-B014", "login-defs-encrypt-method", "password-policy",
                           "Password hashing method (login.defs ENCRYPT_METHOD)",
                           SEVERITY_MEDIUM, "ENCRYPT_METHOD SHA512 or YESCRYPT"},
    [CK_UMASK] = {"IMGSEC-B015", "login-defs-umask", "password-policy",
                  "Default file creation mask (login.defs UMASK)", SEVERITY_LOW,
                  "UMASK 027 or more restrictive"},
    [CK_SSH_ROOT_LOGIN] = {"IMGSEC-B020", "sshd-permit-root-login", "ssh",
                           "SSH root login (sshd_config PermitRootLogin)", SEVERITY_HIGH,
                           "PermitRootLogin no"},
    [CK_SSH_EMPTY_PASSWORDS] = {"IMGSEC-B021", "sshd-permit-empty-passwords", "ssh",
                                "SSH login with empty passwords (sshd_config PermitEmptyPasswords)",
                                SEVERITY_CRITICAL, "PermitEmptyPasswords no"},
    [CK_SSH_PASSWORD_AUTH] = {"IMGSEC-B022", "sshd-password-authentication", "ssh",
                              "SSH password authentication (sshd_config PasswordAuthentication)",
                              SEVERITY_LOW, "PasswordAuthentication no"},
    [CK_SSH_PROTOCOL] = {"IMGSEC-B023", "sshd-protocol", "ssh",
                         "SSH protocol version (sshd_config Protocol)", SEVERITY_HIGH,
                         "Protocol 2"},
    [CK_SSH_X11] = {"IMGSEC-B024", "sshd-x11-forwarding", "ssh",
                    "SSH X11 forwarding (sshd_config X11Forwarding)", SEVERITY_LOW,
                    "X11Forwarding no"},
    [CK_SSH_MAX_AUTH_TRIES] = {"IMGSEC-B025", "sshd-max-auth-tries", "ssh",
                               "SSH authentication attempts (sshd_config MaxAuthTries)",
                               SEVERITY_LOW, "MaxAuthTries 4 or less"},
    [CK_SSH_HOSTBASED] = {"IMGSEC-B026", "sshd-hostbased-authentication", "ssh",
                          "SSH host-based authentication (sshd_config HostbasedAuthentication)",
                          SEVERITY_MEDIUM, "HostbasedAuthentication no"},
    [CK_SSH_IGNORE_RHOSTS] = {"IMGSEC-B027", "sshd-ignore-rhosts", "ssh",
                              "SSH .rhosts files (sshd_config IgnoreRhosts)", SEVERITY_MEDIUM,
                              "IgnoreRhosts yes"},
    [CK_SSH_USER_ENV] = {"IMGSEC-B028", "sshd-permit-user-environment", "ssh",
                         "SSH user environment (sshd_config PermitUserEnvironment)",
                         SEVERITY_MEDIUM, "PermitUserEnvironment no"},
    [CK_IMAGE_USER_ROOT] = {"IMGSEC-B030", "image-user-root", "image",
                            "Containers must not run as root (image config User)",
                            SEVERITY_MEDIUM, "a non-root user (USER in the Dockerfile)"},
};

/* ---- state ---- */

typedef enum { BF_SHADOW, BF_PASSWD, BF_LOGIN_DEFS, BF_SSHD, BF_SSHD_INCLUDED, BF_NONE } bfile;

typedef struct {
    char name[BASELINE_NAME_MAX];
    char *hash; /* shadow: the hash field; passwd: the password field */
    int64_t uid; /* passwd only */
} account;

typedef struct {
    account *v;
    size_t n;
    bool seen;
} account_list;

/* The login.defs keys read */
typedef enum {
    D_PASS_MAX_DAYS, D_PASS_MIN_DAYS, D_PASS_WARN_AGE, D_PASS_MIN_LEN, D_ENCRYPT_METHOD, D_UMASK,
    D_MD5_CRYPT_ENAB,
    N_DEFS
} defs_key;
static const char *const DEFS_KEYS[N_DEFS] = {
    [D_PASS_MAX_DAYS] = "PASS_MAX_DAYS", [D_PASS_MIN_DAYS] = "PASS_MIN_DAYS",
    [D_PASS_WARN_AGE] = "PASS_WARN_AGE", [D_PASS_MIN_LEN] = "PASS_MIN_LEN",
    [D_ENCRYPT_METHOD] = "ENCRYPT_METHOD", [D_UMASK] = "UMASK",
    [D_MD5_CRYPT_ENAB] = "MD5_CRYPT_ENAB",
};

typedef struct {
    char key[BASELINE_NAME_MAX]; /* lower-case keyword */
    char value[BASELINE_VALUE_MAX];
} sshd_kv;

typedef struct {
    char *path;
    sshd_kv *kv;
    size_t n;
} sshd_file;

typedef struct {
    account_list shadow, passwd;
    bool defs_seen;
    char defs[N_DEFS][BASELINE_VALUE_MAX];
    bool defs_set[N_DEFS];
    sshd_file sshd[BASELINE_SSHD_FILES_MAX]; /* [0]: sshd_config itself when seen */
    size_t n_sshd;
    bool sshd_seen;
    struct crypt_data *crypt;
    size_t tries, slow_tries; /* crypt_rn calls so far */
} baseline_state;

static void accounts_free(account_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].hash);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void baseline_close(void *p)
{
    baseline_state *s = p;
    if (!s)
        return;
    accounts_free(&s->shadow);
    accounts_free(&s->passwd);
    for (size_t i = 0; i < s->n_sshd; i++) {
        free(s->sshd[i].path);
        free(s->sshd[i].kv);
    }
    if (s->crypt)
        explicit_bzero(s->crypt, sizeof *s->crypt);
    free(s->crypt);
    free(s);
}

static int baseline_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    baseline_state *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, IMGSEC_EINTERNAL, "baseline: out of memory");
    *state = s;
    return IMGSEC_OK;
}

static bfile baseline_kind(const char *path)
{
    if (strcmp(path, "etc/shadow") == 0)
        return BF_SHADOW;
    if (strcmp(path, "etc/passwd") == 0)
        return BF_PASSWD;
    if (strcmp(path, "etc/login.defs") == 0)
        return BF_LOGIN_DEFS;
    if (strcmp(path, "etc/ssh/sshd_config") == 0)
        return BF_SSHD;
    if (strncmp(path, "etc/ssh/sshd_config.d/", 22) == 0 && !strchr(path + 22, '/'))
        return BF_SSHD_INCLUDED;
    return BF_NONE;
}

static int64_t baseline_want(void *state, const scan_entry *e)
{
    (void)state;
    if (!S_ISREG(e->mode) || baseline_kind(e->path) == BF_NONE)
        return SCAN_WANT_NONE;
    return BASELINE_FILE_MAX;
}

/* ---- parsers ---- */

/* Calls fn on each line of data (without its newline, NUL-terminated in
 * a copy); lines over BASELINE_LINE_MAX are skipped and counted. */
typedef int (*line_fn)(baseline_state *s, char *line, void *ctx);

static int each_line(baseline_state *s, const unsigned char *data, size_t len, line_fn fn,
                     void *ctx, size_t *too_long)
{
    char line[BASELINE_LINE_MAX + 1];
    size_t i = 0;
    while (i < len) {
        const unsigned char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len, n = end - i;
        if (n > 0 && data[end - 1] == '\r')
            n--;
        if (n > BASELINE_LINE_MAX) {
            (*too_long)++;
        } else if (!memchr(data + i, '\0', n)) {
            memcpy(line, data + i, n);
            line[n] = '\0';
            int rc = fn(s, line, ctx);
            if (rc)
                return rc;
        }
        i = end + 1;
    }
    return 0;
}

/* Splits a colon-separated line into at most max fields in place; the
 * count of fields. */
static size_t split_colon(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= BASELINE_NAME_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

typedef struct {
    account_list *list;
    bool passwd;
    size_t malformed;
} account_ctx;

static int account_line(baseline_state *s, char *line, void *p)
{
    (void)s;
    account_ctx *c = p;
    if (!*line || line[0] == '#')
        return 0;
    char *f[8];
    size_t n = split_colon(line, f, 8);
    /* shadow: 9 fields, passwd: 7; be lenient on the tail, not the head */
    if (n < (c->passwd ? 4u : 2u) || !valid_name(f[0]) || strlen(f[1]) >= BASELINE_HASH_MAX) {
        c->malformed++;
        return 0;
    }
    int64_t uid = -1;
    if (c->passwd) {
        char *end;
        long long u = strtoll(f[2], &end, 10);
        if (!*f[2] || *end || u < 0) {
            c->malformed++;
            return 0;
        }
        uid = u;
    }
    account_list *l = c->list;
    if (l->n >= BASELINE_ACCOUNTS_MAX)
        return 1; /* stop: the caller warns */
    if (l->n % 64 == 0) {
        account *v = realloc(l->v, (l->n + 64) * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
    }
    account *a = &l->v[l->n];
    snprintf(a->name, sizeof a->name, "%s", f[0]);
    if (!(a->hash = strdup(f[1])))
        return -1;
    a->uid = uid;
    l->n++;
    return 0;
}

static int defs_line(baseline_state *s, char *line, void *p)
{
    (void)p;
    char *k = line;
    while (*k == ' ' || *k == '\t')
        k++;
    if (!*k || *k == '#')
        return 0;
    char *v = k + strcspn(k, " \t");
    if (*v)
        *v++ = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    v[strcspn(v, " \t#")] = '\0';
    for (size_t i = 0; i < N_DEFS; i++)
        if (strcmp(k, DEFS_KEYS[i]) == 0 && strlen(v) < BASELINE_VALUE_MAX) {
            /* the last definition wins (shadow-utils' getdef) */
            snprintf(s->defs[i], sizeof s->defs[i], "%s", v);
            s->defs_set[i] = true;
        }
    return 0;
}

static int sshd_line(baseline_state *s, char *line, void *p)
{
    (void)s;
    sshd_file *f = p;
    char *k = line;
    while (*k == ' ' || *k == '\t')
        k++;
    if (!*k || *k == '#')
        return 0;
    size_t kl = strcspn(k, " \t=");
    char *v = k + kl;
    if (*v)
        *v++ = '\0';
    v += strspn(v, " \t=");
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = '\0';
    if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        v[vl - 1] = '\0';
        v++;
    }
    if (kl >= BASELINE_NAME_MAX || strlen(v) >= BASELINE_VALUE_MAX || f->n >= BASELINE_SSHD_KEYS_MAX)
        return 0;
    sshd_kv *kv = &f->kv[f->n++];
    for (size_t i = 0; i <= kl; i++)
        kv->key[i] = (char)tolower((unsigned char)k[i]);
    snprintf(kv->value, sizeof kv->value, "%s", v);
    return 0;
}

static int baseline_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                          scan_result *res, imgsec_err *err)
{
    baseline_state *s = state;
    bfile kind = baseline_kind(e->path);
    size_t too_long = 0;
    int rc = 0;
    if (!data)
        return IMGSEC_OK;
    if ((size_t)e->size > len)
        scan_warn(res, "baseline: %s: only the first %u bytes read", e->path, BASELINE_FILE_MAX);
    switch (kind) {
    case BF_SHADOW:
    case BF_PASSWD: {
        account_ctx c = {kind == BF_SHADOW ? &s->shadow : &s->passwd, kind == BF_PASSWD, 0};
        accounts_free(c.list);
        c.list->seen = true;
        rc = each_line(s, data, len, account_line, &c, &too_long);
        if (rc == 1)
            scan_warn(res, "baseline: %s: more than %d accounts, the rest not checked", e->path,
                      BASELINE_ACCOUNTS_MAX);
        if (c.malformed)
            scan_warn(res, "baseline: %s: %zu malformed lines skipped", e->path, c.malformed);
        break;
    }
    case BF_LOGIN_DEFS:
        s->defs_seen = true;
        rc = each_line(s, data, len, defs_line, NULL, &too_long);
        break;
    case BF_SSHD:
    case BF_SSHD_INCLUDED: {
        if (s->n_sshd >= BASELINE_SSHD_FILES_MAX) {
            scan_warn(res, "baseline: %s: more than %d sshd files, skipped", e->path,
                      BASELINE_SSHD_FILES_MAX);
            return IMGSEC_OK;
        }
        sshd_file *f = &s->sshd[s->n_sshd];
        if (!(f->path = strdup(e->path)) || !(f->kv = calloc(BASELINE_SSHD_KEYS_MAX, sizeof *f->kv))) {
            free(f->path);
            f->path = NULL;
            return err_set(err, IMGSEC_EINTERNAL, "baseline: out of memory");
        }
        s->n_sshd++;
        if (kind == BF_SSHD)
            s->sshd_seen = true;
        rc = each_line(s, data, len, sshd_line, f, &too_long);
        break;
    }
    case BF_NONE: break;
    }
    if (rc < 0)
        return err_set(err, IMGSEC_EINTERNAL, "baseline: out of memory");
    if (too_long)
        scan_warn(res, "baseline: %s: %zu lines over %d bytes skipped", e->path, too_long,
                  BASELINE_LINE_MAX);
    return IMGSEC_OK;
}

/* ---- judging ---- */

static int emit(scan_result *res, check_id id, const char *current, imgsec_err *err)
{
    const baseline_check *c = &BASELINE_CHECKS[id];
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "check_name", c->title,
                            "check_rule_id", c->rule_id, "check_rule_name", c->rule_name,
                            "check_type", c->type, "standard", STANDARD, "severity",
                            severity_name(c->sev), "current_value", current, "suggest_value",
                            c->suggest);
    if (!rec) {
        scan_warn(res, "baseline: %s: a value that is not UTF-8 skipped", c->rule_id);
        return IMGSEC_OK;
    }
    return scan_emit(res, REPORT_RISK_CONFIG, rec)
               ? err_set(err, IMGSEC_EINTERNAL, "baseline: out of memory")
               : IMGSEC_OK;
}

static int itoa64(char c)
{
    static const char A[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const char *p = c ? strchr(A, c) : NULL;
    return p ? (int)(p - A) : -1;
}

/* A hash scheme too old to resist cracking: its name, else NULL. */
static const char *legacy_scheme(const char *h)
{
    if (strncmp(h, "$1$", 3) == 0)
        return "md5crypt";
    if (strncmp(h, "$md5", 4) == 0)
        return "sunmd5";
    if (strncmp(h, "$3$", 3) == 0)
        return "NT";
    if (h[0] == '_' && strlen(h) == 20)
        return "bsdicrypt (DES)";
    if (strlen(h) == 13 && itoa64(h[0]) >= 0 && itoa64(h[1]) >= 0)
        return "descrypt (DES)";
    return NULL;
}

/* How much of the dictionary h is tried with: HASH_SKIP when its scheme
 * is unknown or its cost parameters are beyond the usual defaults' order
 * (time and memory are bounded), HASH_SLOW for the memory-hard schemes
 * and costs above the defaults (the first SLOW_WORDS words and the
 * account name), else HASH_FULL. Prefixes as libxcrypt reads them. */
typedef enum { HASH_SKIP, HASH_SLOW, HASH_FULL } hash_cost;
#define SLOW_WORDS 3

static long param_num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end == s || v < 0 ? LONG_MAX : v;
}

static bool all_itoa64(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (itoa64(s[i]) < 0)
            return false;
    return true;
}

static hash_cost hash_cost_of(const char *h)
{
    if (strncmp(h, "$2a$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2y$", 4) == 0) {
        if (!isdigit((unsigned char)h[4]) || !isdigit((unsigned char)h[5]) || h[6] != '$')
            return HASH_SKIP;
        int cost = (h[4] - '0') * 10 + (h[5] - '0');
        return cost > 12 ? HASH_SKIP : cost > 5 ? HASH_SLOW : HASH_FULL;
    }
    if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) {
        long r = strncmp(h + 3, "rounds=", 7) == 0 ? param_num(h + 10) : 5000;
        return r > 100000 ? HASH_SKIP : r > 5000 ? HASH_SLOW : HASH_FULL;
    }
    if (strncmp(h, "$y$", 3) == 0 || strncmp(h, "$gy$", 4) == 0) {
        /* the default flavour j, then N_log2 - 1 and r - 1, one char each */
        const char *p = h + (h[1] == 'y' ? 3 : 4);
        return p[0] == 'j' && itoa64(p[1]) >= 0 && itoa64(p[1]) <= 12 && itoa64(p[2]) >= 0 &&
                       itoa64(p[2]) <= 31 && p[3] == '$'
                   ? HASH_SLOW
                   : HASH_SKIP;
    }
    if (strncmp(h, "$7$", 3) == 0) /* N_log2; r, p in 5 chars each (low first) */
        return itoa64(h[3]) >= 0 && itoa64(h[3]) <= 14 && itoa64(h[4]) >= 0 &&
                       itoa64(h[4]) <= 32 && strncmp(h + 5, "....", 4) == 0 &&
                       itoa64(h[9]) >= 0 && itoa64(h[9]) <= 1 && strncmp(h + 10, "....", 4) == 0
                   ? HASH_SLOW
                   : HASH_SKIP;
    if (strncmp(h, "$md5", 4) == 0) {
        const char *r = strncmp(h + 4, ",rounds=", 8) == 0 ? h + 12 : NULL;
        long n = r ? param_num(r) : 0;
        return n > 100000 ? HASH_SKIP : n > 5000 ? HASH_SLOW : HASH_FULL;
    }
    if (strncmp(h, "$1$", 3) == 0 || strncmp(h, "$3$", 3) == 0)
        return HASH_FULL;
    if (h[0] == '_') { /* bsdicrypt: a 24-bit count in 4 chars, low first */
        if (strlen(h) != 20 || !all_itoa64(h + 1, 19))
            return HASH_SKIP;
        long n = 0;
        for (int i = 4; i >= 1; i--)
            n = n * 64 + itoa64(h[i]);
        return n > 100000 ? HASH_SKIP : HASH_FULL;
    }
    /* descrypt: 13 chars of the crypt alphabet; any other prefix: unknown */
    return strlen(h) == 13 && all_itoa64(h, 13) ? HASH_FULL : HASH_SKIP;
}

/* Whether a's hash verifies a dictionary word or the account name,
 * within what is left of the scan's budget of tries (*spent set when it
 * ran out). */
static bool weak_password(baseline_state *s, const account *a, hash_cost cost, bool *spent,
                          imgsec_err *err, int *rc)
{
    if (!s->crypt && !(s->crypt = calloc(1, sizeof *s->crypt))) {
        *rc = err_set(err, IMGSEC_EINTERNAL, "baseline: out of memory");
        return false;
    }
    size_t n = cost == HASH_SLOW ? SLOW_WORDS : N_WEAK;
    size_t *used = cost == HASH_SLOW ? &s->slow_tries : &s->tries;
    size_t max = cost == HASH_SLOW ? budget_slow : budget_cheap;
    for (size_t i = 0; i <= n; i++) {
        if ((*used)++ >= max) {
            *spent = true;
            return false;
        }
        const char *word = i < n ? WEAK_PASSWORDS[i] : a->name;
        const char *out = crypt_rn(word, a->hash, s->crypt, (int)sizeof *s->crypt);
        if (out && out[0] != '*' && strcmp(out, a->hash) == 0)
            return true;
    }
    return false;
}

static int judge_accounts(baseline_state *s, scan_result *res, imgsec_err *err)
{
    char cur[256];
    int rc = IMGSEC_OK;
    bool spent = false;
    /* empty, weak, legacy: per shadow account, in file order, grouped by check */
    for (check_id id = CK_EMPTY_PASSWORD; id <= CK_LEGACY_HASH; id++) {
        for (size_t i = 0; i < s->shadow.n && rc == IMGSEC_OK; i++) {
            const account *a = &s->shadow.v[i];
            const char *h = a->hash;
            if (id == CK_EMPTY_PASSWORD && !*h) {
                snprintf(cur, sizeof cur, "%s: empty password field in /etc/shadow", a->name);
                rc = emit(res, id, cur, err);
            }
            if (!*h || h[0] == '!' || h[0] == '*')
                continue; /* empty, or locked */
            if (id == CK_LEGACY_HASH && legacy_scheme(h)) {
                snprintf(cur, sizeof cur, "%s: %s hash", a->name, legacy_scheme(h));
                rc = emit(res, id, cur, err);
            }
            if (id == CK_WEAK_PASSWORD) {
                hash_cost cost = hash_cost_of(h);
                if (cost == HASH_SKIP)
                    continue;
                if (weak_password(s, a, cost, &spent, err, &rc)) {
                    snprintf(cur, sizeof cur, "%s: the password is in the weak-password list",
                             a->name);
                    rc = emit(res, id, cur, err);
                }
            }
        }
    }
    if (spent)
        scan_warn(res, "baseline: the weak-password budget (%zu tries, %zu of slow schemes) is "
                       "spent, some hashes not tried",
                  budget_cheap, budget_slow);
    for (size_t i = 0; i < s->passwd.n && rc == IMGSEC_OK; i++) {
        const account *a = &s->passwd.v[i];
        if (a->uid == 0 && strcmp(a->name, "root") != 0) {
            snprintf(cur, sizeof cur, "%s: UID 0", a->name);
            rc = emit(res, CK_UID0, cur, err);
        }
    }
    for (size_t i = 0; i < s->passwd.n && rc == IMGSEC_OK; i++) {
        const account *a = &s->passwd.v[i];
        const char *p = a->hash;
        if (!*p) {
            snprintf(cur, sizeof cur, "%s: empty password field in /etc/passwd", a->name);
            rc = emit(res, CK_EMPTY_PASSWORD, cur, err);
        } else if (strcmp(p, "x") != 0 && p[0] != '*' && p[0] != '!') {
            snprintf(cur, sizeof cur, "%s: a password hash in /etc/passwd", a->name);
            rc = emit(res, CK_HASH_IN_PASSWD, cur, err);
        }
    }
    return rc;
}

/* A login.defs number, or -1 when unset or not a number. */
static long defs_num(const baseline_state *s, defs_key i, int base)
{
    if (!s->defs_set[i] || !*s->defs[i])
        return -1;
    char *end;
    long v = strtol(s->defs[i], &end, base);
    return *end || v < 0 ? -1 : v;
}

static int judge_login_defs(baseline_state *s, scan_result *res, imgsec_err *err)
{
    if (!s->defs_seen)
        return IMGSEC_OK;
    char cur[BASELINE_VALUE_MAX + 64];
    int rc = IMGSEC_OK;
#define DEF_CUR(i) (s->defs_set[i] ? s->defs[i] : "not set")
    long max = defs_num(s, D_PASS_MAX_DAYS, 10), min = defs_num(s, D_PASS_MIN_DAYS, 10),
         warn = defs_num(s, D_PASS_WARN_AGE, 10), len = defs_num(s, D_PASS_MIN_LEN, 10),
         umask = defs_num(s, D_UMASK, 8);
    if (max < 0 || max > 90) {
        snprintf(cur, sizeof cur, "PASS_MAX_DAYS %s", DEF_CUR(D_PASS_MAX_DAYS));
        rc = emit(res, CK_PASS_MAX_DAYS, cur, err);
    }
    if (!rc && min < 1) {
        snprintf(cur, sizeof cur, "PASS_MIN_DAYS %s", DEF_CUR(D_PASS_MIN_DAYS));
        rc = emit(res, CK_PASS_MIN_DAYS, cur, err);
    }
    if (!rc && warn < 7) {
        snprintf(cur, sizeof cur, "PASS_WARN_AGE %s", DEF_CUR(D_PASS_WARN_AGE));
        rc = emit(res, CK_PASS_WARN_AGE, cur, err);
    }
    /* PASS_MIN_LEN is obsolete under PAM: judged only when set */
    if (!rc && s->defs_set[D_PASS_MIN_LEN] && len < 8) {
        snprintf(cur, sizeof cur, "PASS_MIN_LEN %s", s->defs[D_PASS_MIN_LEN]);
        rc = emit(res, CK_PASS_MIN_LEN, cur, err);
    }
    const char *m = s->defs[D_ENCRYPT_METHOD];
    if (!rc && !(s->defs_set[D_ENCRYPT_METHOD] && (strcasecmp(m, "SHA512") == 0 ||
                                    strcasecmp(m, "YESCRYPT") == 0))) {
        if (s->defs_set[D_ENCRYPT_METHOD])
            snprintf(cur, sizeof cur, "ENCRYPT_METHOD %s", m);
        else /* shadow-utils: MD5_CRYPT_ENAB yes means MD5, else DES */
            snprintf(cur, sizeof cur, "ENCRYPT_METHOD not set (%s)",
                     s->defs_set[D_MD5_CRYPT_ENAB] && strcasecmp(s->defs[D_MD5_CRYPT_ENAB], "yes") == 0 ? "MD5" : "DES");
        rc = emit(res, CK_ENCRYPT_METHOD, cur, err);
    }
    if (!rc && (umask < 0 || (umask & 027) != 027)) {
        snprintf(cur, sizeof cur, "UMASK %s", DEF_CUR(D_UMASK));
        rc = emit(res, CK_UMASK, cur, err);
    }
#undef DEF_CUR
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp((*(const sshd_file *const *)a)->path, (*(const sshd_file *const *)b)->path);
}

/* The effective value of an sshd keyword: the first one obtained, reading
 * sshd_config with each Include expanded in place (files of
 * etc/ssh/sshd_config.d/ matching its glob, in name order), up to the
 * first Match block. NULL when unset. */
static const char *sshd_get(const baseline_state *s, const char *key)
{
    const sshd_file *main_cfg = NULL;
    const sshd_file *inc[BASELINE_SSHD_FILES_MAX];
    size_t n_inc = 0;
    for (size_t i = 0; i < s->n_sshd; i++) {
        if (strcmp(s->sshd[i].path, "etc/ssh/sshd_config") == 0)
            main_cfg = &s->sshd[i];
        else
            inc[n_inc++] = &s->sshd[i];
    }
    if (!main_cfg)
        return NULL;
    qsort(inc, n_inc, sizeof inc[0], cmp_path);
    for (size_t i = 0; i < main_cfg->n; i++) {
        const sshd_kv *kv = &main_cfg->kv[i];
        if (strcmp(kv->key, "match") == 0)
            return NULL;
        if (strcmp(kv->key, "include") == 0) {
            /* the first pattern; relative ones are under /etc/ssh */
            char pat[BASELINE_VALUE_MAX + 16];
            const char *v = kv->value;
            snprintf(pat, sizeof pat, "%s%.*s", v[0] == '/' ? "" : "etc/ssh/",
                     (int)strcspn(v + (v[0] == '/'), " \t"), v + (v[0] == '/'));
            for (size_t j = 0; j < n_inc; j++) {
                if (fnmatch(pat, inc[j]->path, FNM_PATHNAME) != 0)
                    continue;
                for (size_t k = 0; k < inc[j]->n; k++) {
                    if (strcmp(inc[j]->kv[k].key, "match") == 0)
                        break;
                    if (strcmp(inc[j]->kv[k].key, key) == 0)
                        return inc[j]->kv[k].value;
                }
            }
            continue;
        }
        if (strcmp(kv->key, key) == 0)
            return kv->value;
    }
    return NULL;
}

static int judge_sshd(baseline_state *s, scan_result *res, imgsec_err *err)
{
    if (!s->sshd_seen)
        return IMGSEC_OK;
    /* keyword, OpenSSH's compiled-in default, and when the value fails */
    static const struct {
        check_id id;
        const char *key, *label, *def;
    } SSHD[] = {
        {CK_SSH_ROOT_LOGIN, "permitrootlogin", "PermitRootLogin", "prohibit-password"},
        {CK_SSH_EMPTY_PASSWORDS, "permitemptypasswords", "PermitEmptyPasswords", "no"},
        {CK_SSH_PASSWORD_AUTH, "passwordauthentication", "PasswordAuthentication", "yes"},
        {CK_SSH_PROTOCOL, "protocol", "Protocol", "2"},
        {CK_SSH_X11, "x11forwarding", "X11Forwarding", "no"},
        {CK_SSH_MAX_AUTH_TRIES, "maxauthtries", "MaxAuthTries", "6"},
        {CK_SSH_HOSTBASED, "hostbasedauthentication", "HostbasedAuthentication", "no"},
        {CK_SSH_IGNORE_RHOSTS, "ignorerhosts", "IgnoreRhosts", "yes"},
        {CK_SSH_USER_ENV, "permituserenvironment", "PermitUserEnvironment", "no"},
    };
    int rc = IMGSEC_OK;
    for (size_t i = 0; i < sizeof SSHD / sizeof SSHD[0] && rc == IMGSEC_OK; i++) {
        const char *set = sshd_get(s, SSHD[i].key), *v = set ? set : SSHD[i].def;
        bool bad;
        switch (SSHD[i].id) {
        case CK_SSH_PROTOCOL: bad = strchr(v, '1') != NULL; break;
        case CK_SSH_MAX_AUTH_TRIES: bad = atoi(v) > 4 || atoi(v) <= 0; break;
        case CK_SSH_IGNORE_RHOSTS: bad = strcasecmp(v, "no") == 0; break;
        case CK_SSH_USER_ENV: bad = strcasecmp(v, "no") != 0; break;
        default: bad = strcasecmp(v, "yes") == 0; break;
        }
        if (!bad)
            continue;
        char cur[BASELINE_VALUE_MAX + 64];
        snprintf(cur, sizeof cur, "%s %s%s", SSHD[i].label, v, set ? "" : " (default)");
        rc = emit(res, SSHD[i].id, cur, err);
    }
    return rc;
}

static int judge_image_user(const baseline_state *s, const scan_image *img, scan_result *res,
                            imgsec_err *err)
{
    if (!img || !img->config)
        return IMGSEC_OK; /* a root filesystem directory: no image user */
    const char *u = json_string_value(json_object_get(json_object_get(img->config, "config"),
                                                      "User"));
    char user[BASELINE_VALUE_MAX];
    snprintf(user, sizeof user, "%s", u ? u : "");
    user[strcspn(user, ":")] = '\0';
    bool uid0 = false; /* a name that etc/passwd gives UID 0 */
    for (size_t i = 0; i < s->passwd.n && !uid0; i++)
        uid0 = s->passwd.v[i].uid == 0 && strcmp(s->passwd.v[i].name, user) == 0;
    if (*user && strcmp(user, "root") != 0 && strcmp(user, "0") != 0 && !uid0)
        return IMGSEC_OK;
    char cur[BASELINE_VALUE_MAX + 64];
    if (u && *u)
        snprintf(cur, sizeof cur, "User %s%s", u,
                 uid0 && strcmp(user, "root") != 0 ? " (UID 0 in /etc/passwd)" : "");
    else
        snprintf(cur, sizeof cur, "User not set (root)");
    return emit(res, CK_IMAGE_USER_ROOT, cur, err);
}

static int baseline_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    baseline_state *s = state;
    int rc = judge_accounts(s, res, err);
    if (!rc)
        rc = judge_login_defs(s, res, err);
    if (!rc)
        rc = judge_sshd(s, res, err);
    if (!rc)
        rc = judge_image_user(s, img, res, err);
    return rc;
}

const scan_analyzer scan_an_baseline = {
    .name = "baseline",
    .emits = REPORT_RISK_CONFIG,
    .open = baseline_open,
    .want = baseline_want,
    .entry = baseline_entry,
    .finish = baseline_finish,
    .close = baseline_close,
};
