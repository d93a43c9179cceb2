/* pool.h - a fixed set of store connections shared by the HTTP threads.
 *
 * SQLite connections are not to be shared between threads at once; each
 * request borrows one for its duration. The pool holds as many as there
 * are worker threads, so a borrow never waits in practice. */
#ifndef IMGSECD_POOL_H
#define IMGSECD_POOL_H

#include "imgsec/err.h"
#include "imgsec/store.h"

typedef struct store_pool store_pool;

int store_pool_open(const char *db_path, unsigned size, store_pool **out, imgsec_err *err);
void store_pool_close(store_pool *p);
store *store_pool_acquire(store_pool *p);
void store_pool_release(store_pool *p, store *st);

#endif
