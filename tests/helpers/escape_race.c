/*
 * escape_race.c - try to make a FUSE passthrough modify a directory outside
 * its root, by swapping directories and files in the backing directory for
 * symlinks while operations run through the mount (a TOCTOU race the
 * kernel cannot see), then check that the outside directory is untouched.
 *
 *   escape_race [-n ITERATIONS] [-w WORKERS] [-s SEED] [-T SECONDS] [-v] [-D]
 *               MNT ROOT CANARY
 *
 *   -n  racer swaps (default 5000)     -w  worker threads (default 2)
 *   -s  random seed                     -T  time limit, seconds (default 240)
 *   -v  per-operation counts            -D  skip the deterministic checks
 *
 *   MNT     the mount (serving ROOT)
 *   ROOT    its backing directory; escape_race creates ROOT/d and friends
 *   CANARY  a directory outside ROOT; escape_race adds files to it if they
 *           are missing, snapshots it, and afterwards compares
 *
 * How a kernel-followed symlink is told apart from an escape: every
 * symlink that the racer plants points at CANARY (absolutely, relatively,
 * or via /proc/self/root).  The workers run in a private mount namespace
 * in which a tmpfs hides CANARY, so when the *kernel* follows such a
 * symlink for a worker (which is correct: the caller could open that path
 * anyway) the operation lands in the tmpfs.  The filesystem daemon runs in
 * the original namespace, so if *it* follows a symlink, the operation lands
 * in the real CANARY, which the parent (also in the original namespace)
 * compares with its snapshot: names, types, modes, owners, sizes, link
 * counts, inode numbers, mtimes, ctimes, contents, symlink targets and
 * xattrs.
 *
 * Before the race, deterministic checks: descriptors opened through the
 * mount (a directory O_PATH descriptor, a file descriptor, their
 * /proc/self/fd/N names) keep naming the same inode after the backing name
 * was swapped for a symlink to CANARY.
 *
 * Exit: 0 CANARY untouched and every deterministic check passed; 1 CANARY
 * changed or a check failed (details on stderr); 2 usage or setup error;
 * 3 the race was vacuous (no operation through the mount succeeded).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2, unshare, O_PATH */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define MAX_WORKERS 16

static const char *prog = "escape_race";
static int verbose;
static int skip_deterministic; /* -D: the race only */

static const char *mnt, *root, *canary;
static char rel_canary[PATH_MAX];  /* CANARY relative to ROOT */
static char proc_canary[PATH_MAX]; /* /proc/self/root + CANARY */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: setup: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
pathcat(char *out, size_t outlen, const char *a, const char *b)
{
	if ((size_t)snprintf(out, outlen, "%s/%s", a, b) >= outlen)
		die("path too long: %s/%s", a, b);
}

/* ---- snapshot of CANARY ------------------------------------------------- */

struct entry {
	char *path; /* relative to CANARY, "." for itself */
	struct stat st;
	uint64_t content; /* FNV-1a of the content (regular files) */
	char *link;       /* symlink target */
	char *xattrs;     /* "name=value;" ... sorted */
};

struct snap {
	struct entry *v;
	size_t n, cap;
};

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the xattrs of an entry (by a path; never following a symlink). */
static char *
xattr_string(const char *path)
{
	char names[65536], val[65536];
	char *list[1024];
	char *out;
	size_t nn = 0, i, len = 1, pos = 0;
	ssize_t n, vn;
	char *p;

	n = llistxattr(path, names, sizeof(names));
	if (n < 0)
		n = 0;
	for (p = names; p < names + n && nn < 1024; p += strlen(p) + 1)
		list[nn++] = p;
	if (nn > 1)
		qsort(list, nn, sizeof(list[0]), cmp_cstr);
	for (i = 0; i < nn; i++)
		len += strlen(list[i]) + 2 + 17;
	out = malloc(len);
	if (out == NULL)
		die("out of memory");
	out[0] = '\0';
	for (i = 0; i < nn; i++) {
		vn = lgetxattr(path, list[i], val, sizeof(val));
		pos += (size_t)snprintf(out + pos, len - pos, "%s=%016llx;",
		    list[i],
		    (unsigned long long)(vn < 0 ?
		            0 :
		            fnv(0xcbf29ce484222325ULL, val, (size_t)vn)));
	}
	return out;
}

static void
snap_add(struct snap *s, const char *rel, const char *abs)
{
	struct entry *e;
	char buf[65536];
	ssize_t n;
	int fd;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			die("out of memory");
	}
	e = &s->v[s->n];
	memset(e, 0, sizeof(*e));
	if (lstat(abs, &e->st) < 0)
		die("lstat %s: %s", abs, strerror(errno));
	e->path = strdup(rel);
	if (e->path == NULL)
		die("out of memory");
	e->content = 0xcbf29ce484222325ULL;
	if (S_ISREG(e->st.st_mode)) {
		fd = open(abs, O_RDONLY | O_NOFOLLOW | O_NOATIME);
		if (fd < 0)
			fd = open(abs, O_RDONLY | O_NOFOLLOW);
		if (fd < 0)
			die("open %s: %s", abs, strerror(errno));
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			e->content = fnv(e->content, buf, (size_t)n);
		close(fd);
	} else if (S_ISLNK(e->st.st_mode)) {
		n = readlink(abs, buf, sizeof(buf) - 1);
		if (n < 0)
			n = 0;
		buf[n] = '\0';
		e->link = strdup(buf);
		if (e->link == NULL)
			die("out of memory");
	}
	e->xattrs = xattr_string(abs);
	s->n++;
}

