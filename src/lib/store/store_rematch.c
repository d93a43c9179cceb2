/* store_rematch.c - what a rematch of the stored images keeps in the
 * store beside the vulnerability rows (store_vul_diff.c, store_vul_bulk.c):
 * the lock that lets one rematch run at a time on a database, and the
 * record that a rematch is owed (PostgreSQL; a SQLite server keeps it as
 * the file <db>.rematch-pending beside the database, src/server/rematch.c).
 *
 * The lock is a session advisory lock (db_lock_session_try), not a claim
 * with a lease (store_tasks.c): it is held by the connection that writes
 * the run, so a node that dies or loses its connection frees it at once,
 * without a lease to renew during a run of minutes or to wait out after
 * a crash; a rematch is one job per database, not items to hand out.
 *
 * The owed record is one row of rematch_owed whose gen moves by one at
 * every change of the vulnerability database a node sees; a run reads
 * gen before it starts and, once done, deletes the row only if gen is
 * still that (no node saw a change meanwhile). Every node reads the same
 * row, so a change seen by one node and a run done by another pay each
 * other, and a node that starts runs what is owed, whoever saw it.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The key of the rematch lock: "imgsr" (write transactions take
 * DB_APPLICATION_ID, "imgs"). */
#define REMATCH_LOCK_KEY 0x696d677372LL

char *store_schema_rematch_owed(imgsec_err *err)
{
    static const char SQL[] =
        "CREATE TABLE IF NOT EXISTS rematch_owed (\n"
        "  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),\n"
        "  gen INTEGER NOT NULL);           -- moves at every change seen\n";
    char *s = strdup(SQL);
    if (!s)
        err_set(err, IMGSEC_EINTERNAL, "store: out of memory");
    return s;
}

int store_rematch_lock(store *st, bool *got, imgsec_err *err)
{
    *got = false;
    if (db_lock_session_try(st->conn, REMATCH_LOCK_KEY, got, NULL) != IMGSEC_OK)
        return store_derr(st, err, "taking the rematch lock");
    st->rematch_locked = *got;
    st->rematch_lock_gen = db_reconnects(st->conn);
    return IMGSEC_OK;
}

bool store_rematch_lock_held(store *st)
{
    return st->rematch_locked && db_reconnects(st->conn) == st->rematch_lock_gen;
}

void store_rematch_unlock(store *st)
{
    if (!st->rematch_locked)
        return;
    st->rematch_locked = false;
    if (db_reconnects(st->conn) == st->rematch_lock_gen)
        db_unlock_session(st->conn, REMATCH_LOCK_KEY);
}

/* Runs sql (?1 = v when with) in a write transaction of its own. */
static int owed_write(store *st, const char *sql, bool with, int64_t v, imgsec_err *err)
{
    int rc = store_write_begin(st, err);
    if (rc != IMGSEC_OK)
        return rc;
    db_stmt *s = store_dprepare(st, sql, "recording a rematch owed", err);
    if (!s) {
        store_rollback(st);
        return store_drc(err);
    }
    if (with)
        db_bind_int64(s, 1, v);
    rc = store_drun(st, s, "recording a rematch owed", err);
    db_finalize(s);
    if (rc == IMGSEC_OK)
        return store_commit(st, err);
    store_rollback(st);
    return rc;
}

int store_rematch_owe(store *st, imgsec_err *err)
{
    return owed_write(st,
                      "INSERT INTO rematch_owed (id, gen) VALUES (1, 1) "
                      "ON CONFLICT (id) DO UPDATE SET gen = rematch_owed.gen + 1",
                      false, 0, err);
}

int store_rematch_owed(store *st, int64_t *gen, imgsec_err *err)
{
    *gen = 0;
    db_stmt *s = store_dprepare(st, "SELECT gen FROM rematch_owed WHERE id = 1",
                                "reading the rematch owed", err);
    if (!s)
        return store_drc(err);
    int step = db_step(s), rc = IMGSEC_OK;
    if (step == DB_ROW)
        *gen = db_column_int64(s, 0);
    else if (step != DB_DONE)
        rc = store_derr(st, err, "reading the rematch owed");
    db_finalize(s);
    return rc;
}

int store_rematch_paid(store *st, int64_t gen, imgsec_err *err)
{
    return owed_write(st, "DELETE FROM rematch_owed WHERE id = 1 AND gen = ?1", true, gen, err);
}
