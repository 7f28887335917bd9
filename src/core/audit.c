/*
 * audit.c - the audit pipeline, its hash chain, its verification, and the
 * key file (see audit.h for the contract and the encoding).
 *
 * Concurrency.  struct audit has one mutex, mu, which protects the queue
 * (qhead, qtail, nqueued, qbytes), stopping, committing and the stats;
 * producers and the writer wait on three conditions under it: cv_work (the
 * writer: the queue is not empty, or stop), cv_room (producers: the queue
 * has room), cv_done (waiters and the writer: a commit ended).  One thread
 * at a time commits: the one that set committing (under mu), which is the
 * writer thread or a producer waiting for its own event (see emit()).
 * Everything under "the committer only" is touched by that thread alone,
 * between setting committing and clearing it (and by audit_open() before
 * the writer starts).  broken is an atomic int, read by audit_ok()
 * without a lock.  No lock is taken under mu.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/audit.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

#define ENC_MAX          (16u << 20) /* a canonical encoding we will build */
#define HEAD_SEQ_DIGITS  20          /* the seq in a head record, zero-padded */
#define HEAD_LEN         (HEAD_SEQ_DIGITS + 1 + 64 + 1 + 64 + 1) /* a head record */
#define HEAD_DOM         "sentinel-audit-head-v1"
#define LOG_EVERY        1000000000LL /* ns between two "commit failed" lines */
#define AUDIT_LINGER_NS  1000000L     /* the writer lets a batch gather */
#define AUDIT_LINGER_MAX 512          /* ... unless this many are queued */
#define AUDIT_DOZE_NS    5000000LL /* no event for this long: the writer sleeps */

/* ---- HMAC-SHA-256 ------------------------------------------------------- */

struct mac {
	EVP_MAC *m;
	EVP_MAC_CTX *ctx; /* keyed once; re-initialised per message */
};

static void
mac_free(struct mac *mc)
{
	EVP_MAC_CTX_free(mc->ctx); /* OpenSSL cleanses the key */
	EVP_MAC_free(mc->m);
	mc->ctx = NULL;
	mc->m = NULL;
}

static int
mac_init(struct mac *mc, const unsigned char *key, size_t keylen)
{
	OSSL_PARAM params[2];

	mc->m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mc->ctx = mc->m != NULL ? EVP_MAC_CTX_new(mc->m) : NULL;
	if (mc->ctx == NULL) {
		mac_free(mc);
		return SN_ENOMEM;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(mc->ctx, key, keylen, params)) {
		mac_free(mc);
		return SN_EIO;
	}
	return 0;
}

