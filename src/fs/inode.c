/*
 * inode.c - the bounded-descriptor inode table (see inode.h).
 *
 * Lock order: at most one shard mutex is held at a time.  Walking to an
 * ancestor (reopening a descriptor) drops the child's shard mutex first,
 * holding a reference instead.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "fs/inode.h"

struct shard {
	pthread_mutex_t m;
	struct inode **buckets;
	size_t nbuckets;
	size_t count;
	struct inode *lru_head; /* most recently used */
	struct inode *lru_tail;
	struct inode *dead; /* unhashed inodes, chained by hnext */
	unsigned nfds;
};

struct inode_table {
	struct shard shards[INODE_SHARDS];
	struct inode root;
	unsigned shard_budget;
	unsigned fd_budget;
	atomic_uint npinned; /* pinned descriptors, all shards */
	/*
	 * Held for writing while an inode's parent is replaced (a rename, or
	 * a lookup that finds a known inode under another name), for reading
	 * while inode_path() walks parents: the walk takes no reference, so
	 * no parent in the chain may lose one meanwhile.  Taken before any
	 * shard mutex.
	 */
	pthread_rwlock_t names;
};

static inline uint64_t
hash_key(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL;

	h ^= (uint64_t)dev * 0xC2B2AE3D27D4EB4FULL;
	h ^= h >> 29;
	return h;
}

static inline size_t
bucket_of(const struct shard *s, uint64_t h)
{
	return (size_t)((h >> 6) & (s->nbuckets - 1));
}

int
inode_table_new(int root_fd, unsigned fd_budget, struct inode_table **out)
{
	struct inode_table *t;
	struct stat st;
	unsigned i;

	*out = NULL;
	if (fstat(root_fd, &st) < 0)
		return SN_ESYS;
	if (!S_ISDIR(st.st_mode))
		return SN_EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SN_ENOMEM;
	for (i = 0; i < INODE_SHARDS; i++) {
		struct shard *s = &t->shards[i];

		pthread_mutex_init(&s->m, NULL);
		s->nbuckets = 64;
		s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
		if (s->buckets == NULL) {
			inode_table_free(t);
			return SN_ENOMEM;
		}
	}
	pthread_rwlock_init(&t->names, NULL);
	t->fd_budget = fd_budget;
	t->shard_budget = fd_budget / INODE_SHARDS;
	if (t->shard_budget < 2)
		t->shard_budget = 2;
	t->root.dev = st.st_dev;
	t->root.ino = st.st_ino;
	t->root.type = S_IFDIR;
	t->root.fd = root_fd;
	t->root.nlookup = 2;
	t->root.refs = 1;
	t->root.pinned = 1;
	t->root.shard = INODE_SHARDS; /* never in a shard */
	*out = t;
	return 0;
}

struct altname {
	struct inode *parent; /* a reference */
	char *name;
	struct altname *next;
};

static void
alt_free_all(struct inode *in)
{
	struct altname *a;

	while ((a = in->alt) != NULL) {
		in->alt = a->next;
		free(a->name);
		free(a);
	}
	in->nalt = 0;
}

static void
inode_destroy(struct inode *in)
{
	if (in->fd >= 0)
		close(in->fd);
	free(in->name);
	alt_free_all(in); /* the table goes: no references to drop */
	free(in);
}

void
inode_table_free(struct inode_table *t)
{
	unsigned i;
	size_t b;

	if (t == NULL)
		return;
	for (i = 0; i < INODE_SHARDS; i++) {
		struct shard *s = &t->shards[i];

		for (b = 0; s->buckets != NULL && b < s->nbuckets; b++) {
			struct inode *in = s->buckets[b], *next;

			for (; in != NULL; in = next) {
				next = in->hnext;
				inode_destroy(in);
			}
		}
		while (s->dead != NULL) {
			struct inode *in = s->dead;

			s->dead = in->hnext;
			inode_destroy(in);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->m);
	}
	if (t->root.fd >= 0)
		close(t->root.fd);
	pthread_rwlock_destroy(&t->names);
	free(t);
}

struct inode *
inode_root(struct inode_table *t)
{
	return &t->root;
}

unsigned
inode_table_fds(struct inode_table *t)
{
	unsigned i, n = 0;

	for (i = 0; i < INODE_SHARDS; i++) {
		pthread_mutex_lock(&t->shards[i].m);
		n += t->shards[i].nfds;
		pthread_mutex_unlock(&t->shards[i].m);
	}
	return n;
}

