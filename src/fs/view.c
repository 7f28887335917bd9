/*
 * view.c - mount, serve and unmount views (see view.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fuse.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include "core/audit.h"
#include "core/config.h"
#include "core/dirs.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/log.h"
#include "core/policy.h"
#include "fs/fs.h"
#include "fs/view.h"

struct view {
	struct sn_fs fs; /* first: fuse userdata */
	struct workspace_fs *w;
	char *mountpoint;
	unsigned threads;
	int in_group;
	int mounted;
	pthread_t thread;
	int running;
	int donefd[2];
	atomic_int finished;
	dev_t conn_dev;
};

static __thread char fuse_last_error[256];

static int errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Custom I/O on /dev/fuse, only to negotiate FUSE_HANDLE_KILLPRIV_V2,
 * which libfuse 3.14 cannot ask for.  Without it the kernel sends a
 * GETXATTR("security.capability") before every write (a full round trip
 * per write); with it the kernel marks the superblock SB_NOSEC and leaves
 * clearing set-id bits on write/truncate to us (fs.c: kill_suidgid).  The
 * backing filesystem itself drops security.capability on our writes.
 * read() records the INIT request; writev() adds the flag to its reply
 * when the kernel offered it.  Requests are read with read(2), not
 * spliced, so that read() sees every request (see FUSE_TMPFILE below).
 */
static _Atomic uint64_t init_unique; /* unique of a pending INIT, or 0 */

__thread int fs_tmpfile_request;

/* Requests read from every view of this process, by opcode (metrics). */
static atomic_ullong op_counts[VIEW_NOPS];
atomic_ullong fs_denials;

static const char *const op_names[VIEW_NOPS] = {
	[1] = "lookup",
	[2] = "forget",
	[3] = "getattr",
	[4] = "setattr",
	[5] = "readlink",
	[6] = "symlink",
	[8] = "mknod",
	[9] = "mkdir",
	[10] = "unlink",
	[11] = "rmdir",
	[12] = "rename",
	[13] = "link",
	[14] = "open",
	[15] = "read",
	[16] = "write",
	[17] = "statfs",
	[18] = "release",
	[20] = "fsync",
	[21] = "setxattr",
	[22] = "getxattr",
	[23] = "listxattr",
	[24] = "removexattr",
	[25] = "flush",
	[26] = "init",
	[27] = "opendir",
	[28] = "readdir",
	[29] = "releasedir",
	[30] = "fsyncdir",
	[31] = "getlk",
	[32] = "setlk",
	[33] = "setlkw",
	[34] = "access",
	[35] = "create",
	[36] = "interrupt",
	[37] = "bmap",
	[38] = "destroy",
	[39] = "ioctl",
	[40] = "poll",
	[41] = "notify_reply",
	[42] = "batch_forget",
	[43] = "fallocate",
	[44] = "readdirplus",
	[45] = "rename2",
	[46] = "lseek",
	[47] = "copy_file_range",
	[50] = "syncfs",
	[51] = "tmpfile",
};

const char *
view_op_name(unsigned op)
{
	if (op >= VIEW_NOPS || op_names[op] == NULL)
		return op == 0 ? "other" : NULL;
	return op_names[op];
}

void
view_op_stats(unsigned long long out[VIEW_NOPS], unsigned long long *denials)
{
	unsigned i;

	for (i = 0; i < VIEW_NOPS; i++)
		out[i] =
		    atomic_load_explicit(&op_counts[i], memory_order_relaxed);
	if (denials != NULL)
		*denials = atomic_load(&fs_denials);
}

