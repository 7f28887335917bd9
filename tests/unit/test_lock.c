/*
 * test_lock.c - the lock table (src/core/lock.c): conflicts between
 * exact and subtree locks, release, renew, expiry, reaping, persistence
 * and fencing tokens across restarts, implicit leases, rename, threads.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/lock.h"
#include "core/log.h"
#include "tap.h"

#define MIN_MS (60 * 1000)

static char topdir[] = "/tmp/sn-test-lock-XXXXXX";

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t
now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
test_conflicts(void)
{
	struct lock_table *t;
	struct lock_info li, c;
	int64_t before = now_real();

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	is_int(lock_acquire(t, "a/b", "alice", 0, MIN_MS, &li), 0,
	    "alice locks a/b");
	ok(li.id != 0 && li.token == li.id && !li.subtree && !li.lease &&
	        strcmp(li.holder, "alice") == 0 && strcmp(li.path, "a/b") == 0,
	    "lock info: id, token, holder, path");
	ok(li.expires_ns >= before + MIN_MS * 1000000LL &&
	        li.expires_ns <= now_real() + MIN_MS * 1000000LL,
	    "expiry is now + ttl (realtime)");
	is_int(lock_acquire(t, "a/b", "bob", 0, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock a/b");
	ok(strcmp(c.holder, "alice") == 0 && c.id == li.id &&
	        c.expires_ns == li.expires_ns,
	    "the conflict names alice, her lock and its expiry");
	is_int(lock_acquire(t, "a", "bob", 1, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock the subtree a (a descendant is locked)");
	is_int(lock_acquire(t, "", "bob", 1, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock the whole workspace");
	is_int(lock_acquire(t, "a", "bob", 0, MIN_MS, &c), 0,
	    "bob may lock the file a (no subtree)");
	is_int(lock_acquire(t, "a/b/c", "bob", 0, MIN_MS, &c), 0,
	    "an exact lock on a/b does not cover a/b/c");
	is_int(lock_acquire(t, "a/bc", "carol", 0, MIN_MS, &c), 0,
	    "a/bc is not a/b");

	is_int(lock_acquire(t, "src", "alice", 1, MIN_MS, &li), 0,
	    "alice locks the subtree src");
	is_int(lock_acquire(t, "src/x/y.c", "bob", 0, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock beneath it");
	ok(strcmp(c.path, "src") == 0 && c.subtree, "conflict: the subtree");
	is_int(lock_acquire(t, "src", "bob", 0, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock src itself");
	is_int(lock_acquire(t, "srcfoo", "bob", 0, MIN_MS, &c), 0,
	    "srcfoo is not beneath src");
	is_int(lock_acquire(t, "src/own", "alice", 0, MIN_MS, &c), 0,
	    "alice may lock beneath her own subtree");

	is_int(lock_check(t, "src/x/y.c", "bob", 0, &c), SN_EBUSY,
	    "check: bob may not change src/x/y.c");
	is_str(c.holder, "alice", "check: the holder");
	is_int(lock_check(t, "src/x/y.c", "alice", 0, NULL), 0,
	    "check: alice may");
	is_int(lock_check(t, "docs/x", "bob", 0, NULL), 0,
	    "check: an unlocked path");
	is_int(lock_check(t, "a", "carol", 0, NULL), SN_EBUSY,
	    "check: bob's exact lock on a");
	is_int(lock_check(t, "a/x", "carol", 0, NULL), 0,
	    "check: ...covers a alone");
	is_int(lock_check(t, "a/x", "carol", 1, NULL), 0,
	    "check: subtree a/x (nothing below)");
	is_int(lock_check(t, "a", "zed", 1, &c), SN_EBUSY,
	    "check subtree: a lock below a");
	is_int(lock_check(t, "", "zed", 1, NULL), SN_EBUSY,
	    "check subtree of the root: any lock");
	is_int(lock_check(t, "", "zed", 0, NULL), 0,
	    "check the root alone: no lock on it");
	is_int(lock_check(t, "x", NULL, 0, NULL), 0, "check, no holder");
	is_int(lock_check(t, "a/b", NULL, 0, NULL), SN_EBUSY,
	    "holder NULL conflicts with every lock");
	lock_table_close(t);
}

static void
test_release_renew(void)
{
	struct lock_table *t;
	struct lock_info li, l2, c;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	lock_acquire(t, "f", "alice", 0, MIN_MS, &li);
	is_int(lock_release(t, li.id, "bob"), SN_EPERM,
	    "bob cannot release alice's lock");
	is_int(lock_renew(t, li.id, "bob", MIN_MS, NULL), SN_EPERM,
	    "nor renew it");
	sleep_ms(5);
	ok(lock_renew(t, li.id, "alice", 2 * MIN_MS, &l2) == 0 &&
	        l2.id == li.id && l2.expires_ns > li.expires_ns,
	    "alice renews it: same id, later expiry");
	ok(lock_acquire(t, "f", "alice", 0, MIN_MS, &l2) == 0 &&
	        l2.id == li.id && l2.token == li.token,
	    "re-acquiring the same lock renews it (same id and token)");
	ok(lock_acquire(t, "f", "alice", 1, MIN_MS, &l2) == 0 && l2.id != li.id,
	    "a subtree lock on the same path is another lock");
	lock_release(t, l2.id, "alice");
	is_int(lock_release(t, li.id, "alice"), 0, "alice releases it");
	is_int(lock_release(t, li.id, "alice"), SN_ENOENT, "only once");
	is_int(lock_acquire(t, "f", "bob", 0, MIN_MS, &li), 0,
	    "now bob gets it");
	is_int(lock_release(t, li.id, NULL), 0, "an admin releases anyone's");
	is_int(lock_renew(t, 12345, "bob", MIN_MS, NULL), SN_ENOENT,
	    "renew an unknown id");
	is_int(lock_acquire(t, "f", "bob", 0, 0, &c), SN_EINVAL, "ttl 0");
	is_int(lock_acquire(t, "f", "bob", 0, LOCK_TTL_MAX_MS + 1, &c),
	    SN_EINVAL, "ttl too long");
	is_int(lock_acquire(t, "f", "", 0, MIN_MS, &c), SN_EINVAL,
	    "empty holder");
	lock_table_close(t);
}

static void
test_expiry(void)
{
	struct lock_table *t;
	struct lock_info li, c, *v;
	size_t n, k;
	int r;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	lock_acquire(t, "e", "alice", 1, 60, &li);
	is_int(lock_check(t, "e/x", "bob", 0, NULL), SN_EBUSY,
	    "a short lock holds");
	sleep_ms(120);
	is_int(lock_check(t, "e/x", "bob", 0, NULL), 0,
	    "expired: ignored by checks at once");
	r = lock_list(t, &v, &n);
	ok(r == 0 && n == 0, "and not listed");
	free(v);
	is_int(lock_renew(t, li.id, "alice", MIN_MS, NULL), SN_ENOENT,
	    "an expired lock cannot be renewed");
	lock_acquire(t, "e", "alice", 1, 60, &li);
	sleep_ms(120);
	is_int(lock_acquire(t, "e", "bob", 1, MIN_MS, &c), 0,
	    "bob takes an expired lock's place");
	ok(c.token > li.token, "with a larger token");
	lock_acquire(t, "r1", "alice", 0, 30, &li);
	lock_acquire(t, "r2", "alice", 0, 30, &li);
	lock_acquire(t, "r3", "alice", 0, MIN_MS, &li);
	sleep_ms(80);
	ok(lock_reap(t, &k) == 0 && k == 2, "lock_reap drops 2 expired locks");
	r = lock_list(t, &v, &n);
	ok(r == 0 && n == 2, "two live locks remain");
	free(v);
	lock_table_close(t);
}

static void
test_persist(void)
{
	struct lock_table *t;
	struct lock_info li, keep, c, *v;
	char db[300];
	uint64_t lease, last = 0;
	size_t n;
	int i, mono = 1, r;

	snprintf(db, sizeof(db), "%s/workspace.db", topdir);
	if (lock_table_open(db, &t) < 0) {
		ok(0, "open");
		return;
	}
	lock_acquire(t, "keep/me", "alice", 1, MIN_MS, &keep);
	lock_acquire(t, "short", "alice", 0, 50, &li);
	lock_lease_acquire(t, "open/file", "bob", &lease, NULL);
	last = lease;
	lock_table_close(t);
	sleep_ms(100);
	for (i = 0; i < 3; i++) {
		r = lock_table_open(db, &t);
		if (r < 0)
			break;
		if (i == 0) {
			ok(lock_list(t, &v, &n) == 0 && n == 1 &&
			        v[0].id == keep.id &&
			        strcmp(v[0].path, "keep/me") == 0 &&
			        v[0].subtree &&
			        strcmp(v[0].holder, "alice") == 0 &&
			        v[0].expires_ns == keep.expires_ns,
			    "after a restart: the live lock is back, the "
			    "expired one and the lease are gone");
			free(v);
			is_int(lock_check(t, "keep/me/x", "bob", 0, NULL),
			    SN_EBUSY, "and it is enforced");
			is_int(lock_lease_acquire(t, "open/file", "carol",
			           &lease, NULL),
			    0, "the old lease no longer blocks");
			lock_lease_release(t, lease);
		}
		lock_lease_acquire(t, "x", "bob", &lease, NULL);
		mono &= lease > last;
		last = lease;
		lock_acquire(t, "y", "bob", 0, MIN_MS, &c);
		mono &= c.token > last;
		last = c.token;
		lock_release(t, c.id, "bob");
		lock_table_close(t);
	}
	is_int(r, 0, "three restarts");
	ok(mono,
	    "fencing tokens strictly increase across restarts "
	    "(locks and leases)");
}

static void
test_leases(void)
{
	struct lock_table *t;
	struct lock_info c, li, *v;
	uint64_t l1, l2, l3;
	size_t n;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	is_int(lock_lease_acquire(t, "f.c", "alice", &l1, NULL), 0,
	    "alice opens f.c for writing");
	ok(lock_lease_acquire(t, "f.c", "alice", &l2, NULL) == 0 && l2 == l1,
	    "a second open shares the lease");
	ok(lock_lease_acquire(t, "f.c", "bob", &l3, &c) == SN_EBUSY &&
	        l3 == 0 && strcmp(c.holder, "alice") == 0 && c.lease &&
	        c.refs == 2,
	    "bob cannot open it for writing: alice's lease, 2 refs");
	is_int(lock_check(t, "f.c", "bob", 0, NULL), SN_EBUSY,
	    "bob cannot change it");
	is_int(lock_check(t, "f.c", "alice", 0, NULL), 0, "alice can");
	is_int(lock_acquire(t, "f.c", "bob", 0, MIN_MS, &c), SN_EBUSY,
	    "bob cannot lock it");
	is_int(lock_acquire(t, "", "bob", 1, MIN_MS, &c), SN_EBUSY,
	    "nor the whole workspace");
	is_int(lock_lease_release(t, l1), 0, "one close");
	is_int(lock_check(t, "f.c", "bob", 0, NULL), SN_EBUSY, "still leased");
	is_int(lock_lease_release(t, l1), 0, "the last close");
	is_int(lock_check(t, "f.c", "bob", 0, NULL), 0, "released");
	is_int(lock_lease_release(t, l1), SN_ENOENT, "a stale lease id");

	lock_acquire(t, "d", "alice", 1, MIN_MS, &li);
	is_int(lock_lease_acquire(t, "d/x", "bob", &l1, &c), SN_EBUSY,
	    "no lease under another's subtree lock");
	is_int(lock_lease_acquire(t, "d/x", "alice", &l1, NULL), 0,
	    "a lease under one's own");
	is_int(lock_release(t, l1, "alice"), SN_ENOENT,
	    "lock_release does not drop a lease");
	ok(lock_list(t, &v, &n) == 0 && n == 2 && v[0].id < v[1].id &&
	        v[1].lease && v[1].expires_ns == 0,
	    "lock_list shows the lock and the lease, by id");
	free(v);
	lock_lease_release(t, l1);
	lock_release(t, li.id, "alice");
	ok(lock_list(t, &v, &n) == 0 && n == 0 && v == NULL, "empty again");
	lock_table_close(t);
}

/* Leases on a file cover it under every name (hard links). */
static void
test_file_leases(void)
{
	struct lock_table *t;
	struct lock_info c;
	struct lock_file f = { 2049, 77 }, g = { 2049, 78 }, h = { 2050, 77 };
	uint64_t l1, l2, l3, ids[200];
	int i, all;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	is_int(lock_lease_acquire_file(t, "a/hf", &f, "alice", &l1, NULL), 0,
	    "alice opens a/hf (file 2049:77) for writing");
	ok(lock_check_file(t, "b/hf-link", &f, "bob", 0, &c) == SN_EBUSY &&
	        strcmp(c.holder, "alice") == 0 && c.lease &&
	        strcmp(c.path, "a/hf") == 0 && c.id == l1,
	    "bob cannot change another name of the same file: alice's lease");
	is_int(lock_lease_acquire_file(t, "b/hf-link", &f, "bob", &l2, &c),
	    SN_EBUSY, "nor open it for writing");
	is_int(lock_check_file(t, "b/hf-link", &g, "bob", 0, NULL), 0,
	    "another inode under that name is free");
	is_int(lock_check_file(t, "b/hf-link", &h, "bob", 0, NULL), 0,
	    "the same inode number on another device is free");
	is_int(lock_check_file(t, "b/hf-link", NULL, "bob", 0, NULL), 0,
	    "a change to an unknown file is checked by path alone");
	is_int(lock_check(t, "b/hf-link", "bob", 0, NULL), 0,
	    "lock_check() is by path alone");
	is_int(lock_check_file(t, "b/hf-link", &f, "alice", 0, NULL), 0,
	    "alice may change her own file under any name");
	ok(lock_lease_acquire_file(t, "b/hf-link", &f, "alice", &l2, NULL) ==
	            0 &&
	        l2 != l1,
	    "alice's open of the other name is a lease of its own");
	ok(lock_lease_acquire_file(t, "a/hf", &g, "alice", &l3, NULL) == 0 &&
	        l3 != l1 && l3 != l2,
	    "a new file under a/hf (replaced) gets its own lease");
	lock_lease_release(t, l3);
	ok(lock_lease_acquire_file(t, "a/hf", &f, "alice", &l3, NULL) == 0 &&
	        l3 == l1,
	    "the same file at the same path shares the lease");
	lock_lease_release(t, l3);
	is_int(lock_rename(t, "a", "z"), 0, "rename a -> z");
	ok(lock_check_file(t, "q", &f, "bob", 0, &c) == SN_EBUSY &&
	        strcmp(c.path, "z/hf") == 0,
	    "the lease follows the rename and still covers the file");
	lock_lease_release(t, l1);
	is_int(lock_check_file(t, "q", &f, "bob", 0, &c), SN_EBUSY,
	    "still leased under b/hf-link");
	lock_lease_release(t, l2);
	is_int(lock_check_file(t, "q", &f, "bob", 0, NULL), 0,
	    "free after alice's last close");
	is_int(lock_lease_acquire_file(t, "q", &f, "bob", &l1, NULL), 0,
	    "bob may lease it now");
	lock_lease_release(t, l1);

	/* many files: the file hash grows and shrinks */
	all = 1;
	for (i = 0; i < 200; i++) {
		struct lock_file x = { 1, (uint64_t)i };
		char p[32];

		snprintf(p, sizeof(p), "many/%d", i);
		all &= lock_lease_acquire_file(t, p, &x, "alice", &ids[i],
		           NULL) == 0;
	}
	for (i = 0; i < 200; i++) {
		struct lock_file x = { 1, (uint64_t)i };

		all &= lock_check_file(t, "elsewhere", &x, "bob", 0, NULL) ==
		    SN_EBUSY;
	}
	for (i = 0; i < 200; i++)
		all &= lock_lease_release(t, ids[i]) == 0;
	for (i = 0; i < 200; i++) {
		struct lock_file x = { 1, (uint64_t)i };

		all &= lock_check_file(t, "elsewhere", &x, "bob", 0, NULL) == 0;
	}
	ok(all, "200 leased files: each blocks by identity, then none");
	lock_table_close(t);
}

