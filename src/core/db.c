/*
 * db.c - a workspace's SQLite database (see db.h).  The only file that
 * includes sqlite3.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/db.h"
#include "core/err.h"

#define BUSY_TIMEOUT_MS 5000

enum {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_AUDIT_INSERT,
	S_AUDIT_LAST,
	S_AUDIT_EACH,
	S_LOCK_PUT,
	S_LOCK_DELETE,
	S_LOCK_EXPIRED,
	S_LOCK_EACH,
	S_COUNTER_NEXT,
	S_COUNTER_RAISE,
	S_MAX_
};

/* Prepared once per handle, on first use. */
static const char *const sql_text[S_MAX_] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_AUDIT_INSERT] = "INSERT INTO audit(seq, time_ns, workspace, agent,"
	                   " source, op, path, path2, result, errno, rule,"
	                   " trace_id, bytes, injected, encoding_version, hash,"
	                   " role, auth, status)"
	                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	                   " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
	[S_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC"
	                 " LIMIT 1",
	[S_AUDIT_EACH] = "SELECT seq, time_ns, workspace, agent, source, op,"
	                 " path, path2, result, errno, rule, trace_id, bytes,"
	                 " injected, encoding_version, hash, role, auth,"
	                 " status FROM audit WHERE seq > ?1 ORDER BY seq"
	                 " LIMIT ?2",
	[S_LOCK_PUT] = "INSERT OR REPLACE INTO locks(id, path, holder,"
	               " subtree, token, expires_ns, created_ns)"
	               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_LOCK_DELETE] = "DELETE FROM locks WHERE id = ?1",
	[S_LOCK_EXPIRED] = "DELETE FROM locks WHERE expires_ns <= ?1",
	[S_LOCK_EACH] = "SELECT id, path, holder, subtree, token, expires_ns,"
	                " created_ns FROM locks ORDER BY id",
	[S_COUNTER_NEXT] = "INSERT INTO counters(name, value) VALUES(?1, 1)"
	                   " ON CONFLICT(name) DO UPDATE SET value = value + 1"
	                   " RETURNING value",
	[S_COUNTER_RAISE] = "INSERT INTO counters(name, value) VALUES(?1, ?2)"
	                    " ON CONFLICT(name) DO UPDATE"
	                    " SET value = max(value, excluded.value)",
};

static const char schema_sql[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY,"
    " time_ns INTEGER NOT NULL, workspace TEXT NOT NULL,"
    " agent TEXT NOT NULL, source TEXT NOT NULL, op TEXT NOT NULL,"
    " path TEXT NOT NULL, path2 TEXT NOT NULL, result TEXT NOT NULL,"
    " errno INTEGER NOT NULL, rule TEXT NOT NULL, trace_id TEXT NOT NULL,"
    " bytes INTEGER NOT NULL, injected INTEGER NOT NULL,"
    " encoding_version INTEGER NOT NULL, hash BLOB NOT NULL,"
    " role TEXT NOT NULL DEFAULT '', auth TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS locks(id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL, holder TEXT NOT NULL, subtree INTEGER NOT NULL,"
    " token INTEGER NOT NULL, expires_ns INTEGER NOT NULL,"
    " created_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS workspaces(id TEXT PRIMARY KEY,"
    " repo TEXT NOT NULL, root TEXT NOT NULL, created_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS grants(workspace TEXT NOT NULL,"
    " agent TEXT NOT NULL, PRIMARY KEY(workspace, agent));"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '2');"
    "COMMIT;";

/* Schema 1 -> 2: the API's role, credential and status columns. */
static const char upgrade_1_2_sql[] =
    "BEGIN IMMEDIATE;"
    "ALTER TABLE audit ADD COLUMN role TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN auth TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN status INTEGER NOT NULL DEFAULT 0;"
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
    "COMMIT;";

struct db {
	sqlite3 *h;
	sqlite3_stmt *st[S_MAX_];
	char msg[256]; /* text of the last failure */
};

