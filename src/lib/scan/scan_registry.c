/* scan_registry.c - images pulled over the OCI distribution API with
 * libcurl (scan_int.h; docs/scanning.md "From a registry").
 *
 * A registry is one more way for the plan (scan_image.c) to open the
 * names an OCI layout has: "index.json" is the manifest the reference
 * names (an index as it is, a single manifest wrapped in a one-entry
 * index, so the platform and nesting rules of the layout path apply
 * unchanged), and "blobs/sha256/<hex>" is fetched from
 * /v2/<repo>/manifests/<digest> when an index named that digest, else from
 * /v2/<repo>/blobs/<digest>. Manifests are read whole (at most
 * SCAN_JSON_MAX bytes, checked against their digest); blobs are a
 * streaming scan_src driven by curl's multi interface: each read() runs
 * the transfer until the write callback has some bytes (it pauses the
 * transfer past REG_BLOCK_MAX), so a layer flows from the socket into the
 * layer reader, whose hashes verify it, without touching the disk.
 *
 * Authentication follows the challenge: a 401 with "WWW-Authenticate:
 * Bearer realm=..,service=..,scope=.." fetches a token from the realm
 * (with the basic credentials, if any) and retries with it; "Basic"
 * retries with the credentials. Credentials go only to the registry's
 * host and its realm (libcurl drops them on a redirect to another host,
 * e.g. a blob store), and over plain HTTP only with --insecure-registry.
 *
 * Retries: a connection error, a 429 or a 5xx is retried with exponential
 * backoff (REG_ATTEMPTS, from REG_BACKOFF_MS; Retry-After honoured up to
 * 10 s), for manifests and for a blob until its first byte was handed to
 * the reader; a blob that breaks after that fails the scan, naming the
 * byte count, as an integrity failure (IMGSEC_EINVAL: nothing stored).
 */
#include "scan/scan_int.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imgsec/util.h"

#define REG_BLOCK_MAX (1u << 20)   /* bytes a blob read hands out at most */
#define REG_ERRBODY_MAX 2048       /* bytes of an error answer kept for the message */
#define REG_TOKEN_BODY_MAX (1u << 20)
#define REG_TOKEN_MAX 65536
#define REG_AUTH_FILE_MAX (1u << 20)
#define REG_ATTEMPTS 5
#define REG_BACKOFF_MS 250
#define REG_RETRY_AFTER_MAX 10

static const char ACCEPT_MANIFESTS[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

/* ---- references and challenges (fuzzed) ---- */

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Components of lower-case letters and digits, joined by '.', '_', '-'
 * (runs of them allowed), separated by '/'. */
static bool repo_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool first = i == 0 || s[i - 1] == '/', last = i + 1 == n || s[i + 1] == '/';
        if (is_alnum_lower(c))
            continue;
        if (c == '/' && !first && !last)
            continue;
        if ((c == '.' || c == '_' || c == '-') && !first && !last)
            continue;
        return false;
    }
    return true;
}

static bool tag_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(is_alnum_lower(s[i]) || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '.' ||
              s[i] == '-'))
            return false;
    return true;
}

/* host[:port], or [v6]:port: letters, digits, '.', '-'; a port of digits. */
static bool host_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    const char *p = s;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e)
            return false;
        for (const char *q = p + 1; q < e; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') ||
                  *q == ':'))
                return false;
        p = e + 1;
    } else {
        if (*p == '.' || *p == '-' || *p == ':')
            return false;
        while (*p && *p != ':') {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '.' || *p == '-'))
                return false;
            p++;
        }
    }
    if (*p == '\0')
        return true;
    if (*p != ':' || !p[1] || strlen(p + 1) > 5)
        return false;
    for (p++; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int scan_registry_ref_parse(const char *s, scan_registry_ref *r, imgsec_err *err)
{
    memset(r, 0, sizeof *r);
    size_t n = strlen(s);
    if (n == 0 || n > 600)
        return err_set(err, IMGSEC_EINVAL, "image reference: empty or longer than 600 characters");
    char buf[608];
    memcpy(buf, s, n + 1);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (strncmp(at + 1, "sha256:", 7) != 0 || !scan_is_hex64(at + 8))
            return err_set(err, IMGSEC_EINVAL,
                           "image reference: the digest after '@' must be sha256:<64 hex digits>");
        snprintf(r->digest, sizeof r->digest, "%s", at + 1);
    }
    char *rest = buf, *slash = strchr(buf, '/');
    if (slash) {
        size_t hl = (size_t)(slash - buf);
        if (memchr(buf, '.', hl) || memchr(buf, ':', hl) || memchr(buf, '[', hl) ||
            (hl == 9 && strncmp(buf, "localhost", 9) == 0)) {
            *slash = '\0';
            if (!host_valid(buf))
                return err_set(err, IMGSEC_EINVAL, "image reference: '%.255s' is not a registry host[:port]",
                               buf);
            snprintf(r->host, sizeof r->host, "%.255s", buf);
            r->host_named = true;
            rest = slash + 1;
        }
    }
    char *last = strrchr(rest, '/');
    char *colon = strchr(last ? last : rest, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_valid(colon + 1))
            return err_set(err, IMGSEC_EINVAL,
                           "image reference: the tag must be 1-128 of A-Za-z0-9_.- not starting with . or -");
        if (!r->digest[0])
            snprintf(r->tag, sizeof r->tag, "%s", colon + 1);
    } else if (!r->digest[0]) {
        snprintf(r->tag, sizeof r->tag, "latest");
    }
    bool hub = !r->host_named || strcmp(r->host, "docker.io") == 0 ||
               strcmp(r->host, "index.docker.io") == 0 || strcmp(r->host, "registry-1.docker.io") == 0;
    if (strlen(rest) + 8 >= sizeof r->repo)
        return err_set(err, IMGSEC_EINVAL, "image reference: the repository is longer than %zu characters",
                       sizeof r->repo - 9);
    if (hub && !strchr(rest, '/'))
        snprintf(r->repo, sizeof r->repo, "library/%.247s", rest);
    else
        snprintf(r->repo, sizeof r->repo, "%.255s", rest);
    if (!repo_valid(r->repo))
        return err_set(err, IMGSEC_EINVAL,
                       "image reference: the repository must be lower-case letters and digits, "
                       "components joined by . _ - and separated by /");
    if (hub) {
        snprintf(r->host, sizeof r->host, "registry-1.docker.io");
        snprintf(r->auth_key, sizeof r->auth_key, "https://index.docker.io/v1/");
    } else {
        snprintf(r->auth_key, sizeof r->auth_key, "%s", r->host);
    }
    snprintf(r->canonical, sizeof r->canonical, "%s/%s%s%s", hub ? "docker.io" : r->host, r->repo,
             r->digest[0] ? "@" : ":", r->digest[0] ? r->digest : r->tag);
    return IMGSEC_OK;
}

