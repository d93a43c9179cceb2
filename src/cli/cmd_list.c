/* cmd_list.c - imgsec list: the finding lists (imgsec/list.h), offline on
 * the database or from a running imgsecd (--server), with the same
 * parameters and the same numbers either way.
 *
 * Offline the command runs list_run on the file with the project's every
 * EP (or --eps); online it GETs the route with enterprise_project_id
 * all_granted_eps (or --ep). The token comes from IMGSEC_TOKEN or the
 * first line of --token-file, never from the command line (ps, history).
 * Output: a table (default), the response JSON, or CSV of the items;
 * nested values (CVE lists, risk details) as compact JSON in one cell.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "imgsec/list.h"

static const char USAGE[] =
    "usage: imgsec list WHAT [--image ID --image-type T] [--check NAME] [--vul ID] [--rule ID]\n"
    "                   [--param KEY=VALUE]... [--offset N] [--limit N] [--all]\n"
    "                   [--output table|json|csv] --project P\n"
    "                   [--db DB [--eps LIST] | --server URL [--ep EP] [--token-file F] [--region R]]\n"
    "  WHAT: vulnerabilities apps malwares files sensitive non-compliant risk-configs build-risks\n"
    "        (one image's with --image, else the project's), risk-config-rules (--check),\n"
    "        build-risk-images (--rule), general-vuls, vul-images (--vul), vul-cves (--vul),\n"
    "        or any list by its SDK operation name (e.g. ListGlobalImageApps)\n"
    "  --param KEY=VALUE  any query parameter of the route (docs/api.md), repeatable\n"
    "  --all       every page (200 items each) instead of one\n"
    "  --server    ask a running imgsecd (token: $IMGSEC_TOKEN or --token-file;\n"
    "              region: --region or $IMGSEC_REGION, else local-1)\n";

#define PARAMS_MAX 32

typedef struct {
    const char *key[PARAMS_MAX];
    const char *value[PARAMS_MAX];
    size_t n;
} param_list;

static bool params_set(param_list *p, const char *key, const char *value);

static const char *params_get(void *ctx, const char *name)
{
    const param_list *p = ctx;
    for (size_t i = p->n; i-- > 0;)
        if (strcmp(p->key[i], name) == 0)
            return p->value[i];
    return NULL;
}

static bool params_set(param_list *p, const char *key, const char *value)
{
    if (p->n >= PARAMS_MAX) {
        fprintf(stderr, "imgsec list: more than %d parameters\n", PARAMS_MAX);
        return false;
    }
    p->key[p->n] = key;
    p->value[p->n++] = value;
    return true;
}

/* Replaces key's value, or adds it. */
static bool params_put(param_list *p, const char *key, const char *value)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->key[i], key) == 0) {
            p->value[i] = value;
            return true;
        }
    return params_set(p, key, value);
}

typedef struct {
    const char *what, *db, *server, *token_file, *region, *project, *ep, *eps, *output;
    const char *image, *image_type, *check, *vul, *rule;
    bool all;
    param_list params;
    char offset_buf[24];
} list_args;

/* The list WHAT names, given the path arguments present. */
static const list_def *pick(const list_args *a)
{
    static const struct {
        const char *what;
        list_kind image, project;
    } ALIASES[] = {
        {"vulnerabilities", LIST_IMAGE_VULS, LIST_GLOBAL_VULS},
        {"apps", LIST_IMAGE_APPS, LIST_GLOBAL_APPS},
        {"malwares", LIST_IMAGE_MALWARE, LIST_GLOBAL_MALWARE},
        {"files", LIST_IMAGE_FILES, LIST_GLOBAL_FILES},
        {"sensitive", LIST_IMAGE_SENSITIVE, LIST_GLOBAL_SENSITIVE},
        {"non-compliant", LIST_IMAGE_NON_COMPLIANT, LIST_GLOBAL_APPS},
        {"risk-configs", LIST_IMAGE_RISK_CONFIGS, LIST_IMAGE_RISK_CONFIGS},
        {"build-risks", LIST_BUILD_RISKS, LIST_BUILD_RISKS},
    };
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(a->what, ALIASES[i].what) == 0)
            return list_def_get(a->image ? ALIASES[i].image : ALIASES[i].project);
    const list_def *d = list_def_by_cli_name(a->what);
    for (int k = 0; !d && k < LIST_KIND_COUNT; k++)
        if (strcmp(list_def_get((list_kind)k)->operation, a->what) == 0)
            d = list_def_get((list_kind)k);
    return d;
}