/* Record SQLite's message for the last failure; returns SN_EIO. */
static int
fail(struct db *db, const char *what)
{
	snprintf(db->msg, sizeof(db->msg), "%s: %s", what,
	    db->h != NULL ? sqlite3_errmsg(db->h) : "no handle");
	return SN_EIO;
}

/* The cached statement, prepared on first use; NULL on failure. */
static sqlite3_stmt *
stmt(struct db *db, int which)
{
	if (db->st[which] == NULL &&
	    sqlite3_prepare_v3(db->h, sql_text[which], -1,
	        SQLITE_PREPARE_PERSISTENT, &db->st[which], NULL) != SQLITE_OK) {
		fail(db, "prepare");
		db->st[which] = NULL;
	}
	return db->st[which];
}

static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows. */
static int
run(struct db *db, int which)
{
	sqlite3_stmt *st = stmt(db, which);
	int rc;

	if (st == NULL)
		return SN_EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(db, sql_text[which]);
		done(st);
		return SN_EIO;
	}
	done(st);
	return 0;
}

static void
rollback(struct db *db)
{
	char keep[sizeof(db->msg)];

	if (sqlite3_get_autocommit(db->h))
		return; /* SQLite already rolled back */
	memcpy(keep, db->msg, sizeof(keep));
	(void)run(db, S_ROLLBACK);
	memcpy(db->msg, keep, sizeof(keep));
}

/* Create path mode 0600 if missing; tighten an existing file we own. */
static int
prepare_file(const char *path, int create)
{
	struct stat st;
	int fd;

	/*
	 * Never open() and close() an existing database here: closing any
	 * descriptor of a file drops every POSIX lock the process holds on
	 * it, including SQLite's of another connection of this process (the
	 * audit writer's, when the lock table opens the same file), and a
	 * reader elsewhere would then take itself for the last connection
	 * and delete the live WAL.
	 */
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return SN_EINVAL;
		if ((st.st_mode & 077) != 0 && st.st_uid == geteuid())
			(void)chmod(path, 0600);
		return 0;
	}
	if (errno != ENOENT)
		return SN_ESYS;
	if (!create)
		return SN_ENOENT;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_CREAT | O_EXCL,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : SN_ESYS;
	close(fd);
	return 0;
}

/* One-row, one-column text query into buf ("" when there is no row). */
static int
query_text(struct db *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(db, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		if (t != NULL)
			snprintf(buf, len, "%s", (const char *)t);
	} else if (rc != SQLITE_DONE) {
		fail(db, sql);
		sqlite3_finalize(st);
		return SN_EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

int
db_open(const char *path, int flags, struct db **out)
{
	struct db *db = NULL;
	char buf[32];
	int r, oflags;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return SN_EINVAL;
	r = prepare_file(path, flags & DB_CREATE);
	if (r < 0)
		return r;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return SN_ENOMEM;
	oflags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &db->h, oflags, NULL) != SQLITE_OK) {
		r = db->h == NULL ? SN_ENOMEM : SN_EIO;
		goto out;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
	r = query_text(db, "PRAGMA journal_mode=WAL", buf, sizeof(buf));
	if (r < 0)
		goto out;
	if (strcmp(buf, "wal") != 0) {
		snprintf(db->msg, sizeof(db->msg), "journal_mode is %s", buf);
		r = SN_EIO;
		goto out;
	}
	r = db_exec(db,
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
	    " PRAGMA trusted_schema=OFF;");
	if (r < 0)
		goto out;
	if ((flags & DB_CREATE) && (r = db_exec(db, schema_sql)) < 0) {
		rollback(db);
		goto out;
	}
	r = query_text(db,
	    "SELECT value FROM meta WHERE key = 'schema_version'", buf,
	    sizeof(buf));
	if (r < 0)
		goto out;
	if (strcmp(buf, "1") == 0 && (flags & DB_CREATE)) {
		if ((r = db_exec(db, upgrade_1_2_sql)) < 0) {
			rollback(db);
			goto out;
		}
	} else if (strcmp(buf, "2") != 0) {
		r = buf[0] == '\0' ? SN_EINVAL : SN_ENOTSUP;
		goto out;
	}
	*out = db;
	db = NULL;
	r = 0;
out:
	db_close(db);
	return r;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < S_MAX_; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	free(db);
}

const char *
db_errmsg(struct db *db)
{
	if (db == NULL)
		return "no database";
	return db->msg[0] != '\0' ? db->msg : "no error";
}

int
db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(db->msg, sizeof(db->msg), "%s",
		    msg != NULL ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return SN_EIO;
	}
	return 0;
}

