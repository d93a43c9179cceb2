/* cmd_scan.c - imgsec scan: analyze an image and store what it holds
 * (docs/scanning.md "The command line").
 *
 * The scan itself is the library's (scan.h); this file reads flags, shows
 * progress and a summary, and sends the one ingest document where it
 * belongs: a database file (the importers' store path: doc_from_json,
 * then store_ingest in one transaction), a running imgsecd (the ingest
 * route, token or AK/SK), or standard output (--output json|cyclonedx).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "imgsec/doc.h"
#include "imgsec/scan.h"
#include "imgsec/sign.h"
#include "imgsec/util.h"

static const char USAGE[] =
    "usage: imgsec scan [options] IMAGE\n"
    "       imgsec scan [options] --rootfs DIR\n"
    "\n"
    "  Reads a container image in one streamed pass (never unpacked to disk), runs\n"
    "  every analyzer on its merged file system and its config, prints a summary\n"
    "  table, and stores the image with its findings as one ingest document.\n"
    "\n"
    "  IMAGE is one of:\n"
    "    a docker-save archive (manifest.json; legacy or Docker 25), plain or compressed\n"
    "    an OCI image layout, as a directory (oci-layout, index.json, blobs/) or a tar\n"
    "    an image in a registry, [docker://][HOST[:PORT]/]REPO[:TAG|@sha256:HEX], pulled\n"
    "      over the OCI distribution API and streamed into the analyzers (nothing is\n"
    "      written to disk); taken as a reference when no such file exists and it names\n"
    "      a tag, a digest or a host, or always with docker://. No host means Docker Hub\n"
    "      (\"alpine\" is docker.io/library/alpine), no tag means \"latest\"\n"
    "  --rootfs DIR       scan a root file system directory instead (e.g. a mounted host)\n"
    "\n"
    "  Pulling from a registry (HTTPS, peers verified against the system CAs):\n"
    "  --insecure-registry  talk plain HTTP to the registry (and its token service)\n"
    "  --registry-ca FILE PEM CA certificates to verify the registry's HTTPS (and its\n"
    "                     token service's) with, instead of the system's\n"
    "  --username USER    authenticate as USER, with the password read from the first line\n"
    "                     of standard input (--password-stdin) or IMGSEC_REGISTRY_PASSWORD\n"
    "  --password-stdin   read the password from standard input (never give it as a flag)\n"
    "  --authfile FILE    a Docker config.json whose \"auths\" entry for the host holds the\n"
    "                     credentials (default: $DOCKER_CONFIG/config.json, else\n"
    "                     ~/.docker/config.json; credential helpers are not read)\n"
    "                     Without --username: IMGSEC_REGISTRY_USERNAME and\n"
    "                     IMGSEC_REGISTRY_PASSWORD, else the config.json, else anonymous.\n"
    "                     The registry's challenge decides how they are sent: Basic, or to\n"
    "                     its Bearer token service for a token\n"
    "  Connection errors, 429 and 5xx answers are retried 4 times (after 0.25, 0.5, 1, 2 s)\n"
    "  until a layer's first byte has been read; a layer that breaks later fails the scan.\n"
    "\n"
    "  Picking the image:\n"
    "  --image NAME:TAG   the image of an archive or index that holds several (without\n"
    "                     it such an input is refused with the list of its images)\n"
    "  --platform P       os/arch[/variant] of a multi-platform index or manifest list\n"
    "                     (default linux/amd64)\n"
    "\n"
    "  What to run:\n"
    "  --analyzers A,B    only these analyzers (default: all); the analyzers are:\n"
    "                     %s\n"
    "  --rules DIR        YARA rule files (*.yar, *.yara) added to the built-in malware rules\n"
    "  --malware-hashes F SHA-256 block list (\"<hex> [name]\" per line) added to the built-in one\n"
    "  --policy FILE      the non-compliant-app policy (default: the built-in one)\n"
    "  --vulndb FILE      match the apps against this OSV database (imgsec vulndb) and\n"
    "                     store vulnerability records (default: $IMGSEC_VULNDB if set)\n"
    "\n"
    "  Where the result goes (default: store into --db):\n"
    "  --db FILE          the database file (default $IMGSEC_DB, else ./imgsec.db)\n"
    "  --server URL       post to a running imgsecd instead; authenticates with a token\n"
    "                     (IMGSEC_TOKEN, or --token-file FILE) or, without one, with an\n"
    "                     access key (IMGSEC_AK and IMGSEC_SK); --region R or IMGSEC_REGION\n"
    "  --project P        project of the image (required to store)\n"
    "  --ep EP            enterprise project (default 0)\n"
    "  --output FMT       table (default: summary on stdout, document stored),\n"
    "                     json (print the ingest document, store nothing),\n"
    "                     cyclonedx (print a CycloneDX 1.6 SBOM of the apps, store nothing),\n"
    "                     files (list the merged file system: mode, uid:gid, size, layer\n"
    "                     diff id, path [-> link]; store nothing)\n"
    "\n"
    "  Identity (default: from the image: RepoTags or the OCI ref name, the config digest\n"
    "  as image_id, the uncompressed layer bytes as image_size):\n"
    "  --name NAME[:TAG]  image name (and version) as stored\n"
    "  --namespace NS, --image-version V, --image-type T (default local_image)\n"
    "\n"
    "  --progress         show progress on stderr even when it is not a terminal\n"
    "\n"
    "  Exit status: 0 scanned and stored; 1 the scan or the store failed (an image that\n"
    "  was identified and then failed is stored with scan_status \"failed\" and no\n"
    "  findings; the reason is printed; a corrupt, truncated or mismatching archive,\n"
    "  and a pull that fails (unreachable, refused credentials, a connection lost\n"
    "  mid-layer), store nothing); 2 wrong usage.\n"
    "  See docs/scanning.md.\n";

typedef enum { OUT_TABLE, OUT_JSON, OUT_CYCLONEDX, OUT_FILES } out_fmt;

typedef struct {
    const char *db, *server, *token_file, *region, *project, *ep, *rootfs, *name;
    const char *authfile;
    out_fmt out;
    bool progress, password_stdin;
    scan_options opt;
    scan_identity id;
    char name_buf[512];
    int64_t started_ns, last_ns;
} scan_args;

static void usage(FILE *f)
{
    fprintf(f, USAGE, scan_analyzer_names());
}

/* ---- progress ---- */