/* The {image_id}, {check_name} or {vul_id} of d's path, from the options. */
static const char *path_arg(const list_def *d, const list_args *a, const char **flag)
{
    if (strstr(d->path, "{image_id}"))
        return *flag = "--image", a->image;
    if (strstr(d->path, "{check_name}"))
        return *flag = "--check", a->check;
    if (strstr(d->path, "{vul_id}"))
        return *flag = "--vul", a->vul;
    return *flag = NULL, NULL;
}

/* ---- output ---- */

static void cell_text(const json_t *v, util_buf *b)
{
    if (json_is_string(v)) {
        util_buf_put(b, json_string_value(v), json_string_length(v));
    } else if (v) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(7));
        if (t)
            util_buf_put(b, t, strlen(t));
        free(t);
    }
    if (!b->buf)
        util_buf_put(b, "", 0);
}

/* The item keys, in order of first appearance. */
static json_t *columns(const json_t *items)
{
    json_t *cols = json_array(), *seen = json_object();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)it, k, v) {
            if (!json_object_get(seen, k)) {
                json_object_set_new(seen, k, json_true());
                json_array_append_new(cols, json_string(k));
            }
        }
    }
    json_decref(seen);
    return cols;
}

static void print_csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void print_items(const json_t *resp, const char *fmt)
{
    json_t *items = json_object_get(resp, "data_list");
    json_t *cols = columns(items);
    size_t nc = json_array_size(cols), ni = json_array_size(items);
    bool csv = strcmp(fmt, "csv") == 0;
    size_t *width = calloc(nc ? nc : 1, sizeof *width);
    char **cells = calloc((ni + 1) * (nc ? nc : 1), sizeof *cells);
    if (!width || !cells) {
        fprintf(stderr, "imgsec list: out of memory\n");
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        cells[c] = strdup(json_string_value(json_array_get(cols, c)));
        for (size_t r = 0; r < ni; r++) {
            util_buf b = {0};
            cell_text(json_object_get(json_array_get(items, r), json_string_value(json_array_get(cols, c))), &b);
            cells[(r + 1) * nc + c] = b.buf;
        }
    }
    for (size_t r = 0; r <= ni; r++)
        for (size_t c = 0; c < nc; c++) {
            size_t w = cells[r * nc + c] ? strlen(cells[r * nc + c]) : 0;
            if (w > 60)
                w = 60;
            if (w > width[c])
                width[c] = w;
        }
    if (!csv)
        printf("total_num: %lld\n", (long long)json_integer_value(json_object_get(resp, "total_num")));
    for (size_t r = 0; r <= ni; r++) {
        for (size_t c = 0; c < nc; c++) {
            const char *s = cells[r * nc + c] ? cells[r * nc + c] : "";
            if (csv) {
                if (c)
                    putchar(',');
                print_csv_field(s);
            } else {
                size_t len = strlen(s);
                printf("%s%.*s%s%*s", c ? "  " : "", (int)(len > 60 ? 57 : len), s,
                       len > 60 ? "..." : "", (int)(width[c] - (len > 60 ? 60 : len)), "");
            }
        }
        putchar('\n');
    }
done:
    for (size_t i = 0; cells && i < (ni + 1) * nc; i++)
        free(cells[i]);
    free(cells);
    free(width);
    json_decref(cols);
}

/* ---- one page, offline or online ---- */

static int page_offline(store *st, const list_def *d, const list_args *a, const char *arg,
                        json_t **out)
{
    cli_ep_list eps = {0};
    index_scope scope = {.project_id = a->project, .all_eps = true};
    if (a->eps) {
        if (!cli_parse_eps("list", "--eps", a->eps, CLI_EPS_MAX, &eps))
            return CLI_USAGE;
        scope.all_eps = false;
        scope.eps = eps.ids;
        scope.n_eps = eps.n;
    }
    list_params p = {params_get, (void *)&a->params};
    imgsec_err err = {0};
    if (list_run(st, d->kind, &scope, arg, &p, out, &err) != IMGSEC_OK)
        return cli_fail(&err);
    return CLI_OK;
}