static ssize_t
io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	fs_tmpfile_request = 0;
	if (n >= (ssize_t)sizeof(struct fuse_in_header)) {
		uint32_t op = ((struct fuse_in_header *)buf)->opcode;

		atomic_fetch_add_explicit(&op_counts[op < VIEW_NOPS ? op : 0],
		    1, memory_order_relaxed);
	}
	if (n >= (ssize_t)sizeof(struct fuse_in_header) &&
	    ((struct fuse_in_header *)buf)->opcode == FUSE_TMPFILE) {
		/*
		 * O_TMPFILE: the request is a CREATE of the name "/" (and
		 * its reply has CREATE's layout).  libfuse 3.14 does not
		 * know the opcode; hand it over as a CREATE that op_create
		 * recognises by this thread-local flag.
		 */
		((struct fuse_in_header *)buf)->opcode = FUSE_CREATE;
		fs_tmpfile_request = 1;
	}

	if (n >= (ssize_t)(sizeof(struct fuse_in_header) +
	             sizeof(struct fuse_init_in) - 4 * sizeof(uint32_t))) {
		const struct fuse_in_header *h = buf;

		if (h->opcode == FUSE_INIT) {
			const struct fuse_init_in *in =
			    (const void *)((const char *)buf + sizeof(*h));

			if (in->flags & FUSE_HANDLE_KILLPRIV_V2)
				atomic_store(&init_unique, h->unique);
		}
	}
	return n;
}

static ssize_t
io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	uint64_t u = atomic_load(&init_unique);

	if (u != 0 && count >= 2 &&
	    iov[0].iov_len >= sizeof(struct fuse_out_header) &&
	    ((struct fuse_out_header *)iov[0].iov_base)->unique == u &&
	    ((struct fuse_out_header *)iov[0].iov_base)->error == 0 &&
	    iov[1].iov_len >= 4 * sizeof(uint32_t)) {
		struct fuse_init_out *out = iov[1].iov_base;

		out->flags |= FUSE_HANDLE_KILLPRIV_V2;
		atomic_store(&init_unique, 0);
	}
	return writev(fd, iov, count);
}

static ssize_t
io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
    unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io killpriv_io = {
	.writev = io_writev,
	.read = io_read,
	.splice_send = io_splice_send,
};

static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level <= FUSE_LOG_ERR) {
		size_t k = n < sizeof(fuse_last_error) ?
		    n :
		    sizeof(fuse_last_error) - 1;

		memcpy(fuse_last_error, msg, k);
		fuse_last_error[k] = '\0';
	}
	if (level <= FUSE_LOG_ERR)
		log_error("libfuse: %s", msg);
	else if (level <= FUSE_LOG_NOTICE)
		log_info("libfuse: %s", msg);
	else
		log_debug("libfuse: %s", msg);
}

void
view_log_init(void)
{
	fuse_set_log_func(fuse_log_to_ours);
}

/*
 * One walk of the root at start, for what the workspace needs of it: the
 * bytes its regular files hold (the quota), and the rules of every name
 * of each multi-linked file (rules cover all the names of a file; a view
 * cannot know the names it is not asked for).  path holds the relative
 * path of dfd (plen bytes) and has room for SCAN_PATH_MAX.
 */
#define SCAN_PATH_MAX (PATH_MAX * 8)

struct scan {
	struct fs_ws *ws;
	int links;       /* fill ws->links */
	long long bytes; /* sum of regular files' sizes */
	char path[SCAN_PATH_MAX];
};

static void
scan_root(struct scan *sc, int dfd, size_t plen, int depth)
{
	struct dirent *de;
	struct policy_path pp;
	DIR *d;
	int fd;

	if (depth > 4096)
		return;
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), len = plen;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (plen + 1 + n + 1 > SCAN_PATH_MAX ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (len > 0)
			sc->path[len++] = '/';
		memcpy(sc->path + len, de->d_name, n + 1);
		len += n;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				scan_root(sc, sub, len, depth + 1);
				close(sub);
			}
		} else {
			if (S_ISREG(st.st_mode))
				sc->bytes += st.st_size;
			if (sc->links && st.st_nlink > 1) {
				policy_classify(sc->ws->policy, sc->path, &pp);
				(void)fs_linkmap_add(&sc->ws->links, st.st_dev,
				    st.st_ino,
				    (pp.deny ? INODE_RULE_DENY : 0) |
				        (pp.readonly ? INODE_RULE_RO : 0));
			}
		}
		sc->path[plen] = '\0';
	}
	closedir(d);
}

