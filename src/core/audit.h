/*
 * audit.h - the tamper-evident audit trail of a workspace.
 *
 * One event per open, per change, per denial, per injected fault (and,
 * from the API, per tool call and auth failure).  Events are rows of the
 * workspace database (db.h), numbered by a gapless seq, each carrying
 *
 *   hash = HMAC-SHA-256(key, prev_hash || canonical(event))
 *
 * where prev_hash is the hash of seq - 1 (32 zero bytes for seq 1) and
 * canonical() is the versioned encoding below.  The key is not in the
 * database (a 0600 key file outside the state dir), so whoever can write
 * the database cannot recompute the chain.  After every commit the head
 * of the chain is written to a file beside the database, one fixed-size
 * record (151 bytes):
 *
 *   "<seq: 20 decimal digits> <hash: 64 hex> <mac: 64 hex>\n"
 *   mac = HMAC-SHA-256(key, "sentinel-audit-head-v1" NUL <seq> ":" <hash>)
 *
 * (in the mac, seq in decimal without padding and hash as 32 raw bytes).
 * The mac keeps whoever can write the state dir from writing a head that
 * matches a truncated trail (the row hashes alone are readable).  The
 * record is rewritten in place by one pwrite() on a descriptor the writer
 * keeps open, without fsync: a crash of the process cannot tear one
 * write(), so after kill -9 the head names the last commit or the one
 * before (rows after the head are accepted when they chain, see
 * audit_verify()); only a power loss can lose the last commits, and then
 * audit_verify() may report the missing tail.  (A write to a temporary
 * file renamed over the head was measured at 160 us on ext4, 8 times an
 * SQLite WAL commit; the pwrite costs under 1 us.)  A reader that races
 * the pwrite can see a torn record: audit_verify() reads again one whose
 * mac does not check.

 * Canonical encoding, version 1 (encoding_version = 1 in every row):
 *
 *   "v1" then, for each field in this order,
 *        <decimal length of the value in bytes> ":" <value> ","
 *   fields: seq, time_ns, workspace, agent, source, op, path, path2,
 *           result, errno, rule, trace_id, bytes, injected
 *
 * Integers are written in decimal (a '-' for negatives, no leading zeros
 * or '+'); strings are their bytes ("" for none).  So an event with seq
 * 7 and op "unlink" encodes as "v1" "1:7," <time_ns> ... "6:unlink," ...;
 * docs/audit.md has a complete example.
 *
 * Pipeline.  Producers (FUSE threads, API threads) call audit_emit(); it
 * copies the event onto a bounded in-memory queue.  A commit takes
 * everything queued, numbers and chains it, inserts it in one transaction
 * (group commit), writes the head file, then wakes whoever waits; one
 * commit runs at a time.  Events nobody waits for (wait == 0) are
 * committed by the writer thread of the struct audit, within about a
 * millisecond, so that the producer never waits on the disk.  A producer
 * that must wait for its event (wait != 0: a change is answered only once
 * its event is committed) makes the commit itself when none is running,
 * and otherwise waits for the running one (whose followers it then
 * commits in turn): a change costs its own transaction and no hand-over
 * to another thread, and concurrent changes share transactions.  A full
 * queue blocks producers (back-pressure); no event is dropped.  If a
 * commit fails, every event of that batch is lost to the trail: the
 * committer logs it (an error line with the count and the first event), emit(wait=1) returns SN_EIO (fail closed), and audit_ok()
 * returns SN_EIO until a later commit succeeds.  With fail_open, waiters
 * get 0 and the writer logs a warning instead.
 *
 * Threads: every function except audit_close() may be called from any
 * number of threads at once.  Lock order: a struct audit has one mutex;
 * no other lock is taken under it.
 */
#ifndef SN_AUDIT_H
#define SN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_KEY_LEN     32
#define AUDIT_HASH_LEN    32
#define AUDIT_ENCODING    2           /* the canonical encoding written */
#define AUDIT_PATH_MAX    65536       /* bytes in path, path2 */
#define AUDIT_FIELD_MAX   1024        /* bytes in every other string */
#define AUDIT_QUEUE_MAX   8192        /* events queued before back-pressure */
#define AUDIT_QUEUE_BYTES (32u << 20) /* ... or bytes queued */
#define AUDIT_HEAD_NAME   "audit.head"
#define AUDIT_DB_NAME     "workspace.db"
#define AUDIT_KEY_SUFFIX  ".audit-key"

enum audit_source {
	AUDIT_SRC_FS = 0, /* a FUSE view */
	AUDIT_SRC_API,    /* the control API */
	AUDIT_SRC_EXEC,   /* a command run by the exec tool */
};

enum audit_result {
	AUDIT_RES_OK = 0, /* done */
	AUDIT_RES_DENIED, /* refused by policy, lock, role, quota, audit */
	AUDIT_RES_ERROR,  /* tried and failed (err says why) */
};

/*
 * An event as a producer describes it.  audit_emit() copies everything, so
 * the strings only need to live during the call.  NULL strings are "".
 */
struct audit_event {
	int64_t time_ns; /* CLOCK_REALTIME ns; 0 = now */
	const char *workspace;
	const char *agent;
	enum audit_source source;
	const char *op;   /* required: "open", "write", "unlink", "rename"... */
	const char *path; /* workspace-relative */
	const char *path2; /* rename/link target */
	enum audit_result result;
	int err;          /* positive errno, 0 = none */
	const char *rule; /* what decided: "policy:deny secrets", "lock:42" */
	const char *trace_id; /* "" until tracing exists */
	int64_t bytes;        /* bytes written (summed at release) */
	int injected;         /* 1 = a fault injected by chaos */
	const char *role;     /* the agent's role (API), or NULL */
	const char *auth;     /* credential: certificate SHA-256, "token" */
	int status;           /* API: the HTTP status replied; 0 = none */
};