static int page_online(CURL *c, const list_def *d, const list_args *a, const char *token,
                       const char *arg, json_t **out)
{
    util_buf url = {0};
    util_buf_printf(&url, "%s/v5/%s", a->server, a->project);
    const char *rest = d->path + strlen("/v5/{project_id}");
    const char *brace = strchr(rest, '{');
    if (brace) {
        char *e = curl_easy_escape(c, arg, 0);
        util_buf_printf(&url, "%.*s%s%s", (int)(brace - rest), rest, e ? e : "",
                        strchr(brace, '}') + 1);
        curl_free(e);
    } else {
        util_buf_printf(&url, "%s", rest);
    }
    util_buf_printf(&url, "?enterprise_project_id=%s", a->ep ? a->ep : "all_granted_eps");
    for (size_t i = 0; i < a->params.n; i++) {
        char *k = curl_easy_escape(c, a->params.key[i], 0), *v = curl_easy_escape(c, a->params.value[i], 0);
        util_buf_printf(&url, "&%s=%s", k ? k : "", v ? v : "");
        curl_free(k);
        curl_free(v);
    }
    if (url.failed) {
        free(url.buf);
        fprintf(stderr, "imgsec list: out of memory\n");
        return CLI_FAIL;
    }
    cli_reply m = {.max = 64u << 20};
    struct curl_slist *h = cli_auth_headers(NULL, token, a->region);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.buf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli_reply_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    char why_buf[64];
    const char *why = cli_reply_error(&m, why_buf, sizeof why_buf);
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    int rc = CLI_OK;
    if (cr != CURLE_OK) {
        fprintf(stderr, "imgsec list: %s: %s\n", a->server, why ? why : curl_easy_strerror(cr));
        rc = CLI_FAIL;
    } else if (status != 200) {
        fprintf(stderr, "imgsec list: the server answered %ld: %s\n", status, cli_reply_text(&m));
        rc = CLI_FAIL;
    } else if (!(*out = json_loads(cli_reply_text(&m), 0, NULL))) {
        fprintf(stderr, "imgsec list: the server's answer is not JSON\n");
        rc = CLI_FAIL;
    }
    free(m.body.buf);
    free(url.buf);
    return rc;
}

