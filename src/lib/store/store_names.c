/* store_names.c - name_counts (schema 17): how many records of each
 * (project, image type, EP) have a given rec_app.app_name or
 * rec_file.file_name, kept by the store's own write code.
 *
 * A write transaction collects the changes in C, in st->names: a map
 * from (kind, project, image type, EP, name) to a signed count. Records
 * being written add from their values (store_names_doc for a validated
 * document, store_names_json for a record of a stream); an image whose
 * records are about to go (replaced, deleted) subtracts what it holds,
 * read from its records (store_names_drop_image: the image's app and file
 * records through the record API) before they change. store_commit writes the map: on SQLite one
 * upsert per distinct key, so a transaction of 1,000 images costs one
 * statement per distinct name it touched, not one per record (the
 * per-record trigger it replaces made `imgsec import` 2.8x the CPU;
 * docs/design.md); on PostgreSQL, where each statement is a round trip,
 * the whole map in one upsert of arrays (flush_arrays). store_rollback
 * forgets it. A count that reaches 0 loses its row.
 *
 * Every path that writes rec_app or rec_file goes through one of the
 * three calls: ingest (store_images.c ingest_one, copy_records on
 * PostgreSQL), the streamed image (store_stream.c), store_image_clear
 * (replace) and store_image_delete. An image's EP moves only by a
 * re-ingest, which clears it first. The lists read the counts in
 * list.c (global_records_counted).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/records.h"
#include "imgsec/util.h"
#include "store_int.h"

/* The key: kind digit, project US type US EP US name (project, type and
 * EP never hold US: model_scope_id_valid and the fixed type names). */
#define US '\x1f'

static const report_type KIND_TYPE[STORE_NAME_KIND_COUNT] = {REPORT_APPS, REPORT_FILES};
static const char *const KIND_FIELD[STORE_NAME_KIND_COUNT] = {"app_name", "file_name"};

/* The index of kind k's name among its record fields (model.c), -1 if none. */
static int name_field(int k)
{
    static int idx[STORE_NAME_KIND_COUNT] = {-2, -2};
    if (idx[k] == -2)
        idx[k] = record_field_index(KIND_TYPE[k], KIND_FIELD[k]);
    return idx[k];
}

int store_name_kind_of(report_type t)
{
    for (int k = 0; k < STORE_NAME_KIND_COUNT; k++)
        if (KIND_TYPE[k] == t)
            return k;
    return -1;
}

