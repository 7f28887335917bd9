/*
 * spawn.c - run one command in a sandbox (the contract is in spawn.h).
 *
 * Parent: validate, build the whole plan (mount operations as data, exec
 * candidates, seccomp program) and the per-call cgroup, then clone3 the
 * sandbox's init into new namespaces (and, on cgroup v2, straight into the
 * call's cgroup).  The init waits for the parent's go (v1: after its pid
 * was written into the cgroups), replays the mount plan, pivots into the
 * new root, drops privileges in one function, forks the command and reaps
 * until the command ends; it reports the command's wait status (or the
 * step that failed) on a CLOEXEC pipe and exits, which ends the PID
 * namespace and everything in it.  Between clone and exec only system
 * calls are made: no malloc, no stdio, no locks.
 */
#include "autoconf.h"

#include "exec/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "exec/cgroup.h"

/* ---- kernel interfaces glibc 2.36 does not wrap ---------------------- */

struct sn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define SN_CLONE_PIDFD       0x00001000ULL
#define SN_CLONE_INTO_CGROUP 0x200000000ULL

struct sn_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define SN_AT_RECURSIVE 0x8000
#define SN_MA_RDONLY    0x1ULL
#define SN_MA_NOSUID    0x2ULL
#define SN_MA_NODEV     0x4ULL
#define SN_MA_NOEXEC    0x8ULL

#define SPAWN_TMP_OPTS  "mode=1777,size=256m,nr_inodes=65536"
#define SPAWN_SHM_OPTS  "mode=1777,size=64m"
#define SPAWN_MAX_OPS   512
#define SPAWN_MAX_CANDS 64

/* ---- the mount plan ---------------------------------------------------- */

enum op_kind {
	OP_PRIVATE, /* make / recursively private */
	OP_MKDIR,   /* a */
	OP_MKFILE,  /* a: an empty file (a mount point) */
	OP_SYMLINK, /* a -> b */
	OP_MOUNT,   /* mount(b, a, fstype, flags, data) */
	OP_ATTR,    /* mount_setattr(a, set, recursive?) */
	OP_HIDE,    /* cover a (if it exists) */
	OP_PIVOT,   /* pivot_root(a, b) */
	OP_CHDIR,   /* a */
	OP_DETACH   /* umount2(a, MNT_DETACH) */
};

struct op {
	int kind;
	const char *a, *b, *fstype, *data;
	unsigned long flags;
	uint64_t attr;
	int rec;
};

struct plan {
	struct op ops[SPAWN_MAX_OPS];
	int nops;
	char *strs[SPAWN_MAX_OPS * 2]; /* owned strings */
	int nstrs;
	char *cands[SPAWN_MAX_CANDS]; /* owned: exec candidates */
	int ncands;
	char *cwd; /* owned: /workspace/... */
	int overflow;
};

static void
plan_free(struct plan *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	for (i = 0; i < p->ncands; i++)
		free(p->cands[i]);
	free(p->cwd);
	free(p);
}

/* A plan-owned formatted string (NULL on overflow or ENOMEM). */
static const char *pstr(struct plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *
pstr(struct plan *p, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (p->nstrs >= (int)(sizeof(p->strs) / sizeof(p->strs[0]))) {
		p->overflow = 1;
		return NULL;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->overflow = 1;
		return NULL;
	}
	p->strs[p->nstrs++] = s;
	return s;
}

static struct op *
add(struct plan *p, int kind, const char *a, const char *b)
{
	struct op *o;

	if (p->nops >= SPAWN_MAX_OPS || (a == NULL && kind != OP_PRIVATE)) {
		p->overflow = 1;
		return NULL;
	}
	o = &p->ops[p->nops++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->a = a;
	o->b = b;
	return o;
}

static void
add_mount(struct plan *p, const char *src, const char *dst, const char *fstype,
    unsigned long flags, const char *data)
{
	struct op *o = add(p, OP_MOUNT, dst, src);

	if (o != NULL) {
		o->fstype = fstype;
		o->flags = flags;
		o->data = data;
	}
}

static void
add_attr(struct plan *p, const char *dst, uint64_t attr, int rec)
{
	struct op *o = add(p, OP_ATTR, dst, NULL);

	if (o != NULL) {
		o->attr = attr;
		o->rec = rec;
	}
}

/* A read-only recursive bind of SRC at DST (a directory or a file). */
static void
add_robind(struct plan *p, const char *src, const char *dst, int isdir)
{
	add(p, isdir ? OP_MKDIR : OP_MKFILE, dst, NULL);
	add_mount(p, src, dst, NULL, MS_BIND | MS_REC, NULL);
	add_attr(p, dst, SN_MA_RDONLY | SN_MA_NOSUID | SN_MA_NODEV, 1);
}

static int
skip_top(const char *n)
{
	static const char *const own[] = { "proc", "dev", "tmp", "run",
		"workspace", "oldroot", "newroot" };
	size_t i;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(n, own[i]) == 0)
			return 1;
	return 0;
}

/* Each top-level entry of ROOT (a host path, canonical), bound read-only
 * into /newroot. */
static int
plan_root(struct plan *p, const char *root, char *err, size_t errlen)
{
	const char *base = strcmp(root, "/") == 0 ? "" : root;
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *de;
	struct stat st;
	ssize_t n;
	DIR *d;

	d = opendir(root);
	if (d == NULL) {
		snprintf(err, errlen, "rootfs %s: %s", root, strerror(errno));
		return SN_EINVAL;
	}
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    skip_top(nm))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, nm) >=
		        sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = '\0';
			add(p, OP_SYMLINK, pstr(p, "/newroot/%s", nm),
			    pstr(p, "%s", link));
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			add_robind(p, pstr(p, "/oldroot%s", path),
			    pstr(p, "/newroot/%s", nm), S_ISDIR(st.st_mode));
		}
	}
	closedir(d);
	return 0;
}

