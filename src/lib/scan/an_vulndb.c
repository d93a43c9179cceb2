/* an_vulndb.c - the vulnerability hook (docs/scanning.md, issue 13): with
 * --vulndb FILE (or $IMGSEC_VULNDB), the apps the package analyzers
 * emitted are matched against that OSV database (vulndb_match_apps,
 * docs/scanning-vulns.md) and each match is emitted as a vulnerability
 * record. Last in the analyzer table: its finish reads what the others
 * emitted. Without a database it does nothing; a named database that does
 * not exist fails the scan. A version that cannot be compared becomes a
 * scan warning, never a guess. */
#include "scan/scan_int.h"

#include <stdlib.h>

#include "imgsec/vulndb.h"

static int vulndb_open_state(const scan_options *opt, void **state, imgsec_err *err)
{
    const char *path = opt && opt->vulndb ? opt->vulndb : getenv("IMGSEC_VULNDB");
    *state = NULL;
    if (!path || !*path) return IMGSEC_OK;
    vulndb *db;
    int rc = vulndb_open(path, false, &db, err);
    if (rc == IMGSEC_OK) *state = db;
    return rc;
}

static int vulndb_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    if (!state) return IMGSEC_OK;
    json_t *warnings = json_array();
    if (!warnings) return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    vulndb_match_stats st;
    int rc = vulndb_match_apps(state, res->records[REPORT_APPS], res->os_id, res->os_version,
                               res->records[REPORT_VULNERABILITY], warnings, &st, err);
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) scan_warn(res, "vulndb: %s", json_string_value(w));
    json_decref(warnings);
    return rc;
}

static void vulndb_close_state(void *state) { vulndb_close(state); }

const scan_analyzer scan_an_vulndb = {
    .name = "vulndb",
    .emits = REPORT_VULNERABILITY,
    .open = vulndb_open_state,
    .finish = vulndb_finish,
    .close = vulndb_close_state,
};
