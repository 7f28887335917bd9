/*
 * redact.c - streaming redaction of secret values (see redact.h).
 *
 * The input is read through three "views", each a deterministic
 * transformation of the byte stream into symbols, and each view runs one
 * Aho-Corasick automaton over the forms of all secrets it can see:
 *
 *   raw  the bytes themselves; only for values that the URL view could
 *        miss (a value holding '%', or starting with a hex digit that a
 *        '%' before it would swallow).  Off when no value needs it.
 *   url  "%XX" decoded to the byte XX, '+' folded to ' ' (in the value
 *        too); every other byte is itself.  So a plain value is seen
 *        here as well as any URL-encoded mix of it.
 *   b64  base64 characters as 6-bit values (both alphabets), '\r' '\n'
 *        skipped (at most 2 in a row), anything else breaks the run.
 *        The patterns are the cores of each value at alignments 0, 1, 2.
 *
 * Every symbol remembers the input offset where it starts (a ring as
 * long as the longest pattern), so a match becomes a span [s, e) of
 * input offsets.  Spans go to one list per view, sorted and disjoint
 * (matches end in order, and an overlap merges with the tail).
 *
 * Emission.  An automaton in state of depth d may still complete a match
 * that starts d symbols back (plus, in base64, the partial character
 * before a core, and a "%X" still open in the URL view); the earliest
 * such input offset over all views is the safe point P: every byte before
 * P is final.  Spans of the three lists are merged into groups; a group
 * ending at or before P is final and is emitted as one replacement; plain
 * bytes are emitted up to min(P, start of the first open group).  A group
 * that starts more than the hold-back before the current offset is cut
 * and emitted as it is (later overlapping matches are clipped to what
 * follows it), which bounds what is held for any input.
 *
 * Input is copied into a buffer of hold-back + BLOCK bytes, scanned by
 * each view in turn (a tight loop per view), then emitted; the rest is
 * moved to the front.  Secret-derived data (trie labels, held output)
 * is wiped at free.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/redact.h"

#define BLOCK     16384 /* input scanned between two emissions */
#define TOKEN_PRE "[REDACTED:"
#define B64_NL    0xfe /* '\r' or '\n' in the base64 view */
#define B64_NONE  0xff /* not base64 */
#define MAX_NL    2    /* line-break bytes skipped in a row */

enum { V_RAW, V_URL, V_B64, NVIEW };

/* One form of one secret in one view. */
struct pat {
	uint32_t sec;  /* index of the secret */
	uint32_t len;  /* in symbols of its view */
	uint8_t lead;  /* base64: a partial character precedes the core */
	uint8_t trail; /* base64: a partial character follows the core */
};

/* A pattern handed to ac_build(). */
struct pin {
	const unsigned char *sym;
	uint32_t len;
	uint32_t id; /* index into the pattern table */
};

/*
 * An Aho-Corasick automaton.  Nodes are numbered in breadth-first order,
 * so the children of a node are contiguous: [first, first + nchild).
 * Node 0 is the root; its children are found through root[].
 */
struct ac {
	uint32_t n;
	uint32_t *first;
	uint16_t *nchild;
	uint8_t *label;
	uint32_t *fail;
	int32_t *match;  /* longest pattern ending here, -1 if none */
	uint32_t *depth; /* symbols from the root */
	uint8_t *trail;  /* a pattern ending here has a trailing partial */
	uint32_t root[256];
	uint32_t maxlen;
};

/* A span of input offsets to replace. */
struct span {
	uint64_t s, e;
	uint32_t sec;
};

/* Sorted, disjoint spans; [head, n) are live. */
struct spans {
	struct span *v;
	size_t head, n, cap;
};

struct sec {
	char *token; /* "[REDACTED:NAME]" */
	size_t toklen;
	size_t len; /* bytes in the value */
};

struct redact {
	struct sec *sec;
	size_t nsec;
	struct pat *pat;
	size_t npat;
	struct ac ac[NVIEW];
	int on[NVIEW];
	uint32_t st[NVIEW]; /* automaton states */
	struct spans sp[NVIEW];

	/* symbol start offsets of the url and b64 views */
	uint64_t *ring[NVIEW];
	uint64_t rmask[NVIEW];
	uint64_t nsym[NVIEW];

