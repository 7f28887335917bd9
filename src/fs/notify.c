/*
 * notify.c - cross-view kernel cache invalidation (see fs.h).
 *
 * Lock order: g->m is never held while a notification is written to the
 * kernel; the view list is walked under g->vm (a separate mutex that the
 * notifier holds while it notifies, and that fsgroup_add/remove take).
 * No handler takes g->vm.  A handler that waits (fsgroup_wait) holds no
 * lock of ours.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "fs/fs.h"

#define NQ_MAX 65536 /* queued changes before producers wait */

struct nreq {
	struct nreq *next;
	struct sn_fs *origin;
	uint64_t seq;
	dev_t dev;
	ino_t ino;
	char *name; /* NULL: inode invalidation */
};

struct fsgroup {
	pthread_mutex_t m;      /* protects the queue and the counters */
	pthread_cond_t cv_work; /* queue not empty / stopping */
	pthread_cond_t cv_done; /* done_seq advanced / room in the queue */
	struct nreq *head, *tail;
	size_t qlen;
	uint64_t enq_seq, done_seq;
	int stop;
	pthread_t thread;
	int started;
	pthread_mutex_t vm; /* protects views list */
	struct sn_fs *views;
	atomic_int nviews;
};

/*
 * With the writeback cache the kernel trusts its own size and mtime of a
 * regular file over ours, and an inode invalidation does not change
 * that.  Dropping the view's dentry lets the kernel evict the inode (FUSE
 * inodes go when their last reference does), so the next lookup builds
 * it afresh from the backing file.  A view that holds the file open
 * keeps the inode, and its size, until it closes it.
 */
static void
drop_dentry(struct sn_fs *fs, struct inode *in)
{
	struct inode *parent;
	char name[NAME_MAX + 1];

	if (inode_name(fs->itab, in, &parent, name, sizeof(name)) < 0)
		return;
	(void)fuse_lowlevel_notify_inval_entry(fs->se, fs_nodeid(fs, parent),
	    name, strlen(name));
	inode_unref(fs->itab, parent);
}

static void
send_one(struct fsgroup *g, struct nreq *r)
{
	struct sn_fs *fs;

	pthread_mutex_lock(&g->vm);
	for (fs = g->views; fs != NULL; fs = fs->gnext) {
		struct inode *in;
		int e;

		if (fs == r->origin)
			continue;
		in = inode_find(fs->itab, r->dev, r->ino);
		if (in == NULL)
			continue; /* that view never saw it: nothing cached */
		if (r->name != NULL) {
			e = fuse_lowlevel_notify_inval_entry(fs->se,
			    fs_nodeid(fs, in), r->name, strlen(r->name));
		} else {
			e = fuse_lowlevel_notify_inval_inode(fs->se,
			    fs_nodeid(fs, in), 0, 0);
			if (S_ISREG(in->type) && fs->writeback)
				drop_dentry(fs, in);
		}
		if (e < 0 && e != -ENOENT)
			log_debug("view %s: invalidation: %s", fs->name,
			    strerror(-e));
		if (in != inode_root(fs->itab))
			inode_unref(fs->itab, in);
	}
	pthread_mutex_unlock(&g->vm);
}

static void *
notifier(void *arg)
{
	struct fsgroup *g = arg;
	struct nreq *r;

	pthread_mutex_lock(&g->m);
	for (;;) {
		while (g->head == NULL && !g->stop)
			pthread_cond_wait(&g->cv_work, &g->m);
		if (g->head == NULL && g->stop)
			break;
		r = g->head;
		g->head = r->next;
		if (g->head == NULL)
			g->tail = NULL;
		g->qlen--;
		pthread_mutex_unlock(&g->m);
		send_one(g, r);
		pthread_mutex_lock(&g->m);
		g->done_seq = r->seq;
		pthread_cond_broadcast(&g->cv_done);
		free(r->name);
		free(r);
	}
	pthread_mutex_unlock(&g->m);
	return NULL;
}

