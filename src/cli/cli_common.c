/* cli_common.c - see cli.h. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

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
        fprintf(stderr, "imgsec: %s: %s\n", path, err.msg);
        return NULL;
    }
    return st;
}

int cli_fail(const imgsec_err *err)
{
    fprintf(stderr, "imgsec: %s\n", err->msg);
    return CLI_FAIL;
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
    size_t add = size * n;
    if (add > r->max - r->len)
        return 0;
    char *grown = realloc(r->data, r->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->len, p, add);
    r->data = grown;
    r->len += add;
    r->data[r->len] = '\0';
    return add;
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