	/* URL decoder: 0, or 1 after '%', 2 after '%' and a hex digit */
	int upend;
	uint64_t uat; /* offset of that '%' */
	unsigned char uh1;

	/* base64 view */
	uint64_t run_start; /* first symbol of the current run */
	unsigned nl;        /* line-break bytes since the last character */
	int ext;            /* a match waits for its trailing partial char */
	struct span extsp;
	uint8_t b64[256];

	unsigned char *buf; /* input [base, pos) not yet emitted */
	size_t cap;
	uint64_t base, pos;
	size_t hold;
	uint64_t count;
	int err;
	int finished;
};

static void
wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- Aho-Corasick ------------------------------------------------------ */

static void
ac_clear(struct ac *a)
{
	size_t n = a->n;

	wipe_free(a->first, n * sizeof(*a->first));
	wipe_free(a->nchild, n * sizeof(*a->nchild));
	wipe_free(a->label, n * sizeof(*a->label));
	wipe_free(a->fail, n * sizeof(*a->fail));
	wipe_free(a->match, n * sizeof(*a->match));
	wipe_free(a->depth, n * sizeof(*a->depth));
	wipe_free(a->trail, n * sizeof(*a->trail));
	explicit_bzero(a, sizeof(*a));
}

/* Child of s labelled c, 0 if none. */
static inline uint32_t
ac_child(const struct ac *a, uint32_t s, uint8_t c)
{
	uint32_t i, e;

	if (s == 0)
		return a->root[c];
	for (i = a->first[s], e = i + a->nchild[s]; i < e; i++)
		if (a->label[i] == c)
			return i;
	return 0;
}

static inline uint32_t
ac_step(const struct ac *a, uint32_t s, uint8_t c)
{
	uint32_t x;

	for (;;) {
		x = ac_child(a, s, c);
		if (x != 0 || s == 0)
			return x;
		s = a->fail[s];
	}
}

#define NONE UINT32_MAX

/* Build a from the np patterns at p (pattern table pat). */
static int
ac_build(struct ac *a, const struct pin *p, size_t np, const struct pat *pat)
{
	uint32_t *tchild = NULL, *tsib = NULL, *q = NULL, *par = NULL;
	int32_t *tterm = NULL;
	uint8_t *tlabel = NULL;
	size_t total = 1, i, k, nodes = 1, head, tail;
	uint32_t u, c, x, cnt;
	int rc = SN_ENOMEM;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < np; i++)
		total += p[i].len;
	if ((tchild = malloc(total * sizeof(*tchild))) == NULL ||
	    (tsib = malloc(total * sizeof(*tsib))) == NULL ||
	    (tlabel = malloc(total)) == NULL ||
	    (tterm = malloc(total * sizeof(*tterm))) == NULL ||
	    (q = malloc(total * sizeof(*q))) == NULL ||
	    (par = malloc(total * sizeof(*par))) == NULL)
		goto out;
	tchild[0] = NONE;
	tsib[0] = NONE;
	tlabel[0] = 0;
	tterm[0] = -1;
	/* The trie, children as linked lists. */
	for (i = 0; i < np; i++) {
		u = 0;
		for (k = 0; k < p[i].len; k++) {
			for (x = tchild[u]; x != NONE; x = tsib[x])
				if (tlabel[x] == p[i].sym[k])
					break;
			if (x == NONE) {
				x = (uint32_t)nodes++;
				tchild[x] = NONE;
				tlabel[x] = p[i].sym[k];
				tterm[x] = -1;
				tsib[x] = tchild[u];
				tchild[u] = x;
			}
			u = x;
		}
		if (tterm[u] < 0) /* the first of equal patterns stays */
			tterm[u] = (int32_t)p[i].id;
	}

	a->n = (uint32_t)nodes;
	if ((a->first = calloc(nodes, sizeof(*a->first))) == NULL ||
	    (a->nchild = calloc(nodes, sizeof(*a->nchild))) == NULL ||
	    (a->label = calloc(nodes, sizeof(*a->label))) == NULL ||
	    (a->fail = calloc(nodes, sizeof(*a->fail))) == NULL ||
	    (a->match = calloc(nodes, sizeof(*a->match))) == NULL ||
	    (a->depth = calloc(nodes, sizeof(*a->depth))) == NULL ||
	    (a->trail = calloc(nodes, sizeof(*a->trail))) == NULL)
		goto out;

	/* Renumber breadth-first: q[new id] = old id. */
	q[0] = 0;
	a->match[0] = -1;
	for (head = 0, tail = 1; head < tail; head++) {
		a->first[head] = (uint32_t)tail;
		cnt = 0;
		for (x = tchild[q[head]]; x != NONE; x = tsib[x]) {
			q[tail] = x;
			a->label[tail] = tlabel[x];
			a->match[tail] = tterm[x];
			a->depth[tail] = a->depth[head] + 1;
			par[tail] = (uint32_t)head;
			if (a->depth[tail] > a->maxlen)
				a->maxlen = a->depth[tail];
			tail++;
			cnt++;
		}
		a->nchild[head] = (uint16_t)cnt;
	}
	for (k = 0; k < a->nchild[0]; k++)
		a->root[a->label[a->first[0] + k]] = a->first[0] + (uint32_t)k;

	/* Failure links and outputs, parents before children. */
	for (x = 1; x < nodes; x++) {
		u = par[x];
		c = a->label[x];
		if (u == 0) {
			a->fail[x] = 0;
		} else {
			a->fail[x] = ac_step(a, a->fail[u], (uint8_t)c);
		}
		a->trail[x] = a->trail[a->fail[x]];
		if (a->match[x] >= 0) {
			if (pat[a->match[x]].trail)
				a->trail[x] = 1;
		} else {
			a->match[x] = a->match[a->fail[x]];
		}
	}
	rc = 0;
