/* unit_pg.h - a fresh PostgreSQL database for a test labelled pg.
 *
 * CTest's fixture "pg" (tests/CMakeLists.txt, tests/support/pg_cluster.sh)
 * starts a throwaway cluster and gives the URI of its "postgres" database
 * in IMGSEC_TEST_PG; each test case makes a database of its own there
 * (CREATE DATABASE imgsec_t<pid>_<n>) and drops it after, so cases and
 * tests running in parallel never see each other's rows.
 * Header-only, like unit_tmp.h.
 */
#ifndef IMGSEC_UNIT_PG_H
#define IMGSEC_UNIT_PG_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "unit_tmp.h"

/* The cluster's URI, or NULL when the test runs without the fixture. */
static inline const char *unit_pg_admin_uri(void)
{
    const char *u = getenv("IMGSEC_TEST_PG");
    return u && *u ? u : NULL;
}

/* The engine a test binary runs on, from its first argument: 1 for "pg"
 * (PostgreSQL, which needs the fixture), 0 for anything else (SQLite);
 * -1, having said why, when "pg" is asked without IMGSEC_TEST_PG. */
static inline int unit_pg_wanted(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "pg") != 0)
        return 0;
    if (!unit_pg_admin_uri()) {
        fprintf(stderr, "%s: IMGSEC_TEST_PG is not set (run through ctest: fixture pg)\n", argv[0]);
        return -1;
    }
    return 1;
}

static inline int unit_pg_admin_exec(const char *sql)
{
    const char *admin = unit_pg_admin_uri();
    db_conn *c = NULL;
    imgsec_err err;
    if (!admin || db_open(admin, &c, &err) != IMGSEC_OK) {
        fprintf(stderr, "unit_pg: %s\n", admin ? err.msg : "IMGSEC_TEST_PG is not set");
        return -1;
    }
    int rc = db_exec(c, sql, "administering the test cluster", &err);
    if (rc != IMGSEC_OK)
        fprintf(stderr, "unit_pg: %s\n", err.msg);
    db_close(c);
    return rc == IMGSEC_OK ? 0 : -1;
}

/* Makes a new empty database; its name into name, its URI into uri.
 * 0 or -1. The admin URI names the database as "/postgres?". */
static inline int unit_pg_create(char *name, size_t name_size, char *uri, size_t uri_size)
{
    static unsigned n;
    const char *admin = unit_pg_admin_uri();
    const char *at = admin ? strstr(admin, "/postgres?") : NULL;
    if (!at)
        return -1;
    snprintf(name, name_size, "imgsec_t%ld_%u", (long)getpid(), n++);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (unit_pg_admin_exec(sql) != 0)
        return -1;
    snprintf(uri, uri_size, "%.*s/%s%s", (int)(at - admin), admin, name, at + 9);
    return 0;
}

/* Drops the database name (every connection to it must be closed). */
static inline void unit_pg_drop(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    unit_pg_admin_exec(sql);
}

/* A database for one test case on the engine the test runs on: with pg a
 * new PostgreSQL database (its name into name, its URI into target), else
 * a temporary SQLite file whose name starts with prefix (name ""). 0 or -1. */
static inline int unit_db_make(bool pg, char *name, size_t name_size, char *target,
                               size_t target_size, const char *prefix)
{
    if (pg)
        return unit_pg_create(name, name_size, target, target_size);
    name[0] = '\0';
    return unit_tmp_db_path(target, target_size, prefix);
}

/* Removes what unit_db_make made (every connection to it closed). */
static inline void unit_db_remove(bool pg, const char *name, const char *target)
{
    if (pg)
        unit_pg_drop(name);
    else
        unit_tmp_db_remove(target);
}

#endif