static void
plan_dev(struct plan *p)
{
	static const char *const nodes[] = { "null", "zero", "full", "random",
		"urandom", "tty" };
	static const char *const links[][2] = { { "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" } };
	size_t i;

	add(p, OP_MKDIR, "/newroot/dev", NULL);
	add_mount(p, "sn-dev", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=0755,size=64k");
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		const char *dst = pstr(p, "/newroot/dev/%s", nodes[i]);

		add(p, OP_MKFILE, dst, NULL);
		add_mount(p, pstr(p, "/oldroot/dev/%s", nodes[i]), dst, NULL,
		    MS_BIND, NULL);
		add_attr(p, dst, SN_MA_NOSUID | SN_MA_NOEXEC, 0);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		add(p, OP_SYMLINK, pstr(p, "/newroot/dev/%s", links[i][0]),
		    links[i][1]);
	add(p, OP_MKDIR, "/newroot/dev/shm", NULL);
	add_mount(p, "sn-shm", "/newroot/dev/shm", "tmpfs",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, SPAWN_SHM_OPTS);
	add_attr(p, "/newroot/dev", SN_MA_RDONLY | SN_MA_NOSUID | SN_MA_NOEXEC,
	    0);
}

/* cwd relative to /workspace: no absolute path, no "..". */
static int
cwd_ok(const char *c)
{
	const char *s = c;

	if (c[0] == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

static const char *
env_get(char *const *envp, const char *key)
{
	size_t kl = strlen(key);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, key, kl) == 0 && (*envp)[kl] == '=')
			return *envp + kl + 1;
	return NULL;
}

static int
plan_exec(struct plan *p, const struct spawn_opts *o)
{
	const char *a0 = o->argv[0];
	const char *path = env_get(o->envp, "PATH");
	const char *s;
	char *c;

	if (strchr(a0, '/') != NULL) {
		p->cands[p->ncands] = strdup(a0);
		if (p->cands[p->ncands] == NULL)
			return SN_ENOMEM;
		p->ncands++;
		return 0;
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (s = path; p->ncands < SPAWN_MAX_CANDS;) {
		size_t n = strcspn(s, ":");

		if (asprintf(&c, "%.*s%s%s", (int)n, s, n > 0 ? "/" : "", a0) <
		    0)
			return SN_ENOMEM;
		p->cands[p->ncands++] = c;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	return 0;
}

static int
build_plan(const struct spawn_opts *o, struct plan **out, char *err,
    size_t errlen)
{
	char ws[PATH_MAX], root[PATH_MAX];
	struct plan *p;
	int rc, i;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return SN_ENOMEM;
	if (realpath(o->workspace, ws) == NULL) {
		snprintf(err, errlen, "workspace %s: %s", o->workspace,
		    strerror(errno));
		rc = SN_EINVAL;
		goto out;
	}
	if (realpath(o->rootfs != NULL ? o->rootfs : "/", root) == NULL) {
		snprintf(err, errlen, "rootfs %s: %s", o->rootfs,
		    strerror(errno));
		rc = SN_EINVAL;
		goto out;
	}
	/* the staging root: a small tmpfs over /tmp, pivoted into, so that
	 * the host's tree stays reachable under /oldroot while the new root
	 * is assembled at /newroot */
	add(p, OP_PRIVATE, NULL, NULL);
	add_mount(p, "sn-stage", "/tmp", "tmpfs",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k");
	add(p, OP_MKDIR, "/tmp/newroot", NULL);
	add(p, OP_MKDIR, "/tmp/oldroot", NULL);
	add(p, OP_PIVOT, "/tmp", "/tmp/oldroot");
	add(p, OP_CHDIR, "/", NULL);
	add_mount(p, "sn-root", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=64k");
	rc = plan_root(p, root, err, errlen);
	if (rc < 0)
		goto out;
	add(p, OP_MKDIR, "/newroot/proc", NULL);
	add_mount(p, "proc", "/newroot/proc", "proc",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	plan_dev(p);
	add(p, OP_MKDIR, "/newroot/tmp", NULL);
	add_mount(p, "sn-tmp", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    SPAWN_TMP_OPTS);
	add(p, OP_MKDIR, "/newroot/run", NULL); /* empty, read-only */
	add(p, OP_MKDIR, "/newroot/workspace", NULL);
	add_mount(p, pstr(p, "/oldroot%s", strcmp(ws, "/") == 0 ? "" : ws),
	    "/newroot/workspace", NULL, MS_BIND | MS_REC, NULL);
	add_attr(p, "/newroot/workspace", SN_MA_NOSUID | SN_MA_NODEV, 1);
	for (i = 0; o->hide != NULL && o->hide[i] != NULL; i++) {
		char hp[PATH_MAX];
		const char *h = o->hide[i];

		if (h[0] != '/') {
			snprintf(err, errlen, "hide %s: not absolute", h);
			rc = SN_EINVAL;
			goto out;
		}
		/* with the host's root, resolve symlinks on the host */
		if (o->rootfs == NULL && realpath(h, hp) != NULL)
			h = hp;
		add(p, OP_HIDE, pstr(p, "/newroot%s", h), NULL);
	}
	add_attr(p, "/newroot", SN_MA_RDONLY | SN_MA_NOSUID | SN_MA_NODEV, 0);
	add(p, OP_CHDIR, "/newroot", NULL);
	add(p, OP_PIVOT, ".", ".");
	add(p, OP_DETACH, ".", NULL);
	add(p, OP_CHDIR, "/", NULL);
	if (p->overflow) {
		snprintf(err, errlen, "sandbox plan too large");
		rc = SN_ENOMEM;
		goto out;
	}
	rc = plan_exec(p, o);
	if (rc < 0)
		goto out;
	if (asprintf(&p->cwd, "/workspace%s%s",
	        o->cwd != NULL && o->cwd[0] != '\0' ? "/" : "",
	        o->cwd != NULL ? o->cwd : "") < 0) {
		p->cwd = NULL;
		rc = SN_ENOMEM;
		goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	plan_free(p);
	return rc;
}

/* ---- seccomp ------------------------------------------------------------- */

static struct sock_fprog g_prog; /* built once by spawn_init */
static struct cgroup_root *g_cgroot;
static int g_inited;
static int g_caplast;
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long g_seq;

static const char *const deny_calls[] = { "unshare", "setns", "mount", "umount",
	"umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
	"process_vm_writev", "bpf", "keyctl", "add_key", "request_key",
	"perf_event_open", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "open_by_handle_at",
	"name_to_handle_at", "userfaultfd", "iopl", "ioperm", "swapon",
	"swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
	"stime", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr", "acct", "quotactl", "quotactl_fd",
	"lookup_dcookie", "nfsservctl", "vhangup", "syslog", "uselib",
	"create_module", "get_kernel_syms", "query_module", "_sysctl", "kcmp",
	"pidfd_getfd", "process_madvise", "io_uring_setup", "io_uring_enter",
	"io_uring_register" };

static int
build_filter(char *err, size_t errlen)
{
	static const uint64_t nsflags[] = { CLONE_NEWNS, CLONE_NEWCGROUP,
		CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET };
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx;
	struct stat st;
	size_t i;
	int rc = SN_ESYS, fd = -1, e = 0, nr;
	void *buf = NULL;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return SN_ENOMEM;
	for (i = 0; i < sizeof(deny_calls) / sizeof(deny_calls[0]) && e == 0;
	     i++) {
		nr = seccomp_syscall_resolve_name(deny_calls[i]);
		if (nr != __NR_SCMP_ERROR)
			e = seccomp_rule_add(ctx, eperm, nr, 0);
	}
	for (i = 0; i < sizeof(nsflags) / sizeof(nsflags[0]) && e == 0; i++)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]));
	/* clone3 passes its flags in memory, out of the filter's sight:
	 * ENOSYS makes libc fall back to clone */
	if (e == 0)
		e = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	/* device nodes */
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(mknod), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR));
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(mknod), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(mknodat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR));
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(mknodat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
	/* packet sockets; raw IP sockets (netlink stays usable) */
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
	for (i = 0; i < 2 && e == 0; i++) {
		int fam = i == 0 ? AF_INET : AF_INET6;

		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
		if (e == 0)
			e = seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 2,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET));
	}
	/* terminal input injection */
	if (e == 0)
		e = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	/* personality stays allowed: turning ASLR off only helps against
	 * setuid binaries, which no_new_privs makes ordinary */
	if (e != 0) {
		snprintf(err, errlen, "seccomp rule: %s", strerror(-e));
		goto out;
	}
	fd = memfd_create("sn-seccomp", MFD_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0 || fstat(fd, &st) < 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > 65535) {
		snprintf(err, errlen, "seccomp export failed");
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL ||
	    pread(fd, buf, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
		snprintf(err, errlen, "seccomp export read failed");
		goto out;
	}
	g_prog.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	g_prog.filter = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

int
spawn_init(char *err, size_t errlen)
{
	char e2[256] = "";
	int rc = 0;

	if (errlen > 0)
		err[0] = '\0';
	pthread_mutex_lock(&g_init_lock);
	if (g_inited)
		goto out;
	g_caplast = CAP_LAST_CAP;
	{
		FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

		if (f != NULL) {
			if (fscanf(f, "%d", &g_caplast) != 1)
				g_caplast = CAP_LAST_CAP;
			fclose(f);
		}
	}
	if (g_caplast < CAP_LAST_CAP)
		g_caplast = CAP_LAST_CAP;
	rc = build_filter(err, errlen);
	if (rc < 0)
		goto out;
	/* no cgroups is not fatal: spawn_run then refuses limits */
	if (cgroup_root_open("/sys/fs/cgroup", "/proc/self/cgroup", 0,
	        &g_cgroot, e2, sizeof(e2)) < 0)
		g_cgroot = NULL;
	g_inited = 1;
out:
	pthread_mutex_unlock(&g_init_lock);
	return rc;
}

int
spawn_cgroup_version(void)
{
	return g_cgroot != NULL ? cgroup_root_version(g_cgroot) : 0;
}

/* ---- the child (no allocation from here to exec) ------------------------ */

enum {
	MSG_FAIL = 1,  /* setup step failed */
	MSG_EXEC = 2,  /* exec failed */
	MSG_STATUS = 3 /* the command's wait status */
};

enum {
	ST_SYNC = -1,
	ST_FDS = -2,
	ST_NET = -3,
	ST_UTS = -4,
	ST_RLIMIT = -5,
	ST_CAPBSET = -6,
	ST_GROUPS = -7,
	ST_GID = -8,
	ST_UID = -9,
	ST_CAPS = -10,
	ST_AMBIENT = -11,
	ST_NNP = -12,
	ST_SECCOMP = -13,
	ST_FORK = -14,
	ST_CWD = -15,
	ST_PDEATH = -16
};

struct msg {
	int kind, step, err, status;
};

struct child {
	const struct plan *p;
	const struct spawn_opts *o;
	int in_r, out_w, err_w, rep_w, sync_r;
	sigset_t empty;
	struct rlimit nproc;
};

static void
report(int fd, int kind, int step, int e, int status)
{
	struct msg m = { kind, step, e, status };
	ssize_t w;

	do
		w = write(fd, &m, sizeof(m));
	while (w < 0 && errno == EINTR);
}

static __attribute__((noreturn)) void
die(int fd, int step)
{
	report(fd, MSG_FAIL, step, errno, 0);
	_exit(127);
}

static int
do_op(const struct op *o)
{
	struct sn_mount_attr ma;
	struct stat st;
	int fd;

	switch (o->kind) {
	case OP_PRIVATE:
		return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	case OP_MKDIR: return mkdir(o->a, 0755) < 0 && errno != EEXIST ? -1 : 0;
	case OP_MKFILE:
		fd = open(o->a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	case OP_SYMLINK: return symlink(o->b, o->a);
	case OP_MOUNT: return mount(o->b, o->a, o->fstype, o->flags, o->data);
	case OP_ATTR:
		memset(&ma, 0, sizeof(ma));
		ma.attr_set = o->attr;
		return (int)syscall(SYS_mount_setattr, AT_FDCWD, o->a,
		    o->rec ? SN_AT_RECURSIVE : 0, &ma, sizeof(ma));
	case OP_HIDE:
		if (lstat(o->a, &st) < 0)
			return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
		if (S_ISLNK(st.st_mode))
			return 0;
		if (S_ISDIR(st.st_mode))
			return mount("sn-hide", o->a, "tmpfs",
			    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			    "mode=0555,size=4k,nr_inodes=2");
		if (mount("/oldroot/dev/null", o->a, NULL, MS_BIND, NULL) < 0)
			return -1;
		memset(&ma, 0, sizeof(ma));
		ma.attr_set =
		    SN_MA_RDONLY | SN_MA_NOSUID | SN_MA_NODEV | SN_MA_NOEXEC;
		return (int)syscall(SYS_mount_setattr, AT_FDCWD, o->a, 0, &ma,
		    sizeof(ma));
	case OP_PIVOT: return (int)syscall(SYS_pivot_root, o->a, o->b);
	case OP_CHDIR: return chdir(o->a);
	case OP_DETACH: return umount2(o->a, MNT_DETACH);
	default: errno = EINVAL; return -1;
	}
}

static int
lo_up(void)
{
	struct ifreq ifr;
	int s, rc = -1;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

/* Privileges, in one order: bounding set (while privileged), groups,
 * gid, uid, the remaining sets, ambient, no_new_privs, seccomp. */
static void
drop_privileges(const struct child *c)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	struct __user_cap_data_struct data[2];
	gid_t g = c->o->gid;
	uid_t u = c->o->uid;
	int cap;

	for (cap = 0; cap <= g_caplast; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die(c->rep_w, ST_CAPBSET);
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		die(c->rep_w, ST_GROUPS);
	if (syscall(SYS_setresgid, g, g, g) < 0)
		die(c->rep_w, ST_GID);
	if (syscall(SYS_setresuid, u, u, u) < 0)
		die(c->rep_w, ST_UID);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		die(c->rep_w, ST_CAPS);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		die(c->rep_w, ST_AMBIENT);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(c->rep_w, ST_NNP);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &g_prog, 0, 0) < 0)
		die(c->rep_w, ST_SECCOMP);
}

static __attribute__((noreturn)) void
run_command(const struct child *c)
{
	int i, e = ENOENT;

	sigprocmask(SIG_SETMASK, &c->empty, NULL);
	setsid();
	/* the usual umask, whatever the server's (serve runs with 0) */
	umask(022);
	if (chdir(c->p->cwd) < 0)
		die(3, ST_CWD);
	for (i = 0; i < c->p->ncands; i++) {
		execve(c->p->cands[i], c->o->argv, c->o->envp);
		/* like execvp: remember a permission error, keep looking */
		if (errno == EACCES || e != EACCES)
			e = errno == ENOTDIR ? ENOENT : errno;
	}
	report(3, MSG_EXEC, 0, e, 0);
	_exit(127);
}

static __attribute__((noreturn)) void
child_main(const struct child *c)
{
	const struct spawn_opts *o = c->o;
	struct sn_clone_args ca;
	struct rlimit rl;
	int i, fd[4], st = 0;
	char b;
	pid_t cmd, w;

	/* the parent's go: v1 cgroups are joined by then */
	if (read(c->sync_r, &b, 1) != 1)
		_exit(127);
	for (i = 1; i < 65; i++) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		(void)sigaction(i, &sa, NULL);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(c->rep_w, ST_PDEATH);
	/* 0, 1, 2 and the report pipe at 3; nothing else */
	fd[0] = fcntl(c->in_r, F_DUPFD_CLOEXEC, 10);
	fd[1] = fcntl(c->out_w, F_DUPFD_CLOEXEC, 10);
	fd[2] = fcntl(c->err_w, F_DUPFD_CLOEXEC, 10);
	fd[3] = fcntl(c->rep_w, F_DUPFD_CLOEXEC, 10);
	if (fd[3] < 0)
		die(c->rep_w, ST_FDS);
	for (i = 0; i < 3; i++)
		if (fd[i] < 0 || dup2(fd[i], i) < 0)
			die(fd[3], ST_FDS);
	if (dup3(fd[3], 3, O_CLOEXEC) < 0)
		die(fd[3], ST_FDS);
	if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
		die(3, ST_FDS);
	for (i = 0; i < c->p->nops; i++)
		if (do_op(&c->p->ops[i]) < 0)
			die(3, i);
	if (!o->network && lo_up() < 0)
		die(3, ST_NET);
	if (sethostname("sandbox", 7) < 0)
		die(3, ST_UTS);
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		die(3, ST_RLIMIT);
	rl.rlim_cur = rl.rlim_max = 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die(3, ST_RLIMIT);
	if (setrlimit(RLIMIT_NPROC, &c->nproc) < 0)
		die(3, ST_RLIMIT);
	drop_privileges(c);

	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	cmd = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (cmd < 0 && errno == ENOSYS)
		cmd = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (cmd < 0)
		die(3, ST_FORK);
	if (cmd == 0)
		run_command(c);
	/* init: only 3 stays open, so the pipes end with the command */
	close(0);
	close(1);
	close(2);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || w == cmd)
			break;
	}
	report(3, MSG_STATUS, 0, 0, st);
	_exit(0);
}