static void
snap_walk(struct snap *s, const char *rel, const char *abs)
{
	char crel[PATH_MAX], cabs[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snap_add(s, rel, abs);
	if (lstat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	d = opendir(abs);
	if (d == NULL)
		die("opendir %s: %s", abs, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(rel, ".") == 0)
			snprintf(crel, sizeof(crel), "%s", de->d_name);
		else
			pathcat(crel, sizeof(crel), rel, de->d_name);
		pathcat(cabs, sizeof(cabs), abs, de->d_name);
		snap_walk(s, crel, cabs);
	}
	closedir(d);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
	    ((const struct entry *)b)->path);
}

static void
snap_take(struct snap *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	snap_walk(s, ".", dir);
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
}

static void
snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].link);
		free(s->v[i].xattrs);
	}
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int
ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Print differences; return the number of differing entries. */
static int
snap_diff(const struct snap *a, const struct snap *b)
{
	size_t i = 0, j = 0;
	int bad = 0, c;
	const struct entry *x, *y;

	while (i < a->n || j < b->n) {
		if (i >= a->n)
			c = 1;
		else if (j >= b->n)
			c = -1;
		else
			c = strcmp(a->v[i].path, b->v[j].path);
		if (c < 0) {
			say("ESCAPE: %s/%s was removed", canary, a->v[i].path);
			bad++;
			i++;
			continue;
		}
		if (c > 0) {
			say("ESCAPE: %s/%s was created (mode %04o, size %lld)",
			    canary, b->v[j].path, (unsigned)b->v[j].st.st_mode,
			    (long long)b->v[j].st.st_size);
			bad++;
			j++;
			continue;
		}
		x = &a->v[i++];
		y = &b->v[j++];
		if (x->st.st_mode != y->st.st_mode) {
			say("ESCAPE: %s/%s: mode %06o -> %06o", canary, x->path,
			    (unsigned)x->st.st_mode, (unsigned)y->st.st_mode);
			bad++;
			continue;
		}
		if (x->st.st_uid != y->st.st_uid ||
		    x->st.st_gid != y->st.st_gid) {
			say("ESCAPE: %s/%s: owner %u:%u -> %u:%u", canary,
			    x->path, (unsigned)x->st.st_uid,
			    (unsigned)x->st.st_gid, (unsigned)y->st.st_uid,
			    (unsigned)y->st.st_gid);
			bad++;
			continue;
		}
		if (x->st.st_ino != y->st.st_ino) {
			say("ESCAPE: %s/%s: replaced (inode %llu -> %llu)",
			    canary, x->path, (unsigned long long)x->st.st_ino,
			    (unsigned long long)y->st.st_ino);
			bad++;
			continue;
		}
		if (x->st.st_nlink != y->st.st_nlink) {
			say("ESCAPE: %s/%s: link count %llu -> %llu", canary,
			    x->path, (unsigned long long)x->st.st_nlink,
			    (unsigned long long)y->st.st_nlink);
			bad++;
			continue;
		}
		if (x->st.st_size != y->st.st_size ||
		    x->content != y->content) {
			say("ESCAPE: %s/%s: content changed (size %lld -> %lld)",
			    canary, x->path, (long long)x->st.st_size,
			    (long long)y->st.st_size);
			bad++;
			continue;
		}
		if (!ts_eq(x->st.st_mtim, y->st.st_mtim)) {
			say("ESCAPE: %s/%s: mtime %lld.%09ld -> %lld.%09ld",
			    canary, x->path, (long long)x->st.st_mtim.tv_sec,
			    x->st.st_mtim.tv_nsec,
			    (long long)y->st.st_mtim.tv_sec,
			    y->st.st_mtim.tv_nsec);
			bad++;
			continue;
		}
		if ((x->link == NULL) != (y->link == NULL) ||
		    (x->link != NULL && strcmp(x->link, y->link) != 0)) {
			say("ESCAPE: %s/%s: symlink target changed", canary,
			    x->path);
			bad++;
			continue;
		}
		if (strcmp(x->xattrs, y->xattrs) != 0) {
			say("ESCAPE: %s/%s: xattrs '%s' -> '%s'", canary,
			    x->path, x->xattrs, y->xattrs);
			bad++;
			continue;
		}
		if (!ts_eq(x->st.st_ctim, y->st.st_ctim)) {
			say("ESCAPE: %s/%s: ctime %lld.%09ld -> %lld.%09ld "
			    "(inode changed: chmod/chown/xattr/link/utimes?)",
			    canary, x->path, (long long)x->st.st_ctim.tv_sec,
			    x->st.st_ctim.tv_nsec,
			    (long long)y->st.st_ctim.tv_sec,
			    y->st.st_ctim.tv_nsec);
			bad++;
			continue;
		}
	}
	return bad;
}