static int
open_audit(struct workspace_fs *w, const struct workspace_opts *o, char *err,
    size_t errlen)
{
	unsigned char key[AUDIT_KEY_LEN];
	char *keypath = NULL, *db = NULL, *head = NULL, *dir;
	int r;

	if (o->cfg != NULL && o->cfg->audit_key_file != NULL)
		keypath = strdup(o->cfg->audit_key_file);
	else if (audit_key_default_path(o->state_dir, &keypath) < 0)
		keypath = NULL;
	if (keypath == NULL)
		return errf(err, errlen, SN_EINVAL,
		    "state dir %s: no audit key path", o->state_dir);
	r = audit_key_load_or_create(keypath, key);
	if (r < 0) {
		errf(err, errlen, r, "audit key %s: %s", keypath, err_str(r));
		free(keypath);
		return r;
	}
	free(keypath);
	r = audit_workspace_paths(o->state_dir, o->id, &db, &head);
	if (r == 0) {
		dir = strdup(db);
		if (dir != NULL && strrchr(dir, '/') != NULL) {
			char *slash = strrchr(dir, '/');

			*slash = '\0';
			r = dirs_mkdir_p(dir, 0700) < 0 ? SN_ESYS : 0;
		}
		free(dir);
	}
	if (r == 0)
		r = audit_open(db, head, key, sizeof(key),
		    o->wcfg != NULL && o->wcfg->audit_fail_open, &w->ws.audit);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		errf(err, errlen, r, "workspace %s: audit trail %s: %s", o->id,
		    db != NULL ? db : "?", err_str(r));
		goto out;
	}
	r = lock_table_open(db, &w->ws.locks);
	if (r < 0)
		errf(err, errlen, r, "workspace %s: lock table: %s", o->id,
		    err_str(r));
out:
	free(db);
	free(head);
	return r;
}

/*
 * The root as the tools see it (tools.c): a descriptor everything is
 * resolved beneath, and its real path, by which the real path of what is
 * opened is known.  A root that cannot be opened leaves rootfd -1 (the
 * tools then fail; view_new() reports why).
 */
static void
open_root(struct workspace_fs *w, const char *root)
{
	struct statx sx;

	w->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->rootfd < 0)
		return;
	w->root_real = realpath(root, NULL);
	if (w->root_real == NULL ||
	    statx(w->rootfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID)) {
		close(w->rootfd);
		w->rootfd = -1;
		free(w->root_real);
		w->root_real = NULL;
		return;
	}
	w->root_mnt = sx.stx_mnt_id;
}

