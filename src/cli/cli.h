/* cli.h - what the imgsec subcommands share. Each subcommand lives in its
 * own cmd_*.c and is called with argv starting at its own name. */
#ifndef IMGSEC_CLI_H
#define IMGSEC_CLI_H

#include <stdbool.h>

#include "imgsec/err.h"
#include "imgsec/store.h"

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

/* --db default: IMGSEC_DB, else ./imgsec.db (spec/README.md). */
const char *cli_default_db(void);

/* Opens (creating or migrating) the database; prints and returns NULL on failure. */
store *cli_store_open(const char *path);

/* True when a required option has a non-empty value; else prints
 * "imgsec <cmd>: <flag> is required" and the usage to stderr. */
bool cli_need(const char *cmd, const char *usage, const char *value, const char *flag);

/* Prints "imgsec: <msg>" for a library error and returns CLI_FAIL. */
int cli_fail(const imgsec_err *err);

/* The password from IMGSEC_PASSWORD, else one line of standard input
 * (without echo on a terminal). Never from an argument, so it stays out
 * of shell history and ps. Returns false if none could be read. */
bool cli_read_password(char *buf, size_t size);

/* A bounded in-memory sink for libcurl replies (CURLOPT_WRITEFUNCTION =
 * cli_reply_write, CURLOPT_WRITEDATA = a cli_reply with max set): the
 * server's JSON answers are small, so anything past max is refused. */
typedef struct {
    char *data;  /* NUL-terminated once anything arrived; free() it */
    size_t len;
    size_t max;
} cli_reply;
size_t cli_reply_write(char *p, size_t size, size_t n, void *arg);

/* h with the X-Auth-Token and region headers of a request to imgsecd
 * (--server) appended (curl_slist_append). */
struct curl_slist;
struct curl_slist *cli_auth_headers(struct curl_slist *h, const char *token, const char *region);

/* True when stderr is a terminal (progress bars redraw in place). */
bool cli_stderr_is_tty(void);

#endif