/* ---- the parent -------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
step_name(const struct plan *p, int step, char *buf, size_t n)
{
	static const char *const names[] = { "", "sync", "descriptors",
		"loopback", "hostname", "rlimits", "capability bounding set",
		"setgroups", "setresgid", "setresuid", "capset", "ambient caps",
		"no_new_privs", "seccomp", "fork", "chdir to cwd",
		"parent death signal" };
	static const char *const kinds[] = { "make-private", "mkdir", "mkfile",
		"symlink", "mount", "mount_setattr", "hide", "pivot_root",
		"chdir", "umount" };

	if (step < 0 && -step < (int)(sizeof(names) / sizeof(names[0])))
		return names[-step];
	if (step >= 0 && step < p->nops) {
		snprintf(buf, n, "%s %s", kinds[p->ops[step].kind],
		    p->ops[step].a != NULL ? p->ops[step].a : "/");
		return buf;
	}
	return "?";
}

static int
opts_ok(const struct spawn_opts *o, char *err, size_t errlen)
{
	if (o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] == '\0') {
		snprintf(err, errlen, "empty argv");
		return 0;
	}
	if (o->workspace == NULL || o->workspace[0] != '/') {
		snprintf(err, errlen, "workspace must be an absolute path");
		return 0;
	}
	if (o->uid == 0 || o->gid == 0 || o->uid == (uid_t)-1 ||
	    o->gid == (gid_t)-1) {
		snprintf(err, errlen, "uid and gid must not be 0");
		return 0;
	}
	if (o->cwd != NULL && !cwd_ok(o->cwd)) {
		snprintf(err, errlen, "cwd %s leaves /workspace", o->cwd);
		return 0;
	}
	if (o->cgroup_name == NULL) {
		snprintf(err, errlen, "no cgroup name");
		return 0;
	}
	if (o->lim.cpu < 0 || o->lim.cpu > 4096) {
		snprintf(err, errlen, "bad cpu limit");
		return 0;
	}
	return 1;
}

struct io {
	int fd;
	int stream; /* 1, 2; 0 = stdin */
};