int
fsgroup_new(struct fsgroup **out)
{
	struct fsgroup *g;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return SN_ENOMEM;
	pthread_mutex_init(&g->m, NULL);
	pthread_mutex_init(&g->vm, NULL);
	pthread_cond_init(&g->cv_work, NULL);
	pthread_cond_init(&g->cv_done, NULL);
	if (pthread_create(&g->thread, NULL, notifier, g) != 0) {
		fsgroup_free(g);
		return SN_ESYS;
	}
	g->started = 1;
	*out = g;
	return 0;
}

void
fsgroup_free(struct fsgroup *g)
{
	struct nreq *r, *next;

	if (g == NULL)
		return;
	if (g->started) {
		pthread_mutex_lock(&g->m);
		g->stop = 1;
		pthread_cond_broadcast(&g->cv_work);
		pthread_mutex_unlock(&g->m);
		pthread_join(g->thread, NULL);
	}
	for (r = g->head; r != NULL; r = next) {
		next = r->next;
		free(r->name);
		free(r);
	}
	pthread_cond_destroy(&g->cv_work);
	pthread_cond_destroy(&g->cv_done);
	pthread_mutex_destroy(&g->m);
	pthread_mutex_destroy(&g->vm);
	free(g);
}

void
fsgroup_add(struct fsgroup *g, struct sn_fs *fs)
{
	pthread_mutex_lock(&g->vm);
	fs->gnext = g->views;
	g->views = fs;
	atomic_fetch_add(&g->nviews, 1);
	pthread_mutex_unlock(&g->vm);
}

void
fsgroup_remove(struct fsgroup *g, struct sn_fs *fs)
{
	struct sn_fs **pp;

	pthread_mutex_lock(&g->vm);
	for (pp = &g->views; *pp != NULL; pp = &(*pp)->gnext) {
		if (*pp == fs) {
			*pp = fs->gnext;
			atomic_fetch_sub(&g->nviews, 1);
			break;
		}
	}
	pthread_mutex_unlock(&g->vm);
}

static uint64_t
enqueue(struct fsgroup *g, struct sn_fs *origin, dev_t dev, ino_t ino,
    const char *name)
{
	struct nreq *r;
	uint64_t seq;

	if (g == NULL || atomic_load(&g->nviews) < (origin != NULL ? 2 : 1))
		return 0; /* nobody else to tell: costs nothing */
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return 0;
	if (name != NULL) {
		r->name = strdup(name);
		if (r->name == NULL) {
			free(r);
			return 0;
		}
	}
	r->origin = origin;
	r->dev = dev;
	r->ino = ino;
	pthread_mutex_lock(&g->m);
	while (g->qlen >= NQ_MAX && !g->stop)
		pthread_cond_wait(&g->cv_done, &g->m);
	seq = r->seq = ++g->enq_seq;
	if (g->tail != NULL)
		g->tail->next = r;
	else
		g->head = r;
	g->tail = r;
	g->qlen++;
	pthread_cond_signal(&g->cv_work);
	pthread_mutex_unlock(&g->m);
	return seq;
}

uint64_t
fsgroup_inval_entry(struct fsgroup *g, struct sn_fs *origin, dev_t pdev,
    ino_t pino, const char *name)
{
	return enqueue(g, origin, pdev, pino, name);
}

uint64_t
fsgroup_inval_inode(struct fsgroup *g, struct sn_fs *origin, dev_t dev,
    ino_t ino)
{
	return enqueue(g, origin, dev, ino, NULL);
}

void
fsgroup_wait(struct fsgroup *g, uint64_t ticket, int timeout_ms)
{
	struct timespec dl;

	if (g == NULL || ticket == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->m);
	while (g->done_seq < ticket && !g->stop) {
		if (pthread_cond_timedwait(&g->cv_done, &g->m, &dl) ==
		    ETIMEDOUT) {
			log_debug("invalidation %llu still pending after %d ms",
			    (unsigned long long)ticket, timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&g->m);
}