/* The key's prefix up to the name; its length, 0 if it does not fit. */
static size_t key_prefix(char *buf, size_t size, int k, const char *project, const char *type,
                         const char *ep)
{
    int n = snprintf(buf, size, "%c%s%c%s%c%s%c", '0' + k, project, US, type, US, ep, US);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Adds d to the count of the key buf[0..len). */
static int note(store *st, const char *key, size_t len, int64_t d, imgsec_err *err)
{
    if (!st->names && !(st->names = json_object()))
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    json_t *v = json_object_getn(st->names, key, len);
    if (v)
        return json_integer_set(v, json_integer_value(v) + d) == 0
                   ? IMGSEC_OK
                   : err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    if (json_object_setn_new_nocheck(st->names, key, len, json_integer(d)) != 0)
        return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return IMGSEC_OK;
}

/* A growing key buffer: prefix then name. */
typedef struct {
    char *buf;
    size_t cap, pre;
} keybuf;

static int key_name(keybuf *kb, const char *name, size_t len, imgsec_err *err)
{
    if (kb->pre + len > kb->cap) {
        size_t cap = kb->pre + len + 256;
        char *b = realloc(kb->buf, cap);
        if (!b)
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        kb->buf = b, kb->cap = cap;
    }
    memcpy(kb->buf + kb->pre, name, len);
    return IMGSEC_OK;
}

static int keybuf_start(keybuf *kb, int k, const char *project, const char *type, const char *ep,
                        imgsec_err *err)
{
    char pre[3 * 160];
    size_t n = key_prefix(pre, sizeof pre, k, project, type, ep);
    if (!n)
        return err_set(err, IMGSEC_EINTERNAL, "store: name count key too long");
    if (n > kb->cap) {
        char *b = realloc(kb->buf, n + 256);
        if (!b)
            return err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
        kb->buf = b, kb->cap = n + 256;
    }
    memcpy(kb->buf, pre, n);
    kb->pre = n;
    return IMGSEC_OK;
}

int store_names_doc(store *st, const char *project_id, const char *ep, const imgsec_doc *d,
                    imgsec_err *err)
{
    keybuf kb = {0};
    int rc = IMGSEC_OK;
    for (int k = 0; k < STORE_NAME_KIND_COUNT && rc == IMGSEC_OK; k++) {
        const doc_records *r = &d->records[KIND_TYPE[k]];
        int f = name_field(k);
        if (!r->n || f < 0)
            continue;
        size_t nf = record_kind_get(KIND_TYPE[k])->nfields;
        if ((rc = keybuf_start(&kb, k, project_id, image_type_name(d->summary.type), ep, err)))
            break;
        for (size_t j = 0; j < r->n && rc == IMGSEC_OK; j++) {
            const doc_val *v = &r->vals[j * nf + (size_t)f];
            if (v->kind != DOC_V_TEXT)
                continue;
            if ((rc = key_name(&kb, v->u.s, v->len, err)) == IMGSEC_OK)
                rc = note(st, kb.buf, kb.pre + v->len, 1, err);
        }
    }
    free(kb.buf);
    return rc;
}

int store_names_json(store *st, const char *project_id, const char *ep, image_type type,
                     report_type t, const json_t *rec, imgsec_err *err)
{
    int k = store_name_kind_of(t);
    if (k < 0)
        return IMGSEC_OK;
    const json_t *v = json_object_get(rec, KIND_FIELD[k]);
    if (!json_is_string(v))
        return IMGSEC_OK;
    keybuf kb = {0};
    int rc = keybuf_start(&kb, k, project_id, image_type_name(type), ep, err);
    size_t len = json_string_length(v);
    if (rc == IMGSEC_OK && (rc = key_name(&kb, json_string_value(v), len, err)) == IMGSEC_OK)
        rc = note(st, kb.buf, kb.pre + len, 1, err);
    free(kb.buf);
    return rc;
}

typedef struct {
    store *st;
    keybuf *kb;
    int field;
    imgsec_err *err;
} drop_ctx;

/* One of the image's records (every field, then image and seq): its name,
 * if it has one, counts once less. */
static int drop_record(const store_cell *cells, size_t n, void *arg)
{
    drop_ctx *x = arg;
    if ((size_t)x->field >= n)
        return err_set(x->err, IMGSEC_EINTERNAL, "store: a record without its name field");
    const store_cell *c = &cells[x->field];
    if (c->kind != CELL_STRING)
        return IMGSEC_OK;
    int rc = key_name(x->kb, c->s, c->len, x->err);
    return rc == IMGSEC_OK ? note(x->st, x->kb->buf, x->kb->pre + c->len, -1, x->err) : rc;
}

/* The image's scope from its row, then its app and file records through
 * the record API (whatever stores them), a name at a time. */
int store_names_drop_image(store *st, int64_t id, imgsec_err *err)
{
    db_stmt *s = store_dstmt(st, STMT_IMAGE_SCOPE, err);
    if (!s)
        return store_drc(err);
    db_bind_int64(s, 1, id);
    int step = db_step(s), rc = IMGSEC_OK;
    char scope[3][160]; /* project and EP ids are <= 64 bytes, types short */
    for (int c = 0; step == DB_ROW && c < 3; c++) {
        const char *v = db_column_text(s, c);
        if (snprintf(scope[c], sizeof scope[c], "%s", v ? v : "") >= (int)sizeof scope[c])
            rc = err_set(err, IMGSEC_EINTERNAL, "store: name count key too long");
    }
    db_reset(s);
    if (step != DB_ROW && step != DB_DONE)
        rc = store_derr(st, err, "reading an image's scope");
    keybuf kb = {0};
    for (int k = 0; step == DB_ROW && k < STORE_NAME_KIND_COUNT && rc == IMGSEC_OK; k++) {
        if ((rc = keybuf_start(&kb, k, scope[0], scope[1], scope[2], err)) != IMGSEC_OK)
            break;
        drop_ctx x = {st, &kb, name_field(k), err};
        rc = store_image_records_all(st, id, KIND_TYPE[k], drop_record, &x, err);
    }
    free(kb.buf);
    return rc;
}

/* A key of the map cut into its parts: kind, then project, type, EP and
 * name as (pointer, length). false if it is not a key note() made. */
typedef struct {
    int kind;
    const char *part[4];
    size_t len[4];
} name_key;

static bool key_split(const char *key, size_t len, name_key *out)
{
    if (len < 1 || key[0] < '0' || key[0] >= '0' + STORE_NAME_KIND_COUNT)
        return false;
    out->kind = key[0] - '0';
    const char *p = key + 1, *end = key + len;
    for (int i = 0; i < 3; i++) {
        const char *us = memchr(p, US, (size_t)(end - p));
        if (!us)
            return false;
        out->part[i] = p, out->len[i] = (size_t)(us - p);
        p = us + 1;
    }
    out->part[3] = p, out->len[3] = (size_t)(end - p);
    return true;
}

/* SQLite: one upsert per distinct key (and a prune for a key whose count
 * fell), prepared once: no round trips to save there. */
static int flush_rows(store *st, imgsec_err *err)
{
    db_stmt *up = store_dstmt(st, STMT_NAMES_ADD, err);
    db_stmt *prune = up ? store_dstmt(st, STMT_NAMES_PRUNE, err) : NULL;
    if (!prune)
        return store_drc(err);
    int rc = IMGSEC_OK;
    for (void *it = json_object_iter(st->names); it && rc == IMGSEC_OK;
         it = json_object_iter_next(st->names, it)) {
        int64_t d = json_integer_value(json_object_iter_value(it));
        if (d == 0)
            continue;
        name_key k;
        if (!key_split(json_object_iter_key(it), json_object_iter_key_len(it), &k))
            return err_set(err, IMGSEC_EINTERNAL, "store: bad name count key");
        db_stmt *s = up;
        for (int pass = 0; pass < (d < 0 ? 2 : 1) && rc == IMGSEC_OK; pass++, s = prune) {
            db_bind_int64(s, 1, k.kind);
            for (int i = 0; i < 4; i++)
                db_bind_text(s, 2 + i, k.part[i], (int)k.len[i]);
            if (pass == 0)
                db_bind_int64(s, 6, d);
            rc = store_drun(st, s, "counting names", err);
        }
    }
    return rc;
}

/* Appends s[0..len) to an array literal as a quoted element: '"' and '\'
 * escaped, every other byte as it is (PostgreSQL's array input). */
void store_array_text(util_buf *b, const char *s, size_t len)
{
    util_buf_put(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
    for (size_t i = 0; i < len; i++) {
        size_t j = i;
        while (j < len && s[j] != '"' && s[j] != '\\')
            j++;
        util_buf_put(b, s + i, j - i);
        if (j < len)
            util_buf_put(b, s[j] == '"' ? "\\\"" : "\\\\", 2);
        i = j;
    }
    util_buf_put(b, "\"", 1);
}

void store_array_int(util_buf *b, int64_t v)
{
    util_buf_printf(b, b->len > 1 ? ",%lld" : "%lld", (long long)v);
}

void store_array_null(util_buf *b)
{
    util_buf_put(b, b->len > 1 ? ",NULL" : "NULL", b->len > 1 ? 5 : 4);
}

/* PostgreSQL: the whole map in one upsert, its keys and deltas sent as
 * six array parameters (unnest), and, when a count fell, one delete of
 * those of the fallen keys that reached 0: two round trips at most
 * whatever the number of names (was one per name; docs/design.md "Name
 * counts"). */
static int flush_arrays(store *st, imgsec_err *err)
{
    /* arrays 0..5: kind, project, type, EP, name, delta of every key;
     * 6..10: kind, project, type, EP, name of the keys whose count fell */
    util_buf a[11] = {{0}};
    size_t fell = 0;
    int rc = IMGSEC_OK;
    for (int i = 0; i < 11; i++)
        util_buf_put(&a[i], "{", 1);
    for (void *it = json_object_iter(st->names); it; it = json_object_iter_next(st->names, it)) {
        int64_t d = json_integer_value(json_object_iter_value(it));
        if (d == 0)
            continue;
        name_key k;
        if (!key_split(json_object_iter_key(it), json_object_iter_key_len(it), &k)) {
            rc = err_set(err, IMGSEC_EINTERNAL, "store: bad name count key");
            goto out;
        }
        for (int set = 0; set < (d < 0 ? 2 : 1); set++) {
            util_buf *o = a + 6 * set;
            store_array_int(&o[0], k.kind);
            for (int i = 0; i < 4; i++)
                store_array_text(&o[1 + i], k.part[i], k.len[i]);
        }
        store_array_int(&a[5], d);
        fell += d < 0;
    }
    for (int i = 0; i < 11; i++) {
        util_buf_put(&a[i], "}", 1);
        if (a[i].failed) {
            rc = err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
            goto out;
        }
    }
    if (a[0].len <= 2) /* every delta was 0 */
        goto out;
    db_stmt *s = store_dstmt(st, STMT_NAMES_ADD_ALL, err);
    if (!s) {
        rc = store_drc(err);
        goto out;
    }
    for (int i = 0; i < 6; i++)
        db_bind_text(s, 1 + i, a[i].buf, (int)a[i].len);
    if ((rc = store_drun(st, s, "counting names", err)) != IMGSEC_OK || !fell)
        goto out;
    if (!(s = store_dstmt(st, STMT_NAMES_PRUNE_ALL, err))) {
        rc = store_drc(err);
        goto out;
    }
    for (int i = 0; i < 5; i++)
        db_bind_text(s, 1 + i, a[6 + i].buf, (int)a[6 + i].len);
    rc = store_drun(st, s, "counting names", err);
out:
    for (int i = 0; i < 11; i++)
        free(a[i].buf);
    return rc;
}

int store_names_flush(store *st, imgsec_err *err)
{
    if (!st->names || json_object_size(st->names) == 0)
        return IMGSEC_OK;
    int rc = db_backend_of(st->conn) == DB_PG ? flush_arrays(st, err) : flush_rows(st, err);
    store_names_forget(st);
    return rc;
}

void store_names_forget(store *st)
{
    json_decref(st->names);
    st->names = NULL;
}

/* Schema 16: the counts, filled from the records; the per-record triggers
 * and the tables of distinct names of schema 12 go (the counts' names are
 * those names). */
char *store_schema_name_counts(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE name_counts (\n"
        "  kind INTEGER NOT NULL, -- 0 rec_app.app_name, 1 rec_file.file_name\n"
        "  project_id TEXT NOT NULL, image_type TEXT NOT NULL, ep TEXT NOT NULL,\n"
        "  name TEXT NOT NULL, n INTEGER NOT NULL,\n"
        "  PRIMARY KEY (kind, project_id, name, image_type, ep)) WITHOUT ROWID;\n"
        "INSERT INTO name_counts (kind, project_id, image_type, ep, name, n) "
        "SELECT 0, i.project_id, i.image_type, i.ep, r.app_name, count(*) FROM rec_app r "
        "JOIN images i ON i.id = r.image WHERE r.app_name IS NOT NULL "
        "GROUP BY i.project_id, i.image_type, i.ep, r.app_name;\n"
        "INSERT INTO name_counts (kind, project_id, image_type, ep, name, n) "
        "SELECT 1, i.project_id, i.image_type, i.ep, r.file_name, count(*) FROM rec_file r "
        "JOIN images i ON i.id = r.image WHERE r.file_name IS NOT NULL "
        "GROUP BY i.project_id, i.image_type, i.ep, r.file_name;\n"
        "DROP TRIGGER IF EXISTS app_names_add;\n"
        "DROP TRIGGER IF EXISTS file_names_add;\n"
        "DROP TABLE app_names;\n"
        "DROP TABLE file_names;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}
