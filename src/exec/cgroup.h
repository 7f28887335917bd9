/*
 * cgroup.h - per-call cgroups for sandboxed commands (v2, or v1).
 *
 * Layout: under the cgroup of the calling process (per hierarchy on v1),
 * a "sentinel" parent; under it one cgroup per workspace (GROUP); under
 * that one cgroup per call (NAME) carrying the limits:
 *   v2: cpu.max, memory.max, memory.swap.max = 0, pids.max
 *   v1: cpu.cfs_period_us/cfs_quota_us, memory.limit_in_bytes (+ memsw),
 *       pids.max
 * On v2, when the process's own cgroup holds processes and controllers
 * cannot be enabled for its children (the "no internal processes" rule,
 * e.g. a container's cgroup namespace root), the processes there are moved
 * into a leaf "sentinel-main" first.
 *
 * The file system root is a parameter so that the file-writing logic can
 * be tested against a fake tree (CGROUP_F_FAKE: files that do not exist
 * are created, processes are not moved, kill does nothing).
 *
 * Not thread-safe per object; different calls may run concurrently.
 */
#ifndef SN_EXEC_CGROUP_H
#define SN_EXEC_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_F_FAKE 1u

struct cgroup_root;
struct cgroup_call;

/* Detect the cgroup version under FSROOT (normally "/sys/fs/cgroup") given
 * the process's membership file SELF (normally "/proc/self/cgroup"),
 * create the "sentinel" parent(s) and enable the controllers.  v2 is used
 * when a unified hierarchy (FSROOT itself, or FSROOT/unified) has cpu,
 * memory and pids; else v1 when FSROOT/{cpu,memory,pids} exist.
 * OUT: *out (free with cgroup_root_free).  0, SN_ENOTSUP (no usable
 * cgroups), SN_ESYS, SN_ENOMEM; err says why. */
int cgroup_root_open(const char *fsroot, const char *self, unsigned flags,
    struct cgroup_root **out, char *err, size_t errlen);
void cgroup_root_free(struct cgroup_root *cr);
int cgroup_root_version(const struct cgroup_root *cr); /* 1 or 2 */
/* The "sentinel" parent directory (v2) or the memory one (v1). */
const char *cgroup_root_path(const struct cgroup_root *cr);

/* Create GROUP (if needed) and GROUP/NAME with the limits (0 = none).
 * OUT: *out.  0 or SN_E*; err says why. */
int cgroup_call_new(struct cgroup_root *cr, const char *group, const char *name,
    double cpu, uint64_t memory, unsigned pids, struct cgroup_call **out,
    char *err, size_t errlen);
/* v2: an O_DIRECTORY descriptor of the call's cgroup (for
 * CLONE_INTO_CGROUP), owned by c; v1: -1. */
int cgroup_call_fd(const struct cgroup_call *c);
/* The call's cgroup directory (v2) or its memory one (v1). */
const char *cgroup_call_path(const struct cgroup_call *c);
/* Move PID into the call's cgroup(s).  0 or SN_ESYS. */
int cgroup_call_attach(struct cgroup_call *c, pid_t pid);
/* Sample memory use (keeps the maximum, for kernels without a peak). */
void cgroup_call_sample(struct cgroup_call *c);

struct cgroup_usage {
	uint64_t peak_memory; /* bytes */
	uint64_t oom_kills;   /* processes the OOM killer killed */
	uint64_t pids_max;    /* forks refused by pids.max */
	int have_cpu;         /* user_ns/sys_ns valid (v2 cpu.stat, v1
				 cpuacct) */
	uint64_t user_ns, sys_ns;
};
/* OUT: *u (zeroed on entry).  0 or SN_ESYS. */
int cgroup_call_usage(struct cgroup_call *c, struct cgroup_usage *u);
/* SIGKILL everything in the call's cgroup and wait (up to ~2 s) until it
 * is empty.  0, or SN_EBUSY if processes remain. */
int cgroup_call_kill(struct cgroup_call *c);
/* Kill what is left, remove the call's cgroup(s), free. NULL: no-op. */
void cgroup_call_free(struct cgroup_call *c);

#endif