/* Copies a token or a quoted string at *p into out (size), advancing *p.
 * -1 when it does not fit or a quote is not closed. */
static int challenge_value(const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && s[1])
                s++;
            if (n + 1 >= size)
                return -1;
            out[n++] = *s;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        for (; *s && *s != ',' && *s != ' ' && *s != '\t'; s++) {
            if (n + 1 >= size)
                return -1;
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    *p = s;
    return 0;
}

int scan_registry_challenge_parse(const char *s, scan_registry_challenge *c, imgsec_err *err)
{
    memset(c, 0, sizeof *c);
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, " \t");
    if (n == 0 || n >= sizeof c->scheme)
        return err_set(err, IMGSEC_EAUTH, "the registry's WWW-Authenticate challenge has no scheme");
    for (size_t i = 0; i < n; i++) /* it is named in messages */
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return err_set(err, IMGSEC_EAUTH, "the registry's WWW-Authenticate scheme is not a token");
    memcpy(c->scheme, s, n);
    s += n;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (!*s)
            break;
        size_t kl = strcspn(s, "= \t,");
        if (s[kl] != '=')
            break; /* a second challenge: the first one is used */
        char key[32], val[1024];
        if (kl >= sizeof key)
            return err_set(err, IMGSEC_EAUTH, "the registry's challenge has a parameter name over 31 bytes");
        memcpy(key, s, kl);
        key[kl] = '\0';
        s += kl + 1;
        if (challenge_value(&s, val, sizeof val) != 0)
            return err_set(err, IMGSEC_EAUTH,
                           "the registry's challenge parameter '%s' is unterminated or over 1023 bytes", key);
        char *dst = NULL;
        size_t dsize = 0;
        if (strcasecmp(key, "realm") == 0)
            dst = c->realm, dsize = sizeof c->realm;
        else if (strcasecmp(key, "service") == 0)
            dst = c->service, dsize = sizeof c->service;
        else if (strcasecmp(key, "scope") == 0)
            dst = c->scope, dsize = sizeof c->scope;
        if (dst) {
            if (strlen(val) >= dsize)
                return err_set(err, IMGSEC_EAUTH, "the registry's challenge parameter '%s' is too long", key);
            memcpy(dst, val, strlen(val) + 1);
        }
    }
    return IMGSEC_OK;
}

/* ---- transfers ---- */

typedef struct {
    CURL *h;
    struct curl_slist *hdrs;
    long status; /* of the response being received; 0 before its status line */
    char ctype[128], www_auth[1536], digest[80], retry_after[16];
    int64_t clen; /* Content-Length of the final response, -1 unknown */
    util_buf body;
    size_t max;   /* whole reads: more is refused; 0: a stream (paused past REG_BLOCK_MAX) */
    bool too_big, paused, done, in_multi;
    CURLcode cc;
    util_buf errbody;
    char curl_err[CURL_ERROR_SIZE];
} xfer;

typedef struct {
    scan_remote base;
    scan_registry_ref ref;
    bool insecure;
    const char *ca_file; /* or NULL: the system's CAs */
    char *user, *pass;
    char *token;     /* Bearer token once fetched */
    bool use_basic;  /* the registry asked for Basic */
    CURLM *multi;
    json_t *manifests; /* digests an index named (manifests, not blobs) */
    char *top;         /* the manifest the reference names */
    size_t top_len;
    char top_digest[72];
    char *index;       /* what "index.json" reads: top, or a one-entry index around it */
    size_t index_len;
} reg;