static void show_progress(void *ctx, const char *phase, int64_t done, int64_t total)
{
    (void)total;
    scan_args *a = ctx;
    int64_t now = util_mono_ns();
    bool last = strcmp(phase, "done") == 0;
    if (!last && now - a->last_ns < 200000000)
        return;
    a->last_ns = now;
    double s = (double)(now - a->started_ns) / 1e9;
    double mb = (double)done / (1 << 20);
    fprintf(stderr, "%s%s: %.1f MiB read, %.1f MiB/s%s", cli_stderr_is_tty() ? "\r" : "", phase, mb,
            s > 0 ? mb / s : 0.0, cli_stderr_is_tty() && !last ? "   " : "\n");
    if (last && cli_stderr_is_tty())
        fputc('\n', stderr);
}

/* ---- summary ---- */

static const char *const SEV_KEY[REPORT_TYPE_COUNT] = {
    [REPORT_VULNERABILITY] = "severity", [REPORT_RISK_CONFIG] = "severity",
    [REPORT_SENSITIVE_INFO] = "severity", [REPORT_BUILD_COMMAND_RISKS] = "risk_level",
};

static void print_summary(const scan_result *res, const json_t *doc)
{
    const scan_info *in = scan_result_info(res);
    const json_t *img = json_object_get(doc, "image");
    printf("image      %s%s%s:%s (%s)\n", json_string_value(json_object_get(img, "namespace")) ?
                                             json_string_value(json_object_get(img, "namespace")) : "",
           json_object_get(img, "namespace") ? "/" : "",
           json_string_value(json_object_get(img, "image_name")),
           json_string_value(json_object_get(img, "image_version")) ?
               json_string_value(json_object_get(img, "image_version")) : "",
           in->format);
    if (in->config_digest)
        printf("image_id   %s\n", in->config_digest);
    printf("layers     %zu, %lld bytes (%lld stored), %lld entries\n", in->n_layers,
           (long long)in->layer_bytes, (long long)in->blob_bytes, (long long)in->entries);
    printf("\n%-20s %8s %8s %8s %8s %8s %8s\n", "report type", "critical", "high", "medium", "low",
           "unknown", "total");
    for (int t = 0; t < REPORT_TYPE_COUNT; t++) {
        const json_t *recs = scan_result_records(res, (report_type)t);
        int64_t by[SEVERITY_COUNT] = {0};
        size_t n = json_array_size(recs);
        for (size_t i = 0; SEV_KEY[t] && i < n; i++) {
            const char *sv = json_string_value(json_object_get(json_array_get(recs, i), SEV_KEY[t]));
            int s = sv ? severity_parse(sv) : -1;
            by[s < 0 ? SEVERITY_UNKNOWN : s]++;
        }
        if (t == REPORT_MALWARES)
            by[SEVERITY_HIGH] = (int64_t)n; /* data-model.md: every malware counts as high */
        printf("%-20s", report_type_name((report_type)t));
        for (int s = SEVERITY_CRITICAL; s >= SEVERITY_UNKNOWN; s--) {
            if (SEV_KEY[t] || t == REPORT_MALWARES)
                printf(" %8lld", (long long)by[s]);
            else
                printf(" %8s", "-");
        }
        printf(" %8zu\n", n);
    }
}

