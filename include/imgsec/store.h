/* store.h - the store: the truth of imgsec.
 *
 * One store handle is one database connection through the driver layer
 * (src/lib/db/db.h): a SQLite file (WAL mode, foreign keys on, busy
 * timeout set) or a PostgreSQL database; use one handle per thread. Every
 * write is one transaction, so a failed call changes nothing. The schema
 * is versioned (SQLite: PRAGMA user_version; PostgreSQL: the imgsec_schema
 * table) and migrated forward on open.
 *
 * Every write that touches images appends the touched image ids to a
 * change log in the same transaction; a server follows that log to keep
 * its in-memory index equal to the file, whoever wrote it (server or CLI).
 *
 * Callbacks of store_summary_foreach and store_changes_since run inside
 * the read transaction of the call: they must not call the store through
 * the same handle (a write would fail: a transaction is already open).
 */
#ifndef IMGSEC_STORE_H
#define IMGSEC_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "imgsec/doc.h"
#include "imgsec/err.h"
#include "imgsec/model.h"

typedef struct store store;

#define STORE_SCHEMA_VERSION 19

/* Opens (creating if needed) and migrates the database at path: a SQLite
 * file, or a postgres:// or postgresql:// URI (libpq), where the schema
 * is made in the connection's schema; a database of a newer schema
 * version, or one holding tables imgsec did not make, is refused
 * untouched. Which functions run on PostgreSQL so far: docs/design.md
 * "One store, two engines" (all but the vulnerability replacement,
 * store_replace_vulnerabilities and the bulk write, which fail with
 * IMGSEC_EINTERNAL "does not run on PostgreSQL yet"). */
int store_open(const char *path, store **out, imgsec_err *err);
/* path as it may be shown in a message: a URI's password as "***". */
void store_db_display(const char *path, char *out, size_t size);
/* Is path a PostgreSQL URI (postgres:// or postgresql://)? */
bool store_db_is_pg(const char *path);
/* Is st's database PostgreSQL? (Where the two engines' SQL differs in
 * cost, not in meaning: list.c's page of a tenant-wide list.) */
bool store_is_pg(const store *st);
void store_close(store *st);

/* Errors the database returned to any connection of this process since it
 * started (a failed statement, a busy timeout, a full disk, an I/O error):
 * a counter for monitoring (imgsecd's /metrics). */
int64_t store_db_errors(void);

/* ---- images and records ---- */

/* Result of storing one document. */
typedef struct {
    int64_t id;       /* image id (new or existing) */
    int64_t records;  /* records stored for the image */
} store_ingest_result;

typedef struct store_grant store_grant;

/* Stores docs[0..n) into (project_id, ep) in ONE transaction: each
 * document inserts its image, or (same identity, data-model.md) replaces
 * the attributes and all records of the existing image, keeping its id
 * (and moving it to ep). results[i] gets document i's outcome. All or
 * nothing. The same identity twice in docs: the later document wins and
 * both results carry the same id.
 * grant (NULL: no check, for the operator's command line) is the caller's
 * grant: IMGSEC_EPROJECT if it is for another project, IMGSEC_EFORBIDDEN
 * if its role is reader, if it does not cover ep, or if a document would
 * replace an image living in an EP it does not cover.
 * progress (may be NULL) is called after each document with (done, n). */
int store_ingest(store *st, const char *project_id, const char *ep,
                 const imgsec_doc *docs, size_t n, const store_grant *grant,
                 store_ingest_result *results,
                 void (*progress)(size_t done, size_t total, void *arg), void *arg,
                 imgsec_err *err);

/* The same in pieces, for input that arrives as it is parsed (the
 * command line's streamed import): begin opens the write transaction
 * (the argument and grant checks of store_ingest), each add stores
 * docs[0..n), numbered first..first+n-1 of the whole call (bulk: errors
 * name "documents[i]."; results and progress as store_ingest's, per
 * batch), and end commits (commit true) or rolls everything back; it
 * frees tx either way. After a failed add, end with commit false. */
typedef struct store_ingest_txn store_ingest_txn;
int store_ingest_begin(store *st, const char *project_id, const char *ep,
                       const store_grant *grant, store_ingest_txn **tx, imgsec_err *err);
int store_ingest_add(store_ingest_txn *tx, const imgsec_doc *docs, size_t n, size_t first,
                     bool bulk, store_ingest_result *results,
                     void (*progress)(size_t done, size_t total, void *arg), void *arg,
                     imgsec_err *err);
int store_ingest_end(store_ingest_txn *tx, bool commit, imgsec_err *err);

