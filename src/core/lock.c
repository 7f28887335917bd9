/*
 * lock.c - the lock table (see lock.h).
 *
 * In memory, the table is a tree of the paths that matter: a node for
 * every path that holds a lock or a lease, and for each of their
 * ancestors up to the root "".  Nodes are found by path in a hash table
 * (chained, FNV-1a) and point to their parent and children, so a check
 * walks up from the deepest existing node, and a subtree check walks down
 * only through nodes that lead to a lock.  A node lives while it holds a
 * lock or a child (refs).  Locks are also hashed by id.
 *
 * Concurrency: everything in struct lock_table is protected by rw, except
 * nlocks, also read without it (atomically) by lock_check() to return at
 * once while the table is empty.  The database handle is used under rw
 * held exclusively.  No other lock is taken under rw.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/db.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/log.h"

#define TOKEN_BITS 40
#define EPOCH_MAX  ((1ULL << (63 - TOKEN_BITS)) - 1)
#define EPOCH_NAME "lock_epoch"
#define HASH_MIN   64
#define NS_PER_MS  1000000LL

struct node;

struct lk {
	uint64_t id; /* == token */
	char *holder;
	struct node *node;
	int subtree;
	int lease;
	unsigned refs;    /* leases: opens sharing it */
	int64_t exp_mono; /* CLOCK_MONOTONIC ns; 0 = never (a lease) */
	int64_t exp_real; /* CLOCK_REALTIME ns, as persisted */
	int64_t created;  /* CLOCK_REALTIME ns */
	struct lk *next;  /* node->locks */
	struct lk *prev;
	struct lk *id_next; /* hash chain by id */
	int has_file;       /* a lease on the file (fdev, fino) */
	uint64_t fdev, fino;
	struct lk *f_next; /* hash chain by file */
};

struct node {
	char *path; /* "" for the root */
	size_t len;
	uint64_t hash;
	struct node *parent; /* NULL for the root */
	struct node *hnext;  /* hash chain by path */
	struct node *kids;   /* children */
	struct node *knext;  /* siblings */
	struct node *kprev;
	struct lk *locks; /* locks and leases on exactly this path */
	unsigned nsub;    /* subtree locks among them */
	unsigned refs;    /* locks here + children */
};

struct lock_table {
	pthread_rwlock_t rw;
	struct db *db; /* NULL: memory only */
	struct node **nodes;
	size_t nodes_cap, nnodes;
	struct lk **ids;
	size_t ids_cap;
	struct lk **files; /* leases with a file identity, by file */
	size_t files_cap, nfiles;
	size_t nlocks; /* also read atomically without rw */
	uint64_t epoch, counter;
};