static void
test_rename(void)
{
	struct lock_table *t;
	struct lock_info li, c, *v;
	uint64_t l1, l2;
	size_t n;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	lock_lease_acquire(t, "dir/a/file", "alice", &l1, NULL);
	lock_lease_acquire(t, "dir/b", "alice", &l2, NULL);
	lock_acquire(t, "dir/a", "carol", 0, MIN_MS, &li);
	is_int(lock_rename(t, "dir", "new"), 0, "rename dir -> new");
	is_int(lock_check(t, "new/a/file", "bob", 0, &c), SN_EBUSY,
	    "the lease followed the file");
	ok(c.id == l1 && strcmp(c.path, "new/a/file") == 0,
	    "same lease id, new path");
	is_int(lock_check(t, "new/b", "bob", 0, NULL), SN_EBUSY,
	    "the other one too");
	is_int(lock_check(t, "dir/a/file", "bob", 0, NULL), 0,
	    "the old path is free");
	is_int(lock_check(t, "dir/a", "bob", 0, NULL), SN_EBUSY,
	    "an explicit lock stays on its name");
	is_int(lock_rename(t, "new/a/file", "top"), 0, "rename a file");
	is_int(lock_check(t, "top", "bob", 0, NULL), SN_EBUSY,
	    "the lease is on top");
	is_int(lock_rename(t, "top", "top/x"), SN_EINVAL, "rename into itself");
	is_int(lock_rename(t, "nothing/here", "else"), 0,
	    "rename without leases");
	is_int(lock_lease_release(t, l1), 0, "release the moved lease");
	is_int(lock_lease_release(t, l2), 0, "and the other");
	lock_release(t, li.id, "carol");
	ok(lock_list(t, &v, &n) == 0 && n == 0, "nothing left");
	free(v);
	lock_table_close(t);
}