/* A bulk load: called after begin and before the first add, drops the
 * record and aggregate tables' indexes that ingest itself never reads
 * (those neither unique nor on the image alone: the ones the lists and
 * statistics search by name or vulnerability) inside tx's transaction,
 * and end rebuilds them, from their own definitions, before it commits.
 * A rollback (end with commit false, a failed rebuild, a process that
 * dies) restores them with everything else: no other connection ever
 * sees the tables without them. Inserting the rows without them and
 * sorting each index once costs a fraction of inserting every entry at a
 * random place (docs/performance.md "PostgreSQL ingest: indexes built
 * after the load"); the price is the table locks: on PostgreSQL DROP
 * INDEX holds an ACCESS EXCLUSIVE lock on each table until the commit,
 * so every other connection's reads of those tables wait for the whole
 * load (SQLite's readers keep their snapshot). only_if_empty: only when
 * the store holds no image (the first load of a store, when nothing
 * reads those tables yet); *deferred: how many indexes were dropped. */
int store_ingest_defer_indexes(store_ingest_txn *tx, bool only_if_empty, size_t *deferred,
                               imgsec_err *err);

/* Deletes image id of project_id with all its records.
 * IMGSEC_ENOTFOUND when no such image is in that project; with a grant
 * (NULL: no check), as for store_ingest, and IMGSEC_EFORBIDDEN when the
 * image's EP is not covered by it. */
int store_image_delete(store *st, const char *project_id, int64_t id, const store_grant *grant,
                       imgsec_err *err);

/* After a command stored many records (imgsec import, demo): on
 * PostgreSQL, ANALYZE, so that the planner's statistics describe the
 * loaded tables at once. Without them, until autovacuum analyzes the
 * tables (a minute or more after a load), the grouped vulnerability
 * lists read every vulnerability row for a page's texts: 40-55 ms a page
 * instead of 4-6 at 3,000 images (docs/performance.md, "Finding lists on
 * PostgreSQL"). Does nothing unless store_after_load_due: below
 * STORE_ANALYZE_MIN_RECORDS records, on SQLite (whose planner here needs
 * no statistics), or inside a transaction. */
#define STORE_ANALYZE_MIN_RECORDS 50000
int store_after_load(store *st, int64_t records, imgsec_err *err);
/* Whether store_after_load would do anything (a command says so first). */
bool store_after_load_due(store *st, int64_t records);

/* ---- replacing one image's vulnerabilities (vulndb rematch) ---- */

/* The change-log position of the caller's current read snapshot (0 when
 * the log is empty): the version token of every image read in the same
 * read transaction. A later write of an image (ingest, delete, replace)
 * appends a row after it. */
int store_change_seq(store *st, int64_t *seq, imgsec_err *err);

/* One image's new vulnerabilities, checked and summarised
 * (store_vul_prepare). */
typedef struct store_vul_prep store_vul_prep;

/* One image's new vulnerabilities for store_replace_vulnerabilities. */
typedef struct {
    int64_t image_id;
    int64_t seen_seq; /* store_change_seq of the snapshot its apps were read in */
    json_t *vuls;     /* vulnerability records, checked as by doc_from_json
                         (only read); seq in array order. Unused when prep is set */
    bool skipped;     /* out: not written, the image changed or is gone */
    store_vul_prep *prep; /* NULL, or vuls already checked by store_vul_prepare
                             (the caller's: store_vul_prep_free) */
} store_vul_replace;

/* Checks and summarises r->vuls by the rules store_replace_vulnerabilities
 * applies (doc_vuls_from_json; errors name "<where>vulnerabilities[i]...",
 * IMGSEC_EINVAL) into a new r->prep, which store_replace_vulnerabilities
 * then writes as it is: r->vuls may be released after it (the values are
 * copies). Needs no store, so it can run on any thread: the rematch's
 * matching threads prepare what the one writing thread writes. */
int store_vul_prepare(store_vul_replace *r, const char *where, imgsec_err *err);
void store_vul_prep_free(store_vul_prep *p);

/* Replaces the vulnerability records of each image items[i].image_id
 * with items[i].vuls, all in one write transaction (several images per
 * transaction: their index pages are written once, not once per image),
 * each only if the image exists and has no change-log row after
 * items[i].seen_seq: otherwise nothing of it is written and
 * items[i].skipped is true (also when rows after seen_seq were pruned:
 * unknowable counts as changed). Maintains everything store_ingest
 * maintains for them - the image's vulnerability count and per-vul_type
 * counts, its severity level (recomputed from vuls and its other
 * records), its vulnerability aggregates - and appends to the change
 * log, so that each image then equals what store_ingest of its document
 * with these vulnerabilities leaves. No grant check: for the server's and
 * the CLI's own maintenance. IMGSEC_EINVAL naming "documents[i]." (n > 1)
 * and the record, with nothing written, for an invalid record (an item
 * with prep was checked by store_vul_prepare, with its own where). */