static void copy_header(const char *p, size_t len, size_t skip, char *out, size_t size)
{
    const char *v = p + skip;
    size_t n = len - skip;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nitems, void *arg)
{
    xfer *x = arg;
    size_t len = size * nitems;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect or a 100) */
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->ctype[0] = x->www_auth[0] = x->digest[0] = x->retry_after[0] = '\0';
        x->clen = -1;
        return len;
    }
    static const struct {
        const char *name;
        size_t off;
        size_t size;
    } H[] = {
        {"content-type:", offsetof(xfer, ctype), sizeof((xfer *)0)->ctype},
        {"www-authenticate:", offsetof(xfer, www_auth), sizeof((xfer *)0)->www_auth},
        {"docker-content-digest:", offsetof(xfer, digest), sizeof((xfer *)0)->digest},
        {"retry-after:", offsetof(xfer, retry_after), sizeof((xfer *)0)->retry_after},
    };
    for (size_t i = 0; i < sizeof H / sizeof H[0]; i++) {
        size_t nl = strlen(H[i].name);
        if (len > nl && strncasecmp(p, H[i].name, nl) == 0) {
            char *out = (char *)x + H[i].off;
            if (!out[0]) /* the first of repeated headers */
                copy_header(p, len, nl, out, H[i].size);
            return len;
        }
    }
    if (len > 15 && strncasecmp(p, "content-length:", 15) == 0) {
        char v[32];
        copy_header(p, len, 15, v, sizeof v);
        int64_t n;
        x->clen = util_parse_int64(v, &n) ? n : -1;
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t nitems, void *arg)
{
    xfer *x = arg;
    size_t len = size * nitems;
    if (x->status < 200 || x->status > 299) {
        if (x->errbody.len < REG_ERRBODY_MAX)
            util_buf_put(&x->errbody, p, len < REG_ERRBODY_MAX - x->errbody.len ? len : REG_ERRBODY_MAX - x->errbody.len);
        return len;
    }
    if (x->max && (len > x->max || x->body.len > x->max - len)) {
        x->too_big = true;
        return 0;
    }
    if (!x->max && x->body.len >= REG_BLOCK_MAX) {
        x->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    util_buf_put(&x->body, p, len);
    return x->body.failed ? 0 : len;
}

static void xfer_stop(reg *r, xfer *x)
{
    if (x->in_multi)
        curl_multi_remove_handle(r->multi, x->h);
    x->in_multi = false;
}

static void xfer_free(reg *r, xfer *x)
{
    xfer_stop(r, x);
    if (x->h)
        curl_easy_cleanup(x->h);
    curl_slist_free_all(x->hdrs);
    free(x->body.buf);
    free(x->errbody.buf);
    memset(x, 0, sizeof *x);
}

/* Starts a GET of url. accept: an "Accept: ..." header or NULL; creds:
 * what to authenticate with (the registry's token or basic credentials,
 * or the basic credentials for a token realm). */
typedef enum { AUTH_REGISTRY, AUTH_REALM } auth_for;

static int xfer_start(reg *r, xfer *x, const char *url, const char *accept, auth_for who,
                      imgsec_err *err)
{
    xfer_stop(r, x);
    if (!x->h && !(x->h = curl_easy_init()))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    curl_easy_reset(x->h);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    x->status = 0;
    x->clen = -1;
    x->body.len = 0;
    x->errbody.len = 0;
    x->too_big = x->paused = x->done = false;
    x->cc = CURLE_OK;
    x->curl_err[0] = '\0';
    x->ctype[0] = x->www_auth[0] = x->digest[0] = x->retry_after[0] = '\0';
    if (accept && !(x->hdrs = curl_slist_append(NULL, accept)))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    const char *protos = r->insecure ? "http,https" : "https";
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protos);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protos);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 8L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled peer: 60 s without a byte */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "imgsec");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
    if (r->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
    if (who == AUTH_REGISTRY && r->token) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, r->token);
    } else if ((who == AUTH_REALM || r->use_basic) && r->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, r->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, r->pass ? r->pass : "");
    }
    CURLMcode mc = curl_multi_add_handle(r->multi, h);
    if (mc != CURLM_OK)
        return err_set(err, IMGSEC_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    x->in_multi = true;
    return IMGSEC_OK;
}

/* Runs the transfer until want body bytes are buffered, it pauses, or it
 * ends. */
static int xfer_pump(reg *r, xfer *x, size_t want, imgsec_err *err)
{
    while (!x->done && !x->paused && x->body.len < want) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(r->multi, &running);
        CURLMsg *m;
        int q;
        while ((m = curl_multi_info_read(r->multi, &q)))
            if (m->msg == CURLMSG_DONE && m->easy_handle == x->h) {
                x->done = true;
                x->cc = m->data.result;
            }
        if (mc == CURLM_OK && !x->done && !x->paused && x->body.len < want)
            mc = curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            return err_set(err, IMGSEC_EINTERNAL, "libcurl: %s", curl_multi_strerror(mc));
    }
    if (x->done)
        xfer_stop(r, x);
    return IMGSEC_OK;
}

typedef enum { X_OK, X_RETRY, X_AUTH, X_FAIL } outcome;

static outcome classify(const xfer *x)
{
    if (x->cc == CURLE_OK) {
        if (x->status >= 200 && x->status <= 299)
            return X_OK;
        if (x->status == 401)
            return X_AUTH;
        if (x->status == 429 || x->status == 500 || x->status == 502 || x->status == 503 ||
            x->status == 504)
            return X_RETRY;
        return X_FAIL;
    }
    switch (x->cc) {
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return X_RETRY;
    default:
        return X_FAIL;
    }
}

