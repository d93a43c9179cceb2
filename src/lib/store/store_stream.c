/* store_stream.c - one image, records one at a time (store_stream.h).
 *
 * Uses the store's prepared statements (store_int.h) exactly as
 * store_images.c does, through the same helpers: the image row by identity
 * (store_image_find; the row is UPDATEd keeping its id at commit, or
 * INSERTed at begin), records bound from JSON through the record_field
 * tables (store_bind.c), aggregates and the change log at the end.
 *
 * The running aggregates are two jansson objects keyed by the aggregate's
 * identity (type byte + vul_id; rule_id US risk_name US level), holding
 * counts: memory grows with distinct ids, not with records.
 */
#include "imgsec/store_stream.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct store_stream {
    store *st;
    int64_t id;
    imgsec_doc image;          /* shallow copy; summary updated as records come */
    bool have_max;
    severity max;
    json_t *vuls, *builds;     /* aggregate key -> count */
    char project_id[MODEL_PROJECT_ID_MAX + 1], ep[MODEL_PROJECT_ID_MAX + 1];
};

/* Frees ss without touching the store (no transaction of its own yet, or
 * already ended). */
static void stream_free(store_stream *ss)
{
    json_decref(ss->vuls);
    json_decref(ss->builds);
    free(ss);
}

static int image_start(store_stream *ss, const store_grant *grant, imgsec_err *err)
{
    int rc;
    if ((rc = store_image_find(ss->st, ss->project_id, ss->ep, &ss->image, grant, "", &ss->id, err)))
        return rc;
    /* Replaced: the old records and aggregates go now, the row at commit. */
    if (ss->id)
        return store_image_clear(ss->st, ss->id, err);
    if ((rc = store_image_insert(ss->st, ss->project_id, ss->ep, &ss->image, &ss->id, err)))
        return rc;
    return ss->id > 0 ? IMGSEC_OK : err_set(err, IMGSEC_EINTERNAL, "store: no image id");
}

int store_stream_begin(store *st, const char *project_id, const char *ep, const imgsec_doc *image,
                       const store_grant *grant, store_stream **out, imgsec_err *err)
{
    int rc;
    *out = NULL;
    if (!model_scope_id_valid(project_id))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: project_id");
    if (!model_scope_id_valid(ep))
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: enterprise_project_id");
    if (!image || !image->summary.image_name || !*image->summary.image_name)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: image.image_name");
    if ((rc = store_grant_check(grant, project_id, ep, err)))
        return rc;
    store_stream *ss = calloc(1, sizeof *ss);
    if (!ss)
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    ss->st = st;
    ss->image = *image;
    memset(ss->image.summary.counts, 0, sizeof ss->image.summary.counts);
    memset(ss->image.summary.vul_counts, 0, sizeof ss->image.summary.vul_counts);
    ss->image.summary.vuls = NULL, ss->image.summary.n_vuls = 0;
    ss->image.summary.builds = NULL, ss->image.summary.n_builds = 0;
    ss->image.vuls = NULL, ss->image.builds = NULL;
    ss->image.summary.severity_level = model_severity_level(image->summary.status, 0, SEVERITY_UNKNOWN);
    snprintf(ss->project_id, sizeof ss->project_id, "%s", project_id);
    snprintf(ss->ep, sizeof ss->ep, "%s", ep);
    ss->vuls = json_object();
    ss->builds = json_object();
    if (!ss->vuls || !ss->builds) { /* before BEGIN: nothing of ours to roll back */
        stream_free(ss);
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    }
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        if (!store_dstmt(st, (stmt_id)(STMT_REC_INSERT + t), err)) {
            stream_free(ss);
            return store_drc(err);
        }
    if ((rc = store_write_begin(st, err))) {
        stream_free(ss);
        return rc;
    }
    if ((rc = image_start(ss, grant, err))) {
        store_stream_abort(ss);
        return rc;
    }
    *out = ss;
    return IMGSEC_OK;
}

/* The running maxima and representative of one vulnerability aggregate
 * (vul_agg), as a JSON array: [n, rank, cvss or null, rep_seq, rep_cvss or
 * null]. Records come in seq order, so on a tie the earlier one stays. */
enum { VA_N, VA_RANK, VA_CVSS, VA_REP_SEQ, VA_REP_CVSS };