/* out = HMAC(key, p1 || p2) */
static int
mac_two(struct mac *mc, const void *p1, size_t n1, const void *p2, size_t n2,
    unsigned char out[AUDIT_HASH_LEN])
{
	size_t outl = 0;

	if (!EVP_MAC_init(mc->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(mc->ctx, p1, n1) ||
	    !EVP_MAC_update(mc->ctx, p2, n2) ||
	    !EVP_MAC_final(mc->ctx, out, &outl, AUDIT_HASH_LEN) ||
	    outl != AUDIT_HASH_LEN)
		return SN_EIO;
	return 0;
}

/* ---- canonical encoding ------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static int
buf_put(struct buf *b, const void *s, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (n > ENC_MAX || b->len > ENC_MAX - n)
		return SN_ERANGE;
	if (b->len + n > b->cap) {
		cap = b->cap != 0 ? b->cap : 512;
		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL)
			return SN_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/*
 * Decimal digits of v, written backwards from end (no leading zeros, "0"
 * for zero); returns where they start.  The encoding is hashed: this is
 * on every event's way, where snprintf() cost a tenth of a commit.
 */
static char *
dec(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

/* One field: "<len>:<bytes>," */
static int
put_field(struct buf *b, const char *s, size_t n)
{
	char pre[24], *p;
	int r;

	pre[sizeof(pre) - 1] = ':';
	p = dec(n, pre + sizeof(pre) - 1);
	if ((r = buf_put(b, p, (size_t)(pre + sizeof(pre) - p))) < 0 ||
	    (r = buf_put(b, s, n)) < 0 || (r = buf_put(b, ",", 1)) < 0)
		return r;
	return 0;
}

static int
put_str(struct buf *b, const char *s)
{
	return put_field(b, s, strlen(s));
}

static int
put_uint(struct buf *b, uint64_t v)
{
	char num[24], *p = dec(v, num + sizeof(num));

	return put_field(b, p, (size_t)(num + sizeof(num) - p));
}

static int
put_int(struct buf *b, int64_t v)
{
	char num[24], *p;

	if (v >= 0)
		return put_uint(b, (uint64_t)v);
	/* the magnitude of INT64_MIN does not fit an int64_t */
	p = dec((uint64_t)0 - (uint64_t)v, num + sizeof(num));
	*--p = '-';
	return put_field(b, p, (size_t)(num + sizeof(num) - p));
}

/*
 * Encode r into b in its own version, replacing b's content.  Version 1:
 * the fields up to injected.  Version 2 (written now) adds role, auth
 * (the client certificate's fingerprint) and status (the API's HTTP
 * status).  Rows of both versions verify.
 */
static int
encode_row(struct buf *b, const struct db_audit_row *r)
{
	int rc, v2 = r->encoding_version == 2;

	b->len = 0;
	if ((rc = buf_put(b, v2 ? "v2" : "v1", 2)) < 0 ||
	    (rc = put_uint(b, r->seq)) < 0 ||
	    (rc = put_int(b, r->time_ns)) < 0 ||
	    (rc = put_str(b, r->workspace)) < 0 ||
	    (rc = put_str(b, r->agent)) < 0 ||
	    (rc = put_str(b, r->source)) < 0 || (rc = put_str(b, r->op)) < 0 ||
	    (rc = put_str(b, r->path)) < 0 || (rc = put_str(b, r->path2)) < 0 ||
	    (rc = put_str(b, r->result)) < 0 || (rc = put_int(b, r->err)) < 0 ||
	    (rc = put_str(b, r->rule)) < 0 ||
	    (rc = put_str(b, r->trace_id)) < 0 ||
	    (rc = put_int(b, r->bytes)) < 0 ||
	    (rc = put_int(b, r->injected)) < 0)
		return rc;
	if (v2 &&
	    ((rc = put_str(b, r->role)) < 0 || (rc = put_str(b, r->auth)) < 0 ||
	        (rc = put_int(b, r->status)) < 0))
		return rc;
	return 0;
}

int
audit_canonical(const struct db_audit_row *row, unsigned char **out,
    size_t *outlen)
{
	struct buf b = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*outlen = 0;
	r = encode_row(&b, row);
	if (r < 0) {
		free(b.p);
		return r;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

/* hash = HMAC(prev || canonical(r)) */
static int
chain_hash(struct mac *mc, struct buf *enc, const unsigned char *prev,
    const struct db_audit_row *r, unsigned char out[AUDIT_HASH_LEN])
{
	int rc;

	if ((rc = encode_row(enc, r)) < 0)
		return rc;
	return mac_two(mc, prev, AUDIT_HASH_LEN, enc->p, enc->len, out);
}

/* ---- head file ---------------------------------------------------------- */

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode exactly 2n hex digits at s; 0 or SN_EINVAL. */
static int
hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int h, l;

	for (i = 0; i < n; i++) {
		h = hex_val((unsigned char)s[2 * i]);
		l = h < 0 ? -1 : hex_val((unsigned char)s[2 * i + 1]);
		if (l < 0)
			return SN_EINVAL;
		out[i] = (unsigned char)(h << 4 | l);
	}
	return 0;
}

static int
head_mac(struct mac *mc, uint64_t seq, const unsigned char *hash,
    unsigned char out[AUDIT_HASH_LEN])
{
	char pre[sizeof(HEAD_DOM) + 32];
	int n;

	/* HEAD_DOM, its NUL, the seq in decimal, ':' */
	memcpy(pre, HEAD_DOM, sizeof(HEAD_DOM));
	n = snprintf(pre + sizeof(HEAD_DOM), sizeof(pre) - sizeof(HEAD_DOM),
	    "%" PRIu64 ":", seq);
	return mac_two(mc, pre, sizeof(HEAD_DOM) + (size_t)n, hash,
	    AUDIT_HASH_LEN, out);
}

struct head {
	uint64_t seq;
	unsigned char hash[AUDIT_HASH_LEN];
	unsigned char mac[AUDIT_HASH_LEN];
};

/* Read and parse a head file: 0, SN_ENOENT, SN_EINVAL (malformed), SN_ESYS. */
static int
head_read(const char *path, struct head *h)
{
	char buf[HEAD_LEN + 2];
	size_t len = 0, i;
	ssize_t n;
	int fd;

	memset(h, 0, sizeof(*h));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? SN_ENOENT : SN_ESYS;
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return SN_ESYS;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	/* "<20 digits> <64 hex> <64 hex>\n" */
	if (len != HEAD_LEN || buf[HEAD_SEQ_DIGITS] != ' ' ||
	    buf[HEAD_SEQ_DIGITS + 65] != ' ' || buf[HEAD_LEN - 1] != '\n' ||
	    hex_decode(buf + HEAD_SEQ_DIGITS + 1, h->hash, AUDIT_HASH_LEN) <
	        0 ||
	    hex_decode(buf + HEAD_SEQ_DIGITS + 66, h->mac, AUDIT_HASH_LEN) < 0)
		return SN_EINVAL;
	for (i = 0; i < HEAD_SEQ_DIGITS; i++) {
		if (buf[i] < '0' || buf[i] > '9' ||
		    h->seq > (UINT64_MAX - (uint64_t)(buf[i] - '0')) / 10)
			return SN_EINVAL;
		h->seq = h->seq * 10 + (uint64_t)(buf[i] - '0');
	}
	return 0;
}

/* Rewrite the head record in place: one pwrite (see audit.h). */
static int
head_write(struct mac *mc, int fd, uint64_t seq, const unsigned char *hash)
{
	unsigned char m[AUDIT_HASH_LEN];
	char line[HEAD_LEN + 1], hh[2 * AUDIT_HASH_LEN + 1],
	    mh[2 * AUDIT_HASH_LEN + 1];
	int r;

	if ((r = head_mac(mc, seq, hash, m)) < 0)
		return r;
	hex_encode(hash, AUDIT_HASH_LEN, hh);
	hex_encode(m, AUDIT_HASH_LEN, mh);
	snprintf(line, sizeof(line), "%020" PRIu64 " %s %s\n", seq, hh, mh);
	if (pwrite(fd, line, HEAD_LEN, 0) != HEAD_LEN)
		return SN_EIO;
	return 0;
}

/* ---- chain walk (open and verify) --------------------------------------- */

struct walk {
	struct mac *mc;
	struct buf enc;
	uint64_t expect; /* seq the next row must have */
	unsigned char prev[AUDIT_HASH_LEN];
	uint64_t rows;
	uint64_t pin_seq; /* remember this row's hash (0 = none) */
	unsigned char pin_hash[AUDIT_HASH_LEN];
	int pinned;
	uint64_t bad_seq;
	char why[256];
};

static int
walk_row(const struct db_audit_row *r, void *arg)
{
	struct walk *w = arg;
	unsigned char h[AUDIT_HASH_LEN];
	int rc;

	if (r->seq != w->expect) {
		w->bad_seq = w->expect;
		snprintf(w->why, sizeof(w->why),
		    "seq %" PRIu64 " is missing (the next row is seq %" PRIu64
		    ")",
		    w->expect, r->seq);
		return 1;
	}
	if (r->encoding_version != 1 && r->encoding_version != AUDIT_ENCODING) {
		w->bad_seq = r->seq;
		snprintf(w->why, sizeof(w->why),
		    "unknown encoding version %" PRId64, r->encoding_version);
		return 1;
	}
	if (r->hash_len != AUDIT_HASH_LEN) {
		w->bad_seq = r->seq;
		snprintf(w->why, sizeof(w->why), "hash is %zu bytes, not %d",
		    r->hash_len, AUDIT_HASH_LEN);
		return 1;
	}
	rc = chain_hash(w->mc, &w->enc, w->prev, r, h);
	if (rc == SN_ERANGE) {
		w->bad_seq = r->seq;
		snprintf(w->why, sizeof(w->why), "row too large");
		return 1;
	}
	if (rc < 0)
		return rc;
	if (CRYPTO_memcmp(h, r->hash, AUDIT_HASH_LEN) != 0) {
		w->bad_seq = r->seq;
		snprintf(w->why, sizeof(w->why),
		    "hash mismatch: the row was edited, inserted or moved, "
		    "its hash was changed, or the key is wrong");
		return 1;
	}
	if (r->seq == w->pin_seq) {
		memcpy(w->pin_hash, r->hash, AUDIT_HASH_LEN);
		w->pinned = 1;
	}
	memcpy(w->prev, r->hash, AUDIT_HASH_LEN);
	w->expect++;
	w->rows++;
	return 0;
}

static int
grab_hash(const struct db_audit_row *r, void *arg)
{
	struct walk *w = arg;

	if (r->seq == w->pin_seq && r->hash_len == AUDIT_HASH_LEN) {
		memcpy(w->pin_hash, r->hash, AUDIT_HASH_LEN);
		w->pinned = 1;
	}
	return 1;
}

/*
 * The checks of head h that need no row: its mac, a seq not beyond the
 * trail's last (last_seq), a zero hash for seq 0.  0 if it passes, 1 if
 * not (w says why), or an SN_E* code.
 */
static int
head_sane(struct mac *mc, const struct head *h, uint64_t last_seq,
    struct walk *w)
{
	static const unsigned char zero[AUDIT_HASH_LEN];
	unsigned char m[AUDIT_HASH_LEN];
	int r;

	if ((r = head_mac(mc, h->seq, h->hash, m)) < 0)
		return r;
	if (CRYPTO_memcmp(m, h->mac, AUDIT_HASH_LEN) != 0) {
		snprintf(w->why, sizeof(w->why),
		    "the head file's mac is wrong (forged, or the wrong key)");
		return 1;
	}
	if (h->seq > last_seq) {
		w->bad_seq = last_seq + 1;
		snprintf(w->why, sizeof(w->why),
		    "the head file names seq %" PRIu64
		    " but the trail ends at seq %" PRIu64 ": events deleted",
		    h->seq, last_seq);
		return 1;
	}
	if (h->seq == 0 && CRYPTO_memcmp(h->hash, zero, AUDIT_HASH_LEN) != 0) {
		snprintf(w->why, sizeof(w->why),
		    "the head file names seq 0 with a hash");
		return 1;
	}
	return 0;
}

/* 1 (w says why) unless the row at h->seq, whose hash is in w->pin_hash
 * when w->pinned, has the head's hash. */
static int
head_matches_pin(const struct head *h, struct walk *w)
{
	if (h->seq == 0 ||
	    (w->pinned &&
	        CRYPTO_memcmp(w->pin_hash, h->hash, AUDIT_HASH_LEN) == 0))
		return 0;
	w->bad_seq = h->seq;
	snprintf(w->why, sizeof(w->why),
	    "the hash of seq %" PRIu64 " does not match the head file", h->seq);
	return 1;
}

/*
 * At open: check that head h agrees with the trail of db, whose last row
 * is last_seq: head_sane(), the row it names has its hash, and the rows
 * after it chain (only those are walked).  0 if so, 1 if not (w->why says
 * why), or an SN_E* code.
 */
static int
head_agrees(struct mac *mc, struct db *db, const struct head *h,
    uint64_t last_seq, struct walk *w)
{
	int r;

	if ((r = head_sane(mc, h, last_seq, w)) != 0)
		return r;
	memset(w->prev, 0, AUDIT_HASH_LEN);
	if (h->seq > 0) {
		w->pin_seq = h->seq;
		w->pinned = 0;
		r = db_audit_each(db, h->seq - 1, 1, grab_hash, w);
		if (r < 0)
			return r;
		if ((r = head_matches_pin(h, w)) != 0)
			return r;
		memcpy(w->prev, h->hash, AUDIT_HASH_LEN);
	}
	w->pin_seq = 0;
	w->expect = h->seq + 1;
	r = db_audit_each(db, h->seq, 0, walk_row, w);
	if (r < 0)
		return r;
	return r != 0 ? 1 : 0;
}

/* ---- the pipeline ------------------------------------------------------- */

struct waiter {
	int done; /* set by the writer under mu */
	int rc;
	uint64_t seq;
};

/* A queued event: the row's strings point into data[]. */
struct qent {
	struct qent *next;
	struct waiter *w; /* NULL when nobody waits */
	size_t size;
	struct db_audit_row row;
	char data[];
};

struct audit {
	/* read-only after audit_open() */
	char *head_path;
	int fail_open;
	pthread_t thread;
	int started;

	/* the committer only (whoever set committing, see commit_queue()) */
	int head_fd;
	struct db *db;
	struct mac mc;
	struct buf enc;
	uint64_t last_seq;
	unsigned char last_hash[AUDIT_HASH_LEN];
	const struct db_audit_row **rows;
	size_t rows_cap;
	int head_failing;
	int64_t last_log_ns;
	uint64_t unlogged; /* lost events not yet reported */

	int broken; /* atomic: the last commit failed */

	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_room, cv_done;
	struct qent *qhead, *qtail; /* mu */
	size_t nqueued, qbytes;     /* mu */
	int stopping;               /* mu */
	int committing;             /* mu: a thread is in commit_batch() */
	int writer_idle;            /* mu: the writer waits for a first event */
	int64_t qfirst_ns;          /* mu: when qhead was queued (monotonic) */
	int64_t qlast_ns;           /* mu: when the last unwaited one was */
	struct audit_stats st;      /* mu (queued computed on read) */
};

static const char *const source_names[] = { "fs", "api", "exec" };
static const char *const result_names[] = { "ok", "denied", "error" };

const char *
audit_source_str(enum audit_source s)
{
	return (unsigned)s < 3 ? source_names[s] : "?";
}

const char *
audit_result_str(enum audit_result r)
{
	return (unsigned)r < 3 ? result_names[r] : "?";
}

static int64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A log-safe copy of s: control bytes become '?', at most len - 1 bytes. */
static const char *
clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len - 1 && s[i] != '\0'; i++)
		buf[i] =
		    ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static void
report_loss(struct audit *a, const struct qent *first, size_t n,
    const char *why)
{
	char p[256], ag[80];
	int64_t now = now_ns(CLOCK_MONOTONIC);

	a->unlogged += n;
	if (a->last_log_ns != 0 && now - a->last_log_ns < LOG_EVERY)
		return;
	a->last_log_ns = now;
	if (a->fail_open)
		log_warn("audit commit failed (%s): %" PRIu64
		         " event(s) not recorded, e.g. %s %s by %s; "
		         "continuing (audit_fail_open)",
		    why, a->unlogged, first->row.op,
		    clean(first->row.path, p, sizeof(p)),
		    clean(first->row.agent, ag, sizeof(ag)));
	else
		log_error("audit commit failed (%s): %" PRIu64
		          " event(s) not recorded, e.g. %s %s by %s; "
		          "changes are refused until a commit succeeds",
		    why, a->unlogged, first->row.op,
		    clean(first->row.path, p, sizeof(p)),
		    clean(first->row.agent, ag, sizeof(ag)));
	a->unlogged = 0;
}

/* Number, chain and commit batch (n events); then write the head. */
static int
commit_batch(struct audit *a, struct qent *batch, size_t n)
{
	const struct db_audit_row **nr;
	unsigned char prev[AUDIT_HASH_LEN];
	struct qent *e;
	uint64_t seq = a->last_seq;
	size_t i = 0;
	int r;

	if (n > a->rows_cap) {
		nr = realloc(a->rows, n * sizeof(*nr));
		if (nr == NULL) {
			r = SN_ENOMEM;
			goto fail;
		}
		a->rows = nr;
		a->rows_cap = n;
	}
	memcpy(prev, a->last_hash, AUDIT_HASH_LEN);
	for (e = batch; e != NULL; e = e->next) {
		e->row.seq = ++seq;
		r = chain_hash(&a->mc, &a->enc, prev, &e->row, e->row.hash);
		if (r < 0)
			goto fail;
		memcpy(prev, e->row.hash, AUDIT_HASH_LEN);
		a->rows[i++] = &e->row;
	}
	r = db_audit_append(a->db, a->rows, n);
	if (r < 0)
		goto fail;
	a->last_seq = seq;
	memcpy(a->last_hash, prev, AUDIT_HASH_LEN);
	if (__atomic_exchange_n(&a->broken, 0, __ATOMIC_RELAXED))
		log_info("audit commits succeed again (seq %" PRIu64 ")", seq);
	r = head_write(&a->mc, a->head_fd, seq, prev);
	if (r < 0 && !a->head_failing)
		log_error("cannot write audit head %s: %s (events are "
		          "committed; retrying at the next commit)",
		    a->head_path, strerror(errno));
	else if (r == 0 && a->head_failing)
		log_info("audit head %s written again", a->head_path);
	a->head_failing = r < 0;
	return 0;
fail:
	__atomic_store_n(&a->broken, 1, __ATOMIC_RELAXED);
	report_loss(a, batch, n, r == SN_EIO ? db_errmsg(a->db) : err_str(r));
	return SN_EIO;
}

/*
 * Take the whole queue as a batch and commit it, as the one committer.
 * Called with mu held and committing clear; returns with mu held, having
 * decided every event of the batch and woken whoever waits on them.
 */
static void
commit_queue(struct audit *a)
{
	struct qent *batch, *e, *next;
	size_t n;
	int rc;

	batch = a->qhead;
	n = a->nqueued;
	a->qhead = a->qtail = NULL;
	a->nqueued = 0;
	a->qbytes = 0;
	a->committing = 1;
	pthread_cond_broadcast(&a->cv_room);
	pthread_mutex_unlock(&a->mu);

	rc = commit_batch(a, batch, n);

	pthread_mutex_lock(&a->mu);
	for (e = batch; e != NULL; e = e->next) {
		if (e->w == NULL)
			continue;
		e->w->rc = rc;
		e->w->seq = rc == 0 ? e->row.seq : 0;
		e->w->done = 1;
	}
	if (rc == 0) {
		a->st.committed += n;
		a->st.batches++;
		a->st.last_seq = a->last_seq;
	} else {
		a->st.lost += n;
	}
	a->committing = 0;
	pthread_cond_broadcast(&a->cv_done);
	pthread_mutex_unlock(&a->mu);
	for (e = batch; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_lock(&a->mu);
}

static void
mono_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

/*
 * The writer commits the events nobody waits for (opens, reads,
 * denials): a batch once its first event is AUDIT_LINGER_NS old (or
 * AUDIT_LINGER_MAX are queued), so that the events following it share
 * the transaction.  Events somebody waits for are committed by the
 * waiting thread itself (see emit()), which takes everything queued
 * before them along.  While unwaited events come (whoever commits them),
 * the writer looks at the queue every AUDIT_LINGER_NS by itself, so a
 * producer pays no wake-up; AUDIT_DOZE_NS after the last one it sleeps,
 * until the next one wakes it.
 */
static void *
writer_main(void *arg)
{
	struct audit *a = arg;
	struct timespec ts;
	int64_t now;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		now = now_ns(CLOCK_MONOTONIC);
		if (a->qhead != NULL) {
			if (!a->stopping && a->nqueued < AUDIT_LINGER_MAX &&
			    now < a->qfirst_ns + AUDIT_LINGER_NS) {
				mono_ts(a->qfirst_ns + AUDIT_LINGER_NS, &ts);
				pthread_cond_timedwait(&a->cv_work, &a->mu,
				    &ts);
				continue;
			}
			while (a->committing)
				pthread_cond_wait(&a->cv_done, &a->mu);
			if (a->qhead != NULL)
				commit_queue(a);
			continue;
		}
		if (a->stopping) {
			if (!a->committing)
				break; /* everything is decided */
			pthread_cond_wait(&a->cv_done, &a->mu);
			continue;
		}
		if (now - a->qlast_ns < AUDIT_DOZE_NS) {
			mono_ts(now + AUDIT_LINGER_NS, &ts);
			pthread_cond_timedwait(&a->cv_work, &a->mu, &ts);
			continue;
		}
		a->writer_idle = 1;
		pthread_cond_wait(&a->cv_work, &a->mu);
		a->writer_idle = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Copy ev into a new queue entry. */
static int
entry_new(const struct audit_event *ev, struct qent **out)
{
	const char *s[10];
	size_t len[10], total = 0, i;
	struct qent *e;
	char *p;

	*out = NULL;
	if (ev == NULL || ev->op == NULL || ev->op[0] == '\0' ||
	    (unsigned)ev->source > AUDIT_SRC_EXEC ||
	    (unsigned)ev->result > AUDIT_RES_ERROR || ev->err < 0)
		return SN_EINVAL;
	s[0] = ev->workspace;
	s[1] = ev->agent;
	s[2] = ev->op;
	s[3] = ev->path;
	s[4] = ev->path2;
	s[5] = ev->rule;
	s[6] = ev->trace_id;
	s[7] = ev->role;
	s[8] = ev->auth;
	s[9] = NULL;
	for (i = 0; i < 9; i++) {
		if (s[i] == NULL)
			s[i] = "";
		len[i] = strnlen(s[i], AUDIT_PATH_MAX + 1);
		if (len[i] >
		    ((i == 3 || i == 4) ? AUDIT_PATH_MAX : AUDIT_FIELD_MAX))
			return SN_EINVAL;
		total += len[i] + 1;
	}
	e = malloc(sizeof(*e) + total);
	if (e == NULL)
		return SN_ENOMEM;
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e) + total;
	p = e->data;
	for (i = 0; i < 9; i++) {
		memcpy(p, s[i], len[i] + 1);
		s[i] = p;
		p += len[i] + 1;
	}
	e->row.time_ns =
	    ev->time_ns != 0 ? ev->time_ns : now_ns(CLOCK_REALTIME);
	e->row.workspace = s[0];
	e->row.agent = s[1];
	e->row.source = audit_source_str(ev->source);
	e->row.op = s[2];
	e->row.path = s[3];
	e->row.path2 = s[4];
	e->row.result = audit_result_str(ev->result);
	e->row.err = ev->err;
	e->row.rule = s[5];
	e->row.trace_id = s[6];
	e->row.role = s[7];
	e->row.auth = s[8];
	e->row.status = ev->status;
	e->row.bytes = ev->bytes;
	e->row.injected = ev->injected ? 1 : 0;
	e->row.encoding_version = AUDIT_ENCODING;
	e->row.hash_len = AUDIT_HASH_LEN;
	*out = e;
	return 0;
}

static int
emit(struct audit *a, const struct audit_event *ev, int wait, uint64_t *seq)
{
	struct waiter w = { 0, 0, 0 };
	struct qent *e;
	int64_t now;
	int r;

	if (seq != NULL)
		*seq = 0;
	r = entry_new(ev, &e);
	if (r < 0)
		return r;
	e->w = wait ? &w : NULL;
	pthread_mutex_lock(&a->mu);
	/* Back-pressure; an event bigger than the byte bound goes alone. */
	while (!a->stopping && a->qhead != NULL &&
	    (a->nqueued >= AUDIT_QUEUE_MAX ||
	        a->qbytes + e->size > AUDIT_QUEUE_BYTES))
		pthread_cond_wait(&a->cv_room, &a->mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		free(e);
		return SN_EIO;
	}
	now = now_ns(CLOCK_MONOTONIC);
	if (a->qtail != NULL) {
		a->qtail->next = e;
	} else {
		a->qhead = e;
		a->qfirst_ns = now;
	}
	a->qtail = e;
	a->qbytes += e->size;
	/* e may be freed by the committer from here on. */
	if (!wait) {
		a->qlast_ns =
		    now; /* the writer's business: see writer_main() */
		/* wake the writer if it sleeps (not while it looks) */
		if (++a->nqueued == AUDIT_LINGER_MAX || a->writer_idle) {
			a->writer_idle = 0;
			pthread_cond_signal(&a->cv_work);
		}
		pthread_mutex_unlock(&a->mu);
		return 0;
	}
	a->nqueued++;
	/*
	 * Commit it ourselves, with everything queued before it, unless a
	 * commit is running: then wait for that one, which may have taken
	 * ours along, and commit what is left after it.  No hand-over to
	 * another thread, so no wake-up, on the way of a change.
	 */
	while (!w.done) {
		if (!a->committing)
			commit_queue(a);
		else
			pthread_cond_wait(&a->cv_done, &a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	if (w.rc < 0)
		return a->fail_open ? 0 : w.rc;
	if (seq != NULL)
		*seq = w.seq;
	return 0;
}

int
audit_emit(struct audit *a, const struct audit_event *ev, int wait)
{
	return emit(a, ev, wait, NULL);
}

int
audit_commit(struct audit *a, const struct audit_event *ev, uint64_t *seq)
{
	return emit(a, ev, 1, seq);
}

int
audit_ok(struct audit *a)
{
	if (a->fail_open || !__atomic_load_n(&a->broken, __ATOMIC_RELAXED))
		return 0;
	return SN_EIO;
}

void
audit_stats(struct audit *a, struct audit_stats *st)
{
	pthread_mutex_lock(&a->mu);
	*st = a->st;
	st->queued = a->nqueued;
	pthread_mutex_unlock(&a->mu);
}

static char *
str_cat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);

	if (s != NULL) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

/*
 * Resume the chain: check the head file against the database (see
 * audit_open() in audit.h); write a head for an empty trail.
 */
static int
resume(struct audit *a, const char *db_path)
{
	struct walk w;
	struct head h;
	char *stale = NULL;
	int r, hr;

	memset(&w, 0, sizeof(w));
	w.mc = &a->mc;
	r = db_audit_last(a->db, &a->last_seq, a->last_hash);
	if (r < 0 && r != SN_ENOENT) {
		log_error("audit %s: %s", db_path, db_errmsg(a->db));
		return r;
	}
	r = hr = head_read(a->head_path, &h);
	if (hr == SN_ENOENT && a->last_seq == 0) {
		r = 0;
		goto write_head;
	}
	if (hr == SN_ENOENT)
		snprintf(w.why, sizeof(w.why),
		    "the head file is missing but the trail has %" PRIu64
		    " events",
		    a->last_seq);
	else if (hr == SN_EINVAL)
		snprintf(w.why, sizeof(w.why), "the head file is malformed");
	else if (hr < 0)
		snprintf(w.why, sizeof(w.why), "cannot read the head file: %s",
		    strerror(errno));
	else
		r = head_agrees(&a->mc, a->db, &h, a->last_seq, &w);
	free(w.enc.p);
	if (hr == 0 && r < 0) {
		log_error("audit %s: %s", db_path, db_errmsg(a->db));
		return r;
	}
	if (r == 0)
		goto write_head;
	if (!a->fail_open) {
		log_error("audit %s does not match its head %s: %s; run "
		          "`sentinel audit verify`, and move the head aside to "
		          "go on",
		    db_path, a->head_path, w.why);
		return SN_ESTALE;
	}
	if (hr != SN_ENOENT) {
		stale = str_cat(a->head_path, ".stale");
		if (stale == NULL || rename(a->head_path, stale) < 0)
			log_error("cannot keep the stale head %s as %s: %s",
			    a->head_path, stale != NULL ? stale : "(no memory)",
			    strerror(errno));
	}
	log_error("audit %s does not match its head %s: %s; going on "
	          "(audit_fail_open), the old head is %s",
	    db_path, a->head_path, w.why,
	    hr == SN_ENOENT   ? "missing" :
	        stale != NULL ? stale :
	                        "lost");
	free(stale);
write_head:
	a->head_fd =
	    open(a->head_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->head_fd < 0 || ftruncate(a->head_fd, HEAD_LEN) < 0)
		r = SN_ESYS;
	else
		r = head_write(&a->mc, a->head_fd, a->last_seq, a->last_hash);
	if (r < 0)
		log_error("cannot write audit head %s: %s", a->head_path,
		    strerror(errno));
	return r;
}

int
audit_open(const char *db_path, const char *head_path, const unsigned char *key,
    size_t keylen, int fail_open, struct audit **out)
{
	pthread_condattr_t ca;
	struct audit *a;
	int r;

	*out = NULL;
	if (db_path == NULL || head_path == NULL || key == NULL ||
	    keylen < 16 || keylen > 64)
		return SN_EINVAL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return SN_ENOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca,
	    CLOCK_MONOTONIC); /* the writer's linger */
	pthread_cond_init(&a->cv_work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->cv_room, NULL);
	pthread_cond_init(&a->cv_done, NULL);
	a->fail_open = fail_open ? 1 : 0;
	a->head_path = strdup(head_path);
	a->head_fd = -1;
	if (a->head_path == NULL) {
		r = SN_ENOMEM;
		goto out;
	}
	if ((r = mac_init(&a->mc, key, keylen)) < 0)
		goto out;
	r = db_open(db_path, DB_CREATE, &a->db);
	if (r < 0) {
		log_error("audit database %s: %s", db_path, err_str(r));
		goto out;
	}
	if ((r = resume(a, db_path)) < 0)
		goto out;
	a->st.last_seq = a->last_seq;
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		r = SN_ESYS;
		goto out;
	}
	a->started = 1;
	*out = a;
	return 0;
out:
	audit_close(a);
	return r;
}

void
audit_close(struct audit *a)
{
	struct qent *e, *next;

	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stopping = 1;
		pthread_cond_broadcast(&a->cv_work);
		pthread_cond_broadcast(&a->cv_room);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	for (e = a->qhead; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	db_close(a->db);
	mac_free(&a->mc);
	free(a->enc.p);
	free(a->rows);
	free(a->head_path);
	if (a->head_fd >= 0)
		close(a->head_fd);
	pthread_cond_destroy(&a->cv_done);
	pthread_cond_destroy(&a->cv_room);
	pthread_cond_destroy(&a->cv_work);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* ---- verification ------------------------------------------------------- */

int
audit_verify(const char *db_path, const char *head_path,
    const unsigned char *key, size_t keylen, struct audit_verify_report *rep)
{
	struct mac mc = { NULL, NULL };
	struct db *db = NULL;
	struct timespec pause = { 0, 10000000 };
	unsigned char m[AUDIT_HASH_LEN];
	struct walk w;
	struct head h;
	int r, hr, tries;

	memset(rep, 0, sizeof(*rep));
	memset(&w, 0, sizeof(w));
	if (key == NULL || keylen < 16 || keylen > 64)
		return SN_EINVAL;
	if ((r = mac_init(&mc, key, keylen)) < 0)
		return r;
	w.mc = &mc;
	/* The head first: a commit it names is in any later snapshot.  A
	 * record that does not check may be one read while the daemon
	 * rewrote it: read it again, a few times. */
	for (tries = 0;; tries++) {
		hr = head_read(head_path, &h);
		if (hr == SN_ESYS) {
			r = SN_ESYS;
			goto out;
		}
		if (hr == SN_ENOENT || tries == 3 ||
		    (hr == 0 && head_mac(&mc, h.seq, h.hash, m) == 0 &&
		        CRYPTO_memcmp(m, h.mac, AUDIT_HASH_LEN) == 0))
			break;
		nanosleep(&pause, NULL);
	}
	if ((r = db_open(db_path, 0, &db)) < 0)
		goto out;
	/* One walk over the whole trail, in one snapshot; it remembers the
	 * hash of the row the head names. */
	w.expect = 1;
	w.pin_seq = hr == 0 ? h.seq : 0;
	r = db_audit_each(db, 0, 0, walk_row, &w);
	rep->events = w.rows;
	rep->last_seq = w.expect - 1;
	if (hr == 0)
		rep->head_seq = h.seq;
	if (r < 0)
		goto out;
	if (r != 0) {
		r = db_audit_last(db, &rep->last_seq, w.prev);
		if (r < 0 && r != SN_ENOENT)
			goto out;
		r = 1;
		goto broken;
	}
	if (hr == SN_ENOENT) {
		if (rep->events == 0)
			goto out;
		snprintf(w.why, sizeof(w.why),
		    "the head file %s is missing (%" PRIu64 " events)",
		    head_path, rep->events);
		r = 1;
		goto broken;
	}
	if (hr == SN_EINVAL) {
		snprintf(w.why, sizeof(w.why), "the head file %s is malformed",
		    head_path);
		r = 1;
		goto broken;
	}
	if ((r = head_sane(&mc, &h, rep->last_seq, &w)) == 0)
		r = head_matches_pin(&h, &w);
	if (r <= 0)
		goto out;
broken:
	rep->bad_seq = w.bad_seq;
	snprintf(rep->why, sizeof(rep->why), "%s", w.why);
out:
	free(w.enc.p);
	db_close(db);
	mac_free(&mc);
	return r;
}

/* ---- keys and paths ----------------------------------------------------- */

int
audit_key_load(const char *path, unsigned char key[AUDIT_KEY_LEN])
{
	unsigned char buf[2 * AUDIT_KEY_LEN + 2];
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? SN_ENOENT : SN_ESYS;
	if (fstat(fd, &st) < 0) {
		r = SN_ESYS;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		log_error(
		    "audit key %s must be a regular file owned by uid %u "
		    "with mode 0600 or stricter (it is mode %04o, uid %u)",
		    path, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777),
		    (unsigned)st.st_uid);
		r = SN_EPERM;
		goto out;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = SN_ESYS;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == AUDIT_KEY_LEN) {
		memcpy(key, buf, AUDIT_KEY_LEN);
		r = 0;
	} else if ((len == 2 * AUDIT_KEY_LEN ||
	               (len == 2 * AUDIT_KEY_LEN + 1 &&
	                   buf[len - 1] == '\n')) &&
	    hex_decode((const char *)buf, key, AUDIT_KEY_LEN) == 0) {
		r = 0;
	} else {
		log_error("audit key %s: not 32 bytes nor 64 hex digits", path);
		r = SN_EINVAL;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r < 0)
		OPENSSL_cleanse(key, AUDIT_KEY_LEN);
	close(fd);
	return r;
}

/* fsync the directory that holds path. */
static int
sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, r = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return SN_ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = SN_ESYS;
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int
audit_key_load_or_create(const char *path, unsigned char key[AUDIT_KEY_LEN])
{
	unsigned char fresh[AUDIT_KEY_LEN];
	size_t got = 0;
	ssize_t n;
	int fd, r;

	r = audit_key_load(path, key);
	if (r != SN_ENOENT)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? audit_key_load(path, key) : SN_ESYS;
	while (got < sizeof(fresh)) {
		n = getrandom(fresh + got, sizeof(fresh) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = SN_ESYS;
			goto out;
		}
		got += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 ||
	    write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) ||
	    fsync(fd) < 0) {
		r = SN_ESYS;
		goto out;
	}
	r = sync_parent(path);
out:
	OPENSSL_cleanse(fresh, sizeof(fresh));
	if (close(fd) < 0 && r == 0)
		r = SN_ESYS;
	if (r < 0) {
		(void)unlink(path);
		return r;
	}
	log_info("created audit key %s", path);
	return audit_key_load(path, key);
}

int
audit_key_default_path(const char *state_dir, char **out)
{
	size_t n;
	const char *base;
	char *s;

	*out = NULL;
	if (state_dir == NULL)
		return SN_EINVAL;
	n = strlen(state_dir);
	while (n > 0 && state_dir[n - 1] == '/')
		n--;
	base = state_dir + n;
	while (base > state_dir && base[-1] != '/')
		base--;
	if (n == 0 || (state_dir + n - base == 1 && base[0] == '.') ||
	    (state_dir + n - base == 2 && base[0] == '.' && base[1] == '.'))
		return SN_EINVAL;
	s = malloc(n + sizeof(AUDIT_KEY_SUFFIX));
	if (s == NULL)
		return SN_ENOMEM;
	memcpy(s, state_dir, n);
	memcpy(s + n, AUDIT_KEY_SUFFIX, sizeof(AUDIT_KEY_SUFFIX));
	*out = s;
	return 0;
}

/* [A-Za-z0-9._-]{1,64}, not "." or ".." (config_valid_id's rule). */
static int
valid_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 64 ||
		    !((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		        s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return i > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static char *
ws_file(const char *state_dir, const char *id, const char *name)
{
	size_t n = strlen(state_dir) + strlen(id) + strlen(name) + 16;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/workspaces/%s/%s", state_dir, id, name);
	return s;
}

int
audit_workspace_paths(const char *state_dir, const char *id, char **db_path,
    char **head_path)
{
	char *d = NULL, *h = NULL;

	if (db_path != NULL)
		*db_path = NULL;
	if (head_path != NULL)
		*head_path = NULL;
	if (state_dir == NULL || *state_dir == '\0' || id == NULL ||
	    !valid_id(id))
		return SN_EINVAL;
	if ((db_path != NULL &&
	        (d = ws_file(state_dir, id, AUDIT_DB_NAME)) == NULL) ||
	    (head_path != NULL &&
	        (h = ws_file(state_dir, id, AUDIT_HEAD_NAME)) == NULL)) {
		free(d);
		free(h);
		return SN_ENOMEM;
	}
	if (db_path != NULL)
		*db_path = d;
	if (head_path != NULL)
		*head_path = h;
	return 0;
}