out:
	if (tlabel != NULL)
		explicit_bzero(tlabel, total);
	free(tchild);
	free(tsib);
	free(tlabel);
	free(tterm);
	free(q);
	free(par);
	if (rc != 0)
		ac_clear(a);
	return rc;
}

/* ---- building ----------------------------------------------------------- */

static int
name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (i >= REDACT_NAME_MAX || name[i] < 0x20 || name[i] > 0x7e ||
		    name[i] == ']')
			return 0;
	return 1;
}

/* Byte j of the data "a zero bytes, the value, zero bytes". */
static unsigned char
padded(const unsigned char *v, size_t len, size_t a, size_t j)
{
	return (j >= a && j - a < len) ? v[j - a] : 0;
}

/*
 * The base64 core of v at alignment a, as 6-bit values, into out (room
 * for len * 4 / 3 + 2).  Returns its length; *lead / *trail say whether
 * a partial character precedes / follows it.
 */
static size_t
b64_core(const unsigned char *v, size_t len, size_t a, unsigned char *out,
    uint8_t *lead, uint8_t *trail)
{
	size_t k, kstart = (8 * a + 5) / 6, kend = 8 * (a + len) / 6, b, n = 0;
	unsigned w;

	for (k = kstart; k < kend; k++) {
		b = 6 * k;
		w = (unsigned)padded(v, len, a, b / 8) << 8 |
		    padded(v, len, a, b / 8 + 1);
		out[n++] = (unsigned char)((w >> (10 - b % 8)) & 63);
	}
	*lead = (8 * a) % 6 != 0;
	*trail = (8 * (a + len)) % 6 != 0;
	return n;
}

static int
raw_needed(const unsigned char *v, size_t len)
{
	return hexval(v[0]) >= 0 || memchr(v, '%', len) != NULL;
}

static uint64_t
pow2_above(uint64_t x)
{
	uint64_t p = 1;

	while (p <= x)
		p <<= 1;
	return p;
}

static void
b64_table(uint8_t *t)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz0123456789+/";
	int i;

	memset(t, B64_NONE, 256);
	for (i = 0; i < 64; i++)
		t[(unsigned char)alpha[i]] = (uint8_t)i;
	t['-'] = 62;
	t['_'] = 63;
	t['\r'] = B64_NL;
	t['\n'] = B64_NL;
}

