/* sign.c - SDK-HMAC-SHA256 request signatures (see sign.h, auth.md).
 *
 * Shaped around one rule: the canonical request is rebuilt from the bytes
 * that arrived, never from the server's decoded view of them. The path
 * segments of the raw target are encoded as the SDKs encode them (so a
 * "%41" on the wire is "%2541" in the canonical form, exactly as the SDK
 * computed it from the URL it sent); the query is split, percent-decoded,
 * sorted and re-encoded, which makes the canonical query independent of
 * how the client chose to escape it. Everything is bounded by the SIGN_*
 * limits and fails closed.
 */
#include "imgsec/sign.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imgsec/util.h"

/* ---- building strings (util_buf) ---- */

static void sb_str(util_buf *b, const char *s)
{
    util_buf_put(b, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (upper-case hex). */
static void sb_enc(util_buf *b, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            util_buf_put(b, (const char *)&s[i], 1);
        } else {
            char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
            util_buf_put(b, e, 3);
        }
    }
}

/* ---- the Authorization header ---- */

bool sign_is_signed(const char *authorization)
{
    size_t n = strlen(SIGN_ALGORITHM);
    return authorization && strncmp(authorization, SIGN_ALGORITHM, n) == 0 &&
           (authorization[n] == ' ' || authorization[n] == '\t');
}

static bool header_name_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_';
}

static int parse_signed_headers(const char *v, size_t n, sign_auth *out, imgsec_err *err)
{
    if (n == 0 || n >= sizeof out->signed_headers)
        return err_set(err, IMGSEC_EAUTH, "SignedHeaders is empty or too long");
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && v[i] != ';')
            continue;
        size_t len = i - start;
        if (len == 0 || len > SIGN_HEADER_NAME_MAX)
            return err_set(err, IMGSEC_EAUTH, "SignedHeaders holds an empty or too long name");
        if (out->nheaders >= SIGN_MAX_SIGNED_HEADERS)
            return err_set(err, IMGSEC_EAUTH, "SignedHeaders names too many headers");
        char *name = out->headers[out->nheaders++];
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)v[start + k];
            if (!header_name_char(c))
                return err_set(err, IMGSEC_EAUTH, "SignedHeaders holds a bad header name");
            name[k] = (char)tolower(c);
        }
        name[len] = '\0';
        start = i + 1;
    }
    for (size_t i = 0; i < n; i++)
        out->signed_headers[i] = (char)tolower((unsigned char)v[i]);
    out->signed_headers[n] = '\0';
    return IMGSEC_OK;
}

int sign_parse_authorization(const char *value, size_t len, sign_auth *out, imgsec_err *err)
{
    memset(out, 0, sizeof *out);
    if (!value || len > SIGN_AUTH_HEADER_MAX)
        return err_set(err, IMGSEC_EAUTH, "the Authorization header is missing or too long");
    size_t alg = strlen(SIGN_ALGORITHM);
    if (len <= alg || memcmp(value, SIGN_ALGORITHM, alg) != 0 ||
        (value[alg] != ' ' && value[alg] != '\t'))
        return err_set(err, IMGSEC_EAUTH, "the Authorization scheme must be %s", SIGN_ALGORITHM);
    const char *p = value + alg, *end = value + len;
    bool have_ak = false, have_sh = false, have_sig = false;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            return err_set(err, IMGSEC_EAUTH, "the Authorization header is malformed");
        const char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        const char *v = eq + 1;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        const char *vend = v;
        while (vend < end && *vend != ',' && *vend != ' ' && *vend != '\t')
            vend++;
        size_t klen = (size_t)(kend - p), vlen = (size_t)(vend - v);
        int rc = IMGSEC_OK;
        if (klen == 6 && strncasecmp(p, "Access", 6) == 0 && !have_ak) {
            have_ak = true;
            if (vlen == 0 || vlen > SIGN_AK_MAX)
                return err_set(err, IMGSEC_EAUTH, "the access key is empty or too long");
            for (size_t i = 0; i < vlen; i++)
                if (!isalnum((unsigned char)v[i]))
                    return err_set(err, IMGSEC_EAUTH, "the access key holds a bad character");
            memcpy(out->ak, v, vlen);
            out->ak[vlen] = '\0';
        } else if (klen == 13 && strncasecmp(p, "SignedHeaders", 13) == 0 && !have_sh) {
            have_sh = true;
            rc = parse_signed_headers(v, vlen, out, err);
        } else if (klen == 9 && strncasecmp(p, "Signature", 9) == 0 && !have_sig) {
            have_sig = true;
            if (vlen != SIGN_SIGNATURE_HEX)
                return err_set(err, IMGSEC_EAUTH, "the signature must be %d hex digits",
                               SIGN_SIGNATURE_HEX);
            for (size_t i = 0; i < vlen; i++) {
                if (!isxdigit((unsigned char)v[i]))
                    return err_set(err, IMGSEC_EAUTH, "the signature must be hex");
                out->signature[i] = (char)tolower((unsigned char)v[i]);
            }
            out->signature[vlen] = '\0';
        } else {
            return err_set(err, IMGSEC_EAUTH, "the Authorization header has an unknown or repeated field");
        }
        if (rc != IMGSEC_OK)
            return rc;
        p = vend;
    }
    if (!have_ak || !have_sh || !have_sig)
        return err_set(err, IMGSEC_EAUTH,
                       "the Authorization header needs Access, SignedHeaders and Signature");
    if (!sign_auth_lists(out, "host") || !sign_auth_lists(out, "x-sdk-date"))
        return err_set(err, IMGSEC_EAUTH, "SignedHeaders must include host and x-sdk-date");
    return IMGSEC_OK;
}