unsigned long
inode_table_count(struct inode_table *t)
{
	unsigned long n = 0;
	unsigned i;

	for (i = 0; i < INODE_SHARDS; i++) {
		pthread_mutex_lock(&t->shards[i].m);
		n += t->shards[i].count;
		pthread_mutex_unlock(&t->shards[i].m);
	}
	return n;
}

/* ---- LRU (shard mutex held) ------------------------------------------ */

static void
lru_unlink(struct shard *s, struct inode *in)
{
	if (in->lru_prev != NULL)
		in->lru_prev->lru_next = in->lru_next;
	else if (s->lru_head == in)
		s->lru_head = in->lru_next;
	if (in->lru_next != NULL)
		in->lru_next->lru_prev = in->lru_prev;
	else if (s->lru_tail == in)
		s->lru_tail = in->lru_prev;
	in->lru_prev = in->lru_next = NULL;
}

static void
lru_push(struct shard *s, struct inode *in)
{
	in->lru_prev = NULL;
	in->lru_next = s->lru_head;
	if (s->lru_head != NULL)
		s->lru_head->lru_prev = in;
	s->lru_head = in;
	if (s->lru_tail == NULL)
		s->lru_tail = in;
}

static int
in_lru(const struct shard *s, const struct inode *in)
{
	return in->lru_prev != NULL || s->lru_head == in;
}

/*
 * Close descriptors from the cold end until the shard is within budget.
 * Returns descriptors to close in fds[] (closed by the caller, outside
 * the lock); *n in/out.
 */
static void
lru_evict(struct inode_table *t, struct shard *s, int *fds, unsigned *n,
    unsigned max)
{
	struct inode *in = s->lru_tail, *prev;

	while (in != NULL && s->nfds > t->shard_budget && *n < max) {
		prev = in->lru_prev;
		if (in->fd_users == 0 && !in->pinned) {
			lru_unlink(s, in);
			fds[(*n)++] = in->fd;
			in->fd = -1;
			s->nfds--;
		}
		in = prev;
	}
}

/* ---- hash (shard mutex held) ----------------------------------------- */

static struct inode *
hash_find(struct shard *s, dev_t dev, ino_t ino)
{
	struct inode *in;

	in = s->buckets[bucket_of(s, hash_key(dev, ino))];
	for (; in != NULL; in = in->hnext)
		if (in->ino == ino && in->dev == dev)
			return in;
	return NULL;
}

static void
hash_grow(struct shard *s)
{
	struct inode **nb;
	size_t nn = s->nbuckets * 2, b;

	nb = calloc(nn, sizeof(*nb));
	if (nb == NULL)
		return; /* keep the old, longer chains */
	for (b = 0; b < s->nbuckets; b++) {
		struct inode *in = s->buckets[b], *next;

		for (; in != NULL; in = next) {
			size_t i = (size_t)((hash_key(in->dev, in->ino) >> 6) &
			    (nn - 1));

			next = in->hnext;
			in->hnext = nb[i];
			nb[i] = in;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = nn;
}

static void
hash_remove(struct shard *s, struct inode *in)
{
	struct inode **pp =
	    &s->buckets[bucket_of(s, hash_key(in->dev, in->ino))];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			s->count--;
			return;
		}
	}
}

/* Move in from the hash to the dead list (shard mutex held). */
static void
unhash_locked(struct shard *s, struct inode *in)
{
	if (in->unhashed)
		return;
	hash_remove(s, in);
	in->unhashed = 1;
	in->dprev = NULL;
	in->hnext = s->dead;
	if (s->dead != NULL)
		s->dead->dprev = in;
	s->dead = in;
}

static void
dead_remove(struct shard *s, struct inode *in)
{
	if (in->dprev != NULL)
		in->dprev->hnext = in->hnext;
	else
		s->dead = in->hnext;
	if (in->hnext != NULL)
		in->hnext->dprev = in->dprev;
	in->hnext = in->dprev = NULL;
}

/* ---- references -------------------------------------------------------- */

static struct shard *
shard_of(struct inode_table *t, struct inode *in)
{
	return &t->shards[in->shard];
}

static void
ref_get(struct inode_table *t, struct inode *in)
{
	struct shard *s;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	in->refs++;
	pthread_mutex_unlock(&s->m);
}

