/* harness.c - see harness.h.
 *
 * Processes are started with fork/exec so the tests drive exactly the
 * binaries a user runs; the server's child sets PR_SET_PDEATHSIG so a
 * test that dies never leaves a server behind. HTTP goes through one
 * reused curl handle (keep-alive, as a client library would do).
 */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imgsec/util.h"
#include "unit_pg.h" /* tests/unit: a PostgreSQL database per test */

extern char **environ;

static int g_failures;

int harness_failures(void)
{
    return g_failures;
}

void harness_count_failure(void)
{
    g_failures++;
}

/* ---- small things ---- */

char *h_vstrdupf(const char *fmt, va_list ap)
{
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0) {
        fprintf(stderr, "harness: out of memory\n");
        abort();
    }
    return out;
}

char *h_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = h_vstrdupf(fmt, ap);
    va_end(ap);
    return out;
}

char *h_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

int h_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

char *h_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *out = NULL;
    size_t n = 0, cap = 0, r;
    char buf[65536];
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        if (n + r + 1 > cap) {
            cap = (n + r + 1) * 2;
            char *p = realloc(out, cap);
            if (!p)
                abort();
            out = p;
        }
        memcpy(out + n, buf, r);
        n += r;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(out);
        return NULL;
    }
    if (!out && !(out = malloc(1)))
        abort();
    out[n] = '\0';
    *len = n;
    return out;
}

char *h_json_text(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();
    return s;
}

bool h_is_hex(const char *s, size_t min_len)
{
    if (!s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return n >= min_len;
}

static long long mono_ms(void)
{
    return util_mono_ns() / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The whole file, or "" when it cannot be read (not there yet). */
static char *read_all(const char *path, size_t *len_out)
{
    size_t len = 0;
    char *buf = util_read_file(path, &len);
    if (!buf) {
        buf = calloc(1, 1);
        if (!buf)
            abort();
        len = 0;
    }
    if (len_out)
        *len_out = len;
    return buf;
}

/* ---- the server ---- */

int srv_init(srv_t *s)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    mkdir(tmp, 0700); /* ctest's TMPDIR may not exist yet; EEXIST is fine */
    snprintf(s->dir, sizeof s->dir, "%s/imgsec-api-XXXXXX", tmp);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "harness: mkdtemp(%s): %s\n", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    /* With IMGSEC_TEST_PG (ctest: the tests labelled pg, fixture "pg")
     * the server runs on a new database of that cluster instead of a
     * file, its key file and exports in the temp dir (srv_start). */
    if (unit_pg_admin_uri()) {
        if (unit_pg_create(s->pg_name, sizeof s->pg_name, s->db, sizeof s->db) != 0) {
            fprintf(stderr, "harness: cannot make a PostgreSQL database\n");
            return -1;
        }
    } else {
        snprintf(s->db, sizeof s->db, "%s/imgsec.db", s->dir);
    }
    snprintf(s->beside, sizeof s->beside, "%s/imgsec.db", s->dir);
    snprintf(s->log, sizeof s->log, "%s/imgsecd.log", s->dir);
    snprintf(s->port_file, sizeof s->port_file, "%s/port", s->dir);
    snprintf(s->region, sizeof s->region, "%s", H_REGION);
    return 0;
}

int srv_init_node(srv_t *s, const srv_t *of)
{
    if (srv_init(s) != 0)
        return -1;
    snprintf(s->db, sizeof s->db, "%s", of->db);
    char *from = h_strdupf("%s.key", of->beside), *to = h_strdupf("%s.key", s->beside);
    size_t len = 0;
    FILE *f = fopen(from, "rb");
    char buf[4096];
    if (f) {
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
    }
    int rc = len > 0 && h_write_file(to, buf, len) == 0 && chmod(to, 0600) == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "cannot copy the key file %s to %s\n", from, to);
    free(from);
    free(to);
    return rc;
}

/* In a child about to run imgsecd or imgsec: on PostgreSQL, the key file
 * where it would be beside a SQLite file (IMGSEC_KEY_FILE). */
