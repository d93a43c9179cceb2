/* cli_common.c - see cli.h. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "imgsec/model.h"

const char *cli_default_db(void)
{
    const char *db = getenv("IMGSEC_DB");
    return db && *db ? db : "./imgsec.db";
}

store *cli_store_open(const char *path)
{
    store *st = NULL;
    imgsec_err err = {0};
    if (store_open(path, &st, &err) != IMGSEC_OK) {
        char shown[512]; /* a PostgreSQL URI without its password */
        store_db_display(path, shown, sizeof shown);
        fprintf(stderr, "imgsec: %s: %s\n", shown, err.msg);
        return NULL;
    }
    return st;
}

int cli_fail(const imgsec_err *err)
{
    fprintf(stderr, "imgsec: %s\n", err->msg);
    return CLI_FAIL;
}

bool cli_token_resolve(const char *cmd, const char *token_file, bool token_flag, char *buf,
                       size_t size, const char **token)
{
    if (!token_file)
        return true;
    if (token_flag) {
        fprintf(stderr, "imgsec %s: give --token or --token-file, not both\n", cmd);
        return false;
    }
    FILE *f = fopen(token_file, "r");
    if (!f) {
        fprintf(stderr, "imgsec %s: cannot read --token-file %s\n", cmd, token_file);
        return false;
    }
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    size_t len = ok ? strcspn(buf, "\r\n") : 0;
    if (ok && buf[len] == '\0' && len == size - 1) {
        fprintf(stderr, "imgsec %s: --token-file %s: the token is longer than %zu bytes\n", cmd,
                token_file, size - 2);
        return false;
    }
    buf[len] = '\0';
    if (len == 0) {
        fprintf(stderr, "imgsec %s: --token-file %s holds no token\n", cmd, token_file);
        return false;
    }
    *token = buf;
    return true;
}

bool cli_read_password(char *buf, size_t size)
{
    const char *env = getenv("IMGSEC_PASSWORD");
    if (env && *env) {
        if (strlen(env) >= size)
            return false;
        strcpy(buf, env);
        return true;
    }
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(buf, (int)size, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!ok)
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] != '\0';
}

bool cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}

size_t cli_reply_write(char *p, size_t size, size_t n, void *arg)
{
    cli_reply *r = arg;
    size_t add = size * n; /* libcurl passes size 1 */
    if (add > r->max - r->body.len) {
        r->too_big = true;
        return 0;
    }
    util_buf_put(&r->body, p, add);
    return r->body.failed ? 0 : add;
}

const char *cli_reply_text(const cli_reply *r)
{
    return r->body.buf && !r->body.failed ? r->body.buf : "";
}

const char *cli_reply_error(const cli_reply *r, char *buf, size_t size)
{
    if (r->body.failed)
        return "out of memory for the reply";
    if (!r->too_big)
        return NULL;
    snprintf(buf, size, "the reply is larger than %zu bytes", r->max);
    return buf;
}

struct curl_slist *cli_auth_headers(struct curl_slist *h, const char *token, const char *region)
{
    char tok[4200], reg[300];
    snprintf(tok, sizeof tok, "X-Auth-Token: %s", token);
    snprintf(reg, sizeof reg, "region: %s", region);
    h = curl_slist_append(h, tok);
    return curl_slist_append(h, reg);
}

bool cli_need(const char *cmd, const char *usage, const char *value, const char *flag)
{
    if (value && *value)
        return true;
    fprintf(stderr, "imgsec %s: %s is required\n%s", cmd, flag, usage);
    return false;
}

bool cli_parse_eps(const char *cmd, const char *flag, const char *list, size_t max,
                   cli_ep_list *out)
{
    if (max > CLI_EPS_MAX)
        max = CLI_EPS_MAX;
    out->n = 0;
    size_t len = strlen(list);
    if (len > STORE_EPS_MAX) {
        fprintf(stderr, "imgsec %s: %s is %zu bytes long; at most %d are allowed\n", cmd, flag,
                len, STORE_EPS_MAX);
        return false;
    }
    memcpy(out->buf, list, len + 1);
    /* By hand, not strtok: strtok skips empty fields, and "a,,b" is a typo
     * to report, not a list of two. */
    for (char *id = out->buf;;) {
        char *comma = strchr(id, ',');
        if (comma)
            *comma = '\0';
        if (!model_scope_id_valid(id)) {
            fprintf(stderr,
                    "imgsec %s: %s: '%s' is not an EP id (1-%d characters of A-Za-z0-9_-, ids "
                    "separated by single commas)\n",
                    cmd, flag, id, MODEL_PROJECT_ID_MAX);
            return false;
        }
        if (out->n == max) {
            fprintf(stderr, "imgsec %s: %s names more than %zu EPs\n", cmd, flag, max);
            return false;
        }
        out->ids[out->n++] = id;
        if (!comma)
            return true;
        id = comma + 1;
    }
}
