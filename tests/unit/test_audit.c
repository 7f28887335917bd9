/*
 * test_audit.c - the audit pipeline, its chain and its verification
 * (src/core/audit.c, src/core/db.c).
 *
 * Tampering is done with SQL through db_exec(), as someone who can write
 * the database would.  The fail-closed test needs a full filesystem: it
 * mounts a small tmpfs (root only) and skips without one.  The crash test
 * SIGKILLs a child that commits under load.
 */
#include "autoconf.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "tap.h"

static const unsigned char key[AUDIT_KEY_LEN] =
    "0123456789abcdef0123456789abcde";
static const unsigned char key2[AUDIT_KEY_LEN] =
    "another key, not the right one.";

static char topdir[] = "/tmp/sn-test-audit-XXXXXX";
static unsigned ncase;

struct tcase {
	char dir[200];
	char db[300];
	char head[300];
};

static void
tcase_new(struct tcase *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s/c%u", topdir, ++ncase);
	if (mkdir(c->dir, 0700) < 0)
		abort();
	snprintf(c->db, sizeof(c->db), "%s/workspace.db", c->dir);
	snprintf(c->head, sizeof(c->head), "%s/audit.head", c->dir);
}

static struct audit_event
ev(const char *op, const char *path, int n)
{
	struct audit_event e;

	memset(&e, 0, sizeof(e));
	e.workspace = "ws1";
	e.agent = n % 2 ? "alice" : "bob";
	e.source = (enum audit_source)(n % 3);
	e.op = op;
	e.path = path;
	e.result = (enum audit_result)(n % 3);
	e.err = n % 3 == 2 ? EACCES : 0;
	e.bytes = n;
	return e;
}

/* A trail of n events in c; returns 0 on success. */
static int
fill(struct tcase *c, int n, int fail_open)
{
	struct audit *a;
	struct audit_event e;
	char path[64];
	int i, r;

	if ((r = audit_open(c->db, c->head, key, sizeof(key), fail_open, &a)) <
	    0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		snprintf(path, sizeof(path), "src/file%d.c", i);
		e = ev(i % 2 ? "write" : "open", path, i);
		r = audit_emit(a, &e, i % 2);
	}
	audit_close(a);
	return r;
}

static int
sql(struct tcase *c, const char *text)
{
	struct db *db;
	int r;

	if ((r = db_open(c->db, 0, &db)) < 0)
		return r;
	r = db_exec(db, text);
	if (r < 0)
		diag("sql: %s", db_errmsg(db));
	db_close(db);
	return r;
}

static int
verify(struct tcase *c, const unsigned char *k, struct audit_verify_report *rep)
{
	return audit_verify(c->db, c->head, k, AUDIT_KEY_LEN, rep);
}

/* Check that tampering with sql_text on a trail of 10 is caught at bad. */
static void
tampered(const char *what, const char *sql_text, uint64_t bad)
{
	struct audit_verify_report rep;
	struct tcase c;
	int r;

	tcase_new(&c);
	if (fill(&c, 10, 0) < 0 || sql(&c, sql_text) < 0) {
		ok(0, "%s: setup", what);
		return;
	}
	r = verify(&c, key, &rep);
	ok(r == 1 && rep.bad_seq == bad, "%s: broken at seq %" PRIu64, what,
	    bad);
	if (r != 1 || rep.bad_seq != bad)
		diag("r %d bad_seq %" PRIu64 " why %s", r, rep.bad_seq,
		    rep.why);
	else
		diag("  %s", rep.why);
}

