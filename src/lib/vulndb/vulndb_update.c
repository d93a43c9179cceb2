/* vulndb_update.c - placeholder until the download lands. */
#include "vulndb/vulndb_db.h"

int vulndb_update(vulndb *db, const char *base_url, const char *const *ecosystems, size_t n,
                  vulndb_progress_fn progress, void *ctx, vulndb_update_stats *stats,
                  imgsec_err *err)
{
    (void)db; (void)base_url; (void)ecosystems; (void)n; (void)progress; (void)ctx; (void)stats;
    return err_set(err, IMGSEC_EINTERNAL, "vulndb update: not implemented yet");
}