int
redact_new(const struct redact_secret *s, size_t n, struct redact **out)
{
	struct redact *r = NULL;
	struct pin *pin[NVIEW] = { NULL, NULL, NULL };
	size_t npin[NVIEW] = { 0, 0, 0 };
	unsigned char *scratch = NULL, *sp;
	size_t i, j, a, total = 0, scratch_len = 0, nl, maxsym;
	uint8_t lead, trail;
	int rc = SN_EINVAL, v;

	*out = NULL;
	if (s == NULL && n > 0)
		goto out;
	rc = SN_ERANGE;
	if (n > REDACT_MAX_SECRETS)
		goto out;
	for (i = 0; i < n; i++) {
		rc = SN_EINVAL;
		if (!name_ok(s[i].name) || s[i].value == NULL ||
		    s[i].len < REDACT_MIN_LEN)
			goto out;
		rc = SN_ERANGE;
		if (s[i].len > REDACT_MAX_LEN)
			goto out;
		total += s[i].len;
	}
	if (total > REDACT_MAX_TOTAL)
		goto out;

	rc = SN_ENOMEM;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	b64_table(r->b64);
	if (n > 0 &&
	    ((r->sec = calloc(n, sizeof(*r->sec))) == NULL ||
	        (r->pat = calloc(5 * n, sizeof(*r->pat))) == NULL ||
	        (pin[V_RAW] = calloc(n, sizeof(*pin[V_RAW]))) == NULL ||
	        (pin[V_URL] = calloc(n, sizeof(*pin[V_URL]))) == NULL ||
	        (pin[V_B64] = calloc(3 * n, sizeof(*pin[V_B64]))) == NULL))
		goto out;
	r->nsec = n;
	for (i = 0; i < n; i++) {
		nl = strlen(s[i].name);
		r->sec[i].toklen = sizeof(TOKEN_PRE) - 1 + nl + 1;
		if ((r->sec[i].token = malloc(r->sec[i].toklen)) == NULL)
			goto out;
		memcpy(r->sec[i].token, TOKEN_PRE, sizeof(TOKEN_PRE) - 1);
		memcpy(r->sec[i].token + sizeof(TOKEN_PRE) - 1, s[i].name, nl);
		r->sec[i].token[r->sec[i].toklen - 1] = ']';
		r->sec[i].len = s[i].len;
		scratch_len += s[i].len + 3 * (s[i].len * 4 / 3 + 2);
	}

	/* The forms of each value, in the scratch buffer. */
	if (n > 0 && (scratch = malloc(scratch_len)) == NULL)
		goto out;
	sp = scratch;
	for (i = 0; i < n; i++) {
		if (raw_needed(s[i].value, s[i].len)) {
			r->pat[r->npat] = (struct pat){ (uint32_t)i,
				(uint32_t)s[i].len, 0, 0 };
			pin[V_RAW][npin[V_RAW]++] = (struct pin){ s[i].value,
				(uint32_t)s[i].len, (uint32_t)r->npat++ };
		}
		for (j = 0; j < s[i].len; j++)
			sp[j] = s[i].value[j] == '+' ? ' ' : s[i].value[j];
		r->pat[r->npat] =
		    (struct pat){ (uint32_t)i, (uint32_t)s[i].len, 0, 0 };
		pin[V_URL][npin[V_URL]++] =
		    (struct pin){ sp, (uint32_t)s[i].len, (uint32_t)r->npat++ };
		sp += s[i].len;
		for (a = 0; a < 3; a++) {
			j = b64_core(s[i].value, s[i].len, a, sp, &lead,
			    &trail);
			if (j < REDACT_B64_MIN_CORE)
				continue;
			r->pat[r->npat] = (struct pat){ (uint32_t)i,
				(uint32_t)j, lead, trail };
			pin[V_B64][npin[V_B64]++] = (struct pin){ sp,
				(uint32_t)j, (uint32_t)r->npat++ };
			sp += j;
		}
	}

	r->hold = 0;
	for (v = 0; v < NVIEW; v++) {
		if (npin[v] == 0)
			continue;
		if ((rc = ac_build(&r->ac[v], pin[v], npin[v], r->pat)) != 0)
			goto out;
		r->on[v] = 1;
		maxsym = r->ac[v].maxlen;
		if (v == V_RAW)
			nl = maxsym;
		else if (v == V_URL)
			nl = 3 * maxsym + 2;
		else
			nl = (MAX_NL + 1) * (maxsym + 1);
		if (nl > r->hold)
			r->hold = nl;
		if (v == V_RAW)
			continue;
		rc = SN_ENOMEM;
		r->rmask[v] = pow2_above(maxsym + 1) - 1;
		if ((r->ring[v] = calloc(r->rmask[v] + 1,
		         sizeof(*r->ring[v]))) == NULL)
			goto out;
	}
	rc = SN_ENOMEM;
	r->cap = r->hold + BLOCK;
	if ((r->buf = malloc(r->cap)) == NULL)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	if (scratch != NULL)
		wipe_free(scratch, scratch_len);
	for (v = 0; v < NVIEW; v++)
		free(pin[v]);
	redact_free(r);
	return rc;
}