/* Drop one reference; free the inode (and walk up) when it was the last. */
void
inode_unref(struct inode_table *t, struct inode *in)
{
	while (in != NULL && in != &t->root) {
		struct shard *s = shard_of(t, in);
		struct inode *parent = NULL;
		struct altname *alts, *a;
		int fd = -1;

		pthread_mutex_lock(&s->m);
		if (--in->refs > 0) {
			pthread_mutex_unlock(&s->m);
			return;
		}
		if (!in->unhashed)
			hash_remove(s, in);
		else
			dead_remove(s, in);
		if (in->fd >= 0) {
			if (in_lru(s, in))
				lru_unlink(s, in);
			if (in->pinned)
				atomic_fetch_sub(&t->npinned, 1);
			s->nfds--;
			fd = in->fd;
			in->fd = -1;
		}
		parent = in->parent;
		in->parent = NULL;
		alts = in->alt;
		in->alt = NULL;
		pthread_mutex_unlock(&s->m);
		if (fd >= 0)
			close(fd);
		free(in->name);
		free(in);
		while ((a = alts) != NULL) {
			alts = a->next;
			inode_unref(t, a->parent); /* a directory: no alts */
			free(a->name);
			free(a);
		}
		in = parent; /* drop the child's reference on its parent */
	}
}

struct inode *
inode_find(struct inode_table *t, dev_t dev, ino_t ino)
{
	struct shard *s;
	struct inode *in;

	if (dev == t->root.dev && ino == t->root.ino)
		return &t->root;
	s = &t->shards[hash_key(dev, ino) % INODE_SHARDS];
	pthread_mutex_lock(&s->m);
	in = hash_find(s, dev, ino);
	if (in != NULL)
		in->refs++;
	pthread_mutex_unlock(&s->m);
	return in;
}

/*
 * Set in's way back to (parent, name).  Takes a reference on parent and
 * returns the old parent, whose reference the caller must drop.
 * Shard mutex of in held; parent's reference taken by the caller.
 */
static struct inode *
set_name(struct inode *in, struct inode *parent, char *name)
{
	struct inode *old = in->parent;

	free(in->name);
	in->name = name;
	in->parent = parent;
	return old;
}

/* Is (parent, name) the name recorded for in?  Shard mutex held. */
static int
is_recorded(const struct inode *in, const struct inode *parent,
    const char *name)
{
	return in->parent == parent && in->name != NULL &&
	    strcmp(in->name, name) == 0;
}

/*
 * Take (parent, name) off in's other names, if it is one; its parent
 * reference goes to *drop.  Names lock (write) and shard mutex held.
 */
static void
alt_remove(struct inode *in, struct inode *parent, const char *name,
    struct inode **drop)
{
	struct altname **pp, *a;

	for (pp = &in->alt; (a = *pp) != NULL; pp = &a->next) {
		if (a->parent == parent && strcmp(a->name, name) == 0) {
			*pp = a->next;
			in->nalt--;
			*drop = a->parent;
			free(a->name);
			free(a);
			return;
		}
	}
}

/*
 * Record (parent, nm) (nm owned, parent's reference taken) as in's name.
 * With keep, the name recorded until now, if any, becomes one of in's
 * other names (not for a directory, which has one).  References to drop
 * once the locks are released go to drop[0..1].  Names lock (write) and
 * shard mutex held.
 */
static void
name_push(struct inode *in, struct inode *parent, char *nm, int keep,
    struct inode **drop)
{
	struct altname *a, **pp;