static int64_t
clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t
fnv(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Length of the parent of path[0..len) ("a/b" -> 1, "a" -> 0). */
static size_t
parent_len(const char *path, size_t len)
{
	while (len > 0 && path[len - 1] != '/')
		len--;
	return len > 0 ? len - 1 : 0;
}

/* A canonical relative path of at most max bytes: 0, SN_EINVAL, SN_ERANGE;
 * *len is its length. */
static int
path_ok(const char *p, size_t max, size_t *len)
{
	size_t n, i, start = 0;

	if (p == NULL)
		return SN_EINVAL;
	n = strnlen(p, max + 1);
	if (n > max)
		return SN_ERANGE;
	*len = n;
	if (n == 0)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (i == start || (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return SN_EINVAL;
		start = i + 1;
	}
	return 0;
}

static int
holder_ok(const char *h)
{
	size_t i;

	if (h == NULL || h[0] == '\0')
		return 0;
	for (i = 0; h[i] != '\0'; i++)
		if (i >= LOCK_HOLDER_MAX || (unsigned char)h[i] < 0x20 ||
		    h[i] == 0x7f)
			return 0;
	return 1;
}

static int
ttl_ok(int64_t ttl_ms)
{
	return ttl_ms > 0 && ttl_ms <= LOCK_TTL_MAX_MS;
}

static int
live(const struct lk *l, int64_t now)
{
	return l->exp_mono == 0 || l->exp_mono > now;
}

static int
other(const struct lk *l, const char *holder)
{
	return holder == NULL || strcmp(l->holder, holder) != 0;
}

/* ---- hash tables -------------------------------------------------------- */

static size_t
id_bucket(uint64_t id, size_t cap)
{
	return (size_t)(((id ^ (id >> 29)) * 0x9E3779B97F4A7C15ULL) >> 7) &
	    (cap - 1);
}

static size_t
file_bucket(uint64_t dev, uint64_t ino, size_t cap)
{
	return id_bucket(ino ^ (dev * 0x100000001B3ULL), cap);
}

/* Make room for need nodes in the path hash (load factor <= 1). */
static int
nodes_grow(struct lock_table *t, size_t need)
{
	struct node **nt, *n, *next;
	size_t ncap, i, b;

	if (need <= t->nodes_cap)
		return 0;
	ncap = t->nodes_cap != 0 ? t->nodes_cap * 2 : HASH_MIN;
	nt = calloc(ncap, sizeof(*nt));
	if (nt == NULL)
		return SN_ENOMEM;
	for (i = 0; i < t->nodes_cap; i++) {
		for (n = t->nodes[i]; n != NULL; n = next) {
			next = n->hnext;
			b = n->hash & (ncap - 1);
			n->hnext = nt[b];
			nt[b] = n;
		}
	}
	free(t->nodes);
	t->nodes = nt;
	t->nodes_cap = ncap;
	return 0;
}

/* A lock's chain link and bucket in the id hash, or (by_file) in the
 * file hash. */
static struct lk **
lk_link(struct lk *l, int by_file)
{
	return by_file ? &l->f_next : &l->id_next;
}

static size_t
lk_bucket(const struct lk *l, int by_file, size_t cap)
{
	return by_file ? file_bucket(l->fdev, l->fino, cap) :
	                 id_bucket(l->id, cap);
}

/* Make room for need locks in the id hash, or (by_file) need leases in
 * the file hash. */
static int
lks_grow(struct lock_table *t, int by_file, size_t need)
{
	struct lk ***tab = by_file ? &t->files : &t->ids;
	size_t *cap = by_file ? &t->files_cap : &t->ids_cap;
	struct lk **nt, *l, *next;
	size_t ncap, i, b;

	if (need <= *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : HASH_MIN;
	nt = calloc(ncap, sizeof(*nt));
	if (nt == NULL)
		return SN_ENOMEM;
	for (i = 0; i < *cap; i++) {
		for (l = (*tab)[i]; l != NULL; l = next) {
			next = *lk_link(l, by_file);
			b = lk_bucket(l, by_file, ncap);
			*lk_link(l, by_file) = nt[b];
			nt[b] = l;
		}
	}
	free(*tab);
	*tab = nt;
	*cap = ncap;
	return 0;
}

static struct node *
node_find_h(struct lock_table *t, const char *path, size_t len, uint64_t h)
{
	struct node *n;

	if (t->nodes_cap == 0)
		return NULL;
	for (n = t->nodes[h & (t->nodes_cap - 1)]; n != NULL; n = n->hnext)
		if (n->hash == h && n->len == len &&
		    memcmp(n->path, path, len) == 0)
			return n;
	return NULL;
}

static struct node *
node_find(struct lock_table *t, const char *path, size_t len)
{
	return node_find_h(t, path, len, fnv(path, len));
}

/* Free n and its ancestors while they hold nothing. */
static void
node_release(struct lock_table *t, struct node *n)
{
	struct node **pp, *p;

	while (n != NULL && n->refs == 0) {
		for (pp = &t->nodes[n->hash & (t->nodes_cap - 1)]; *pp != n;
		     pp = &(*pp)->hnext)
			;
		*pp = n->hnext;
		t->nnodes--;
		p = n->parent;
		if (p != NULL) {
			if (n->kprev != NULL)
				n->kprev->knext = n->knext;
			else
				p->kids = n->knext;
			if (n->knext != NULL)
				n->knext->kprev = n->kprev;
			p->refs--;
		}
		free(n->path);
		free(n);
		n = p;
	}
}

/* The node for path[0..len), created with its ancestors if needed. */
static struct node *
node_get(struct lock_table *t, const char *path, size_t len)
{
	struct node *n, *p = NULL;
	uint64_t h = fnv(path, len);
	size_t b;

	n = node_find_h(t, path, len, h);
	if (n != NULL)
		return n;
	if (len > 0 && (p = node_get(t, path, parent_len(path, len))) == NULL)
		return NULL;
	if (nodes_grow(t, t->nnodes + 1) < 0 ||
	    (n = calloc(1, sizeof(*n))) == NULL ||
	    (n->path = strndup(path, len)) == NULL) {
		free(n);
		if (p != NULL)
			node_release(t, p);
		return NULL;
	}
	n->len = len;
	n->hash = h;
	n->parent = p;
	if (p != NULL) {
		n->knext = p->kids;
		if (p->kids != NULL)
			p->kids->kprev = n;
		p->kids = n;
		p->refs++;
	}
	b = h & (t->nodes_cap - 1);
	n->hnext = t->nodes[b];
	t->nodes[b] = n;
	t->nnodes++;
	return n;
}

static struct lk *
id_find(struct lock_table *t, uint64_t id)
{
	struct lk *l;

	if (t->ids_cap == 0)
		return NULL;
	for (l = t->ids[id_bucket(id, t->ids_cap)]; l != NULL; l = l->id_next)
		if (l->id == id)
			return l;
	return NULL;
}

/* Put l (with id, holder, flags set) on node n and in the id hash. */
static int
attach(struct lock_table *t, struct lk *l, struct node *n)
{
	size_t b;

	if (lks_grow(t, 0, t->nlocks + 1) < 0 ||
	    (l->has_file && lks_grow(t, 1, t->nfiles + 1) < 0))
		return SN_ENOMEM;
	b = id_bucket(l->id, t->ids_cap);
	l->id_next = t->ids[b];
	t->ids[b] = l;
	if (l->has_file) {
		b = file_bucket(l->fdev, l->fino, t->files_cap);
		l->f_next = t->files[b];
		t->files[b] = l;
		t->nfiles++;
	}
	l->node = n;
	l->prev = NULL;
	l->next = n->locks;
	if (n->locks != NULL)
		n->locks->prev = l;
	n->locks = l;
	n->refs++;
	if (l->subtree)
		n->nsub++;
	__atomic_store_n(&t->nlocks, t->nlocks + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Take l off its node (freeing nodes left empty) and out of the id hash. */
static void
detach(struct lock_table *t, struct lk *l)
{
	struct node *n = l->node;
	struct lk **pp;

	for (pp = &t->ids[id_bucket(l->id, t->ids_cap)]; *pp != l;
	     pp = &(*pp)->id_next)
		;
	*pp = l->id_next;
	if (l->has_file) {
		for (pp =
		         &t->files[file_bucket(l->fdev, l->fino, t->files_cap)];
		     *pp != l; pp = &(*pp)->f_next)
			;
		*pp = l->f_next;
		t->nfiles--;
	}
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		n->locks = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	if (l->subtree)
		n->nsub--;
	n->refs--;
	l->node = NULL;
	__atomic_store_n(&t->nlocks, t->nlocks - 1, __ATOMIC_RELEASE);
	node_release(t, n);
}

static void
lk_free(struct lk *l)
{
	if (l != NULL)
		free(l->holder);
	free(l);
}

static void
info_fill(struct lock_info *o, const struct lk *l)
{
	if (o == NULL)
		return;
	o->id = l->id;
	o->token = l->id;
	o->subtree = l->subtree;
	o->lease = l->lease;
	o->refs = l->lease ? l->refs : 1;
	o->expires_ns = l->lease ? 0 : l->exp_real;
	o->created_ns = l->created;
	snprintf(o->holder, sizeof(o->holder), "%s", l->holder);
	snprintf(o->path, sizeof(o->path), "%s", l->node->path);
}

/* The next fencing token (see lock.h). */
static int
next_token(struct lock_table *t, uint64_t *tok)
{
	uint64_t e;
	int r;

	if (t->counter + 1 >= (1ULL << TOKEN_BITS)) {
		if (t->db != NULL) {
			r = db_counter_next(t->db, EPOCH_NAME, &e);
			if (r < 0)
				return r;
		} else {
			e = t->epoch + 1;
		}
		if (e <= t->epoch || e > EPOCH_MAX)
			return SN_ERANGE;
		t->epoch = e;
		t->counter = 0;
	}
	*tok = t->epoch << TOKEN_BITS | ++t->counter;
	return 0;
}

/* ---- conflicts ---------------------------------------------------------- */

/* The first live lock of another holder on a node strictly below top. */
static struct lk *
conflict_below(struct node *top, const char *holder, int64_t now)
{
	struct node *n = top->kids;
	struct lk *l;

	while (n != NULL) {
		for (l = n->locks; l != NULL; l = l->next)
			if (live(l, now) && other(l, holder))
				return l;
		if (n->kids != NULL) {
			n = n->kids;
			continue;
		}
		while (n != top && n->knext == NULL)
			n = n->parent;
		n = n != top ? n->knext : NULL;
	}
	return NULL;
}

/*
 * The first live lock of another holder that covers path[0..len): on the
 * path itself, a subtree lock on an ancestor, and with subtree anything
 * below.  O(depth) lookups up to the first node that exists, then parent
 * pointers.
 */
static struct lk *
find_conflict(struct lock_table *t, const char *path, size_t len,
    const char *holder, int subtree, int64_t now)
{
	struct node *n;
	struct lk *l;
	size_t plen = len;
	int exact = 1;

	while ((n = node_find(t, path, plen)) == NULL) {
		if (plen == 0)
			return NULL; /* no root: no lock at all */
		plen = parent_len(path, plen);
		exact = 0;
	}
	if (exact) {
		for (l = n->locks; l != NULL; l = l->next)
			if (live(l, now) && other(l, holder))
				return l;
		if (subtree && (l = conflict_below(n, holder, now)) != NULL)
			return l;
		n = n->parent;
	}
	for (; n != NULL; n = n->parent) {
		if (n->nsub == 0)
			continue;
		for (l = n->locks; l != NULL; l = l->next)
			if (l->subtree && live(l, now) && other(l, holder))
				return l;
	}
	return NULL;
}

/* A lease of another holder on the file f, under any name. */
static struct lk *
file_conflict(struct lock_table *t, const struct lock_file *f,
    const char *holder)
{
	struct lk *l;

	if (f == NULL || t->nfiles == 0)
		return NULL;
	for (l = t->files[file_bucket(f->dev, f->ino, t->files_cap)]; l != NULL;
	     l = l->f_next)
		if (l->fdev == f->dev && l->fino == f->ino && other(l, holder))
			return l;
	return NULL;
}

static int
same_file(const struct lk *l, const struct lock_file *f)
{
	if (f == NULL)
		return !l->has_file;
	return l->has_file && l->fdev == f->dev && l->fino == f->ino;
}

/* Drop expired explicit locks (memory and database); the count. */
static size_t
reap(struct lock_table *t, int64_t now)
{
	struct lk *l, *next;
	size_t i, n = 0;

	for (i = 0; i < t->ids_cap; i++) {
		for (l = t->ids[i]; l != NULL; l = next) {
			next = l->id_next;
			if (l->lease || live(l, now))
				continue;
			if (t->db != NULL && db_lock_delete(t->db, l->id) < 0)
				log_warn("cannot delete expired lock %llu: %s",
				    (unsigned long long)l->id,
				    db_errmsg(t->db));
			detach(t, l);
			lk_free(l);
			n++;
		}
	}
	return n;
}

/* ---- open/close --------------------------------------------------------- */

struct load {
	struct lock_table *t;
	int64_t now_mono, now_real;
	uint64_t max_token;
	int err;
};

static int
load_row(const struct db_lock_row *row, void *arg)
{
	struct load *ld = arg;
	struct lk *l;
	struct node *n;
	size_t len;

	if (path_ok(row->path, LOCK_PATH_MAX, &len) < 0 ||
	    !holder_ok(row->holder) || row->id == 0 ||
	    id_find(ld->t, row->id) != NULL) {
		log_warn("ignoring bad lock row %llu",
		    (unsigned long long)row->id);
		return 0;
	}
	if (row->token > ld->max_token)
		ld->max_token = row->token;
	if (row->id > ld->max_token)
		ld->max_token = row->id;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->holder = strdup(row->holder)) == NULL ||
	    (n = node_get(ld->t, row->path, len)) == NULL) {
		lk_free(l);
		return SN_ENOMEM;
	}
	l->id = row->id;
	l->subtree = row->subtree;
	l->exp_real = row->expires_ns;
	l->exp_mono = ld->now_mono + (row->expires_ns - ld->now_real);
	if (l->exp_mono <= 0)
		l->exp_mono = 1; /* expired, never "no expiry" */
	l->created = row->created_ns;
	if (attach(ld->t, l, n) < 0) {
		node_release(ld->t, n);
		lk_free(l);
		return SN_ENOMEM;
	}
	return 0;
}

static int
load(struct lock_table *t)
{
	struct load ld;
	uint64_t epoch;
	int r;

	memset(&ld, 0, sizeof(ld));
	ld.t = t;
	ld.now_real = clock_ns(CLOCK_REALTIME);
	ld.now_mono = clock_ns(CLOCK_MONOTONIC);
	if ((r = db_counter_next(t->db, EPOCH_NAME, &epoch)) < 0 ||
	    (r = db_lock_delete_expired(t->db, ld.now_real, NULL)) < 0)
		goto out;
	r = db_lock_each(t->db, load_row, &ld);
	if (r < 0)
		goto out;
	/* Never below a token already given, whatever the counter says. */
	if ((ld.max_token >> TOKEN_BITS) >= epoch) {
		epoch = (ld.max_token >> TOKEN_BITS) + 1;
		if ((r = db_counter_raise(t->db, EPOCH_NAME, epoch)) < 0)
			goto out;
	}
	if (epoch > EPOCH_MAX) {
		r = SN_ERANGE;
		goto out;
	}
	t->epoch = epoch;
	r = 0;
out:
	if (r == SN_EIO)
		log_error("lock table: %s", db_errmsg(t->db));
	return r;
}

int
lock_table_open(const char *db_path, struct lock_table **out)
{
	struct lock_table *t;
	pthread_rwlockattr_t at;
	int r;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return SN_ENOMEM;
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	r = pthread_rwlock_init(&t->rw, &at);
	pthread_rwlockattr_destroy(&at);
	if (r != 0) {
		free(t);
		return SN_ENOMEM;
	}
	t->epoch = 1;
	if (db_path != NULL) {
		r = db_open(db_path, DB_CREATE, &t->db);
		if (r < 0) {
			log_error("lock table %s: %s", db_path, err_str(r));
			goto out;
		}
		if ((r = load(t)) < 0)
			goto out;
	}
	*out = t;
	return 0;
out:
	lock_table_close(t);
	return r;
}

void
lock_table_close(struct lock_table *t)
{
	struct node *n, *nn;
	struct lk *l, *nl;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ids_cap; i++)
		for (l = t->ids[i]; l != NULL; l = nl) {
			nl = l->id_next;
			lk_free(l);
		}
	for (i = 0; i < t->nodes_cap; i++)
		for (n = t->nodes[i]; n != NULL; n = nn) {
			nn = n->hnext;
			free(n->path);
			free(n);
		}
	free(t->ids);
	free(t->files);
	free(t->nodes);
	db_close(t->db);
	pthread_rwlock_destroy(&t->rw);
	free(t);
}

/* ---- explicit locks ----------------------------------------------------- */

static int
persist(struct lock_table *t, const struct lk *l)
{
	struct db_lock_row row;

	if (t->db == NULL)
		return 0;
	row.id = l->id;
	row.path = l->node->path;
	row.holder = l->holder;
	row.subtree = l->subtree;
	row.token = l->id;
	row.expires_ns = l->exp_real;
	row.created_ns = l->created;
	if (db_lock_put(t->db, &row) < 0) {
		log_error("cannot persist lock %llu: %s",
		    (unsigned long long)l->id, db_errmsg(t->db));
		return SN_EIO;
	}
	return 0;
}

/* Set l's expiry to now + ttl and persist it; unchanged on failure. */
static int
extend(struct lock_table *t, struct lk *l, int64_t ttl_ms)
{
	int64_t om = l->exp_mono, orl = l->exp_real;

	l->exp_mono = clock_ns(CLOCK_MONOTONIC) + ttl_ms * NS_PER_MS;
	l->exp_real = clock_ns(CLOCK_REALTIME) + ttl_ms * NS_PER_MS;
	if (persist(t, l) < 0) {
		l->exp_mono = om;
		l->exp_real = orl;
		return SN_EIO;
	}
	return 0;
}

int
lock_acquire(struct lock_table *t, const char *relpath, const char *holder,
    int subtree, int64_t ttl_ms, struct lock_info *out)
{
	struct node *n;
	struct lk *l, *c;
	size_t len;
	int64_t now;
	int r;

	if ((r = path_ok(relpath, LOCK_PATH_MAX, &len)) < 0)
		return r;
	if (!holder_ok(holder) || !ttl_ok(ttl_ms))
		return SN_EINVAL;
	subtree = subtree ? 1 : 0;
	pthread_rwlock_wrlock(&t->rw);
	now = clock_ns(CLOCK_MONOTONIC);
	reap(t, now);
	n = node_find(t, relpath, len);
	for (l = n != NULL ? n->locks : NULL; l != NULL; l = l->next) {
		if (!l->lease && l->subtree == subtree &&
		    strcmp(l->holder, holder) == 0) {
			if ((r = extend(t, l, ttl_ms)) == 0)
				info_fill(out, l);
			goto out;
		}
	}
	c = find_conflict(t, relpath, len, holder, subtree, now);
	if (c != NULL) {
		info_fill(out, c);
		r = SN_EBUSY;
		goto out;
	}
	r = SN_ENOMEM;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->holder = strdup(holder)) == NULL ||
	    (n = node_get(t, relpath, len)) == NULL) {
		lk_free(l);
		goto out;
	}
	if ((r = next_token(t, &l->id)) < 0) {
		node_release(t, n);
		lk_free(l);
		goto out;
	}
	l->subtree = subtree;
	l->refs = 1;
	l->created = clock_ns(CLOCK_REALTIME);
	l->exp_real = l->created + ttl_ms * NS_PER_MS;
	l->exp_mono = now + ttl_ms * NS_PER_MS;
	if ((r = attach(t, l, n)) < 0) {
		node_release(t, n);
		lk_free(l);
		goto out;
	}
	if ((r = persist(t, l)) < 0) {
		detach(t, l);
		lk_free(l);
		goto out;
	}
	info_fill(out, l);
out:
	pthread_rwlock_unlock(&t->rw);
	return r;
}