int
spawn_run(const struct spawn_opts *o, struct spawn_result *r, char *err,
    size_t errlen)
{
	struct plan *p = NULL;
	struct cgroup_call *cg = NULL;
	struct cgroup_usage cu;
	struct child c;
	struct sn_clone_args ca;
	struct rusage ru;
	struct msg m, status_msg, fail_msg;
	sigset_t all, old, pipeset, oldpipe;
	char name[64], ebuf[256], sbuf[PATH_MAX + 32];
	char buf[65536];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int rep[2] = { -1, -1 }, syn[2] = { -1, -1 };
	int pidfd = -1, rc, ws = 0, have_status = 0, have_fail = 0;
	int exited = 0, timed_out = 0, pipe_pending = 0, joined = 0;
	size_t in_off = 0;
	double t0, deadline, close_by = 0;
	pid_t pid = -1;
	unsigned long seq;

	memset(r, 0, sizeof(*r));
	memset(&status_msg, 0, sizeof(status_msg));
	memset(&fail_msg, 0, sizeof(fail_msg));
	if (errlen > 0)
		err[0] = '\0';
	if (!g_inited) {
		snprintf(err, errlen, "spawn_init was not called");
		return SN_EINVAL;
	}
	if (!opts_ok(o, err, errlen))
		return SN_EINVAL;
	if (g_cgroot == NULL &&
	    (o->lim.cpu > 0 || o->lim.memory > 0 || o->lim.pids > 0)) {
		snprintf(err, errlen,
		    "no cgroups here: limits not enforceable");
		return SN_ENOTSUP;
	}
	rc = build_plan(o, &p, err, errlen);
	if (rc < 0)
		return rc;
	if (g_cgroot != NULL) {
		pthread_mutex_lock(&g_init_lock);
		seq = ++g_seq;
		pthread_mutex_unlock(&g_init_lock);
		snprintf(name, sizeof(name), "call-%d-%lu", (int)getpid(), seq);
		rc = cgroup_call_new(g_cgroot, o->cgroup_name, name, o->lim.cpu,
		    o->lim.memory, o->lim.pids, &cg, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = SN_ESYS;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0 ||
	    pipe2(syn, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.o = o;
	c.in_r = in[0];
	c.out_w = out[1];
	c.err_w = er[1];
	c.rep_w = rep[1];
	c.sync_r = syn[0];
	sigemptyset(&c.empty);
	c.nproc.rlim_cur = c.nproc.rlim_max =
	    o->lim.pids > 0 ? (rlim_t)o->lim.pids * 4 + 64 : 16384;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
	    CLONE_NEWCGROUP | SN_CLONE_PIDFD | (o->network ? 0 : CLONE_NEWNET);
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	if (cg != NULL && cgroup_call_fd(cg) >= 0) {
		joined = 1;
		ca.flags |= SN_CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgroup_call_fd(cg);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	t0 = now_s();
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && errno == ENOSYS) {
		/* no clone3 (old kernel, valgrind): clone, joined by pid */
		ca.flags &= ~SN_CLONE_INTO_CGROUP;
		pid =
		    (pid_t)syscall(SYS_clone, (unsigned long)ca.flags | SIGCHLD,
		        NULL, &pidfd, NULL, NULL);
		joined = 0;
	}
	if (pid == 0)
		child_main(&c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		snprintf(err, errlen, "clone3: %s", strerror(errno));
		goto out;
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(rep[1]);
	close(syn[0]);
	in[0] = out[1] = er[1] = rep[1] = syn[0] = -1;
	if (cg != NULL && !joined && cgroup_call_attach(cg, pid) < 0) {
		snprintf(err, errlen, "cgroup attach: %s", strerror(errno));
		kill(pid, SIGKILL);
		goto reap;
	}
	if (write(syn[1], "g", 1) != 1) {
		snprintf(err, errlen, "sync: %s", strerror(errno));
		kill(pid, SIGKILL);
		goto reap;
	}
	close(syn[1]);
	syn[1] = -1;

	/* SIGPIPE for our stdin writes goes to this thread: keep it blocked
	 * and take it back if we caused it */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	{
		sigset_t pend;

		sigpending(&pend);
		pipe_pending = sigismember(&pend, SIGPIPE);
	}
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldpipe);
	if (o->stdin_len == 0) {
		close(in[1]);
		in[1] = -1;
	} else {
		(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	}
	deadline = o->lim.timeout_ms > 0 ? t0 + o->lim.timeout_ms / 1000.0 : 0;
	for (;;) {
		struct pollfd pf[5];
		int np = 0, ms = 200, k, iout = -1, ierr = -1, irep = -1,
		    iin = -1, ipid = -1;
		double t = now_s();

		if (out[0] >= 0) {
			iout = np;
			pf[np++] = (struct pollfd){ out[0], POLLIN, 0 };
		}
		if (er[0] >= 0) {
			ierr = np;
			pf[np++] = (struct pollfd){ er[0], POLLIN, 0 };
		}
		if (rep[0] >= 0) {
			irep = np;
			pf[np++] = (struct pollfd){ rep[0], POLLIN, 0 };
		}
		if (in[1] >= 0) {
			iin = np;
			pf[np++] = (struct pollfd){ in[1], POLLOUT, 0 };
		}
		if (!exited) {
			ipid = np;
			pf[np++] = (struct pollfd){ pidfd, POLLIN, 0 };
		}
		if (np == 0)
			break;
		if (exited && close_by > 0 && t > close_by)
			break; /* a descriptor escaped the namespace: stop */
		if (deadline > 0 && !timed_out) {
			if (t >= deadline) {
				timed_out = 1;
				kill(pid, SIGKILL);
				if (cg != NULL)
					(void)cgroup_call_kill(cg);
				continue;
			}
			if ((deadline - t) * 1000 < ms)
				ms = (int)((deadline - t) * 1000) + 1;
		}
		k = poll(pf, (nfds_t)np, ms);
		if (cg != NULL)
			cgroup_call_sample(cg);
		if (k < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			kill(pid, SIGKILL);
			break;
		}
		if (k <= 0)
			continue;
		for (int s = 0; s < 2; s++) {
			int ix = s == 0 ? iout : ierr;
			int *fdp = s == 0 ? &out[0] : &er[0];
			ssize_t n;

			if (ix < 0 || pf[ix].revents == 0)
				continue;
			n = read(*fdp, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 ||
			    (o->sink != NULL &&
			        o->sink(o->sink_arg, s + 1, buf, (size_t)n) !=
			            0)) {
				close(*fdp);
				*fdp = -1;
			}
		}
		if (irep >= 0 && pf[irep].revents != 0) {
			ssize_t n = read(rep[0], &m, sizeof(m));

			if (n == (ssize_t)sizeof(m)) {
				if (m.kind == MSG_STATUS) {
					status_msg = m;
					have_status = 1;
				} else if (!have_fail) {
					fail_msg = m;
					have_fail = 1;
				}
			} else if (n == 0 || (n < 0 && errno != EINTR)) {
				close(rep[0]);
				rep[0] = -1;
			}
		}
		if (iin >= 0 && pf[iin].revents != 0) {
			ssize_t n =
			    write(in[1], (const char *)o->stdin_data + in_off,
			        o->stdin_len - in_off);

			if (n > 0)
				in_off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off >= o->stdin_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (ipid >= 0 && pf[ipid].revents != 0) {
			exited = 1;
			close_by = now_s() + 2.0;
			if (in[1] >= 0) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	if (in[1] >= 0) {
		close(in[1]);
		in[1] = -1;
	}
	if (!pipe_pending) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipeset, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &oldpipe, NULL);
reap:
	if (!exited)
		kill(pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR)
		;
	r->wall_s = now_s() - t0;
	r->user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	r->sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	/* drain a report written just before the end */
	while (rep[0] >= 0 && read(rep[0], &m, sizeof(m)) == sizeof(m)) {
		if (m.kind == MSG_STATUS) {
			status_msg = m;
			have_status = 1;
		} else if (!have_fail) {
			fail_msg = m;
			have_fail = 1;
		}
	}
	if (have_status)
		ws = status_msg.status;
	if (WIFEXITED(ws)) {
		r->exited = 1;
		r->exit_code = WEXITSTATUS(ws);
	} else if (WIFSIGNALED(ws)) {
		r->signal = WTERMSIG(ws);
	}
	if (cg != NULL) {
		(void)cgroup_call_kill(cg);
		if (cgroup_call_usage(cg, &cu) == 0) {
			r->peak_memory = cu.peak_memory;
			/* the cgroup also counts what the namespace's end
			 * killed, which no wait() accounted */
			if (cu.have_cpu &&
			    cu.user_ns + cu.sys_ns >
			        (r->user_s + r->sys_s) * 1e9) {
				r->user_s = (double)cu.user_ns / 1e9;
				r->sys_s = (double)cu.sys_ns / 1e9;
			}
			if (!timed_out && cu.oom_kills > 0)
				r->limit = "memory";
			else if (!timed_out && cu.pids_max > 0)
				r->limit = "pids";
		}
	}
	if (timed_out)
		r->limit = "timeout";
	if (err[0] != '\0') {
		rc = SN_ESYS;
	} else if (have_fail && fail_msg.kind == MSG_EXEC) {
		snprintf(err, errlen, "%s: %s", o->argv[0],
		    strerror(fail_msg.err));
		rc = fail_msg.err == ENOENT ? SN_ENOENT :
		    fail_msg.err == EACCES || fail_msg.err == EPERM ? SN_EPERM :
		                                                      SN_ESYS;
	} else if (have_fail) {
		snprintf(err, errlen, "sandbox setup: %s: %s",
		    step_name(p, fail_msg.step, sbuf, sizeof(sbuf)),
		    strerror(fail_msg.err));
		rc = SN_ESYS;
	} else {
		rc = 0;
	}
	(void)ebuf;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (er[i] >= 0)
			close(er[i]);
		if (rep[i] >= 0)
			close(rep[i]);
		if (syn[i] >= 0)
			close(syn[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	cgroup_call_free(cg);
	plan_free(p);
	return rc;
}