void
redact_free(struct redact *r)
{
	size_t i;
	int v;

	if (r == NULL)
		return;
	for (i = 0; i < r->nsec; i++)
		free(r->sec[i].token);
	free(r->sec);
	free(r->pat);
	for (v = 0; v < NVIEW; v++) {
		ac_clear(&r->ac[v]);
		wipe_free(r->sp[v].v, r->sp[v].cap * sizeof(*r->sp[v].v));
		wipe_free(r->ring[v], (r->rmask[v] + 1) * sizeof(*r->ring[v]));
	}
	wipe_free(r->buf, r->cap);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

size_t
redact_holdback(const struct redact *r)
{
	return r->hold;
}

uint64_t
redact_count(const struct redact *r)
{
	return r->count;
}

/* ---- matching ------------------------------------------------------------ */

/* 1 if secret a names a merged span rather than b. */
static int
better(const struct redact *r, uint32_t x, uint32_t y)
{
	size_t lx = r->sec[x].len, ly = r->sec[y].len;

	return lx > ly || (lx == ly && x < y);
}

/* Add [s, e) to list v, merging with what it overlaps at the tail. */
static int
add_span(struct redact *r, int v, uint64_t s, uint64_t e, uint32_t sec)
{
	struct spans *l = &r->sp[v];
	struct span *t, *nv;
	size_t ncap;

	if (s < r->base) /* already emitted, inside a cut replacement */
		s = r->base;
	if (e <= s)
		return 0;
	while (l->n > l->head && l->v[l->n - 1].e > s) {
		t = &l->v[l->n - 1];
		if (t->s < s)
			s = t->s;
		if (t->e > e)
			e = t->e;
		if (better(r, t->sec, sec))
			sec = t->sec;
		l->n--;
	}
	if (l->n == l->cap) {
		if (l->head > 0) {
			memmove(l->v, l->v + l->head,
			    (l->n - l->head) * sizeof(*l->v));
			l->n -= l->head;
			l->head = 0;
		} else {
			ncap = l->cap ? 2 * l->cap : 16;
			if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
				return SN_ENOMEM;
			l->v = nv;
			l->cap = ncap;
		}
	}
	l->v[l->n++] = (struct span){ s, e, sec };
	return 0;
}

static int
scan_raw(struct redact *r, const unsigned char *p, size_t n)
{
	const struct ac *a = &r->ac[V_RAW];
	uint32_t s = r->st[V_RAW];
	uint64_t o = r->pos;
	int32_t m;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		s = ac_step(a, s, p[i]);
		if ((m = a->match[s]) < 0)
			continue;
		rc = add_span(r, V_RAW, o + i + 1 - r->pat[m].len, o + i + 1,
		    r->pat[m].sec);
		if (rc != 0)
			break;
	}
	r->st[V_RAW] = s;
	return rc;
}

/* One decoded symbol c of the URL view, from input [start, end). */
static int
url_sym(struct redact *r, unsigned char c, uint64_t start, uint64_t end)
{
	const struct ac *a = &r->ac[V_URL];
	uint64_t *ring = r->ring[V_URL], mask = r->rmask[V_URL];
	int32_t m;

	ring[r->nsym[V_URL]++ & mask] = start;
	r->st[V_URL] = ac_step(a, r->st[V_URL], c == '+' ? ' ' : c);
	if ((m = a->match[r->st[V_URL]]) < 0)
		return 0;
	return add_span(r, V_URL, ring[(r->nsym[V_URL] - r->pat[m].len) & mask],
	    end, r->pat[m].sec);
}

