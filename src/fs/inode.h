/*
 * inode.h - the inode table of one view: every backing inode the kernel
 * knows through this view, keyed by (st_dev, st_ino), with a BOUNDED
 * number of open descriptors.
 *
 * An inode does not keep a descriptor open for its whole life (as
 * libfuse's passthrough examples do, which fails past the open-file
 * limit).  It keeps its parent and its name; its O_PATH descriptor is
 * opened on demand by walking from the nearest ancestor that has one, one
 * component at a time, openat(parent_fd, name, O_PATH|O_NOFOLLOW), and the
 * result is checked against the recorded (dev, ino) so that a swapped
 * entry is never mistaken for the inode (ESTALE instead).  Open
 * descriptors live in per-shard LRU lists and are closed when a shard
 * holds more than its share of the budget and nobody is using them.
 * Inodes that cannot be reached by name any more (unlinked while known)
 * keep their descriptor pinned until the kernel forgets them.
 *
 * The root inode's descriptor is opened once and never closed.
 *
 * Concurrency: the table is split into INODE_SHARDS shards; each has one
 * mutex protecting the hash chain, the LRU list and every mutable field
 * of the inodes that hash into it (nlookup, refs, fd, fd_users, parent,
 * name, flags).  No code holds two shard mutexes at once.  Immutable after
 * creation: dev, ino, type, shard.
 *
 * Lifetime: refs counts one for "the kernel knows it" (nlookup > 0), one
 * per child whose parent pointer names it, and one per caller reference
 * taken with inode_ref()/inode_find().  At zero the inode leaves the
 * table and is freed.  The struct is opaque outside inode.c except for
 * the immutable fields below.
 */
#ifndef SN_INODE_H
#define SN_INODE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define INODE_SHARDS 64

struct inode_table;

struct altname;

struct inode {
	dev_t dev;      /* immutable */
	ino_t ino;      /* immutable */
	mode_t type;    /* S_IFMT bits, immutable */
	unsigned shard; /* immutable */
	/* the rest is private to inode.c, protected by the shard mutex */
	uint64_t nlookup;
	int refs;
	int fd;
	int fd_users;
	int pinned;     /* keep fd: no longer reachable by name */
	int nopen;      /* open file handles */
	int unhashed;   /* dead: its (dev, ino) may name a new file */
	int dying;      /* losing its last name (see inode_dying()) */
	unsigned rules; /* INODE_RULE_*: rules met under any of its names */
	struct inode *parent;
	char *name;
	struct altname *alt; /* other names of a multi-linked file */
	unsigned nalt;
	struct inode *hnext; /* hash chain, or the dead list (next) */
	struct inode *dprev; /* the dead list (previous) */
	struct inode *lru_prev, *lru_next;
};

/*
 * Create the table for a tree whose root directory is root_fd (an O_PATH
 * or O_RDONLY directory descriptor, owned by the table from now on).
 * fd_budget is the number of cached descriptors across all shards.
 */
int inode_table_new(int root_fd, unsigned fd_budget,
    struct inode_table **out /* OUT */);
void inode_table_free(struct inode_table *t);

struct inode *inode_root(struct inode_table *t);
/* Number of descriptors currently open in the cache (for tests/metrics). */
unsigned inode_table_fds(struct inode_table *t);
unsigned long inode_table_count(struct inode_table *t);

/*
 * Record that the kernel looked up (parent, name) and found st: find or
 * create the inode, add one lookup, and remember (parent, name) as the
 * way back to it.  fd, if >= 0, is an O_PATH descriptor of it that the
 * table takes over (or closes).  *out is valid until the kernel forgets.
 */
int inode_lookup(struct inode_table *t, struct inode *parent, const char *name,
    const struct stat *st, int fd, struct inode **out /* OUT */);

/* The kernel forgot n lookups. */
void inode_forget(struct inode_table *t, struct inode *in, uint64_t n);

/*
 * Borrow an O_PATH descriptor of in: *fd stays open until inode_put_fd().
 * Returns 0, or a negative errno (-ESTALE if the inode's name now names
 * something else, -ENOENT if it is gone).
 */
int inode_get_fd(struct inode_table *t, struct inode *in, int *fd /* OUT */);
void inode_put_fd(struct inode_table *t, struct inode *in);