static void backoff(const xfer *x, int attempt)
{
    int64_t ms = (int64_t)REG_BACKOFF_MS << attempt, ra;
    if (x->retry_after[0] && util_parse_int64(x->retry_after, &ra) && ra >= 0)
        ms = (ra > REG_RETRY_AFTER_MAX ? REG_RETRY_AFTER_MAX : ra) * 1000;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The registry's own words from an error answer ({"errors":[{"code",
 * "message"}]}), printable ASCII only, or "". */
static void registry_words(const xfer *x, char *out, size_t size)
{
    out[0] = '\0';
    json_t *j = x->errbody.len ? json_loadb(x->errbody.buf, x->errbody.len, 0, NULL) : NULL;
    const json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code || msg)
        snprintf(out, size, " (%.64s%s%.200s)", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    json_decref(j);
}

static int xfer_error(const xfer *x, const char *what, imgsec_err *err)
{
    if (x->too_big)
        return err_set(err, IMGSEC_EINVAL, "%s: larger than %zu bytes", what, x->max);
    if (x->cc != CURLE_OK)
        return err_set(err, IMGSEC_EINVAL, "%s: %s%s", what,
                       x->curl_err[0] ? x->curl_err : curl_easy_strerror(x->cc),
                       x->cc == CURLE_SSL_CONNECT_ERROR ? " (a plain-HTTP registry needs --insecure-registry)" : "");
    char words[300];
    registry_words(x, words, sizeof words);
    imgsec_code code = x->status == 401 || x->status == 403 ? IMGSEC_EAUTH
                       : x->status == 404                   ? IMGSEC_ENOTFOUND
                                                            : IMGSEC_EINVAL;
    return err_set(err, code, "%s: the registry answered %ld%s", what, x->status, words);
}

/* ---- authentication ---- */

static const char HINT[] =
    "give credentials with --username and --password-stdin, IMGSEC_REGISTRY_USERNAME and "
    "IMGSEC_REGISTRY_PASSWORD, or an \"auths\" entry of a Docker config.json (credential helpers "
    "are not read)";

static int fetch_token(reg *r, const scan_registry_challenge *c, imgsec_err *err)
{
    bool https = strncasecmp(c->realm, "https://", 8) == 0;
    if (!https && !(r->insecure && strncasecmp(c->realm, "http://", 7) == 0))
        return err_set(err, IMGSEC_EAUTH,
                       "the registry's token realm '%.200s' is not https:// (plain http:// only with "
                       "--insecure-registry)", c->realm);
    xfer x = {0};
    int rc = IMGSEC_OK;
    util_buf url = {0};
    if (!(x.h = curl_easy_init()))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    char scope[600];
    if (c->scope[0])
        snprintf(scope, sizeof scope, "%s", c->scope);
    else
        snprintf(scope, sizeof scope, "repository:%s:pull", r->ref.repo);
    char *svc = curl_easy_escape(x.h, c->service, 0), *sc = curl_easy_escape(x.h, scope, 0);
    util_buf_printf(&url, "%s%cscope=%s%s%s", c->realm, strchr(c->realm, '?') ? '&' : '?', sc ? sc : "",
                    c->service[0] ? "&service=" : "", c->service[0] && svc ? svc : "");
    curl_free(svc);
    curl_free(sc);
    if (url.failed) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    x.max = REG_TOKEN_BODY_MAX;
    for (int attempt = 0;; attempt++) {
        if ((rc = xfer_start(r, &x, url.buf, "Accept: application/json", AUTH_REALM, err)) ||
            (rc = xfer_pump(r, &x, SIZE_MAX, err)))
            goto done;
        outcome o = classify(&x);
        if (o == X_RETRY && attempt + 1 < REG_ATTEMPTS) {
            backoff(&x, attempt);
            continue;
        }
        if (o == X_AUTH || (o == X_FAIL && x.cc == CURLE_OK && x.status == 403)) {
            rc = r->user ? err_set(err, IMGSEC_EAUTH, "the registry's token service refused the credentials of '%.64s'", r->user)
                         : err_set(err, IMGSEC_EAUTH, "the registry's token service wants credentials: %s", HINT);
            goto done;
        }
        if (o != X_OK) {
            rc = xfer_error(&x, "the registry's token service", err);
            goto done;
        }
        break;
    }
    json_t *j = json_loadb(x.body.buf ? x.body.buf : "", x.body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "token"));
    if (!t)
        t = json_string_value(json_object_get(j, "access_token"));
    size_t tl = t ? strlen(t) : 0;
    bool ok = tl > 0 && tl <= REG_TOKEN_MAX;
    for (size_t i = 0; ok && i < tl; i++)
        ok = (unsigned char)t[i] > 0x20 && (unsigned char)t[i] < 0x7f;
    if (!ok) {
        rc = err_set(err, IMGSEC_EAUTH,
                     "the registry's token service answered without a token (a JSON object with "
                     "\"token\" or \"access_token\" of at most %d printable characters)", REG_TOKEN_MAX);
    } else {
        if (r->token)
            sodium_memzero(r->token, strlen(r->token));
        free(r->token);
        if (!(r->token = strdup(t)))
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    json_decref(j);
done:
    if (x.body.buf)
        sodium_memzero(x.body.buf, x.body.len);
    xfer_free(r, &x);
    free(url.buf);
    return rc;
}

