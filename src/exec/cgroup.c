/*
 * cgroup.c - per-call cgroups for sandboxed commands (v2, or v1).
 * The contract is in cgroup.h.
 */
#include "autoconf.h"

#include "exec/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

/* V1_ACCT only when cpuacct is a hierarchy of its own (else the cpu one
 * carries it) */
enum { V1_MEM, V1_CPU, V1_PIDS, V1_ACCT, V1_N };
static const char *const v1_ctl[V1_N] = { "memory", "cpu", "pids", "cpuacct" };

#define CG_CTLS   "+cpu +memory +pids"
#define CG_PERIOD 100000u

struct cgroup_root {
	int ver;
	unsigned flags;
	int ndirs;                /* 1 (v2), 3 or 4 (v1) */
	char dir[V1_N][PATH_MAX]; /* v2: dir[0] only; the "sentinel" parents */
};

struct cgroup_call {
	struct cgroup_root *cr;
	char dir[V1_N][PATH_MAX]; /* v2: dir[0] only */
	int fd;                   /* v2: the call's directory */
	uint64_t sampled;         /* max of memory.current samples (v2) */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
join(char *out, size_t n, const char *a, const char *b)
{
	int len = snprintf(out, n, "%s/%s", a, b);

	return len < 0 || (size_t)len >= n ? SN_ERANGE : 0;
}

/* Write VAL to DIR/FILE.  0 or -errno. */
static int
wfile(const char *dir, const char *file, const char *val, unsigned flags)
{
	char p[PATH_MAX];
	size_t len = strlen(val);
	ssize_t w;
	int fd, e;

	if (join(p, sizeof(p), dir, file) < 0)
		return -ENAMETOOLONG;
	fd = open(p,
	    O_WRONLY | O_CLOEXEC |
	        ((flags & CGROUP_F_FAKE) ? O_CREAT | O_TRUNC : 0),
	    0644);
	if (fd < 0)
		return -errno;
	w = write(fd, val, len);
	e = w < 0 ? -errno : (size_t)w != len ? -EIO : 0;
	close(fd);
	return e;
}

/* Read DIR/FILE into buf (NUL-terminated).  Length or -errno. */
static ssize_t
rfile(const char *dir, const char *file, char *buf, size_t n)
{
	char p[PATH_MAX];
	size_t got = 0;
	ssize_t r;
	int fd;

	buf[0] = '\0';
	if (dir == NULL)
		snprintf(p, sizeof(p), "%s", file);
	else if (join(p, sizeof(p), dir, file) < 0)
		return -ENAMETOOLONG;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < n) {
		r = read(fd, buf + got, n - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

static int
exists(const char *dir, const char *file)
{
	char p[PATH_MAX];

	return join(p, sizeof(p), dir, file) == 0 && access(p, F_OK) == 0;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return SN_EINVAL;
	*v = x;
	return 0;
}

/* Value of "KEY N" lines (memory.events, pids.events, oom_control). */
static uint64_t
keyed(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *s = text;
	uint64_t v;

	while (s != NULL && *s != '\0') {
		if (strncmp(s, key, kl) == 0 && s[kl] == ' ' &&
		    parse_u64(s + kl + 1, &v) == 0)
			return v;
		s = strchr(s, '\n');
		if (s != NULL)
			s++;
	}
	return 0;
}

static uint64_t
file_u64(const char *dir, const char *file)
{
	char buf[64];
	uint64_t v = 0;

	if (rfile(dir, file, buf, sizeof(buf)) > 0)
		(void)parse_u64(buf, &v);
	return v;
}

static int
has_word(const char *text, const char *w)
{
	size_t wl = strlen(w);
	const char *s = text;

	while ((s = strstr(s, w)) != NULL) {
		if ((s == text || s[-1] == ' ' || s[-1] == ',') &&
		    (s[wl] == '\0' || s[wl] == ' ' || s[wl] == '\n' ||
		        s[wl] == ','))
			return 1;
		s += wl;
	}
	return 0;
}

static int
has_ctls(const char *dir)
{
	char buf[512];

	if (rfile(dir, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return 0;
	return has_word(buf, "cpu") && has_word(buf, "memory") &&
	    has_word(buf, "pids");
}

/* The path of this process in the hierarchy: "0::" for v2 (ctl NULL),
 * else the line whose controller list has CTL.  OUT: path. */
static int
self_path(const char *selfcg, const char *ctl, char *path, size_t n)
{
	char buf[4096], *line, *save = NULL, *c1, *c2;

	path[0] = '\0';
	if (rfile(NULL, selfcg, buf, sizeof(buf)) < 0)
		return SN_ESYS;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		c1 = strchr(line, ':');
		c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (ctl == NULL ?
		        (c1 == line + 1 && line[0] == '0' && c1 + 1 == c2) :
		        has_word(c1 + 1, ctl)) {
			if ((size_t)snprintf(path, n, "%s", c2 + 1) >= n)
				return SN_ERANGE;
			return 0;
		}
	}
	return SN_ENOENT;
}

static int
mkdir_ok(const char *p)
{
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* v2: move every process of DIR into DIR/sentinel-main. */
static int
v2_evacuate(const char *dir)
{
	char leaf[PATH_MAX], buf[8192], *s, *save = NULL;
	int e;

	if (join(leaf, sizeof(leaf), dir, "sentinel-main") < 0)
		return -ENAMETOOLONG;
	e = mkdir_ok(leaf);
	if (e < 0)
		return e;
	if (rfile(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return -errno;
	for (s = strtok_r(buf, "\n", &save); s != NULL;
	     s = strtok_r(NULL, "\n", &save)) {
		e = wfile(leaf, "cgroup.procs", s, 0);
		if (e < 0 && e != -ESRCH)
			return e;
	}
	return 0;
}

static int
open_v2(struct cgroup_root *cr, const char *fsroot, const char *self, char *err,
    size_t errlen)
{
	char uni[PATH_MAX], rel[PATH_MAX], base[PATH_MAX];
	int e;

	if (join(uni, sizeof(uni), fsroot, "unified") < 0)
		return SN_ERANGE;
	if (self_path(self, NULL, rel, sizeof(rel)) < 0)
		return SN_ENOTSUP;
	if (has_ctls(fsroot) || exists(fsroot, "cgroup.subtree_control"))
		snprintf(uni, sizeof(uni), "%s", fsroot);
	if ((size_t)snprintf(base, sizeof(base), "%s%s", uni,
	        strcmp(rel, "/") == 0 ? "" : rel) >= sizeof(base))
		return SN_ERANGE;
	if (!has_ctls(base))
		return SN_ENOTSUP;
	if (join(cr->dir[0], sizeof(cr->dir[0]), base, "sentinel") < 0)
		return SN_ERANGE;
	e = mkdir_ok(cr->dir[0]);
	if (e < 0) {
		seterr(err, errlen, "mkdir %s: %s", cr->dir[0], strerror(-e));
		return SN_ESYS;
	}
	e = wfile(base, "cgroup.subtree_control", CG_CTLS, cr->flags);
	if (e == -EBUSY && !(cr->flags & CGROUP_F_FAKE)) {
		e = v2_evacuate(base);
		if (e == 0)
			e = wfile(base, "cgroup.subtree_control", CG_CTLS, 0);
	}
	if (e == 0)
		e = wfile(cr->dir[0], "cgroup.subtree_control", CG_CTLS,
		    cr->flags);
	if (e < 0) {
		seterr(err, errlen, "%s: enabling %s: %s", base, CG_CTLS,
		    strerror(-e));
		return SN_ESYS;
	}
	cr->ver = 2;
	cr->ndirs = 1;
	return 0;
}

static int
open_v1(struct cgroup_root *cr, const char *fsroot, const char *self, char *err,
    size_t errlen)
{
	char mnt[PATH_MAX], rel[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	int i, e;

	cr->ndirs = V1_ACCT;
	if (join(mnt, sizeof(mnt), fsroot, "cpuacct") == 0 &&
	    realpath(mnt, a) != NULL &&
	    join(mnt, sizeof(mnt), fsroot, "cpu") == 0 &&
	    realpath(mnt, b) != NULL && strcmp(a, b) != 0 &&
	    exists(a, "cgroup.procs"))
		cr->ndirs = V1_N;
	for (i = 0; i < cr->ndirs; i++) {
		if (join(mnt, sizeof(mnt), fsroot, v1_ctl[i]) < 0)
			return SN_ERANGE;
		if (!exists(mnt, "cgroup.procs"))
			return SN_ENOTSUP;
		if (self_path(self, v1_ctl[i], rel, sizeof(rel)) < 0)
			snprintf(rel, sizeof(rel), "/");
		if ((size_t)snprintf(cr->dir[i], sizeof(cr->dir[i]),
		        "%s%s/sentinel", mnt,
		        strcmp(rel, "/") == 0 ? "" : rel) >= sizeof(cr->dir[i]))
			return SN_ERANGE;
		e = mkdir_ok(cr->dir[i]);
		if (e < 0) {
			seterr(err, errlen, "mkdir %s: %s", cr->dir[i],
			    strerror(-e));
			return SN_ESYS;
		}
	}
	cr->ver = 1;
	return 0;
}

int
cgroup_root_open(const char *fsroot, const char *self, unsigned flags,
    struct cgroup_root **out, char *err, size_t errlen)
{
	struct cgroup_root *cr;
	int rc;

	*out = NULL;
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL)
		return SN_ENOMEM;
	cr->flags = flags;
	rc = open_v2(cr, fsroot, self, err, errlen);
	if (rc == SN_ENOTSUP)
		rc = open_v1(cr, fsroot, self, err, errlen);
	if (rc == SN_ENOTSUP)
		seterr(err, errlen,
		    "%s: no cgroup v2 hierarchy with cpu, memory and pids, "
		    "and no v1 cpu, memory and pids hierarchies",
		    fsroot);
	if (rc < 0) {
		free(cr);
		return rc;
	}
	*out = cr;
	return 0;
}

void
cgroup_root_free(struct cgroup_root *cr)
{
	free(cr);
}

int
cgroup_root_version(const struct cgroup_root *cr)
{
	return cr->ver;
}

const char *
cgroup_root_path(const struct cgroup_root *cr)
{
	return cr->dir[0];
}

static int
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return 0;
	}
	/* not one of the controllers' own files */
	return strncmp(s, "cgroup.", 7) != 0;
}

static int
set_limits(struct cgroup_call *c, double cpu, uint64_t memory, unsigned pids)
{
	unsigned fl = c->cr->flags;
	char v[64];
	const char *d;
	uint64_t q = 0;
	int e = 0;

	if (cpu > 0) {
		q = (uint64_t)(cpu * CG_PERIOD);
		if (q < 1000)
			q = 1000;
	}
	if (c->cr->ver == 2) {
		d = c->dir[0];
		if (cpu > 0) {
			snprintf(v, sizeof(v), "%" PRIu64 " %u", q, CG_PERIOD);
			e = wfile(d, "cpu.max", v, fl);
		}
		if (e == 0 && memory > 0) {
			snprintf(v, sizeof(v), "%" PRIu64, memory);
			e = wfile(d, "memory.max", v, fl);
			if (e == 0 &&
			    ((fl & CGROUP_F_FAKE) ||
			        exists(d, "memory.swap.max")))
				e = wfile(d, "memory.swap.max", "0", fl);
		}
		if (e == 0 && pids > 0) {
			snprintf(v, sizeof(v), "%u", pids);
			e = wfile(d, "pids.max", v, fl);
		}
		return e;
	}
	if (memory > 0) {
		d = c->dir[V1_MEM];
		snprintf(v, sizeof(v), "%" PRIu64, memory);
		e = wfile(d, "memory.limit_in_bytes", v, fl);
		/* swap accounting is optional (swapaccount=1) */
		if (e == 0 && exists(d, "memory.memsw.limit_in_bytes"))
			e = wfile(d, "memory.memsw.limit_in_bytes", v, fl);
	}
	if (e == 0 && cpu > 0) {
		d = c->dir[V1_CPU];
		snprintf(v, sizeof(v), "%u", CG_PERIOD);
		e = wfile(d, "cpu.cfs_period_us", v, fl);
		snprintf(v, sizeof(v), "%" PRIu64, q);
		if (e == 0)
			e = wfile(d, "cpu.cfs_quota_us", v, fl);
	}
	if (e == 0 && pids > 0) {
		snprintf(v, sizeof(v), "%u", pids);
		e = wfile(c->dir[V1_PIDS], "pids.max", v, fl);
	}
	return e;
}

int
cgroup_call_new(struct cgroup_root *cr, const char *group, const char *name,
    double cpu, uint64_t memory, unsigned pids, struct cgroup_call **out,
    char *err, size_t errlen)
{
	struct cgroup_call *c;
	char g[PATH_MAX];
	int i, n, e, rc = SN_ESYS;

	*out = NULL;
	if (!name_ok(group) || !name_ok(name)) {
		seterr(err, errlen, "bad cgroup name");
		return SN_EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SN_ENOMEM;
	c->cr = cr;
	c->fd = -1;
	n = cr->ndirs;
	for (i = 0; i < n; i++) {
		if (join(g, sizeof(g), cr->dir[i], group) < 0 ||
		    join(c->dir[i], sizeof(c->dir[i]), g, name) < 0) {
			rc = SN_ERANGE;
			goto out;
		}
		e = mkdir_ok(g);
		if (e == 0 && cr->ver == 2)
			e = wfile(g, "cgroup.subtree_control", CG_CTLS,
			    cr->flags);
		if (e == 0 && mkdir(c->dir[i], 0755) < 0)
			e = -errno;
		if (e < 0) {
			seterr(err, errlen, "cgroup %s: %s", c->dir[i],
			    strerror(-e));
			goto out;
		}
	}
	e = set_limits(c, cpu, memory, pids);
	if (e < 0) {
		seterr(err, errlen, "cgroup %s: setting limits: %s", c->dir[0],
		    strerror(-e));
		goto out;
	}
	if (cr->ver == 2) {
		c->fd = open(c->dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->fd < 0) {
			seterr(err, errlen, "open %s: %s", c->dir[0],
			    strerror(errno));
			goto out;
		}
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	cgroup_call_free(c);
	return rc;
}

int
cgroup_call_fd(const struct cgroup_call *c)
{
	return c->fd;
}

const char *
cgroup_call_path(const struct cgroup_call *c)
{
	return c->dir[0];
}

int
cgroup_call_attach(struct cgroup_call *c, pid_t pid)
{
	char v[32];
	int i, n = c->cr->ndirs;

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (i = 0; i < n; i++)
		if (wfile(c->dir[i], "cgroup.procs", v, c->cr->flags) < 0)
			return SN_ESYS;
	return 0;
}

void
cgroup_call_sample(struct cgroup_call *c)
{
	uint64_t v;

	if (c->cr->ver != 2)
		return;
	v = file_u64(c->dir[0], "memory.current");
	if (v > c->sampled)
		c->sampled = v;
}

int
cgroup_call_usage(struct cgroup_call *c, struct cgroup_usage *u)
{
	char buf[1024];

	memset(u, 0, sizeof(*u));
	if (c->cr->ver == 2) {
		const char *d = c->dir[0];

		cgroup_call_sample(c);
		u->peak_memory = exists(d, "memory.peak") ?
		    file_u64(d, "memory.peak") :
		    c->sampled;
		if (rfile(d, "memory.events", buf, sizeof(buf)) >= 0)
			u->oom_kills = keyed(buf, "oom_kill");
		if (rfile(d, "pids.events", buf, sizeof(buf)) >= 0)
			u->pids_max = keyed(buf, "max");
		if (rfile(d, "cpu.stat", buf, sizeof(buf)) >= 0 &&
		    strstr(buf, "user_usec") != NULL) {
			u->have_cpu = 1;
			u->user_ns = keyed(buf, "user_usec") * 1000;
			u->sys_ns = keyed(buf, "system_usec") * 1000;
		}
		return 0;
	}
	{
		const char *a =
		    c->cr->ndirs > V1_ACCT ? c->dir[V1_ACCT] : c->dir[V1_CPU];

		if (exists(a, "cpuacct.usage_user")) {
			u->have_cpu = 1;
			u->user_ns = file_u64(a, "cpuacct.usage_user");
			u->sys_ns = file_u64(a, "cpuacct.usage_sys");
		}
	}
	u->peak_memory = file_u64(c->dir[V1_MEM], "memory.max_usage_in_bytes");
	if (rfile(c->dir[V1_MEM], "memory.oom_control", buf, sizeof(buf)) >= 0)
		u->oom_kills = keyed(buf, "oom_kill");
	if (rfile(c->dir[V1_PIDS], "pids.events", buf, sizeof(buf)) >= 0)
		u->pids_max = keyed(buf, "max");
	return 0;
}

/* SIGKILL every pid listed in DIR/cgroup.procs.  Number listed. */
static int
kill_listed(const char *dir)
{
	char buf[16384], *s, *save = NULL;
	long pid;
	int n = 0;

	if (rfile(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return 0;
	for (s = strtok_r(buf, "\n", &save); s != NULL;
	     s = strtok_r(NULL, "\n", &save)) {
		pid = strtol(s, NULL, 10);
		if (pid > 1) {
			kill((pid_t)pid, SIGKILL);
			n++;
		}
	}
	return n;
}

int
cgroup_call_kill(struct cgroup_call *c)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, tries, left = 0, n = c->cr->ndirs;

	if (c->cr->flags & CGROUP_F_FAKE)
		return 0;
	if (c->cr->ver == 2 && exists(c->dir[0], "cgroup.kill"))
		(void)wfile(c->dir[0], "cgroup.kill", "1", 0);
	for (tries = 0; tries < 200; tries++) {
		left = 0;
		for (i = 0; i < n; i++)
			left += kill_listed(c->dir[i]);
		if (left == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return SN_EBUSY;
}

void
cgroup_call_free(struct cgroup_call *c)
{
	int i, n;

	if (c == NULL)
		return;
	n = c->cr->ndirs;
	if (c->dir[0][0] != '\0')
		(void)cgroup_call_kill(c);
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i < n; i++) {
		if (c->dir[i][0] == '\0')
			continue;
		if (c->cr->flags & CGROUP_F_FAKE) {
			/* a fake tree: the files are ours to remove */
			static const char *const f[] = { "cpu.max",
				"memory.max", "memory.swap.max", "pids.max",
				"cgroup.procs", "memory.limit_in_bytes",
				"cpu.cfs_period_us", "cpu.cfs_quota_us" };
			char p[PATH_MAX];
			size_t k;

			for (k = 0; k < sizeof(f) / sizeof(f[0]); k++)
				if (join(p, sizeof(p), c->dir[i], f[k]) == 0)
					(void)unlink(p);
		}
		(void)rmdir(c->dir[i]);
	}
	free(c);
}
