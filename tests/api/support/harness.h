/* harness.h - what every API test needs: a real imgsecd, the imgsec CLI,
 * and small HTTP helpers on libcurl.
 *
 * Each test executable starts its own server on a fresh database in a
 * fresh temporary directory (mkdtemp under $TMPDIR), on an ephemeral
 * port it learns from --port-file, and stops it with SIGTERM at the end
 * of its group. A server that does not exit 0 (crash, hang, or a leak
 * report under AddressSanitizer) fails the run: cmocka does not count a
 * failing group teardown in its exit code, so every main() returns
 * `cmocka_run_group_tests(...) + harness_failures()`.
 *
 * The helpers are deliberately generic: a request is method, path,
 * query, headers, body and content type; a response is status, headers
 * and body (parsed as JSON when it is JSON). The assertion macros report
 * the caller's file and line and print the request and the response body.
 */
#ifndef IMGSEC_API_HARNESS_H
#define IMGSEC_API_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#define H_REGION "test-region-1"      /* the region every test server runs with */
#define H_PATH_MAX 512
#define H_START_TIMEOUT_MS 20000
#define H_POLL_MS 20
#define H_STOP_TIMEOUT_MS 30000
#define H_MIB (1024 * 1024)
#define H_JSON_CT "application/json;charset=UTF-8"

/* ---- the server ---- */

typedef struct {
    char dir[H_PATH_MAX - 64];   /* temp dir holding everything below */
    char db[H_PATH_MAX];         /* the SQLite file, or with IMGSEC_TEST_PG the URI of a
                                  * PostgreSQL database of its own (see srv_init) */
    char pg_name[64];            /* that database's name; "" on SQLite */
    char beside[H_PATH_MAX];     /* where files "beside the database" go (<beside>.key,
                                  * <beside>.exports): db itself on SQLite, <dir>/imgsec.db
                                  * on PostgreSQL (passed as --export-dir, IMGSEC_KEY_FILE) */
    char log[H_PATH_MAX];        /* the server's stderr and stdout */
    char port_file[H_PATH_MAX];
    char region[64];
    pid_t pid;                   /* 0 when not running */
    int port;
    /* Set both before srv_start to serve HTTPS (--tls-cert/--tls-key); the
     * start then waits for the port file only, since the harness's client
     * speaks plain HTTP. */
    const char *tls_cert, *tls_key;
    /* --listen in SRV_FLAGS mode; NULL: 127.0.0.1:0 (the port must be 0) */
    const char *listen;
} srv_t;

/* How srv_start passes the configuration. */
typedef enum {
    SRV_FLAGS,                   /* --db --listen --region --port-file */
    SRV_ENV                      /* IMGSEC_DB / IMGSEC_LISTEN / IMGSEC_REGION, only --port-file */
} srv_mode;

/* Makes the temp dir and fills the paths (no process yet). 0 or -1. */
int srv_init(srv_t *s);
/* srv_init for another node on of's database (several imgsecd on one
 * PostgreSQL database): its own temp dir, port, log and export dir,
 * of->db, and a copy of of's key file (mode 0600). 0 or -1 (printed). */
int srv_init_node(srv_t *s, const srv_t *of);
/* Starts imgsecd on s->db (srv_init first if s->dir is empty) and waits
 * until the port file exists and /healthz answers 200. 0 or -1 (printed). */
int srv_start(srv_t *s);
int srv_start_mode(srv_t *s, srv_mode mode);
/* SIGTERM, waits for the exit; 0 iff the server exited with status 0.
 * Counts a failure in harness_failures() otherwise and prints the log's
 * tail. remove_dir: delete the temp dir when it went well (unless the
 * environment has IMGSEC_API_KEEP=1, for debugging). Safe to call
 * when the server is not running (returns 0). */
int srv_stop(srv_t *s, bool remove_dir);
/* The whole log so far (malloc'd, NUL-terminated; "" if none). */
char *srv_log(const srv_t *s);
bool srv_log_contains(const srv_t *s, const char *needle);
/* Polls the log until needle appears (log lines may trail the response). */
bool srv_log_wait_for(const srv_t *s, const char *needle, int timeout_ms);

/* Teardown failures so far (servers that did not exit 0 and the like). */
int harness_failures(void);
void harness_count_failure(void);

/* A plain TCP connection to the server (for raw HTTP), or -1. */
int srv_connect(const srv_t *s);
/* Sends len bytes on fd until all went out or the peer stopped taking
 * them (it may close early, having answered); how many went out. */