/* A 401: answers the challenge (round counts the 401s of one request). */
static int authenticate(reg *r, const xfer *x, int round, imgsec_err *err)
{
    if (!x->www_auth[0])
        return err_set(err, IMGSEC_EAUTH, "the registry answered 401 without a WWW-Authenticate challenge");
    scan_registry_challenge c;
    int rc = scan_registry_challenge_parse(x->www_auth, &c, err);
    if (rc)
        return rc;
    if (strcasecmp(c.scheme, "Basic") == 0) {
        if (!r->user)
            return err_set(err, IMGSEC_EAUTH, "the registry wants credentials: %s", HINT);
        if (r->use_basic)
            return err_set(err, IMGSEC_EAUTH, "the registry refused the credentials of '%.64s'", r->user);
        r->use_basic = true;
        return IMGSEC_OK;
    }
    if (strcasecmp(c.scheme, "Bearer") != 0)
        return err_set(err, IMGSEC_EAUTH, "the registry asks for '%s' authentication; only Bearer and "
                       "Basic are supported", c.scheme);
    if (round > 0)
        return err_set(err, IMGSEC_EAUTH, "the registry refused the token its token service gave%s%.64s%s",
                       r->user ? " to '" : "", r->user ? r->user : "", r->user ? "'" : "");
    if (!c.realm[0])
        return err_set(err, IMGSEC_EAUTH, "the registry's Bearer challenge has no realm");
    return fetch_token(r, &c, err);
}

/* ---- reading whole (manifests) ---- */

static void url_of(const reg *r, const char *kind, const char *ref, char *out, size_t size)
{
    snprintf(out, size, "%s://%s/v2/%s/%s/%s", r->insecure ? "http" : "https", r->ref.host, r->ref.repo,
             kind, ref);
}

/* GETs url whole (at most SCAN_JSON_MAX bytes) with retries and
 * authentication; x holds the answer; what names it in errors. */
static int fetch_whole(reg *r, const char *url, const char *accept, const char *what, xfer *x,
                       imgsec_err *err)
{
    x->max = SCAN_JSON_MAX;
    int attempt = 0, rounds = 0, rc;
    for (;;) {
        if ((rc = xfer_start(r, x, url, accept, AUTH_REGISTRY, err)) ||
            (rc = xfer_pump(r, x, SIZE_MAX, err)))
            return rc;
        outcome o = classify(x);
        if (o == X_OK)
            return IMGSEC_OK;
        if (o == X_AUTH) {
            if ((rc = authenticate(r, x, rounds++, err)))
                return rc;
            continue;
        }
        if (o == X_RETRY && attempt + 1 < REG_ATTEMPTS) {
            backoff(x, attempt++);
            continue;
        }
        return xfer_error(x, what, err);
    }
}

/* GETs a manifest (by tag or digest); x holds the answer. */
static int fetch_manifest(reg *r, const char *ref, xfer *x, imgsec_err *err)
{
    char url[1200], what[900];
    url_of(r, "manifests", ref, url, sizeof url);
    snprintf(what, sizeof what, "%s/%s manifest %s", r->ref.host, r->ref.repo, ref);
    return fetch_whole(r, url, ACCEPT_MANIFESTS, what, x, err);
}

static bool is_index_type(const char *mt)
{
    return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
                  strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* Parses a fetched manifest: refuses schema 1, notes the digests an index
 * names (they are fetched as manifests), and tells its media type. */
static int manifest_kind(reg *r, const xfer *x, const char *what, char *mt, size_t mt_size,
                         imgsec_err *err)
{
    json_t *j = json_loadb(x->body.buf ? x->body.buf : "", x->body.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(err, IMGSEC_EINVAL, "%s: not a JSON object", what);
    }
    const char *jmt = json_string_value(json_object_get(j, "mediaType"));
    char ct[128];
    snprintf(ct, sizeof ct, "%.*s", (int)strcspn(x->ctype, "; "), x->ctype);
    const json_t *ms = json_object_get(j, "manifests");
    if (json_integer_value(json_object_get(j, "schemaVersion")) == 1 ||
        strncmp(ct, "application/vnd.docker.distribution.manifest.v1+", 48) == 0) {
        json_decref(j);
        return err_set(err, IMGSEC_EINVAL,
                       "%s: a Docker schema 1 manifest, which is not supported (push the image again "
                       "with a current client)", what);
    }
    bool index = is_index_type(jmt) || is_index_type(ct) || (!jmt && json_is_array(ms) &&
                                                              !json_object_get(j, "layers"));
    snprintf(mt, mt_size, "%s", jmt ? jmt : ct[0] ? ct : "application/vnd.oci.image.manifest.v1+json");
    for (const char *p = mt; *p; p++) /* it goes into the JSON of the synthesized index */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '+' || *p == '/' || *p == '-')) {
            snprintf(mt, mt_size, "application/vnd.oci.image.manifest.v1+json");
            break;
        }
    if (index && !is_index_type(mt))
        snprintf(mt, mt_size, "application/vnd.oci.image.index.v1+json");
    for (size_t i = 0; index && i < json_array_size(ms); i++) {
        const char *d = json_string_value(json_object_get(json_array_get(ms, i), "digest"));
        if (d && json_object_set_new(r->manifests, d, json_true()) != 0) {
            json_decref(j);
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        }
    }
    json_decref(j);
    return IMGSEC_OK;
}

/* ---- sources ---- */

typedef struct {
    scan_src base;
    reg *r;
    char url[1200];
    xfer x;
    int attempt, rounds;
    int64_t handed; /* bytes given to the reader */
    bool started, eof;
} blob_src;