/* The live explicit lock id of holder (NULL = anyone), or an error; an
 * expired one is reaped on the way. */
static int
find_explicit(struct lock_table *t, uint64_t id, const char *holder,
    struct lk **out)
{
	struct lk *l = id_find(t, id);

	*out = NULL;
	if (l == NULL || l->lease)
		return SN_ENOENT;
	if (holder != NULL && strcmp(l->holder, holder) != 0)
		return SN_EPERM;
	if (!live(l, clock_ns(CLOCK_MONOTONIC))) {
		if (t->db != NULL)
			(void)db_lock_delete(t->db, l->id);
		detach(t, l);
		lk_free(l);
		return SN_ENOENT;
	}
	*out = l;
	return 0;
}

int
lock_release(struct lock_table *t, uint64_t id, const char *holder)
{
	struct lk *l;
	int r;

	pthread_rwlock_wrlock(&t->rw);
	if ((r = find_explicit(t, id, holder, &l)) < 0)
		goto out;
	if (t->db != NULL && db_lock_delete(t->db, id) < 0) {
		log_error("cannot delete lock %llu: %s", (unsigned long long)id,
		    db_errmsg(t->db));
		r = SN_EIO;
		goto out;
	}
	detach(t, l);
	lk_free(l);
out:
	pthread_rwlock_unlock(&t->rw);
	return r;
}

