/*
 * fs.h - internal to src/fs: the state of one view (one FUSE session of
 * one workspace for one agent) and the low-level operation table.
 *
 * Only src/fs includes fuse_lowlevel.h.  The rest of Sentinel uses
 * view.h.
 */
#ifndef SN_FS_H
#define SN_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/inode.h"

struct fsgroup;
struct policy;
struct audit;
struct lock_table;

/*
 * What every view of one workspace enforces and records (owned by the
 * workspace_fs of view.c).  Immutable after creation but for used.
 */
/* (dev, ino) -> INODE_RULE_* of the names of multi-linked files at start. */
struct fs_linkmap {
	size_t cap; /* a power of two, or 0 */
	size_t n;
	struct fs_linkent {
		dev_t dev;
		ino_t ino;
		unsigned bits; /* 0: empty slot */
	} * e;
};

struct fs_ws {
	char *id;                 /* workspace id */
	struct policy *policy;    /* never NULL (may hold no rule) */
	int path_rules;           /* policy has deny/readonly rules */
	unsigned chaos;           /* chaos scopes (0: off) */
	struct audit *audit;      /* NULL: no state dir, nothing recorded */
	struct lock_table *locks; /* NULL: no state dir, no locks */
	int limits;               /* max_file_size or quota set */
	struct fs_linkmap links;  /* read-only once serving */
	int quota;                /* quota set */
	_Atomic long long used;   /* bytes held (only with quota) */
};

/*
 * The shared state of one workspace's views (view.h), and of the file
 * tools of the control API (tools.h).  Immutable after
 * workspace_fs_open() but for the atomics and what ws says.
 *
 * A workspace root is served by one process only, unless every server of
 * it says it has external writers: the long kernel caches of a view are
 * kept valid by invalidations that only the views of one process send
 * each other.  The claim is a flock on the root directory, exclusive
 * (shared with external_writers), held for the life of the workspace_fs.
 */
struct workspace_fs {
	struct fsgroup *group;
	struct fs_ws ws;
	const struct sn_config *cfg;
	int lockfd; /* the claim, or -1 */
	dev_t dev;  /* the root it claims */
	ino_t ino;
	/* for the tools: everything they open is resolved beneath rootfd */
	int rootfd;        /* O_PATH | O_DIRECTORY of the root, or -1 */
	char *root_real;   /* realpath() of the root at open, or NULL */
	uint64_t root_mnt; /* the root's mount id */
	unsigned uid, gid; /* owner of what tools create (SN_CFG_NO_ID: ours) */
	_Atomic unsigned long long api_ctr; /* chaos counter of tool calls */
};

/* Open file and directory handles of a view, so teardown can free them. */
#define FS_HSHARDS 16
struct fs_handle {
	struct fs_handle *prev, *next;
	int kind; /* FS_H_FILE, FS_H_DIR */
};
enum { FS_H_FILE = 1, FS_H_DIR = 2 };

struct sn_fs {
	/* immutable after view_new() */
	struct inode_table *itab;
	struct fuse_session *se;
	struct fsgroup *group; /* views of the same workspace */
	uint64_t root_mnt_id;  /* never cross into another mount */
	double timeout;        /* entry/attr/negative cache, seconds */
	int external_writers;  /* someone else writes the root too */
	int writeback;
	int allow_other;
	uid_t owner_uid;     /* the user that mounted (always allowed) */
	uid_t *allowed_uids; /* with allow_other: who else may use it */
	size_t n_allowed_uids;
	int can_chown; /* we run as root: give files to callers */
	char *name, *workspace, *agent, *role;
	struct fs_ws *ws; /* the workspace's enforcement (shared) */
	unsigned perms;   /* the role's permissions (policy.h) */
	_Atomic unsigned long long chaos_ctr; /* per-view chaos counter */
	/* handles the kernel has not released; hm[i] protects hl[i] */
	pthread_mutex_t hm[FS_HSHARDS];
	struct fs_handle *hl[FS_HSHARDS];
	/* membership in group->views, protected by the group's mutex */
	struct sn_fs *gnext;
};

extern const struct fuse_lowlevel_ops fs_ops;

/* The link map: add while building it, get while serving. */
int fs_linkmap_add(struct fs_linkmap *m, dev_t dev, ino_t ino, unsigned bits);
unsigned fs_linkmap_get(const struct fs_linkmap *m, dev_t dev, ino_t ino);
void fs_linkmap_free(struct fs_linkmap *m);

/* Set up / tear down a view's handle registry; fs_handles_free() frees
 * the handles the kernel never released (connection aborted). */
void fs_handles_init(struct sn_fs *fs);
void fs_handles_free(struct sn_fs *fs);

/* Denials of every view (view.c, for view_op_stats()). */
extern atomic_ullong fs_denials;

/* Set by view.c's request reader: this thread's CREATE is an O_TMPFILE. */
extern __thread int fs_tmpfile_request;

/* Kernel node id <-> inode. */
static inline struct inode *
fs_inode(struct sn_fs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return inode_root(fs->itab);
	return (struct inode *)(uintptr_t)ino;
}

static inline fuse_ino_t
fs_nodeid(struct sn_fs *fs, struct inode *in)
{
	if (in == inode_root(fs->itab))
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)in;
}

/* ---- cross-view cache invalidation (notify.c) ------------------------ */

/*
 * A change made through one view must drop every other view's kernel
 * caches of what it touched.  Handlers queue the change; one notifier
 * thread per workspace sends the invalidations, so no handler ever
 * writes a notification while the kernel holds a lock for its own
 * request (the deadlock libfuse documents).  A handler that must not
 * reply before the other views are coherent (flush, fsync, setattr)
 * waits for its ticket, with a bound: the wait can never become a
 * deadlock, only a delay.
 */
int fsgroup_new(struct fsgroup **out /* OUT */);
void fsgroup_free(struct fsgroup *g);
void fsgroup_add(struct fsgroup *g, struct sn_fs *fs);
void fsgroup_remove(struct fsgroup *g, struct sn_fs *fs);
/* Invalidate the entry (parent, name) in every view but origin (NULL:
 * in every view, for a change made by a tool). */
uint64_t fsgroup_inval_entry(struct fsgroup *g, struct sn_fs *origin,
    dev_t pdev, ino_t pino, const char *name);
/* Invalidate the attributes and data of (dev, ino) in every view but origin. */
uint64_t fsgroup_inval_inode(struct fsgroup *g, struct sn_fs *origin, dev_t dev,
    ino_t ino);
/* Wait until ticket has been sent (or timeout_ms has passed). */
void fsgroup_wait(struct fsgroup *g, uint64_t ticket, int timeout_ms);

#endif
