/* cmd_export.c - imgsec export: write a report to an XLSX or CSV file.
 *
 * Offline (--db): builds the query index in-process with follower_open
 * and runs the very code of the server's export tasks (export.h), so the
 * file holds exactly what the statistic would count, from one snapshot,
 * even while a server or another import writes the file.
 *
 * Against a server (--server URL): creates an export task over HTTP,
 * polls its status with a progress bar, then downloads the file. The
 * token comes from --token-file, --token or IMGSEC_TOKEN (cli_token_resolve).
 *
 * Either way the file appears under its name only when complete (written
 * as FILE.part, then renamed).
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
#include "imgsec/export.h"
#include "imgsec/filter.h"
#include "imgsec/follow.h"
#include "imgsec/index.h"
#include "imgsec/util.h"

#define EXPORT_EPS_MAX 64
#define POLL_MS 250
#define HTTP_TIMEOUT_S 60

static const char USAGE[] =
    "usage: imgsec export --type T --project P [--ep EP | --all-eps] [--body JSON | --body-file F]\n"
    "                     [--format xlsx|csv] [--export-size N] -o FILE\n"
    "                     [--db DB | --server URL [--token-file F | --token T] [--region R]]\n"
    "  Writes the records of report type T (one of the statistic's security_report_type\n"
    "  values) over the images the statistic body selects (default {\"operate_all\": true})\n"
    "  into FILE: at most N records (default 10000000), as xlsx (default) or csv.\n"
    "  --ep EP     enterprise project (default 0); --eps A,B,... several; --all-eps all of them\n"
    "  --db DB     work on the database file directly (default $IMGSEC_DB, else ./imgsec.db)\n"
    "  --server URL  ask a running imgsecd instead (token: the first line of\n"
    "              --token-file F, or $IMGSEC_TOKEN; --token T works too but every user\n"
    "              of the machine sees it in ps; region: --region or $IMGSEC_REGION,\n"
    "              else local-1)\n";

typedef struct {
    const char *db, *server, *token, *region, *project, *ep, *eps, *type, *body, *body_file, *out;
    cli_ep_list eps_list; /* --eps, split and checked (when eps is set) */
    bool all_eps;
    export_format fmt;
    int64_t size;
} export_args;

/* ---- progress ---- */

typedef struct {
    int64_t last_ns;
    int last_tenth;
} bar;

/* done of total, in records (offline) or percent (from a server's status) */
static void bar_show(bar *b, int64_t done, int64_t total, bool final, const char *unit)
{
    int pct = total > 0 ? (int)(done * 100 / total) : 100;
    if (cli_stderr_is_tty()) {
        int64_t now = util_mono_ns();
        if (!final && now - b->last_ns < 100000000)
            return;
        b->last_ns = now;
        char cells[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            cells[i] = i < fill ? '#' : '.';
        cells[30] = '\0';
        fprintf(stderr, "\r[%s] %3d%% %lld/%lld %s", cells, pct, (long long)done,
                (long long)total, unit);
        if (final)
            fputc('\n', stderr);
    } else if (pct / 10 > b->last_tenth || final) {
        b->last_tenth = pct / 10;
        fprintf(stderr, "export: %lld/%lld %s (%d%%)\n", (long long)done, (long long)total, unit,
                pct);
    }
}

static int on_progress(int64_t written, int64_t total, void *arg)
{
    bar_show(arg, written, total, written == total, "records");
    return 0;
}

/* ---- offline ---- */

static int export_offline(const export_args *a, json_t *body)
{
    imgsec_err err = {0};
    stat_query q;
    if (filter_from_json(body, &q, &err) != IMGSEC_OK)
        return cli_fail(&err);
    q.report = (report_type)report_type_parse(a->type);

    index_scope scope = {.project_id = a->project, .all_eps = a->all_eps};
    if (!a->all_eps && a->eps) {
        scope.eps = a->eps_list.ids;
        scope.n_eps = a->eps_list.n;
    } else if (!a->all_eps) {
        scope.eps = &a->ep;
        scope.n_eps = 1;
    }

    imgsec_index *ix = index_new();
    follower *f = NULL;
    export_snapshot *snap = NULL;
    int rc = ix ? follower_open(a->db, ix, &f, &err)
                : err_set(&err, IMGSEC_EINTERNAL, "out of memory");
    if (rc == IMGSEC_OK)
        rc = export_snapshot_take(f, ix, a->db, &scope, &q, &snap, &err);
    filter_free(&q);
    char part[4096];
    int64_t written = 0;
    if (rc == IMGSEC_OK && snprintf(part, sizeof part, "%s.part", a->out) >= (int)sizeof part)
        rc = err_set(&err, IMGSEC_EINVAL, "-o: path too long");
    if (rc == IMGSEC_OK) {
        int64_t n = export_snapshot_total(snap);
        fprintf(stderr, "export: %lld %s records match; writing %lld to %s\n", (long long)n,
                a->type, (long long)(n < a->size ? n : a->size), a->out);
        unlink(part);
        bar b = {0, -1};
        export_writer_options opt = {.zip64 = a->size > 1000000 && n > 1000000};
        rc = export_snapshot_write(snap, a->fmt, a->size, part, &opt, on_progress, &b, &written,
                                   &err);
        if (rc == IMGSEC_OK && rename(part, a->out) != 0) {
            rc = err_set(&err, IMGSEC_EINTERNAL, "cannot rename %s to %s: %m", part, a->out);
            unlink(part);
        }
    }
    export_snapshot_free(snap);
    follower_close(f);
    index_free(ix);
    if (rc != IMGSEC_OK)
        return cli_fail(&err);
    fprintf(stderr, "export: wrote %lld records to %s\n", (long long)written, a->out);
    return CLI_OK;
}

/* ---- against a server ---- */

/* One request; *json gets the parsed body (or NULL). Returns the status, 0 on transport error. */
static long http_json(CURL *c, const export_args *a, const char *method, const char *url,
                      const char *body, json_t **json)
{
    cli_reply m = {.max = 16u << 20};
    struct curl_slist *h = cli_auth_headers(NULL, a->token, a->region);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)HTTP_TIMEOUT_S);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cli_reply_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    long status = 0;
    CURLcode cr = curl_easy_perform(c);
    char why_buf[64];
    const char *why = cli_reply_error(&m, why_buf, sizeof why_buf);
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "imgsec export: %s: %s\n", url, why ? why : curl_easy_strerror(cr));
    curl_slist_free_all(h);
    *json = status ? json_loads(cli_reply_text(&m), 0, NULL) : NULL;
    if (status != 200 && status != 0)
        fprintf(stderr, "imgsec export: %s answered %ld: %s\n", method, status,
                cli_reply_text(&m));
    free(m.body.buf);
    return status;
}