struct audit_stats {
	uint64_t committed; /* events committed since audit_open() */
	uint64_t lost;      /* events whose commit failed */
	uint64_t batches;   /* transactions committed */
	uint64_t last_seq;  /* seq of the last committed event */
	size_t queued;      /* events waiting now */
};

struct audit;

/* Text for an enum value ("fs", "ok", ...); "?" when out of range. */
const char *audit_source_str(enum audit_source s);
const char *audit_result_str(enum audit_result r);

/*
 * Open (creating if needed) the database at db_path, whose head file is
 * head_path, and start its writer thread.  key[0..keylen) (16 to 64
 * bytes) is copied into OpenSSL's HMAC state; the caller wipes its own
 * copy.  The chain is resumed from the last row; the head file must agree
 * with it (it names a row whose hash it holds, and the rows after it
 * chain correctly), otherwise the trail was truncated or edited while we
 * were down: without fail_open that is SN_ESTALE (logged), with fail_open
 * the stale head is renamed to "<head>.stale", an error is logged, and
 * the chain goes on.  On success *out is a new audit, stopped and freed
 * by audit_close().
 */
int audit_open(const char *db_path, const char *head_path,
    const unsigned char *key, size_t keylen, int fail_open, struct audit **out);

/*
 * Queue ev.  With wait == 0 returns once the event is queued (blocking
 * while the queue is full); with wait != 0 returns once it is committed
 * (0) or its commit failed (SN_EIO; 0 with fail_open).  SN_EINVAL for a
 * bad event (no op, a string too long, an enum out of range), SN_ENOMEM,
 * SN_EIO once audit_close() has begun.
 */
int audit_emit(struct audit *a, const struct audit_event *ev, int wait);

/* audit_emit(a, ev, 1) that also returns the event's seq (0 if it was
 * not committed, e.g. fail_open after a failure). */
int audit_commit(struct audit *a, const struct audit_event *ev, uint64_t *seq);

/*
 * 0 if a change may go ahead: the last commit succeeded (or nothing has
 * been committed yet), or the audit is fail_open; SN_EIO otherwise.  A
 * FUSE handler calls this before it applies a change, so that a broken
 * audit refuses changes instead of applying them unrecorded.  Lock free.
 */
int audit_ok(struct audit *a);

void audit_stats(struct audit *a, struct audit_stats *st);

/* Commit everything queued, stop the writer, free a.  NULL is a no-op.
 * No other call on a may be running or made afterwards. */
void audit_close(struct audit *a);

/* ---- verification --------------------------------------------------------- */

struct audit_verify_report {
	uint64_t events;   /* rows checked */
	uint64_t last_seq; /* highest seq in the database */
	uint64_t head_seq; /* seq the head file names (0 if none) */
	uint64_t bad_seq;  /* first bad seq when broken; 0 = not one row */
	char why[256];     /* what is wrong, or "" */
};

/*
 * Recompute the chain of db_path and compare its end with head_path.
 * Returns 0 if the trail is intact, 1 if it is broken (rep says the first
 * bad seq and why: a gap (deleted row), a hash that does not match (row
 * edited, inserted, reordered, hash changed, or the wrong key), a head
 * beyond the last row (tail deleted), a head that does not match its
 * row, a forged or missing head), or a negative SN_E* when it could not
 * be checked (no database, unreadable).  Rows after the head are
 * accepted when they chain correctly (a crash between a commit and the
 * head write leaves them).  The head file is read before the database, so
 * a verify beside a running daemon sees no false truncation.
 */
int audit_verify(const char *db_path, const char *head_path,
    const unsigned char *key, size_t keylen, struct audit_verify_report *rep);

/*
 * The canonical encoding (version 1) of a row: *out is malloc'd, *outlen
 * its length.  Exported for audit_verify's tests and docs/audit.md.
 */
struct db_audit_row;
int audit_canonical(const struct db_audit_row *row, unsigned char **out,
    size_t *outlen);

/* ---- keys and paths --------------------------------------------------------- */

/*
 * Read the 32-byte key at path: exactly 32 raw bytes, or 64 hex digits
 * (an optional final newline).  The file must be a regular file (a
 * symlink to one is followed, as mounted Kubernetes secrets are), owned
 * by the effective uid, with no group or other permission bits: anything
 * else is SN_EPERM.  SN_ENOENT if it does not exist; SN_EINVAL if its
 * content is not a key.  key is wiped on failure.
 */
int audit_key_load(const char *path, unsigned char key[AUDIT_KEY_LEN]);

/* audit_key_load(), creating the file first (O_EXCL, mode 0600, 32 bytes
 * from getrandom, fsynced with its directory) if it does not exist. */
int audit_key_load_or_create(const char *path,
    unsigned char key[AUDIT_KEY_LEN]);

/* The default key file, "<state_dir>.audit-key": a sibling of the state
 * dir, so outside it.  *out is malloc'd.  SN_EINVAL when state_dir has no
 * name of its own ("/", ".", "..": set [server] audit_key_file). */
int audit_key_default_path(const char *state_dir, char **out);

/* "<state_dir>/workspaces/<id>/workspace.db" and ".../audit.head",
 * malloc'd (either out may be NULL). */
int audit_workspace_paths(const char *state_dir, const char *id, char **db_path,
    char **head_path);

#endif