/* ---- audit -------------------------------------------------------------- */

static int
bind_audit(sqlite3_stmt *st, const struct db_audit_row *r)
{
	int rc = SQLITE_OK;

	/* Each bind returns a code; keep the first failure. */
#define B(call) \
	do { \
		if (rc == SQLITE_OK) \
			rc = (call); \
	} while (0)
	B(sqlite3_bind_int64(st, 1, (sqlite3_int64)r->seq));
	B(sqlite3_bind_int64(st, 2, r->time_ns));
	B(sqlite3_bind_text(st, 3, r->workspace, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 4, r->agent, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 5, r->source, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 6, r->op, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 7, r->path, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 8, r->path2, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 9, r->result, -1, SQLITE_STATIC));
	B(sqlite3_bind_int64(st, 10, r->err));
	B(sqlite3_bind_text(st, 11, r->rule, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 12, r->trace_id, -1, SQLITE_STATIC));
	B(sqlite3_bind_int64(st, 13, r->bytes));
	B(sqlite3_bind_int64(st, 14, r->injected));
	B(sqlite3_bind_int64(st, 15, r->encoding_version));
	B(sqlite3_bind_blob(st, 16, r->hash, DB_HASH_LEN, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 17, r->role != NULL ? r->role : "", -1,
	    SQLITE_STATIC));
	B(sqlite3_bind_text(st, 18, r->auth != NULL ? r->auth : "", -1,
	    SQLITE_STATIC));
	B(sqlite3_bind_int64(st, 19, r->status));
#undef B
	return rc;
}

int
db_audit_append(struct db *db, const struct db_audit_row *const *rows, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int r;

	if (n == 0)
		return 0;
	st = stmt(db, S_AUDIT_INSERT);
	if (st == NULL)
		return SN_EIO;
	r = run(db, S_BEGIN);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (bind_audit(st, rows[i]) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			fail(db, "insert audit row");
			done(st);
			r = SN_EIO;
			goto out;
		}
		done(st);
	}
	r = run(db, S_COMMIT);
out:
	if (r < 0)
		rollback(db);
	return r;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

int
db_audit_last(struct db *db, uint64_t *seq, unsigned char *hash)
{
	sqlite3_stmt *st = stmt(db, S_AUDIT_LAST);
	const void *b;
	int rc, n;

	*seq = 0;
	memset(hash, 0, DB_HASH_LEN);
	if (st == NULL)
		return SN_EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		done(st);
		return SN_ENOENT;
	}
	if (rc != SQLITE_ROW) {
		fail(db, "read last audit row");
		done(st);
		return SN_EIO;
	}
	*seq = (uint64_t)sqlite3_column_int64(st, 0);
	b = sqlite3_column_blob(st, 1);
	n = sqlite3_column_bytes(st, 1);
	if (b != NULL && n > 0)
		memcpy(hash, b, n < DB_HASH_LEN ? (size_t)n : DB_HASH_LEN);
	done(st);
	return 0;
}