/* Flush an open "%" or "%X" as literal symbols. */
static int
url_flush(struct redact *r)
{
	int rc = 0;

	if (r->upend >= 1)
		rc = url_sym(r, '%', r->uat, r->uat + 1);
	if (rc == 0 && r->upend == 2)
		rc = url_sym(r, r->uh1, r->uat + 1, r->uat + 2);
	r->upend = 0;
	return rc;
}

static int
scan_url(struct redact *r, const unsigned char *p, size_t n)
{
	uint64_t o;
	size_t i;
	int rc = 0, h;

	for (i = 0; i < n && rc == 0; i++) {
		o = r->pos + i;
		if (r->upend == 0) {
			if (p[i] == '%') {
				r->upend = 1;
				r->uat = o;
			} else {
				rc = url_sym(r, p[i], o, o + 1);
			}
			continue;
		}
		if ((h = hexval(p[i])) >= 0 && r->upend == 1) {
			r->uh1 = p[i];
			r->upend = 2;
		} else if (h >= 0) {
			r->upend = 0;
			rc =
			    url_sym(r, (unsigned char)(hexval(r->uh1) << 4 | h),
			        r->uat, o + 1);
		} else {
			/* Not an escape: literals, then this byte afresh. */
			if ((rc = url_flush(r)) == 0)
				i--;
		}
	}
	return rc;
}

static void
b64_break(struct redact *r)
{
	r->st[V_B64] = 0;
	r->run_start = r->nsym[V_B64];
	r->ext = 0;
	r->nl = 0;
}

static int
scan_b64(struct redact *r, const unsigned char *p, size_t n)
{
	const struct ac *a = &r->ac[V_B64];
	uint64_t *ring = r->ring[V_B64], mask = r->rmask[V_B64], o, i0, s;
	uint32_t st = r->st[V_B64];
	const struct pat *pt;
	uint8_t v;
	int32_t m;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		o = r->pos + i;
		v = r->b64[p[i]];
		if (v == B64_NL && r->nl < MAX_NL) {
			r->nl++;
			continue;
		}
		if (v >= 64) {
			r->st[V_B64] = st;
			b64_break(r);
			st = 0;
			continue;
		}
		r->nl = 0;
		if (r->ext) {
			/* The partial character after a core. */
			r->ext = 0;
			rc =
			    add_span(r, V_B64, r->extsp.s, o + 1, r->extsp.sec);
			if (rc != 0)
				break;
		}
		ring[r->nsym[V_B64]++ & mask] = o;
		st = ac_step(a, st, v);
		if ((m = a->match[st]) < 0)
			continue;
		pt = &r->pat[m];
		i0 = r->nsym[V_B64] - pt->len;
		s = ring[i0 & mask];
		if (pt->lead && i0 > r->run_start)
			s = ring[(i0 - 1) & mask];
		rc = add_span(r, V_B64, s, o + 1, pt->sec);
		if (a->trail[st]) {
			r->ext = 1;
			r->extsp = (struct span){ s, o + 1, pt->sec };
		}
	}
	r->st[V_B64] = st;
	return rc;
}

/* The earliest input offset a match still in progress may start at. */
static uint64_t
safe_point(const struct redact *r)
{
	uint64_t p = r->pos, d, i, x;

	if (r->on[V_RAW]) {
		d = r->ac[V_RAW].depth[r->st[V_RAW]];
		if (r->pos - d < p)
			p = r->pos - d;
	}
	if (r->on[V_URL]) {
		d = r->ac[V_URL].depth[r->st[V_URL]];
		if (d > 0) {
			x = r->ring[V_URL]
			           [(r->nsym[V_URL] - d) & r->rmask[V_URL]];
			if (x < p)
				p = x;
		}
		if (r->upend != 0 && r->uat < p)
			p = r->uat;
	}
	if (r->on[V_B64]) {
		/* Also the character before: a core's leading partial. */
		d = r->ac[V_B64].depth[r->st[V_B64]];
		i = r->nsym[V_B64] - d;
		if (i > r->run_start)
			i--;
		if (i < r->nsym[V_B64]) {
			x = r->ring[V_B64][i & r->rmask[V_B64]];
			if (x < p)
				p = x;
		}
		if (r->ext && r->extsp.s < p)
			p = r->extsp.s;
	}
	return p;
}

