/* store_bind.c - binding documents to statements through the driver,
 * shared by the two ingest paths (store_images.c, whole documents;
 * store_stream.c, record by record) so that an image column or a field
 * kind is bound in exactly one place; and the row keys of
 * store_vul_diff.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void store_bind_image(db_stmt *s, const char *project_id, const char *ep, const imgsec_doc *d)
{
    const image_summary *sum = &d->summary;
    int np = db_param_count(s); /* FIND names only the identity */
    for (int c = 0; c < IC_FIXED_COUNT && c < np; c++) {
        int i = c + 1;
        switch ((image_col)c) {
        case IC_PROJECT_ID: store_dbind_text(s, i, project_id); break;
        case IC_EP: store_dbind_text(s, i, ep); break;
        case IC_IMAGE_TYPE: store_dbind_text(s, i, image_type_name(sum->type)); break;
        case IC_SCAN_STATUS: store_dbind_text(s, i, scan_status_name(sum->status)); break;
#define BIND_STRING(m, ...) \
        case IC_STR_##m: store_dbind_text(s, i, sum->m); break;
#define BIND_NUMBER(m, ...) \
        case IC_NUM_##m: db_bind_int64(s, i, sum->m); break;
        MODEL_IMAGE_STRINGS(BIND_STRING)
        MODEL_IMAGE_NUMBERS(BIND_NUMBER)
#undef BIND_STRING
#undef BIND_NUMBER
        case IC_SEVERITY_LEVEL:
            if (sum->severity_level == SEVERITY_LEVEL_NONE)
                db_bind_null(s, i);
            else
                store_dbind_text(s, i, severity_level_name(sum->severity_level));
            break;
        case IC_FIXED_COUNT: break;
        }
    }
    if (np < IMAGE_NCOLS)
        return;
    for (int t = 0; t < REPORT_TYPE_COUNT; t++)
        db_bind_int64(s, IC_COUNT(t) + 1, sum->counts[t]);
    for (int v = 0; v < VUL_TYPE_COUNT; v++)
        db_bind_int64(s, IC_VUL_COUNT(v) + 1, sum->vul_counts[v]);
}

/* What a record field's JSON value is stored as: the one place of the
 * typing rules, for a bound parameter and for a COPY row alike. */
typedef enum { FV_NULL, FV_TEXT, FV_INT, FV_REAL, FV_WRONG } field_value;

static field_value field_value_of(const record_field *f, const json_t *v)
{
    if (!v || json_is_null(v))
        return FV_NULL;
    switch (f->kind) {
    case FIELD_STRING:
    case FIELD_SEVERITY:
    case FIELD_ENUM:
    case FIELD_OCTAL: return json_is_string(v) ? FV_TEXT : FV_WRONG;
    case FIELD_INT64: return json_is_integer(v) ? FV_INT : FV_WRONG;
    case FIELD_NUMBER: return json_is_number(v) ? FV_REAL : FV_WRONG;
    }
    return FV_WRONG;
}

/* Binds one record field from JSON; false if the value has the wrong type. */
bool store_bind_field(db_stmt *s, int i, const record_field *f, const json_t *v)
{
    switch (field_value_of(f, v)) {
    case FV_NULL: db_bind_null(s, i); return true;
    case FV_TEXT: db_bind_text(s, i, json_string_value(v), (int)json_string_length(v)); return true;
    case FV_INT: db_bind_int64(s, i, json_integer_value(v)); return true;
    case FV_REAL: db_bind_double(s, i, json_number_value(v)); return true;
    case FV_WRONG: break;
    }
    return false;
}

bool store_copy_field(db_copy *k, const record_field *f, const json_t *v)
{
    switch (field_value_of(f, v)) {
    case FV_NULL: db_copy_null(k); return true;
    case FV_TEXT: db_copy_text(k, json_string_value(v), json_string_length(v)); return true;
    case FV_INT: db_copy_int64(k, json_integer_value(v)); return true;
    case FV_REAL: db_copy_double(k, json_number_value(v)); return true;
    case FV_WRONG: break;
    }
    return false;
}

/* A validated document's value (doc.h: already in its stored form). */
void store_bind_val(db_stmt *s, int i, const doc_val *v)
{
    switch ((doc_vkind)v->kind) {
    case DOC_V_NULL: db_bind_null(s, i); return;
    case DOC_V_TEXT: db_bind_text(s, i, v->u.s, (int)v->len); return;
    case DOC_V_INT: db_bind_int64(s, i, v->u.i); return;
    case DOC_V_REAL: db_bind_double(s, i, v->u.d); return;
    }
    db_bind_null(s, i);
}

void store_copy_val(db_copy *k, const doc_val *v)
{
    switch ((doc_vkind)v->kind) {
    case DOC_V_NULL: db_copy_null(k); return;
    case DOC_V_TEXT: db_copy_text(k, v->u.s, v->len); return;
    case DOC_V_INT: db_copy_int64(k, v->u.i); return;
    case DOC_V_REAL: db_copy_double(k, v->u.d); return;
    }
    db_copy_null(k);
}

