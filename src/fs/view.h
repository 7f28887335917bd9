/*
 * view.h - mounting and serving views, Sentinel's interface to src/fs.
 *
 * A view is one FUSE mount of one workspace root for one agent.  Views of
 * the same workspace in one process share a struct workspace_fs, through
 * which a change made in one view invalidates the kernel caches of the
 * others.
 *
 * Ownership: workspace_fs_new()/view_new() return objects owned by the
 * caller; view_free() stops (if running) and unmounts; views must be freed
 * before their workspace_fs.
 */
#ifndef SN_VIEW_H
#define SN_VIEW_H

#include <stddef.h>
#include <sys/types.h>

struct workspace_fs;
struct view;

struct view_opts {
	const char *name;      /* view name (logs) */
	const char *workspace; /* workspace id */
	const char *agent;     /* every request is attributed to it */
	const char *role;
	const char *root; /* backing directory */
	const char *mountpoint;
	int allow_other;
	const uid_t *allowed_uids;
	size_t n_allowed_uids;
	unsigned cache_timeout; /* seconds; external_writers caps it at 1 */
	unsigned fd_cache;
	unsigned threads;
	int writeback;
	int external_writers;
	int debug; /* libfuse request tracing */
};

struct sn_config;
struct sn_cfg_workspace;

struct workspace_opts {
	const char *id;                      /* workspace id */
	const char *root;                    /* backing directory */
	const struct sn_config *cfg;         /* NULL: built-in roles only */
	const struct sn_cfg_workspace *wcfg; /* NULL: no rules, no limits */
	const char *state_dir;               /* NULL: no audit, no locks */
};

/*
 * The shared state of one workspace's views: its policy, its audit trail
 * (<state_dir>/workspaces/<id>/workspace.db, chained with the key of
 * [server] audit_key_file or <state_dir>.audit-key, created if missing)
 * and its lock table.  cfg must outlive the workspace_fs.
 */
int workspace_fs_open(const struct workspace_opts *o,
    struct workspace_fs **out /* OUT */, char *err, size_t errlen);
void workspace_fs_free(struct workspace_fs *w);

/* What the control API shares with the views (owned by w; NULL without
 * a state dir for audit and locks). */
struct audit;
struct lock_table;
struct policy;
const char *workspace_fs_id(const struct workspace_fs *w);
struct audit *workspace_fs_audit(struct workspace_fs *w);
struct lock_table *workspace_fs_locks(struct workspace_fs *w);
const struct policy *workspace_fs_policy(const struct workspace_fs *w);

/*
 * Check the options (root a directory, mountpoint an empty-handed
 * directory that is not a mount already and not inside root, /dev/fuse
 * usable) and mount.  On failure nothing is left mounted, err holds one
 * line, and a negative SN_E* code is returned.
 */
int view_new(struct workspace_fs *w, const struct view_opts *o,
    struct view **out /* OUT */, char *err, size_t errlen);

/* Serve requests on worker threads; returns once they run. */
int view_start(struct view *v);
/* Descriptor that becomes readable when the view stopped by itself
 * (unmounted from outside). */
int view_done_fd(struct view *v);
int view_finished(struct view *v);
/* Unmount (forcing the connection down if files are still open),
 * stop the workers and wait for them. */
void view_stop(struct view *v);
void view_free(struct view *v);
const char *view_mountpoint(const struct view *v);
/* Open descriptors cached by the view's inode table. */
unsigned view_cached_fds(struct view *v);

/*
 * Metrics: kernel requests served by every view of this process, by FUSE
 * opcode (index 0: opcodes without a name here), and the requests refused
 * by policy, role, lock, size, quota or audit.  view_op_name() is NULL
 * for an unused index.
 */
#define VIEW_NOPS 64
void view_op_stats(unsigned long long out[VIEW_NOPS],
    unsigned long long *denials);
const char *view_op_name(unsigned op);

/* Route libfuse's own messages to Sentinel's log. */
void view_log_init(void);

#endif