int store_replace_vulnerabilities(store *st, store_vul_replace *items, size_t n, imgsec_err *err);

/* Bulk replacement (the offline first rematch, where every image's
 * vulnerability rows are new): store_vul_bulk_begin opens one write
 * transaction and drops, inside it, the indexes of the vulnerability
 * records and aggregates that are not ordered by image (agg_vul_vul
 * since schema 19: an insert into it lands at a random place); until
 * store_vul_bulk_end, store_replace_vulnerabilities calls write into that
 * transaction (each call still all or nothing, through a savepoint) and
 * nothing is visible to other connections. store_vul_bulk_end rebuilds
 * the dropped indexes from their own definitions (progress, may be NULL:
 * after each) and commits; when that fails everything since begin is
 * rolled back and the file is as before. store_vul_bulk_abort (and
 * store_close) roll it all back. Other writers wait for the write lock
 * (busy timeout) the whole time. st must not be used for anything else
 * in between. store_vul_bulk_indexes: how many indexes an open bulk
 * write dropped (0 when none is open). */
int store_vul_bulk_begin(store *st, imgsec_err *err);
int store_vul_bulk_end(store *st, void (*progress)(size_t done, size_t total, void *arg), void *arg,
                       imgsec_err *err);
void store_vul_bulk_abort(store *st);
size_t store_vul_bulk_indexes(const store *st);

/* ---- feeding the index ---- */

/* Calls cb for every image, in id order, with a complete summary (counts,
 * derived level, vul and build aggregates). The summary and its strings
 * are valid only during the call. A non-zero return from cb stops the walk
 * and is returned. Runs inside one read transaction (a consistent snapshot);
 * *seq_out (may be NULL) gets the change-log position of that snapshot. */
typedef int (*store_summary_cb)(const image_summary *s, void *arg);
int store_summary_foreach(store *st, store_summary_cb cb, void *arg, int64_t *seq_out,
                          imgsec_err *err);

/* Change-log follow: inside one read transaction, finds the image ids
 * touched after position since, and for each calls cb with its summary
 * if the image exists, or gone(id) if it was deleted. *seq_out gets the
 * new position. Returns IMGSEC_ENOTFOUND (and calls nothing) if the log
 * no longer reaches back to since (pruned): the caller must rebuild with
 * store_summary_foreach. */
int store_changes_since(store *st, int64_t since, store_summary_cb cb,
                        void (*gone)(int64_t id, void *arg), void *arg,
                        int64_t *seq_out, imgsec_err *err);

/* The freshness probe: a number that differs from what the previous call
 * on this handle returned whenever another connection (of any process)
 * has since committed a change the server caches - an image (the change
 * log) or a principal (the auth epoch) - and that is read outside any
 * transaction, so it sees every commit made before the call. -1 on an
 * error. One cheap statement: SQLite's PRAGMA data_version (moves with
 * every commit to the file); on PostgreSQL the change log's last seq plus
 * the auth epoch (an index lookup each; writers of the change log take
 * turns, db_begin_write, so its seqs commit in order). The follower
 * (follow.c) calls it per request on both engines. */
int64_t store_data_version(store *st);

/* ---- the change log's notifications (PostgreSQL LISTEN/NOTIFY) ----
 *
 * On PostgreSQL every write transaction that appends to the change log
 * also sends a notification on STORE_CHANGES_CHANNEL, which the server
 * delivers at its commit (and drops with a rollback), so the followers of
 * other nodes wake when there is something to read instead of polling.
 * A notification is only a hint: one can be lost with a connection, so
 * correctness stays with store_data_version. SQLite has none of this
 * (store_can_listen false; the others then fail). */
#define STORE_CHANGES_CHANNEL "imgsec_changes"
bool store_can_listen(const store *st);
/* LISTEN on this handle; after a lost connection the driver listens again
 * by itself (store_reconnects moves; what was sent meanwhile is lost). */
int store_changes_listen(store *st, imgsec_err *err);
/* Waits up to timeout_ms (0: takes only what already arrived) for
 * notifications, outside a transaction: how many were taken (0 at the
 * timeout), or -1 with err set (a lost connection: IMGSEC_EUNAVAILABLE;
 * a later call makes it again, with the driver's backoff). */
int store_changes_wait(store *st, int timeout_ms, imgsec_err *err);
/* The handle's socket, to poll(2) with other descriptors before a
 * store_changes_wait(st, 0); -1 while the connection is lost. */
int store_listen_socket(const store *st);
/* Times the handle's connection was made again after a loss. */
int64_t store_reconnects(const store *st);
/* PostgreSQL: prepared statements the handle sent so far, each one round
 * trip (for tests); 0 on SQLite. */
int64_t store_statements_sent(const store *st);