int
db_audit_each(struct db *db, uint64_t after, uint64_t limit, db_audit_fn fn,
    void *arg)
{
	sqlite3_stmt *st = stmt(db, S_AUDIT_EACH);
	struct db_audit_row row;
	const void *b;
	int rc, r = 0, n;

	if (st == NULL)
		return SN_EIO;
	if (after > INT64_MAX)
		after = INT64_MAX;
	if (limit == 0 || limit > INT64_MAX)
		limit = INT64_MAX;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit) != SQLITE_OK) {
		fail(db, "bind");
		done(st);
		return SN_EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.seq = (uint64_t)sqlite3_column_int64(st, 0);
		row.time_ns = sqlite3_column_int64(st, 1);
		row.workspace = col_text(st, 2);
		row.agent = col_text(st, 3);
		row.source = col_text(st, 4);
		row.op = col_text(st, 5);
		row.path = col_text(st, 6);
		row.path2 = col_text(st, 7);
		row.result = col_text(st, 8);
		row.err = sqlite3_column_int64(st, 9);
		row.rule = col_text(st, 10);
		row.trace_id = col_text(st, 11);
		row.bytes = sqlite3_column_int64(st, 12);
		row.injected = sqlite3_column_int64(st, 13);
		row.encoding_version = sqlite3_column_int64(st, 14);
		row.role = col_text(st, 16);
		row.auth = col_text(st, 17);
		row.status = sqlite3_column_int64(st, 18);
		b = sqlite3_column_blob(st, 15);
		n = sqlite3_column_bytes(st, 15);
		row.hash_len = n > 0 ? (size_t)n : 0;
		if (b != NULL && n > 0)
			memcpy(row.hash, b,
			    n < DB_HASH_LEN ? (size_t)n : DB_HASH_LEN);
		r = fn(&row, arg);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(db, "read audit rows");
	done(st);
	return r;
}

/* ---- locks -------------------------------------------------------------- */

int
db_lock_put(struct db *db, const struct db_lock_row *row)
{
	sqlite3_stmt *st = stmt(db, S_LOCK_PUT);
	int rc;

	if (st == NULL)
		return SN_EIO;
	rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)row->id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, row->path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, row->holder, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, row->subtree ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)row->token);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, row->expires_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, row->created_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(db, "write lock row");
		done(st);
		return SN_EIO;
	}
	done(st);
	return 0;
}

int
db_lock_delete(struct db *db, uint64_t id)
{
	sqlite3_stmt *st = stmt(db, S_LOCK_DELETE);

	if (st == NULL)
		return SN_EIO;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)id) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		fail(db, "delete lock row");
		done(st);
		return SN_EIO;
	}
	done(st);
	return 0;
}

int
db_lock_delete_expired(struct db *db, int64_t now_ns, uint64_t *n)
{
	sqlite3_stmt *st = stmt(db, S_LOCK_EXPIRED);

	if (n != NULL)
		*n = 0;
	if (st == NULL)
		return SN_EIO;
	if (sqlite3_bind_int64(st, 1, now_ns) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		fail(db, "delete expired locks");
		done(st);
		return SN_EIO;
	}
	if (n != NULL)
		*n = (uint64_t)sqlite3_changes(db->h);
	done(st);
	return 0;
}

int
db_lock_each(struct db *db, db_lock_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(db, S_LOCK_EACH);
	struct db_lock_row row;
	int rc, r = 0;

	if (st == NULL)
		return SN_EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.id = (uint64_t)sqlite3_column_int64(st, 0);
		row.path = col_text(st, 1);
		row.holder = col_text(st, 2);
		row.subtree = sqlite3_column_int(st, 3) != 0;
		row.token = (uint64_t)sqlite3_column_int64(st, 4);
		row.expires_ns = sqlite3_column_int64(st, 5);
		row.created_ns = sqlite3_column_int64(st, 6);
		r = fn(&row, arg);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(db, "read lock rows");
	done(st);
	return r;
}

/* ---- counters ----------------------------------------------------------- */

int
db_counter_next(struct db *db, const char *name, uint64_t *out)
{
	sqlite3_stmt *st = stmt(db, S_COUNTER_NEXT);
	int rc;

	*out = 0;
	if (st == NULL)
		return SN_EIO;
	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		fail(db, "counter");
		done(st);
		return SN_EIO;
	}
	*out = (uint64_t)sqlite3_column_int64(st, 0);
	/* The statement's change is committed when it is reset. */
	rc = sqlite3_step(st);
	done(st);
	if (rc != SQLITE_DONE) {
		*out = 0;
		return fail(db, "counter");
	}
	return 0;
}

