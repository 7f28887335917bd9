/*
 * lock.h - logical write locks of a workspace.
 *
 * A lock is held on a workspace-relative path by a holder (an agent id),
 * on the file alone or, with subtree, on the path and everything beneath
 * it.  While it is live, every change by anyone else to a path it covers
 * is refused (lock_check() says SN_EBUSY; the edge turns that into EBUSY
 * or HTTP 409).  Two kinds live in one table:
 *
 *  - explicit locks (lock_acquire()): a lease with a TTL, renewed with
 *    lock_renew(), persisted write-through in the workspace database so
 *    they survive a restart; expired ones are ignored at once and reaped
 *    lazily (at the next acquire, lock_reap(), lock_table_open()).
 *  - implicit write leases (lock_lease_acquire()): taken by opening a file
 *    for writing, released at its close; in memory only, no TTL,
 *    reference-counted per (path, holder) so several opens share one.
 *    Taking or dropping one never touches the disk.
 *
 * Conflicts: two locks conflict when their holders differ and their paths
 * overlap: the same path, or one beneath the other where that other is a
 * subtree lock.  A lease is a lock on its file alone.  A holder never
 * conflicts with itself.
 *
 * Re-acquiring: lock_acquire() by the holder of a live explicit lock on
 * the same path with the same subtree flag renews that lock (same id, same
 * token, new expiry) rather than failing or making a second one.
 *
 * Fencing tokens: every lock and lease gets a token larger than any token
 * given before in this workspace, across restarts: token = epoch << 40 |
 * n, where epoch is a counter in the database raised by one at each
 * lock_table_open() and n counts up in memory.  So leases get fresh tokens
 * without a disk write.  A lock's id equals its token.
 *
 * Leases may carry the identity of their file (lock_lease_acquire_file()):
 * such a lease also conflicts with a change to that file under any other
 * name (lock_check_file()), since a hard link is the same file.
 * Paths are canonical relative paths: no leading or trailing '/', no empty,
 * "." or ".." component; "" is the workspace root (lock "" with subtree to
 * lock everything).  At most LOCK_PATH_MAX bytes for a lock; lock_check()
 * takes any length.  Holders are 1 to LOCK_HOLDER_MAX bytes.
 *
 * Clocks: expiries are kept twice: as CLOCK_REALTIME ns (persisted, shown
 * to users, and used to compute the remaining TTL when a lock is loaded
 * after a restart) and as CLOCK_MONOTONIC ns in memory (what every check
 * compares with, so a wall-clock step does not expire or extend a live
 * lock).
 *
 * Threads: every function may be called from any number of threads.  One
 * rwlock per table (that is, per workspace), writer-preferring:
 * lock_check() takes it shared and does no disk I/O and no allocation,
 * walking from the path up through its ancestors in a hash of the locked
 * paths, so its cost is O(depth of the path), plus the locks below the
 * path for a subtree check; the rest take it exclusive.  Explicit
 * locks are written to the database under the exclusive lock (they are
 * rare, API-driven).  No other lock is taken under it.
 */
#ifndef SN_LOCK_H
#define SN_LOCK_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

#define LOCK_PATH_MAX   4095
#define LOCK_HOLDER_MAX 64
#define LOCK_TTL_MAX_MS (30LL * 24 * 3600 * 1000) /* 30 days */

/* A copy of one lock, owned by the caller. */
struct lock_info {
	uint64_t id;        /* for lock_release/lock_renew/lock_lease_release */
	uint64_t token;     /* fencing token */
	int subtree;        /* covers everything beneath path too */
	int lease;          /* an implicit write lease */
	unsigned refs;      /* a lease: the opens that share it; else 1 */
	int64_t expires_ns; /* CLOCK_REALTIME ns; 0 for a lease */
	int64_t created_ns; /* CLOCK_REALTIME ns */
	char holder[LOCK_HOLDER_MAX + 1];
	char path[LOCK_PATH_MAX + 1];
};

struct lock_table;

/*
 * A file's identity (st_dev, st_ino).  A write lease taken with one
 * covers the file under every name it has, so another name of a
 * hard-linked file cannot be used to write around it.
 */
struct lock_file {
	uint64_t dev, ino;
};

/* The identity leases cover: buf filled for a regular file (mode), else
 * NULL (a directory or a symlink is never leased). */
