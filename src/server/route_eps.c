/* route_eps.c - the caller's enterprise projects (docs/api.md "Enterprise
 * projects"), in the EPS service's ListEnterpriseProject shape:
 *
 *   GET /v1.0/enterprise-projects   ListEnterpriseProject
 *
 * The EPs are those of the caller's grant on the token's project
 * (auth.md): a listed grant answers its list; an `all` grant or the admin
 * role answers "0" and every EP that holds images of the project (the
 * index's (project, EP) dictionary, index_project_eps). EPs need no
 * registration (data-model.md), so there is nothing else to list. Sorted
 * by id (byte order), then filtered by `id` / `name`, then paged. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/index.h"
#include "imgsec/model.h"
#include "imgsec/store.h"
#include "query.h"
#include "routes.h"

#define EPS_LIMIT_MAX 1000 /* ListEnterpriseProject's limit: 1-1000, default 1000 */
#define EP_DEFAULT_NAME "default"

typedef struct {
    char **v;
    size_t n, cap;
    bool oom;
} ep_list;

static void ep_add(const char *ep, void *arg)
{
    ep_list *l = arg;
    if (l->oom || !*ep)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(ep)))
        l->oom = true;
    else
        l->n++;
}

static void ep_list_free(ep_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int ep_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops repeats. */
static void ep_list_unique(ep_list *l)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof *l->v, ep_cmp);
    size_t k = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->v[i], l->v[k - 1]) == 0)
            free(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

static const char *ep_name(const char *id)
{
    return strcmp(id, MODEL_DEFAULT_EP) == 0 ? EP_DEFAULT_NAME : id;
}

/* The EPs of the caller's grant, sorted, each once. */
static void caller_eps(request *req, ep_list *l)
{
    const store_grant *g = &req->principal.grant;
    if (g->eps_all || g->role == ROLE_ADMIN) {
        ep_add(MODEL_DEFAULT_EP, l);
        index_project_eps(req->app->ix, g->project_id, ep_add, l);
    } else {
        char buf[STORE_EPS_MAX + 1];
        snprintf(buf, sizeof buf, "%s", g->eps);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            ep_add(tok, l);
    }
    ep_list_unique(l);
}

void eps_list_handle(request *req)
{
    int64_t offset, limit;
    const char *id, *name;
    if (!query_int(req, "offset", 0, QUERY_OFFSET_MAX, 0, &offset, NULL) ||
        !query_int(req, "limit", 1, EPS_LIMIT_MAX, EPS_LIMIT_MAX, &limit, NULL) ||
        !query_string(req, "id", 64, &id) || !query_string(req, "name", 64, &name))
        return;
    ep_list l = {0};
    caller_eps(req, &l);
    if (l.oom) {
        ep_list_free(&l);
        return http_reply_internal(req, "out of memory");
    }
    json_t *items = json_array();
    int64_t total = 0;
    for (size_t i = 0; items && i < l.n; i++) {
        const char *ep = l.v[i];
        if ((id && strcmp(id, ep) != 0) || (name && !strstr(ep_name(ep), name)))
            continue;
        if (total++ < offset || (int64_t)json_array_size(items) >= limit)
            continue;
        /* EpDetail: imgsec keeps no EP records, so no times or type */
        json_t *it = json_pack("{s:s, s:s, s:s, s:i}", "id", ep, "name", ep_name(ep),
                               "description", "", "status", 1);
        if (!it || json_array_append_new(items, it) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ep_list_free(&l);
    json_t *body = items ? json_pack("{s:o, s:I}", "enterprise_projects", items, "total_count",
                                     (json_int_t)total)
                         : NULL;
    if (!body)
        return http_reply_internal(req, "out of memory");
    http_reply_json(req, 200, body);
}