	alt_remove(in, parent, nm, &drop[0]);
	if (!keep || in->type == S_IFDIR || in->parent == NULL ||
	    in->name == NULL || strchr(in->name, '/') != NULL ||
	    (a = malloc(sizeof(*a))) == NULL) {
		drop[1] = set_name(in, parent, nm);
		return;
	}
	a->parent = in->parent;
	a->name = in->name;
	a->next = in->alt;
	in->alt = a;
	in->parent = parent;
	in->name = nm;
	if (++in->nalt > INODE_ALT_MAX) { /* forget the oldest */
		for (pp = &in->alt; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		a = *pp;
		*pp = NULL;
		in->nalt--;
		drop[1] = a->parent;
		free(a->name);
		free(a);
	}
}

/*
 * Is the known inode in, whose (dev, ino) the kernel just looked up as
 * st, another file than st: its number was reused?  So it is when in is
 * losing its last name right now (inode_dying()), when it was of another
 * type, or when its descriptor shows no link left (something outside
 * Sentinel unlinked it).  Then unhash it.  Shard mutex held.
 */
static int
stale_locked(struct shard *s, struct inode *in, const struct stat *st)
{
	struct stat fst;

	if (!in->dying && in->type == (st->st_mode & S_IFMT)) {
		if (in->fd < 0 || in->type == S_IFDIR)
			return 0;
		if (fstat(in->fd, &fst) < 0 || fst.st_nlink > 0)
			return 0;
	}
	unhash_locked(s, in);
	return 1;
}

int
inode_lookup(struct inode_table *t, struct inode *parent, const char *name,
    const struct stat *st, int fd, struct inode **out)
{
	uint64_t h = hash_key(st->st_dev, st->st_ino);
	struct shard *s;
	struct inode *in, *fresh = NULL, *oldparent = NULL;
	struct inode *drop[2] = { NULL, NULL };
	char *nm = NULL;
	int closefds[8];
	unsigned nclose = 0, i;

	*out = NULL;
	if (st->st_dev == t->root.dev && st->st_ino == t->root.ino) {
		if (fd >= 0)
			close(fd);
		return -ELOOP; /* the root reached by a name: refuse */
	}
	nm = strdup(name);
	if (nm == NULL)
		goto nomem;
	ref_get(t, parent); /* for the name we may record */
	s = &t->shards[h % INODE_SHARDS];
	pthread_mutex_lock(&s->m);
	in = hash_find(s, st->st_dev, st->st_ino);
	if (in != NULL && stale_locked(s, in, st))
		in = NULL;
	if (in == NULL) {
		pthread_mutex_unlock(&s->m);
		fresh = calloc(1, sizeof(*fresh));
		if (fresh == NULL) {
			inode_unref(t, parent);
			goto nomem;
		}
		fresh->dev = st->st_dev;
		fresh->ino = st->st_ino;
		fresh->type = st->st_mode & S_IFMT;
		fresh->shard = (unsigned)(h % INODE_SHARDS);
		fresh->fd = -1;
		pthread_mutex_lock(&s->m);
		in = hash_find(s, st->st_dev, st->st_ino);
		if (in != NULL && stale_locked(s, in, st))
			in = NULL;
		if (in == NULL) {
			in = fresh;
			fresh = NULL;
			in->hnext = s->buckets[bucket_of(s, h)];
			s->buckets[bucket_of(s, h)] = in;
			if (++s->count > s->nbuckets * 2)
				hash_grow(s);
		}
	}
	if (in->nlookup++ == 0)
		in->refs++; /* the kernel's reference */
	if (in->parent == NULL) {
		oldparent = set_name(in, parent, nm);
		nm = NULL;
	} else if (!is_recorded(in, parent, nm)) {
		/*
		 * known under another name: this one is recorded now (under
		 * the names lock); a file with other links keeps the old one
		 * among its other names
		 */
		in->refs++;
		pthread_mutex_unlock(&s->m);
		pthread_rwlock_wrlock(&t->names);
		pthread_mutex_lock(&s->m);
		name_push(in, parent, nm, st->st_nlink > 1, drop);
		oldparent = drop[1];
		nm = NULL;
		pthread_mutex_unlock(&s->m);
		pthread_rwlock_unlock(&t->names);
		pthread_mutex_lock(&s->m);
		in->refs--;
	} else {
		oldparent = parent; /* already recorded: drop the extra ref */
	}
	if (fd >= 0) {
		if (in->fd < 0) {
			in->fd = fd;
			fd = -1;
			s->nfds++;
			if (!in->pinned)
				lru_push(s, in);
			lru_evict(t, s, closefds, &nclose, 8);
		}
	}
	pthread_mutex_unlock(&s->m);
	for (i = 0; i < nclose; i++)
		close(closefds[i]);
	if (fd >= 0)
		close(fd);
	free(fresh);
	free(nm);
	if (oldparent != NULL)
		inode_unref(t, oldparent);
	if (drop[0] != NULL)
		inode_unref(t, drop[0]);
	*out = in;
	return 0;
nomem:
	free(nm);
	if (fd >= 0)
		close(fd);
	return -ENOMEM;
}

void
inode_forget(struct inode_table *t, struct inode *in, uint64_t n)
{
	struct shard *s;
	int drop = 0;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	if (n >= in->nlookup) {
		drop = in->nlookup > 0;
		in->nlookup = 0;
	} else {
		in->nlookup -= n;
	}
	pthread_mutex_unlock(&s->m);
	if (drop)
		inode_unref(t, in);
}

/*
 * in has no descriptor: take what reopening it by name needs, a copy of
 * its name and a reference on in and on its parent (the caller drops
 * both and frees the name).  Called with the shard mutex of in held;
 * returns with it released.  A name with '/' (an O_TMPFILE's) is never
 * opened.
 */
static int
take_name(struct inode_table *t, struct shard *s, struct inode *in,
    struct inode **parent, char **name)
{
	*parent = in->parent;
	*name = NULL;
	if (*parent == NULL || in->name == NULL || strchr(in->name, '/')) {
		pthread_mutex_unlock(&s->m);
		return -ESTALE;
	}
	*name = strdup(in->name);
	if (*name == NULL) {
		pthread_mutex_unlock(&s->m);
		return -ENOMEM;
	}
	in->refs++;
	pthread_mutex_unlock(&s->m);
	ref_get(t, *parent);
	return 0;
}

int
inode_get_fd(struct inode_table *t, struct inode *in, int *fdp)
{
	struct shard *s;
	struct inode *parent;
	struct stat st;
	char *name;
	int pfd, fd, r, closefds[8];
	unsigned nclose = 0, i;

	*fdp = -1;
	if (in == &t->root) {
		*fdp = t->root.fd;
		return 0;
	}
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	if (in->fd >= 0) {
		in->fd_users++;
		if (in_lru(s, in) && s->lru_head != in) {
			lru_unlink(s, in);
			lru_push(s, in);
		}
		*fdp = in->fd;
		pthread_mutex_unlock(&s->m);
		return 0;
	}
	r = take_name(t, s, in, &parent, &name);
	if (r < 0)
		return r;

	r = inode_get_fd(t, parent, &pfd);
	if (r < 0)
		goto out;
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	r = fd < 0 ? -errno : 0;
	inode_put_fd(t, parent);
	if (r < 0)
		goto out;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_ino != in->ino || st.st_dev != in->dev) {
		/* The name now names something else: never serve it as in. */
		close(fd);
		r = -ESTALE;
		goto out;
	}
	pthread_mutex_lock(&s->m);
	if (in->fd >= 0) {
		closefds[nclose++] = fd; /* someone else won the race */
	} else {
		in->fd = fd;
		s->nfds++;
		if (!in->pinned)
			lru_push(s, in);
	}
	in->fd_users++;
	*fdp = in->fd;
	lru_evict(t, s, closefds, &nclose, 8);
	pthread_mutex_unlock(&s->m);
	for (i = 0; i < nclose; i++)
		close(closefds[i]);
out:
	free(name);
	inode_unref(t, parent);
	if (r < 0)
		inode_unref(t, in);
	else {
		pthread_mutex_lock(&s->m);
		in->refs--; /* the fd_users count keeps it alive now */
		pthread_mutex_unlock(&s->m);
	}
	return r;
}