static void srv_child_env(const srv_t *s)
{
    if (db_uri_is_pg(s->db)) {
        char key[H_PATH_MAX + 8];
        snprintf(key, sizeof key, "%s.key", s->beside);
        setenv("IMGSEC_KEY_FILE", key, 1);
    } else {
        unsetenv("IMGSEC_KEY_FILE");
    }
}

static void print_log_tail(const srv_t *s)
{
    size_t len;
    char *log = read_all(s->log, &len);
    size_t from = len > 6000 ? len - 6000 : 0;
    fprintf(stderr, "---- imgsecd log (%s), last %zu bytes ----\n%s\n---- end of log ----\n",
            s->log, len - from, log + from);
    free(log);
}

/* 0 when the child has exited (status in *st), 1 when still running. */
static int reap(pid_t pid, int *st)
{
    pid_t r = waitpid(pid, st, WNOHANG);
    if (r == pid)
        return 0;
    if (r < 0 && errno == ECHILD)
        return 0;
    return 1;
}

static bool healthz_ok(const srv_t *s)
{
    http_req rq = {.method = "GET", .path = "/healthz"};
    http_resp r;
    long st = http_do(s, &rq, &r);
    http_resp_free(&r);
    return st == 200;
}

int srv_start(srv_t *s)
{
    return srv_start_mode(s, SRV_FLAGS);
}

