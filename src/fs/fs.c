/*
 * fs.c - the FUSE low-level operations of a view.
 *
 * Every backing call is relative to a descriptor from the inode table
 * (inode.h): a name from the kernel is one component, opened or changed
 * with *at() calls and O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, so no request can
 * reach outside the workspace root whatever symlinks or ".." it holds.
 * Entries that live on another mount than the root (a mount nested in
 * the backing tree) do not exist for the view.  Descriptors are reopened
 * with their real access mode through /proc/self/fd/N of an O_PATH
 * descriptor we hold, which names exactly that inode.
 *
 * Each handler is split as in libfuse's passthrough_ll: a do_x() that
 * returns 0 or a negative errno, and one place (the op_x() wrapper) that
 * replies.
 *
 * Caching: Sentinel is the only writer of a root (unless the workspace
 * says external_writers), so entries, attributes, negative entries,
 * directory listings and pages stay cached for fs->timeout; every change
 * through one view invalidates exactly what it touched in the others
 * (notify.c).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/policy.h"
#include "fs/fs.h"

#define DIR_WAIT_MS  200  /* bound on a directory op's wait for other views */
#define FILE_WAIT_MS 5000 /* bound on flush/fsync/setattr's wait */

struct fh {
	struct fs_handle h; /* first */
	int fd;
	struct inode *in;
	int written;     /* since the last flush: tell the other views */
	int writable;    /* opened for writing */
	uint64_t lease;  /* implicit write lease, 0 = none held */
	long long bytes; /* written since the last "write" event */
};

struct dh {
	struct fs_handle h; /* first */
	struct inode *in;   /* the directory (the kernel holds it while open) */
	DIR *dp;            /* opened at the first readdir: NULL until then */
	struct dirent *entry;
	off_t offset;
};

static void kill_suidgid(fuse_req_t req, int fd);

static struct sn_fs *
req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
procpath(char *buf, size_t len, int fd)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d", fd);

	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* A name from the kernel must be one real component. */