/* ---- CycloneDX ---- */

static json_t *cyclonedx(const scan_result *res, const json_t *doc)
{
    const json_t *img = json_object_get(doc, "image");
    char ts[UTIL_ISO_TIME_MAX], uuid[33];
    util_iso_time(util_now_ms(), ts);
    util_random_hex(uuid, 16);
    char serial[64];
    snprintf(serial, sizeof serial, "urn:uuid:%.8s-%.4s-4%.3s-a%.3s-%.12s", uuid, uuid + 8, uuid + 13,
             uuid + 17, uuid + 20);
    json_t *comps = json_array();
    const json_t *apps = scan_result_records(res, REPORT_APPS);
    for (size_t i = 0; i < json_array_size(apps); i++) {
        const json_t *a = json_array_get(apps, i);
        const char *purl = json_string_value(json_object_get(a, "purl"));
        char ref[32];
        snprintf(ref, sizeof ref, "app-%zu", i);
        json_t *c = json_pack("{s:s, s:s, s:O}", "type", "library", "bom-ref", ref, "name",
                              json_object_get(a, "app_name"));
        if (!c)
            continue;
        if (json_object_get(a, "app_version"))
            json_object_set(c, "version", json_object_get(a, "app_version"));
        if (purl)
            json_object_set_new(c, "purl", json_string(purl));
        const char *lic = json_string_value(json_object_get(a, "license"));
        if (lic)
            json_object_set_new(c, "licenses", json_pack("[{s:{s:s}}]", "license", "name", lic));
        json_t *props = json_array();
        static const char *const P[] = {"app_type", "app_path", "layer_digest"};
        for (size_t k = 0; k < 3; k++) {
            const char *v = json_string_value(json_object_get(a, P[k]));
            if (v) {
                char pn[64];
                snprintf(pn, sizeof pn, "imgsec:%s", P[k]);
                json_array_append_new(props, json_pack("{s:s, s:s}", "name", pn, "value", v));
            }
        }
        json_object_set_new(c, "properties", props);
        json_array_append_new(comps, c);
    }
    const char *ver = json_string_value(json_object_get(img, "image_version"));
    json_t *subject = json_pack("{s:s, s:s, s:O}", "type", "container", "bom-ref", "image", "name",
                                json_object_get(img, "image_name"));
    if (subject && ver)
        json_object_set_new(subject, "version", json_string(ver));
    const char *id = scan_result_info(res)->config_digest;
    if (subject && id)
        json_object_set_new(subject, "properties",
                            json_pack("[{s:s, s:s}]", "name", "imgsec:image_id", "value", id));
    return json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:{s:[{s:s, s:s, s:s}]}, s:o}, s:o}",
                     "bomFormat", "CycloneDX", "specVersion", "1.6", "serialNumber", serial,
                     "version", 1, "metadata", "timestamp", ts, "tools", "components", "type",
                     "application", "name", "imgsec", "version", "0.1.0", "component", subject,
                     "components", comps);
}