size_t h_send_all(int fd, const char *data, size_t len);
/* h_send_all that fails the test unless every byte went out. */
#define h_send_exact(fd, data, len)                                                        \
    do {                                                                                   \
        size_t h_len_ = (len);                                                             \
        assert_int_equal(h_send_all((fd), (data), h_len_), h_len_);                        \
    } while (0)

/* ---- the command line ---- */

/* Runs IMGSEC_CLI_PATH with args (NULL-terminated, without argv[0]) and
 * IMGSEC_PASSWORD=password in its environment (unset when NULL), stdin
 * from /dev/null. Returns its exit code (or 128+signal, or -1). When
 * output is not NULL it gets the combined stdout+stderr (malloc'd). The
 * output file lives in s->dir. */
int cli_runv(const srv_t *s, const char *password, const char *const *args, char **output);
/* cli_runv with standard input read from the file stdin_path. */
int cli_runv_in(const srv_t *s, const char *password, const char *const *args,
                const char *stdin_path, char **output);
/* cli_runv without a password, failing the test unless the exit code is
 * want_rc; returns the output (malloc'd). */
char *cli_run_expect(const srv_t *s, int want_rc, const char *const *args);
/* The same with a NULL-terminated argument list. */
int cli_run(const srv_t *s, const char *password, char **output, ...) __attribute__((sentinel));

/* imgsec user add/grant on s->db; 0 on exit 0. */
int cli_user_add(const srv_t *s, const char *domain, const char *name, const char *password,
                 const char *project, const char *role, const char *eps);
int cli_user_grant(const srv_t *s, const char *domain, const char *name, const char *project,
                   const char *role, const char *eps);

/* ---- HTTP ---- */

#define H_MAX_HEADERS 64

typedef struct {
    long status;                 /* 0: transport error (see error) */
    char error[256];             /* libcurl's message on transport error */
    char desc[300];              /* "METHOD /path?query", for messages */
    char *body;                  /* NUL-terminated, body_len bytes */
    size_t body_len;
    json_t *json;                /* parsed body, NULL if empty or not JSON */
    size_t n_headers;
    char *hname[H_MAX_HEADERS];  /* headers of the final response, as received */
    char *hvalue[H_MAX_HEADERS];
} http_resp;

typedef struct {
    const char *method;          /* "GET", "POST", "DELETE", ... */
    const char *path;            /* sent as is */
    const char *query;           /* "a=b&c=d" without '?', or NULL */
    const char *const *headers;  /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;            /* NULL: no body */
    size_t body_len;             /* bytes of body (body may hold NULs) */
    const char *content_type;    /* NULL: no Content-Type header at all */
    bool chunked;                /* send body with Transfer-Encoding: chunked */
} http_req;

/* Sends rq to the server; fills out (free with http_resp_free). Returns
 * out->status. A request carries "Expect:" (none) unless rq->headers
 * names Expect. */
long http_do(const srv_t *s, const http_req *rq, http_resp *out);
void http_resp_free(http_resp *r);
/* Frees the calling thread's connection (call before a thread ends). */
void http_thread_done(void);
/* First value of a response header (case-insensitive name), or NULL. */
const char *http_header(const http_resp *r, const char *name);
size_t http_header_count(const http_resp *r, const char *name);

/* A v5-style call: X-Auth-Token: token (when not NULL) and region: region
 * (when not NULL) added; body sent as is with Content-Type ctype. */
long api_call(const srv_t *s, const char *method, const char *path, const char *query,
              const char *token, const char *region, const char *body, const char *ctype,
              http_resp *out);

/* POST /v3/auth/tokens for a password and a project scope (by id, or by
 * name when by_name). */
long api_token_req(const srv_t *s, const char *domain, const char *name, const char *password,
                   const char *project, bool by_name, http_resp *out);
/* A token string (malloc'd) or NULL (printed why). */
char *get_token(const srv_t *s, const char *domain, const char *name, const char *password,
                const char *project);
/* cli_user_add, then get_token for that user and project: the token, or
 * NULL (printed why). */
char *user_token(const srv_t *s, const char *domain, const char *name, const char *password,
                 const char *project, const char *role, const char *eps);

typedef struct {
    long status;
    long long total;             /* total_num, or -1 when absent / not an integer */
    char code[64];               /* error_code or "" */
    char msg[1024];              /* error_msg or "" */
    char body[1024];             /* the start of the body, for messages */
    char content_type[128];      /* the response's Content-Type, or "" */
    char request_id[128];        /* X-Request-Id, or "" */
} stat_res;

/* POST /v5/{project}/image/security-report/statistic?security_report_type=type
 * [&enterprise_project_id=ep], region = the server's, Content-Type JSON.
 * type NULL leaves the parameter out; body NULL sends no body. */
