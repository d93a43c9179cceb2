/* cli.h - what the imgsec subcommands share. Each subcommand lives in its
 * own cmd_*.c and is called with argv starting at its own name. */
#ifndef IMGSEC_CLI_H
#define IMGSEC_CLI_H

#include <stdbool.h>

#include "imgsec/err.h"
#include "imgsec/store.h"
#include "imgsec/util.h"

/* Exit codes. */
#define CLI_OK 0
#define CLI_FAIL 1   /* the operation failed */
#define CLI_USAGE 2  /* the command line is wrong */

int cmd_user(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_key(int argc, char **argv);   /* cmd_key.c: access keys */
int cmd_export(int argc, char **argv); /* cmd_export.c: reports to XLSX/CSV */
int cmd_scan(int argc, char **argv);   /* cmd_scan.c: analyze an image */
int cmd_stat(int argc, char **argv);   /* cmd_stat.c: the statistic, offline or --server */
int cmd_list(int argc, char **argv);   /* cmd_list.c: the finding lists */
int cmd_vulndb(int argc, char **argv); /* cmd_vulndb.c: the OSV vulnerability database */
int cmd_registry(int argc, char **argv); /* cmd_registry.c: a project's registries */
int cmd_records(int argc, char **argv);  /* cmd_records.c: the stored records, dumped */

/* --db default: IMGSEC_DB, else ./imgsec.db (spec/README.md). */
const char *cli_default_db(void);

/* Opens (creating or migrating) the database; prints and returns NULL on failure. */
store *cli_store_open(const char *path);

/* True when a required option has a non-empty value; else prints
 * "imgsec <cmd>: <flag> is required" and the usage to stderr. */
bool cli_need(const char *cmd, const char *usage, const char *value, const char *flag);

/* An EP list as given to --eps ("0,ep-a,ep-b"), split in place. */
#define CLI_EPS_MAX 64 /* EP ids in one list, whatever the command */
typedef struct {
    char buf[STORE_EPS_MAX + 1]; /* a copy of the list; ids point into it */
    const char *ids[CLI_EPS_MAX];
    size_t n;
} cli_ep_list;

/* Splits list at commas into out. Refuses, with "imgsec <cmd>: <flag> ..."
 * on stderr and false, a list longer than STORE_EPS_MAX bytes, more than
 * max (<= CLI_EPS_MAX) ids, and any id that model_scope_id_valid refuses
 * (an empty one too: "a,,b", a trailing comma, an empty list), so nothing
 * is silently cut or dropped. The caller exits with CLI_USAGE. */
bool cli_parse_eps(const char *cmd, const char *flag, const char *list, size_t max,
                   cli_ep_list *out);

/* Prints "imgsec: <msg>" for a library error and returns CLI_FAIL. */
int cli_fail(const imgsec_err *err);

/* The password from IMGSEC_PASSWORD, else one line of standard input
 * (without echo on a terminal). Never from an argument, so it stays out
 * of shell history and ps. Returns false if none could be read. */
bool cli_read_password(char *buf, size_t size);

/* The token of --server commands. Precedence: --token-file FILE (its first
 * line; kept out of ps and shell history), then --token T (visible to
 * every user of the machine in ps: avoid), then IMGSEC_TOKEN. Call after
 * the options with token_file (NULL when not given) and *token (the
 * --token value, else getenv("IMGSEC_TOKEN")); token_flag: --token was
 * given. Reads the file into buf, points *token at it. false, printed
 * why, when both flags are given, or the file cannot be read, is empty or
 * longer than size - 1 bytes. */
#define CLI_TOKEN_MAX 8192
bool cli_token_resolve(const char *cmd, const char *token_file, bool token_flag, char *buf,
                       size_t size, const char **token);

/* A bounded in-memory sink for libcurl replies (CURLOPT_WRITEFUNCTION =
 * cli_reply_write, CURLOPT_WRITEDATA = a cli_reply with max set): the
 * server's JSON answers are small, so anything past max is refused. It
 * grows geometrically (util_buf), so a big reply costs linear time. A
 * refused or unstorable chunk aborts the transfer (CURLE_WRITE_ERROR);
 * cli_reply_error then says why, instead of a truncated reply. */
typedef struct {
    util_buf body; /* body.buf: NUL-terminated once anything arrived, else NULL; free() it */
    size_t max;
    bool too_big;  /* the reply passed max */
} cli_reply;
size_t cli_reply_write(char *p, size_t size, size_t n, void *arg);
/* The reply so far ("" when none). */
const char *cli_reply_text(const cli_reply *r);
/* Why cli_reply_write refused the reply ("out of memory for the reply",
 * "the reply is larger than N bytes", the latter written into buf), or
 * NULL if it did not. */
const char *cli_reply_error(const cli_reply *r, char *buf, size_t size);

/* h with the X-Auth-Token and region headers of a request to imgsecd
 * (--server) appended (curl_slist_append). */
struct curl_slist;
struct curl_slist *cli_auth_headers(struct curl_slist *h, const char *token, const char *region);

/* True when stderr is a terminal (progress bars redraw in place). */
bool cli_stderr_is_tty(void);

#endif