int
workspace_fs_open(const struct workspace_opts *o, struct workspace_fs **out,
    char *err, size_t errlen)
{
	struct workspace_fs *w;
	int r;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return errf(err, errlen, SN_ENOMEM, "out of memory");
	w->lockfd = -1;
	w->rootfd = -1;
	w->cfg = o->cfg;
	w->uid = w->gid = SN_CFG_NO_ID;
	if (o->wcfg != NULL) {
		w->uid = o->wcfg->uid;
		w->gid = o->wcfg->gid;
	}
	if (o->root != NULL)
		open_root(w, o->root);
	w->ws.id = strdup(o->id != NULL ? o->id : "local");
	if (w->ws.id == NULL) {
		r = errf(err, errlen, SN_ENOMEM, "out of memory");
		goto fail;
	}
	r = policy_new(o->cfg, o->wcfg, &w->ws.policy, err, errlen);
	if (r < 0)
		goto fail;
	w->ws.path_rules = policy_has_path_rules(w->ws.policy);
	w->ws.chaos = policy_chaos_enabled(w->ws.policy) & POLICY_CHAOS_FS;
	if (o->wcfg != NULL) {
		w->ws.quota = o->wcfg->quota > 0;
		w->ws.limits = w->ws.quota || o->wcfg->max_file_size > 0;
	}
	if ((w->ws.path_rules || w->ws.quota) && o->root != NULL) {
		struct scan *sc = calloc(1, sizeof(*sc));
		int fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (sc != NULL && fd >= 0) {
			sc->ws = &w->ws;
			sc->links = w->ws.path_rules;
			scan_root(sc, fd, 0, 0);
			atomic_store(&w->ws.used, sc->bytes);
		}
		if (fd >= 0)
			close(fd);
		free(sc);
	}
	if (o->state_dir != NULL) {
		r = open_audit(w, o, err, errlen);
		if (r < 0)
			goto fail;
	}
	r = fsgroup_new(&w->group);
	if (r < 0) {
		errf(err, errlen, r, "%s", err_str(r));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	workspace_fs_free(w);
	return r;
}

void
workspace_fs_free(struct workspace_fs *w)
{
	if (w == NULL)
		return;
	fsgroup_free(w->group);
	lock_table_close(w->ws.locks);
	audit_close(w->ws.audit);
	policy_free(w->ws.policy);
	fs_linkmap_free(&w->ws.links);
	free(w->ws.id);
	if (w->rootfd >= 0)
		close(w->rootfd);
	free(w->root_real);
	if (w->lockfd >= 0)
		close(w->lockfd);
	free(w);
}

const char *
workspace_fs_id(const struct workspace_fs *w)
{
	return w->ws.id;
}

struct audit *
workspace_fs_audit(struct workspace_fs *w)
{
	return w->ws.audit;
}

struct lock_table *
workspace_fs_locks(struct workspace_fs *w)
{
	return w->ws.locks;
}

const struct policy *
workspace_fs_policy(const struct workspace_fs *w)
{
	return w->ws.policy;
}

static int
errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* 1 if path is inside (or equal to) dir; both canonical. */
static int
path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

static int
check_paths(const struct view_opts *o, int *rootfd, uint64_t *mnt_id, char *err,
    size_t errlen)
{
	char rroot[PATH_MAX], rmnt[PATH_MAX];
	struct statx sx;
	struct stat st;
	int fd;

	*rootfd = -1;
	fd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, SN_EINVAL, "workspace root %s: %s",
		    o->root,
		    errno == ENOTDIR ? "not a directory" : strerror(errno));
	if (stat(o->mountpoint, &st) < 0) {
		close(fd);
		return errf(err, errlen, SN_EINVAL, "mount point %s: %s",
		    o->mountpoint, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return errf(err, errlen, SN_EINVAL,
		    "mount point %s: not a directory", o->mountpoint);
	}
	if (realpath(o->mountpoint, rmnt) == NULL ||
	    fstatat(fd, "", &st, AT_EMPTY_PATH) < 0 ||
	    realpath(o->root, rroot) == NULL) {
		int e = errno;

		close(fd);
		return errf(err, errlen, SN_EINVAL, "resolving %s: %s",
		    o->mountpoint, strerror(e));
	}
	if (path_within(rmnt, rroot)) {
		close(fd);
		return errf(err, errlen, SN_EINVAL,
		    "mount point %s is inside the workspace root %s",
		    o->mountpoint, o->root);
	}
	if (statx(AT_FDCWD, rmnt, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
	        &sx) == 0 &&
	    (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		close(fd);
		return errf(err, errlen, SN_EBUSY,
		    "mount point %s is busy: something is already mounted there",
		    o->mountpoint);
	}
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		int e = errno;

		close(fd);
		return errf(err, errlen, SN_EPERM, "/dev/fuse: %s%s",
		    strerror(e),
		    e == ENOENT ?
		        " (load the fuse module, or give the container /dev/fuse)" :
		        "");
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID)) {
		close(fd);
		return errf(err, errlen, SN_ENOTSUP,
		    "workspace root %s: cannot read its mount id", o->root);
	}
	*mnt_id = sx.stx_mnt_id;
	*rootfd = fd;
	return 0;
}