static void
test_paths(void)
{
	static const char *const bad[] = { "/abs", "a//b", "a/", "./a", "a/./b",
		"a/..", "..", ".", "a/../b" };
	struct lock_table *t;
	struct lock_info li;
	uint64_t l;
	char *longp;
	size_t i;
	int all = 1;

	if (lock_table_open(NULL, &t) < 0) {
		ok(0, "open");
		return;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lock_acquire(t, bad[i], "a", 0, MIN_MS, &li) != SN_EINVAL ||
		    lock_check(t, bad[i], "a", 0, NULL) != SN_EINVAL ||
		    lock_lease_acquire(t, bad[i], "a", &l, NULL) != SN_EINVAL) {
			diag("accepted: %s", bad[i]);
			all = 0;
		}
	}
	ok(all, "non-canonical paths are refused");
	longp = malloc(LOCK_PATH_MAX + 10);
	memset(longp, 'x', LOCK_PATH_MAX + 9);
	longp[LOCK_PATH_MAX + 9] = '\0';
	longp[1] = '/';
	is_int(lock_acquire(t, longp, "a", 0, MIN_MS, &li), SN_ERANGE,
	    "a lock on a path longer than LOCK_PATH_MAX");
	lock_acquire(t, "x", "a", 1, MIN_MS, &li);
	is_int(lock_check(t, longp, "b", 0, NULL), SN_EBUSY,
	    "check takes any length (and finds the subtree lock on x)");
	free(longp);
	lock_table_close(t);
}