int
lock_renew(struct lock_table *t, uint64_t id, const char *holder,
    int64_t ttl_ms, struct lock_info *out)
{
	struct lk *l;
	int r;

	if (!ttl_ok(ttl_ms))
		return SN_EINVAL;
	pthread_rwlock_wrlock(&t->rw);
	if ((r = find_explicit(t, id, holder, &l)) < 0)
		goto out;
	if ((r = extend(t, l, ttl_ms)) == 0)
		info_fill(out, l);
out:
	pthread_rwlock_unlock(&t->rw);
	return r;
}

static int
by_id(const void *a, const void *b)
{
	const struct lock_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
lock_list(struct lock_table *t, struct lock_info **out, size_t *n)
{
	struct lock_info *v = NULL;
	struct lk *l;
	size_t i, k = 0, cnt = 0;
	int64_t now;

	*out = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&t->rw);
	now = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < t->ids_cap; i++)
		for (l = t->ids[i]; l != NULL; l = l->id_next)
			cnt += live(l, now);
	if (cnt > 0 && (v = calloc(cnt, sizeof(*v))) == NULL) {
		pthread_rwlock_unlock(&t->rw);
		return SN_ENOMEM;
	}
	for (i = 0; i < t->ids_cap; i++)
		for (l = t->ids[i]; l != NULL; l = l->id_next)
			if (live(l, now))
				info_fill(&v[k++], l);
	pthread_rwlock_unlock(&t->rw);
	if (k > 1)
		qsort(v, k, sizeof(*v), by_id);
	*out = v;
	*n = k;
	return 0;
}