static int download(CURL *c, const export_args *a, const char *url, const char *part)
{
    FILE *out = fopen(part, "wb");
    if (!out) {
        fprintf(stderr, "imgsec export: cannot create %s: %m\n", part);
        return CLI_FAIL;
    }
    struct curl_slist *h = cli_auth_headers(NULL, a->token, a->region);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out); /* default write function: fwrite */
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    CURLcode cr = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (fclose(out) != 0 || cr != CURLE_OK) {
        fprintf(stderr, "imgsec export: download failed: %s\n", curl_easy_strerror(cr));
        unlink(part);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int export_remote(const export_args *a, json_t *body)
{
    if (!a->token || !*a->token) {
        fprintf(stderr, "imgsec export: --server needs --token-file, IMGSEC_TOKEN or --token\n");
        return CLI_USAGE;
    }
    char ep_q[128];
    snprintf(ep_q, sizeof ep_q, "enterprise_project_id=%s",
             a->all_eps ? "all_granted_eps" : a->ep);
    json_object_set_new(body, "security_report_type", json_string(a->type));
    json_object_set_new(body, "export_size", json_integer(a->size));
    json_object_set_new(body, "file_format", json_string(export_format_name(a->fmt)));
    char *text = json_dumps(body, JSON_COMPACT);
    CURL *c = curl_easy_init();
    char url[8192];
    json_t *j = NULL;
    int out = CLI_FAIL;
    if (!text || !c)
        goto done;
    snprintf(url, sizeof url, "%s/v5/%s/image/security-report/export-tasks?%s", a->server,
             a->project, ep_q);
    if (http_json(c, a, "POST", url, text, &j) != 200 || !json_is_string(json_object_get(j, "task_id")))
        goto done;
    char task_id[128];
    snprintf(task_id, sizeof task_id, "%s", json_string_value(json_object_get(j, "task_id")));
    json_decref(j);
    j = NULL;
    fprintf(stderr, "export: task %s created\n", task_id);
    snprintf(url, sizeof url, "%s/v5/%s/export-task/%s?%s", a->server, a->project, task_id, ep_q);
    bar b = {0, -1};
    char file_id[128] = "";
    for (;;) {
        if (http_json(c, a, "GET", url, NULL, &j) != 200)
            goto done;
        const char *status = json_string_value(json_object_get(j, "task_status"));
        json_int_t done_n = json_integer_value(json_object_get(j, "record_num"));
        json_int_t pct = json_integer_value(json_object_get(j, "progress"));
        if (status && strcmp(status, "success") == 0) {
            snprintf(file_id, sizeof file_id, "%s", json_string_value(json_object_get(j, "file_id")));
            bar_show(&b, 100, 100, true, "percent");
            fprintf(stderr, "export: %lld records written by the server\n", (long long)done_n);
            break;
        }
        if (!status || strcmp(status, "running") != 0) {
            const char *why = json_string_value(json_object_get(j, "failure_reason"));
            fprintf(stderr, "imgsec export: the task failed: %s\n", why ? why : "(no reason)");
            goto done;
        }
        bar_show(&b, pct, 100, false, "percent");
        json_decref(j);
        j = NULL;
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    char part[4096];
    if (snprintf(part, sizeof part, "%s.part", a->out) >= (int)sizeof part)
        goto done;
    snprintf(url, sizeof url, "%s/v5/%s/download/%s?%s", a->server, a->project, file_id, ep_q);
    if ((out = download(c, a, url, part)) == CLI_OK && rename(part, a->out) != 0) {
        fprintf(stderr, "imgsec export: cannot rename %s: %m\n", part);
        unlink(part);
        out = CLI_FAIL;
    }
    if (out == CLI_OK)
        fprintf(stderr, "export: wrote %s\n", a->out);
done:
    json_decref(j);
    free(text);
    if (c)
        curl_easy_cleanup(c);
    return out;
}

/* ---- arguments ---- */

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},        {"server", required_argument, NULL, 'S'},
        {"token", required_argument, NULL, 'T'},
        {"token-file", required_argument, NULL, 'K'},     {"region", required_argument, NULL, 'r'},
        {"project", required_argument, NULL, 'p'},   {"ep", required_argument, NULL, 'e'},
        {"eps", required_argument, NULL, 'E'},       {"all-eps", no_argument, NULL, 'A'},
        {"type", required_argument, NULL, 't'},      {"body", required_argument, NULL, 'b'},
        {"body-file", required_argument, NULL, 'B'}, {"format", required_argument, NULL, 'f'},
        {"export-size", required_argument, NULL, 'n'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    export_args a = {
        .db = cli_default_db(), .token = getenv("IMGSEC_TOKEN"), .ep = MODEL_DEFAULT_EP,
        .fmt = EXPORT_XLSX, .size = EXPORT_SIZE_MAX,
    };
    a.region = getenv("IMGSEC_REGION");
    if (!a.region || !*a.region)
        a.region = "local-1";
    int c, f;
    const char *token_file = NULL;
    bool token_flag = false;
    static char token_buf[CLI_TOKEN_MAX];
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a.db = optarg; break;
        case 'S': a.server = optarg; break;
        case 'T': a.token = optarg, token_flag = true; break;
        case 'K': token_file = optarg; break;
        case 'r': a.region = optarg; break;
        case 'p': a.project = optarg; break;
        case 'e': a.ep = optarg; break;
        case 'E': a.eps = optarg; break;
        case 'A': a.all_eps = true; break;
        case 't': a.type = optarg; break;
        case 'b': a.body = optarg; break;
        case 'B': a.body_file = optarg; break;
        case 'f':
            if ((f = export_format_parse(optarg)) < 0) {
                fprintf(stderr, "imgsec export: --format must be xlsx or csv\n");
                return CLI_USAGE;
            }
            a.fmt = (export_format)f;
            break;
        case 'n':
            if (!util_parse_int64(optarg, &a.size) || a.size < EXPORT_SIZE_MIN ||
                a.size > EXPORT_SIZE_MAX) {
                fprintf(stderr, "imgsec export: --export-size must be 1 to %d\n", EXPORT_SIZE_MAX);
                return CLI_USAGE;
            }
            break;
        case 'o': a.out = optarg; break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (!cli_token_resolve("export", token_file, token_flag, token_buf, sizeof token_buf, &a.token))
        return CLI_USAGE;
    if (!a.type || !a.project || !a.out || optind < argc) {
        fprintf(stderr, "imgsec export: --type, --project and -o FILE are required\n%s", USAGE);
        return CLI_USAGE;
    }
    if (report_type_parse(a.type) < 0) {
        fprintf(stderr, "imgsec export: --type must be one of %s\n", report_type_choices());
        return CLI_USAGE;
    }
    if (!model_scope_id_valid(a.project) || (!a.all_eps && !a.eps && !model_scope_id_valid(a.ep))) {
        fprintf(stderr, "imgsec export: --project and --ep must be 1-64 characters of A-Za-z0-9_-\n");
        return CLI_USAGE;
    }
    if (a.eps && !cli_parse_eps("export", "--eps", a.eps, EXPORT_EPS_MAX, &a.eps_list))
        return CLI_USAGE;
    if (a.server && a.eps) {
        fprintf(stderr, "imgsec export: with --server, use --ep or --all-eps\n");
        return CLI_USAGE;
    }
    json_error_t jerr;
    json_t *body = NULL;
    if (a.body_file)
        body = json_load_file(a.body_file, 0, &jerr);
    else if (a.body)
        body = json_loads(a.body, 0, &jerr);
    else
        body = json_pack("{s:b}", "operate_all", 1);
    if (!body || !json_is_object(body)) {
        fprintf(stderr, "imgsec export: the body must be a JSON object%s%s\n", body ? "" : ": ",
                body ? "" : jerr.text);
        json_decref(body);
        return CLI_USAGE;
    }
    int out = a.server ? export_remote(&a, body) : export_offline(&a, body);
    json_decref(body);
    return out;
}
