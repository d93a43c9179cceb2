/* an_files.c - the "files" analyzer: files a security reviewer looks at.
 *
 * One table of rules (FILE_RULES) decides whether an entry is of interest:
 * by its mode (setuid/setgid executables, world-writable files and
 * directories), by its name or path (credentials files, shell history,
 * SSH private keys, key stores), or by its name plus the first bytes of
 * its content (a *.pem or *.key that holds a PRIVATE KEY block, not a
 * certificate). An entry is reported once, with its mode (octal), owner
 * (user name, else the uid) and size; the first rule that matches wins.
 * Symlinks and sticky directories (/tmp) are never world-writable
 * findings. Rationale and the list with its limits: docs/scanning-risks.md.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/analyzers_risk.h"
#include "scan/scan_int.h"

/* Bytes of a *.pem / *.key looked at for a private-key header. */
#define FILES_SNIFF_BYTES 4096

typedef enum {
    FR_SETUID,      /* regular file, set-user-id and executable */
    FR_SETGID,      /* regular file, set-group-id and executable */
    FR_WORLD_WRITE, /* regular file or non-sticky directory writable by others */
    FR_NAME,        /* basename matches the glob */
    FR_PATH,        /* the path is, or ends with "/" + the pattern */
    FR_NAME_SNIFF   /* basename matches the glob and the first bytes hold sniff */
} file_rule_kind;

typedef struct {
    const char *id; /* docs and tests */
    file_rule_kind kind;
    const char *pattern;
    const char *sniff;
} file_rule;

static const file_rule FILE_RULES[] = {
    {"setuid", FR_SETUID, NULL, NULL},
    {"setgid", FR_SETGID, NULL, NULL},
    {"world-writable", FR_WORLD_WRITE, NULL, NULL},
    /* private keys */
    {"ssh-private-key", FR_NAME, "id_rsa", NULL},
    {"ssh-private-key", FR_NAME, "id_dsa", NULL},
    {"ssh-private-key", FR_NAME, "id_ecdsa", NULL},
    {"ssh-private-key", FR_NAME, "id_ecdsa_sk", NULL},
    {"ssh-private-key", FR_NAME, "id_ed25519", NULL},
    {"ssh-private-key", FR_NAME, "id_ed25519_sk", NULL},
    {"ssh-host-key", FR_NAME, "ssh_host_*_key", NULL},
    {"pem-private-key", FR_NAME_SNIFF, "*.pem", "PRIVATE KEY-----"},
    {"pem-private-key", FR_NAME_SNIFF, "*.key", "PRIVATE KEY-----"},
    {"key-store", FR_NAME, "*.p12", NULL},
    {"key-store", FR_NAME, "*.pfx", NULL},
    {"key-store", FR_NAME, "*.jks", NULL},
    {"key-store", FR_NAME, "*.keystore", NULL},
    /* credentials files */
    {"netrc", FR_NAME, ".netrc", NULL},
    {"netrc", FR_NAME, "_netrc", NULL},
    {"pgpass", FR_NAME, ".pgpass", NULL},
    {"git-credentials", FR_NAME, ".git-credentials", NULL},
    {"mysql-client-config", FR_NAME, ".my.cnf", NULL},
    {"pypirc", FR_NAME, ".pypirc", NULL},
    {"s3cfg", FR_NAME, ".s3cfg", NULL},
    {"aws-credentials", FR_PATH, ".aws/credentials", NULL},
    {"docker-config", FR_PATH, ".docker/config.json", NULL},
    {"kube-config", FR_PATH, ".kube/config", NULL},
    {"kube-admin-config", FR_PATH, "etc/kubernetes/admin.conf", NULL},
    /* shell and client history */
    {"history", FR_NAME, ".*_history", NULL},
    {"history", FR_NAME, ".history", NULL},
};
#define N_FILE_RULES (sizeof FILE_RULES / sizeof FILE_RULES[0])

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool path_is(const char *path, const char *pattern)
{
    size_t lp = strlen(path), lq = strlen(pattern);
    if (lp == lq)
        return strcmp(path, pattern) == 0;
    return lp > lq && path[lp - lq - 1] == '/' && strcmp(path + lp - lq, pattern) == 0;
}

/* The rule whose mode or name matches e (content not looked at), or NULL. */
static const file_rule *files_match(const scan_entry *e)
{
    mode_t m = e->mode;
    bool reg = S_ISREG(m), dir = S_ISDIR(m);
    const char *name = base_name(e->path);
    for (size_t i = 0; i < N_FILE_RULES; i++) {
        const file_rule *r = &FILE_RULES[i];
        bool hit = false;
        switch (r->kind) {
        case FR_SETUID: hit = reg && (m & S_ISUID) && (m & 0111); break;
        case FR_SETGID: hit = reg && (m & S_ISGID) && (m & 0111); break;
        case FR_WORLD_WRITE: hit = (reg || (dir && !(m & S_ISVTX))) && (m & S_IWOTH); break;
        case FR_NAME:
        case FR_NAME_SNIFF: hit = reg && fnmatch(r->pattern, name, 0) == 0; break;
        case FR_PATH: hit = reg && path_is(e->path, r->pattern); break;
        }
        if (hit)
            return r;
    }
    return NULL;
}

static int64_t files_want(void *state, const scan_entry *e)
{
    (void)state;
    const file_rule *r = files_match(e);
    if (!r)
        return SCAN_WANT_NONE;
    return r->kind == FR_NAME_SNIFF ? FILES_SNIFF_BYTES : SCAN_WANT_META;
}

static int files_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                       scan_result *res, imgsec_err *err)
{
    (void)state;
    const file_rule *r = files_match(e);
    if (!r)
        return IMGSEC_OK;
    if (r->kind == FR_NAME_SNIFF && (!data || !memmem(data, len, r->sniff, strlen(r->sniff))))
        return IMGSEC_OK;
    char mode[16], owner[32];
    snprintf(mode, sizeof mode, "%o", (unsigned)(e->mode & 07777));
    if (e->uname && *e->uname)
        snprintf(owner, sizeof owner, "%.31s", e->uname);
    else
        snprintf(owner, sizeof owner, "%" PRId64, e->uid);
    json_t *rec = json_pack("{s:s, s:s, s:I, s:s, s:s}", "file_path", e->path, "file_name",
                            base_name(e->path), "size", (json_int_t)(e->size > 0 ? e->size : 0),
                            "mode", mode, "owner", owner);
    if (!rec) { /* a path or owner that is not UTF-8 (JSON strings are) */
        scan_warn(res, "files: a path that is not UTF-8 skipped (rule %s)", r->id);
        return res->oom ? err_set(err, IMGSEC_EINTERNAL, "files: out of memory") : IMGSEC_OK;
    }
    if (scan_emit(res, REPORT_FILES, rec) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "files: out of memory");
    return IMGSEC_OK;
}

const scan_analyzer scan_an_files = {
    .name = "files",
    .emits = REPORT_FILES,
    .want = files_want,
    .entry = files_entry,
};