db_copy *store_copy_records_begin(store *st, const record_kind *k, const char *what,
                                  imgsec_err *err)
{
    util_buf table = {0}, cols = {0};
    util_buf_printf(&table, "\"%s\"", k->table);
    util_buf_printf(&cols, "image, seq");
    for (size_t f = 0; f < k->nfields; f++)
        util_buf_printf(&cols, ", \"%s\"", k->fields[f].name);
    bool oom = table.failed || cols.failed;
    db_copy *c = oom ? NULL : db_copy_begin(st->conn, table.buf, cols.buf, NULL);
    free(table.buf);
    free(cols.buf);
    if (!c) {
        if (oom)
            err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        else
            store_derr(st, err, what);
    }
    return c;
}

void store_copy_record(db_copy *c, const record_kind *k, int64_t id, int64_t seq,
                       const doc_val *rec)
{
    db_copy_int64(c, id);
    db_copy_int64(c, seq);
    for (size_t f = 0; f < k->nfields; f++)
        store_copy_val(c, &rec[f]);
}

void store_bind_vul_agg(db_stmt *s, int p, int64_t id, const vul_agg *a)
{
    db_bind_int64(s, p, id);
    store_dbind_text(s, p + 1, a->vul_id);
    store_dbind_text(s, p + 2, vul_type_name(a->type));
    db_bind_int64(s, p + 3, a->n);
    db_bind_int64(s, p + 4, a->rank);
    if (a->has_cvss)
        db_bind_double(s, p + 5, a->cvss);
    else
        db_bind_null(s, p + 5);
    db_bind_int64(s, p + 6, a->rep_seq);
    if (a->has_rep_cvss)
        db_bind_double(s, p + 7, a->rep_cvss);
    else
        db_bind_null(s, p + 7);
}

void store_copy_vul_agg(db_copy *k, const vul_agg *a)
{
    const char *type = vul_type_name(a->type);
    db_copy_text(k, a->vul_id ? a->vul_id : "", a->vul_id ? strlen(a->vul_id) : 0);
    db_copy_text(k, type, strlen(type));
    db_copy_int64(k, a->n);
    db_copy_int64(k, a->rank);
    if (a->has_cvss)
        db_copy_double(k, a->cvss);
    else
        db_copy_null(k);
    db_copy_int64(k, a->rep_seq);
    if (a->has_rep_cvss)
        db_copy_double(k, a->rep_cvss);
    else
        db_copy_null(k);
}

/* The caller's grant against (project_id, ep); NULL grant: no check. */
int store_grant_check(const store_grant *g, const char *project_id, const char *ep,
                       imgsec_err *err)
{
    if (!g)
        return IMGSEC_OK;
    if (strcmp(g->project_id, project_id) != 0)
        return err_set(err, IMGSEC_EPROJECT, "the credentials are scoped to another project");
    if (g->role < ROLE_WRITER)
        return err_set(err, IMGSEC_EFORBIDDEN, "role writer or admin required");
    if (ep && !store_grant_covers_ep(g, ep))
        return err_set(err, IMGSEC_EFORBIDDEN, "enterprise project %s is not granted", ep);
    return IMGSEC_OK;
}

/* The key bytes: a tag, then for text its length and bytes, for numbers
 * their 8 bytes. -0.0 is written as 0.0: SQLite stores an integral REAL
 * as an integer and reads 0.0 back either way. */
static void key_tag(util_buf *b, char tag, const void *p, size_t n)
{
    util_buf_put(b, &tag, 1);
    if (tag == 'T') {
        uint32_t len = (uint32_t)n;
        util_buf_put(b, (const char *)&len, sizeof len);
    }
    if (n)
        util_buf_put(b, p, n);
}

static void key_double(util_buf *b, double d)
{
    d += 0.0;
    key_tag(b, 'F', &d, sizeof d);
}

void store_val_key(util_buf *b, const doc_val *v)
{
    switch ((doc_vkind)v->kind) {
    case DOC_V_NULL: return key_tag(b, 'N', NULL, 0);
    case DOC_V_TEXT: return key_tag(b, 'T', v->u.s, v->len);
    case DOC_V_INT: return key_tag(b, 'I', &v->u.i, sizeof v->u.i);
    case DOC_V_REAL: return key_double(b, v->u.d);
    }
    key_tag(b, 'X', NULL, 0); /* no validated value has another kind */
}

void store_cell_key(util_buf *b, const store_cell *c)
{
    switch (c->kind) {
    case CELL_NULL: return key_tag(b, 'N', NULL, 0);
    case CELL_INT: return key_tag(b, 'I', &c->i, sizeof c->i);
    case CELL_REAL: return key_double(b, c->d);
    case CELL_STRING: return key_tag(b, 'T', c->s, c->len);
    }
    key_tag(b, 'X', NULL, 0); /* no cell has another kind */
}