/* The token: IMGSEC_TOKEN, else the first line of --token-file. */
static bool read_token(const list_args *a, char *buf, size_t size)
{
    const char *env = getenv("IMGSEC_TOKEN");
    if (!a->token_file && env && *env) {
        snprintf(buf, size, "%s", env);
        return true;
    }
    if (!a->token_file)
        return false;
    FILE *f = fopen(a->token_file, "r");
    if (!f || !fgets(buf, (int)size, f)) {
        if (f)
            fclose(f);
        fprintf(stderr, "imgsec list: cannot read %s\n", a->token_file);
        return false;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return *buf != '\0';
}

static int run(list_args *a, const list_def *d, const char *arg)
{
    store *st = NULL;
    CURL *c = NULL;
    char token[4096] = "";
    if (a->server) {
        if (!read_token(a, token, sizeof token)) {
            fprintf(stderr, "imgsec list: --server needs $IMGSEC_TOKEN or --token-file\n");
            return CLI_USAGE;
        }
        if (!(c = curl_easy_init()))
            return CLI_FAIL;
    } else if (!(st = cli_store_open(a->db))) {
        return CLI_FAIL;
    }
    json_t *all = NULL;
    int rc = CLI_OK;
    const char *first = params_get(&a->params, "offset");
    long long offset = first ? atoll(first) : 0;
    for (;;) {
        json_t *page = NULL;
        rc = st ? page_offline(st, d, a, arg, &page) : page_online(c, d, a, token, arg, &page);
        if (rc != CLI_OK)
            break;
        size_t got = json_array_size(json_object_get(page, "data_list"));
        long long total = (long long)json_integer_value(json_object_get(page, "total_num"));
        if (!all) {
            all = page;
        } else {
            json_array_extend(json_object_get(all, "data_list"), json_object_get(page, "data_list"));
            json_decref(page);
        }
        offset += (long long)got;
        if (!a->all || got == 0 || offset >= total || offset > LIST_OFFSET_MAX)
            break;
        snprintf(a->offset_buf, sizeof a->offset_buf, "%lld", offset);
        if (!params_put(&a->params, "offset", a->offset_buf)) {
            rc = CLI_FAIL;
            break;
        }
    }
    if (rc == CLI_OK && all) {
        if (strcmp(a->output, "json") == 0) {
            char *t = json_dumps(all, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
            if (t)
                puts(t);
            free(t);
        } else {
            print_items(all, a->output);
        }
    }
    json_decref(all);
    if (c)
        curl_easy_cleanup(c);
    store_close(st);
    return rc;
}

int cmd_list(int argc, char **argv)
{
    list_args a = {.db = cli_default_db(), .output = "table"};
    a.region = getenv("IMGSEC_REGION");
    if (!a.region || !*a.region)
        a.region = "local-1";
    static const struct option OPTS[] = {
        {"db", required_argument, NULL, 'd'},         {"server", required_argument, NULL, 's'},
        {"token-file", required_argument, NULL, 'F'}, {"region", required_argument, NULL, 'r'},
        {"project", required_argument, NULL, 'p'},    {"ep", required_argument, NULL, 'e'},
        {"eps", required_argument, NULL, 'E'},        {"output", required_argument, NULL, 'o'},
        {"image", required_argument, NULL, 'i'},      {"image-type", required_argument, NULL, 't'},
        {"check", required_argument, NULL, 'c'},      {"vul", required_argument, NULL, 'v'},
        {"rule", required_argument, NULL, 'R'},       {"param", required_argument, NULL, 'P'},
        {"offset", required_argument, NULL, 'O'},     {"limit", required_argument, NULL, 'L'},
        {"all", no_argument, NULL, 'A'},              {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", OPTS, NULL)) != -1) {
        switch (ch) {
        case 'd': a.db = optarg; break;
        case 's': a.server = optarg; break;
        case 'F': a.token_file = optarg; break;
        case 'r': a.region = optarg; break;
        case 'p': a.project = optarg; break;
        case 'e': a.ep = optarg; break;
        case 'E': a.eps = optarg; break;
        case 'o': a.output = optarg; break;
        case 'i': a.image = optarg; break;
        case 't': a.image_type = optarg; break;
        case 'c': a.check = optarg; break;
        case 'v': a.vul = optarg; break;
        case 'R': a.rule = optarg; break;
        case 'A': a.all = true; break;
        case 'O':
        case 'L':
            if (!params_put(&a.params, ch == 'O' ? "offset" : "limit", optarg))
                return CLI_USAGE;
            break;
        case 'P': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "imgsec list: --param needs KEY=VALUE\n");
                return CLI_USAGE;
            }
            *eq = '\0';
            if (!params_set(&a.params, optarg, eq + 1))
                return CLI_USAGE;
            break;
        }
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(USAGE, stderr);
        return CLI_USAGE;
    }
    a.what = argv[optind];
    if (!cli_need("list", USAGE, a.project, "--project"))
        return CLI_USAGE;
    if (strcmp(a.output, "table") != 0 && strcmp(a.output, "json") != 0 &&
        strcmp(a.output, "csv") != 0) {
        fprintf(stderr, "imgsec list: --output must be table, json or csv\n");
        return CLI_USAGE;
    }
    if (a.server && a.eps) {
        fprintf(stderr, "imgsec list: --eps is for --db; with --server give --ep\n");
        return CLI_USAGE;
    }
    const list_def *d = pick(&a);
    if (!d) {
        fprintf(stderr, "imgsec list: unknown list '%s'\n%s", a.what, USAGE);
        return CLI_USAGE;
    }
    const char *flag, *arg = path_arg(d, &a, &flag);
    if (flag && !arg) {
        fprintf(stderr, "imgsec list: %s needs %s\n", a.what, flag);
        return CLI_USAGE;
    }
    if (a.image_type && !params_set(&a.params, "image_type", a.image_type))
        return CLI_USAGE;
    if (a.image && !strstr(d->path, "{image_id}") && !params_set(&a.params, "image_id", a.image))
        return CLI_USAGE;
    if (a.rule && !params_set(&a.params, "rule_id", a.rule))
        return CLI_USAGE;
    if (a.vul && !strstr(d->path, "{vul_id}") && !params_set(&a.params, "vul_id", a.vul))
        return CLI_USAGE;
    if (strcmp(a.what, "non-compliant") == 0 && !a.image &&
        !params_set(&a.params, "is_compliant", "false"))
        return CLI_USAGE;
    if (a.all && !params_get(&a.params, "limit") && !params_set(&a.params, "limit", "200"))
        return CLI_USAGE;
    return run(&a, d, arg);
}
