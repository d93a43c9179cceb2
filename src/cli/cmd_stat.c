/* cmd_stat.c - imgsec stat: the statistic (statistic.md) from the command
 * line, with the numbers the API gives.
 *
 * Offline (--db): the index is built from the file (follow.h) and the body
 * is counted by index_count, the server's own code path. Against a server
 * (--server URL): POST .../image/security-report/statistic with a token
 * from --token, $IMGSEC_TOKEN or --token-file. One report type per row:
 * --type takes one type, a comma list, or `all` (the eight).
 * Output: a table (default), --output json ({"type": total, ...}) or csv. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"

static const char USAGE[] =
    "usage: imgsec stat --type T[,T...|all] --project P [--ep EP | --all-eps]\n"
    "                   [--body JSON | --body-file FILE] [--output table|json|csv]\n"
    "                   [--db DB | --server URL [--token T | --token-file F] [--region R]]\n"
    "  --type       report types: vulnerability risk-config malwares apps files\n"
    "               sensitive-info non-compliant-app build-command-risks, or all\n"
    "  --body       the statistic body (default {\"operate_all\": true})\n"
    "  --server URL ask a running imgsecd (token: --token, $IMGSEC_TOKEN or --token-file)\n";

typedef struct {
    const char *db, *server, *token, *region, *project, *ep;
    bool all_eps;
    int types[REPORT_TYPE_COUNT];
    size_t n_types;
    int64_t totals[REPORT_TYPE_COUNT];
} stat_args;

static int count_offline(stat_args *a, const json_t *body)
{
    imgsec_err err = {0};
    index_scope scope = {.project_id = a->project, .all_eps = a->all_eps};
    if (!a->all_eps) {
        scope.eps = &a->ep;
        scope.n_eps = 1;
    }
    imgsec_index *ix = index_new();
    follower *f = NULL;
    int rc = ix ? follower_open(a->db, ix, &f, &err)
                : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    for (size_t i = 0; rc == IMGSEC_OK && i < a->n_types; i++) {
        stat_query q;
        rc = filter_from_json(body, &q, &err);
        if (rc != IMGSEC_OK)
            break;
        q.report = (report_type)a->types[i];
        rc = index_count(ix, &scope, &q, &a->totals[i], &err);
        filter_free(&q);
    }
    follower_close(f);
    index_free(ix);
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(&err);
}

static int count_remote(stat_args *a, const char *body)
{
    CURL *c = curl_easy_init();
    if (!c)
        return CLI_FAIL;
    struct curl_slist *h = cli_auth_headers(NULL, a->token, a->region);
    h = curl_slist_append(h, "Content-Type: application/json");
    int out = CLI_OK;
    for (size_t i = 0; out == CLI_OK && i < a->n_types; i++) {
        char url[2048];
        snprintf(url, sizeof url,
                 "%s/v5/%s/image/security-report/statistic?security_report_type=%s&"
                 "enterprise_project_id=%s",
                 a->server, a->project, report_type_name((report_type)a->types[i]),
                 a->all_eps ? "all_granted_eps" : a->ep);
        cli_reply m = {.max = 1u << 20};
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli_reply_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
        long status = 0;
        CURLcode cr = curl_easy_perform(c);
        if (cr == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        json_t *j = status == 200 ? json_loads(cli_reply_text(&m), 0, NULL) : NULL;
        json_t *t = j ? json_object_get(j, "total_num") : NULL;
        if (json_is_integer(t)) {
            a->totals[i] = (int64_t)json_integer_value(t);
        } else {
            fprintf(stderr, "imgsec stat: %s answered %ld: %s\n", url, status,
                    cr == CURLE_OK ? cli_reply_text(&m) : curl_easy_strerror(cr));
            out = CLI_FAIL;
        }
        json_decref(j);
        free(m.body.buf);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return out;
}

static bool parse_types(stat_args *a, const char *list)
{
    if (strcmp(list, "all") == 0) {
        for (int t = 0; t < REPORT_TYPE_COUNT; t++)
            a->types[a->n_types++] = t;
        return true;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int t = report_type_parse(tok);
        if (t < 0 || a->n_types >= REPORT_TYPE_COUNT) {
            fprintf(stderr, "imgsec stat: --type: '%s' is not one of %s\n", tok,
                    report_type_choices());
            return false;
        }
        a->types[a->n_types++] = t;
    }
    return a->n_types > 0;
}

/* A token read from a file: its first line. */
static char *read_token_file(const char *path)
{
    size_t len = 0;
    char *t = util_read_file(path, &len);
    if (t)
        t[strcspn(t, "\r\n")] = '\0';
    return t;
}

