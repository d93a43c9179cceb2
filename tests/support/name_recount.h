/* name_recount.h - name_counts (store_names.c) recounted from the
 * records by plain SQL, for the tests that hold the write code to it
 * (unit test_store, api test_lists): NAME_RECOUNT gives the rows
 * name_counts must hold, NAME_COUNTS the rows it holds, both as
 * (kind, project_id, image_type, ep, name, n). */
#ifndef IMGSEC_TEST_NAME_RECOUNT_H
#define IMGSEC_TEST_NAME_RECOUNT_H

#define NAME_RECOUNT                                                                             \
    "SELECT 0 AS kind, i.project_id, i.image_type, i.ep, r.app_name AS name, count(*) AS n "   \
    "FROM rec_app r JOIN images i ON i.id = r.image WHERE r.app_name IS NOT NULL "             \
    "GROUP BY i.project_id, i.image_type, i.ep, r.app_name UNION ALL "                         \
    "SELECT 1, i.project_id, i.image_type, i.ep, r.file_name, count(*) "                       \
    "FROM rec_file r JOIN images i ON i.id = r.image WHERE r.file_name IS NOT NULL "           \
    "GROUP BY i.project_id, i.image_type, i.ep, r.file_name"
#define NAME_COUNTS "SELECT kind, project_id, image_type, ep, name, n FROM name_counts"

#endif