int srv_start_mode(srv_t *s, srv_mode mode)
{
    if (!s->dir[0] && srv_init(s) != 0)
        return -1;
    unlink(s->port_file);
    s->port = 0;

    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        unsetenv("IMGSEC_DB");
        srv_child_env(s);
        unsetenv("IMGSEC_LISTEN");
        unsetenv("IMGSEC_REGION");
        /* Tests send many bad credentials on purpose: no 429 unless a test
         * sets IMGSEC_AUTH_FAIL_LIMIT itself (test_front_door.c). */
        setenv("IMGSEC_AUTH_FAIL_LIMIT", "0", 0);
        const char *argv[24];
        size_t n = 0;
        argv[n++] = IMGSECD_PATH;
        if (mode == SRV_ENV) {
            setenv("IMGSEC_DB", s->db, 1);
            setenv("IMGSEC_LISTEN", "127.0.0.1:0", 1);
            setenv("IMGSEC_REGION", s->region, 1);
        } else {
            const char *flags[] = {"--db", s->db, "--listen", s->listen ? s->listen : "127.0.0.1:0",
                                   "--region", s->region};
            for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
                argv[n++] = flags[i];
        }
        argv[n++] = "--port-file";
        argv[n++] = s->port_file;
        char exports[H_PATH_MAX + 16];
        if (db_uri_is_pg(s->db)) { /* nothing is "beside" a PostgreSQL database */
            snprintf(exports, sizeof exports, "%s.exports", s->beside);
            argv[n++] = "--export-dir";
            argv[n++] = exports;
        }
        if (s->tls_cert) {
            argv[n++] = "--tls-cert";
            argv[n++] = s->tls_cert;
            argv[n++] = "--tls-key";
            argv[n++] = s->tls_key;
        }
        argv[n] = NULL;
        execv(IMGSECD_PATH, (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;

    long long deadline = mono_ms() + H_START_TIMEOUT_MS;
    int st;
    for (;;) {
        if (reap(pid, &st) == 0) {
            fprintf(stderr, "harness: imgsecd exited during start-up (%s %d)\n",
                    WIFEXITED(st) ? "status" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            s->pid = 0;
            print_log_tail(s);
            return -1;
        }
        if (s->port == 0 && access(s->port_file, R_OK) == 0) {
            char *txt = read_all(s->port_file, NULL);
            char *end;
            long p = strtol(txt, &end, 10);
            bool good = end != txt && *end == '\n' && end[1] == '\0' && p > 0 && p < 65536;
            if (!good) {
                fprintf(stderr, "harness: port file holds \"%s\", not \"<port>\\n\"\n", txt);
                free(txt);
                srv_stop(s, false);
                return -1;
            }
            free(txt);
            s->port = (int)p;
        }
        if (s->port != 0 && (s->tls_cert || healthz_ok(s)))
            return 0;
        if (mono_ms() > deadline) {
            fprintf(stderr, "harness: imgsecd not ready within %d ms (port %d)\n",
                    H_START_TIMEOUT_MS, s->port);
            srv_stop(s, false);
            return -1;
        }
        h_sleep_ms(H_POLL_MS);
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int srv_stop(srv_t *s, bool remove_dir)
{
    int rc = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        long long deadline = mono_ms() + H_STOP_TIMEOUT_MS;
        int st = 0;
        bool done = false;
        while (!(done = (reap(s->pid, &st) == 0)) && mono_ms() < deadline)
            h_sleep_ms(H_POLL_MS);
        if (!done) {
            fprintf(stderr, "harness: imgsecd did not exit within %d ms of SIGTERM\n",
                    H_STOP_TIMEOUT_MS);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            rc = -1;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "harness: imgsecd ended with %s %d after SIGTERM (want exit 0)\n",
                    WIFEXITED(st) ? "exit status" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            rc = -1;
        }
        s->pid = 0;
        if (rc != 0) {
            harness_count_failure();
            print_log_tail(s);
            fprintf(stderr, "harness: keeping %s\n", s->dir);
        }
    }
    const char *keep = getenv("IMGSEC_API_KEEP"); /* debugging: keep the temp dir */
    if (rc == 0 && remove_dir && s->dir[0] && !(keep && *keep && strcmp(keep, "0") != 0)) {
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        s->dir[0] = '\0';
        if (s->pg_name[0]) {
            char sql[128];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", s->pg_name);
            unit_pg_admin_exec(sql);
            s->pg_name[0] = '\0';
        }
    }
    return rc;
}

char *srv_log(const srv_t *s)
{
    return read_all(s->log, NULL);
}

bool srv_log_contains(const srv_t *s, const char *needle)
{
    char *log = srv_log(s);
    bool found = strstr(log, needle) != NULL;
    free(log);
    return found;
}

bool srv_log_wait_for(const srv_t *s, const char *needle, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        if (srv_log_contains(s, needle))
            return true;
        if (mono_ms() > deadline)
            return false;
        h_sleep_ms(H_POLL_MS);
    }
}

int srv_connect(const srv_t *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

size_t h_send_all(int fd, const char *data, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early, having answered already */
        sent += (size_t)n;
    }
    return sent;
}

/* ---- the command line ---- */

char *cli_run_expect(const srv_t *s, int want_rc, const char *const *args)
{
    char *out = NULL;
    int rc = cli_runv(s, NULL, args, &out);
    if (rc != want_rc)
        fail_msg("imgsec %s exited %d, not %d:\n%s", args[0], rc, want_rc, out ? out : "");
    return out;
}

int cli_runv(const srv_t *s, const char *password, const char *const *args, char **output)
{
    return cli_runv_in(s, password, args, "/dev/null", output);
}

int cli_runv_in(const srv_t *s, const char *password, const char *const *args,
                const char *stdin_path, char **output)
{
    char outpath[H_PATH_MAX + 32];
    static int seq;
    snprintf(outpath, sizeof outpath, "%s/cli-%d.out", s->dir, ++seq);

    size_t n = 0;
    while (args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        abort();
    argv[0] = (char *)IMGSEC_CLI_PATH;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];

    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        return -1;
    }
    if (pid == 0) {
        int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open(stdin_path, O_RDONLY);
        if (fd < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        unsetenv("IMGSEC_DB");
        srv_child_env(s);
        if (password)
            setenv("IMGSEC_PASSWORD", password, 1);
        else
            unsetenv("IMGSEC_PASSWORD");
        execv(IMGSEC_CLI_PATH, argv);
        _exit(127);
    }
    free(argv);
    int st = 0;
    long long deadline = mono_ms() + 60000;
    while (reap(pid, &st) != 0) {
        if (mono_ms() > deadline) {
            fprintf(stderr, "harness: imgsec CLI hung; killing it\n");
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        h_sleep_ms(5);
    }
    char *out = read_all(outpath, NULL);
    unlink(outpath);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (output)
        *output = out;
    else
        free(out);
    return code;
}

int cli_run(const srv_t *s, const char *password, char **output, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, output);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return cli_runv(s, password, args, output);
}

int cli_user_add(const srv_t *s, const char *domain, const char *name, const char *password,
                 const char *project, const char *role, const char *eps)
{
    char *out = NULL;
    int rc = cli_run(s, password, &out, "user", "add", "--db", s->db, "--domain", domain,
                     "--name", name, "--project", project, "--role", role, "--eps", eps, NULL);
    if (rc != 0)
        fprintf(stderr, "harness: imgsec user add %s/%s exited %d: %s\n", domain, name, rc, out);
    free(out);
    return rc == 0 ? 0 : -1;
}

int cli_user_grant(const srv_t *s, const char *domain, const char *name, const char *project,
                   const char *role, const char *eps)
{
    char *out = NULL;
    int rc = cli_run(s, NULL, &out, "user", "grant", "--db", s->db, "--domain", domain,
                     "--name", name, "--project", project, "--role", role, "--eps", eps, NULL);
    if (rc != 0)
        fprintf(stderr, "harness: imgsec user grant %s/%s exited %d: %s\n", domain, name, rc, out);
    free(out);
    return rc == 0 ? 0 : -1;
}

/* ---- HTTP ---- */

/* One handle per thread (keep-alive); http_thread_done frees it. */
static _Thread_local CURL *g_curl;
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_thread_done(void)
{
    if (g_curl)
        curl_easy_cleanup(g_curl);
    g_curl = NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    http_resp *r = arg;
    size_t n = size * nmemb;
    char *nb = realloc(r->body, r->body_len + n + 1);
    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

typedef struct {
    const char *p;
    size_t left;
} upload;

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    upload *u = arg;
    size_t n = size * nmemb;
    if (n > u->left)
        n = u->left;
    if (n > 16384)
        n = 16384; /* several chunks for bigger bodies */
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static void clear_headers(http_resp *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    r->n_headers = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    http_resp *r = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        clear_headers(r); /* a new response (after 100 Continue): keep the last */
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon || r->n_headers >= H_MAX_HEADERS)
        return n;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    r->hname[r->n_headers] = strndup(data, nl);
    r->hvalue[r->n_headers] = strndup(v, (size_t)(end - v));
    if (!r->hname[r->n_headers] || !r->hvalue[r->n_headers])
        abort();
    r->n_headers++;
    return n;
}

long http_do(const srv_t *s, const http_req *rq, http_resp *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->desc, sizeof out->desc, "%s %s%s%s", rq->method, rq->path,
             rq->query ? "?" : "", rq->query ? rq->query : "");
    if (!g_curl) {
        pthread_once(&g_curl_once, curl_init_once);
        g_curl = curl_easy_init();
        if (!g_curl)
            abort();
    }
    CURL *c = g_curl;
    curl_easy_reset(c);

    char *url = h_strdupf("http://127.0.0.1:%d%s%s%s", s->port, rq->path, rq->query ? "?" : "",
                          rq->query ? rq->query : "");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);

    struct curl_slist *hl = NULL;
    bool has_expect = false;
    for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
        if (strncasecmp(rq->headers[i], "Expect:", 7) == 0)
            has_expect = true;
        hl = curl_slist_append(hl, rq->headers[i]);
    }
    if (!has_expect)
        hl = curl_slist_append(hl, "Expect:");
    char *ct = NULL;
    if (rq->content_type) {
        ct = h_strdupf("Content-Type: %s", rq->content_type);
        hl = curl_slist_append(hl, ct);
    } else {
        hl = curl_slist_append(hl, "Content-Type:");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    upload up = {rq->body ? rq->body : "", rq->body ? rq->body_len : 0};

    if (strcmp(rq->method, "GET") == 0 && !rq->body) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (rq->chunked) {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body || strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(cc));
        out->status = 0;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    }
    curl_slist_free_all(hl);
    free(ct);
    free(url);
    if (!out->body) {
        out->body = calloc(1, 1);
        if (!out->body)
            abort();
    }
    if (out->body_len > 0)
        out->json = json_loadb(out->body, out->body_len, JSON_DECODE_ANY, NULL);
    return out->status;
}