void
inode_put_fd(struct inode_table *t, struct inode *in)
{
	struct shard *s;
	int closefds[8];
	unsigned nclose = 0, i;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	in->fd_users--;
	if (in->fd_users == 0 && s->nfds > t->shard_budget)
		lru_evict(t, s, closefds, &nclose, 8);
	pthread_mutex_unlock(&s->m);
	for (i = 0; i < nclose; i++)
		close(closefds[i]);
}

void
inode_moved(struct inode_table *t, struct inode *in, struct inode *oldparent,
    const char *oldname, struct inode *parent, const char *name)
{
	struct inode *drop[3] = { NULL, NULL, NULL };
	struct shard *s;
	char *nm;
	int was, i;

	if (in == &t->root)
		return;
	nm = strdup(name);
	if (nm == NULL) {
		/* cannot record the new name: keep it reachable by fd */
		(void)inode_pin(t, in);
		return;
	}
	ref_get(t, parent);
	s = shard_of(t, in);
	pthread_rwlock_wrlock(&t->names);
	pthread_mutex_lock(&s->m);
	/* the old name is gone: if it was not the recorded one, the
	 * recorded one still names the file, and stays among its others */
	was = oldparent == NULL || is_recorded(in, oldparent, oldname);
	if (!was)
		alt_remove(in, oldparent, oldname, &drop[2]);
	name_push(in, parent, nm, !was, drop);
	pthread_mutex_unlock(&s->m);
	pthread_rwlock_unlock(&t->names);
	for (i = 0; i < 3; i++)
		if (drop[i] != NULL)
			inode_unref(t, drop[i]);
}