/*
 * The device number of our mount (its FUSE connection id), read from
 * /proc/self/mountinfo: a stat of the mount point would be a request to
 * ourselves, before anyone serves it.  The last matching line wins.
 */
static dev_t
mount_dev(const char *mountpoint)
{
	char real[PATH_MAX], want[PATH_MAX * 4], line[PATH_MAX * 4 + 512];
	const char *p;
	size_t n = 0;
	dev_t dev = 0;
	FILE *f;

	if (realpath(mountpoint, real) == NULL)
		return 0;
	for (p = real; *p != '\0' && n + 5 < sizeof(want); p++) {
		/* mountinfo escapes space, tab, newline and backslash */
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\\')
			n += (size_t)snprintf(want + n, sizeof(want) - n,
			    "\\%03o", (unsigned char)*p);
		else
			want[n++] = *p;
	}
	want[n] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned maj, min;
		char mnt[PATH_MAX * 4];

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) ==
		        3 &&
		    strcmp(mnt, want) == 0 &&
		    strstr(line, " - fuse.sentinel ") != NULL)
			dev = makedev(maj, min);
	}
	fclose(f);
	return dev;
}

static int
claim_root(struct workspace_fs *w, const struct view_opts *o, int rootfd,
    char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (fstat(rootfd, &st) < 0)
		return errf(err, errlen, SN_ESYS, "workspace root %s: %s",
		    o->root, strerror(errno));
	if (w->lockfd >= 0) {
		if (st.st_dev != w->dev || st.st_ino != w->ino)
			return errf(err, errlen, SN_EINVAL,
			    "workspace %s: root %s differs from its other views'",
			    o->workspace ? o->workspace : "-", o->root);
		return 0;
	}
	fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, SN_ESYS, "workspace root %s: %s",
		    o->root, strerror(errno));
	if (flock(fd, (o->external_writers ? LOCK_SH : LOCK_EX) | LOCK_NB) <
	    0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return errf(err, errlen, SN_EBUSY,
			    "workspace root %s is already served by another "
			    "Sentinel process (serve all views of a workspace "
			    "from one process, or declare external writers)",
			    o->root);
		return errf(err, errlen, SN_ESYS,
		    "workspace root %s: flock: %s", o->root, strerror(e));
	}
	w->lockfd = fd;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	return 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