int
lock_reap(struct lock_table *t, size_t *n)
{
	size_t k;

	pthread_rwlock_wrlock(&t->rw);
	k = reap(t, clock_ns(CLOCK_MONOTONIC));
	pthread_rwlock_unlock(&t->rw);
	if (n != NULL)
		*n = k;
	return 0;
}

/* ---- the hot path ------------------------------------------------------- */

int
lock_check(struct lock_table *t, const char *relpath, const char *holder,
    int subtree, struct lock_info *conflict)
{
	return lock_check_file(t, relpath, NULL, holder, subtree, conflict);
}

int
lock_check_file(struct lock_table *t, const char *relpath,
    const struct lock_file *f, const char *holder, int subtree,
    struct lock_info *conflict)
{
	struct lk *c;
	size_t len;
	int r;

	if ((r = path_ok(relpath, (size_t)-2, &len)) < 0)
		return r;
	if (__atomic_load_n(&t->nlocks, __ATOMIC_ACQUIRE) == 0)
		return 0;
	pthread_rwlock_rdlock(&t->rw);
	c = find_conflict(t, relpath, len, holder, subtree,
	    clock_ns(CLOCK_MONOTONIC));
	if (c == NULL)
		c = file_conflict(t, f, holder);
	if (c != NULL) {
		info_fill(conflict, c);
		r = SN_EBUSY;
	}
	pthread_rwlock_unlock(&t->rw);
	return r;
}