static void
test_encoding(void)
{
	struct db_audit_row row;
	unsigned char *enc;
	size_t len;
	int r;
	static const char want[] = "v1"
	                           "1:7,"
	                           "19:1733350000123456789,"
	                           "4:demo,"
	                           "3:dev,"
	                           "2:fs,"
	                           "6:rename,"
	                           "5:a/b.c,"
	                           "5:a/d.c,"
	                           "2:ok,"
	                           "1:0,"
	                           "0:,"
	                           "0:,"
	                           "1:0,"
	                           "1:0,";

	memset(&row, 0, sizeof(row));
	row.seq = 7;
	row.time_ns = 1733350000123456789LL;
	row.workspace = "demo";
	row.agent = "dev";
	row.source = "fs";
	row.op = "rename";
	row.path = "a/b.c";
	row.path2 = "a/d.c";
	row.result = "ok";
	row.rule = "";
	row.trace_id = "";
	r = audit_canonical(&row, &enc, &len);
	ok(r == 0 && len == sizeof(want) - 1 && memcmp(enc, want, len) == 0,
	    "canonical encoding v1 of the documented example");
	free(enc);
	row.err = -1;
	row.bytes = -12;
	row.path = "x,1:y";
	r = audit_canonical(&row, &enc, &len);
	ok(r == 0 && len > 0 && memmem(enc, len, "5:x,1:y,", 8) != NULL &&
	        memmem(enc, len, "2:-1,", 5) != NULL &&
	        memmem(enc, len, "3:-12,", 6) != NULL,
	    "length prefixes make separators in values harmless; negatives");
	free(enc);
	/* the extremes, against the C library's decimal */
	row.seq = UINT64_MAX;
	row.time_ns = INT64_MIN;
	row.bytes = INT64_MAX;
	row.err = 0;
	r = audit_canonical(&row, &enc, &len);
	{
		char w1[64], w2[64], w3[64];

		snprintf(w1, sizeof(w1), "%d:%" PRIu64 ",", 20, UINT64_MAX);
		snprintf(w2, sizeof(w2), "%d:%" PRId64 ",", 20, INT64_MIN);
		snprintf(w3, sizeof(w3), "%d:%" PRId64 ",", 19, INT64_MAX);
		ok(r == 0 && memmem(enc, len, w1, strlen(w1)) != NULL &&
		        memmem(enc, len, w2, strlen(w2)) != NULL &&
		        memmem(enc, len, w3, strlen(w3)) != NULL &&
		        memmem(enc, len, ",1:0,", 5) != NULL,
		    "UINT64_MAX, INT64_MIN, INT64_MAX and 0 in decimal");
	}
	free(enc);
}