view_new(struct workspace_fs *w, const struct view_opts *o, struct view **out,
    char *err, size_t errlen)
{
	struct view *v = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char mopts[512];
	int rootfd = -1, r;

	*out = NULL;
	err[0] = '\0';
	r = check_paths(o, &rootfd, &(uint64_t){ 0 }, err, errlen);
	if (r < 0)
		return r;
	r = claim_root(w, o, rootfd, err, errlen);
	if (r < 0) {
		close(rootfd);
		return r;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		close(rootfd);
		return errf(err, errlen, SN_ENOMEM, "out of memory");
	}
	v->donefd[0] = v->donefd[1] = -1;
	v->w = w;
	fs_handles_init(&v->fs);
	{
		struct statx sx;

		if (statx(rootfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0)
			v->fs.root_mnt_id = sx.stx_mnt_id;
	}
	v->fs.group = w->group;
	v->fs.ws = &w->ws;
	r = policy_role_perms(w->cfg, o->role != NULL ? o->role : "Dev",
	    &v->fs.perms);
	if (r < 0) {
		close(rootfd);
		r = errf(err, errlen, SN_EINVAL, "view %s: unknown role %s",
		    o->name != NULL ? o->name : "-", o->role);
		free(v);
		return r;
	}
	v->fs.timeout = o->cache_timeout;
	v->fs.external_writers = o->external_writers;
	if (o->external_writers && v->fs.timeout > 1)
		v->fs.timeout = 1;
	/*
	 * A view shared with a list of users: the kernel must ask us about
	 * every lookup and stat, or it would answer a user who is not on
	 * the list from its caches.
	 */
	if (o->allow_other && o->n_allowed_uids > 0)
		v->fs.timeout = 0;
	/* the kernel would trust its own sizes over the other writers' */
	v->fs.writeback = o->writeback && !o->external_writers;
	v->fs.allow_other = o->allow_other;
	v->fs.owner_uid = geteuid();
	v->fs.can_chown = geteuid() == 0;
	v->fs.name = dup_or_empty(o->name);
	v->fs.workspace = dup_or_empty(o->workspace);
	v->fs.agent = dup_or_empty(o->agent);
	v->fs.role = dup_or_empty(o->role);
	v->mountpoint = strdup(o->mountpoint);
	v->threads = o->threads ? o->threads : 8;
	if (o->n_allowed_uids > 0) {
		v->fs.allowed_uids = calloc(o->n_allowed_uids, sizeof(uid_t));
		if (v->fs.allowed_uids != NULL) {
			memcpy(v->fs.allowed_uids, o->allowed_uids,
			    o->n_allowed_uids * sizeof(uid_t));
			v->fs.n_allowed_uids = o->n_allowed_uids;
		}
	}
	if (v->fs.name == NULL || v->fs.workspace == NULL ||
	    v->fs.agent == NULL || v->fs.role == NULL ||
	    v->mountpoint == NULL ||
	    (o->n_allowed_uids > 0 && v->fs.allowed_uids == NULL)) {
		close(rootfd);
		r = errf(err, errlen, SN_ENOMEM, "out of memory");
		goto fail;
	}
	r = inode_table_new(rootfd, o->fd_cache ? o->fd_cache : 4096,
	    &v->fs.itab);
	if (r < 0) {
		close(rootfd);
		r = errf(err, errlen, r, "workspace root %s: %s", o->root,
		    err_str(r));
		goto fail;
	}
	if (pipe2(v->donefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = errf(err, errlen, SN_ESYS, "pipe: %s", strerror(errno));
		goto fail;
	}
	snprintf(mopts, sizeof(mopts),
	    "fsname=sentinel:%s,subtype=sentinel,default_permissions%s",
	    o->workspace != NULL ? o->workspace : "-",
	    o->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(&args, "sentinel") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, mopts) < 0 ||
	    (o->debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		r = errf(err, errlen, SN_ENOMEM, "out of memory");
		goto fail;
	}
	fuse_last_error[0] = '\0';
	v->fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &v->fs);
	if (v->fs.se == NULL) {
		r = errf(err, errlen, SN_EINVAL,
		    "cannot start a FUSE session%s%s",
		    fuse_last_error[0] ? ": " : "", fuse_last_error);
		goto fail;
	}
	fuse_last_error[0] = '\0';
	if (fuse_session_mount(v->fs.se, o->mountpoint) != 0) {
		r = errf(err, errlen, SN_EPERM, "cannot mount at %s%s%s",
		    o->mountpoint, fuse_last_error[0] ? ": " : "",
		    fuse_last_error[0] ?
		        fuse_last_error :
		        ": not enough privilege, or FUSE unavailable");
		goto fail;
	}
	v->mounted = 1;
	v->conn_dev = mount_dev(o->mountpoint);
	if (fuse_session_custom_io(v->fs.se, &killpriv_io,
	        fuse_session_fd(v->fs.se)) != 0)
		log_warn("view %s: custom I/O unavailable", v->fs.name);
	fsgroup_add(w->group, &v->fs);
	v->in_group = 1;
	fuse_opt_free_args(&args);
	*out = v;
	return 0;
fail:
	fuse_opt_free_args(&args);
	view_free(v);
	return r;
}

static void *
serve_thread(void *arg)
{
	struct view *v = arg;
	struct fuse_loop_config *cfg;
	int r;

	cfg = fuse_loop_cfg_create();
	if (cfg == NULL) {
		log_error("view %s: out of memory", v->fs.name);
	} else {
		fuse_loop_cfg_set_clone_fd(cfg, 1);
		fuse_loop_cfg_set_idle_threads(cfg, v->threads);
		r = fuse_session_loop_mt(v->fs.se, cfg);
		if (r < 0)
			log_warn("view %s: loop ended: %s", v->fs.name,
			    strerror(-r));
		fuse_loop_cfg_destroy(cfg);
	}
	atomic_store(&v->finished, 1);
	(void)!write(v->donefd[1], "x", 1);
	return NULL;
}

int
view_start(struct view *v)
{
	if (pthread_create(&v->thread, NULL, serve_thread, v) != 0)
		return SN_ESYS;
	v->running = 1;
	return 0;
}

int
view_done_fd(struct view *v)
{
	return v->donefd[0];
}

int
view_finished(struct view *v)
{
	return atomic_load(&v->finished);
}

const char *
view_mountpoint(const struct view *v)
{
	return v->mountpoint;
}

unsigned
view_cached_fds(struct view *v)
{
	return inode_table_fds(v->fs.itab);
}

/* Lazy unmount; through fusermount3 when we lack the privilege. */
static void
detach(struct view *v)
{
	pid_t pid;
	int status;

	if (umount2(v->mountpoint, MNT_DETACH) == 0 || errno == EINVAL ||
	    errno == ENOENT)
		return;
	if (errno != EPERM)
		log_warn("umount %s: %s", v->mountpoint, strerror(errno));
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q",
		    v->mountpoint, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		(void)waitpid(pid, &status, 0);
}

/* Force the connection down (files may still be open in the mount). */
static void
abort_conn(struct view *v)
{
	char path[96];
	int fd;

	if (v->conn_dev == 0)
		return;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
	    minor(v->conn_dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL) ==
	        0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("view %s: cannot abort the connection: %s", v->fs.name,
		    strerror(errno));
		return;
	}
	(void)!write(fd, "1", 1);
	close(fd);
}