/* ---- users, grants, tokens ---- */

typedef enum { ROLE_READER, ROLE_WRITER, ROLE_ADMIN, ROLE_COUNT } role;
int role_parse(const char *s);       /* "reader" "writer" "admin", -1 otherwise */
const char *role_name(role r);

#define STORE_NAME_MAX 64            /* domain and user names: 1-64 chars */
#define STORE_EPS_MAX 1024           /* bytes of an EP list "0,ep-a,..." */

/* A grant: role on a project over a set of EPs ("all" or a list). */
struct store_grant {
    char project_id[MODEL_PROJECT_ID_MAX + 1];
    role role;
    bool eps_all;
    char eps[STORE_EPS_MAX + 1];     /* comma-separated EP ids when !eps_all */
};

/* Is ep covered by the grant? (admin covers every EP of the project.) */
bool store_grant_covers_ep(const store_grant *g, const char *ep);

/* Adds a user with an Argon2id password hash (made by the caller, see
 * auth.h) and a first grant. IMGSEC_ECONFLICT if (domain, name) exists. */
int store_user_add(store *st, const char *domain, const char *name, const char *pw_hash,
                   const store_grant *grant, imgsec_err *err);
/* Adds or replaces the user's grant on grant->project_id. */
int store_user_grant(store *st, const char *domain, const char *name,
                     const store_grant *grant, imgsec_err *err);
/* Removes the user's grant on project_id (its tokens for it die). */
int store_user_revoke(store *st, const char *domain, const char *name,
                      const char *project_id, imgsec_err *err);
/* Deletes the user, its grants and tokens. IMGSEC_ENOTFOUND if absent. */
int store_user_del(store *st, const char *domain, const char *name, imgsec_err *err);

typedef struct {
    int64_t id;
    char domain[STORE_NAME_MAX + 1];
    char name[STORE_NAME_MAX + 1];
} store_user;

/* Lists users with their grants: cb once per (user, grant); a user with no
 * grant is reported once with grant == NULL. Ordered by domain, name, project. */
int store_user_list(store *st, void (*cb)(const store_user *u, const store_grant *g, void *arg),
                    void *arg, imgsec_err *err);

/* Looks up a user's password hash. IMGSEC_ENOTFOUND if no such user. */
int store_user_get(store *st, const char *domain, const char *name, store_user *u,
                   char *pw_hash, size_t pw_hash_size, imgsec_err *err);

/* The user's grant on project_id. IMGSEC_ENOTFOUND if none. */
int store_grant_get(store *st, int64_t user_id, const char *project_id, store_grant *g,
                    imgsec_err *err);

/* Tokens are stored only as the SHA-256 of the token string. */
#define STORE_TOKEN_HASH_BYTES 32
int store_token_insert(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES],
                       int64_t user_id, const char *project_id, int64_t issued_at_ms,
                       int64_t expires_at_ms, imgsec_err *err);

/* Who holds a token: the user and its current grant on the token's project.
 * IMGSEC_EAUTH if the token is unknown, expired at now_ms, or its user or
 * grant is gone. */
typedef struct {
    store_user user;
    store_grant grant;
    int64_t expires_at_ms;
} store_principal;
int store_token_lookup(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES],
                       int64_t now_ms, store_principal *p, imgsec_err *err);

/* The auth epoch: a number that grows whenever a stored principal may
 * have changed (a token, user, grant or access key deleted or changed, a
 * grant added: triggers, store_schema_auth.c) and only then; a login or an
 * ingest leaves it. A principal read after the epoch was e is valid while
 * the epoch is still e (and the token has not expired). */
int store_auth_epoch(store *st, int64_t *out, imgsec_err *err);
/* Revokes a token. IMGSEC_ENOTFOUND if unknown. */
int store_token_delete(store *st, const unsigned char hash[STORE_TOKEN_HASH_BYTES],
                       imgsec_err *err);
/* Deletes expired tokens; returns how many (or -1 on error). */
int64_t store_token_purge(store *st, int64_t now_ms, imgsec_err *err);

/* ---- a rematch owed (store_rematch.c) ----
 * Where a server on PostgreSQL records that the stored images must be
 * rematched (a SQLite server keeps the file <db>.rematch-pending): a
 * generation number that every change of the vulnerability database
 * seen by any node moves. store_rematch_owe moves it (each call its own
 * write transaction); store_rematch_owed reads it (0: nothing owed);
 * store_rematch_paid(gen) clears it if it is still gen, which a run read
 * before it began (a change seen meanwhile keeps it owed). */
int store_rematch_owe(store *st, imgsec_err *err);
int store_rematch_owed(store *st, int64_t *gen, imgsec_err *err);
int store_rematch_paid(store *st, int64_t gen, imgsec_err *err);

#endif