/* The worked example of docs/audit.md, byte for byte. */
static void
test_doc_example(void)
{
	static const char want_hash[] =
	    "be88b64e6c292568bd2c5202852a902c335d6a69ead63aab6fd74044e8c6d91c";
	static const char want_head[] =
	    "00000000000000000001 "
	    "be88b64e6c292568bd2c5202852a902c335d6a69ead63aab6fd74044e8c6d91c "
	    "7a5703fb8c5575270952995f41c7cca73f338fbf90204a116d1995d7174eb66d\n";
	unsigned char k[AUDIT_KEY_LEN], h[32];
	char hex[65], line[200];
	struct audit_event e;
	struct audit *a;
	struct tcase c;
	struct db *db;
	uint64_t seq;
	ssize_t n;
	int i, fd;

	for (i = 0; i < AUDIT_KEY_LEN; i++)
		k[i] = (unsigned char)i;
	tcase_new(&c);
	memset(&e, 0, sizeof(e));
	e.time_ns = 1733350000123456789LL;
	e.workspace = "demo";
	e.agent = "dev";
	e.source = AUDIT_SRC_FS;
	e.op = "rename";
	e.path = "a/b.c";
	e.path2 = "a/d.c";
	e.result = AUDIT_RES_OK;
	if (audit_open(c.db, c.head, k, sizeof(k), 0, &a) < 0 ||
	    audit_commit(a, &e, &seq) < 0) {
		ok(0, "commit the example");
		return;
	}
	audit_close(a);
	if (db_open(c.db, 0, &db) < 0 || db_audit_last(db, &seq, h) < 0)
		abort();
	db_close(db);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	is_str(hex, want_hash, "the example's hash (docs/audit.md)");
	fd = open(c.head, O_RDONLY);
	n = fd >= 0 ? read(fd, line, sizeof(line) - 1) : -1;
	line[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	is_str(line, want_head, "the example's head record (docs/audit.md)");
}

static void
test_basic(void)
{
	struct audit_verify_report rep;
	struct audit_event e;
	struct audit_stats st;
	struct audit *a;
	struct tcase c;
	struct stat sb;
	uint64_t seq, seqs[5];
	int i, r;

	tcase_new(&c);
	ok(verify(&c, key, &rep) == SN_ENOENT, "verify without a database");
	r = audit_open(c.db, c.head, key, sizeof(key), 0, &a);
	is_int(r, 0, "audit_open creates the database");
	if (r < 0)
		return;
	ok(stat(c.db, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "database is mode 0600");
	ok(stat(c.head, &sb) == 0, "an empty trail has a head file");
	for (i = 0; i < 5; i++) {
		e = ev("create", "dir/file", i);
		r = audit_commit(a, &e, &seqs[i]);
		if (r < 0)
			break;
	}
	ok(r == 0 && seqs[0] == 1 && seqs[4] == 5,
	    "audit_commit numbers events 1..5");
	e = ev("open", "README.md", 0);
	is_int(audit_emit(a, &e, 0), 0, "a queued event");
	e.op = NULL;
	is_int(audit_emit(a, &e, 1), SN_EINVAL, "an event without op");
	e.op = "x";
	e.source = (enum audit_source)7;
	is_int(audit_emit(a, &e, 1), SN_EINVAL, "a source out of range");
	e = ev("x", NULL, 0);
	e.rule = NULL;
	e.path2 = NULL;
	is_int(audit_commit(a, &e, &seq), 0, "NULL strings are empty");
	is_int(seq, 7, "the queued event was committed first");
	is_int(audit_ok(a), 0, "audit_ok while commits succeed");
	audit_stats(a, &st);
	ok(st.committed == 7 && st.lost == 0 && st.last_seq == 7,
	    "stats: 7 committed");
	audit_close(a);
	r = verify(&c, key, &rep);
	ok(r == 0 && rep.events == 7 && rep.head_seq == 7,
	    "verify: 7 events, head 7");
	/* The chain goes on across a restart. */
	is_int(audit_open(c.db, c.head, key, sizeof(key), 0, &a), 0, "reopen");
	e = ev("unlink", "dir/file", 1);
	ok(audit_commit(a, &e, &seq) == 0 && seq == 8, "resumes at seq 8");
	audit_close(a);
	r = verify(&c, key, &rep);
	ok(r == 0 && rep.events == 8, "verify after a restart");
	ok(verify(&c, key2, &rep) == 1 && rep.bad_seq == 1,
	    "the wrong key breaks seq 1");
	is_int(audit_open(c.db, c.head, key2, sizeof(key2), 0, &a), SN_ESTALE,
	    "audit_open refuses the wrong key (head mac)");
}

static void
test_tamper(void)
{
	tampered("a field edited", "UPDATE audit SET path = 'x' WHERE seq = 4",
	    4);
	tampered("an integer edited",
	    "UPDATE audit SET bytes = 99 WHERE seq = 6", 6);
	tampered("a middle row deleted", "DELETE FROM audit WHERE seq = 5", 5);
	tampered("the tail deleted (the head catches it)",
	    "DELETE FROM audit WHERE seq >= 8", 8);
	tampered("the last row deleted", "DELETE FROM audit WHERE seq = 10",
	    10);
	tampered("a row appended",
	    "INSERT INTO audit SELECT 11, time_ns, workspace, agent, source,"
	    " op, path, path2, result, errno, rule, trace_id, bytes,"
	    " injected, encoding_version, randomblob(32), role, auth,"
	    " status FROM audit"
	    " WHERE seq = 10",
	    11);
	tampered("a row inserted in the middle",
	    "UPDATE audit SET seq = seq + 1000 WHERE seq >= 6;"
	    "UPDATE audit SET seq = seq - 999 WHERE seq > 1000;"
	    "INSERT INTO audit SELECT 6, time_ns, workspace, agent, source,"
	    " op, 'evil', path2, result, errno, rule, trace_id, bytes,"
	    " injected, encoding_version, hash, role, auth, status FROM audit"
	    " WHERE seq = 5",
	    6);
	tampered("two rows swapped",
	    "UPDATE audit SET seq = 1000 WHERE seq = 3;"
	    "UPDATE audit SET seq = 3 WHERE seq = 4;"
	    "UPDATE audit SET seq = 4 WHERE seq = 1000",
	    3);
	tampered("two rows' contents swapped, seqs kept",
	    "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (3, 4);"
	    "UPDATE audit SET path = (SELECT path FROM t WHERE seq = 4)"
	    " WHERE seq = 3;"
	    "UPDATE audit SET path = (SELECT path FROM t WHERE seq = 3)"
	    " WHERE seq = 4",
	    3);
	tampered("a hash changed",
	    "UPDATE audit SET hash = randomblob(32) WHERE seq = 7", 7);
	tampered("the last hash changed",
	    "UPDATE audit SET hash = randomblob(32) WHERE seq = 10", 10);
	tampered("a short hash", "UPDATE audit SET hash = x'00' WHERE seq = 2",
	    2);
	tampered("an encoding version changed",
	    "UPDATE audit SET encoding_version = 3 WHERE seq = 9", 9);
	tampered("a row's encoding version downgraded to 1",
	    "UPDATE audit SET encoding_version = 1 WHERE seq = 9", 9);
	tampered("a row's status changed",
	    "UPDATE audit SET status = 200 WHERE seq = 4", 4);
	tampered("all rows deleted", "DELETE FROM audit", 1);
}

static int
copy_file(const char *from, const char *to)
{
	char buf[512];
	ssize_t n;
	int in, out, r = 0;

	in = open(from, O_RDONLY);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		r = -1;
	while (r == 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			r = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static void
test_head(void)
{
	struct audit_verify_report rep;
	struct audit *a;
	struct tcase c;
	char saved[320], stale[320], line[256];
	int r, fd;

	/* Rows after the head: a crash between a commit and the head. */
	tcase_new(&c);
	snprintf(saved, sizeof(saved), "%s.saved", c.head);
	fill(&c, 5, 0);
	copy_file(c.head, saved);
	fill(&c, 5, 0);
	copy_file(saved, c.head);
	r = verify(&c, key, &rep);
	ok(r == 0 && rep.head_seq == 5 && rep.events == 10,
	    "rows after the head that chain are accepted");
	r = audit_open(c.db, c.head, key, sizeof(key), 0, &a);
	is_int(r, 0, "audit_open accepts them too");
	audit_close(a);
	r = verify(&c, key, &rep);
	ok(r == 0 && rep.head_seq == 10, "... and moves the head to 10");

	/* Rows after the head that do not chain. */
	copy_file(saved, c.head);
	sql(&c, "UPDATE audit SET op = 'x' WHERE seq = 8");
	r = audit_open(c.db, c.head, key, sizeof(key), 0, &a);
	is_int(r, SN_ESTALE, "audit_open refuses a bad row after the head");

	/* A missing head. */
	tcase_new(&c);
	fill(&c, 4, 0);
	unlink(c.head);
	r = verify(&c, key, &rep);
	ok(r == 1, "a missing head is caught");
	diag("  %s", rep.why);
	is_int(audit_open(c.db, c.head, key, sizeof(key), 0, &a), SN_ESTALE,
	    "audit_open refuses a trail without its head");

	/* A head rewritten to match a truncated trail, without the key. */
	tcase_new(&c);
	fill(&c, 6, 0);
	fd = open(c.head, O_RDONLY);
	r = fd >= 0 ? (int)read(fd, line, sizeof(line) - 1) : -1;
	if (fd >= 0)
		close(fd);
	line[r > 0 ? r : 0] = '\0';
	sql(&c, "DELETE FROM audit WHERE seq = 6");
	{
		struct db *db;
		uint64_t s;
		unsigned char h[32];
		char hex[65], forged[256];
		int i;

		db_open(c.db, 0, &db);
		db_audit_last(db, &s, h);
		db_close(db);
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
		/* seq 5, its hash, and the old mac */
		snprintf(forged, sizeof(forged), "%020d %s %s", 5, hex,
		    strlen(line) > 130 ? line + strlen(line) - 65 : "x\n");
		fd = open(c.head, O_WRONLY | O_TRUNC);
		if (fd < 0 || write(fd, forged, strlen(forged)) < 0)
			diag("cannot forge");
		if (fd >= 0)
			close(fd);
	}
	r = verify(&c, key, &rep);
	ok(r == 1 && strstr(rep.why, "mac") != NULL,
	    "a head forged without the key is caught");
	diag("  %s", rep.why);

	/* A truncated trail: refused, or kept aside with fail_open. */
	tcase_new(&c);
	fill(&c, 6, 0);
	sql(&c, "DELETE FROM audit WHERE seq > 3");
	is_int(audit_open(c.db, c.head, key, sizeof(key), 0, &a), SN_ESTALE,
	    "audit_open refuses a truncated trail");
	r = audit_open(c.db, c.head, key, sizeof(key), 1, &a);
	is_int(r, 0, "... but opens it with fail_open");
	audit_close(a);
	snprintf(stale, sizeof(stale), "%s.stale", c.head);
	ok(access(stale, F_OK) == 0, "... keeping the old head as .stale");
}

/* ---- concurrency -------------------------------------------------------- */

#define NTHREADS   8
#define PER_THREAD 4000

struct prod {
	struct audit *a;
	int id;
	int fails;
	uint64_t last_seq;
	int order_ok;
};

static void *
producer(void *arg)
{
	struct prod *p = arg;
	struct audit_event e;
	char path[64];
	uint64_t seq;
	int i;

	p->order_ok = 1;
	for (i = 0; i < PER_THREAD; i++) {
		snprintf(path, sizeof(path), "t%d/f%d", p->id, i);
		e = ev("write", path, i);
		if (i % 2 == 0) {
			if (audit_commit(p->a, &e, &seq) < 0)
				p->fails++;
			if (seq <= p->last_seq)
				p->order_ok = 0;
			p->last_seq = seq;
		} else if (audit_emit(p->a, &e, 0) < 0) {
			p->fails++;
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct audit_verify_report rep;
	struct prod p[NTHREADS];
	pthread_t th[NTHREADS];
	struct audit_stats st;
	struct audit *a;
	struct tcase c;
	int i, fails = 0, order = 1;

	tcase_new(&c);
	if (audit_open(c.db, c.head, key, sizeof(key), 0, &a) < 0) {
		ok(0, "open");
		return;
	}
	for (i = 0; i < NTHREADS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].a = a;
		p[i].id = i;
		pthread_create(&th[i], NULL, producer, &p[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		fails += p[i].fails;
		order &= p[i].order_ok;
	}
	audit_stats(a, &st);
	audit_close(a);
	is_int(fails, 0, "%d threads emitted %d events each", NTHREADS,
	    PER_THREAD);
	ok(order, "each thread's committed seqs increase");
	ok(st.batches < st.committed,
	    "group commit: %" PRIu64 " batches for %" PRIu64 " events",
	    st.batches, st.committed);
	ok(verify(&c, key, &rep) == 0 &&
	        rep.events == (uint64_t)NTHREADS * PER_THREAD &&
	        rep.last_seq == rep.events,
	    "all %d events committed, gapless, chain verifies",
	    NTHREADS * PER_THREAD);
}

struct spin {
	struct audit *a;
	int stop; /* atomic */
};

static void *
spinner(void *arg)
{
	struct spin *sp = arg;
	struct audit_event e = ev("write", "busy/file", 1);

	while (!__atomic_load_n(&sp->stop, __ATOMIC_RELAXED))
		(void)audit_emit(sp->a, &e, 1);
	return NULL;
}

/* A verify beside a running writer sees no false break. */
static void
test_live_verify(void)
{
	struct audit_verify_report rep;
	struct spin sp;
	pthread_t th[2];
	struct tcase c;
	struct stat sb;
	int i, bad = 0;

	tcase_new(&c);
	if (audit_open(c.db, c.head, key, sizeof(key), 0, &sp.a) < 0) {
		ok(0, "open");
		return;
	}
	ok(stat(c.head, &sb) == 0 && sb.st_size == 151,
	    "the head is a 151-byte record");
	sp.stop = 0;
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, spinner, &sp);
	for (i = 0; i < 30; i++) {
		if (verify(&c, key, &rep) != 0) {
			diag("verify: %s", rep.why);
			bad++;
		}
	}
	__atomic_store_n(&sp.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	audit_close(sp.a);
	ok(bad == 0 && rep.events > 0,
	    "30 verifies beside a busy writer all pass (last saw %" PRIu64
	    " events)",
	    rep.events);
}

/* Events queued with wait=0 are committed by audit_close. */
static void
test_drain(void)
{
	struct audit_verify_report rep;
	struct audit_event e;
	struct audit *a;
	struct tcase c;
	int i, r = 0;

	tcase_new(&c);
	if (audit_open(c.db, c.head, key, sizeof(key), 0, &a) < 0) {
		ok(0, "open");
		return;
	}
	e = ev("open", "x", 0);
	for (i = 0; i < 20000 && r == 0; i++)
		r = audit_emit(a, &e, 0);
	audit_close(a);
	ok(r == 0 && verify(&c, key, &rep) == 0 && rep.events == 20000,
	    "20000 queued events (more than the queue holds) all committed");
}

/* ---- failure ------------------------------------------------------------ */

static void
test_full_disk(void)
{
	struct audit_verify_report rep;
	struct audit_event e;
	struct audit *a;
	struct tcase c;
	char mnt[220], logpath[300], *big, buf[8192];
	int i, r = 0, fd;
	ssize_t n;

	tcase_new(&c);
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", c.dir);
	mkdir(mnt, 0700);
	/* In a mount namespace of our own (no thread runs now), the tmpfs
	 * goes away with this process whatever happens. */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0)
		(void)mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL);
	if (geteuid() != 0 ||
	    mount("sn-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	        "size=256k,mode=0700") < 0) {
		skip(8, "cannot mount a tmpfs (needs root)");
		return;
	}
	snprintf(c.db, sizeof(c.db), "%s/workspace.db", mnt);
	snprintf(c.head, sizeof(c.head), "%s/audit.head", mnt);
	big = malloc(16001);
	memset(big, 'p', 16000);
	big[16000] = '\0';

	/* Fail closed; a filler file to free space afterwards. */
	snprintf(logpath, sizeof(logpath), "%s/filler", mnt);
	fd = open(logpath, O_WRONLY | O_CREAT, 0600);
	memset(buf, 'f', sizeof(buf));
	for (i = 0; fd >= 0 && i < 8; i++)
		if (write(fd, buf, sizeof(buf)) < 0)
			diag("filler: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	r = audit_open(c.db, c.head, key, sizeof(key), 0, &a);
	is_int(r, 0, "an audit on a 256k tmpfs");
	if (r == 0) {
		e = ev("write", big, 1);
		for (i = 0; i < 200 && (r = audit_emit(a, &e, 1)) == 0; i++)
			;
		ok(r == SN_EIO && i > 0,
		    "fail closed: wait=1 gets SN_EIO once the disk is full "
		    "(after %d commits)",
		    i);
		is_int(audit_ok(a), SN_EIO, "audit_ok says changes must stop");
		unlink(logpath);
		e = ev("unlink", "filler", 1);
		r = audit_emit(a, &e, 1);
		ok(r == 0 && audit_ok(a) == 0,
		    "with room again, commits and audit_ok succeed");
		audit_close(a);
		r = verify(&c, key, &rep);
		ok(r == 0 && rep.events == (uint64_t)i + 1,
		    "the %d committed events still verify", i + 1);
	} else {
		skip(4, "no audit");
	}
	umount2(mnt, MNT_DETACH);

	/* Fail open: continue, log a warning. */
	if (mount("sn-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	        "size=256k,mode=0700") < 0) {
		skip(3, "cannot mount again");
		free(big);
		return;
	}
	snprintf(logpath, sizeof(logpath), "%s/log", c.dir);
	log_open_file(logpath);
	r = audit_open(c.db, c.head, key, sizeof(key), 1, &a);
	if (r == 0) {
		e = ev("write", big, 1);
		for (i = 0; i < 100 && (r = audit_emit(a, &e, 1)) == 0; i++)
			;
		ok(r == 0, "fail open: every emit returns 0 on a full disk");
		is_int(audit_ok(a), 0, "audit_ok lets changes go on");
		audit_close(a);
	} else {
		skip(2, "no audit");
	}
	log_open_file("/dev/stderr");
	fd = open(logpath, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	has_str(buf, "continuing (audit_fail_open)", "a warning is logged");
	umount2(mnt, MNT_DETACH);
	free(big);
}

/* ---- crash -------------------------------------------------------------- */

#define CRASH_THREADS 4
#define CRASH_ACKS    3000

struct crasher {
	struct audit *a;
	int fd;
};

static void *
crash_worker(void *arg)
{
	struct crasher *cr = arg;
	struct audit_event e;
	uint64_t seq;
	int i;

	for (i = 0;; i++) {
		e = ev("write", "hot/file", i);
		if (i % 4 == 3) {
			(void)audit_emit(cr->a, &e, 0);
			continue;
		}
		if (audit_commit(cr->a, &e, &seq) != 0 ||
		    write(cr->fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(3);
	}
	return NULL;
}

static void
test_crash(void)
{
	struct audit_verify_report rep;
	struct crasher cr;
	pthread_t th[CRASH_THREADS];
	struct audit *a;
	struct tcase c;
	uint64_t seq, max = 0, acks = 0;
	int p[2], st, i;
	pid_t pid;
	ssize_t n;

	tcase_new(&c);
	if (pipe(p) < 0)
		abort();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (audit_open(c.db, c.head, key, sizeof(key), 0, &cr.a) < 0)
			_exit(2);
		cr.fd = p[1];
		for (i = 0; i < CRASH_THREADS; i++)
			pthread_create(&th[i], NULL, crash_worker, &cr);
		pause();
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], &seq, sizeof(seq))) == sizeof(seq)) {
		if (seq > max)
			max = seq;
		if (++acks == CRASH_ACKS)
			kill(pid, SIGKILL);
	}
	close(p[0]);
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "the child was killed under load after %" PRIu64 " acks", acks);
	ok(verify(&c, key, &rep) == 0, "the trail verifies after kill -9");
	ok(rep.last_seq >= max,
	    "every acknowledged event is there (max ack %" PRIu64
	    ", last %" PRIu64 ", head %" PRIu64 ")",
	    max, rep.last_seq, rep.head_seq);
	i = audit_open(c.db, c.head, key, sizeof(key), 0, &a);
	is_int(i, 0, "the database reopens and the chain resumes");
	audit_close(a);
}

/* ---- keys and paths ----------------------------------------------------- */

static void
test_keys(void)
{
	unsigned char k1[AUDIT_KEY_LEN], k2[AUDIT_KEY_LEN];
	char path[300], *s;
	struct stat sb;
	int fd, r;

	snprintf(path, sizeof(path), "%s/state.audit-key", topdir);
	is_int(audit_key_load(path, k1), SN_ENOENT, "load: missing key");
	is_int(audit_key_load_or_create(path, k1), 0, "create a key");
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	        sb.st_size == AUDIT_KEY_LEN,
	    "key file: 0600, 32 bytes");
	ok(audit_key_load_or_create(path, k2) == 0 &&
	        memcmp(k1, k2, sizeof(k1)) == 0,
	    "the second call loads the same key");
	chmod(path, 0640);
	is_int(audit_key_load(path, k2), SN_EPERM,
	    "a key readable by the group is refused");
	chmod(path, 0600);

	snprintf(path, sizeof(path), "%s/hex.key", topdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 ||
	    write(fd,
	        "000102030405060708090a0b0c0d0e0f"
	        "101112131415161718191A1B1C1D1E1F\n",
	        65) != 65)
		diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);
	ok(audit_key_load(path, k1) == 0 && k1[0] == 0 && k1[26] == 0x1a &&
	        k1[31] == 0x1f,
	    "a key of 64 hex digits");
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, "short", 5) != 5)
		diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);
	is_int(audit_key_load(path, k1), SN_EINVAL, "a file that is no key");

	r = audit_key_default_path("/var/lib/sentinel/", &s);
	ok(r == 0 && strcmp(s, "/var/lib/sentinel.audit-key") == 0,
	    "default key path: a sibling of the state dir");
	free(s);
	r = audit_key_default_path("./.sentinel", &s);
	ok(r == 0 && strcmp(s, "./.sentinel.audit-key") == 0,
	    "default key path of the demo");
	free(s);
	ok(audit_key_default_path("/", &s) == SN_EINVAL && s == NULL &&
	        audit_key_default_path(".", &s) == SN_EINVAL &&
	        audit_key_default_path("a/..", &s) == SN_EINVAL,
	    "no default key path for /, ., ..");
	r = audit_workspace_paths("/s", "demo", &s, NULL);
	ok(r == 0 && strcmp(s, "/s/workspaces/demo/workspace.db") == 0,
	    "workspace db path");
	free(s);
	ok(audit_workspace_paths("/s", "../x", &s, NULL) == SN_EINVAL &&
	        s == NULL,
	    "a workspace id with a slash is refused");
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

/*
 * Each change is its own commit, so the WAL grows by a frame or more per
 * change; checkpoints keep it bounded (without them 5000 commits leave
 * 5000 frames, over 20 MB).  An event queued after them is committed by
 * the writer within its linger, without another event to push it.
 */
static void
test_checkpoint(void)
{
	struct audit_verify_report rep;
	struct audit_event e;
	struct audit_stats st;
	struct audit *a;
	struct tcase c;
	struct stat sb;
	char wal[320];
	off_t most = 0;
	int i, r = 0, tries;

	tcase_new(&c);
	snprintf(wal, sizeof(wal), "%s-wal", c.db);
	if (audit_open(c.db, c.head, key, sizeof(key), 0, &a) < 0) {
		ok(0, "open");
		return;
	}
	for (i = 0; i < 5000 && r == 0; i++) {
		e = ev("create", "dir/file", i);
		r = audit_emit(a, &e, 1);
		if (i % 100 == 0 && stat(wal, &sb) == 0 && sb.st_size > most)
			most = sb.st_size;
	}
	is_int(r, 0, "5000 changes, each waiting for its commit");
	ok(most > 0 && most < 16 * 1024 * 1024,
	    "the WAL stays under 16 MiB (at most %lld bytes)", (long long)most);
	e = ev("open", "README.md", 1);
	is_int(audit_emit(a, &e, 0), 0, "then one queued event");
	for (tries = 0; tries < 200; tries++) {
		audit_stats(a, &st);
		if (st.committed == 5001)
			break;
		usleep(5000);
	}
	ok(st.committed == 5001 && st.queued == 0,
	    "the writer commits it without being pushed (%" PRIu64 ")",
	    st.committed);
	audit_close(a);
	ok(verify(&c, key, &rep) == 0 && rep.events == 5001,
	    "the trail verifies");
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_set_level(LOG_LVL_WARN);
	test_encoding();
	test_doc_example();
	test_basic();
	test_tamper();
	test_head();
	test_keys();
	test_drain();
	test_threads();
	test_checkpoint();
	test_live_verify();
	test_full_disk();
	test_crash();
	rm_rf(topdir);
	return done_testing();
}
