/* buildrisk.c - the risky-build-instruction rules (imgsec/buildrisk.h).
 * Each rule is a cheap substring test on one instruction as the image's
 * history records it ("/bin/sh -c #(nop)  ENV ...", "RUN /bin/sh -c ...",
 * or buildkit's plain form); docs/importers.md lists them. */
#include "imgsec/buildrisk.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool has_ci(const char *s, const char *needle)
{
    return strcasestr(s, needle) != NULL;
}

/* Is word at q, followed by the end of the command or a separator? */
static bool word_at(const char *q, const char *word)
{
    size_t n = strlen(word);
    return strncmp(q, word, n) == 0 && (q[n] == '\0' || strchr(" \t;&|)\n", q[n]));
}

/* curl/wget output piped into a shell. */
static bool pipe_to_shell(const char *s)
{
    static const char *const SHELLS[] = {"sh", "bash", "/bin/sh", "/bin/bash", "sudo", NULL};
    if (!has_ci(s, "curl") && !has_ci(s, "wget"))
        return false;
    for (const char *p = strchr(s, '|'); p; p = strchr(p + 1, '|')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        for (int i = 0; SHELLS[i]; i++)
            if (word_at(q, SHELLS[i]))
                return true;
    }
    return false;
}

static bool world_writable(const char *s)
{
    return has_ci(s, "chmod 777") || has_ci(s, "chmod -R 777") || has_ci(s, "chmod a+rwx") ||
           has_ci(s, "chmod -R a+rwx") || has_ci(s, "chmod 0777");
}

static bool tls_off(const char *s)
{
    return has_ci(s, "--no-check-certificate") || has_ci(s, "--insecure") ||
           has_ci(s, "curl -k ") || has_ci(s, "--trusted-host") ||
           has_ci(s, "sslverify=false") || has_ci(s, "strict-ssl false");
}

static bool remote_add(const char *s)
{
    const char *a = strstr(s, "ADD ");
    return a && (strstr(a, " http://") || strstr(a, " https://"));
}

static bool user_root(const char *s)
{
    const char *p = strstr(s, "USER ");
    if (!p)
        return false;
    p += 5;
    return (strncmp(p, "root", 4) == 0 && (p[4] == '\0' || p[4] == ' ' || p[4] == ':')) ||
           (p[0] == '0' && (p[1] == '\0' || p[1] == ' ' || p[1] == ':'));
}

static const char *const SECRET_WORDS[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN",
                                           "API_KEY", "APIKEY", "PRIVATE_KEY", NULL};

/* ENV/ARG assignments whose name holds a secret word, e.g. DB_PASSWORD=x. */
static bool secret_env(const char *s)
{
    for (const char *eq = strchr(s, '='); eq; eq = strchr(eq + 1, '=')) {
        const char *b = eq;
        while (b > s && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
            b--;
        size_t n = (size_t)(eq - b);
        char name[128];
        if (n == 0 || n >= sizeof name || eq[1] == '\0' || eq[1] == ' ')
            continue;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)toupper((unsigned char)b[i]);
        name[n] = '\0';
        for (int i = 0; SECRET_WORDS[i]; i++)
            if (strstr(name, SECRET_WORDS[i]))
                return true;
    }
    return false;
}

/* created_by with every value after NAME= replaced by '*' (for records
 * of a command that holds a secret). */
static char *redact_assignments(const char *s)
{
    char *r = strdup(s);
    if (!r)
        return NULL;
    for (char *eq = strchr(r, '='); eq; eq = strchr(eq + 1, '='))
        for (char *v = eq + 1; *v && *v != ' ' && *v != '&' && *v != ';' && *v != '\n'; v++)
            *v = '*';
    return r;
}


/* sudo inside a build step: the build runs as root already, or should
 * not gain it this way. */
static bool uses_sudo(const char *s)
{
    for (const char *p = strstr(s, "sudo"); p; p = strstr(p + 1, "sudo"))
        if ((p == s || strchr(" \t;&|(", p[-1])) && (p[4] == ' ' || p[4] == '\t'))
            return true;
    return false;
}

/* A package install whose caches stay in the layer: apt-get/apt install
 * without removing /var/lib/apt/lists in the same command, apk add
 * without --no-cache (or removing /var/cache/apk), yum/dnf install
 * without a clean. */
static bool cache_left(const char *s)
{
    if ((strstr(s, "apt-get install") || strstr(s, "apt install")) &&
        !strstr(s, "/var/lib/apt/lists"))
        return true;
    if (strstr(s, "apk add") && !strstr(s, "--no-cache") && !strstr(s, "/var/cache/apk"))
        return true;
    if ((strstr(s, "yum install") || strstr(s, "dnf install")) && !strstr(s, " clean all") &&
        !strstr(s, "/var/cache/yum") && !strstr(s, "/var/cache/dnf"))
        return true;
    return false;
}

bool buildrisk_secret_assignment(const char *text)
{
    return secret_env(text);
}

char *buildrisk_redact(const char *text)
{
    return secret_env(text) ? redact_assignments(text) : strdup(text);
}

const buildrisk_rule buildrisk_rules[] = {
    {"IMGSEC-H001", "remote script piped into a shell", "high",
     "download, verify a checksum or signature, then run", pipe_to_shell, false},
    {"IMGSEC-H002", "world-writable permissions", "medium",
     "grant the narrowest mode the process needs", world_writable, false},
    {"IMGSEC-H003", "TLS verification disabled", "medium",
     "keep certificate checks on; add the CA instead", tls_off, false},
    {"IMGSEC-H004", "remote file added without verification", "medium",
     "use curl with a checksum check, or ADD --checksum", remote_add, false},
    {"IMGSEC-H005", "secret in build instruction", "high",
     "pass secrets with build secrets (RUN --mount=type=secret), never ENV/ARG", secret_env, false},
    {"IMGSEC-H006", "image runs as root", "medium", "add a USER with a non-root user", user_root, false},
    {"IMGSEC-H007", "sudo in a build step", "low",
     "run the step as the user it needs (USER) instead of sudo", uses_sudo, true},
    {"IMGSEC-H008", "package manager cache left in the image", "low",
     "clean the cache in the same RUN (rm -rf /var/lib/apt/lists/*, apk add --no-cache, "
     "yum clean all)", cache_left, true},
};
const size_t buildrisk_rules_count = sizeof buildrisk_rules / sizeof buildrisk_rules[0];
const buildrisk_rule *const buildrisk_rule_secret = &buildrisk_rules[4];
const buildrisk_rule *const buildrisk_rule_root = &buildrisk_rules[5];