bool sign_auth_lists(const sign_auth *a, const char *name)
{
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i], name) == 0)
            return true;
    return false;
}

bool sign_parse_date(const char *s, int64_t *ms)
{
    if (!s || strlen(s) != SIGN_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
        return false;
    int y, mo, d, h, mi, se;
    if (!util_parse_digits(s, 4, &y) || !util_parse_digits(s + 4, 2, &mo) ||
        !util_parse_digits(s + 6, 2, &d) || !util_parse_digits(s + 9, 2, &h) ||
        !util_parse_digits(s + 11, 2, &mi) || !util_parse_digits(s + 13, 2, &se))
        return false;
    int64_t t = util_utc_seconds(y, mo, d, h, mi, se);
    if (t < 0)
        return false;
    *ms = t * 1000;
    return true;
}

/* ---- the canonical request ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a malloc'd buffer; *out_len gets its length.
 * '+' stays '+' (the SDKs escape a literal plus as %2B). NULL on a bad escape. */
static char *pct_decode(const char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}

typedef struct {
    char *name, *value;
    size_t nlen, vlen;
} qparam;

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int qparam_cmp(const void *x, const void *y)
{
    const qparam *a = x, *b = y;
    int c = bytes_cmp(a->name, a->nlen, b->name, b->nlen);
    return c ? c : bytes_cmp(a->value, a->vlen, b->value, b->vlen);
}

static int canonical_query(util_buf *b, const char *q, size_t n, imgsec_err *err)
{
    qparam params[SIGN_MAX_QUERY_PARAMS];
    size_t np = 0;
    int rc = IMGSEC_OK;
    size_t start = 0;
    for (size_t i = 0; i <= n && rc == IMGSEC_OK; i++) {
        if (i < n && q[i] != '&')
            continue;
        size_t len = i - start;
        const char *item = q + start;
        start = i + 1;
        if (len == 0)
            continue;
        if (np >= SIGN_MAX_QUERY_PARAMS) {
            rc = err_set(err, IMGSEC_EAUTH, "too many query parameters to verify a signature");
            break;
        }
        const char *eq = memchr(item, '=', len);
        size_t nl = eq ? (size_t)(eq - item) : len;
        qparam *p = &params[np];
        p->name = pct_decode(item, nl, &p->nlen);
        p->value = eq ? pct_decode(eq + 1, len - nl - 1, &p->vlen) : pct_decode("", 0, &p->vlen);
        np++;
        if (!p->name || !p->value)
            rc = err_set(err, IMGSEC_EAUTH, "the query holds a bad percent escape");
    }
    if (rc == IMGSEC_OK) {
        qsort(params, np, sizeof params[0], qparam_cmp);
        for (size_t i = 0; i < np; i++) {
            if (i)
                util_buf_put(b, "&", 1);
            sb_enc(b, params[i].name, params[i].nlen);
            util_buf_put(b, "=", 1);
            sb_enc(b, params[i].value, params[i].vlen);
        }
    }
    for (size_t i = 0; i < np; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    return rc;
}

/* Each '/'-separated segment of the raw path encoded, then a trailing '/'. */
static void canonical_uri(util_buf *b, const char *path, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        if (start)
            util_buf_put(b, "/", 1);
        sb_enc(b, path + start, i - start);
        start = i + 1;
    }
    if (b->len == 0 || b->buf[b->len - 1] != '/')
        util_buf_put(b, "/", 1);
}

/* The Python SDK's form: the whole path percent-decoded first (so an
 * encoded '/' separates segments, as Python's unquote then split does),
 * then each segment encoded. It sends "sha256%3Aab" for a path parameter
 * "sha256:ab" and signs "sha256%3Aab"; the raw form above would be
 * "sha256%253Aab". A bad escape stays as it is, as unquote leaves it. */
static void canonical_uri_decoded(util_buf *b, const char *path, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        b->failed = true;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (path[i] == '%' && i + 2 < n && (hi = hexval(path[i + 1])) >= 0 &&
            (lo = hexval(path[i + 2])) >= 0) {
            d[m++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[m++] = path[i];
        }
    }
    canonical_uri(b, d, m);
    free(d);
}

/* Header value with leading and trailing blanks removed. */
static void sb_trimmed(util_buf *b, const char *v)
{
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    util_buf_put(b, v, n);
}

static char *canonical_request(const sign_request *r, const sign_auth *a, bool decoded,
                               imgsec_err *err)
{
    util_buf b = {0};
    size_t tlen = r->raw_target ? strlen(r->raw_target) : 0;
    if (!r->method || tlen == 0 || tlen > SIGN_URI_MAX || r->raw_target[0] != '/') {
        err_set(err, IMGSEC_EAUTH, "the request target cannot be verified");
        return NULL;
    }
    const char *qmark = memchr(r->raw_target, '?', tlen);
    size_t plen = qmark ? (size_t)(qmark - r->raw_target) : tlen;

    sb_str(&b, r->method);
    util_buf_put(&b, "\n", 1);
    if (decoded)
        canonical_uri_decoded(&b, r->raw_target, plen);
    else
        canonical_uri(&b, r->raw_target, plen);
    util_buf_put(&b, "\n", 1);
    if (qmark && canonical_query(&b, qmark + 1, tlen - plen - 1, err) != IMGSEC_OK) {
        free(b.buf);
        return NULL;
    }
    util_buf_put(&b, "\n", 1);
    for (size_t i = 0; i < a->nheaders; i++) {
        const char *v = r->header(r->header_arg, a->headers[i]);
        if (!v || strlen(v) > SIGN_HEADER_VALUE_MAX) {
            free(b.buf);
            err_set(err, IMGSEC_EAUTH, "a signed header is missing from the request");
            return NULL;
        }
        sb_str(&b, a->headers[i]);
        util_buf_put(&b, ":", 1);
        sb_trimmed(&b, v);
        util_buf_put(&b, "\n", 1);
    }
    util_buf_put(&b, "\n", 1);
    sb_str(&b, a->signed_headers);
    util_buf_put(&b, "\n", 1);
    if (r->unsigned_payload) {
        sb_str(&b, "UNSIGNED-PAYLOAD");
    } else {
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        crypto_hash_sha256(h, r->body_len ? r->body : (const unsigned char *)"", r->body_len);
        util_hex(h, sizeof h, hex);
        sb_str(&b, hex);
    }
    if (b.failed) {
        free(b.buf);
        err_set(err, IMGSEC_EINTERNAL, "out of memory");
        return NULL;
    }
    return b.buf;
}

char *sign_canonical_request(const sign_request *r, const sign_auth *a, imgsec_err *err)
{
    return canonical_request(r, a, false, err);
}

static int compute(const sign_request *r, const sign_auth *a, bool decoded, const char *date,
                   const char *sk, size_t sk_len, char out[SIGN_SIGNATURE_HEX + 1], imgsec_err *err)
{
    imgsec_err local = {0};
    if (!err) /* the failure's code is in err, which the caller may omit */
        err = &local;
    char *canon = canonical_request(r, a, decoded, err);
    if (!canon)
        return err->code;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, (const unsigned char *)canon, strlen(canon));
    free(canon);
    util_hex(h, sizeof h, hex);

    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)sk, sk_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)SIGN_ALGORITHM "\n",
                                  strlen(SIGN_ALGORITHM) + 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)date, strlen(date));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)hex, strlen(hex));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    util_hex(mac, sizeof mac, out);
    sodium_memzero(mac, sizeof mac);
    return IMGSEC_OK;
}

