/* store_schema_lists.c - schema versions 5 and 6: the indexes the finding
 * lists need (list.h, docs/api.md "Finding lists").
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
 *
 * Version 6:
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