/*
 * Emit what is final: replacements for closed groups of spans, plain
 * bytes up to the safe point.  final: the stream has ended.
 */
static int
flush(struct redact *r, redact_emit emit, void *arg, int final)
{
	const uint64_t base0 = r->base;
	uint64_t P = final ? r->pos : safe_point(r), S, E, limit;
	size_t idx[NVIEW];
	uint32_t sec;
	int v, grew, best, rc = 0;
	struct span *t;

	limit = P;
	for (;;) {
		/* The group that starts first: spans chained by overlap. */
		best = -1;
		for (v = 0; v < NVIEW; v++) {
			idx[v] = r->sp[v].head;
			if (idx[v] < r->sp[v].n &&
			    (best < 0 ||
			        r->sp[v].v[idx[v]].s <
			            r->sp[best].v[idx[best]].s))
				best = v;
		}
		if (best < 0)
			break;
		t = &r->sp[best].v[idx[best]++];
		S = t->s;
		E = t->e;
		sec = t->sec;
		do {
			grew = 0;
			for (v = 0; v < NVIEW; v++) {
				while (idx[v] < r->sp[v].n &&
				    r->sp[v].v[idx[v]].s < E) {
					t = &r->sp[v].v[idx[v]++];
					if (t->e > E)
						E = t->e;
					if (better(r, t->sec, sec))
						sec = t->sec;
					grew = 1;
				}
			}
		} while (grew);
		if (!final && E > P && S + r->hold >= r->pos) {
			/* Open: may still grow. */
			if (S < limit)
				limit = S;
			break;
		}
		if (S > r->base &&
		    (rc = emit(arg, (const char *)r->buf + (r->base - base0),
		         S - r->base)) != 0)
			goto out;
		if ((rc = emit(arg, r->sec[sec].token, r->sec[sec].toklen)) !=
		    0)
			goto out;
		r->count++;
		r->base = E;
		for (v = 0; v < NVIEW; v++)
			r->sp[v].head = idx[v];
	}
	if (limit > r->base) {
		rc = emit(arg, (const char *)r->buf + (r->base - base0),
		    limit - r->base);
		if (rc != 0)
			goto out;
		r->base = limit;
	}
out:
	for (v = 0; v < NVIEW; v++) {
		if (r->sp[v].head == r->sp[v].n)
			r->sp[v].head = r->sp[v].n = 0;
	}
	if (r->base > base0 && r->pos > r->base)
		memmove(r->buf, r->buf + (r->base - base0), r->pos - r->base);
	return rc;
}

static int
scan(struct redact *r, const unsigned char *p, size_t n)
{
	int rc = 0;

	if (r->on[V_RAW])
		rc = scan_raw(r, p, n);
	if (rc == 0 && r->on[V_URL])
		rc = scan_url(r, p, n);
	if (rc == 0 && r->on[V_B64])
		rc = scan_b64(r, p, n);
	r->pos += n;
	return rc;
}

int
redact_feed(struct redact *r, const char *in, size_t n, redact_emit emit,
    void *arg)
{
	size_t held, k;
	int rc;

	if (r->err != 0)
		return r->err;
	if (r->finished)
		return SN_EINVAL;
	while (n > 0) {
		held = (size_t)(r->pos - r->base);
		k = r->cap - held;
		if (k > n)
			k = n;
		memcpy(r->buf + held, in, k);
		rc = scan(r, r->buf + held, k);
		if (rc == 0)
			rc = flush(r, emit, arg, 0);
		if (rc != 0) {
			r->err = rc;
			return rc;
		}
		in += k;
		n -= k;
	}
	return 0;
}

int
redact_finish(struct redact *r, redact_emit emit, void *arg)
{
	int rc = 0;

	if (r->err != 0)
		return r->err;
	if (r->finished)
		return 0;
	if (r->on[V_URL])
		rc = url_flush(r);
	r->ext = 0;
	if (rc == 0)
		rc = flush(r, emit, arg, 1);
	if (rc != 0) {
		r->err = rc;
		return rc;
	}
	r->finished = 1;
	return 0;
}