static inline const struct lock_file *
lock_file_id(dev_t dev, ino_t ino, mode_t mode, struct lock_file *buf)
{
	if (!S_ISREG(mode))
		return NULL;
	buf->dev = (uint64_t)dev;
	buf->ino = (uint64_t)ino;
	return buf;
}

/*
 * A table whose explicit locks persist in the workspace database at
 * db_path (created if missing; the table keeps its own handle), or only
 * in memory when db_path is NULL.  Expired rows are deleted, the others
 * loaded.  *out is freed by lock_table_close() (NULL is a no-op), which
 * drops every lease.
 */
int lock_table_open(const char *db_path, struct lock_table **out);
void lock_table_close(struct lock_table *t);

/*
 * Take an explicit lock for ttl_ms (1 .. LOCK_TTL_MAX_MS).  0 and *out
 * (may be NULL) is the lock; SN_EBUSY and *out is the conflicting lock
 * (its holder, path and expiry); SN_EINVAL/SN_ERANGE for a bad argument;
 * SN_EIO when it could not be persisted (then it is not taken).
 */
int lock_acquire(struct lock_table *t, const char *relpath, const char *holder,
    int subtree, int64_t ttl_ms, struct lock_info *out);

/* Drop explicit lock id.  holder must be its holder (SN_EPERM otherwise),
 * or NULL to drop anyone's (an admin).  SN_ENOENT if there is no such
 * live lock (an expired one is gone). */
int lock_release(struct lock_table *t, uint64_t id, const char *holder);

/* Extend explicit lock id to now + ttl_ms; same errors as lock_release;
 * *out (may be NULL) is the renewed lock.  An expired lock cannot be
 * renewed: acquire it again (a new token). */
int lock_renew(struct lock_table *t, uint64_t id, const char *holder,
    int64_t ttl_ms, struct lock_info *out);

/* Every live lock and lease, by id: *out is malloc'd (free()), *n its
 * length. */
int lock_list(struct lock_table *t, struct lock_info **out, size_t *n);

/*
 * The hot path, before every change.  0 if no live lock of another holder
 * covers relpath (an exact lock or lease on it, or a subtree lock on it
 * or an ancestor); with subtree (the change affects everything beneath
 * relpath: rename or removal of a directory), no lock beneath it either.
 * SN_EBUSY otherwise, with the first conflicting lock in *conflict (may
 * be NULL).  holder NULL conflicts with every lock.  SN_EINVAL for a path
 * that is not canonical.
 */
int lock_check(struct lock_table *t, const char *relpath, const char *holder,
    int subtree, struct lock_info *conflict);

/*
 * lock_check() for a change to the file f (NULL: not known) at relpath:
 * SN_EBUSY also when another holder has a write lease on f, under any
 * name.
 */
int lock_check_file(struct lock_table *t, const char *relpath,
    const struct lock_file *f, const char *holder, int subtree,
    struct lock_info *conflict);

/*
 * Take (or share: refs + 1) holder's implicit write lease on relpath, as
 * an open for writing does.  0 and *lease_id; SN_EBUSY (and *conflict,
 * may be NULL) when another holder's lock or lease covers relpath.
 * lock_lease_release() drops one reference (SN_ENOENT for an unknown id).
 * In memory only.
 */
int lock_lease_acquire(struct lock_table *t, const char *relpath,
    const char *holder, uint64_t *lease_id, struct lock_info *conflict);
/*
 * The same for the file f (NULL: not known) at relpath: the lease covers
 * f under every name (see lock_check_file()), and another holder's lease
 * on f under another name is a conflict too.  Opens of the same path by
 * the same holder share a lease only when they are of the same file.
 */
int lock_lease_acquire_file(struct lock_table *t, const char *relpath,
    const struct lock_file *f, const char *holder, uint64_t *lease_id,
    struct lock_info *conflict);
int lock_lease_release(struct lock_table *t, uint64_t lease_id);

/*
 * After a successful rename of old_relpath to new_relpath: the leases on
 * old_relpath and beneath it move to the same place under new_relpath,
 * keeping their ids and tokens.  Explicit locks stay on their paths: they
 * lock names, not files.
 */
int lock_rename(struct lock_table *t, const char *old_relpath,
    const char *new_relpath);

/* Delete every expired explicit lock now; *n (may be NULL) = how many. */
int lock_reap(struct lock_table *t, size_t *n);

#endif
