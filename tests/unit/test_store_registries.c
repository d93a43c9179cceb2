/* test_store_registries.c - unit tests of the registry store
 * (imgsec/store_registries.h): the store's own bounds (a caller that skips
 * the route's checks still cannot store an oversized field), writes that
 * refuse leave the file as it was (all-or-nothing delete, the per-project
 * bound, name uniqueness per project), filters and paging, and a
 * migration from an empty file to the registries table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgsec/store_registries.h"
#include "unit_pg.h"
#include "unit_tmp.h"

/* `unit_test_store_registries pg` runs every case on a fresh PostgreSQL
 * database of the test cluster (pg.test_store_registries, unit_pg.h). */
static bool use_pg;

typedef struct {
    char path[PATH_MAX]; /* the file, or the PostgreSQL URI */
    char pg_name[64];
    store *st;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    imgsec_err err;
    assert_non_null(f);
    assert_int_equal(unit_db_make(use_pg, f->pg_name, sizeof f->pg_name, f->path, sizeof f->path,
                                  "test_store_reg_"),
                     0);
    if (store_open(f->path, &f->st, &err) != IMGSEC_OK)
        fail_msg("store_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    unit_db_remove(use_pg, f->pg_name, f->path);
    free(f);
    return 0;
}

static int64_t add(store *st, const char *project, const char *name, const char *type,
                   int expect)
{
    store_registry_fields f = {.name = name, .type = type, .api_version = "V2",
                               .protocol = "https", .addr = "reg.example"};
    int64_t id = 0;
    imgsec_err err = {0};
    int rc = store_registry_add(st, project, &f, 1000, &id, &err);
    if (rc != expect)
        fail_msg("store_registry_add: %d, not %d: %s", rc, expect, err.msg);
    return id;
}

typedef struct {
    char names[8][64];
    size_t n;
} seen;

static void collect(const store_registry *r, void *arg)
{
    seen *s = arg;
    if (s->n < 8)
        snprintf(s->names[s->n++], 64, "%.63s", r->name);
}

static int64_t count(store *st, const char *project, const store_registry_filter *flt, seen *s)
{
    store_registry_filter none = {0};
    seen local = {0};
    int64_t total = -1;
    imgsec_err err = {0};
    if (store_registry_list(st, project, flt ? flt : &none, 0, 200, collect, s ? s : &local, &total,
                            &err) != IMGSEC_OK)
        fail_msg("store_registry_list: %s", err.msg);
    return total;
}

static void test_bounds_in_store(void **state)
{
    fx *f = *state;
    char *long_name = malloc(REG_BYTES(REG_NAME_CHARS) + 1);
    memset(long_name, 'x', REG_BYTES(REG_NAME_CHARS));
    long_name[REG_BYTES(REG_NAME_CHARS)] = '\0';
    store_registry_fields fl = {.name = long_name, .type = "Harbor", .api_version = "V2",
                                .protocol = "https", .addr = "h"};
    int64_t id;
    imgsec_err err = {0};
    assert_int_equal(store_registry_add(f->st, "P1", &fl, 1, &id, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "registry_name"));
    free(long_name);
    unsigned char sealed[REG_SEALED_MAX + 1] = {0};
    fl = (store_registry_fields){.name = "n", .type = "Harbor", .api_version = "V2",
                                 .protocol = "https", .addr = "h", .sealed = sealed,
                                 .sealed_len = sizeof sealed};
    assert_int_equal(store_registry_add(f->st, "P1", &fl, 1, &id, &err), IMGSEC_EINVAL);
    assert_non_null(strstr(err.msg, "registry_password"));
    fl.sealed_len = KEYFILE_SEAL_OVERHEAD; /* an empty password */
    assert_int_equal(store_registry_add(f->st, "P1", &fl, 1, &id, &err), IMGSEC_EINVAL);
    fl.sealed = NULL;
    fl.addr = NULL;
    assert_int_equal(store_registry_add(f->st, "P1", &fl, 1, &id, &err), IMGSEC_EINVAL);
    assert_int_equal(count(f->st, "P1", NULL, NULL), 0);
}

static void test_unique_and_bound(void **state)
{
    fx *f = *state;
    add(f->st, "P1", "a", "Harbor", IMGSEC_OK);
    add(f->st, "P1", "a", "Jfrog", IMGSEC_ECONFLICT);
    add(f->st, "P2", "a", "Jfrog", IMGSEC_OK); /* another project's name space */
    for (int i = 1; i < REG_PER_PROJECT_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        add(f->st, "P1", name, "Other", IMGSEC_OK);
    }
    add(f->st, "P1", "one-more", "Other", IMGSEC_EINVAL);
    assert_int_equal(count(f->st, "P1", NULL, NULL), REG_PER_PROJECT_MAX);
    assert_int_equal(count(f->st, "P2", NULL, NULL), 1);
}

static void test_delete_all_or_nothing(void **state)
{
    fx *f = *state;
    int64_t a = add(f->st, "P1", "a", "Harbor", IMGSEC_OK);
    int64_t b = add(f->st, "P1", "b", "Harbor", IMGSEC_OK);
    int64_t c = add(f->st, "P2", "c", "Harbor", IMGSEC_OK);
    imgsec_err err = {0};
    int64_t ids[] = {a, c, b}; /* c is P2's */
    assert_int_equal(store_registry_delete(f->st, "P1", ids, 3, "ids", &err), IMGSEC_ENOTFOUND);
    assert_non_null(strstr(err.msg, "ids"));
    assert_int_equal(count(f->st, "P1", NULL, NULL), 2);
    assert_int_equal(count(f->st, "P2", NULL, NULL), 1);
    assert_int_equal(store_registry_delete(f->st, "P1", ids, 0, "ids", &err), IMGSEC_EINVAL);
    int64_t ok[] = {b, a};
    assert_int_equal(store_registry_delete(f->st, "P1", ok, 2, "ids", &err), IMGSEC_OK);
    assert_int_equal(count(f->st, "P1", NULL, NULL), 0);
    assert_int_equal(count(f->st, "P2", NULL, NULL), 1);
}

static void test_update_and_filters(void **state)
{
    fx *f = *state;
    int64_t a = add(f->st, "P1", "harbor-1", "Harbor", IMGSEC_OK);
    add(f->st, "P1", "jfrog-1", "Jfrog", IMGSEC_OK);
    add(f->st, "P1", "other-1", "Other", IMGSEC_OK);
    imgsec_err err = {0};
    store_registry_fields u = {.addr = "moved.example:5000"};
    assert_int_equal(store_registry_update(f->st, "P2", a, &u, 2000, &err), IMGSEC_ENOTFOUND);
    assert_int_equal(store_registry_update(f->st, "P1", a, &u, 2000, &err), IMGSEC_OK);
    u = (store_registry_fields){.name = "renamed"};
    assert_int_equal(store_registry_update(f->st, "P1", a, &u, 3000, &err), IMGSEC_EINVAL);

    store_registry_filter flt = {.type_mask = 1u << 0 | 1u << 5}; /* Harbor, Other */
    seen s = {0};
    assert_int_equal(count(f->st, "P1", &flt, &s), 2);
    assert_string_equal(s.names[0], "harbor-1");
    assert_string_equal(s.names[1], "other-1");
    flt = (store_registry_filter){.addr = "moved"};
    assert_int_equal(count(f->st, "P1", &flt, NULL), 1);
    flt = (store_registry_filter){.name = "-1"};
    assert_int_equal(count(f->st, "P1", &flt, NULL), 3);
    flt = (store_registry_filter){.id = a};
    assert_int_equal(count(f->st, "P1", &flt, NULL), 1);
    flt = (store_registry_filter){.status = "success"};
    assert_int_equal(count(f->st, "P1", &flt, NULL), 0);
    int64_t ok = -1, bad = -1;
    assert_int_equal(store_registry_counts(f->st, "P1", 0, &ok, &bad, &err), IMGSEC_OK);
    assert_int_equal(ok, 0);
    assert_int_equal(bad, 0);

    /* paging: total counts all matches, the page holds limit from offset */
    store_registry_filter none = {0};
    seen page = {0};
    int64_t total = 0;
    assert_int_equal(store_registry_list(f->st, "P1", &none, 1, 1, collect, &page, &total, &err),
                     IMGSEC_OK);
    assert_int_equal(total, 3);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.names[0], "jfrog-1");
}

int main(int argc, char **argv)
{
    int pg = unit_pg_wanted(argc, argv);
    if (pg < 0)
        return 1;
    use_pg = pg == 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bounds_in_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_and_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_filters, setup, teardown),
    };
    return cmocka_run_group_tests_name(use_pg ? "store_registries on PostgreSQL" : "store_registries",
                                       tests, NULL, NULL);
}
