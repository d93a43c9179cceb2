/* routes.h - the handlers, one file per API area. */
#ifndef IMGSECD_ROUTES_H
#define IMGSECD_ROUTES_H

#include <stdbool.h>

#include "http.h"

/* route_health.c */
void health_handle(request *req);

/* route_tokens.c: POST/DELETE /v3/auth/tokens */
void tokens_create_handle(request *req);
void tokens_delete_handle(request *req);

/* route_ingest.c: POST/DELETE /v5/{project_id}/image/scan-results */
bool ingest_prepare(request *req);
void ingest_handle(request *req);
void ingest_delete_handle(request *req);

/* route_statistic.c: POST /v5/{project_id}/image/security-report/statistic */
bool statistic_prepare(request *req);
void statistic_handle(request *req);

/* route_export.c: export tasks, status, downloads (export.md) */
void export_tasks_handle(request *req);
bool export_sized_prepare(request *req); /* baseline and local-vulnerability */
void export_baseline_handle(request *req);
void export_local_vul_handle(request *req);
void export_task_status_handle(request *req);
void export_download_handle(request *req);

/* route_images.c: the image lists (ListRegistryImages, ListCicdImages, ListImageLocal) */
bool images_registry_prepare(request *req);
void images_registry_handle(request *req);
bool images_cicd_prepare(request *req);
void images_cicd_handle(request *req);
bool images_local_prepare(request *req);
void images_local_handle(request *req);

/* route_lists.c: the finding lists, one row of LIST_KINDS (imgsec/list.h) each */
bool lists_prepare(request *req);
void lists_handle(request *req);

/* route_console.c: the web console's static files (no credentials) */
void console_root_handle(request *req);
void console_index_handle(request *req);
void console_file_handle(request *req);

/* route_registries.c: a project's image registries (AddRegistry ... ListRegistryStatistics) */
void registries_add_handle(request *req);
void registries_list_handle(request *req);
void registries_update_handle(request *req);
void registries_delete_handle(request *req);
void registries_batch_delete_handle(request *req);
void registries_statistics_handle(request *req);

/* route_tasks.c: registry sync and scan tasks (CreateManualImageScanTask ...) */
void tasks_scan_create_handle(request *req);
void tasks_list_handle(request *req);
void tasks_stop_handle(request *req);
void tasks_sync_create_handle(request *req);

/* route_eps.c: GET /v1.0/enterprise-projects, the caller's EPs (ListEnterpriseProject) */
void eps_list_handle(request *req);

#endif