void
view_stop(struct view *v)
{
	struct pollfd p;

	if (v == NULL)
		return;
	if (v->running) {
		fuse_session_exit(v->fs.se);
		if (!atomic_load(&v->finished))
			detach(v);
		p.fd = v->donefd[0];
		p.events = POLLIN;
		if (!atomic_load(&v->finished) && poll(&p, 1, 2000) == 0)
			abort_conn(v);
		pthread_join(v->thread, NULL);
		v->running = 0;
		v->mounted = 0;
	} else if (v->mounted) {
		detach(v);
		v->mounted = 0;
	}
	if (v->in_group) {
		fsgroup_remove(v->w->group, &v->fs);
		v->in_group = 0;
	}
}

void
view_free(struct view *v)
{
	if (v == NULL)
		return;
	view_stop(v);
	if (v->fs.se != NULL) {
		/*
		 * The connection is gone by now (detached and drained, or
		 * aborted), so libfuse's unmount only closes the device and
		 * frees what fuse_session_mount() kept; it does not unmount a
		 * path again.
		 */
		fuse_session_unmount(v->fs.se);
		fuse_session_destroy(v->fs.se);
	}
	fs_handles_free(&v->fs);
	inode_table_free(v->fs.itab);
	if (v->donefd[0] >= 0)
		close(v->donefd[0]);
	if (v->donefd[1] >= 0)
		close(v->donefd[1]);
	free(v->fs.allowed_uids);
	free(v->fs.name);
	free(v->fs.workspace);
	free(v->fs.agent);
	free(v->fs.role);
	free(v->mountpoint);
	free(v);
}