static int vul_add(json_t *map, const char *key, const json_t *rec, int64_t seq)
{
    json_t *a = json_object_get(map, key);
    const json_t *cv = json_object_get(rec, "cvss_score");
    bool has = json_is_number(cv);
    double v = has ? json_number_value(cv) : 0;
    int rank = doc_vul_rank(json_string_value(json_object_get(rec, "severity")));
    if (!a) {
        if (!(a = json_pack("[iinIn]", 1, rank, (json_int_t)seq)) ||
            json_object_set_new(map, key, a) != 0)
            return -1;
        return has && (json_array_set_new(a, VA_CVSS, json_real(v)) != 0 ||
                       json_array_set_new(a, VA_REP_CVSS, json_real(v)) != 0)
                   ? -1
                   : 0;
    }
    int rc = json_integer_set(json_array_get(a, VA_N), json_integer_value(json_array_get(a, VA_N)) + 1);
    const json_t *rep = json_array_get(a, VA_REP_CVSS), *old = json_array_get(a, VA_CVSS);
    int old_rank = (int)json_integer_value(json_array_get(a, VA_RANK));
    if (doc_rep_cmp(rank, has, v, old_rank, json_is_number(rep),
                    json_is_number(rep) ? json_number_value(rep) : 0) > 0)
        rc |= json_integer_set(json_array_get(a, VA_REP_SEQ), seq) |
              json_array_set_new(a, VA_REP_CVSS, has ? json_real(v) : json_null());
    if (rank > old_rank)
        rc |= json_integer_set(json_array_get(a, VA_RANK), rank);
    if (has && (!json_is_number(old) || v > json_number_value(old)))
        rc |= json_array_set_new(a, VA_CVSS, json_real(v));
    return rc ? -1 : 0;
}

/* counts[key] += 1 */
static int agg_add(json_t *map, const char *key)
{
    json_t *n = json_object_get(map, key);
    if (n)
        return json_integer_set(n, json_integer_value(n) + 1);
    return json_object_set_new(map, key, json_integer(1));
}

/* A build aggregate's key: the level as one digit, the rule id's length
 * as 8 hex digits, the rule id, the risk name. Record strings may hold
 * any character but NUL, so no separator byte could split them safely. */
#define BUILD_KEY_LEN_HEX 8

static int aggregate(store_stream *ss, report_type t, const json_t *rec, int64_t seq,
                     imgsec_err *err)
{
    char *key = NULL;
    int rc = 0;
    if (t == REPORT_VULNERABILITY) {
        const char *id = json_string_value(json_object_get(rec, "vul_id"));
        int vt = vul_type_parse(json_string_value(json_object_get(rec, "vul_type")));
        if (!id || vt < 0)
            return err_set(err, IMGSEC_EINTERNAL, "store: record not validated");
        ss->image.summary.vul_counts[vt]++;
        rc = asprintf(&key, "%c%s", '0' + vt, id) < 0 ? -1 : vul_add(ss->vuls, key, rec, seq);
    } else if (t == REPORT_BUILD_COMMAND_RISKS) {
        const char *rule = json_string_value(json_object_get(rec, "rule_id"));
        const char *name = json_string_value(json_object_get(rec, "risk_name"));
        int lv = severity_parse(json_string_value(json_object_get(rec, "risk_level")));
        if (!rule || !name || lv < 0)
            return err_set(err, IMGSEC_EINTERNAL, "store: record not validated");
        rc = asprintf(&key, "%c%0*zx%s%s", '0' + lv, BUILD_KEY_LEN_HEX, strlen(rule), rule,
                      name) < 0
                 ? -1
                 : agg_add(ss->builds, key);
    } else {
        return IMGSEC_OK;
    }
    free(key);
    return rc ? err_set(err, IMGSEC_EINTERNAL, "out of memory") : IMGSEC_OK;
}