/* ---- storing ---- */

static int store_offline(const scan_args *a, json_t *docj)
{
    imgsec_doc doc;
    imgsec_err err = {0};
    if (doc_from_json(docj, "", &doc, &err) != IMGSEC_OK) {
        fprintf(stderr, "imgsec scan: the document is invalid (a bug): %s\n", err.msg);
        return CLI_FAIL;
    }
    store *st = cli_store_open(a->db);
    if (!st) {
        doc_free(&doc);
        return CLI_FAIL;
    }
    store_ingest_result r = {0};
    int rc = store_ingest(st, a->project, a->ep, &doc, 1, NULL, &r, NULL, NULL, &err);
    store_close(st);
    doc_free(&doc);
    if (rc != IMGSEC_OK) {
        fprintf(stderr, "imgsec scan: nothing stored: %s\n", err.msg);
        return CLI_FAIL;
    }
    fprintf(stderr, "stored image id %lld with %lld records into %s (project %s, EP %s)\n",
            (long long)r.id, (long long)r.records, a->db, a->project, a->ep);
    return CLI_OK;
}

typedef struct {
    const char *names[6];
    const char *values[6];
} hdr_list;

static const char *hdr_lookup(void *arg, const char *name)
{
    hdr_list *h = arg;
    for (int i = 0; i < 6 && h->names[i]; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

/* The Authorization header of an AK/SK-signed POST (auth.md), or NULL. */
static char *aksk_header(const char *ak, const char *sk, const char *url, const char *target,
                         const char *body, const char *region, char date[SIGN_DATE_LEN + 1])
{
    char host[256] = "";
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    snprintf(host, sizeof host, "%.*s", (int)strcspn(p, "/"), p);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, SIGN_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
    hdr_list h = {{"content-type", "host", "region", "x-sdk-date"},
                  {"application/json", host, region, date}};
    const char *list = "content-type;host;region;x-sdk-date";
    char auth[512];
    snprintf(auth, sizeof auth, "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%064d", ak,
             list, 0);
    sign_auth sa;
    imgsec_err err = {0};
    if (sign_parse_authorization(auth, strlen(auth), &sa, &err) != IMGSEC_OK)
        return NULL;
    sign_request r = {.method = "POST", .raw_target = target, .header = hdr_lookup, .header_arg = &h,
                      .body = (const unsigned char *)body, .body_len = strlen(body)};
    char sig[SIGN_SIGNATURE_HEX + 1];
    if (sign_compute(&r, &sa, date, sk, strlen(sk), sig, &err) != IMGSEC_OK)
        return NULL;
    util_buf b = {0};
    util_buf_printf(&b, "Authorization: SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s",
                    ak, list, sig);
    return b.failed ? (free(b.buf), NULL) : b.buf;
}

static char *read_token_file(const char *path)
{
    size_t len;
    char *t = util_read_file(path, &len);
    if (!t)
        return NULL;
    while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
        t[--len] = '\0';
    return t;
}

static int store_remote(const scan_args *a, json_t *docj)
{
    char *body = json_dumps(docj, JSON_COMPACT);
    char *token = a->token_file ? read_token_file(a->token_file) : NULL;
    const char *tok = token ? token : getenv("IMGSEC_TOKEN");
    const char *ak = getenv("IMGSEC_AK"), *sk = getenv("IMGSEC_SK");
    int out = CLI_FAIL;
    CURL *curl = NULL;
    struct curl_slist *h = NULL;
    util_buf target = {0}, url = {0};
    char *authz = NULL;
    cli_reply reply = {.max = 1024 * 1024};
    if (a->token_file && !token) {
        fprintf(stderr, "imgsec scan: --token-file %s: cannot read: %m\n", a->token_file);
        goto done;
    }
    if ((!tok || !*tok) && (!ak || !*ak || !sk || !*sk)) {
        fprintf(stderr, "imgsec scan: --server needs a token (IMGSEC_TOKEN or --token-file) or an "
                        "access key (IMGSEC_AK and IMGSEC_SK)\n");
        out = CLI_USAGE;
        goto done;
    }
    if (!a->region || !*a->region) {
        fprintf(stderr, "imgsec scan: --server needs --region (or IMGSEC_REGION)\n");
        out = CLI_USAGE;
        goto done;
    }
    if (!body || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(curl = curl_easy_init()))
        goto done;
    char *ep = curl_easy_escape(curl, a->ep, 0);
    util_buf_printf(&target, "/v5/%s/image/scan-results?enterprise_project_id=%s", a->project,
                    ep ? ep : "");
    curl_free(ep);
    util_buf_printf(&url, "%s%s", a->server, target.buf ? target.buf : "");
    if (target.failed || url.failed)
        goto done;
    char date[SIGN_DATE_LEN + 1], xdate[64];
    if (tok && *tok) {
        h = cli_auth_headers(h, tok, a->region);
    } else {
        if (!(authz = aksk_header(ak, sk, a->server, target.buf, body, a->region, date))) {
            fprintf(stderr, "imgsec scan: cannot sign the request with IMGSEC_AK/IMGSEC_SK\n");
            goto done;
        }
        snprintf(xdate, sizeof xdate, "X-Sdk-Date: %s", date);
        char reg[300];
        snprintf(reg, sizeof reg, "region: %s", a->region);
        h = curl_slist_append(h, authz);
        h = curl_slist_append(h, xdate);
        h = curl_slist_append(h, reg);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url.buf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_reply_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char why_buf[64];
    const char *why = cli_reply_error(&reply, why_buf, sizeof why_buf);
    if (cc != CURLE_OK)
        fprintf(stderr, "imgsec scan: %s: %s\n", a->server, why ? why : curl_easy_strerror(cc));
    else if (status != 200)
        fprintf(stderr, "imgsec scan: server answered %ld: %s (nothing stored)\n", status,
                cli_reply_text(&reply));
    else {
        fprintf(stderr, "stored via %s (project %s, EP %s): %s\n", a->server, a->project, a->ep,
                cli_reply_text(&reply));
        out = CLI_OK;
    }
done:
    if (curl) {
        curl_easy_cleanup(curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(h);
    free(authz);
    free(target.buf);
    free(url.buf);
    free(reply.body.buf);
    free(body);
    free(token);
    return out;
}

/* ---- registry references and credentials ---- */

/* Is input a registry reference rather than a file? "docker://..." always
 * (*ref past the prefix); else when no such file exists, it does not start
 * with "/", "./" or "../", and it names a tag, a digest or a host (a
 * mistyped file name such as "app.tar" stays a file). */
static bool registry_input(const char *input, const char **ref)
{
    *ref = input;
    if (strncmp(input, "docker://", 9) == 0) {
        *ref = input + 9;
        return true;
    }
    if (access(input, F_OK) == 0 || input[0] == '/' || strncmp(input, "./", 2) == 0 ||
        strncmp(input, "../", 3) == 0)
        return false; /* a path, even a missing one */
    const char *slash = strchr(input, '/');
    const char *last = strrchr(input, '/');
    bool host = slash && (memchr(input, '.', (size_t)(slash - input)) ||
                          memchr(input, ':', (size_t)(slash - input)) ||
                          ((size_t)(slash - input) == 9 && strncmp(input, "localhost", 9) == 0));
    return host || strchr(input, '@') || strchr(last ? last : input, ':');
}

/* The password: the first line of standard input, without its newline. */
static char *read_password_stdin(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* Fills the credentials of a.opt: --username with --password-stdin or
 * IMGSEC_REGISTRY_PASSWORD; else IMGSEC_REGISTRY_USERNAME/PASSWORD; else
 * the config.json (--authfile, $DOCKER_CONFIG, ~/.docker). *pw gets what
 * to free. */
static int registry_credentials(scan_args *a, char **pw, char *authfile, size_t size)
{
    *pw = NULL;
    const char *env_user = getenv("IMGSEC_REGISTRY_USERNAME");
    const char *env_pw = getenv("IMGSEC_REGISTRY_PASSWORD");
    if (a->password_stdin && !a->opt.registry_username) {
        fprintf(stderr, "imgsec scan: --password-stdin needs --username\n");
        return CLI_USAGE;
    }
    if (a->opt.registry_username) {
        if (a->password_stdin) {
            if (!(*pw = read_password_stdin())) {
                fprintf(stderr, "imgsec scan: --password-stdin: no password on standard input\n");
                return CLI_USAGE;
            }
            a->opt.registry_password = *pw;
        } else if (env_pw) {
            a->opt.registry_password = env_pw;
        } else {
            fprintf(stderr, "imgsec scan: --username needs --password-stdin or IMGSEC_REGISTRY_PASSWORD\n");
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    if (env_user && *env_user) {
        a->opt.registry_username = env_user;
        a->opt.registry_password = env_pw ? env_pw : "";
        return CLI_OK;
    }
    const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
    if (a->authfile)
        snprintf(authfile, size, "%s", a->authfile);
    else if (dc && *dc)
        snprintf(authfile, size, "%s/config.json", dc);
    else if (home && *home)
        snprintf(authfile, size, "%s/.docker/config.json", home);
    else
        return CLI_OK;
    a->opt.registry_auth_file = authfile;
    return CLI_OK;
}

/* ---- the command ---- */

static void list_entry(void *ctx, const scan_entry *e)
{
    (void)ctx;
    printf("%07o %lld:%lld %lld %.19s %s%s%s\n", (unsigned)e->mode, (long long)e->uid,
           (long long)e->gid, (long long)e->size, *e->layer ? e->layer : "-", e->path,
           e->link_target ? " -> " : "", e->link_target ? e->link_target : "");
}

static int print_json(json_t *j)
{
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2)) != 0)
        return CLI_FAIL;
    fputc('\n', stdout);
    return CLI_OK;
}

int cmd_scan(int argc, char **argv)
{
    enum { O_ROOTFS = 256, O_IMAGE, O_PLATFORM, O_ANALYZERS, O_RULES, O_HASHES, O_POLICY, O_VULNDB, O_DB,
           O_SERVER, O_TOKEN_FILE, O_REGION, O_PROJECT, O_EP, O_OUTPUT, O_NAME, O_NS, O_VERSION,
           O_TYPE, O_PROGRESS, O_INSECURE, O_USERNAME, O_PASSWORD_STDIN, O_AUTHFILE, O_REGISTRY_CA };
    static const struct option opts[] = {
        {"rootfs", required_argument, NULL, O_ROOTFS},       {"image", required_argument, NULL, O_IMAGE},
        {"platform", required_argument, NULL, O_PLATFORM},   {"analyzers", required_argument, NULL, O_ANALYZERS},
        {"rules", required_argument, NULL, O_RULES},         {"malware-hashes", required_argument, NULL, O_HASHES},
        {"policy", required_argument, NULL, O_POLICY},       {"db", required_argument, NULL, O_DB},
        {"vulndb", required_argument, NULL, O_VULNDB},
        {"server", required_argument, NULL, O_SERVER},       {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {"region", required_argument, NULL, O_REGION},       {"project", required_argument, NULL, O_PROJECT},
        {"ep", required_argument, NULL, O_EP},               {"output", required_argument, NULL, O_OUTPUT},
        {"name", required_argument, NULL, O_NAME},           {"namespace", required_argument, NULL, O_NS},
        {"image-version", required_argument, NULL, O_VERSION}, {"image-type", required_argument, NULL, O_TYPE},
        {"progress", no_argument, NULL, O_PROGRESS},         {"help", no_argument, NULL, 'h'},
        {"insecure-registry", no_argument, NULL, O_INSECURE}, {"username", required_argument, NULL, O_USERNAME},
        {"password-stdin", no_argument, NULL, O_PASSWORD_STDIN}, {"authfile", required_argument, NULL, O_AUTHFILE},
        {"registry-ca", required_argument, NULL, O_REGISTRY_CA},
        {NULL, 0, NULL, 0},
    };
    scan_args a = {.db = cli_default_db(), .ep = MODEL_DEFAULT_EP, .region = getenv("IMGSEC_REGION")};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_ROOTFS: a.rootfs = optarg; break;
        case O_IMAGE: a.opt.image = optarg; break;
        case O_PLATFORM: a.opt.platform = optarg; break;
        case O_ANALYZERS: a.opt.analyzers = optarg; break;
        case O_RULES: a.opt.rules_dir = optarg; break;
        case O_HASHES: a.opt.hash_list = optarg; break;
        case O_POLICY: a.opt.policy_file = optarg; break;
        case O_VULNDB: a.opt.vulndb = optarg; break;
        case O_DB: a.db = optarg; break;
        case O_SERVER: a.server = optarg; break;
        case O_TOKEN_FILE: a.token_file = optarg; break;
        case O_REGION: a.region = optarg; break;
        case O_PROJECT: a.project = optarg; break;
        case O_EP: a.ep = optarg; break;
        case O_NAME: a.name = optarg; break;
        case O_NS: a.id.namespace_ = optarg; break;
        case O_VERSION: a.id.image_version = optarg; break;
        case O_TYPE: a.id.image_type = optarg; break;
        case O_PROGRESS: a.progress = true; break;
        case O_INSECURE: a.opt.insecure_registry = true; break;
        case O_USERNAME: a.opt.registry_username = optarg; break;
        case O_PASSWORD_STDIN: a.password_stdin = true; break;
        case O_AUTHFILE: a.authfile = optarg; break;
        case O_REGISTRY_CA: a.opt.registry_ca_file = optarg; break;
        case O_OUTPUT:
            if (strcmp(optarg, "table") == 0)
                a.out = OUT_TABLE;
            else if (strcmp(optarg, "json") == 0)
                a.out = OUT_JSON;
            else if (strcmp(optarg, "cyclonedx") == 0)
                a.out = OUT_CYCLONEDX;
            else if (strcmp(optarg, "files") == 0)
                a.out = OUT_FILES;
            else {
                fprintf(stderr, "imgsec scan: --output must be one of table, json, cyclonedx, files\n");
                return CLI_USAGE;
            }
            break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    int npos = argc - optind;
    if ((a.rootfs && npos != 0) || (!a.rootfs && npos != 1)) {
        fprintf(stderr, "imgsec scan: give one IMAGE, or --rootfs DIR\n");
        usage(stderr);
        return CLI_USAGE;
    }
    if (a.out == OUT_TABLE && (!a.project || !model_scope_id_valid(a.project) || !model_scope_id_valid(a.ep))) {
        fprintf(stderr, "imgsec scan: storing needs --project (and --ep) of 1-64 characters of "
                        "A-Za-z0-9_- (or use --output json)\n");
        return CLI_USAGE;
    }
    if (a.id.image_type && image_type_parse(a.id.image_type) < 0) {
        fprintf(stderr, "imgsec scan: --image-type must be one of %s\n", image_type_choices());
        return CLI_USAGE;
    }
    if (a.name) {
        /* NAME[:TAG]: a colon after the last slash starts the tag */
        snprintf(a.name_buf, sizeof a.name_buf, "%s", a.name);
        char *slash = strrchr(a.name_buf, '/');
        char *colon = strrchr(slash ? slash : a.name_buf, ':');
        if (colon) {
            *colon = '\0';
            if (!a.id.image_version)
                a.id.image_version = colon + 1;
        }
        a.id.image_name = a.name_buf;
    }
    if (a.out == OUT_FILES)
        a.opt.observe = list_entry;
    if (a.progress || cli_stderr_is_tty()) {
        a.opt.progress = show_progress;
        a.opt.progress_ctx = &a;
    }
    a.started_ns = a.last_ns = util_mono_ns();
    const char *input = a.rootfs ? a.rootfs : argv[optind];
    scan_input_kind kind = a.rootfs ? SCAN_INPUT_ROOTFS : SCAN_INPUT_AUTO;
    char *password = NULL, authfile[4096];
    if (!a.rootfs && registry_input(input, &input)) {
        kind = SCAN_INPUT_REGISTRY;
        int cr = registry_credentials(&a, &password, authfile, sizeof authfile);
        if (cr != CLI_OK)
            return cr;
    } else if (a.opt.registry_username || a.password_stdin || a.opt.insecure_registry ||
               a.opt.registry_ca_file) {
        fprintf(stderr, "imgsec scan: --username, --password-stdin, --insecure-registry and "
                        "--registry-ca are for an image in a registry, not %s\n", input);
        return CLI_USAGE;
    }
    scan_result *res = NULL;
    imgsec_err err = {0};
    int rc = scan_run(input, kind, &a.opt, &res, &err);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
        a.opt.registry_password = NULL;
    }
    if (rc != IMGSEC_OK && !res) {
        bool named = strncmp(err.msg, input, strlen(input)) == 0;
        fprintf(stderr, "imgsec scan: %s%s%s (nothing stored)\n", named ? "" : input,
                named ? "" : ": ", err.msg);
        return CLI_FAIL;
    }
    size_t dropped = 0;
    const json_t *warns = scan_result_warnings(res, &dropped);
    for (size_t i = 0; i < json_array_size(warns); i++)
        fprintf(stderr, "warning: %s\n", json_string_value(json_array_get(warns, i)));
    if (dropped)
        fprintf(stderr, "warning: %zu more warnings not shown\n", dropped);
    if (rc != IMGSEC_OK)
        fprintf(stderr, "imgsec scan: %s: scan failed: %s\n", input, err.msg);
    json_t *doc = scan_result_document(res, &a.id);
    int out;
    if (!doc) {
        fprintf(stderr, "imgsec scan: out of memory\n");
        out = CLI_FAIL;
    } else if (a.out == OUT_FILES) {
        out = CLI_OK;
    } else if (a.out == OUT_JSON) {
        out = print_json(doc);
    } else if (a.out == OUT_CYCLONEDX) {
        json_t *bom = cyclonedx(res, doc);
        out = print_json(bom);
        json_decref(bom);
    } else {
        print_summary(res, doc);
        out = a.server ? store_remote(&a, doc) : store_offline(&a, doc);
        if (rc != IMGSEC_OK && out == CLI_OK)
            fprintf(stderr, "the image was stored with scan_status \"failed\" and no findings\n");
    }
    json_decref(doc);
    scan_result_destroy(res);
    return rc != IMGSEC_OK ? CLI_FAIL : out;
}