/*
 * Find the inode with (dev, ino) if the kernel knows it, with a reference
 * the caller drops with inode_unref(); NULL if absent.
 */
struct inode *inode_find(struct inode_table *t, dev_t dev, ino_t ino);
void inode_unref(struct inode_table *t, struct inode *in);

/*
 * Names.  An inode records the name the kernel last reached it by, and a
 * file with several links up to INODE_ALT_MAX other names it was seen
 * under (lookups, links, renames), so that when the recorded name goes
 * another one takes its place: paths in events and policy checks name a
 * name the file has now.
 */
#define INODE_ALT_MAX 8

/* After a rename: the inode that was at (oldparent, oldname) (NULL if not
 * known) now lives at (parent, name). */
void inode_moved(struct inode_table *t, struct inode *in,
    struct inode *oldparent, const char *oldname, struct inode *parent,
    const char *name);
/*
 * in (not a directory) lost the name (parent, name), an unlink or a
 * rename over it, and still has others.  If that was its recorded name,
 * another name it is known by takes its place; failing that, the
 * directory (pfd, a descriptor of parent, or -1) is searched for another
 * entry of the same file.  If none is found the old name stays recorded.
 */
void inode_name_gone(struct inode_table *t, struct inode *in,
    struct inode *parent, const char *name, int pfd);
/*
 * Before an unlink/rename-over of (parent, name), whose target is in:
 * pin its descriptor so the inode stays reachable while the kernel
 * still knows it.  Returns 0 or a negative errno.
 */
int inode_pin(struct inode_table *t, struct inode *in);
/*
 * The inode lost its last name (unlink, rmdir, rename over it): take it
 * out of the hash so that a new file that reuses its inode number gets a
 * new inode (and node id) of its own.  It lives on until the kernel
 * forgets it; if it is open, its descriptor is pinned first.
 */
void inode_dead(struct inode_table *t, struct inode *in);
/*
 * in is about to lose its last name (on), or kept it after all (off).
 * Meanwhile a lookup that finds in's (dev, ino) has found a new file
 * that reuses the number (the kernel holds the directory of the name
 * being removed, so no lookup reaches in by that name), and gets an
 * inode of its own.
 */
void inode_dying(struct inode_table *t, struct inode *in, int on);

/*
 * Open in with flags (O_RDONLY/O_WRONLY/O_RDWR and friends): through its
 * cached O_PATH descriptor if it has one, else by name from its parent
 * with O_NOFOLLOW, checked against (dev, ino) before any O_TRUNC takes
 * effect.  Returns 0 and a new descriptor, or a negative errno.
 */
int inode_open(struct inode_table *t, struct inode *in, int flags,
    int *fd /* OUT */);
/*
 * The name in was last seen under: a referenced parent (drop with
 * inode_unref) and a copy of the name in buf; -ENOENT if it has none.
 */
int inode_name(struct inode_table *t, struct inode *in,
    struct inode **parent /* OUT */, char *buf, size_t len);
/*
 * The workspace-relative path of in ("" for the root), built from the
 * names it was last seen under, into buf.  Returns its length, or
 * -ENAMETOOLONG, or -ENOENT for an inode with no name (unlinked, tmpfile).
 */
int inode_path(struct inode_table *t, struct inode *in, char *buf, size_t len);
/*
 * Path rules follow names; a file with several names (hard links) is
 * covered by the rules of every name it was seen under.  These bits stick
 * to the inode for as long as the view knows it.
 */
#define INODE_RULE_DENY 1u
#define INODE_RULE_RO   2u
void inode_rules_add(struct inode_table *t, struct inode *in, unsigned bits);
unsigned inode_rules(struct inode_table *t, struct inode *in);
/* 1 if in lost its last name through the view (see inode_dead). */
int inode_is_dead(struct inode_table *t, struct inode *in);

/*
 * Count open file handles (delta +1 at open, -1 at release); an inode
 * that loses its name while open is pinned by inode_pin_if_open().
 */
void inode_opened(struct inode_table *t, struct inode *in, int delta);
int inode_pin_if_open(struct inode_table *t, struct inode *in);

#endif