int store_stream_record(store_stream *ss, report_type t, json_t *rec, const char *where,
                        imgsec_err *err)
{
    if ((unsigned)t >= REPORT_TYPE_COUNT)
        return err_set(err, IMGSEC_EINTERNAL, "unknown report type");
    int64_t *n = &ss->image.summary.counts[t];
    const record_kind *k = record_kind_get(t);
    int rc;
    if (*n >= DOC_RECORDS_MAX)
        return err_set(err, IMGSEC_EINVAL, "invalid parameter: %s%s must hold at most %d records",
                       where ? where : "", k->doc_key, DOC_RECORDS_MAX);
    if ((rc = doc_record_check(rec, t, where, (size_t)*n, &ss->have_max, &ss->max, err)))
        return rc;
    if ((rc = store_drecord_insert(ss->st, t, ss->id, (size_t)*n, rec, where ? where : "", err)) ||
        (rc = store_names_json(ss->st, ss->project_id, ss->ep, ss->image.summary.type, t, rec,
                               err)) ||
        (rc = aggregate(ss, t, rec, *n, err)))
        return rc;
    (*n)++;
    return IMGSEC_OK;
}

static int write_aggs(store_stream *ss, imgsec_err *err)
{
    store *st = ss->st;
    db_stmt *v = store_dstmt(st, STMT_AGG_VUL_INSERT, err);
    db_stmt *b = v ? store_dstmt(st, STMT_AGG_BUILD_INSERT, err) : NULL;
    const char *key;
    json_t *n;
    int rc;
    if (!b)
        return IMGSEC_EINTERNAL;
    json_object_foreach(ss->vuls, key, n) {
        db_bind_int64(v, 1, ss->id);
        store_dbind_text(v, 2, key + 1);
        store_dbind_text(v, 3, vul_type_name((vul_type)(key[0] - '0')));
        db_bind_int64(v, 4, json_integer_value(json_array_get(n, VA_N)));
        db_bind_int64(v, 5, json_integer_value(json_array_get(n, VA_RANK)));
        json_t *cv = json_array_get(n, VA_CVSS);
        if (json_is_number(cv))
            db_bind_double(v, 6, json_number_value(cv));
        else
            db_bind_null(v, 6);
        db_bind_int64(v, 7, json_integer_value(json_array_get(n, VA_REP_SEQ)));
        cv = json_array_get(n, VA_REP_CVSS);
        if (json_is_number(cv))
            db_bind_double(v, 8, json_number_value(cv));
        else
            db_bind_null(v, 8);
        if ((rc = store_drun(st, v, "storing aggregates", err)))
            return rc;
    }
    json_object_foreach(ss->builds, key, n) {
        char hex[BUILD_KEY_LEN_HEX + 1];
        memcpy(hex, key + 1, BUILD_KEY_LEN_HEX);
        hex[BUILD_KEY_LEN_HEX] = '\0';
        const char *rule = key + 1 + BUILD_KEY_LEN_HEX;
        size_t rule_len = strtoul(hex, NULL, 16);
        db_bind_int64(b, 1, ss->id);
        db_bind_text(b, 2, rule, (int)rule_len);
        store_dbind_text(b, 3, rule + rule_len);
        store_dbind_text(b, 4, severity_name((severity)(key[0] - '0')));
        db_bind_int64(b, 5, json_integer_value(n));
        if ((rc = store_drun(st, b, "storing aggregates", err)))
            return rc;
    }
    return IMGSEC_OK;
}

int store_stream_commit(store_stream *ss, store_ingest_result *res, imgsec_err *err)
{
    store *st = ss->st;
    image_summary *s = &ss->image.summary;
    int rc;
    s->severity_level = model_image_severity_level(s->status, ss->have_max, ss->max,
                                                   s->counts[REPORT_MALWARES]);

    db_stmt *upd = store_dstmt(st, STMT_IMAGE_UPDATE, err);
    if (!upd) {
        rc = IMGSEC_EINTERNAL;
        goto fail;
    }
    store_bind_image(upd, ss->project_id, ss->ep, &ss->image);
    db_bind_int64(upd, IMAGE_NCOLS + 1, ss->id);
    if ((rc = store_drun(st, upd, "storing an image", err)) || (rc = write_aggs(ss, err)) ||
        (rc = store_change_append(st, ss->id, err)) || (rc = store_change_prune(st, err)))
        goto fail;
    if ((rc = store_commit(st, err)))
        goto done;
    if (res) {
        res->id = ss->id;
        res->records = 0;
        for (int t = 0; t < REPORT_TYPE_COUNT; t++)
            res->records += s->counts[t];
    }
    goto done;
fail:
    store_rollback(st);
done:
    stream_free(ss);
    return rc;
}

void store_stream_abort(store_stream *ss)
{
    if (!ss)
        return;
    store_rollback(ss->st);
    stream_free(ss);
}