/* Another entry of dir (a descriptor) that is in: its name (malloc'd). */
static char *
find_other_name(int dir, const struct inode *in, const char *gone)
{
	struct dirent *de;
	struct stat st;
	char *found = NULL;
	DIR *dp;
	int fd;

	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	dp = fdopendir(fd);
	if (dp == NULL) {
		close(fd);
		return NULL;
	}
	while (found == NULL && (de = readdir(dp)) != NULL) {
		if (de->d_ino != in->ino || strcmp(de->d_name, gone) == 0)
			continue;
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    st.st_ino == in->ino && st.st_dev == in->dev)
			found = strdup(de->d_name);
	}
	closedir(dp);
	return found;
}

void
inode_name_gone(struct inode_table *t, struct inode *in, struct inode *parent,
    const char *name, int pfd)
{
	struct inode *drop[2] = { NULL, NULL };
	struct altname *a;
	struct shard *s;
	char *other;
	int recorded;

	if (in == &t->root || in->type == S_IFDIR)
		return;
	s = shard_of(t, in);
	pthread_rwlock_wrlock(&t->names);
	pthread_mutex_lock(&s->m);
	recorded = is_recorded(in, parent, name);
	if (!recorded) {
		alt_remove(in, parent, name, &drop[0]);
	} else if ((a = in->alt) != NULL) {
		/* the next name it is known by takes the place */
		in->alt = a->next;
		in->nalt--;
		drop[0] = set_name(in, a->parent, a->name);
		free(a);
		recorded = 0;
	}
	pthread_mutex_unlock(&s->m);
	pthread_rwlock_unlock(&t->names);
	if (recorded && pfd >= 0 &&
	    (other = find_other_name(pfd, in, name)) != NULL) {
		ref_get(t, parent);
		pthread_rwlock_wrlock(&t->names);
		pthread_mutex_lock(&s->m);
		if (is_recorded(in, parent, name)) {
			drop[1] = set_name(in, parent, other);
			other = NULL;
		} else {
			drop[1] = parent; /* renamed meanwhile: keep that */
		}
		pthread_mutex_unlock(&s->m);
		pthread_rwlock_unlock(&t->names);
		free(other);
	}
	if (drop[0] != NULL)
		inode_unref(t, drop[0]);
	if (drop[1] != NULL)
		inode_unref(t, drop[1]);
}

int
inode_pin(struct inode_table *t, struct inode *in)
{
	struct shard *s;
	int fd, r;

	if (in == &t->root)
		return 0;
	r = inode_get_fd(t, in, &fd);
	if (r < 0)
		return r;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	if (!in->pinned) {
		in->pinned = 1;
		atomic_fetch_add(&t->npinned, 1);
		if (in_lru(s, in))
			lru_unlink(s, in);
	}
	pthread_mutex_unlock(&s->m);
	inode_put_fd(t, in);
	return 0;
}

void
inode_opened(struct inode_table *t, struct inode *in, int delta)
{
	struct shard *s;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	in->nopen += delta;
	pthread_mutex_unlock(&s->m);
}

int
inode_pin_if_open(struct inode_table *t, struct inode *in)
{
	struct shard *s;
	int open;

	if (in == &t->root)
		return 0;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	open = in->nopen > 0;
	pthread_mutex_unlock(&s->m);
	return open ? inode_pin(t, in) : 0;
}

void
inode_dying(struct inode_table *t, struct inode *in, int on)
{
	struct shard *s;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	in->dying = on;
	pthread_mutex_unlock(&s->m);
}

void
inode_dead(struct inode_table *t, struct inode *in)
{
	struct shard *s;

	if (in == &t->root)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	unhash_locked(s, in);
	pthread_mutex_unlock(&s->m);
}

