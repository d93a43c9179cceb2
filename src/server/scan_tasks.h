/* scan_tasks.h - registry sync and scan tasks run on the background
 * pool's BG_SCAN queue (bg.h; docs/scanning.md "Scan tasks").
 *
 * The work is in the store (store_tasks.h): a task's items wait there
 * until a worker claims one. A job on the queue is a drainer: it claims
 * the oldest waiting item, does it, settles it, and claims again until
 * none waits (or the pool stops), so at most --scan-workers items run at
 * once whatever the number of tasks, and the queue holds no job beyond
 * its workers. Creating a task kicks the queue (a job per free worker);
 * a tick of the pool's clock every SCAN_KICK_MS kicks it too when an item
 * waits, which covers a drainer that was just ending when a task came.
 *
 * A scan item opens its registry's sealed password with the key file,
 * pulls and scans the image with scan_run (SCAN_INPUT_REGISTRY, the
 * server's --vulndb if any), and stores the image with store_ingest in
 * one transaction: success with all its records, replacing those of an
 * earlier scan, or failed with none; then the item is settled with the
 * error as its reason. A sync item lists the registry's catalog and tags
 * and adds the tags not yet known as images "waiting_for_scan".
 *
 * Restart: items a stopped server left running wait again and are done
 * again (scan_tasks_start): tasks resume, and an image is stored once. On
 * PostgreSQL only the items of servers whose lease ran out: the others
 * run on live nodes (store_tasks.h "Claims and leases").
 */
#ifndef IMGSECD_SCAN_TASKS_H
#define IMGSECD_SCAN_TASKS_H

#include "app.h"
#include "imgsec/err.h"

#define SCAN_KICK_MS 1000
/* A claimed item's lease (store_tasks.h), renewed every SCAN_KICK_MS
 * while this server scans: a node silent for this long is gone and its
 * items are taken over by the next claim of any node. */
#define SCAN_LEASE_MS 60000

/* Resumes interrupted items and puts the kick on a->bg's clock. */
int scan_tasks_start(app *a, imgsec_err *err);
/* Starts a job per free scan worker (after a task was made). */
void scan_tasks_kick(app *a);

#endif