void http_resp_free(http_resp *r)
{
    clear_headers(r);
    free(r->body);
    r->body = NULL;
    json_decref(r->json);
    r->json = NULL;
}

const char *http_header(const http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->hname[i], name) == 0)
            return r->hvalue[i];
    return NULL;
}

size_t http_header_count(const http_resp *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->hname[i], name) == 0)
            n++;
    return n;
}

long api_call(const srv_t *s, const char *method, const char *path, const char *query,
              const char *token, const char *region, const char *body, const char *ctype,
              http_resp *out)
{
    char *th = token ? h_strdupf("X-Auth-Token: %s", token) : NULL;
    char *rh = region ? h_strdupf("region: %s", region) : NULL;
    const char *hdrs[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (th)
        hdrs[n++] = th;
    if (rh)
        hdrs[n++] = rh;
    http_req rq = {
        .method = method, .path = path, .query = query, .headers = hdrs,
        .body = body, .body_len = body ? strlen(body) : 0, .content_type = ctype,
    };
    long st = http_do(s, &rq, out);
    free(th);
    free(rh);
    return st;
}

long api_token_req(const srv_t *s, const char *domain, const char *name, const char *password,
                   const char *project, bool by_name, http_resp *out)
{
    json_t *body = json_pack(
        "{s:{s:{s:[s],s:{s:{s:s,s:s,s:{s:s}}}},s:{s:{s:s}}}}", "auth", "identity", "methods",
        "password", "password", "user", "name", name, "password", password, "domain", "name",
        domain, "scope", "project", by_name ? "name" : "id", project);
    if (!body)
        abort();
    char *txt = h_json_text(body);
    json_decref(body);
    long st = api_call(s, "POST", "/v3/auth/tokens", NULL, NULL, NULL, txt, "application/json",
                       out);
    free(txt);
    return st;
}

char *get_token(const srv_t *s, const char *domain, const char *name, const char *password,
                const char *project)
{
    http_resp r;
    long st = api_token_req(s, domain, name, password, project, false, &r);
    const char *tok = http_header(&r, "X-Subject-Token");
    char *out = NULL;
    if (st == 201 && tok && *tok)
        out = strdup(tok);
    else
        fprintf(stderr, "harness: token for %s/%s on %s: status %ld (%s) body %s\n", domain, name,
                project, st, r.error, r.body);
    http_resp_free(&r);
    return out;
}

char *user_token(const srv_t *s, const char *domain, const char *name, const char *password,
                 const char *project, const char *role, const char *eps)
{
    if (cli_user_add(s, domain, name, password, project, role, eps) != 0)
        return NULL;
    return get_token(s, domain, name, password, project);
}

stat_res api_stat(const srv_t *s, const char *token, const char *project, const char *type,
                  const char *ep, const char *body)
{
    stat_res res;
    memset(&res, 0, sizeof res);
    res.total = -1;
    char *path = h_strdupf("/v5/%s/image/security-report/statistic", project);
    char *query = NULL;
    if (type && ep)
        query = h_strdupf("security_report_type=%s&enterprise_project_id=%s", type, ep);
    else if (type)
        query = h_strdupf("security_report_type=%s", type);
    else if (ep)
        query = h_strdupf("enterprise_project_id=%s", ep);
    http_resp r;
    res.status = api_call(s, "POST", path, query, token, s->region, body, "application/json", &r);
    if (res.status == 0)
        snprintf(res.body, sizeof res.body, "<transport error: %s>", r.error);
    else
        snprintf(res.body, sizeof res.body, "%s", r.body);
    const char *ct = http_header(&r, "Content-Type"), *rid = http_header(&r, "X-Request-Id");
    snprintf(res.content_type, sizeof res.content_type, "%s", ct ? ct : "");
    snprintf(res.request_id, sizeof res.request_id, "%s", rid ? rid : "");
    if (json_is_object(r.json)) {
        json_t *t = json_object_get(r.json, "total_num");
        if (json_is_integer(t))
            res.total = json_integer_value(t);
        const char *code = json_string_value(json_object_get(r.json, "error_code"));
        const char *msg = json_string_value(json_object_get(r.json, "error_msg"));
        snprintf(res.code, sizeof res.code, "%s", code ? code : "");
        snprintf(res.msg, sizeof res.msg, "%s", msg ? msg : "");
    }
    http_resp_free(&r);
    free(path);
    free(query);
    return res;
}

long long api_count(const srv_t *s, const char *token, const char *project, const char *type,
                    const char *ep, const char *extra)
{
    char *body = h_strdupf("{\"operate_all\":true%s%s}", extra ? "," : "", extra ? extra : "");
    stat_res st = api_stat(s, token, project, type, ep, body);
    free(body);
    if (st.status != 200) {
        print_error("statistic %s ep=%s: %ld %s\n", type, ep, st.status, st.body);
        return -1;
    }
    return st.total;
}

long api_ingest(const srv_t *s, const char *token, const char *project, const char *ep,
                const char *body, bool ndjson, http_resp *out)
{
    char *path = h_strdupf("/v5/%s/image/scan-results", project);
    char *query = ep ? h_strdupf("enterprise_project_id=%s", ep) : NULL;
    long st = api_call(s, "POST", path, query, token, s->region, body,
                       ndjson ? "application/x-ndjson" : "application/json", out);
    free(path);
    free(query);
    return st;
}

int ingest_ids(const http_resp *r, char (*ids)[32], size_t n)
{
    json_t *images = json_object_get(r->json, "images");
    if (!json_is_array(images))
        return -1;
    size_t len = json_array_size(images);
    for (size_t i = 0; i < len && i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(images, i), "id"));
        if (!id || strlen(id) >= 32)
            return -1;
        snprintf(ids[i], 32, "%s", id);
    }
    return (int)len;
}