int
inode_open(struct inode_table *t, struct inode *in, int flags, int *fdp)
{
	struct shard *s;
	struct inode *parent;
	struct stat st;
	char pp[64], *name;
	int pfd, fd, r;

	*fdp = -1;
	if (in == &t->root)
		return -EISDIR;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	if (in->fd >= 0) {
		/* reopen the O_PATH descriptor with the wanted access */
		in->fd_users++;
		(void)snprintf(pp, sizeof(pp), "/proc/self/fd/%d", in->fd);
		pthread_mutex_unlock(&s->m);
		fd = open(pp, flags | O_CLOEXEC);
		r = fd < 0 ? -errno : 0;
		inode_put_fd(t, in);
		*fdp = fd;
		return r;
	}
	r = take_name(t, s, in, &parent, &name);
	if (r < 0)
		return r;
	r = inode_get_fd(t, parent, &pfd);
	if (r == 0) {
		/* never truncate before the identity is known */
		fd = openat(pfd, name,
		    (flags & ~O_TRUNC) | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		r = fd < 0 ? -errno : 0;
		inode_put_fd(t, parent);
	}
	if (r == 0) {
		if (fstat(fd, &st) < 0 || st.st_ino != in->ino ||
		    st.st_dev != in->dev)
			r = -ESTALE; /* the name now names something else */
		else if ((flags & O_TRUNC) && ftruncate(fd, 0) < 0)
			r = -errno;
		if (r < 0)
			close(fd);
		else
			*fdp = fd;
	}
	free(name);
	inode_unref(t, parent);
	inode_unref(t, in);
	return r;
}

int
inode_is_dead(struct inode_table *t, struct inode *in)
{
	struct shard *s;
	int dead;

	if (in == &t->root)
		return 0;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	dead = in->unhashed;
	pthread_mutex_unlock(&s->m);
	return dead;
}

int
inode_name(struct inode_table *t, struct inode *in, struct inode **parent,
    char *buf, size_t len)
{
	struct shard *s;
	size_t n;

	*parent = NULL;
	if (in == &t->root)
		return -ENOENT;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	if (in->parent == NULL || in->name == NULL || in->unhashed ||
	    strchr(in->name, '/') || (n = strlen(in->name)) >= len) {
		pthread_mutex_unlock(&s->m);
		return -ENOENT;
	}
	memcpy(buf, in->name, n + 1);
	*parent = in->parent;
	pthread_mutex_unlock(&s->m);
	ref_get(t, *parent);
	return 0;
}

int
inode_path(struct inode_table *t, struct inode *in, char *buf, size_t len)
{
	size_t pos = len, n;
	struct inode *cur = in;

	if (len == 0)
		return -ENAMETOOLONG;
	buf[--pos] = '\0';
	pthread_rwlock_rdlock(&t->names);
	while (cur != &t->root) {
		struct shard *s = shard_of(t, cur);
		struct inode *parent;

		pthread_mutex_lock(&s->m);
		if (cur->parent == NULL || cur->name == NULL || cur->unhashed ||
		    strchr(cur->name, '/') != NULL) {
			pthread_mutex_unlock(&s->m);
			pthread_rwlock_unlock(&t->names);
			return -ENOENT;
		}
		n = strlen(cur->name);
		if (n + (cur != in) > pos) {
			pthread_mutex_unlock(&s->m);
			pthread_rwlock_unlock(&t->names);
			return -ENAMETOOLONG;
		}
		if (cur != in)
			buf[--pos] = '/';
		pos -= n;
		memcpy(buf + pos, cur->name, n);
		/* the caller's reference on in keeps the chain alive: every
		 * inode holds one on its parent */
		parent = cur->parent;
		pthread_mutex_unlock(&s->m);
		cur = parent;
	}
	pthread_rwlock_unlock(&t->names);
	n = len - 1 - pos;
	memmove(buf, buf + pos, n + 1);
	return (int)n;
}

void
inode_rules_add(struct inode_table *t, struct inode *in, unsigned bits)
{
	struct shard *s;

	if (in == &t->root || bits == 0)
		return;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	in->rules |= bits;
	pthread_mutex_unlock(&s->m);
}

unsigned
inode_rules(struct inode_table *t, struct inode *in)
{
	struct shard *s;
	unsigned bits;

	if (in == &t->root)
		return 0;
	s = shard_of(t, in);
	pthread_mutex_lock(&s->m);
	bits = in->rules;
	pthread_mutex_unlock(&s->m);
	return bits;
}