/* ---- setup -------------------------------------------------------------- */

/* rel_canary: CANARY relative to dir (both canonical, absolute). */
static void
relative_path(char *out, size_t outlen, const char *from, const char *to)
{
	size_t i = 0, common = 0, pos = 0;
	const char *p;

	/* longest common prefix that ends at a component boundary */
	while (from[i] != '\0' && from[i] == to[i]) {
		i++;
		if ((from[i] == '/' || from[i] == '\0') &&
		    (to[i] == '/' || to[i] == '\0'))
			common = i;
	}
	out[0] = '\0';
	for (p = from + common; *p != '\0'; p++) {
		if (*p == '/')
			pos += (size_t)snprintf(out + pos, outlen - pos, "../");
		if (pos >= outlen)
			die("relative path too long");
	}
	p = to + common;
	while (*p == '/')
		p++;
	if ((size_t)snprintf(out + pos, outlen - pos, "%s", p) >= outlen - pos)
		die("relative path too long");
}

static void
make_file(const char *path, const char *content)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return;
		die("create %s: %s", path, strerror(errno));
	}
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		die("write %s: %s", path, strerror(errno));
	close(fd);
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

static void
make_symlink(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path) < 0)
		die("symlink %s: %s", path, strerror(errno));
}

/* Files the workers aim at, in CANARY (and in the tmpfs that hides it). */
static void
populate_canary(const char *dir)
{
	char p[PATH_MAX];

	pathcat(p, sizeof(p), dir, "f");
	make_file(p, "canary file f\n");
	pathcat(p, sizeof(p), dir, "g");
	make_file(p, "canary file g\n");
	pathcat(p, sizeof(p), dir, "s");
	make_dir(p);
	pathcat(p, sizeof(p), dir, "s/f");
	make_file(p, "canary file s/f\n");
}

/* ROOT/d (a real directory holding f, s/, s/f and symlinks f_sym, f_rel,
 * s_sym to CANARY's f and s) and ROOT/d_abs, d_rel, d_proc (symlinks to
 * CANARY: absolute, relative, through /proc/self/root). */
static void
populate_root(void)
{
	char p[PATH_MAX], t[PATH_MAX];

	pathcat(p, sizeof(p), root, "d");
	make_dir(p);
	pathcat(p, sizeof(p), root, "d/f");
	make_file(p, "inside file f\n");
	pathcat(p, sizeof(p), root, "d/s");
	make_dir(p);
	pathcat(p, sizeof(p), root, "d/s/f");
	make_file(p, "inside file s/f\n");
	pathcat(t, sizeof(t), canary, "f");
	pathcat(p, sizeof(p), root, "d/f_sym");
	make_symlink(t, p);
	pathcat(t, sizeof(t), canary, "s");
	pathcat(p, sizeof(p), root, "d/s_sym");
	make_symlink(t, p);
	if ((size_t)snprintf(t, sizeof(t), "../%s/f", rel_canary) >= sizeof(t))
		die("path too long");
	pathcat(p, sizeof(p), root, "d/f_rel");
	make_symlink(t, p);
	pathcat(p, sizeof(p), root, "d_abs");
	make_symlink(canary, p);
	pathcat(p, sizeof(p), root, "d_rel");
	make_symlink(rel_canary, p);
	pathcat(p, sizeof(p), root, "d_proc");
	make_symlink(proc_canary, p);
}

/* ---- the race ------------------------------------------------------------ */

enum {
	OP_CREATE,
	OP_TRUNC_WRITE,
	OP_APPEND,
	OP_MKDIR,
	OP_RENAME,
	OP_RENAME_NOREPLACE,
	OP_LINK,
	OP_SYMLINK,
	OP_CHMOD,
	OP_CHOWN,
	OP_SETXATTR,
	OP_TRUNCATE,
	OP_UTIMENS,
	OP_MKNOD,
	OP_SUBDIR_CREATE,
	OP_UNLINK,
	OP_RMDIR,
	OP_PROCFD,
	OP_RENAME_F,
	OP_RECREATE_F,
	OP_LCHOWN,
	OP_LUTIMENS,
	OP_LINK_SYMLINK,
	OP_DIR_XATTR,
	OP_HELD_CREATE,
	OP_HELD_MKDIR,
	OP_HELD_CHMOD,
	OP_HELD_CHOWN,
	OP_HELD_UTIMENS,
	OP_HELD_RENAME,
	OP_HELD_LINK,
	OP_HELD_SYMLINK,
	OP_HELD_MKNOD,
	OP_HELD_UNLINK,
	OP_HELD_PROC,
	OP_MAX
};