static int
check_name(const char *name)
{
	size_t n = strnlen(name, NAME_MAX + 1);

	if (n == 0 || n > NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', n) != NULL)
		return -EINVAL;
	if (name[0] == '.' &&
	    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
		return -EINVAL;
	return 0;
}

/* Who may use the view: the mounting user, and with allow_other the list. */
static int
caller_ok(struct sn_fs *fs, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	size_t i;

	if (ctx->uid == fs->owner_uid || fs->n_allowed_uids == 0)
		return 1;
	for (i = 0; i < fs->n_allowed_uids; i++)
		if (fs->allowed_uids[i] == ctx->uid)
			return 1;
	return 0;
}

#define CHECK_CALLER(req) \
	do { \
		if (!caller_ok(req_fs(req), (req))) { \
			fuse_reply_err((req), EACCES); \
			return; \
		} \
	} while (0)

/* ---- enforcement: policy, chaos, locks, audit (src/core) --------------- */

/*
 * Paths relative to the root can be longer than PATH_MAX (each call the
 * kernel makes is relative to a directory): up to PATHBUF bytes are
 * enforced and recorded; a longer one is refused (ENAMETOOLONG) where
 * something depends on it, and passed as "" where nothing does.
 */
#define PATHBUF 32768

static int
enforcing(struct sn_fs *fs)
{
	return fs->ws->audit != NULL || fs->ws->locks != NULL ||
	    fs->ws->path_rules || fs->ws->chaos || fs->ws->limits;
}

/* Workspace-relative path of in; "" for the root. 0 or -errno. */
static int
path_of(struct sn_fs *fs, struct inode *in, char *buf, size_t len)
{
	int r = inode_path(fs->itab, in, buf, len);

	if (r == -ENAMETOOLONG && !enforcing(fs)) {
		buf[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 0;
}

/* Path of the entry name in directory parent. */
static int
path_child(struct sn_fs *fs, struct inode *parent, const char *name, char *buf,
    size_t len)
{
	int r = inode_path(fs->itab, parent, buf, len);
	size_t n, k = strlen(name);

	if (r == -ENAMETOOLONG && !enforcing(fs)) {
		buf[0] = '\0';
		return 0;
	}
	if (r < 0)
		return r;
	n = (size_t)r;
	if (n + (n > 0) + k + 1 > len) {
		if (enforcing(fs))
			return -ENAMETOOLONG;
		buf[0] = '\0';
		return 0;
	}
	if (n > 0)
		buf[n++] = '/';
	memcpy(buf + n, name, k + 1);
	return 0;
}

/*
 * Record an event.  wait: return only once it is committed (changes);
 * then a failure to record is -EIO (fail closed, unless the workspace
 * says audit_fail_open, which audit_emit() handles).
 */
static int
record(struct sn_fs *fs, const char *op, const char *path, const char *path2,
    enum audit_result res, int err, const char *rule, long long bytes,
    int injected, int wait)
{
	struct audit_event ev;
	int r;

	if (fs->ws->audit == NULL)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.workspace = fs->ws->id;
	ev.agent = fs->agent;
	ev.source = AUDIT_SRC_FS;
	ev.op = op;
	ev.path = path;
	ev.path2 = path2;
	ev.result = res;
	ev.err = err;
	ev.rule = rule;
	ev.trace_id = "";
	ev.bytes = bytes;
	ev.injected = injected;
	r = audit_emit(fs->ws->audit, &ev, wait);
	if (r < 0) {
		log_error("workspace %s: audit: %s", fs->ws->id, err_str(r));
		return -EIO;
	}
	return 0;
}

/* A denial: recorded (never waited for), and the errno to reply. */
static int
denied(struct sn_fs *fs, enum policy_op op, const char *path, const char *path2,
    int r, const char *rule)
{
	char rbuf[160];

	if (rule != NULL && strncmp(rule, "role lacks", 10) == 0) {
		snprintf(rbuf, sizeof(rbuf), "role %s lacks%s", fs->role,
		    rule + 10);
		rule = rbuf;
	}
	(void)record(fs, policy_op_name(op), path, path2, AUDIT_RES_DENIED, -r,
	    rule, 0, 0, 0);
	atomic_fetch_add(&fs_denials, 1);
	return r;
}

/* May this agent read / list / look at path?  0 or -errno (recorded). */
static int
allow_read(struct sn_fs *fs, enum policy_op op, const char *path)
{
	const char *rule;
	int r = policy_check(fs->ws->policy, fs->perms, op, path, &rule);

	return r < 0 ? denied(fs, op, path, NULL, r, rule) : 0;
}

/*
 * Is path locked by another agent?  A write lease is given back when its
 * handle is released, and RELEASE reaches us just after the holder's last
 * close(2) returned (it is not waited for): so a conflict with a lease is
 * looked at again for up to LEASE_GRACE_MS before it counts, and an agent
 * that opens right after the other's close never sees a spurious EBUSY.
 */
#define LEASE_GRACE_MS 200

static int
lock_busy(struct sn_fs *fs, const char *path, const struct lock_file *f,
    int subtree, struct lock_info *li)
{
	int waited = 0;

	while (lock_check_file(fs->ws->locks, path, f, fs->agent, subtree,
	           li) == SN_EBUSY) {
		if (!li->lease || waited >= LEASE_GRACE_MS)
			return 1;
		usleep(5000);
		waited += 5;
	}
	return 0;
}

/* The identity of in for the lock table (see lock_file_id()). */
static const struct lock_file *
inode_file(const struct inode *in, struct lock_file *buf)
{
	return in != NULL ? lock_file_id(in->dev, in->ino, in->type, buf) :
	                    NULL;
}

static const struct lock_file *
stat_file(const struct stat *st, struct lock_file *buf)
{
	return lock_file_id(st->st_dev, st->st_ino, st->st_mode, buf);
}

/*
 * May this agent make this change to path now?  Role and path policy,
 * then chaos (a fault instead of the change), then the locks of other
 * agents, then the health of the audit trail.  0 or -errno, recorded.
 * subtree: the change reaches everything under path (a directory's
 * rename or removal), so a lock beneath it conflicts too.  f: the file
 * the change is made to, if known: another agent's write lease on it
 * under any other name (a hard link) conflicts too.
 */
static int
allow_change(struct sn_fs *fs, enum policy_op op, const char *path, int subtree,
    const struct lock_file *f)
{
	struct lock_info li;
	const char *rule;
	char rbuf[LOCK_HOLDER_MAX + 64];
	int r;

	r = policy_check(fs->ws->policy, fs->perms, op, path, &rule);
	if (r < 0)
		return denied(fs, op, path, NULL, r, rule);
	if (fs->ws->chaos) {
		unsigned long long n = atomic_fetch_add(&fs->chaos_ctr, 1);

		r = policy_chaos(fs->ws->policy, fs->name, op, path, n, &rule);
		if (r < 0) {
			(void)record(fs, policy_op_name(op), path, NULL,
			    AUDIT_RES_ERROR, -r, rule, 0, 1, 0);
			return r;
		}
	}
	if (fs->ws->locks != NULL && lock_busy(fs, path, f, subtree, &li)) {
		snprintf(rbuf, sizeof(rbuf), "lock:%llu held by %s",
		    (unsigned long long)li.id, li.holder);
		return denied(fs, op, path, NULL, -EBUSY, rbuf);
	}
	if (fs->ws->audit != NULL && audit_ok(fs->ws->audit) < 0)
		return denied(fs, op, path, NULL, -EIO, "audit:unwritable");
	return 0;
}

/* A change was made: commit its event before the reply.  0 or -EIO. */
static int
changed(struct sn_fs *fs, enum policy_op op, const char *path,
    const char *path2)
{
	return record(fs, policy_op_name(op), path, path2, AUDIT_RES_OK, 0,
	    NULL, 0, 0, 1);
}

/* A change was tried and the backing filesystem refused it. */
static void
failed(struct sn_fs *fs, enum policy_op op, const char *path, const char *path2,
    int r)
{
	(void)record(fs, policy_op_name(op), path, path2, AUDIT_RES_ERROR, -r,
	    NULL, 0, 0, 0);
}

/*
 * A symlink that gets a new name (rename, link) must still point inside
 * the root from there (symlinks = inside): its target is relative to the
 * directory it lives in.  dirfd/name: where the link is now.
 */
static int
allow_symlink_move(struct sn_fs *fs, int dirfd, const char *name,
    const char *newpath, enum policy_op op)
{
	char target[PATH_MAX + 1];
	const char *rule;
	ssize_t n;
	int r;

	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return 0; /* not a symlink any more: nothing to check */
	target[n] = '\0';
	r = policy_symlink_target_ok(fs->ws->policy, newpath, target, &rule);
	return r < 0 ? denied(fs, op, newpath, target, r, rule) : 0;
}

/* The INODE_RULE_* bits of one name. */
static unsigned
path_rule_bits(struct sn_fs *fs, const char *path)
{
	struct policy_path pp;

	policy_classify(fs->ws->policy, path, &pp);
	return (pp.deny ? INODE_RULE_DENY : 0) |
	    (pp.readonly ? INODE_RULE_RO : 0);
}

/*
 * Rules follow names: a file with several names is covered by those of
 * every name it was seen under in this view, and of every name it had at
 * start (the link map).  0 or -errno (recorded).
 */
static int
inode_allowed(struct sn_fs *fs, struct inode *in, enum policy_op op,
    const char *path)
{
	unsigned bits;

	if (!fs->ws->path_rules || in == inode_root(fs->itab))
		return 0;
	bits = inode_rules(fs->itab, in) |
	    fs_linkmap_get(&fs->ws->links, in->dev, in->ino);
	if (bits & INODE_RULE_DENY)
		return denied(fs, op, path, NULL,
		    op == POLICY_OP_LINK_FROM || op == POLICY_OP_RENAME_FROM ?
		        -EACCES :
		        -ENOENT,
		    "deny:(another name of this file)");
	if ((bits & INODE_RULE_RO) && policy_op_changes(op))
		return denied(fs, op, path, NULL, -EROFS,
		    "readonly:(another name of this file)");
	return 0;
}

/* Take this agent's implicit write lease on path (held by fh). */
static int
lease_take(struct sn_fs *fs, struct fh *h, const char *path)
{
	struct lock_file f;
	struct lock_info li;
	char rbuf[LOCK_HOLDER_MAX + 64];

	int waited;

	if (fs->ws->locks == NULL || h->lease != 0)
		return 0;
	for (waited = 0;; waited += 5) {
		if (lock_lease_acquire_file(fs->ws->locks, path,
		        inode_file(h->in, &f), fs->agent, &h->lease,
		        &li) != SN_EBUSY)
			return 0;
		if (!li.lease || waited >= LEASE_GRACE_MS)
			break;
		usleep(5000); /* see lock_busy() */
	}
	snprintf(rbuf, sizeof(rbuf), "lock:%llu held by %s",
	    (unsigned long long)li.id, li.holder);
	h->lease = 0;
	return denied(fs, POLICY_OP_OPEN_WRITE, path, NULL, -EBUSY, rbuf);
}

static void
lease_drop(struct sn_fs *fs, struct fh *h)
{
	if (fs->ws->locks != NULL && h->lease != 0)
		(void)lock_lease_release(fs->ws->locks, h->lease);
	h->lease = 0;
}

/* The bytes a handle wrote, as one "write" event (at flush/release). */
static void
report_bytes(struct sn_fs *fs, struct fh *h, int wait)
{
	char path[PATHBUF];

	long long n = __atomic_exchange_n(&h->bytes, 0, __ATOMIC_RELAXED);

	if (n == 0 || fs->ws->audit == NULL)
		return; /* no path to compute for a view without a trail */
	if (path_of(fs, h->in, path, sizeof(path)) < 0)
		path[0] = '\0';
	(void)record(fs, "write", path, NULL, AUDIT_RES_OK, 0, NULL, n, 0,
	    wait);
}

/* max_file_size and quota for growing a file from old to new bytes. */
static int
allow_size(struct sn_fs *fs, const char *path, off_t oldsize, off_t newsize)
{
	const char *rule;
	int r;

	if (newsize > oldsize) {
		r = policy_size_ok(fs->ws->policy, (uint64_t)newsize, &rule);
		if (r == 0 && fs->ws->quota)
			r = policy_quota_ok(fs->ws->policy,
			    (uint64_t)atomic_load(&fs->ws->used),
			    (int64_t)(newsize - oldsize), &rule);
		if (r < 0)
			return denied(fs, POLICY_OP_WRITE, path, NULL, r, rule);
	}
	return 0;
}

static void
account(struct sn_fs *fs, long long delta)
{
	if (fs->ws->quota && delta != 0)
		atomic_fetch_add(&fs->ws->used, delta);
}

static void
statx_to_stat(const struct statx *sx, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	st->st_ino = sx->stx_ino;
	st->st_mode = sx->stx_mode;
	st->st_nlink = sx->stx_nlink;
	st->st_uid = sx->stx_uid;
	st->st_gid = sx->stx_gid;
	st->st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
	st->st_size = (off_t)sx->stx_size;
	st->st_blksize = (blksize_t)sx->stx_blksize;
	st->st_blocks = (blkcnt_t)sx->stx_blocks;
	st->st_atim.tv_sec = sx->stx_atime.tv_sec;
	st->st_atim.tv_nsec = sx->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = sx->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = sx->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = sx->stx_ctime.tv_nsec;
}

/* Stat name under dirfd without following; -EXDEV if on another mount. */
static int
stat_at(struct sn_fs *fs, int dirfd, const char *name, int flags,
    struct stat *st)
{
	struct statx sx;

	if (statx(dirfd, name,
	        flags | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
	        STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	if ((sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id != fs->root_mnt_id)
		return -EXDEV;
	statx_to_stat(&sx, st);
	return 0;
}

static void
entry_init(struct sn_fs *fs, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
}

/*
 * Look name up under parent; fill e (e->ino = 0 for a negative entry).
 */
static int
do_lookup(struct sn_fs *fs, struct inode *parent, const char *name,
    struct fuse_entry_param *e)
{
	struct inode *in;
	int pfd, r;

	entry_init(fs, e);
	r = check_name(name);
	if (r < 0)
		return r;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		return r;
	r = stat_at(fs, pfd, name, 0, &e->attr);
	inode_put_fd(fs->itab, parent);
	if (r == -ENOENT || r == -EXDEV) {
		e->ino = 0; /* negative entry, cached like a positive one */
		return 0;
	}
	if (r < 0)
		return r;
	r = inode_lookup(fs->itab, parent, name, &e->attr, -1, &in);
	if (r < 0)
		return r;
	if (fs->ws->path_rules && e->attr.st_nlink > 1 &&
	    !S_ISDIR(e->attr.st_mode)) {
		char path[PATHBUF];

		if (path_child(fs, parent, name, path, sizeof(path)) == 0)
			inode_rules_add(fs->itab, in, path_rule_bits(fs, path));
	}
	e->ino = fs_nodeid(fs, in);
	return 0;
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct sn_fs *fs = req_fs(req);
	struct fuse_entry_param e;
	char path[PATHBUF];
	int r;

	CHECK_CALLER(req);
	if (fs->ws->path_rules) {
		r = path_child(fs, fs_inode(fs, parent), name, path,
		    sizeof(path));
		if (r == 0)
			r = allow_read(fs, POLICY_OP_LOOKUP, path);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = do_lookup(fs, fs_inode(fs, parent), name, &e);
	if (r == 0 && e.ino != 0 && fs->ws->path_rules &&
	    (r = inode_allowed(fs, fs_inode(fs, e.ino), POLICY_OP_LOOKUP,
	         path)) < 0)
		inode_forget(fs->itab, fs_inode(fs, e.ino), 1);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (e.ino == 0 && fs->external_writers)
		fuse_reply_err(req, ENOENT); /* no negative caching */
	else
		fuse_reply_entry(req, &e);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct sn_fs *fs = req_fs(req);

	inode_forget(fs->itab, fs_inode(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct sn_fs *fs = req_fs(req);
	size_t i;

	for (i = 0; i < count; i++)
		inode_forget(fs->itab, fs_inode(fs, f[i].ino), f[i].nlookup);
	fuse_reply_none(req);
}

static int
do_getattr(struct sn_fs *fs, struct inode *in, struct fuse_file_info *fi,
    struct stat *st)
{
	int fd, r;

	if (fi != NULL && fi->fh != 0) {
		struct fh *h = (struct fh *)(uintptr_t)fi->fh;

		return fstat(h->fd, st) < 0 ? -errno : 0;
	}
	r = inode_get_fd(fs->itab, in, &fd);
	if (r < 0)
		return r;
	r = stat_at(fs, fd, "", AT_EMPTY_PATH, st);
	inode_put_fd(fs->itab, in);
	return r;
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct stat st;
	int r;

	CHECK_CALLER(req);
	if (fs->ws->path_rules && ino != FUSE_ROOT_ID) {
		char path[PATHBUF];

		if (path_of(fs, fs_inode(fs, ino), path, sizeof(path)) == 0 &&
		    ((r = allow_read(fs, POLICY_OP_STAT, path)) < 0 ||
		        (r = inode_allowed(fs, fs_inode(fs, ino),
		             POLICY_OP_STAT, path)) < 0)) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = do_getattr(fs, fs_inode(fs, ino), fi, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

/* Tell the other views that in's attributes/data changed; wait for it. */
static void
changed_inode(struct sn_fs *fs, struct inode *in, int wait_ms)
{
	uint64_t t = fsgroup_inval_inode(fs->group, fs, in->dev, in->ino);

	if (wait_ms > 0)
		fsgroup_wait(fs->group, t, wait_ms);
}

/* Tell the other views that (parent, name) changed, and parent itself. */
static void
changed_entry(struct sn_fs *fs, struct inode *parent, const char *name,
    int wait_ms)
{
	uint64_t t;

	fsgroup_inval_entry(fs->group, fs, parent->dev, parent->ino, name);
	t = fsgroup_inval_inode(fs->group, fs, parent->dev, parent->ino);
	if (wait_ms > 0)
		fsgroup_wait(fs->group, t, wait_ms);
}

static int
do_setattr(fuse_req_t req, struct sn_fs *fs, struct inode *in,
    struct stat *attr, int valid, struct fuse_file_info *fi, struct stat *out)
{
	char pp[64];
	int fd = -1, ifd = -1, r = 0;
	int hfd = (fi != NULL && fi->fh != 0) ?
	    ((struct fh *)(uintptr_t)fi->fh)->fd :
	    -1;

	r = inode_get_fd(fs->itab, in, &ifd);
	if (r < 0)
		return r;
	fd = ifd;
	r = procpath(pp, sizeof(pp), fd);
	if (r < 0)
		goto out;
	if (valid & FUSE_SET_ATTR_MODE) {
		if (hfd >= 0)
			r = fchmod(hfd, attr->st_mode);
		else if (S_ISLNK(in->type))
			r = (errno = EOPNOTSUPP, -1);
		else
			r = chmod(pp, attr->st_mode);
		if (r < 0) {
			r = -errno;
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid =
		    (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid =
		    (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(fd, "", uid, gid,
		        AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (hfd >= 0)
			kill_suidgid(req, hfd);
		if (hfd >= 0)
			r = ftruncate(hfd, attr->st_size);
		else if (!S_ISREG(in->type))
			r = (errno = S_ISDIR(in->type) ? EISDIR : EINVAL, -1);
		else {
			int tfd = open(pp, O_WRONLY | O_CLOEXEC);

			r = tfd;
			if (tfd >= 0) {
				kill_suidgid(req, tfd);
				r = ftruncate(tfd, attr->st_size);
				close(tfd);
			}
		}
		if (r < 0) {
			r = -errno;
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2];

		tv[0].tv_sec = tv[1].tv_sec = 0;
		tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		if (hfd >= 0)
			r = futimens(hfd, tv);
		else
			r = utimensat(fd, "", tv,
			    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
		if (r < 0) {
			r = -errno;
			goto out;
		}
	}
	r = stat_at(fs, fd, "", AT_EMPTY_PATH, out);
out:
	inode_put_fd(fs->itab, in);
	return r;
}

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	struct stat st;
	int r;

	enum policy_op op = (valid & FUSE_SET_ATTR_SIZE) ? POLICY_OP_TRUNCATE :
	                                                   POLICY_OP_SETATTR;
	char path[PATHBUF];
	struct lock_file lf;
	off_t oldsize = 0;
	int named;

	CHECK_CALLER(req);
	named = path_of(fs, in, path, sizeof(path)) == 0;
	if (named) {
		r = allow_change(fs, op, path, 0, inode_file(in, &lf));
		if (r == 0)
			r = inode_allowed(fs, in, op, path);
		if (r == 0 && (valid & FUSE_SET_ATTR_SIZE) && fs->ws->limits) {
			if (do_getattr(fs, in, fi, &st) == 0)
				oldsize = st.st_size;
			r = allow_size(fs, path, oldsize, attr->st_size);
		}
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	} else if (fs->ws->quota && (valid & FUSE_SET_ATTR_SIZE) &&
	    do_getattr(fs, in, fi, &st) == 0) {
		oldsize = st.st_size;
	}
	r = do_setattr(req, fs, in, attr, valid, fi, &st);
	if ((r == -ESTALE || r == -ENOENT) && inode_is_dead(fs->itab, in)) {
		/*
		 * The kernel writes back times of an inode that lost its last
		 * name through this view (ctime of unlink); the file is gone
		 * and no one can observe them: accept, as the file would have.
		 */
		memset(&st, 0, sizeof(st));
		st.st_ino = in->ino;
		st.st_mode = in->type |
		    ((valid & FUSE_SET_ATTR_MODE) ? (attr->st_mode & 07777) :
		                                    0600);
		st.st_atim = attr->st_atim;
		st.st_mtim = attr->st_mtim;
		st.st_ctim = attr->st_ctim;
		st.st_size = (valid & FUSE_SET_ATTR_SIZE) ? attr->st_size : 0;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	if (r < 0) {
		if (named)
			failed(fs, op, path, NULL, r);
		fuse_reply_err(req, -r);
		return;
	}
	if (valid & FUSE_SET_ATTR_SIZE)
		account(fs, (long long)attr->st_size - oldsize);
	changed_inode(fs, in, FILE_WAIT_MS);
	if (named && changed(fs, op, path, NULL) < 0) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_attr(req, &st, fs->timeout);
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	char buf[PATH_MAX + 1];
	ssize_t n;
	int fd, r;

	CHECK_CALLER(req);
	if (fs->ws->path_rules) {
		char path[PATHBUF];

		if (path_of(fs, in, path, sizeof(path)) == 0 &&
		    (r = allow_read(fs, POLICY_OP_READLINK, path)) < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = inode_get_fd(fs->itab, in, &fd);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	n = readlinkat(fd, "", buf, sizeof(buf));
	r = n < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r != 0)
		fuse_reply_err(req, r);
	else if (n >= (ssize_t)sizeof(buf))
		fuse_reply_err(req, ENAMETOOLONG);
	else {
		buf[n] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/*
 * Give a new entry to the caller: files a non-root caller creates belong
 * to that caller (and to the directory's group when it is setgid).
 * Called with the new object's descriptor (fd >= 0) or its name.
 */
static int
give_to_caller(struct sn_fs *fs, fuse_req_t req, int pfd, const char *name,
    int fd, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat pst;
	gid_t gid = ctx->gid;
	int r;

	if (!fs->can_chown || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	if (fstat(pfd, &pst) == 0 && (pst.st_mode & S_ISGID))
		gid = (gid_t)-1; /* the backing fs gave it the dir's group */
	if (fd >= 0)
		r = fchown(fd, ctx->uid, gid);
	else
		r = fchownat(pfd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return -errno;
	/* chown clears set-id bits of a file: put back what was asked for */
	if ((mode & (S_ISUID | S_ISGID)) && !S_ISDIR(mode) && !S_ISLNK(mode)) {
		if (fd >= 0)
			r = fchmod(fd, mode & 07777);
		else
			r = fchmodat(pfd, name, mode & 07777, 0);
		if (r < 0)
			return -errno;
	}
	return 0;
}

/* After a successful create-like call: look the new name up, reply. */
static int
new_entry(struct sn_fs *fs, struct inode *parent, int pfd, const char *name,
    struct fuse_entry_param *e)
{
	struct inode *in;
	int r;

	entry_init(fs, e);
	r = stat_at(fs, pfd, name, 0, &e->attr);
	if (r < 0)
		return r;
	r = inode_lookup(fs->itab, parent, name, &e->attr, -1, &in);
	if (r < 0)
		return r;
	e->ino = fs_nodeid(fs, in);
	return 0;
}

static void
make_node(fuse_req_t req, fuse_ino_t pino, const char *name, mode_t mode,
    dev_t rdev, const char *link)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *parent = fs_inode(fs, pino);
	struct fuse_entry_param e;
	enum policy_op op = link != NULL ? POLICY_OP_SYMLINK :
	    S_ISDIR(mode)                ? POLICY_OP_MKDIR :
	                                   POLICY_OP_MKNOD;
	char path[PATHBUF];
	const char *rule;
	int pfd, r;

	CHECK_CALLER(req);
	r = check_name(name);
	if (r < 0)
		goto err;
	r = path_child(fs, parent, name, path, sizeof(path));
	if (r == 0)
		r = allow_change(fs, op, path, 0, NULL);
	if (r == 0 && link != NULL) {
		r = policy_symlink_target_ok(fs->ws->policy, path, link, &rule);
		if (r < 0)
			r = denied(fs, op, path, link, r, rule);
	}
	if (r < 0)
		goto err;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		goto err;
	if (link != NULL)
		r = symlinkat(link, pfd, name);
	else if (S_ISDIR(mode))
		r = mkdirat(pfd, name, mode);
	else
		r = mknodat(pfd, name, mode, rdev);
	if (r < 0) {
		r = -errno;
		inode_put_fd(fs->itab, parent);
		failed(fs, op, path, link, r);
		goto err;
	}
	r = give_to_caller(fs, req, pfd, name, -1, link ? S_IFLNK : mode);
	if (r == 0)
		r = new_entry(fs, parent, pfd, name, &e);
	if (r < 0) {
		/* never leave half a result: remove what we made */
		(void)unlinkat(pfd, name,
		    S_ISDIR(mode) && !link ? AT_REMOVEDIR : 0);
		inode_put_fd(fs->itab, parent);
		goto err;
	}
	inode_put_fd(fs->itab, parent);
	changed_entry(fs, parent, name, DIR_WAIT_MS);
	if (changed(fs, op, path, link) < 0) {
		/* answered with an error: the kernel learns nothing of it */
		inode_forget(fs->itab, fs_inode(fs, e.ino), 1);
		r = -EIO;
		goto err;
	}
	fuse_reply_entry(req, &e);
	return;
err:
	fuse_reply_err(req, -r);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

/*
 * The object st (just stat'ed) is about to lose a name.  Returns the
 * inode if the kernel knows it (with a reference), and whether this is
 * its last name, so that after the call succeeds it can be declared dead.
 */
static struct inode *
losing_name(struct sn_fs *fs, const struct stat *st, int *last, off_t *freed)
{
	struct inode *in;

	*last = 0;
	*freed = 0;
	if (S_ISREG(st->st_mode) && st->st_nlink <= 1)
		*freed = st->st_size;
	in = inode_find(fs->itab, st->st_dev, st->st_ino);
	if (in == NULL)
		return NULL;
	*last = S_ISDIR(st->st_mode) || st->st_nlink <= 1;
	if (*last) {
		(void)inode_pin_if_open(fs->itab, in);
		inode_dying(fs->itab, in, 1);
	}
	return in;
}

/*
 * After the call, which took the name (parent, name), a descriptor of
 * parent pfd, from in: tell the other views; forget a dead inode's
 * number, or another name of a file that has more takes the lost one's
 * place.  parent NULL: no name was lost after all.
 */
static void
lost_name(struct sn_fs *fs, struct inode *in, int last, int ok,
    struct inode *parent, const char *name, int pfd)
{
	if (in == NULL)
		return;
	if (ok) {
		changed_inode(fs, in, 0);
		if (last)
			inode_dead(fs->itab, in);
		else if (parent != NULL)
			inode_name_gone(fs->itab, in, parent, name, pfd);
	} else if (last) {
		inode_dying(fs->itab, in, 0);
	}
	inode_unref(fs->itab, in);
}

static void
remove_entry(fuse_req_t req, fuse_ino_t pino, const char *name, int flags)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *parent = fs_inode(fs, pino);
	struct inode *victim;
	enum policy_op op = flags ? POLICY_OP_RMDIR : POLICY_OP_UNLINK;
	char path[PATHBUF];
	struct lock_file lf;
	struct stat st;
	off_t freed = 0;
	int pfd, r, last = 0, have;

	CHECK_CALLER(req);
	r = check_name(name);
	if (r < 0)
		goto out;
	r = path_child(fs, parent, name, path, sizeof(path));
	if (r < 0)
		goto out;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		goto out;
	/* the file losing a name: a lease on it under another name counts */
	have = stat_at(fs, pfd, name, 0, &st) == 0;
	r = allow_change(fs, op, path, flags != 0,
	    have ? stat_file(&st, &lf) : NULL);
	if (r < 0) {
		inode_put_fd(fs->itab, parent);
		goto out;
	}
	victim = have ? losing_name(fs, &st, &last, &freed) : NULL;
	r = unlinkat(pfd, name, flags) < 0 ? -errno : 0;
	lost_name(fs, victim, last, r == 0, parent, name, pfd);
	inode_put_fd(fs->itab, parent);
	if (r < 0) {
		failed(fs, op, path, NULL, r);
		goto out;
	}
	account(fs, -(long long)freed);
	changed_entry(fs, parent, name, DIR_WAIT_MS);
	r = changed(fs, op, path, NULL);
out:
	fuse_reply_err(req, -r);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

/* Record where the object now at (pfd, name), which was at (oldparent,
 * oldname), lives. */
static void
note_moved(struct sn_fs *fs, struct inode *oldparent, const char *oldname,
    struct inode *parent, int pfd, const char *name)
{
	struct stat st;
	struct inode *in;

	if (stat_at(fs, pfd, name, 0, &st) < 0)
		return;
	in = inode_find(fs->itab, st.st_dev, st.st_ino);
	if (in == NULL)
		return;
	inode_moved(fs->itab, in, oldparent, oldname, parent, name);
	changed_inode(fs, in, 0);
	inode_unref(fs->itab, in);
}

static void
op_rename(fuse_req_t req, fuse_ino_t pino, const char *name, fuse_ino_t npino,
    const char *newname, unsigned int flags)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *parent = fs_inode(fs, pino);
	struct inode *nparent = fs_inode(fs, npino);
	struct inode *victim;
	char from[PATHBUF], to[PATHBUF];
	struct stat sst = { 0 }, tst = { 0 };
	const char *rule;
	off_t freed = 0;
	int pfd = -1, npfd = -1, r, last = 0, sdir = 0, tdir = 0, sok, tok,
	    same;
	struct lock_file sf, tf;

	CHECK_CALLER(req);
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		r = -EINVAL;
		goto out;
	}
	r = check_name(name);
	if (r == 0)
		r = check_name(newname);
	if (r == 0)
		r = path_child(fs, parent, name, from, sizeof(from));
	if (r == 0)
		r = path_child(fs, nparent, newname, to, sizeof(to));
	if (r < 0)
		goto out;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		goto out;
	r = inode_get_fd(fs->itab, nparent, &npfd);
	if (r < 0) {
		inode_put_fd(fs->itab, parent);
		goto out;
	}
	if ((sok = stat_at(fs, pfd, name, 0, &sst) == 0))
		sdir = S_ISDIR(sst.st_mode);
	if ((tok = stat_at(fs, npfd, newname, 0, &tst) == 0))
		tdir = S_ISDIR(tst.st_mode);
	r = policy_rename_ok(fs->ws->policy, fs->perms, from, to, sdir, &rule);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = policy_rename_ok(fs->ws->policy, fs->perms, to, from, tdir,
		    &rule);
	if (r < 0)
		r = denied(fs, POLICY_OP_RENAME_FROM, from, to, r, rule);
	if (r == 0 && S_ISLNK(sst.st_mode))
		r = allow_symlink_move(fs, pfd, name, to, POLICY_OP_RENAME_TO);
	if (r == 0 && (flags & RENAME_EXCHANGE) && S_ISLNK(tst.st_mode))
		r = allow_symlink_move(fs, npfd, newname, from,
		    POLICY_OP_RENAME_TO);
	if (r == 0)
		r = allow_change(fs, POLICY_OP_RENAME_FROM, from, sdir,
		    sok ? stat_file(&sst, &sf) : NULL);
	if (r == 0)
		r = allow_change(fs, POLICY_OP_RENAME_TO, to, tdir || sdir,
		    tok ? stat_file(&tst, &tf) : NULL);
	if (r < 0) {
		inode_put_fd(fs->itab, nparent);
		inode_put_fd(fs->itab, parent);
		goto out;
	}
	victim = NULL;
	if (!(flags & RENAME_EXCHANGE))
		victim = tok ? losing_name(fs, &tst, &last, &freed) : NULL;
	/* renaming a name onto another of the same file changes nothing */
	same = tok && sok && !(flags & RENAME_EXCHANGE) &&
	    sst.st_ino == tst.st_ino && sst.st_dev == tst.st_dev;
	r = renameat2(pfd, name, npfd, newname, flags) < 0 ? -errno : 0;
	if (victim != NULL) {
		if (same)
			last = 0;
		lost_name(fs, victim, last, r == 0, same ? NULL : nparent,
		    newname, npfd);
	}
	if (r == 0 && !same) {
		note_moved(fs, parent, name, nparent, npfd, newname);
		if (flags & RENAME_EXCHANGE)
			note_moved(fs, nparent, newname, parent, pfd, name);
	}
	inode_put_fd(fs->itab, nparent);
	inode_put_fd(fs->itab, parent);
	if (r < 0) {
		failed(fs, POLICY_OP_RENAME_FROM, from, to, r);
		goto out;
	}
	if (last)
		account(fs, -(long long)freed);
	if (fs->ws->locks != NULL && !(flags & RENAME_EXCHANGE))
		(void)lock_rename(fs->ws->locks, from, to);
	changed_entry(fs, parent, name, 0);
	changed_entry(fs, nparent, newname, DIR_WAIT_MS);
	r = record(fs, (flags & RENAME_EXCHANGE) ? "exchange" : "rename", from,
	    to, AUDIT_RES_OK, 0, NULL, 0, 0, 1);
out:
	fuse_reply_err(req, -r);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t npino, const char *newname)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	struct inode *nparent = fs_inode(fs, npino);
	struct fuse_entry_param e;
	char pp[64], from[PATHBUF], to[PATHBUF];
	struct lock_file lf;
	int fd = -1, npfd = -1, r;

	CHECK_CALLER(req);
	r = check_name(newname);
	if (r == 0)
		r = path_child(fs, nparent, newname, to, sizeof(to));
	if (r == 0 && path_of(fs, in, from, sizeof(from)) < 0)
		from[0] = '\0';
	if (r == 0 && from[0] != '\0')
		r = allow_change(fs, POLICY_OP_LINK_FROM, from, 0,
		    inode_file(in, &lf));
	if (r == 0)
		r = inode_allowed(fs, in, POLICY_OP_LINK_FROM, from);
	if (r == 0)
		r = allow_change(fs, POLICY_OP_LINK_TO, to, 0, NULL);
	if (r < 0)
		goto err;
	r = inode_get_fd(fs->itab, in, &fd);
	if (r == 0 && S_ISLNK(in->type) &&
	    (r = allow_symlink_move(fs, fd, "", to, POLICY_OP_LINK_TO)) < 0) {
		inode_put_fd(fs->itab, in);
		goto err;
	}
	if (r < 0)
		goto err;
	r = inode_get_fd(fs->itab, nparent, &npfd);
	if (r < 0) {
		inode_put_fd(fs->itab, in);
		goto err;
	}
	r = linkat(fd, "", npfd, newname, AT_EMPTY_PATH);
	if (r < 0 && (errno == ENOENT || errno == EPERM) &&
	    procpath(pp, sizeof(pp), fd) == 0)
		r = linkat(AT_FDCWD, pp, npfd, newname, AT_SYMLINK_FOLLOW);
	r = r < 0 ? -errno : 0;
	if (r == 0)
		r = new_entry(fs, nparent, npfd, newname, &e);
	inode_put_fd(fs->itab, nparent);
	inode_put_fd(fs->itab, in);
	if (r < 0) {
		failed(fs, POLICY_OP_LINK_TO, to, from, r);
		goto err;
	}
	changed_inode(fs, in, 0); /* nlink, ctime */
	changed_entry(fs, nparent, newname, DIR_WAIT_MS);
	if (record(fs, "link", to, from, AUDIT_RES_OK, 0, NULL, 0, 0, 1) < 0) {
		inode_forget(fs->itab, fs_inode(fs, e.ino), 1);
		r = -EIO;
		goto err;
	}
	fuse_reply_entry(req, &e);
	return;
err:
	fuse_reply_err(req, -r);
}

/* Flags for reopening through /proc/self/fd: the kernel did the rest. */
static int
open_flags(struct sn_fs *fs, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_DIRECT);
	if (fs->writeback) {
		/* the kernel may read pages of a write-only file, and it
		 * handles O_APPEND itself */
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC;
}

static unsigned
hshard(const void *p)
{
	return (unsigned)(((uintptr_t)p >> 4) % FS_HSHARDS);
}

static void
handle_add(struct sn_fs *fs, struct fs_handle *h, int kind)
{
	unsigned i = hshard(h);

	h->kind = kind;
	pthread_mutex_lock(&fs->hm[i]);
	h->prev = NULL;
	h->next = fs->hl[i];
	if (h->next != NULL)
		h->next->prev = h;
	fs->hl[i] = h;
	pthread_mutex_unlock(&fs->hm[i]);
}

static void
handle_del(struct sn_fs *fs, struct fs_handle *h)
{
	unsigned i = hshard(h);

	pthread_mutex_lock(&fs->hm[i]);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		fs->hl[i] = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->hm[i]);
}

void
fs_handles_init(struct sn_fs *fs)
{
	unsigned i;

	for (i = 0; i < FS_HSHARDS; i++) {
		pthread_mutex_init(&fs->hm[i], NULL);
		fs->hl[i] = NULL;
	}
}

static int
fh_new(struct sn_fs *fs, int fd, struct inode *in, struct fuse_file_info *fi)
{
	struct fh *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	h->fd = fd;
	h->in = in;
	handle_add(fs, &h->h, FS_H_FILE);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static void lease_drop(struct sn_fs *fs, struct fh *h);

static void
fh_free(struct sn_fs *fs, struct fh *h)
{
	handle_del(fs, &h->h);
	lease_drop(fs, h);
	inode_opened(fs->itab, h->in, -1);
	close(h->fd);
	free(h);
}

static void
file_info_caching(struct sn_fs *fs, struct fuse_file_info *fi)
{
	fi->keep_cache = !fs->external_writers;
	/*
	 * A read-only open changes nothing: its close(2) need not wait for a
	 * FLUSH round trip (the kernel sends one regardless with the
	 * writeback cache).  RELEASE still comes.
	 */
	if ((fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC))
		fi->noflush = 1;
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	int writable =
	    (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct lock_file lf;
	char path[PATHBUF];
	struct stat st;
	off_t oldsize = 0;
	struct fh *h;
	int fd, r, named;

	CHECK_CALLER(req);
	named = path_of(fs, in, path, sizeof(path)) == 0;
	if (!named)
		path[0] = '\0';
	if (writable)
		r = named ? allow_change(fs, POLICY_OP_OPEN_WRITE, path, 0,
		                inode_file(in, &lf)) :
		            0;
	else
		r = named ? allow_read(fs, POLICY_OP_OPEN_READ, path) : 0;
	if (r == 0 && named)
		r = inode_allowed(fs, in,
		    writable ? POLICY_OP_OPEN_WRITE : POLICY_OP_OPEN_READ,
		    path);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((fi->flags & O_TRUNC) && fs->ws->quota &&
	    do_getattr(fs, in, NULL, &st) == 0)
		oldsize = st.st_size;
	r = inode_open(fs->itab, in, open_flags(fs, fi->flags), &fd);
	if (r == 0 && (r = fh_new(fs, fd, in, fi)) < 0)
		close(fd);
	if (r < 0) {
		if (named)
			failed(fs,
			    writable ? POLICY_OP_OPEN_WRITE :
			               POLICY_OP_OPEN_READ,
			    path, NULL, r);
		fuse_reply_err(req, -r);
		return;
	}
	inode_opened(fs->itab, in, 1);
	h = (struct fh *)(uintptr_t)fi->fh;
	h->writable = writable;
	if (writable && named && (r = lease_take(fs, h, path)) < 0) {
		fh_free(fs, h);
		fuse_reply_err(req, -r);
		return;
	}
	if (fi->flags & O_TRUNC) {
		kill_suidgid(req, fd);
		h->written = 1;
		account(fs, -(long long)oldsize);
		changed_inode(fs, in, 0);
	}
	/*
	 * An open for writing is committed before the reply, like a change:
	 * no byte can change before the trail says who opened the file for
	 * writing.  Reads are only queued.
	 */
	r = record(fs, (fi->flags & O_TRUNC) ? "open_truncate" : "open", path,
	    NULL, AUDIT_RES_OK, 0, NULL, 0, 0, writable);
	if (r < 0) {
		fh_free(fs, h);
		fuse_reply_err(req, -r);
		return;
	}
	file_info_caching(fs, fi);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* the opener was interrupted: nobody will release it */
		fh_free(fs, (struct fh *)(uintptr_t)fi->fh);
	}
}

/* O_TMPFILE in parent: an unnamed file, pinned until the kernel forgets. */
static void
do_tmpfile(fuse_req_t req, struct inode *parent, mode_t mode,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct inode *in;
	char pp[64], path[PATHBUF];
	int pfd, fd, pathfd = -1, r, flags;

	r = path_of(fs, parent, path, sizeof(path));
	if (r == 0)
		r = allow_change(fs, POLICY_OP_CREATE, path, 0, NULL);
	if (r < 0)
		goto err;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		goto err;
	flags = open_flags(fs, fi->flags);
	if ((flags & O_ACCMODE) == O_RDONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	/* O_EXCL here means "can never be linked in": keep it */
	fd = openat(pfd, ".", flags | O_TMPFILE | (fi->flags & O_EXCL),
	    mode & 07777);
	if (fd < 0) {
		r = -errno;
		inode_put_fd(fs->itab, parent);
		goto err;
	}
	r = give_to_caller(fs, req, pfd, NULL, fd, S_IFREG | mode);
	inode_put_fd(fs->itab, parent);
	entry_init(fs, &e);
	if (r == 0 && fstat(fd, &e.attr) < 0)
		r = -errno;
	if (r == 0 && (r = procpath(pp, sizeof(pp), fd)) == 0) {
		pathfd = open(pp, O_PATH | O_CLOEXEC);
		if (pathfd < 0)
			r = -errno;
	}
	if (r == 0)
		r = inode_lookup(fs->itab, parent, "/", &e.attr, pathfd, &in);
	if (r < 0) {
		close(fd);
		goto err;
	}
	e.ino = fs_nodeid(fs, in);
	(void)inode_pin(fs->itab, in); /* no name: never reopened by one */
	r = fh_new(fs, fd, in, fi);
	if (r < 0) {
		close(fd);
		inode_forget(fs->itab, in, 1);
		goto err;
	}
	inode_opened(fs->itab, in, 1);
	file_info_caching(fs, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		fh_free(fs, (struct fh *)(uintptr_t)fi->fh);
	return;
err:
	fuse_reply_err(req, -r);
}

static void
op_create(fuse_req_t req, fuse_ino_t pino, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *parent = fs_inode(fs, pino);
	struct fuse_entry_param e = { .ino = 0 };
	char path[PATHBUF];
	struct fh *h;
	int pfd, fd = -1, r, made = 0;
	int flags = open_flags(fs, fi->flags) & ~O_TRUNC;

	CHECK_CALLER(req);
	if (fs_tmpfile_request && strcmp(name, "/") == 0) {
		do_tmpfile(req, parent, mode, fi);
		return;
	}
	r = check_name(name);
	if (r == 0)
		r = path_child(fs, parent, name, path, sizeof(path));
	if (r == 0)
		r = allow_change(fs, POLICY_OP_CREATE, path, 0, NULL);
	if (r < 0)
		goto err;
	r = inode_get_fd(fs->itab, parent, &pfd);
	if (r < 0)
		goto err;
	/* Create exclusively, so that only what we made is given away. */
	fd = openat(pfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	if (fd >= 0)
		made = 1;
	else if (errno == EEXIST && !(fi->flags & O_EXCL))
		fd = openat(pfd, name,
		    flags | O_NOFOLLOW | (fi->flags & O_TRUNC));
	if (fd < 0) {
		r = -errno;
		inode_put_fd(fs->itab, parent);
		failed(fs, POLICY_OP_CREATE, path, NULL, r);
		goto err;
	}
	if (made)
		r = give_to_caller(fs, req, pfd, name, fd, S_IFREG | mode);
	if (r == 0)
		r = new_entry(fs, parent, pfd, name, &e);
	if (r == 0)
		r = fh_new(fs, fd, fs_inode(fs, e.ino), fi);
	if (r < 0) {
		close(fd);
		if (made)
			(void)unlinkat(pfd, name, 0);
		inode_put_fd(fs->itab, parent);
		if (e.ino != 0)
			inode_forget(fs->itab, fs_inode(fs, e.ino), 1);
		goto err;
	}
	inode_put_fd(fs->itab, parent);
	inode_opened(fs->itab, fs_inode(fs, e.ino), 1);
	h = (struct fh *)(uintptr_t)fi->fh;
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	r = h->writable ? lease_take(fs, h, path) : 0;
	if (r == 0 && !made && (fi->flags & O_TRUNC))
		h->written = 1;
	changed_entry(fs, parent, name, DIR_WAIT_MS);
	if (r == 0)
		r = changed(fs, POLICY_OP_CREATE, path, NULL);
	if (r < 0) {
		fh_free(fs, h);
		inode_forget(fs->itab, fs_inode(fs, e.ino), 1);
		goto err;
	}
	file_info_caching(fs, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		fh_free(fs, h);
	return;
err:
	fuse_reply_err(req, -r);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = h->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

/*
 * The kernel left clearing set-id bits to us (FUSE_HANDLE_KILLPRIV_V2):
 * a write or truncate by a caller without CAP_FSETID (any non-root
 * caller here) clears S_ISUID, and S_ISGID when group-exec is set, as
 * the kernel would on a local filesystem.  We write as root, so the
 * backing filesystem does not do it for us.
 */
static void
kill_suidgid(fuse_req_t req, int fd)
{
	struct stat st;
	mode_t m;

	if (fuse_req_ctx(req)->uid == 0 || fstat(fd, &st) < 0)
		return;
	m = st.st_mode & 07777;
	if (m & S_ISUID)
		m &= ~S_ISUID;
	if ((m & S_ISGID) && (m & S_IXGRP))
		m &= ~S_ISGID;
	if (m != (st.st_mode & 07777))
		(void)fchmod(fd, m);
}

static void
op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
    off_t off, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	size_t len = fuse_buf_size(in_buf);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(len);
	char path[PATHBUF];
	off_t oldsize = 0, end = off + (off_t)len;
	struct lock_file lf;
	struct stat st;
	ssize_t n;
	int r = 0;

	/* after a flush the lease was given back: take it again */
	if ((fs->ws->chaos || fs->ws->limits ||
	        (h->lease == 0 && fs->ws->locks != NULL)) &&
	    path_of(fs, h->in, path, sizeof(path)) == 0) {
		if (fs->ws->chaos)
			r = allow_change(fs, POLICY_OP_WRITE, path, 0,
			    inode_file(h->in, &lf));
		if (r == 0 && h->lease == 0)
			r = lease_take(fs, h, path);
		if (r == 0 && fs->ws->limits && fstat(h->fd, &st) == 0) {
			oldsize = st.st_size;
			r = allow_size(fs, path, oldsize, end);
		}
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	kill_suidgid(req, h->fd);
	n = fuse_buf_copy(&out, in_buf, 0);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	if (fs->ws->quota && off + n > oldsize)
		account(fs, (long long)(off + n - oldsize));
	h->written = 1;
	__atomic_fetch_add(&h->bytes, (long long)n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	int r = 0;

	/* POSIX locks live in the kernel (see op_init), so there is nothing
	 * of the caller's to drop on our descriptor here */
	if (h->written) {
		h->written = 0;
		changed_inode(fs, h->in, FILE_WAIT_MS);
	}
	/*
	 * close(2) waits for this FLUSH: queue the event with the bytes
	 * written so far.  It need not be committed before the reply: the
	 * open for writing (or the create) was, before any byte could
	 * change, and fsync() commits the bytes (see op_fsync()).  The write
	 * lease stays until RELEASE (the description may live on in a dup'd
	 * or inherited descriptor); see lock_busy().
	 */
	report_bytes(fs, h, 0);
	fuse_reply_err(req, r);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	if (h->written)
		changed_inode(fs, h->in, 0);
	report_bytes(fs, h, 0);
	fh_free(fs, h);
	fuse_reply_err(req, 0);
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	int r;

	r = (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? errno : 0;
	if (r == 0 && h->written)
		changed_inode(fs, h->in, FILE_WAIT_MS);
	/* What fsync() made durable has its event committed too. */
	if (r == 0)
		report_bytes(fs, h, 1);
	fuse_reply_err(req, r);
}

/*
 * OPENDIR does no system call: with cache_readdir most opens are served
 * from the kernel's cache and never read, so the directory is opened at
 * the first READDIR (dh_open).
 */
static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	char path[PATHBUF];
	struct dh *d;
	int r;

	CHECK_CALLER(req);
	if (path_of(fs, fs_inode(fs, ino), path, sizeof(path)) == 0 &&
	    (r = allow_read(fs, POLICY_OP_LIST, path)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->in = fs_inode(fs, ino);
	handle_add(fs, &d->h, FS_H_DIR);
	fi->fh = (uint64_t)(uintptr_t)d;
	if (!fs->external_writers) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi) == -ENOENT) {
		handle_del(fs, &d->h);
		free(d);
	}
}

/* A readable descriptor of the directory (new; the caller closes it). */
static int
dir_fd(struct sn_fs *fs, struct inode *in, int *out)
{
	int ifd, fd, r;

	*out = -1;
	r = inode_get_fd(fs->itab, in, &ifd);
	if (r < 0)
		return r;
	fd = openat(ifd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	inode_put_fd(fs->itab, in);
	*out = fd;
	return r;
}

static int
dh_open(struct sn_fs *fs, struct dh *d)
{
	int fd, r;

	if (d->dp != NULL)
		return 0;
	r = dir_fd(fs, d->in, &fd);
	if (r < 0)
		return r;
	d->dp = fdopendir(fd);
	if (d->dp == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	return 0;
}

static int
is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* A directory entry is listed unless the path policy hides it. */
static int
entry_visible(struct sn_fs *fs, struct inode *dir, const char *name)
{
	char path[PATHBUF];

	if (path_child(fs, dir, name, path, sizeof(path)) < 0)
		return 1;
	return policy_check(fs->ws->policy, fs->perms, POLICY_OP_READDIR_ENTRY,
	           path, NULL) == 0;
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
    struct fuse_file_info *fi, int plus)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *dir = fs_inode(fs, ino);
	struct dh *d = (struct dh *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size;
	int err = 0;

	CHECK_CALLER(req);
	err = -dh_open(fs, d);
	if (err != 0) {
		fuse_reply_err(req, err);
		return;
	}
	buf = malloc(size);
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct fuse_entry_param e;
		const char *name;
		size_t n;
		off_t next;

		if (d->entry == NULL) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (d->entry == NULL) {
				if (errno != 0 && rem == size)
					err = errno;
				break;
			}
		}
		name = d->entry->d_name;
		next = d->entry->d_off;
		if (fs->ws->path_rules && !is_dot(name) &&
		    !entry_visible(fs, dir, name)) {
			d->entry = NULL;
			d->offset = next;
			continue;
		}
		if (plus) {
			if (is_dot(name)) {
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = d->entry->d_ino;
				e.attr.st_mode = (mode_t)d->entry->d_type << 12;
			} else {
				int r = do_lookup(fs, dir, name, &e);

				if (r == 0 && e.ino != 0 &&
				    fs->ws->path_rules &&
				    (inode_rules(fs->itab,
				         fs_inode(fs, e.ino)) |
				        fs_linkmap_get(&fs->ws->links,
				            e.attr.st_dev, e.attr.st_ino)) &
				        INODE_RULE_DENY) {
					inode_forget(fs->itab,
					    fs_inode(fs, e.ino), 1);
					r = -ENOENT;
				}
				if (r < 0 || e.ino == 0) {
					/* gone, or on another mount: skip */
					d->entry = NULL;
					d->offset = next;
					continue;
				}
			}
			n = fuse_add_direntry_plus(req, p, rem, name, &e, next);
			if (n > rem) {
				if (!is_dot(name))
					inode_forget(fs->itab,
					    fs_inode(fs, e.ino), 1);
				break;
			}
		} else {
			struct stat st;

			memset(&st, 0, sizeof(st));
			st.st_ino = d->entry->d_ino;
			st.st_mode = (mode_t)d->entry->d_type << 12;
			n = fuse_add_direntry(req, p, rem, name, &st, next);
			if (n > rem)
				break;
		}
		p += n;
		rem -= n;
		d->entry = NULL;
		d->offset = next;
	}
	if (err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dh *d = (struct dh *)(uintptr_t)fi->fh;

	handle_del(req_fs(req), &d->h);
	if (d->dp != NULL)
		closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void
op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct dh *d = (struct dh *)(uintptr_t)fi->fh;
	int fd, r;

	if (d->dp != NULL) {
		fd = dirfd(d->dp);
		r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	} else {
		r = -dir_fd(fs, d->in, &fd);
		if (r == 0) {
			r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno :
			                                                 0;
			close(fd);
		}
	}
	fuse_reply_err(req, r);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	struct statvfs sv;
	int fd, r;

	CHECK_CALLER(req);
	r = inode_get_fd(fs->itab, in, &fd);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = fstatvfs(fd, &sv) < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r != 0)
		fuse_reply_err(req, r);
	else
		fuse_reply_statfs(req, &sv);
}

/* Path policy for the xattr calls; change: a set or a remove. */
static int
xattr_allowed(struct sn_fs *fs, struct inode *in, enum policy_op op, char *path,
    size_t len)
{
	struct lock_file lf;

	if (path_of(fs, in, path, len) < 0) {
		path[0] = '\0';
		return 0;
	}
	int r;

	if (policy_op_changes(op))
		r = allow_change(fs, op, path, 0, inode_file(in, &lf));
	else if (fs->ws->path_rules || !(fs->perms & PERM_READ_FILE))
		r = allow_read(fs, op, path);
	else
		r = 0;
	return r < 0 ? r : inode_allowed(fs, in, op, path);
}

/*
 * Extended attributes go through /proc/self/fd/N of the O_PATH descriptor
 * (the *xattr calls do not take O_PATH descriptors).  Symlinks carry no
 * user-settable attributes on Linux; they are answered without a call.
 */
static int
xattr_begin(struct sn_fs *fs, struct inode *in, char *pp, size_t len)
{
	int fd, r;

	if (S_ISLNK(in->type))
		return -ENOTSUP;
	r = inode_get_fd(fs->itab, in, &fd);
	if (r < 0)
		return r;
	r = procpath(pp, len, fd);
	if (r < 0)
		inode_put_fd(fs->itab, in);
	return r;
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
    size_t size, int flags)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	char pp[64], xpath[PATHBUF];
	int r;

	CHECK_CALLER(req);
	r = xattr_allowed(fs, in, POLICY_OP_SETXATTR, xpath, sizeof(xpath));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = xattr_begin(fs, in, pp, sizeof(pp));
	if (r == -ENOTSUP)
		r = -EPERM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = setxattr(pp, name, value, size, flags) < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r == 0) {
		changed_inode(fs, in, FILE_WAIT_MS);
		/* the attribute's name as path2 */
		r = -record(fs, "setxattr", xpath, name, AUDIT_RES_OK, 0, NULL,
		    0, 0, 1);
	}
	fuse_reply_err(req, r);
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	char pp[64], *buf = NULL;
	ssize_t n;
	int r;

	CHECK_CALLER(req);
	{
		char xpath[PATHBUF];

		r = xattr_allowed(fs, in, POLICY_OP_GETXATTR, xpath,
		    sizeof(xpath));
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = xattr_begin(fs, in, pp, sizeof(pp));
	if (r == -ENOTSUP)
		r = -ENODATA;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (size > 0) {
		buf = malloc(size);
		if (buf == NULL) {
			inode_put_fd(fs->itab, in);
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = getxattr(pp, name, buf, size);
	r = n < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r != 0)
		fuse_reply_err(req, r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	char pp[64], *buf = NULL;
	ssize_t n;
	int r;

	CHECK_CALLER(req);
	{
		char xpath[PATHBUF];

		r = xattr_allowed(fs, in, POLICY_OP_LISTXATTR, xpath,
		    sizeof(xpath));
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = xattr_begin(fs, in, pp, sizeof(pp));
	if (r == -ENOTSUP) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (size > 0) {
		buf = malloc(size);
		if (buf == NULL) {
			inode_put_fd(fs->itab, in);
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = listxattr(pp, buf, size);
	r = n < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r != 0)
		fuse_reply_err(req, r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct sn_fs *fs = req_fs(req);
	struct inode *in = fs_inode(fs, ino);
	char pp[64], xpath[PATHBUF];
	int r;

	CHECK_CALLER(req);
	r = xattr_allowed(fs, in, POLICY_OP_REMOVEXATTR, xpath, sizeof(xpath));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = xattr_begin(fs, in, pp, sizeof(pp));
	if (r == -ENOTSUP)
		r = -ENODATA;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = removexattr(pp, name) < 0 ? errno : 0;
	inode_put_fd(fs->itab, in);
	if (r == 0) {
		changed_inode(fs, in, FILE_WAIT_MS);
		/* the attribute's name as path2 */
		r = -record(fs, "removexattr", xpath, name, AUDIT_RES_OK, 0,
		    NULL, 0, 0, 1);
	}
	fuse_reply_err(req, r);
}

/* Only reached without default_permissions; check the mode bits. */
static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct sn_fs *fs = req_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat st;
	mode_t bits;
	int r;

	CHECK_CALLER(req);
	r = do_getattr(fs, fs_inode(fs, ino), NULL, &st);
	if (r < 0 || mask == F_OK || ctx->uid == 0) {
		fuse_reply_err(req, r < 0 ? -r : 0);
		return;
	}
	if (ctx->uid == st.st_uid)
		bits = (st.st_mode >> 6) & 7;
	else if (ctx->gid == st.st_gid)
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	fuse_reply_err(req, ((mode_t)mask & ~bits) ? EACCES : 0);
}

static void
op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	char path[PATHBUF];
	struct lock_file lf;
	struct stat st;
	off_t oldsize = 0;
	int r = 0,
	    grow = !(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE));

	if (path_of(fs, h->in, path, sizeof(path)) == 0) {
		r = allow_change(fs, POLICY_OP_WRITE, path, 0,
		    inode_file(h->in, &lf));
		if (r == 0 && grow && fs->ws->limits &&
		    fstat(h->fd, &st) == 0) {
			oldsize = st.st_size;
			r = allow_size(fs, path, oldsize, off + len);
		}
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = fallocate(h->fd, mode, off, len) < 0 ? errno : 0;
	if (r == 0) {
		if (grow && fs->ws->quota && off + len > oldsize)
			account(fs, (long long)(off + len - oldsize));
		h->written = 1;
		changed_inode(fs, h->in, 0);
	}
	fuse_reply_err(req, r);
}

static void
op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	fuse_reply_err(req, flock(h->fd, op) < 0 ? errno : 0);
}

static void
op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
    struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
    struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct sn_fs *fs = req_fs(req);
	struct fh *hi = (struct fh *)(uintptr_t)fi_in->fh;
	struct fh *ho = (struct fh *)(uintptr_t)fi_out->fh;
	loff_t oi = off_in, oo = off_out;
	char path[PATHBUF];
	struct lock_file lf;
	struct stat st;
	off_t oldsize = 0;
	ssize_t n;
	int r = 0;

	if (path_of(fs, ho->in, path, sizeof(path)) == 0) {
		r = allow_change(fs, POLICY_OP_WRITE, path, 0,
		    inode_file(ho->in, &lf));
		if (r == 0 && fs->ws->limits && fstat(ho->fd, &st) == 0) {
			oldsize = st.st_size;
			r = allow_size(fs, path, oldsize, off_out + (off_t)len);
		}
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	n = copy_file_range(hi->fd, &oi, ho->fd, &oo, len, (unsigned)flags);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (fs->ws->quota && off_out + n > oldsize)
		account(fs, (long long)(off_out + n - oldsize));
	__atomic_fetch_add(&ho->bytes, (long long)n, __ATOMIC_RELAXED);
	ho->written = 1;
	changed_inode(fs, ho->in, 0);
	fuse_reply_write(req, (size_t)n);
}

static void
op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	off_t r = lseek(h->fd, off, whence);

	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct sn_fs *fs = userdata;

	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	if (fs->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		fs->writeback = 0;
	if (conn->capable & FUSE_CAP_FLOCK_LOCKS)
		conn->want |= FUSE_CAP_FLOCK_LOCKS;
	/* POSIX locks stay in the kernel: correct within a view */
	conn->want &= ~FUSE_CAP_POSIX_LOCKS;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~FUSE_CAP_SPLICE_READ; /* see view.c: io_read */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
	if (fs->external_writers) {
		if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
			conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	} else {
		conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
		if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
			conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
	}
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
	conn->max_background = 16;
	conn->congestion_threshold = 12;
	conn->time_gran = 1;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.access = op_access,
	.fallocate = op_fallocate,
	.flock = op_flock,
	.copy_file_range = op_copy_file_range,
	.lseek = op_lseek,
};

void
fs_handles_free(struct sn_fs *fs)
{
	unsigned i;

	for (i = 0; i < FS_HSHARDS; i++) {
		while (fs->hl[i] != NULL) {
			struct fs_handle *h = fs->hl[i];

			if (h->kind == FS_H_FILE) {
				fh_free(fs, (struct fh *)h);
			} else {
				struct dh *d = (struct dh *)h;

				handle_del(fs, h);
				if (d->dp != NULL)
					closedir(d->dp);
				free(d);
			}
		}
		pthread_mutex_destroy(&fs->hm[i]);
	}
}

/* ---- the link map ------------------------------------------------------- */

static size_t
link_slot(const struct fs_linkmap *m, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 31)) & (m->cap - 1);
}

int
fs_linkmap_add(struct fs_linkmap *m, dev_t dev, ino_t ino, unsigned bits)
{
	size_t i;

	if (bits == 0)
		return 0;
	if ((m->n + 1) * 2 > m->cap) {
		struct fs_linkmap nm = { .cap = m->cap ? m->cap * 2 : 64 };

		nm.e = calloc(nm.cap, sizeof(*nm.e));
		if (nm.e == NULL)
			return -ENOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->e[i].bits != 0)
				(void)fs_linkmap_add(&nm, m->e[i].dev,
				    m->e[i].ino, m->e[i].bits);
		free(m->e);
		*m = nm;
	}
	for (i = link_slot(m, dev, ino);; i = (i + 1) & (m->cap - 1)) {
		if (m->e[i].bits == 0) {
			m->e[i].dev = dev;
			m->e[i].ino = ino;
			m->e[i].bits = bits;
			m->n++;
			return 0;
		}
		if (m->e[i].dev == dev && m->e[i].ino == ino) {
			m->e[i].bits |= bits;
			return 0;
		}
	}
}

unsigned
fs_linkmap_get(const struct fs_linkmap *m, dev_t dev, ino_t ino)
{
	size_t i;

	if (m->n == 0)
		return 0;
	for (i = link_slot(m, dev, ino); m->e[i].bits != 0;
	     i = (i + 1) & (m->cap - 1))
		if (m->e[i].dev == dev && m->e[i].ino == ino)
			return m->e[i].bits;
	return 0;
}

void
fs_linkmap_free(struct fs_linkmap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}
