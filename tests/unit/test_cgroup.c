/*
 * test_cgroup.c - src/exec/cgroup against fake v2 and v1 trees: which
 * files are written with what, and what is read back.
 */
#include "autoconf.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "exec/cgroup.h"
#include "tap.h"

static char g_tmp[64];

/* A formatted path in one of a few rotating static buffers. */
static const char *P(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static const char *
P(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int k;
	char *b = bufs[k++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, 4096, fmt, ap);
	va_end(ap);
	return b;
}

/* Copy a P() result that must outlive the rotation. */
static const char *
keep(char *dst, const char *src)
{
	snprintf(dst, 512, "%s", src);
	return dst;
}

static int
mkdirs(const char *path)
{
	char p[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(p))
		return -1;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			char c = p[i];

			p[i] = '\0';
			if (mkdir(p, 0755) < 0 && access(p, F_OK) < 0)
				return -1;
			p[i] = c;
		}
	}
	return 0;
}

static int
rm1(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static char *
get(const char *dir, const char *file)
{
	static char buf[512];
	FILE *f;
	size_t n;

	buf[0] = '\0';
	f = fopen(P("%s/%s", dir, file), "r");
	if (f == NULL)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
v2(void)
{
	char root[256], base[512], self[256];
	char pb[512], wsb[512];
	const char *p, *ws;
	struct cgroup_root *cr = NULL;
	struct cgroup_call *c = NULL;
	struct cgroup_usage u;
	char err[256] = "";
	int rc;

	snprintf(root, sizeof(root), "%s/v2", g_tmp);
	snprintf(base, sizeof(base), "%s/kubepods/pod1", root);
	ok(mkdirs(base) == 0, "fake v2 tree");
	put(P("%s/cgroup.controllers", root), "cpuset cpu io memory pids\n");
	put(P("%s/cgroup.subtree_control", root), "");
	put(P("%s/cgroup.controllers", base), "cpu memory pids\n");
	snprintf(self, sizeof(self), "%s/self", g_tmp);
	put(self, "0::/kubepods/pod1\n");

	rc = cgroup_root_open(root, self, CGROUP_F_FAKE, &cr, err, sizeof(err));
	is_int(rc, 0, "v2 detected under the process's cgroup (%s)", err);
	if (cr == NULL)
		return;
	is_int(cgroup_root_version(cr), 2, "version 2");
	is_str(cgroup_root_path(cr), P("%s/sentinel", base),
	    "parent is <own cgroup>/sentinel");
	is_str(get(base, "cgroup.subtree_control"), "+cpu +memory +pids",
	    "controllers enabled for the children of the own cgroup");
	is_str(get(P("%s/sentinel", base), "cgroup.subtree_control"),
	    "+cpu +memory +pids", "... and of sentinel/");

	rc = cgroup_call_new(cr, "..", "x", 0, 0, 0, &c, err, sizeof(err));
	is_int(rc, SN_EINVAL, "group '..' refused");
	rc = cgroup_call_new(cr, "a/b", "x", 0, 0, 0, &c, err, sizeof(err));
	is_int(rc, SN_EINVAL, "group with '/' refused");
	rc = cgroup_call_new(cr, "ws", "cgroup.procs", 0, 0, 0, &c, err,
	    sizeof(err));
	is_int(rc, SN_EINVAL, "a name like a control file refused");

	rc = cgroup_call_new(cr, "ws-alpha", "call-1", 0.5, 256u << 20, 64, &c,
	    err, sizeof(err));
	is_int(rc, 0, "call cgroup created (%s)", err);
	if (c == NULL)
		goto out;
	ws = keep(wsb, P("%s/sentinel/ws-alpha", base));
	p = keep(pb, P("%s/call-1", ws));
	is_str(cgroup_call_path(c), p, "call path");
	ok(cgroup_call_fd(c) >= 0, "v2: a directory fd for CLONE_INTO_CGROUP");
	is_str(get(p, "cpu.max"), "50000 100000", "cpu.max for 0.5 CPU");
	is_str(get(p, "memory.max"), "268435456", "memory.max");
	is_str(get(p, "memory.swap.max"), "0", "memory.swap.max = 0");
	is_str(get(p, "pids.max"), "64", "pids.max");
	is_str(get(ws, "cgroup.subtree_control"), "+cpu +memory +pids",
	    "workspace cgroup delegates the controllers");
	is_int(cgroup_call_attach(c, 4242), 0, "attach writes cgroup.procs");
	is_str(get(p, "cgroup.procs"), "4242", "... the pid");

	/* what the kernel would report */
	put(P("%s/memory.events", p),
	    "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
	put(P("%s/pids.events", p), "max 3\n");
	put(P("%s/memory.peak", p), "123456\n");
	put(P("%s/cpu.stat", p),
	    "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n");
	is_int(cgroup_call_usage(c, &u), 0, "usage read");
	is_int((int)u.oom_kills, 1, "oom_kill from memory.events");
	is_int((int)u.pids_max, 3, "max from pids.events");
	is_int((int)u.peak_memory, 123456, "memory.peak");
	ok(u.have_cpu && u.user_ns == 2000000 && u.sys_ns == 1000000,
	    "cpu.stat user/system");
	unlink(P("%s/memory.peak", p));
	put(P("%s/memory.current", p), "777\n");
	cgroup_call_sample(c);
	put(P("%s/memory.current", p), "555\n");
	cgroup_call_sample(c);
	cgroup_call_usage(c, &u);
	is_int((int)u.peak_memory, 777,
	    "without memory.peak: the largest sample of memory.current");
	unlink(P("%s/memory.current", p));
	unlink(P("%s/memory.events", p));
	unlink(P("%s/pids.events", p));
	unlink(P("%s/cpu.stat", p));
	cgroup_call_free(c);
	ok(access(p, F_OK) != 0, "call cgroup removed");

	c = NULL;
	rc = cgroup_call_new(cr, "ws-alpha", "call-2", 0.001, 0, 0, &c, err,
	    sizeof(err));
	is_int(rc, 0, "a tiny cpu share");
	p = keep(pb, P("%s/call-2", ws));
	is_str(get(p, "cpu.max"), "1000 100000", "cpu quota at least 1 ms");
	is_str(get(p, "memory.max"), "(missing)", "no memory limit: untouched");
	cgroup_call_free(c);
out:
	cgroup_root_free(cr);
}

static void
v1(void)
{
	char root[256], self[256], pb[512];
	const char *p;
	struct cgroup_root *cr = NULL;
	struct cgroup_call *c = NULL;
	char err[256] = "";
	const char *ctl[] = { "memory", "cpu", "pids" };
	int rc;
	size_t i;

	snprintf(root, sizeof(root), "%s/v1", g_tmp);
	for (i = 0; i < 3; i++) {
		ok(mkdirs(P("%s/%s/box", root, ctl[i])) == 0, "fake v1 %s",
		    ctl[i]);
		put(P("%s/%s/cgroup.procs", root, ctl[i]), "");
	}
	snprintf(self, sizeof(self), "%s/self1", g_tmp);
	put(self, "8:pids:/\n4:memory:/box\n1:cpu,cpuacct:/\n0::/\n");
	rc = cgroup_root_open(root, self, CGROUP_F_FAKE, &cr, err, sizeof(err));
	is_int(rc, 0, "v1 detected (%s)", err);
	if (cr == NULL)
		return;
	is_int(cgroup_root_version(cr), 1, "version 1");
	is_str(cgroup_root_path(cr), P("%s/memory/box/sentinel", root),
	    "memory parent under the own cgroup");
	rc = cgroup_call_new(cr, "ws", "c1", 1.5, 64u << 20, 32, &c, err,
	    sizeof(err));
	is_int(rc, 0, "v1 call created (%s)", err);
	if (c != NULL) {
		is_int(cgroup_call_fd(c), -1, "v1: no CLONE_INTO_CGROUP fd");
		p = keep(pb, P("%s/memory/box/sentinel/ws/c1", root));
		is_str(get(p, "memory.limit_in_bytes"), "67108864",
		    "memory.limit_in_bytes");
		p = keep(pb, P("%s/cpu/sentinel/ws/c1", root));
		is_str(get(p, "cpu.cfs_quota_us"), "150000", "cfs quota");
		is_str(get(p, "cpu.cfs_period_us"), "100000", "cfs period");
		is_str(get(P("%s/pids/sentinel/ws/c1", root), "pids.max"), "32",
		    "pids.max");
	}
	cgroup_call_free(c);
	cgroup_root_free(cr);
}

int
main(void)
{
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/test_cgroup.XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return 1;
	v2();
	v1();
	cgroup_root_free(NULL);
	cgroup_call_free(NULL);
	if (nftw(g_tmp, rm1, 16, FTW_DEPTH | FTW_PHYS) != 0)
		diag("could not remove %s", g_tmp);
	return done_testing();
}