static const char *const op_names[OP_MAX] = { "create", "trunc+write", "append",
	"mkdir", "rename", "rename-noreplace", "link", "symlink", "chmod",
	"chown", "setxattr", "truncate", "utimens", "mknod", "create-in-subdir",
	"unlink", "rmdir", "procfd", "rename-f", "recreate-f", "lchown-symlink",
	"utimens-nofollow", "link-symlink", "setxattr-dir", "held:create",
	"held:mkdir", "held:chmod", "held:chown", "held:utimens", "held:rename",
	"held:link", "held:symlink", "held:mknod", "held:unlink",
	"held:proc-path" };

struct worker {
	pthread_t tid;
	int id;
	int held; /* O_PATH descriptor of MNT/d, opened while it was real */
	unsigned long ok[OP_MAX], fail[OP_MAX];
};

static atomic_int stop;
static atomic_ulong ops_done;

static void
mpath(char *out, size_t len, const char *rel)
{
	pathcat(out, len, mnt, rel);
}

static void
count(struct worker *w, int op, int r)
{
	if (r == 0)
		w->ok[op]++;
	else
		w->fail[op]++;
	atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
}

/* Ignore a result on purpose (most racing operations may fail). */
static void
ign(int r)
{
	(void)r;
}

static int
r0(int r)
{
	return r < 0 ? -1 : 0;
}