/* ---- threads ------------------------------------------------------------ */

#define NTHREADS 8
#define ROUNDS   3000

struct shared {
	struct lock_table *t;
	int inside; /* holders of "hot" at once (atomic) */
	int overlap;
	int errors;
	uint64_t max_token[NTHREADS];
	int mono[NTHREADS];
};

struct worker {
	struct shared *s;
	int id;
};

static void *
worker(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;
	struct lock_info li;
	char holder[16], path[64], from[32], to[32];
	uint64_t lease, last = 0;
	int i, r;

	snprintf(holder, sizeof(holder), "agent%d", w->id);
	s->mono[w->id] = 1;
	for (i = 0; i < ROUNDS; i++) {
		/* Leases on private files and a shared one. */
		snprintf(path, sizeof(path), "w%d/dir%d/file%d", w->id, i % 7,
		    i % 13);
		if (lock_lease_acquire(s->t, path, holder, &lease, NULL) != 0) {
			__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (lease <= last)
			s->mono[w->id] = 0;
		last = lease;
		if (lock_check(s->t, path, holder, 0, NULL) != 0)
			__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
		if (i % 10 == 0) {
			/* Move the directory, and the lease with it. */
			snprintf(from, sizeof(from), "w%d/dir%d", w->id, i % 7);
			snprintf(to, sizeof(to), "w%d/moved", w->id);
			snprintf(path, sizeof(path), "w%d/moved/file%d", w->id,
			    i % 13);
			if (lock_rename(s->t, from, to) != 0 ||
			    lock_check(s->t, path, "intruder", 0, NULL) !=
			        SN_EBUSY ||
			    lock_rename(s->t, to, from) != 0)
				__atomic_add_fetch(&s->errors, 1,
				    __ATOMIC_RELAXED);
		}
		lock_lease_release(s->t, lease);
		(void)lock_check(s->t, "shared/x/y", holder, 0, NULL);
		(void)lock_check(s->t, "shared", holder, 1, NULL);
		/* Mutual exclusion on an explicit lock. */
		r = lock_acquire(s->t, "shared", holder, 1, MIN_MS, &li);
		if (r == 0) {
			if (__atomic_add_fetch(&s->inside, 1,
			        __ATOMIC_SEQ_CST) != 1)
				__atomic_store_n(&s->overlap, 1,
				    __ATOMIC_SEQ_CST);
			if (li.token <= last)
				s->mono[w->id] = 0;
			last = li.token;
			__atomic_sub_fetch(&s->inside, 1, __ATOMIC_SEQ_CST);
			if (lock_release(s->t, li.id, holder) != 0)
				__atomic_add_fetch(&s->errors, 1,
				    __ATOMIC_RELAXED);
		} else if (r != SN_EBUSY) {
			__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct shared s;
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct lock_info *v;
	size_t n;
	char db[300];
	int i, mono = 1;

	memset(&s, 0, sizeof(s));
	snprintf(db, sizeof(db), "%s/threads.db", topdir);
	if (lock_table_open(db, &s.t) < 0) {
		ok(0, "open");
		return;
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = &s;
		w[i].id = i;
		pthread_create(&th[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		mono &= s.mono[i];
	}
	is_int(s.errors, 0, "%d threads: leases, checks, locks, no error",
	    NTHREADS);
	ok(!s.overlap, "an explicit lock is never held by two at once");
	ok(mono, "each thread sees increasing tokens");
	ok(lock_list(s.t, &v, &n) == 0 && n == 0, "everything released");
	free(v);
	lock_table_close(s.t);
}

static int
rm_rf(const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	        WEXITSTATUS(st) == 0 ?
	    0 :
	    -1;
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_set_level(LOG_LVL_ERROR);
	test_conflicts();
	test_release_renew();
	test_expiry();
	test_persist();
	test_leases();
	test_file_leases();
	test_rename();
	test_paths();
	test_threads();
	rm_rf(topdir);
	return done_testing();
}
