/*
 * db.h - a workspace's SQLite database: audit chain, locks, counters.
 *
 * This is the only module that includes sqlite3.h.  It offers the narrow
 * set of operations audit.c and lock.c need, each one a cached prepared
 * statement, and knows nothing about hash chains or lock semantics.
 *
 * One file per workspace ($state_dir/workspaces/<id>/workspace.db),
 * created mode 0600, in WAL mode with synchronous=NORMAL (a commit
 * survives a crash of the process; a power loss may lose the last
 * commits), a busy timeout of 5 s, foreign keys off.  Schema version 1:
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)        schema_version = 1
 *   audit(seq INTEGER PRIMARY KEY, time_ns, workspace, agent, source, op,
 *         path, path2, result, errno, rule, trace_id, bytes, injected,
 *         encoding_version, hash BLOB)
 *   locks(id INTEGER PRIMARY KEY, path, holder, subtree, token,
 *         expires_ns, created_ns)
 *   counters(name TEXT PRIMARY KEY, value INTEGER)
 *
 * Threads: a struct db is used by one thread at a time (the caller
 * serialises).  The audit writer thread owns one handle; the lock table
 * owns another (used under its write lock); readers (the CLI, a verify)
 * open their own.  Several handles on one file are fine: WAL lets readers
 * run beside the one writer, and writers wait for each other up to the
 * busy timeout.
 *
 * Needs SQLite 3.35 or later (RETURNING).
 *
 * Errors: SN_EIO for any SQLite failure (db_errmsg() has SQLite's text),
 * SN_ENOENT for a missing row or file, SN_ENOTSUP for a newer schema,
 * SN_ENOMEM, SN_EINVAL.
 */
#ifndef SN_DB_H
#define SN_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 2
#define DB_HASH_LEN       32

/* db_open() flags */
#define DB_CREATE 0x1 /* create the file and the schema if missing */

struct db;

/*
 * Open the database at path.  Without DB_CREATE the file must exist and
 * hold a Sentinel schema.  On success *out is a new handle, released with
 * db_close() (db_close(NULL) is a no-op).
 */
int db_open(const char *path, int flags, struct db **out);
void db_close(struct db *db);

/* SQLite's text for the last failure on this handle (never NULL). */
const char *db_errmsg(struct db *db);

/*
 * Run SQL statements that return no rows (schema maintenance, tests that
 * tamper with a trail).  Not for the hot path: nothing is cached.
 */
int db_exec(struct db *db, const char *sql);

/* ---- audit -------------------------------------------------------------- */

/*
 * One audit row.  Strings are never NULL ("" for none) and are not
 * copied: in db_audit_append() they belong to the caller; in a
 * db_audit_each() callback they point into SQLite's memory and are valid
 * only during the call.
 */
struct db_audit_row {
	uint64_t seq;
	int64_t time_ns; /* CLOCK_REALTIME, ns since the epoch */
	const char *workspace;
	const char *agent;
	const char *source; /* "fs", "api", "exec" */
	const char *op;
	const char *path;
	const char *path2;
	const char *result; /* "ok", "denied", "error" */
	int64_t err;        /* positive errno, 0 for none */
	const char *rule;
	const char *trace_id;
	int64_t bytes;
	int64_t injected; /* 1 = an injected fault */
	int64_t encoding_version;
	const char *role; /* version 2 */
	const char *auth; /* version 2 */
	int64_t status;   /* version 2 */
	unsigned char hash[DB_HASH_LEN];
	size_t hash_len; /* as stored: DB_HASH_LEN unless tampered with */
};

/* Insert rows[0..n) in one transaction: all or none. */
int db_audit_append(struct db *db, const struct db_audit_row *const *rows,
    size_t n);

/* The row with the highest seq: *seq and hash (DB_HASH_LEN bytes).
 * SN_ENOENT when the table is empty. */
int db_audit_last(struct db *db, uint64_t *seq, unsigned char *hash);

/*
 * Call fn for each row with seq > after, in seq order, at most limit rows
 * (0 = no limit), all read in one transaction (one snapshot).  fn returns
 * 0 to go on; anything else stops the walk and is returned.
 */
typedef int (*db_audit_fn)(const struct db_audit_row *row, void *arg);
int db_audit_each(struct db *db, uint64_t after, uint64_t limit, db_audit_fn fn,
    void *arg);

/* ---- locks -------------------------------------------------------------- */

struct db_lock_row {
	uint64_t id;
	const char *path;
	const char *holder;
	int subtree;
	uint64_t token;
	int64_t expires_ns; /* CLOCK_REALTIME */
	int64_t created_ns; /* CLOCK_REALTIME */
};

/* Insert or replace the row with row->id. */
int db_lock_put(struct db *db, const struct db_lock_row *row);
/* Delete row id (0 if there was none). */
int db_lock_delete(struct db *db, uint64_t id);
/* Delete every row with expires_ns <= now_ns; *n (may be NULL) = count. */
int db_lock_delete_expired(struct db *db, int64_t now_ns, uint64_t *n);
/* Call fn for each row (strings valid during the call); as db_audit_each. */
typedef int (*db_lock_fn)(const struct db_lock_row *row, void *arg);
int db_lock_each(struct db *db, db_lock_fn fn, void *arg);

/* ---- counters ----------------------------------------------------------- */

/* Add one to counter name (missing = 0) and return the new value. */
int db_counter_next(struct db *db, const char *name, uint64_t *out);
/* Set counter name to value if value is larger (a high-water mark). */
int db_counter_raise(struct db *db, const char *name, uint64_t value);

/* ---- the catalog (catalog.db: workspaces made by the API, grants) ------ */

struct db_ws_row {
	const char *id;
	const char *repo; /* what it was cloned from */
	const char *root; /* its backing directory */
	int64_t created_ns;
};

/* Add a workspace: 0, SN_EEXIST (the id is taken) or SN_EIO. */
int db_ws_put(struct db *db, const struct db_ws_row *row);
/* Remove a workspace and its grants: 0, SN_ENOENT or SN_EIO. */
int db_ws_delete(struct db *db, const char *id);
/* Call fn for each workspace by id (strings valid during the call);
 * a non-zero return from fn stops the walk and is returned. */
typedef int (*db_ws_fn)(const struct db_ws_row *row, void *arg);
int db_ws_each(struct db *db, db_ws_fn fn, void *arg);

/* Grant agent the workspace (granting twice is 0). */
int db_grant_put(struct db *db, const char *ws, const char *agent);
/* Take a grant back: 0, SN_ENOENT (there was none) or SN_EIO. */
int db_grant_delete(struct db *db, const char *ws, const char *agent);
typedef int (*db_grant_fn)(const char *ws, const char *agent, void *arg);
int db_grant_each(struct db *db, db_grant_fn fn, void *arg);

#endif