static ssize_t blob_read(scan_src *s, const void **buf, imgsec_err *err)
{
    blob_src *b = (blob_src *)s;
    if (b->eof)
        return 0;
    b->x.body.len = 0;
    if (b->x.paused) {
        b->x.paused = false;
        curl_easy_pause(b->x.h, CURLPAUSE_CONT); /* may deliver the held bytes at once */
    }
    for (;;) {
        if (!b->started) {
            if (xfer_start(b->r, &b->x, b->url, NULL, AUTH_REGISTRY, err) != IMGSEC_OK)
                return -1;
            b->started = true;
        }
        if (xfer_pump(b->r, &b->x, 1, err) != IMGSEC_OK)
            return -1;
        if (b->x.body.len > 0) {
            *buf = b->x.body.buf;
            b->handed += (int64_t)b->x.body.len;
            return (ssize_t)b->x.body.len;
        }
        if (!b->x.done)
            continue;
        b->started = false;
        outcome o = classify(&b->x);
        if (o == X_OK) {
            b->eof = true;
            return 0;
        }
        if (b->handed == 0 && o == X_AUTH) {
            int rc = authenticate(b->r, &b->x, b->rounds++, err);
            if (rc) {
                err->code = IMGSEC_EINVAL; /* a pull that fails is refused whole (scan.h) */
                return -1;
            }
            continue;
        }
        if (b->handed == 0 && o == X_RETRY && b->attempt + 1 < REG_ATTEMPTS) {
            backoff(&b->x, b->attempt++);
            continue;
        }
        if (b->handed > 0) {
            err_set(err, IMGSEC_EINVAL, "%s: the download broke after %lld bytes: %s", s->name,
                    (long long)b->handed,
                    b->x.cc != CURLE_OK ? (b->x.curl_err[0] ? b->x.curl_err : curl_easy_strerror(b->x.cc))
                                        : "the registry ended the answer");
            return -1;
        }
        xfer_error(&b->x, s->name, err);
        err->code = IMGSEC_EINVAL;
        return -1;
    }
}

static void blob_close(scan_src *s)
{
    blob_src *b = (blob_src *)s;
    xfer_free(b->r, &b->x);
    free(b);
}

static scan_src *blob_open(reg *r, const char *digest, imgsec_err *err)
{
    blob_src *b = calloc(1, sizeof *b);
    if (!b) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    b->r = r;
    url_of(r, "blobs", digest, b->url, sizeof b->url);
    snprintf(b->base.name, sizeof b->base.name, "%.100s/%.60s blob %.71s", r->ref.host, r->ref.repo, digest);
    b->base.read = blob_read;
    b->base.close = blob_close;
    return &b->base;
}

