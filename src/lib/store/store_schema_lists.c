/* store_schema_lists.c - schema versions 5, 6, 10, 11, 12, 18 and 19: the
 * indexes the finding lists need (list.h, docs/api.md "Finding lists").
 *
 *   - images(project_id, image_id): a per-image list names its image by
 *     the server id or by the content id (as image_id_list does); the
 *     latter must not scan the project.
 *   - agg_vul(vul_id, image): the images of one vulnerability
 *     (ListVulAffectImages, ListVulnerabilityCve) and the per-vulnerability
 *     views walk one vul_id's rows, not every image's.
 *   - agg_build(rule_id, image): the images of one build-command rule.
 *   - rec_vulnerability(image, app_name, app_version): an app's vul_num
 *     (its image's vulnerabilities of that app) is one index range, not a
 *     walk of the image's vulnerabilities per app.
 *
 * Version 6 (dropped by version 19):
 *   - rec_vulnerability(vul_id, vul_type, image, severity): the records of
 *     one vulnerability. The grouped vulnerability lists take their groups
 *     and counts from the query index (index_list.c) and read from the
 *     store only what the index does not hold - the highest severity and
 *     CVSS score and the texts of the page's vulnerabilities - and those
 *     are this index's ranges, not a walk of every record of each image
 *     that has the vulnerability. An image's highest severity of one
 *     vulnerability (ListVulAffectImages) is read from the index alone
 *     (severity is its last column), without the records.
 *
 * Version 10 (store_schema_vul_maxima):
 *   - agg_vul(rank, cvss, desc_seq, sol_seq, url_seq): per (image,
 *     vulnerability) the maxima the grouped vulnerability lists show -
 *     the highest severity's rank, the highest CVSS score, and the seq of
 *     the record holding the greatest description, solution and url
 *     (vul_agg in model.h; NULL when no record has one) - kept at ingest
 *     and by store_replace_vulnerabilities, so that a vulnerability's
 *     details are a walk of its agg_vul rows (one per image) plus three
 *     primary-key reads each, not of its records. The query index carries
 *     rank on its postings (severity filters and levels without the
 *     store). An existing file is filled from its records in the
 *     migration's transaction.
 *
 * Version 11 (store_schema_vul_reps):
 *   - agg_vul(rep_seq, rep_cvss) instead of (desc_seq, sol_seq, url_seq):
 *     a group's texts are those of one representative record (docs/api.md,
 *     "Finding lists"): the highest severity rank, then the highest CVSS
 *     score, then the lowest (image, seq). Per (image, vulnerability) that
 *     is the image's best record, kept here (vul_agg.rep_seq/rep_cvss) and
 *     on the index's postings with the rank and the highest CVSS score, so
 *     a group's representative is the best of its postings in the
 *     selection and a page of groups reads one record each by primary key.
 *     An existing file is filled from its records in the migration's
 *     transaction; the text holders of version 10 are dropped.
 *
 * Version 12 (store_schema_names):
 *   - app_names(name), file_names(name): the distinct app names of
 *     rec_app and file names of rec_file, kept by a trigger on every
 *     insert (whatever the ingest path) and never pruned, so a superset of
 *     the names the records hold; and rec_app(app_name, image),
 *     rec_file(file_name, image). A substring filter of ListGlobalImageApps
 *     (app_name) or ListGlobalImageFiles (file_name) finds the names that
 *     contain it in the small table and reads only their records through
 *     the index, instead of testing every record of the selection
 *     (list.c, global_records_named). Filled from the records in the
 *     migration's transaction. Schema 16 (store_names.c) drops the two
 *     tables and their triggers for name_counts; the indexes stay.
 *
 * Other record rows need nothing new: their primary key (image, seq) with seq
 * dense from 0 per image and type serves every per-image page, deep
 * offsets included. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

char *store_schema_v5(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE INDEX IF NOT EXISTS images_content_id ON images(project_id, image_id);\n"
        "CREATE INDEX IF NOT EXISTS agg_vul_vul ON agg_vul(vul_id, image);\n"
        "CREATE INDEX IF NOT EXISTS agg_build_rule ON agg_build(rule_id, image);\n"
        "CREATE INDEX IF NOT EXISTS rec_vul_app ON rec_vulnerability(image, app_name, app_version);\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

char *store_schema_v6(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE INDEX IF NOT EXISTS rec_vul_vul ON rec_vulnerability(vul_id, vul_type, image, "
        "severity);\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

/* Version 18: the non-compliant apps by (image, app_name), for the
 * is_compliant of an app list's item (list.c's APP_COMPLIANT, a NOT
 * EXISTS per item): by the primary key (image, seq) each item read every
 * non-compliant app of its image, 484 in one image of the 100,000-image
 * bench, which made a page of `util-linux` in that range 5.6 ms instead
 * of 3.3 (docs/performance.md, "Needle maps"). */