int sign_compute(const sign_request *r, const sign_auth *a, const char *date, const char *sk,
                 size_t sk_len, char out[SIGN_SIGNATURE_HEX + 1], imgsec_err *err)
{
    return compute(r, a, false, date, sk, sk_len, out, err);
}

static bool verify_form(const sign_request *r, const sign_auth *a, bool decoded, const char *date,
                        const char *sk, size_t sk_len)
{
    char expect[SIGN_SIGNATURE_HEX + 1];
    imgsec_err err = {0};
    if (compute(r, a, decoded, date, sk, sk_len, expect, &err) != IMGSEC_OK)
        return false;
    bool ok = sodium_memcmp(expect, a->signature, SIGN_SIGNATURE_HEX) == 0;
    sodium_memzero(expect, sizeof expect);
    return ok;
}

/* Both canonical paths the official SDKs produce: the raw one (Go, Node:
 * the path as sent, encoded) and, when the path holds an escape, the
 * Python SDK's decoded one. Either proves the key; the query and headers
 * are the same in both. */
bool sign_verify(const sign_request *r, const sign_auth *a, const char *date, const char *sk,
                 size_t sk_len)
{
    if (verify_form(r, a, false, date, sk, sk_len))
        return true;
    const char *t = r->raw_target ? r->raw_target : "";
    const char *q = strchr(t, '?');
    const char *pct = strchr(t, '%');
    return pct && (!q || pct < q) && verify_form(r, a, true, date, sk, sk_len);
}
