/* follow.h - keeps a query index equal to the store file.
 *
 * The server answers from memory, but the file is the truth and other
 * processes (the CLI) write it too. A follower owns one store connection
 * of its own and, on every sync, asks SQLite whether anyone committed
 * since it last looked (PRAGMA data_version, a few hundred nanoseconds).
 * Only then does it read the change log and apply the touched images to
 * the index as one write batch, so a request never sees state older than
 * the file, nor half of a bulk ingest. If the log was pruned past the
 * follower's position it rebuilds the index from a full snapshot.
 */
#ifndef IMGSEC_FOLLOW_H
#define IMGSEC_FOLLOW_H

#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/index.h"

typedef struct follower follower;

/* Opens db_path, builds ix from a full snapshot. ix is borrowed. */
int follower_open(const char *db_path, imgsec_index *ix, follower **out, imgsec_err *err);
void follower_close(follower *f);

/* Brings ix up to date with the file. Thread-safe; cheap when nothing changed. */
int follower_sync(follower *f, imgsec_err *err);

/* Change-log position the index reflects, and how many full rebuilds ran. */
int64_t follower_position(follower *f);
int64_t follower_rebuilds(follower *f);

#endif