int
lock_lease_acquire(struct lock_table *t, const char *relpath,
    const char *holder, uint64_t *lease_id, struct lock_info *conflict)
{
	return lock_lease_acquire_file(t, relpath, NULL, holder, lease_id,
	    conflict);
}

int
lock_lease_acquire_file(struct lock_table *t, const char *relpath,
    const struct lock_file *f, const char *holder, uint64_t *lease_id,
    struct lock_info *conflict)
{
	struct node *n;
	struct lk *l, *c;
	size_t len;
	int r;

	*lease_id = 0;
	if ((r = path_ok(relpath, LOCK_PATH_MAX, &len)) < 0)
		return r;
	if (!holder_ok(holder))
		return SN_EINVAL;
	pthread_rwlock_wrlock(&t->rw);
	c = find_conflict(t, relpath, len, holder, 0,
	    clock_ns(CLOCK_MONOTONIC));
	if (c == NULL)
		c = file_conflict(t, f, holder);
	if (c != NULL) {
		info_fill(conflict, c);
		r = SN_EBUSY;
		goto out;
	}
	n = node_find(t, relpath, len);
	for (l = n != NULL ? n->locks : NULL; l != NULL; l = l->next) {
		if (l->lease && strcmp(l->holder, holder) == 0 &&
		    same_file(l, f)) {
			if (l->refs == ~0u) {
				r = SN_ERANGE;
				goto out;
			}
			l->refs++;
			*lease_id = l->id;
			goto out;
		}
	}
	r = SN_ENOMEM;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->holder = strdup(holder)) == NULL ||
	    (n = node_get(t, relpath, len)) == NULL) {
		lk_free(l);
		goto out;
	}
	l->lease = 1;
	l->refs = 1;
	l->created = clock_ns(CLOCK_REALTIME);
	if (f != NULL) {
		l->has_file = 1;
		l->fdev = f->dev;
		l->fino = f->ino;
	}
	if ((r = next_token(t, &l->id)) < 0 || (r = attach(t, l, n)) < 0) {
		node_release(t, n);
		lk_free(l);
		goto out;
	}
	*lease_id = l->id;