char *store_schema_nc_app_name(imgsec_err *err)
{
    static const char SQL[] = "CREATE INDEX IF NOT EXISTS rec_non_compliant_app_name ON "
                              "rec_non_compliant_app(image, app_name);\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

char *store_schema_vul_maxima(imgsec_err *err)
{
    /* the seq of the record with the greatest text of col; the lowest seq
     * of a tie; NULL when none has one */
#define HOLDER(col)                                                                          \
    "(SELECT r.seq FROM rec_vulnerability r WHERE r.image = agg_vul.image AND r.vul_id = " \
    "agg_vul.vul_id AND r.vul_type = agg_vul.vul_type AND r." col " IS NOT NULL ORDER BY r." \
    col " DESC, r.seq LIMIT 1)"
    static const char SQL[] =
        "ALTER TABLE agg_vul ADD COLUMN rank INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE agg_vul ADD COLUMN cvss REAL;\n"
        "ALTER TABLE agg_vul ADD COLUMN desc_seq INTEGER;\n"
        "ALTER TABLE agg_vul ADD COLUMN sol_seq INTEGER;\n"
        "ALTER TABLE agg_vul ADD COLUMN url_seq INTEGER;\n"
        "UPDATE agg_vul SET "
        "rank = coalesce((SELECT max(CASE r.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 "
        "WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) FROM rec_vulnerability r WHERE "
        "r.image = agg_vul.image AND r.vul_id = agg_vul.vul_id AND r.vul_type = agg_vul.vul_type), 0), "
        "cvss = (SELECT max(r.cvss_score) FROM rec_vulnerability r WHERE r.image = agg_vul.image "
        "AND r.vul_id = agg_vul.vul_id AND r.vul_type = agg_vul.vul_type), "
        "desc_seq = " HOLDER("description") ", sol_seq = " HOLDER("solution") ", url_seq = "
        HOLDER("url") ";\n";
#undef HOLDER
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

char *store_schema_vul_reps(imgsec_err *err)
{
    static const char SQL[] =
        "ALTER TABLE agg_vul ADD COLUMN rep_seq INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE agg_vul ADD COLUMN rep_cvss REAL;\n"
        "UPDATE agg_vul SET rep_seq = coalesce((SELECT r.seq FROM rec_vulnerability r WHERE "
        "r.vul_id = agg_vul.vul_id AND r.vul_type = agg_vul.vul_type AND r.image = agg_vul.image "
        "ORDER BY CASE r.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 "
        "WHEN 'low' THEN 1 ELSE 0 END DESC, r.cvss_score DESC, r.seq LIMIT 1), 0);\n"
        "UPDATE agg_vul SET rep_cvss = (SELECT r.cvss_score FROM rec_vulnerability r WHERE "
        "r.image = agg_vul.image AND r.seq = agg_vul.rep_seq);\n"
        "ALTER TABLE agg_vul DROP COLUMN desc_seq;\n"
        "ALTER TABLE agg_vul DROP COLUMN sol_seq;\n"
        "ALTER TABLE agg_vul DROP COLUMN url_seq;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

char *store_schema_names(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE app_names (name TEXT PRIMARY KEY) WITHOUT ROWID;\n"
        "CREATE TABLE file_names (name TEXT PRIMARY KEY) WITHOUT ROWID;\n"
        "CREATE INDEX rec_app_name ON rec_app(app_name, image);\n"
        "CREATE INDEX rec_file_name ON rec_file(file_name, image);\n"
        "INSERT INTO app_names (name) SELECT DISTINCT app_name FROM rec_app "
        "WHERE app_name IS NOT NULL;\n"
        "INSERT INTO file_names (name) SELECT DISTINCT file_name FROM rec_file "
        "WHERE file_name IS NOT NULL;\n"
        "CREATE TRIGGER app_names_add AFTER INSERT ON rec_app\n"
        "  BEGIN INSERT INTO app_names (name) SELECT NEW.app_name WHERE NEW.app_name IS NOT NULL "
        "ON CONFLICT DO NOTHING; END;\n"
        "CREATE TRIGGER file_names_add AFTER INSERT ON rec_file\n"
        "  BEGIN INSERT INTO file_names (name) SELECT NEW.file_name WHERE NEW.file_name IS NOT "
        "NULL ON CONFLICT DO NOTHING; END;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

/* Version 19: rec_vul_vul dropped. Its readers read agg_vul instead
 * (list.c: a group's counts, maxima and representative by agg_vul_vul, an
 * image's rank of a vulnerability from its agg_vul row), and its key,
 * which starts with the vulnerability, took each vulnerability record's
 * entry at a random place on every ingest and rematch (docs/performance.md,
 * "Ingest without rec_vul_vul"). rec_vul_app stays: it is ordered by
 * image, so its entries append, and an app's vul_num is one of its ranges
 * (counting the image's vulnerabilities instead made a page of the
 * largest image's apps 9x slower, 6.7 ms against 0.72). */
char *store_schema_drop_vul_vul(imgsec_err *err)
{
    static const char SQL[] = "DROP INDEX IF EXISTS rec_vul_vul;\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}