static void print_result(const stat_args *a, const char *output)
{
    if (strcmp(output, "json") == 0) {
        json_t *o = json_object();
        for (size_t i = 0; i < a->n_types; i++)
            json_object_set_new(o, report_type_name((report_type)a->types[i]),
                                json_integer((json_int_t)a->totals[i]));
        char *s = json_dumps(o, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(o);
    } else if (strcmp(output, "csv") == 0) {
        puts("security_report_type,total_num");
        for (size_t i = 0; i < a->n_types; i++)
            printf("%s,%lld\n", report_type_name((report_type)a->types[i]),
                   (long long)a->totals[i]);
    } else {
        printf("%-22s %15s\n", "security_report_type", "total_num");
        for (size_t i = 0; i < a->n_types; i++)
            printf("%-22s %15lld\n", report_type_name((report_type)a->types[i]),
                   (long long)a->totals[i]);
    }
}

int cmd_stat(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},       {"server", required_argument, NULL, 'S'},
        {"token", required_argument, NULL, 'T'},    {"token-file", required_argument, NULL, 'F'},
        {"region", required_argument, NULL, 'r'},   {"project", required_argument, NULL, 'p'},
        {"ep", required_argument, NULL, 'e'},       {"all-eps", no_argument, NULL, 'A'},
        {"type", required_argument, NULL, 't'},     {"body", required_argument, NULL, 'b'},
        {"body-file", required_argument, NULL, 'B'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    stat_args a = {.db = cli_default_db(), .token = getenv("IMGSEC_TOKEN"),
                   .ep = MODEL_DEFAULT_EP};
    a.region = getenv("IMGSEC_REGION");
    if (!a.region || !*a.region)
        a.region = "local-1";
    const char *types = NULL, *body_text = NULL, *body_file = NULL, *output = "table",
               *token_file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.db = optarg; break;
        case 'S': a.server = optarg; break;
        case 'T': a.token = optarg; break;
        case 'F': token_file = optarg; break;
        case 'r': a.region = optarg; break;
        case 'p': a.project = optarg; break;
        case 'e': a.ep = optarg; break;
        case 'A': a.all_eps = true; break;
        case 't': types = optarg; break;
        case 'b': body_text = optarg; break;
        case 'B': body_file = optarg; break;
        case 'o': output = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (!types || !a.project || optind < argc) {
        fprintf(stderr, "imgsec stat: --type and --project are required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (strcmp(output, "table") != 0 && strcmp(output, "json") != 0 &&
        strcmp(output, "csv") != 0) {
        fprintf(stderr, "imgsec stat: --output must be table, json or csv\n");
        return CLI_USAGE;
    }
    if (!parse_types(&a, types))
        return CLI_USAGE;
    if (!model_scope_id_valid(a.project) || (!a.all_eps && !model_scope_id_valid(a.ep))) {
        fprintf(stderr, "imgsec stat: --project and --ep must be 1-64 characters of A-Za-z0-9_-\n");
        return CLI_USAGE;
    }
    char *file_token = token_file ? read_token_file(token_file) : NULL;
    if (token_file && !file_token) {
        fprintf(stderr, "imgsec stat: cannot read --token-file %s\n", token_file);
        return CLI_USAGE;
    }
    if (file_token)
        a.token = file_token;
    if (a.server && (!a.token || !*a.token)) {
        fprintf(stderr, "imgsec stat: --server needs --token, --token-file or IMGSEC_TOKEN\n");
        free(file_token);
        return CLI_USAGE;
    }
    json_error_t jerr;
    json_t *body = body_file ? json_load_file(body_file, 0, &jerr)
                   : body_text ? json_loads(body_text, 0, &jerr)
                               : json_pack("{s:b}", "operate_all", 1);
    if (!body || !json_is_object(body)) {
        fprintf(stderr, "imgsec stat: the body must be a JSON object%s%s\n", body ? "" : ": ",
                body ? "" : jerr.text);
        json_decref(body);
        free(file_token);
        return CLI_USAGE;
    }
    int out;
    if (a.server) {
        char *text = json_dumps(body, JSON_COMPACT);
        out = text ? count_remote(&a, text) : CLI_FAIL;
        free(text);
    } else {
        out = count_offline(&a, body);
    }
    if (out == CLI_OK)
        print_result(&a, output);
    json_decref(body);
    free(file_token);
    return out;
}
