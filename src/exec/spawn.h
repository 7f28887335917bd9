/*
 * spawn.h - run one command in a sandbox and wait for it.
 *
 * spawn_run() starts argv in new mount, PID, IPC and UTS namespaces (and a
 * new, empty network namespace unless network = 1), with:
 *   - a new root: a read-only tmpfs holding read-only recursive binds of
 *     each top-level entry of the host's / (or of `rootfs`), except /proc,
 *     /dev, /tmp, /run and /workspace, which are its own: a fresh /proc of
 *     the new PID namespace, a minimal /dev (null, zero, full, random,
 *     urandom, tty, a private /dev/shm), a private size-capped /tmp, an
 *     empty read-only /run (the host's sockets are not reachable) and the
 *     view (`workspace`, read-write, nosuid, nodev) at /workspace;
 *     every `hide` path covered (a directory by an empty read-only tmpfs,
 *     anything else by an unopenable node);
 *   - uid/gid of the caller's choice (never 0), no supplementary groups,
 *     every capability dropped (bounding set first, while privileged; then
 *     groups, gid, uid, the other sets and the ambient set), no_new_privs,
 *     a seccomp filter (namespaces, mount, ptrace, bpf, keyctl, modules,
 *     raw and packet sockets, device nodes, clock setting, ... fail with
 *     EPERM; clone3 with ENOSYS so that libc falls back to clone, whose
 *     flags the filter can see);
 *   - rlimits (core 0, nofile 1024, nproc as a backstop) and a per-call
 *     cgroup (child of the per-workspace one) for cpu, memory and pids;
 *   - exactly `envp` as its environment and only fds 0, 1 and 2.
 * The first process of the PID namespace is a small init that runs the
 * command, reaps orphans and reports the command's status; when the
 * command ends the namespace ends, so nothing it started outlives the
 * call.  A timeout kills the whole tree.
 *
 * Everything that allocates is done before the clone; the child only
 * makes system calls, and any failure there ends it with status 127 after
 * writing the failing step to the parent, which returns SN_ESYS with the
 * step in `err`.
 *
 * The process calling spawn_init/spawn_run must be root (CAP_SYS_ADMIN and
 * friends) and must not reap children it did not start (waitpid(-1)).
 * spawn_run is thread-safe; SIGPIPE is blocked in the calling thread while
 * stdin is written.
 */
#ifndef SN_EXEC_SPAWN_H
#define SN_EXEC_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spawn_limits {
	double cpu;          /* CPUs (0.5 = half a CPU); 0 = unlimited */
	uint64_t memory;     /* bytes; 0 = unlimited */
	unsigned pids;       /* max tasks; 0 = unlimited */
	unsigned timeout_ms; /* wall clock; 0 = none */
};

/* Output callback: stream 1 = stdout, 2 = stderr.  Called from the thread
 * running spawn_run, with chunks as they arrive.  Non-zero: stop reading
 * that stream (it is closed; the command sees EPIPE). */
typedef int (*spawn_sink)(void *arg, int stream, const char *buf, size_t n);

struct spawn_opts {
	char *const *argv;       /* argv[0]: absolute, or looked up in PATH
				    of envp inside the sandbox */
	char *const *envp;       /* the complete environment */
	const char *workspace;   /* host directory seen at /workspace */
	const char *cwd;         /* relative to /workspace; NULL or "" = it;
				    no "..": SN_EINVAL */
	const char *rootfs;      /* NULL: the host's /; else a directory */
	const char *const *hide; /* paths (as seen in the sandbox) to hide;
				    NULL-terminated, or NULL */
	uid_t uid;               /* never 0 */
	gid_t gid;               /* never 0 */
	int network; /* 0: own empty net namespace (lo up); 1: host */
	const void *stdin_data;
	size_t stdin_len;
	struct spawn_limits lim;
	const char *cgroup_name; /* per-workspace cgroup, e.g. "ws-alpha"
				    ([A-Za-z0-9._-], not "." or "..") */
	spawn_sink sink;         /* may be NULL: output discarded */
	void *sink_arg;
};

struct spawn_result {
	int exited; /* 1: exit_code is valid */
	int exit_code;
	int signal;        /* the signal that ended it, or 0 */
	const char *limit; /* "timeout", "memory", "pids", or NULL (static) */
	double wall_s, user_s, sys_s;
	uint64_t peak_memory; /* bytes (0 when not measurable) */
};

/* Once at start (root): build the seccomp filter and detect cgroups (v2
 * with cpu, memory and pids controllers, else v1 cpu/memory/pids
 * hierarchies under /sys/fs/cgroup) and create Sentinel's parent cgroups.
 * 0, or SN_E* with a message in err.  Calling it again is a no-op. */
int spawn_init(char *err, size_t errlen);

/* Which cgroup version spawn_init found: 1, 2, or 0 (none: spawn_run
 * refuses limits other than timeout_ms). */
int spawn_cgroup_version(void);

/* Run one command and wait for it (and for everything it started).
 * OUT: *r, always filled (zeroed on entry).  Returns 0 when the command
 * ran (whatever its status), SN_EINVAL for bad options (a cwd leaving
 * /workspace, uid 0, ...), SN_ENOENT / SN_EPERM when argv[0] could not be
 * executed (not found / not permitted; r->exit_code is 127), SN_ESYS when
 * the sandbox could not be set up; err says why. */
int spawn_run(const struct spawn_opts *o, struct spawn_result *r, char *err,
    size_t errlen);

#endif