out:
	pthread_rwlock_unlock(&t->rw);
	return r;
}

int
lock_lease_release(struct lock_table *t, uint64_t lease_id)
{
	struct lk *l;
	int r = 0;

	pthread_rwlock_wrlock(&t->rw);
	l = id_find(t, lease_id);
	if (l == NULL || !l->lease) {
		r = SN_ENOENT;
	} else if (--l->refs == 0) {
		detach(t, l);
		lk_free(l);
	}
	pthread_rwlock_unlock(&t->rw);
	return r;
}

int
lock_rename(struct lock_table *t, const char *old_relpath,
    const char *new_relpath)
{
	struct lk **moving = NULL, **nv, *l;
	struct node *top, *n, *dst;
	char path[LOCK_PATH_MAX + 1];
	size_t olen, nlen, cnt = 0, cap = 0, i, rest;
	int r;

	if ((r = path_ok(old_relpath, LOCK_PATH_MAX, &olen)) < 0 ||
	    (r = path_ok(new_relpath, LOCK_PATH_MAX, &nlen)) < 0)
		return r;
	if (olen == nlen && memcmp(old_relpath, new_relpath, olen) == 0)
		return 0;
	/* Into itself or onto an ancestor: no rename does that. */
	if (olen == 0 || nlen == 0 ||
	    (nlen > olen && new_relpath[olen] == '/' &&
	        memcmp(old_relpath, new_relpath, olen) == 0) ||
	    (olen > nlen && old_relpath[nlen] == '/' &&
	        memcmp(old_relpath, new_relpath, nlen) == 0))
		return SN_EINVAL;
	pthread_rwlock_wrlock(&t->rw);
	top = node_find(t, old_relpath, olen);
	/* Collect the leases at top and below (pre-order walk). */
	for (n = top; n != NULL;) {
		for (l = n->locks; l != NULL; l = l->next) {
			if (!l->lease)
				continue;
			if (cnt == cap) {
				cap = cap != 0 ? cap * 2 : 16;
				nv = realloc(moving, cap * sizeof(*nv));
				if (nv == NULL) {
					r = SN_ENOMEM;
					goto out;
				}
				moving = nv;
			}
			moving[cnt++] = l;
		}
		if (n->kids != NULL) {
			n = n->kids;
			continue;
		}
		while (n != top && n->knext == NULL)
			n = n->parent;
		n = n != top ? n->knext : NULL;
	}
	for (i = 0; i < cnt; i++) {
		l = moving[i];
		rest = l->node->len - olen; /* "" or "/..." */
		if (nlen + rest > LOCK_PATH_MAX) {
			log_warn("lease %llu: %s is too long to follow a "
			         "rename; it stays on %s",
			    (unsigned long long)l->id, new_relpath,
			    l->node->path);
			continue;
		}
		memcpy(path, new_relpath, nlen);
		memcpy(path + nlen, l->node->path + olen, rest);
		path[nlen + rest] = '\0';
		dst = node_get(t, path, nlen + rest);
		if (dst == NULL) {
			r = SN_ENOMEM;
			goto out;
		}
		/* Re-link l: off its node, onto dst (no allocation). */
		dst->refs++; /* keep dst while l's old node is released */
		detach(t, l);
		r = attach(t, l, dst);
		dst->refs--;
		if (r < 0) {
			lk_free(l);
			node_release(t, dst);
			goto out;
		}
	}
out:
	pthread_rwlock_unlock(&t->rw);
	free(moving);
	return r;
}