static int
create_write(const char *path, int flags, const char *data)
{
	int fd, r = 0;

	fd = open(path, flags, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, data, strlen(data)) < 0)
		r = -1;
	close(fd);
	return r;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char n[PATH_MAX], r[PATH_MAX], q[PATH_MAX], m[PATH_MAX], h[PATH_MAX];
	char l[PATH_MAX], pf[PATH_MAX], f[PATH_MAX], s[PATH_MAX], sn[PATH_MAX];
	char ff[PATH_MAX], tmp[64], fsym[PATH_MAX], dabs[PATH_MAX];
	char d[PATH_MAX], pr[PATH_MAX], hn[64];
	struct timespec ts[2];
	unsigned long k;
	int dfd, fd;

	mpath(f, sizeof(f), "d/f");
	mpath(s, sizeof(s), "d/s");
	mpath(d, sizeof(d), "d");
	mpath(fsym, sizeof(fsym), "d/f_sym");
	mpath(dabs, sizeof(dabs), "d_abs");
	for (k = 0; !atomic_load(&stop); k++) {
		snprintf(tmp, sizeof(tmp), "d/w%dn%lu", w->id, k % 8);
		mpath(n, sizeof(n), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dr%lu", w->id, k % 8);
		mpath(r, sizeof(r), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dq%lu", w->id, k % 8);
		mpath(q, sizeof(q), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dm%lu", w->id, k % 8);
		mpath(m, sizeof(m), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dh%lu", w->id, k % 8);
		mpath(h, sizeof(h), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dl%lu", w->id, k % 8);
		mpath(l, sizeof(l), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%dp%lu", w->id, k % 8);
		mpath(pf, sizeof(pf), tmp);
		snprintf(tmp, sizeof(tmp), "d/s/w%dn%lu", w->id, k % 8);
		mpath(sn, sizeof(sn), tmp);
		snprintf(tmp, sizeof(tmp), "d/w%df", w->id);
		mpath(ff, sizeof(ff), tmp);

		count(w, OP_CREATE,
		    create_write(n, O_WRONLY | O_CREAT | O_TRUNC, "new\n"));
		count(w, OP_TRUNC_WRITE,
		    create_write(f, O_WRONLY | O_TRUNC, "overwritten\n"));
		count(w, OP_APPEND,
		    create_write(f, O_WRONLY | O_APPEND, "appended\n"));
		count(w, OP_MKDIR, r0(mkdir(m, 0700)));
		count(w, OP_RENAME, r0(rename(n, r)));
		count(w, OP_RENAME_NOREPLACE,
		    r0(renameat2(AT_FDCWD, r, AT_FDCWD, q, RENAME_NOREPLACE)));
		count(w, OP_LINK, r0(link(f, h)));
		unlink(h);
		count(w, OP_SYMLINK, r0(symlink("target", l)));
		unlink(l);
		count(w, OP_CHMOD, r0(chmod(f, (k & 1) ? 0600 : 0640)));
		chmod(s, (k & 1) ? 0700 : 0750);
		count(w, OP_CHOWN,
		    r0(chown(f, (uid_t)(k & 3), (gid_t)(k & 3))));
		count(w, OP_SETXATTR, r0(setxattr(f, "user.race", "x", 1, 0)));
		removexattr(f, "user.race");
		count(w, OP_TRUNCATE, r0(truncate(f, (off_t)(k % 7))));
		ts[0].tv_sec = ts[1].tv_sec = (time_t)(1000000 + k);
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		count(w, OP_UTIMENS, r0(utimensat(AT_FDCWD, f, ts, 0)));
		count(w, OP_MKNOD, r0(mknod(pf, S_IFIFO | 0644, 0)));
		unlink(pf);
		count(w, OP_SUBDIR_CREATE,
		    create_write(sn, O_WRONLY | O_CREAT | O_TRUNC, "sub\n"));
		unlink(sn);
		count(w, OP_UNLINK, r0(unlink(q)));
		count(w, OP_RMDIR, r0(rmdir(m)));

		/* descriptor-relative and /proc/self/fd/N paths */
		dfd = open(d, O_PATH | O_DIRECTORY);
		if (dfd >= 0) {
			int ok = 0;
			fd = openat(dfd, "wproc", O_WRONLY | O_CREAT | O_TRUNC,
			    0644);
			if (fd >= 0) {
				ok = 1;
				close(fd);
			}
			ign(fchmodat(dfd, "f", (k & 1) ? 0604 : 0644, 0));
			snprintf(pr, sizeof(pr), "/proc/self/fd/%d/f", dfd);
			ign(truncate(pr, 1));
			snprintf(pr, sizeof(pr), "/proc/self/fd/%d/wproc2",
			    dfd);
			fd = open(pr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0)
				close(fd);
			unlinkat(dfd, "wproc", 0);
			unlink(pr);
			close(dfd);
			count(w, OP_PROCFD, ok ? 0 : -1);
		} else {
			count(w, OP_PROCFD, -1);
		}

		if (k % 4 == 0) {
			count(w, OP_RENAME_F, r0(rename(f, ff)));
			rename(ff, f);
		}
		if (k % 16 == 0) {
			count(w, OP_RECREATE_F, r0(unlink(f)));
			create_write(f, O_WRONLY | O_CREAT | O_EXCL,
			    "recreated\n");
		}
		/* operations on a symlink itself must not follow it */
		count(w, OP_LCHOWN,
		    r0(lchown(fsym, (uid_t)(k & 1), (gid_t)(k & 1))));
		ign(lchown(dabs, (uid_t)(k & 1), (gid_t)(k & 1)));
		count(w, OP_LUTIMENS,
		    r0(utimensat(AT_FDCWD, fsym, ts, AT_SYMLINK_NOFOLLOW)));
		utimensat(AT_FDCWD, dabs, ts, AT_SYMLINK_NOFOLLOW);
		count(w, OP_LINK_SYMLINK, r0(link(fsym, h)));
		unlink(h);
		count(w, OP_DIR_XATTR,
		    r0(setxattr(d, "user.racedir", "y", 1, 0)));

		/*
		 * Through the descriptor of the real directory, opened before
		 * the race: the kernel sends its node id, whatever ROOT/d is
		 * now; a daemon that turns it back into the path "d" follows
		 * the symlink the racer put there.
		 */
		snprintf(tmp, sizeof(tmp), "h%dn%lu", w->id, k % 8);
		snprintf(hn, sizeof(hn), "h%dr%lu", w->id, k % 8);
		fd = openat(w->held, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		count(w, OP_HELD_CREATE, fd >= 0 ? 0 : -1);
		if (fd >= 0)
			close(fd);
		count(w, OP_HELD_RENAME,
		    r0(renameat(w->held, tmp, w->held, hn)));
		count(w, OP_HELD_UNLINK, r0(unlinkat(w->held, hn, 0)));
		snprintf(tmp, sizeof(tmp), "h%dm%lu", w->id, k % 8);
		count(w, OP_HELD_MKDIR, r0(mkdirat(w->held, tmp, 0700)));
		unlinkat(w->held, tmp, AT_REMOVEDIR);
		count(w, OP_HELD_CHMOD,
		    r0(fchmodat(w->held, "f", (k & 1) ? 0640 : 0644, 0)));
		count(w, OP_HELD_CHOWN,
		    r0(fchownat(w->held, "f", (uid_t)(k & 3), (gid_t)(k & 3),
		        0)));
		count(w, OP_HELD_UTIMENS, r0(utimensat(w->held, "f", ts, 0)));
		snprintf(tmp, sizeof(tmp), "h%dl%lu", w->id, k % 8);
		count(w, OP_HELD_LINK,
		    r0(linkat(w->held, "f", w->held, tmp, 0)));
		unlinkat(w->held, tmp, 0);
		count(w, OP_HELD_SYMLINK, r0(symlinkat("x", w->held, tmp)));
		unlinkat(w->held, tmp, 0);
		count(w, OP_HELD_MKNOD,
		    r0(mknodat(w->held, tmp, S_IFIFO | 0600, 0)));
		unlinkat(w->held, tmp, 0);
		snprintf(pr, sizeof(pr), "/proc/self/fd/%d/f", w->held);
		count(w, OP_HELD_PROC, r0(truncate(pr, (off_t)(k % 5))));
		ign(setxattr(pr, "user.held", "z", 1, 0));
	}
	return NULL;
}

struct racer {
	unsigned long iterations;
	uint64_t seed;
	int rootfd, realfd;
	int nworkers;
	unsigned long swaps_ok, swaps_fail;
};

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Put back a name the workers removed, so the next swap has both sides. */
static void
repair(int dirfd_, const char *name)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd_, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	if (strcmp(name, "f") == 0) {
		fd = openat(dirfd_, "f", O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(name, "f_sym") == 0) {
		char t[PATH_MAX];
		pathcat(t, sizeof(t), canary, "f");
		ign(symlinkat(t, dirfd_, "f_sym"));
	}
}

static void *
racer_main(void *arg)
{
	struct racer *rc = arg;
	static const char *const top[] = { "d_abs", "d_rel", "d_proc" };
	unsigned long i, before;
	struct timespec t0, t1;
	uint64_t x;
	int r = 0, pick;

	for (i = 0; i < rc->iterations; i++) {
		x = xorshift(&rc->seed);
		pick = (int)(x % 8);
		switch (pick) {
		case 0:
		case 1:
		case 2:
			r = renameat2(rc->rootfd, "d", rc->rootfd, top[pick],
			    RENAME_EXCHANGE);
			break;
		case 3:
			r = renameat2(rc->realfd, "f", rc->realfd, "f_sym",
			    RENAME_EXCHANGE);
			if (r < 0) {
				repair(rc->realfd, "f");
				repair(rc->realfd, "f_sym");
			}
			break;
		case 4:
			r = renameat2(rc->realfd, "s", rc->realfd, "s_sym",
			    RENAME_EXCHANGE);
			break;
		case 5:
			r = renameat2(rc->realfd, "f", rc->realfd, "f_rel",
			    RENAME_EXCHANGE);
			break;
		default:
			/* not atomic: move d away, plant a symlink, put d back */
			r = renameat(rc->rootfd, "d", rc->rootfd, "d_tmp");
			if (r == 0) {
				ign(symlinkat(canary, rc->rootfd, "d"));
				sched_yield();
				unlinkat(rc->rootfd, "d", 0);
				r = renameat(rc->rootfd, "d_tmp", rc->rootfd,
				    "d");
			}
			break;
		}
		if (r == 0)
			rc->swaps_ok++;
		else
			rc->swaps_fail++;
		/* let each worker get a few operations in, in this state */
		before = atomic_load_explicit(&ops_done, memory_order_relaxed);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			if (atomic_load_explicit(&ops_done,
			        memory_order_relaxed) >=
			    before + 4 * (unsigned long)rc->nworkers)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L +
			        (t1.tv_nsec - t0.tv_nsec) >
			    5000000L)
				break;
			sched_yield();
		}
	}
	return NULL;
}

/* ---- deterministic descriptor checks (in the worker namespace) ----------- */

static int det_failures;

static void
det_fail(const char *what, const char *detail)
{
	say("FAIL: %s: %s", what, detail);
	det_failures++;
}

/* Move whatever is at ROOT/d to ROOT/d.moved and plant d -> CANARY. */
static int
swap_d_for_symlink(int rootfd)
{
	if (renameat(rootfd, "d", rootfd, "d.moved") < 0)
		return -1;
	if (symlinkat(canary, rootfd, "d") < 0)
		return -1;
	return 0;
}

static void
unswap_d(int rootfd)
{
	unlinkat(rootfd, "d", 0);
	renameat(rootfd, "d.moved", rootfd, "d");
}

static void
deterministic_checks(int rootfd)
{
	char p[PATH_MAX], pr[PATH_MAX], buf[64];
	struct stat st;
	int dfd, fd, r;

	/* 1. a directory descriptor opened through the mount */
	mpath(p, sizeof(p), "d");
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		det_fail("open MNT/d", strerror(errno));
		return;
	}
	mpath(p, sizeof(p), "d/f");
	fd = open(p, O_RDWR);
	if (fd < 0) {
		det_fail("open MNT/d/f", strerror(errno));
		close(dfd);
		return;
	}
	if (swap_d_for_symlink(rootfd) < 0) {
		det_fail("swap ROOT/d for a symlink", strerror(errno));
		close(fd);
		close(dfd);
		return;
	}
	r = openat(dfd, "det_create", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (r < 0) {
		det_fail("openat(dirfd of MNT/d, O_CREAT) after ROOT/d became "
		         "a symlink",
		    strerror(errno));
	} else {
		close(r);
		if (fstatat(rootfd, "d.moved/det_create", &st,
		        AT_SYMLINK_NOFOLLOW) < 0)
			det_fail("openat(dirfd, O_CREAT) after the swap",
			    "the file is not in the directory the descriptor "
			    "names (ROOT/d.moved)");
		unlinkat(rootfd, "d.moved/det_create", 0);
	}
	if (mkdirat(dfd, "det_dir", 0755) == 0) {
		if (fstatat(rootfd, "d.moved/det_dir", &st,
		        AT_SYMLINK_NOFOLLOW) < 0)
			det_fail("mkdirat(dirfd) after the swap",
			    "not in ROOT/d.moved");
		unlinkat(rootfd, "d.moved/det_dir", AT_REMOVEDIR);
	} else {
		det_fail("mkdirat(dirfd of MNT/d) after the swap",
		    strerror(errno));
	}
	snprintf(pr, sizeof(pr), "/proc/self/fd/%d/det_proc", dfd);
	r = open(pr, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (r < 0) {
		det_fail("open(/proc/self/fd/N/name, O_CREAT) after the swap",
		    strerror(errno));
	} else {
		close(r);
		if (fstatat(rootfd, "d.moved/det_proc", &st,
		        AT_SYMLINK_NOFOLLOW) < 0)
			det_fail("/proc/self/fd/N/name after the swap",
			    "not in ROOT/d.moved");
		unlinkat(rootfd, "d.moved/det_proc", 0);
	}
	if (fchmodat(dfd, "f", 0604, 0) < 0)
		det_fail("fchmodat(dirfd, f) after the swap", strerror(errno));
	if (renameat(dfd, "f", dfd, "f.renamed") < 0) {
		det_fail("renameat(dirfd) after the swap", strerror(errno));
	} else {
		if (fstatat(rootfd, "d.moved/f.renamed", &st,
		        AT_SYMLINK_NOFOLLOW) < 0)
			det_fail("renameat(dirfd) after the swap",
			    "not in ROOT/d.moved");
		if (renameat(dfd, "f.renamed", dfd, "f") < 0)
			det_fail("renameat back", strerror(errno));
	}

	/* 2. a file descriptor: its attributes are its inode's */
	if (fchmod(fd, 0611) < 0)
		det_fail("fchmod(fd of MNT/d/f) after the swap",
		    strerror(errno));
	if (ftruncate(fd, 5) < 0)
		det_fail("ftruncate(fd) after the swap", strerror(errno));
	if (fsetxattr(fd, "user.det", "1", 1, 0) < 0 && errno != ENOTSUP)
		det_fail("fsetxattr(fd) after the swap", strerror(errno));
	if (pwrite(fd, "DET", 3, 0) != 3)
		det_fail("pwrite(fd) after the swap", strerror(errno));
	if (fsync(fd) < 0)
		det_fail("fsync(fd) after the swap", strerror(errno));
	snprintf(pr, sizeof(pr), "/proc/self/fd/%d", fd);
	if (chmod(pr, 0621) < 0)
		det_fail("chmod(/proc/self/fd/N) after the swap",
		    strerror(errno));
	if (fstatat(rootfd, "d.moved/f", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		det_fail("stat ROOT/d.moved/f", strerror(errno));
	} else {
		if ((st.st_mode & 07777) != 0621)
			det_fail("chmod via fd / /proc/self/fd after the swap",
			    "did not reach the file the descriptor names");
		if (st.st_size != 5)
			det_fail("ftruncate via fd after the swap",
			    "did not reach the file the descriptor names");
		r = openat(rootfd, "d.moved/f", O_RDONLY);
		if (r >= 0) {
			memset(buf, 0, sizeof(buf));
			if (read(r, buf, 3) != 3 || memcmp(buf, "DET", 3) != 0)
				det_fail("pwrite via fd after the swap",
				    "did not reach the file the descriptor "
				    "names");
			close(r);
		}
	}
	close(fd);
	close(dfd);
	unswap_d(rootfd);
	if (fchmodat(rootfd, "d/f", 0644, 0) < 0)
		det_fail("restore ROOT/d/f", strerror(errno));
	if (verbose)
		say("deterministic checks done: %d failures", det_failures);
}

/* ---- the child: private namespace, checks, race ------------------------- */

static int
child_main(unsigned long iterations, int nworkers, uint64_t seed)
{
	struct worker w[MAX_WORKERS];
	struct racer rc;
	pthread_t rt;
	unsigned long tot_ok = 0, tot_fail = 0, ok_op, fail_op;
	int i, op;
	char p[PATH_MAX];

	if (unshare(CLONE_NEWNS) < 0) {
		say("setup: unshare(CLONE_NEWNS): %s (need root)",
		    strerror(errno));
		return 2;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		say("setup: make / private: %s", strerror(errno));
		return 2;
	}
	if (mount("escape_race_decoy", canary, "tmpfs", MS_NOSUID | MS_NODEV,
	        "size=1m,mode=0755") < 0) {
		say("setup: tmpfs over %s: %s", canary, strerror(errno));
		return 2;
	}
	populate_canary(canary); /* in the decoy tmpfs */
	if (chdir("/") < 0)
		return 2;

	memset(&rc, 0, sizeof(rc));
	rc.rootfd = open(root, O_PATH | O_DIRECTORY);
	pathcat(p, sizeof(p), root, "d");
	rc.realfd = open(p, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	if (rc.rootfd < 0 || rc.realfd < 0) {
		say("setup: open %s: %s", p, strerror(errno));
		return 2;
	}

	if (!skip_deterministic)
		deterministic_checks(rc.rootfd);

	rc.iterations = iterations;
	rc.nworkers = nworkers;
	rc.seed = seed ? seed : 0x9E3779B97F4A7C15ULL;
	memset(w, 0, sizeof(w));
	mpath(p, sizeof(p), "d");
	for (i = 0; i < nworkers; i++) {
		w[i].id = i;
		w[i].held = open(p, O_PATH | O_DIRECTORY);
		if (w[i].held < 0) {
			say("setup: open %s: %s", p, strerror(errno));
			return 2;
		}
	}
	for (i = 0; i < nworkers; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			say("setup: pthread_create failed");
			return 2;
		}
	}
	if (pthread_create(&rt, NULL, racer_main, &rc) != 0) {
		say("setup: pthread_create failed");
		return 2;
	}
	pthread_join(rt, NULL);
	atomic_store(&stop, 1);
	for (i = 0; i < nworkers; i++)
		pthread_join(w[i].tid, NULL);

	fprintf(stderr, "%s: racer: %lu swaps done, %lu failed\n", prog,
	    rc.swaps_ok, rc.swaps_fail);
	for (op = 0; op < OP_MAX; op++) {
		ok_op = fail_op = 0;
		for (i = 0; i < nworkers; i++) {
			ok_op += w[i].ok[op];
			fail_op += w[i].fail[op];
		}
		tot_ok += ok_op;
		tot_fail += fail_op;
		if (verbose)
			fprintf(stderr, "%s:   %-18s ok %7lu  failed %7lu\n",
			    prog, op_names[op], ok_op, fail_op);
	}
	fprintf(stderr, "%s: workers: %lu operations succeeded, %lu failed\n",
	    prog, tot_ok, tot_fail);
	if (det_failures > 0)
		return 1;
	if (tot_ok == 0 || rc.swaps_ok == 0) {
		say("VACUOUS: no operation through the mount succeeded");
		return 3;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [-n ITERATIONS] [-w WORKERS] [-s SEED] "
	    "[-T SECONDS] [-v] [-D] MNT ROOT CANARY\n",
	    prog);
	exit(2);
}

static unsigned long
num_arg(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

static char *
canon(const char *p)
{
	char *r = realpath(p, NULL);

	if (r == NULL)
		die("%s: %s", p, strerror(errno));
	return r;
}

int
main(int argc, char **argv)
{
	unsigned long iterations = 5000, timeout = 240, waited = 0;
	int nworkers = 2, c, st, rc = 0, diffs;
	uint64_t seed = 0;
	struct snap before, after;
	struct stat sst;
	pid_t pid;
	char *rmnt, *rroot, *rcanary;

	while ((c = getopt(argc, argv, "n:w:s:T:vD")) != -1) {
		switch (c) {
		case 'n': iterations = num_arg(optarg, 1, 100000000UL); break;
		case 'w':
			nworkers = (int)num_arg(optarg, 1, MAX_WORKERS);
			break;
		case 's': seed = num_arg(optarg, 0, ULONG_MAX); break;
		case 'T': timeout = num_arg(optarg, 1, 86400); break;
		case 'v': verbose = 1; break;
		case 'D': skip_deterministic = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	rmnt = canon(argv[optind]);
	rroot = canon(argv[optind + 1]);
	rcanary = canon(argv[optind + 2]);
	mnt = rmnt;
	root = rroot;
	canary = rcanary;
	if (strncmp(canary, root, strlen(root)) == 0 &&
	    (canary[strlen(root)] == '/' || canary[strlen(root)] == '\0'))
		die("CANARY %s is inside ROOT %s", canary, root);
	if (lstat(canary, &sst) < 0 || !S_ISDIR(sst.st_mode))
		die("CANARY %s is not a directory", canary);
	relative_path(rel_canary, sizeof(rel_canary), root, canary);
	if ((size_t)snprintf(proc_canary, sizeof(proc_canary),
	        "/proc/self/root%s", canary) >= sizeof(proc_canary))
		die("path too long");

	populate_canary(canary);
	populate_root();
	snap_take(&before, canary);
	if (verbose)
		say("CANARY %s: %zu entries; ROOT/d_rel -> %s", canary,
		    before.n, rel_canary);

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(child_main(iterations, nworkers, seed));

	/* wait, with a time limit: a hung mount must not hang the test */
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = 2 << 8;
			break;
		}
		if (waited >= timeout * 10) {
			say("FAIL: the race did not finish in %lu s (mount hung?)",
			    timeout);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			rc = 1;
			break;
		}
		usleep(100000);
		waited++;
	}
	if (rc == 0) {
		if (WIFEXITED(st))
			rc = WEXITSTATUS(st);
		else {
			say("FAIL: race child killed by signal %d",
			    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
			rc = 1;
		}
	}

	snap_take(&after, canary);
	diffs = snap_diff(&before, &after);
	if (diffs > 0) {
		say("FAIL: %d entries of %s changed: the filesystem followed a "
		    "symlink out of its root",
		    diffs, canary);
		rc = 1;
	} else {
		fprintf(stderr, "%s: %s untouched (%zu entries compared)\n",
		    prog, canary, after.n);
	}
	if (stat(mnt, &sst) < 0) {
		say("FAIL: the mount does not answer after the race: %s",
		    strerror(errno));
		rc = 1;
	}
	snap_free(&before);
	snap_free(&after);
	free(rmnt);
	free(rroot);
	free(rcanary);
	return rc;
}