/* A manifest an index named, fetched by digest and verified. */
static scan_src *manifest_open(reg *r, const char *digest, imgsec_err *err)
{
    xfer x = {0};
    char what[400], mt[128], hex[65];
    snprintf(what, sizeof what, "%.120s/%.60s manifest %s", r->ref.host, r->ref.repo, digest);
    if (fetch_manifest(r, digest, &x, err) != IMGSEC_OK) {
        xfer_free(r, &x);
        return NULL;
    }
    unsigned char md[32];
    crypto_hash_sha256(md, (const unsigned char *)(x.body.buf ? x.body.buf : ""), x.body.len);
    util_hex(md, sizeof md, hex);
    if (strcmp(hex, digest + 7) != 0) {
        err_set(err, IMGSEC_EINVAL, "%s: digest mismatch: the bytes hash to sha256:%s", what, hex);
        xfer_free(r, &x);
        return NULL;
    }
    if (manifest_kind(r, &x, what, mt, sizeof mt, err) != IMGSEC_OK) {
        xfer_free(r, &x);
        return NULL;
    }
    char *data = x.body.buf ? x.body.buf : strdup("");
    size_t len = x.body.len;
    x.body.buf = NULL;
    xfer_free(r, &x);
    if (!data) {
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    return scan_src_memory_owned(data, len, what, err);
}

static scan_src *reg_open(scan_remote *rm, const char *name, imgsec_err *err)
{
    reg *r = (reg *)rm;
    if (strcmp(name, "index.json") == 0)
        return scan_src_memory(r->index, r->index_len, r->ref.canonical, err);
    if (strncmp(name, "blobs/sha256/", 13) != 0 || !scan_is_hex64(name + 13)) {
        err_set(err, IMGSEC_EINVAL, "%s: no member '%.200s' in a registry", r->ref.canonical, name);
        return NULL;
    }
    char digest[72];
    snprintf(digest, sizeof digest, "sha256:%s", name + 13);
    if (strcmp(digest, r->top_digest) == 0)
        return scan_src_memory(r->top, r->top_len, r->ref.canonical, err);
    if (json_object_get(r->manifests, digest))
        return manifest_open(r, digest, err);
    return blob_open(r, digest, err);
}

static void reg_free(scan_remote *rm)
{
    reg *r = (reg *)rm;
    if (r->multi)
        curl_multi_cleanup(r->multi);
    if (r->pass)
        sodium_memzero(r->pass, strlen(r->pass));
    if (r->token)
        sodium_memzero(r->token, strlen(r->token));
    free(r->user);
    free(r->pass);
    free(r->token);
    json_decref(r->manifests);
    if (r->index != r->top)
        free(r->index);
    free(r->top);
    free(r);
    curl_global_cleanup();
}

/* ---- credentials from a Docker config.json ---- */

static int auth_file_lookup(reg *r, const char *path, imgsec_err *err)
{
    size_t len;
    char *buf = util_read_file(path, &len);
    if (!buf)
        return IMGSEC_OK; /* no file: anonymous */
    if (len > REG_AUTH_FILE_MAX) {
        sodium_memzero(buf, len);
        free(buf);
        return err_set(err, IMGSEC_EINVAL, "%s: larger than %u bytes", path, REG_AUTH_FILE_MAX);
    }
    json_error_t je;
    json_t *j = json_loadb(buf, len, 0, &je);
    sodium_memzero(buf, len);
    free(buf);
    if (!j)
        return err_set(err, IMGSEC_EINVAL, "%s: not JSON (line %d)", path, je.line);
    const json_t *auths = json_object_get(j, "auths");
    char keys[4][300];
    snprintf(keys[0], sizeof keys[0], "%s", r->ref.auth_key);
    snprintf(keys[1], sizeof keys[1], "https://%s", r->ref.host);
    snprintf(keys[2], sizeof keys[2], "http://%s", r->ref.host);
    snprintf(keys[3], sizeof keys[3], "%s", r->ref.host);
    const char *b64 = NULL;
    for (int i = 0; i < 4 && !b64; i++)
        b64 = json_string_value(json_object_get(json_object_get(auths, keys[i]), "auth"));
    int rc = IMGSEC_OK;
    if (b64) {
        size_t bl = strlen(b64), dl = 0;
        unsigned char *dec = malloc(bl + 1);
        if (!dec) {
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        } else if (sodium_base642bin(dec, bl, b64, bl, NULL, &dl, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
                   !memchr(dec, ':', dl) || memchr(dec, '\0', dl)) {
            rc = err_set(err, IMGSEC_EINVAL, "%s: the \"auth\" of '%s' is not base64 of user:password",
                         path, r->ref.host);
        } else {
            dec[dl] = '\0';
            char *colon = strchr((char *)dec, ':');
            *colon = '\0';
            if (!(r->user = strdup((char *)dec)) || !(r->pass = strdup(colon + 1)))
                rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        }
        if (dec) {
            sodium_memzero(dec, bl + 1);
            free(dec);
        }
    }
    json_decref(j);
    return rc;
}

/* ---- the plan ---- */

int scan_registry_plan(const char *input, const scan_options *opt, scan_plan *plan, imgsec_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, IMGSEC_EINTERNAL, "libcurl cannot start");
    reg *r = calloc(1, sizeof *r);
    if (!r) {
        curl_global_cleanup();
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    r->base.open = reg_open;
    r->base.free = reg_free;
    plan->remote = &r->base;
    plan->format = "registry";
    r->insecure = opt->insecure_registry;
    r->ca_file = opt->registry_ca_file;
    int rc = scan_registry_ref_parse(input, &r->ref, err);
    if (rc)
        return rc;
    if (!(r->multi = curl_multi_init()) || !(r->manifests = json_object()))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (opt->registry_username && *opt->registry_username) {
        if (!(r->user = strdup(opt->registry_username)) ||
            !(r->pass = strdup(opt->registry_password ? opt->registry_password : "")))
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    } else if (opt->registry_auth_file && (rc = auth_file_lookup(r, opt->registry_auth_file, err))) {
        return rc;
    }
    xfer x = {0};
    char mt[128], hex[65];
    if ((rc = fetch_manifest(r, r->ref.digest[0] ? r->ref.digest : r->ref.tag, &x, err))) {
        xfer_free(r, &x);
        return rc;
    }
    unsigned char md[32];
    crypto_hash_sha256(md, (const unsigned char *)(x.body.buf ? x.body.buf : ""), x.body.len);
    util_hex(md, sizeof md, hex);
    snprintf(r->top_digest, sizeof r->top_digest, "sha256:%s", hex);
    if ((r->ref.digest[0] && strcmp(r->ref.digest, r->top_digest) != 0) ||
        (x.digest[0] && strcmp(x.digest, r->top_digest) != 0)) {
        rc = err_set(err, IMGSEC_EINVAL, "%s: digest mismatch: the manifest hashes to %s, the %s says %.80s",
                     r->ref.canonical, r->top_digest, r->ref.digest[0] ? "reference" : "registry",
                     r->ref.digest[0] ? r->ref.digest : x.digest);
        xfer_free(r, &x);
        return rc;
    }
    if ((rc = manifest_kind(r, &x, r->ref.canonical, mt, sizeof mt, err))) {
        xfer_free(r, &x);
        return rc;
    }
    r->top = x.body.buf ? x.body.buf : strdup("");
    r->top_len = x.body.len;
    x.body.buf = NULL;
    xfer_free(r, &x);
    if (!r->top)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    if (is_index_type(mt)) {
        r->index = r->top;
        r->index_len = r->top_len;
    } else {
        util_buf b = {0};
        util_buf_printf(&b, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                        mt, r->top_digest, r->top_len);
        if (b.failed)
            return err_set(err, IMGSEC_EINTERNAL, "out of memory");
        r->index = b.buf;
        r->index_len = b.len;
    }
    if ((rc = scan_plan_oci(plan, opt, err)))
        return rc;
    free(plan->repo_tag);
    if (!(plan->repo_tag = strdup(r->ref.canonical)))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return IMGSEC_OK;
}

/* ---- listing: the catalog and the tags (a registry sync) ---- */

#define CATALOG_PAGE 1000

int scan_registry_list_parse(const char *body, size_t len, bool repos, json_t *names,
                             const char *what, imgsec_err *err)
{
    const char *key = repos ? "repositories" : "tags";
    bool (*valid)(const char *) = repos ? repo_valid : tag_valid;
    json_array_clear(names);
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    const json_t *a = json_object_get(j, key);
    int rc = IMGSEC_OK;
    if (!json_is_object(j) || (a && !json_is_array(a) && !json_is_null(a)))
        rc = err_set(err, IMGSEC_EINVAL, "%s: not a JSON object with an array \"%s\"", what, key);
    for (size_t i = 0; rc == IMGSEC_OK && i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (!v || strlen(v) != json_string_length(json_array_get(a, i)) || !valid(v))
            rc = err_set(err, IMGSEC_EINVAL, "%s: entry %zu of \"%s\" is not a valid name", what, i, key);
        else if (json_array_append(names, json_array_get(a, i)) != 0)
            rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    json_decref(j);
    if (rc != IMGSEC_OK)
        json_array_clear(names);
    return rc;
}

/* Every page of url_base (?n=CATALOG_PAGE&last=...): key's names into all. */
static int list_all(reg *r, const char *url_base, bool repos, const char *what, size_t max,
                    json_t *all, imgsec_err *err)
{
    json_t *page = json_array();
    if (!page)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    int rc = IMGSEC_OK;
    char last[300] = "";
    for (;;) {
        char url[1400];
        snprintf(url, sizeof url, "%s?n=%d%s%s", url_base, CATALOG_PAGE, last[0] ? "&last=" : "", last);
        xfer x = {0};
        rc = fetch_whole(r, url, "Accept: application/json", what, &x, err);
        if (rc == IMGSEC_OK)
            rc = scan_registry_list_parse(x.body.buf, x.body.len, repos, page, what, err);
        xfer_free(r, &x);
        if (rc != IMGSEC_OK)
            break;
        size_t n = json_array_size(page);
        if (json_array_size(all) + n > max) {
            rc = err_set(err, IMGSEC_EINVAL, "%s: more than %zu entries", what, max);
            break;
        }
        json_array_extend(all, page);
        if (n < CATALOG_PAGE)
            break;
        snprintf(last, sizeof last, "%s", json_string_value(json_array_get(page, n - 1)));
    }
    json_decref(page);
    return rc;
}

int scan_registry_catalog(const char *host, const char *prefix, const scan_options *opt,
                          size_t max, int (*cb)(void *ctx, const char *repo, const char *tag),
                          void *ctx, imgsec_err *err)
{
    char ref[300];
    snprintf(ref, sizeof ref, "%.255s/x", host);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, IMGSEC_EINTERNAL, "libcurl cannot start");
    reg *r = calloc(1, sizeof *r);
    json_t *repos = json_array(), *tags = json_array();
    int rc = IMGSEC_OK;
    if (!r || !repos || !tags || !(r->multi = curl_multi_init())) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    r->insecure = opt->insecure_registry;
    r->ca_file = opt->registry_ca_file;
    if ((rc = scan_registry_ref_parse(ref, &r->ref, err)))
        goto done;
    r->ref.repo[0] = '\0';
    if (opt->registry_username && *opt->registry_username &&
        (!(r->user = strdup(opt->registry_username)) ||
         !(r->pass = strdup(opt->registry_password ? opt->registry_password : "")))) {
        rc = err_set(err, IMGSEC_EINTERNAL, "out of memory");
        goto done;
    }
    char url[1200], what[700];
    snprintf(url, sizeof url, "%s://%s/v2/_catalog", r->insecure ? "http" : "https", r->ref.host);
    snprintf(what, sizeof what, "%s catalog", r->ref.host);
    if ((rc = list_all(r, url, true, what, max, repos, err)))
        goto done;
    size_t plen = prefix ? strlen(prefix) : 0, seen = 0;
    for (size_t i = 0; i < json_array_size(repos) && rc == IMGSEC_OK; i++) {
        const char *repo = json_string_value(json_array_get(repos, i));
        if (plen && !(strncmp(repo, prefix, plen) == 0 && repo[plen] == '/'))
            continue;
        snprintf(r->ref.repo, sizeof r->ref.repo, "%s", repo); /* the token's default scope */
        snprintf(url, sizeof url, "%s://%s/v2/%s/tags/list", r->insecure ? "http" : "https",
                 r->ref.host, repo);
        snprintf(what, sizeof what, "%s/%s tags", r->ref.host, repo);
        json_array_clear(tags);
        if ((rc = list_all(r, url, false, what, max, tags, err)))
            break;
        seen += json_array_size(tags);
        if (seen > max) {
            rc = err_set(err, IMGSEC_EINVAL, "%s: more than %zu tags", r->ref.host, max);
            break;
        }
        for (size_t k = 0; k < json_array_size(tags) && rc == IMGSEC_OK; k++)
            rc = cb(ctx, repo, json_string_value(json_array_get(tags, k)));
    }
done:
    json_decref(repos);
    json_decref(tags);
    if (r) {
        r->base.free = reg_free;
        reg_free(&r->base); /* ends curl_global_init's count too */
    } else {
        curl_global_cleanup();
    }
    return rc;
}