int
db_counter_raise(struct db *db, const char *name, uint64_t value)
{
	sqlite3_stmt *st = stmt(db, S_COUNTER_RAISE);
	int rc;

	if (st == NULL)
		return SN_EIO;
	if (value > INT64_MAX)
		return SN_ERANGE;
	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)value);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(db, "counter");
		done(st);
		return SN_EIO;
	}
	done(st);
	return 0;
}

/* ---- the catalog ---------------------------------------------------------- */

/*
 * Run sql with its ?1..?n bound to the texts args[0..n) (NULL: SQL NULL)
 * and step it to the end.  *changes (may be NULL): rows changed.
 */
static int
run_text(struct db *db, const char *sql, const char *const *args, int n,
    int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_OK, i;

	if (changes != NULL)
		*changes = 0;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(db, "prepare");
	for (i = 0; i < n && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
	if (rc != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(db->h);

		fail(db, "catalog");
		sqlite3_finalize(st);
		return ext == SQLITE_CONSTRAINT_PRIMARYKEY ? SN_EEXIST : SN_EIO;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(db->h);
	sqlite3_finalize(st);
	return 0;
}

int
db_ws_put(struct db *db, const struct db_ws_row *row)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->h,
	        "INSERT INTO workspaces(id, repo, root, created_ns)"
	        " VALUES(?1, ?2, ?3, ?4)",
	        -1, &st, NULL) != SQLITE_OK)
		return fail(db, "prepare");
	rc = sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, row->repo, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, row->root, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, row->created_ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(db->h);

		fail(db, "add workspace");
		sqlite3_finalize(st);
		return ext == SQLITE_CONSTRAINT_PRIMARYKEY ? SN_EEXIST : SN_EIO;
	}
	sqlite3_finalize(st);
	return 0;
}

int
db_ws_delete(struct db *db, const char *id)
{
	const char *args[1] = { id };
	int r, n = 0;

	if ((r = db_exec(db, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = run_text(db, "DELETE FROM grants WHERE workspace = ?1", args, 1,
	    NULL);
	if (r == 0)
		r = run_text(db, "DELETE FROM workspaces WHERE id = ?1", args,
		    1, &n);
	if (r == 0 && n == 0)
		r = SN_ENOENT;
	if (r < 0) {
		rollback(db);
		return r;
	}
	return db_exec(db, "COMMIT");
}

int
db_ws_each(struct db *db, db_ws_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct db_ws_row row;
	int rc, r = 0;

	if (sqlite3_prepare_v2(db->h,
	        "SELECT id, repo, root, created_ns FROM workspaces"
	        " ORDER BY id",
	        -1, &st, NULL) != SQLITE_OK)
		return fail(db, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.id = col_text(st, 0);
		row.repo = col_text(st, 1);
		row.root = col_text(st, 2);
		row.created_ns = sqlite3_column_int64(st, 3);
		if ((r = fn(&row, arg)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(db, "read workspaces");
	sqlite3_finalize(st);
	return r;
}

int
db_grant_put(struct db *db, const char *ws, const char *agent)
{
	const char *args[2] = { ws, agent };

	return run_text(db,
	    "INSERT OR IGNORE INTO grants(workspace, agent) VALUES(?1, ?2)",
	    args, 2, NULL);
}

int
db_grant_delete(struct db *db, const char *ws, const char *agent)
{
	const char *args[2] = { ws, agent };
	int r, n = 0;

	r = run_text(db,
	    "DELETE FROM grants WHERE workspace = ?1 AND agent = ?2", args, 2,
	    &n);
	if (r == 0 && n == 0)
		r = SN_ENOENT;
	return r;
}

int
db_grant_each(struct db *db, db_grant_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(db->h,
	        "SELECT workspace, agent FROM grants ORDER BY workspace, agent",
	        -1, &st, NULL) != SQLITE_OK)
		return fail(db, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = fn(col_text(st, 0), col_text(st, 1), arg)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(db, "read grants");
	sqlite3_finalize(st);
	return r;
}