stat_res api_stat(const srv_t *s, const char *token, const char *project, const char *type,
                  const char *ep, const char *body);
/* total_num of api_stat with body {"operate_all":true[,extra]}; -1 (printed)
 * when the answer is not 200. */
long long api_count(const srv_t *s, const char *token, const char *project, const char *type,
                    const char *ep, const char *extra);

/* POST /v5/{project}/image/scan-results[?enterprise_project_id=ep] with
 * Content-Type application/json or application/x-ndjson. */
long api_ingest(const srv_t *s, const char *token, const char *project, const char *ep,
                const char *body, bool ndjson, http_resp *out);
/* ids of a 200 ingest response into ids[0..n) (each < 32 chars); returns
 * how many were found (the length of "images"), or -1 on a bad shape. */
int ingest_ids(const http_resp *r, char (*ids)[32], size_t n);

/* ---- export tasks ---- */

#define H_EXPORT_WAIT_MS 120000 /* how long a wait below polls before it fails */

/* GET /v5/{project}/export-task/{task}[?query], region = the server's. */
long api_export_status(const srv_t *s, const char *token, const char *project, const char *task,
                       const char *query, http_resp *out);
/* Polls the task's status, each answer 200, until task_status is not
 * "running" (out holds that answer; free it), or fails the test after
 * H_EXPORT_WAIT_MS. */
void wait_export_ended_at(const srv_t *s, const char *token, const char *project,
                          const char *task, const char *query, http_resp *out, const char *file,
                          int line);
/* Polls until a worker has written rows of the task (record_num > 0),
 * asserting on every answer 200 and task_status "running", or fails the
 * test after H_EXPORT_WAIT_MS. */
void wait_export_rows_at(const srv_t *s, const char *token, const char *project, const char *task,
                         const char *file, int line);
#define wait_export_ended(s, token, project, task, query, out) \
    wait_export_ended_at((s), (token), (project), (task), (query), (out), __FILE__, __LINE__)
#define wait_export_rows(s, token, project, task) \
    wait_export_rows_at((s), (token), (project), (task), __FILE__, __LINE__)

/* ---- assertions (report the caller's line) ---- */

void check_status_at(const http_resp *r, long status, const char *file, int line);
/* status, error_code, and error_msg containing msg_part (if not NULL);
 * body exactly {"error_code": string, "error_msg": string}; and, as on
 * every response (errors.md), an X-Request-Id of 32+ hex chars and
 * Content-Type application/json;charset=UTF-8. check_stat_* check the same. */
void check_error_at(const http_resp *r, long status, const char *code, const char *msg_part,
                    const char *file, int line);
/* Keystone shape {"error": {"code": status, "title": title, "message": string}};
 * title NULL skips that comparison. */
void check_keystone_error_at(const http_resp *r, long status, const char *title,
                             const char *file, int line);
void check_stat_at(const stat_res *r, long long total, const char *what, const char *file,
                   int line);
void check_stat_error_at(const stat_res *r, long status, const char *code, const char *msg_part,
                         const char *what, const char *file, int line);

#define assert_status(r, st) check_status_at((r), (st), __FILE__, __LINE__)
#define assert_api_error(r, st, code, part) check_error_at((r), (st), (code), (part), __FILE__, __LINE__)
#define assert_keystone_error(r, st, title) check_keystone_error_at((r), (st), (title), __FILE__, __LINE__)
#define assert_stat_total(r, total, what) check_stat_at(&(r), (total), (what), __FILE__, __LINE__)
#define assert_stat_error(r, st, code, part, what) \
    check_stat_error_at(&(r), (st), (code), (part), (what), __FILE__, __LINE__)

/* ---- small things ---- */

/* malloc'd printf (aborts when out of memory). */
char *h_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *h_vstrdupf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* A malloc'd string of n copies of c. */
char *h_repeat(char c, size_t n);
/* Writes len bytes to path; 0 or -1. */
int h_write_file(const char *path, const char *data, size_t len);
/* The bytes of path, NUL-terminated (malloc'd), *len of them; NULL when
 * it cannot be read. */
char *h_read_file(const char *path, size_t *len);
/* Compact JSON text of v (malloc'd; v is not consumed). */
char *h_json_text(const json_t *v);
/* True if s is at least min_len lower- or upper-case hex digits and nothing else. */
bool h_is_hex(const char *s, size_t min_len);
/* Sleeps ms milliseconds (resumed after signals). */
void h_sleep_ms(int ms);

#endif