/* ---- assertions ---- */

static void fail_with(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_with(const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s\n", file, line, msg);
    _fail(file, line);
}

static const char *short_body(const http_resp *r)
{
    return r->status == 0 ? r->error : r->body;
}

/* What every JSON answer carries (errors.md). */
static void check_common(const char *ct, const char *rid, const char *desc, const char *file,
                         int line)
{
    if (!ct || strcmp(ct, H_JSON_CT) != 0)
        fail_with(file, line, "%s: want Content-Type %s, got \"%s\"", desc, H_JSON_CT,
                  ct ? ct : "(none)");
    if (!h_is_hex(rid, 32))
        fail_with(file, line, "%s: want an X-Request-Id of 32+ hex chars, got \"%s\"", desc,
                  rid ? rid : "(none)");
}

void check_status_at(const http_resp *r, long status, const char *file, int line)
{
    if (r->status != status)
        fail_with(file, line, "%s: want status %ld, got %ld; body: %.1500s", r->desc, status,
                  r->status, short_body(r));
}

void check_error_at(const http_resp *r, long status, const char *code, const char *msg_part,
                    const char *file, int line)
{
    check_status_at(r, status, file, line);
    const char *got_code = json_string_value(json_object_get(r->json, "error_code"));
    const char *got_msg = json_string_value(json_object_get(r->json, "error_msg"));
    if (!json_is_object(r->json) || json_object_size(r->json) != 2 || !got_code || !got_msg)
        fail_with(file, line, "%s: body is not {\"error_code\":..,\"error_msg\":..}: %.1500s",
                  r->desc, r->body);
    if (strcmp(got_code, code) != 0)
        fail_with(file, line, "%s: want error_code %s, got %s; body: %.1500s", r->desc, code,
                  got_code, r->body);
    if (msg_part && !strstr(got_msg, msg_part))
        fail_with(file, line, "%s: error_msg should name \"%s\"; body: %.1500s", r->desc,
                  msg_part, r->body);
    check_common(http_header(r, "Content-Type"), http_header(r, "X-Request-Id"), r->desc, file,
                 line);
}

void check_keystone_error_at(const http_resp *r, long status, const char *title,
                             const char *file, int line)
{
    check_status_at(r, status, file, line);
    json_t *e = json_object_get(r->json, "error");
    json_t *c = json_object_get(e, "code");
    const char *t = json_string_value(json_object_get(e, "title"));
    const char *m = json_string_value(json_object_get(e, "message"));
    if (!json_is_object(r->json) || json_object_size(r->json) != 1 || !json_is_integer(c) ||
        json_integer_value(c) != status || !t || !m)
        fail_with(file, line,
                  "%s: body is not Keystone {\"error\":{\"code\":%ld,\"title\":..,\"message\":..}}: "
                  "%.1500s",
                  r->desc, status, r->body);
    if (title && strcmp(t, title) != 0)
        fail_with(file, line, "%s: want error.title \"%s\", got \"%s\"", r->desc, title, t);
    check_common(http_header(r, "Content-Type"), http_header(r, "X-Request-Id"), r->desc, file,
                 line);
}

void check_stat_at(const stat_res *r, long long total, const char *what, const char *file,
                   int line)
{
    if (r->status != 200 || r->total != total)
        fail_with(file, line, "statistic [%s]: want 200 total_num %lld, got %ld total %lld; body: %s",
                  what ? what : "", total, r->status, r->total, r->body);
    check_common(r->content_type, r->request_id, what ? what : "statistic", file, line);
}

void check_stat_error_at(const stat_res *r, long status, const char *code, const char *msg_part,
                         const char *what, const char *file, int line)
{
    if (r->status != status || strcmp(r->code, code) != 0)
        fail_with(file, line, "statistic [%s]: want %ld %s, got %ld; body: %s", what ? what : "",
                  status, code, r->status, r->body);
    if (msg_part && !strstr(r->msg, msg_part))
        fail_with(file, line, "statistic [%s]: error_msg should name \"%s\"; body: %s",
                  what ? what : "", msg_part, r->body);
    check_common(r->content_type, r->request_id, what ? what : "statistic", file, line);
}

/* ---- export tasks ---- */

long api_export_status(const srv_t *s, const char *token, const char *project, const char *task,
                       const char *query, http_resp *out)
{
    char *path = h_strdupf("/v5/%s/export-task/%s", project, task);
    long st = api_call(s, "GET", path, query, token, s->region, NULL, NULL, out);
    free(path);
    return st;
}

static const char *task_status(const http_resp *r)
{
    const char *v = json_string_value(json_object_get(r->json, "task_status"));
    return v ? v : "(absent)";
}

void wait_export_ended_at(const srv_t *s, const char *token, const char *project,
                          const char *task, const char *query, http_resp *out, const char *file,
                          int line)
{
    long long deadline = mono_ms() + H_EXPORT_WAIT_MS;
    for (;;) {
        api_export_status(s, token, project, task, query, out);
        check_status_at(out, 200, file, line);
        if (strcmp(task_status(out), "running") != 0)
            return;
        http_resp_free(out);
        if (mono_ms() > deadline)
            fail_with(file, line, "export task %s still running after %d ms", task,
                      H_EXPORT_WAIT_MS);
        h_sleep_ms(H_POLL_MS);
    }
}

void wait_export_rows_at(const srv_t *s, const char *token, const char *project, const char *task,
                         const char *file, int line)
{
    long long deadline = mono_ms() + H_EXPORT_WAIT_MS;
    for (;;) {
        http_resp r;
        api_export_status(s, token, project, task, NULL, &r);
        check_status_at(&r, 200, file, line);
        if (strcmp(task_status(&r), "running") != 0) {
            fail_with(file, line, "export task %s: want running, got %s (%.300s)", task,
                      task_status(&r), r.body);
        }
        json_int_t rows = json_integer_value(json_object_get(r.json, "record_num"));
        http_resp_free(&r);
        if (rows > 0)
            return;
        if (mono_ms() > deadline)
            fail_with(file, line, "export task %s never showed progress", task);
        h_sleep_ms(H_POLL_MS);
    }
}
