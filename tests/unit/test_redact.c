/*
 * test_redact.c - the streaming redactor (src/core/redact.c): raw,
 * URL-encoded and base64 forms (every alignment, both alphabets, padding,
 * line wrapping), several and overlapping secrets, binary and 1 KiB
 * values, each fed whole and cut at every position into two and three
 * feeds; refusals; bounded hold-back (also against a chain of overlapping
 * matches); emit errors; a 16 MiB stream; and a randomised property test.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/redact.h"
#include "tap.h"

/* ---- helpers ------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	size_t calls;
	int fail_at; /* emit returns -42 at this call (1-based), 0: never */
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	char *np;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((np = realloc(b->p, b->cap)) == NULL)
			abort();
		b->p = np;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static int
sink(void *arg, const char *p, size_t n)
{
	struct buf *b = arg;

	b->calls++;
	if (n == 0)
		return -99; /* the contract says n > 0 */
	if (b->fail_at > 0 && b->calls == (size_t)b->fail_at)
		return -42;
	buf_add(b, p, n);
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static size_t
rndn(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

static size_t
b64enc(const unsigned char *in, size_t n, char *out, int urlsafe, int pad)
{
	const char *al = urlsafe ?
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789-_" :
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t w;

	for (i = 0; i + 2 < n; i += 3) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = al[w >> 18 & 63];
		out[o++] = al[w >> 12 & 63];
		out[o++] = al[w >> 6 & 63];
		out[o++] = al[w & 63];
	}
	if (n - i == 1) {
		w = (uint32_t)in[i] << 16;
		out[o++] = al[w >> 18 & 63];
		out[o++] = al[w >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = al[w >> 18 & 63];
		out[o++] = al[w >> 12 & 63];
		out[o++] = al[w >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* mode 0: every byte %XX upper; 1: lower; 2: reserved only, '+' for
 * space; 3: random mix of all of these. */
static void
urlenc(struct buf *b, const unsigned char *v, size_t n, int mode)
{
	static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
	char e[3];
	size_t i;
	int m;

	for (i = 0; i < n; i++) {
		m = mode == 3 ? (int)rndn(4) : mode;
		if (m == 2 && v[i] == ' ') {
			buf_add(b, "+", 1);
			continue;
		}
		if (m >= 2 &&
		    ((v[i] >= 'a' && v[i] <= 'z') ||
		        (v[i] >= 'A' && v[i] <= 'Z') ||
		        (v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
		        v[i] == '.' || v[i] == '_' || v[i] == '~')) {
			buf_add(b, &v[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = (m == 1 || (m == 3 && rndn(2))) ? lo[v[i] >> 4] :
		                                         up[v[i] >> 4];
		e[2] = (m == 1) ? lo[v[i] & 15] : up[v[i] & 15];
		buf_add(b, e, 3);
	}
}

/* Run in through a new redactor, cut at cuts[0..ncuts) (ascending). */
static int
run_cuts(const struct redact_secret *s, size_t n, const char *in, size_t len,
    const size_t *cuts, size_t ncuts, struct buf *out)
{
	struct redact *r;
	size_t i, at = 0, to;
	int rc;

	memset(out, 0, sizeof(*out));
	buf_add(out, "", 0);
	if ((rc = redact_new(s, n, &r)) != 0)
		return rc;
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		if ((rc = redact_feed(r, in + at, to - at, sink, out)) != 0)
			goto out;
		at = to;
	}
	rc = redact_finish(r, sink, out);
out:
	redact_free(r);
	return rc;
}

/*
 * Feed whole, cut at every position into two feeds, and (stride3 > 0)
 * at every stride3-th pair of positions into three; every output must
 * be want.  Returns the number of runs that differed.
 */
static int
splits(const struct redact_secret *s, size_t n, const char *in, size_t len,
    const char *want, size_t wantlen, size_t stride3)
{
	struct buf out;
	size_t cuts[2], i, j, ncuts;
	int bad = 0;

	for (i = 0; i <= len + 1; i++) {
		/* i == len + 1: whole; else two feeds, then three. */
		for (j = i;; j += stride3) {
			cuts[0] = i;
			cuts[1] = j;
			ncuts = i > len ? 0 : j == i ? 1 : 2;
			if (run_cuts(s, n, in, len, cuts, ncuts, &out) != 0 ||
			    out.len != wantlen ||
			    memcmp(out.p, want, wantlen) != 0) {
				if (bad == 0)
					diag("cut at %zu,%zu (%zu cuts): got "
					     "'%.*s'",
					    i, j, ncuts, (int)out.len, out.p);
				bad++;
			}
			free(out.p);
			if (stride3 == 0 || ncuts == 0 || j + stride3 > len)
				break;
		}
	}
	return bad;
}

static int
splits_str(const struct redact_secret *s, size_t n, const char *in,
    const char *want)
{
	return splits(s, n, in, strlen(in), want, strlen(want), 1);
}

#define SECRET(nm, v) \
	{ \
		(nm), (const unsigned char *)(v), sizeof(v) - 1 \
	}

/* ---- tests ----------------------------------------------------------------- */

static void
test_refusals(void)
{
	struct redact *r = (struct redact *)1;
	struct redact_secret s[2] = { SECRET("A", "abcd"), SECRET("B", "xyz") };
	unsigned char *big;
	struct buf out;

	is_int(redact_new(s, 2, &r), SN_EINVAL, "a 3-byte value is refused");
	ok(r == NULL, "out is NULL on failure");
	s[1] = (struct redact_secret)SECRET("B", "wxyz");
	s[1].name = NULL;
	is_int(redact_new(s, 2, &r), SN_EINVAL, "a NULL name is refused");
	s[1].name = "";
	is_int(redact_new(s, 2, &r), SN_EINVAL, "an empty name is refused");
	s[1].name = "B]x";
	is_int(redact_new(s, 2, &r), SN_EINVAL, "a name with ']' is refused");
	s[1].name = "B\n";
	is_int(redact_new(s, 2, &r), SN_EINVAL, "a name with a newline");
	s[1].name = "B";
	s[1].value = NULL;
	is_int(redact_new(s, 2, &r), SN_EINVAL, "a NULL value is refused");
	is_int(redact_new(NULL, 1, &r), SN_EINVAL, "NULL secrets with n > 0");
	if ((big = calloc(1, REDACT_MAX_LEN + 1)) == NULL)
		abort();
	memset(big, 'q', REDACT_MAX_LEN + 1);
	s[1].value = big;
	s[1].len = REDACT_MAX_LEN + 1;
	is_int(redact_new(s, 2, &r), SN_ERANGE, "an oversized value");
	s[1].len = REDACT_MAX_LEN;
	is_int(redact_new(s, 2, &r), 0, "a value of REDACT_MAX_LEN bytes");
	redact_free(r);
	free(big);
	redact_free(NULL);

	/* No secrets: a pass-through that holds nothing back. */
	is_int(redact_new(NULL, 0, &r), 0, "no secrets");
	is_int(redact_holdback(r), 0, "no secrets: no hold-back");
	memset(&out, 0, sizeof(out));
	is_int(redact_feed(r, "abc%41", 6, sink, &out), 0, "feed");
	is_int(out.len, 6, "all of it out at once");
	is_int(redact_finish(r, sink, &out), 0, "finish");
	is_int(redact_feed(r, "x", 1, sink, &out), SN_EINVAL,
	    "feeding after finish");
	redact_free(r);
	free(out.p);
}

static void
test_raw(void)
{
	struct redact_secret s[] = { SECRET("TOK", "hunter2secret") };
	struct redact_secret bin[1];
	unsigned char all[256];
	struct buf in, want;
	size_t i;

	is_int(splits_str(s, 1, "x=hunter2secret;y", "x=[REDACTED:TOK];y"), 0,
	    "raw value, every cut");
	is_int(splits_str(s, 1, "hunter2secret", "[REDACTED:TOK]"), 0,
	    "raw value alone, every cut");
	is_int(splits_str(s, 1, "hunter2secrethunter2secret",
	           "[REDACTED:TOK][REDACTED:TOK]"),
	    0, "twice in a row: two replacements");
	is_int(splits_str(s, 1, "hunter2secre hunter2 secret huntter2secret",
	           "hunter2secre hunter2 secret huntter2secret"),
	    0, "near misses pass untouched");
	is_int(splits_str(s, 1, "hhunter2secrett", "h[REDACTED:TOK]t"), 0,
	    "a false start before the value");
	is_int(splits_str(s, 1, "100% sure, %zz %4 %", "100% sure, %zz %4 %"),
	    0, "stray '%%' pass untouched");

	/* Binary: every byte value, in order; raw and fully escaped. */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	bin[0] = (struct redact_secret){ "BIN", all, 256 };
	memset(&in, 0, sizeof(in));
	memset(&want, 0, sizeof(want));
	buf_add(&in, "\0\xff", 2);
	buf_add(&in, all, 256);
	buf_add(&in, "\n", 1);
	urlenc(&in, all, 256, 0);
	buf_add(&in, "\xff", 1);
	buf_add(&want, "\0\xff[REDACTED:BIN]\n[REDACTED:BIN]\xff", 32);
	is_int(splits(bin, 1, in.p, in.len, want.p, want.len, 37), 0,
	    "binary value 0x00..0xff, raw and %%XX");
	free(in.p);
	free(want.p);
}

static void
test_url(void)
{
	static const unsigned char v[] = "p@ss w/rd+&=ok~";
	struct redact_secret s[] = { SECRET("PW", "p@ss w/rd+&=ok~") };
	static const char *const fixed[] = {
		"p%40ss+w%2Frd%2B%26%3Dok~",
		"p%40ss%20w%2frd%2b%26%3dok%7E",
		"p@ss+w/rd+&=ok~", /* '+' for space, '+' as itself */
		"p@ss w/rd%2B&=ok~",
		"%70%40%73%73%20%77%2F%72%64%2B%26%3D%6F%6B%7E",
	};
	struct buf in, want;
	size_t i;
	int mode;

	for (mode = 0; mode < 4; mode++) {
		memset(&in, 0, sizeof(in));
		buf_str(&in, "url=");
		urlenc(&in, v, sizeof(v) - 1, mode);
		buf_str(&in, "&x");
		is_int(splits_str(s, 1, in.p, "url=[REDACTED:PW]&x"), 0,
		    "URL-encoded (%s), every cut",
		    mode == 0     ? "upper" :
		        mode == 1 ? "lower" :
		        mode == 2 ? "reserved only" :
		                    "random mix");
		free(in.p);
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		memset(&in, 0, sizeof(in));
		memset(&want, 0, sizeof(want));
		buf_str(&in, "<");
		buf_str(&in, fixed[i]);
		buf_str(&in, ">");
		is_int(splits_str(s, 1, in.p, "<[REDACTED:PW]>"), 0,
		    "URL form %s", fixed[i]);
		free(in.p);
		free(want.p);
	}
	/* A value with "%41" in it, raw and escaped; and at the very end. */
	{
		struct redact_secret p[] = { SECRET("P", "41%41zz") };

		is_int(splits_str(p, 1, "a%41%41zz 41%2541zz",
		           "a%[REDACTED:P] [REDACTED:P]"),
		    0, "a value holding '%%41', after a '%%', and escaped");
		is_int(splits_str(p, 1, "x 41%41z", "x 41%41z"), 0,
		    "its prefix at the end passes");
	}
	{
		struct redact_secret p[] = { SECRET("P", "abc%") };

		is_int(splits_str(p, 1, "abc%41 abc%",
		           "[REDACTED:P]41 "
		           "[REDACTED:P]"),
		    0, "a value ending in '%%'");
	}
}

/* Offsets of the characters of a wrapped text: pos[k] for character k. */
static void
wrap(const char *txt, size_t n, size_t every, size_t at, const char *nl,
    struct buf *out, size_t *pos)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (k > 0 && ((every > 0 && k % every == 0) || k == at))
			buf_str(out, nl);
		pos[k] = out->len;
		buf_add(out, &txt[k], 1);
	}
}

/*
 * A base64 blob of prefix[p] + value + suffix[q], wrapped, between two
 * words; want: the same with every character carrying a bit of the value
 * replaced by the token (what is between them too).
 */
static void
b64_case(const unsigned char *v, size_t len, size_t p, size_t q, int urlsafe,
    int pad, size_t every, size_t at, const char *nl, const char *token,
    struct buf *in, struct buf *want)
{
	unsigned char *data;
	char *txt;
	size_t n, *pos, kf, kl, i;
	struct buf w;

	n = p + len + q;
	if ((data = malloc(n)) == NULL || (txt = malloc(n * 2 + 8)) == NULL ||
	    (pos = malloc((n * 2 + 8) * sizeof(*pos))) == NULL)
		abort();
	for (i = 0; i < p; i++)
		data[i] = (unsigned char)("\x01Zq\xfe"[i % 4]);
	memcpy(data + p, v, len);
	for (i = 0; i < q; i++)
		data[p + len + i] = (unsigned char)("\x80y\x00!"[i % 4]);
	n = b64enc(data, n, txt, urlsafe, pad);
	memset(in, 0, sizeof(*in));
	memset(want, 0, sizeof(*want));
	memset(&w, 0, sizeof(w));
	buf_str(in, "blob: ");
	wrap(txt, n, every, at, nl, &w, pos);
	buf_add(in, w.p, w.len);
	buf_str(in, " end\n");
	kf = 8 * p / 6;
	kl = (8 * (p + len) - 1) / 6;
	buf_str(want, "blob: ");
	buf_add(want, w.p, pos[kf]);
	buf_str(want, token);
	buf_add(want, w.p + pos[kl] + 1, w.len - pos[kl] - 1);
	buf_str(want, " end\n");
	free(w.p);
	free(data);
	free(txt);
	free(pos);
}

static void
test_b64(void)
{
	static const unsigned char v[] = "s3cr3t-V4lue!xyz";
	struct redact_secret s[] = { SECRET("K", "s3cr3t-V4lue!xyz") };
	struct buf in, want;
	size_t p, q, at;
	int urlsafe, pad, bad;

	/* Every alignment and tail, both alphabets, padding or not. */
	for (p = 0; p < 6; p++) {
		for (urlsafe = 0; urlsafe < 2; urlsafe++) {
			bad = 0;
			for (q = 0; q < 3; q++) {
				for (pad = 0; pad < 2; pad++) {
					b64_case(v, sizeof(v) - 1, p, q,
					    urlsafe, pad, 0, 0, "",
					    "[REDACTED:K]", &in, &want);
					bad += splits(s, 1, in.p, in.len,
					    want.p, want.len, 3);
					free(in.p);
					free(want.p);
				}
			}
			is_int(bad, 0,
			    "base64%s, %zu bytes before (alignment %zu), "
			    "tails 0..2, padded or not, every cut",
			    urlsafe ? "url" : "", p, p % 3);
		}
	}
	/* printf 'xx%s' "$SECRET" | base64 */
	{
		unsigned char raw[40];
		char blob[40];

		memset(&in, 0, sizeof(in));
		memcpy(raw, "xx", 2);
		memcpy(raw + 2, v, sizeof(v) - 1);
		b64enc(raw, sizeof(v) + 1, blob, 0, 1);
		buf_str(&in, "blob: ");
		buf_str(&in, blob);
		buf_str(&in, " end\n");
		is_str(blob, "eHhzM2NyM3QtVjRsdWUheHl6",
		    "base64 of 'xx' + value");
		is_int(splits_str(s, 1, in.p, "blob: eH[REDACTED:K] end\n"), 0,
		    "  ... redacted, every cut into two and three");
		free(in.p);
	}

	/* Line wrapping: every 64 and 76 with \n and \r\n, and a line
	 * break at every single position. */
	{
		static const unsigned char lv[] =
		    "a much longer secret value, long enough for 76 columns "
		    "of base64 to wrap inside it";
		struct redact_secret ls[] = { { "L", lv, sizeof(lv) - 1 } };
		static const size_t widths[] = { 64, 76, 4, 1 };
		static const char *const nls[] = { "\n", "\r\n" };
		size_t wi, ni;

		for (wi = 0; wi < 4; wi++) {
			for (ni = 0; ni < 2; ni++) {
				bad = 0;
				for (p = 0; p < 3; p++) {
					b64_case(lv, sizeof(lv) - 1, p + 40, 1,
					    0, 1, widths[wi], 0, nls[ni],
					    "[REDACTED:L]", &in, &want);
					bad += splits(ls, 1, in.p, in.len,
					    want.p, want.len, 29);
					free(in.p);
					free(want.p);
				}
				is_int(bad, 0,
				    "base64 wrapped every %zu with %s, 3 "
				    "alignments, every cut",
				    widths[wi], ni ? "CRLF" : "LF");
			}
		}
		bad = 0;
		for (at = 1; at < 140; at++) {
			b64_case(lv, sizeof(lv) - 1, 1, 0, 0, 1, 0, at,
			    at % 2 ? "\n" : "\r\n", "[REDACTED:L]", &in, &want);
			bad += splits(ls, 1, in.p, in.len, want.p, want.len, 0);
			free(in.p);
			free(want.p);
		}
		is_int(bad, 0, "a line break at every position, every cut");

		/* Three line-break bytes in a row end a base64 run. */
		b64_case(lv, sizeof(lv) - 1, 0, 0, 0, 1, 0, 40, "\n\n\n", "",
		    &in, &want);
		is_int(splits(ls, 1, in.p, in.len, in.p, in.len, 0), 0,
		    "a run broken by 3 line breaks is not a match (by design)");
		free(in.p);
		free(want.p);
	}

	/* Short values: the base64 rule. */
	{
		struct redact_secret s5[] = { SECRET("F", "abcde") };
		struct redact_secret s7[] = { SECRET("S", "abcdefg") };

		b64_case((const unsigned char *)"abcde", 5, 1, 1, 0, 1, 0, 0,
		    "", "", &in, &want);
		is_int(splits(s5, 1, in.p, in.len, in.p, in.len, 0), 0,
		    "5 bytes: base64 is not matched (cores under 8 chars)");
		free(in.p);
		free(want.p);
		bad = 0;
		for (p = 0; p < 3; p++) {
			b64_case((const unsigned char *)"abcdefg", 7, p, 1, 0,
			    1, 0, 0, "", "[REDACTED:S]", &in, &want);
			bad += splits(s7, 1, in.p, in.len, want.p, want.len, 0);
			free(in.p);
			free(want.p);
		}
		is_int(bad, 0, "7 bytes: base64 matched at every alignment");
	}
}

static void
test_several(void)
{
	struct redact_secret ov[] = { SECRET("A", "abcdefgh"),
		SECRET("B", "efghijkl") };
	struct redact_secret pre[] = { SECRET("SHORT", "abcd1234"),
		SECRET("LONG", "abcd12345678") };
	struct redact_secret pre2[] = { SECRET("LONG", "abcd12345678"),
		SECRET("SHORT", "abcd1234") };
	struct redact_secret in3[] = { SECRET("IN", "cdefgh"),
		SECRET("OUT", "abcdefghij") };

	is_int(splits_str(ov, 2, "xxabcdefghijklyy", "xx[REDACTED:A]yy"), 0,
	    "overlapping values: one replacement, no part left");
	is_int(splits_str(ov, 2, "xxefghijklabcdefghyy",
	           "xx[REDACTED:B][REDACTED:A]yy"),
	    0, "touching values: two replacements");
	is_int(splits_str(pre, 2, "<abcd12345678>", "<[REDACTED:LONG]>"), 0,
	    "a prefix of another: the longer wins");
	is_int(splits_str(pre2, 2, "<abcd12345678>", "<[REDACTED:LONG]>"), 0,
	    "  ... in either order");
	is_int(splits_str(pre, 2, "<abcd1234567>", "<[REDACTED:SHORT]567>"), 0,
	    "the prefix alone");
	is_int(splits_str(in3, 2, "<abcdefghij|cdefgh>",
	           "<[REDACTED:OUT]|[REDACTED:IN]>"),
	    0, "one value inside another");
	is_int(splits_str(ov, 2, "abcd%65fgh%69jkl", "[REDACTED:A]"), 0,
	    "overlap across raw and URL-encoded forms");
}

static void
test_long(void)
{
	unsigned char v[1024];
	struct redact_secret s[1];
	struct buf in, want;
	size_t i, p;
	int bad;

	for (i = 0; i < sizeof(v); i++)
		v[i] = (unsigned char)rnd();
	s[0] = (struct redact_secret){ "KIB", v, sizeof(v) };
	memset(&in, 0, sizeof(in));
	buf_str(&in, "<");
	buf_add(&in, v, sizeof(v));
	buf_str(&in, ">");
	is_int(splits(s, 1, in.p, in.len, "<[REDACTED:KIB]>", 16, 97), 0,
	    "1 KiB binary value raw, every cut into two, 3 at stride 97");
	free(in.p);
	memset(&in, 0, sizeof(in));
	buf_str(&in, "<");
	urlenc(&in, v, sizeof(v), 3);
	buf_str(&in, ">");
	is_int(splits(s, 1, in.p, in.len, "<[REDACTED:KIB]>", 16, 0), 0,
	    "1 KiB value URL-encoded, every cut");
	free(in.p);
	bad = 0;
	for (p = 0; p < 3; p++) {
		b64_case(v, sizeof(v), p, 2, (int)p % 2, 1, 76, 0, "\n",
		    "[REDACTED:KIB]", &in, &want);
		bad += splits(s, 1, in.p, in.len, want.p, want.len, 0);
		free(in.p);
		free(want.p);
	}
	is_int(bad, 0,
	    "1 KiB value in base64 wrapped at 76, 3 alignments, "
	    "every cut");
}

static void
test_holdback(void)
{
	struct redact_secret s[] = { SECRET("AB", "abab"),
		SECRET("X", "some-longer-secret-value") };
	struct redact *r;
	struct buf out;
	char *in;
	size_t n = 1 << 20, fed = 0, k, maxheld = 0, i;
	int rc = 0;

	if (redact_new(s, 2, &r) != 0) {
		ok(0, "new");
		return;
	}
	ok(redact_holdback(r) > 0 && redact_holdback(r) < 200,
	    "hold-back is small: %zu", redact_holdback(r));
	if ((in = malloc(n)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		in[i] = "a \n=Zzsome-longer!"[rndn(18)];
	memset(&out, 0, sizeof(out));
	while (fed < n && rc == 0) {
		k = rndn(5000) + 1;
		if (k > n - fed)
			k = n - fed;
		rc = redact_feed(r, in + fed, k, sink, &out);
		fed += k;
		/* No replacement here: held = fed - out. */
		if (fed - out.len > maxheld)
			maxheld = fed - out.len;
	}
	is_int(rc, 0, "1 MiB of near misses fed");
	ok(maxheld <= redact_holdback(r), "held at most %zu <= %zu", maxheld,
	    redact_holdback(r));
	is_int(redact_count(r), 0, "no replacement");
	redact_finish(r, sink, &out);
	ok(out.len == n && memcmp(out.p, in, n) == 0, "output = input");
	redact_free(r);
	free(out.p);

	/* A chain of overlapping matches: cut, never let out. */
	if (redact_new(s, 2, &r) != 0) {
		ok(0, "new");
		free(in);
		return;
	}
	for (i = 0; i < n; i++)
		in[i] = "ab"[i % 2];
	memset(&out, 0, sizeof(out));
	for (fed = 0; fed < n && rc == 0; fed += k) {
		k = rndn(3000) + 1;
		if (k > n - fed)
			k = n - fed;
		rc = redact_feed(r, in + fed, k, sink, &out);
	}
	if (rc == 0)
		rc = redact_finish(r, sink, &out);
	is_int(rc, 0, "1 MiB of 'abab...' fed");
	for (i = 0, k = 0; i + 12 <= out.len; i += 12)
		k += memcmp(out.p + i, "[REDACTED:AB]", 13) == 0 ? 0 : 1;
	ok(out.len % 13 == 0 && out.len > 0, "only replacements come out");
	for (i = 0, k = 0; i < out.len; i += 13)
		k += memcmp(out.p + i, "[REDACTED:AB]", 13) != 0;
	is_int(k, 0, "  ... every one of them whole");
	is_int(redact_count(r), out.len / 13, "count = replacements: %zu",
	    out.len / 13);
	ok(out.len / 13 < n / 100, "  ... cut rarely (every hold-back)");
	redact_free(r);
	free(out.p);
	free(in);
}

static void
test_emit_error(void)
{
	struct redact_secret s[] = { SECRET("T", "tokenvalue") };
	struct redact *r;
	struct buf out;

	if (redact_new(s, 1, &r) != 0) {
		ok(0, "new");
		return;
	}
	memset(&out, 0, sizeof(out));
	out.fail_at = 2;
	is_int(redact_feed(r, "aaa tokenvalue bbb", 18, sink, &out), -42,
	    "an emit error is returned");
	is_int(redact_feed(r, "ccc", 3, sink, &out), -42,
	    "  ... and again after");
	is_int(redact_finish(r, sink, &out), -42, "  ... by finish too");
	ok(strstr(out.p ? out.p : "", "tokenvalue") == NULL,
	    "nothing leaked on the way");
	redact_free(r);
	free(out.p);
}

static void
test_finish(void)
{
	struct redact_secret s[] = { SECRET("E", "endvalue") };
	struct redact *r;
	struct buf out;

	is_int(splits_str(s, 1, "x endvalue", "x [REDACTED:E]"), 0,
	    "a value that ends the stream");
	is_int(splits_str(s, 1, "x endvalu", "x endvalu"), 0,
	    "a prefix that ends the stream is let out at finish");
	is_int(splits_str(s, 1, "x endvalu%65", "x [REDACTED:E]"), 0,
	    "an escape that ends the stream");
	is_int(splits_str(s, 1, "x endvalu%6", "x endvalu%6"), 0,
	    "a half escape at the end");
	if (redact_new(s, 1, &r) != 0) {
		ok(0, "new");
		return;
	}
	memset(&out, 0, sizeof(out));
	redact_feed(r, "aa endva", 8, sink, &out);
	ok(out.len < 8 && strstr(out.p ? out.p : "", "endva") == NULL,
	    "a possible start is held back: '%.*s'", (int)out.len,
	    out.p ? out.p : "");
	redact_feed(r, "lue and more", 12, sink, &out);
	is_int(redact_count(r), 1, "count 1");
	redact_finish(r, sink, &out);
	is_str(out.p, "aa [REDACTED:E] and more", "output");
	is_int(redact_finish(r, sink, &out), 0, "finish twice is harmless");
	redact_free(r);
	free(out.p);
}

/* 16 MiB with 10 secrets in several forms: works (no timing here). */
static void
test_large(void)
{
	struct redact_secret s[10];
	unsigned char v[10][40];
	char tok[10][32], name[10][8], b64[80];
	struct buf in, want, out;
	struct redact *r;
	size_t i, j, k, fed, nins = 0;
	int rc = 0;

	for (i = 0; i < 10; i++) {
		for (j = 0; j < sizeof(v[i]); j++)
			v[i][j] = (unsigned char)('A' + rndn(26));
		snprintf(name[i], sizeof(name[i]), "S%zu", i);
		snprintf(tok[i], sizeof(tok[i]), "[REDACTED:S%zu]", i);
		s[i] = (struct redact_secret){ name[i], v[i], 10 + i * 3 };
	}
	memset(&in, 0, sizeof(in));
	memset(&want, 0, sizeof(want));
	while (in.len < (16u << 20)) {
		/* A line of text, then now and then a secret. */
		for (j = rndn(200); j > 0; j--) {
			char c = "lorem ipsum dolor sit amet\n"[rndn(27)];

			buf_add(&in, &c, 1);
			buf_add(&want, &c, 1);
		}
		buf_str(&in, " ");
		buf_str(&want, " ");
		if (rndn(4) != 0)
			continue;
		i = rndn(10);
		k = rndn(3);
		if (k == 0) {
			buf_add(&in, v[i], s[i].len);
		} else if (k == 1) {
			urlenc(&in, v[i], s[i].len, 3);
		} else {
			b64enc(v[i], s[i].len, b64, 0, 1);
			buf_str(&in, b64);
		}
		buf_str(&want, tok[i]);
		/* base64 padding carries nothing of the value */
		if (k == 2 && s[i].len % 3 != 0)
			buf_str(&want, s[i].len % 3 == 1 ? "==" : "=");
		buf_str(&in, " ");
		buf_str(&want, " ");
		nins++;
	}
	if (redact_new(s, 10, &r) != 0) {
		ok(0, "new");
		return;
	}
	memset(&out, 0, sizeof(out));
	for (fed = 0; fed < in.len && rc == 0; fed += k) {
		k = rndn(70000) + 1;
		if (k > in.len - fed)
			k = in.len - fed;
		rc = redact_feed(r, in.p + fed, k, sink, &out);
	}
	if (rc == 0)
		rc = redact_finish(r, sink, &out);
	is_int(rc, 0, "%zu MiB with 10 secrets fed", in.len >> 20);
	ok(out.len == want.len && memcmp(out.p, want.p, want.len) == 0,
	    "output as expected");
	is_int(redact_count(r), nins, "%zu replacements counted", nins);
	redact_free(r);
	free(in.p);
	free(want.p);
	free(out.p);
}

/* The URL-decoded form of b (%XX, '+' -> ' ', and ' ' kept), folded. */
static void
url_decode(const char *p, size_t n, struct buf *out)
{
	size_t i;
	char c;
	int h, l;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '%' && i + 2 < n + 0 &&
		    (h = (p[i + 1] >= '0' && p[i + 1] <= '9') ?
		            p[i + 1] - '0' :
		            (p[i + 1] | 32) >= 'a' && (p[i + 1] | 32) <= 'f' ?
		            (p[i + 1] | 32) - 'a' + 10 :
		            -1) >= 0 &&
		    (l = (p[i + 2] >= '0' && p[i + 2] <= '9') ?
		            p[i + 2] - '0' :
		            (p[i + 2] | 32) >= 'a' && (p[i + 2] | 32) <= 'f' ?
		            (p[i + 2] | 32) - 'a' + 10 :
		            -1) >= 0) {
			c = (char)(h << 4 | l);
			i += 2;
		}
		if (c == '+')
			c = ' ';
		buf_add(out, &c, 1);
	}
}

static int
contains(const char *h, size_t hn, const void *nd, size_t nn)
{
	return nn > 0 && memmem(h, hn, nd, nn) != NULL;
}

/*
 * Property: random text with secrets inserted (raw, URL-encoded, base64
 * at any alignment, either alphabet, wrapped or not), fed in random
 * chunks: the output is exactly the input with each inserted form (for
 * base64: the characters carrying the value's bits) replaced, and holds
 * neither a value, nor its URL-decoded form, nor a base64 core.
 */
static void
test_property(int iters)
{
	static const char bg[] = "lorem ipsum dolor sit amet, consectetur.\n";
	static const char pr[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	                         "tuvwxyz0123456789%+/=_- ";
	unsigned char v[4][80], fold[80];
	char name[4][4], tok[4][24], core[3][120];
	struct redact_secret s[4];
	struct buf in, want, out, dec, norm, tmp;
	struct redact *r;
	size_t ns, i, j, k, p, fed, len, every, at, *pos, clen;
	int it, bad_eq = 0, bad_leak = 0, form, rc;
	unsigned char data[100];
	char txt[200];

	if ((pos = malloc(400 * sizeof(*pos))) == NULL)
		abort();
	for (it = 0; it < iters; it++) {
		ns = 1 + rndn(4);
		for (i = 0; i < ns; i++) {
			len = 7 + rndn(60);
			for (j = 0; j < len; j++)
				v[i][j] = it % 2 ?
				    (unsigned char)rnd() :
				    (unsigned char)pr[rndn(sizeof(pr) - 1)];
			snprintf(name[i], sizeof(name[i]), "S%zu", i);
			snprintf(tok[i], sizeof(tok[i]), "[REDACTED:S%zu]", i);
			s[i] = (struct redact_secret){ name[i], v[i], len };
		}
		memset(&in, 0, sizeof(in));
		memset(&want, 0, sizeof(want));
		for (k = rndn(12) + 1; k > 0; k--) {
			for (j = rndn(60); j > 0; j--) {
				buf_add(&in, &bg[rndn(sizeof(bg) - 1)], 1);
				buf_add(&want, in.p + in.len - 1, 1);
			}
			buf_str(&in, " ");
			buf_str(&want, " ");
			i = rndn(ns);
			form = (int)rndn(3);
			if (form == 0) {
				buf_add(&in, v[i], s[i].len);
				buf_str(&want, tok[i]);
			} else if (form == 1) {
				urlenc(&in, v[i], s[i].len, (int)rndn(4));
				buf_str(&want, tok[i]);
			} else {
				p = rndn(6);
				j = rndn(4);
				memset(&tmp, 0, sizeof(tmp));
				for (len = 0; len < p; len++)
					data[len] = (unsigned char)rnd();
				memcpy(data + p, v[i], s[i].len);
				len = p + s[i].len;
				for (; j > 0; j--)
					data[len++] = (unsigned char)rnd();
				len = b64enc(data, len, txt, (int)rndn(2),
				    (int)rndn(2));
				every = rndn(3) == 0 ? 0 : (rndn(2) ? 64 : 76);
				if (rndn(3) == 0)
					every = 1 + rndn(20);
				at = rndn(len + 1);
				wrap(txt, len, every, at,
				    rndn(2) ? "\n" : "\r\n", &tmp, pos);
				buf_add(&in, tmp.p, tmp.len);
				buf_add(&want, tmp.p, pos[8 * p / 6]);
				buf_str(&want, tok[i]);
				j = pos[(8 * (p + s[i].len) - 1) / 6] + 1;
				buf_add(&want, tmp.p + j, tmp.len - j);
				free(tmp.p);
			}
			buf_str(&in, " ");
			buf_str(&want, " ");
		}
		memset(&out, 0, sizeof(out));
		if ((rc = redact_new(s, ns, &r)) != 0) {
			bad_eq++;
			free(in.p);
			free(want.p);
			continue;
		}
		for (fed = 0; fed < in.len && rc == 0; fed += k) {
			k = rndn(4) == 0 ? 1 : rndn(300) + 1;
			if (k > in.len - fed)
				k = in.len - fed;
			rc = redact_feed(r, in.p + fed, k, sink, &out);
		}
		if (rc == 0)
			rc = redact_finish(r, sink, &out);
		redact_free(r);
		if (rc != 0 || out.len != want.len ||
		    memcmp(out.p, want.p, want.len) != 0) {
			if (bad_eq++ == 0)
				diag(
				    "iteration %d:\n in: %s\nout: %s\nwant: %s",
				    it, in.p, out.p, want.p);
		}
		/* Leaks: value (URL-decoded, folded), base64 cores. */
		memset(&dec, 0, sizeof(dec));
		memset(&norm, 0, sizeof(norm));
		url_decode(out.p, out.len, &dec);
		for (j = 0; j < out.len; j++) {
			char c = out.p[j];

			if (c == '\r' || c == '\n')
				continue;
			c = c == '-' ? '+' : c == '_' ? '/' : c;
			buf_add(&norm, &c, 1);
		}
		for (i = 0; i < ns; i++) {
			for (j = 0; j < s[i].len; j++)
				fold[j] = v[i][j] == '+' ? ' ' : v[i][j];
			if (contains(dec.p, dec.len, fold, s[i].len) ||
			    contains(out.p, out.len, v[i], s[i].len))
				bad_leak++;
			for (p = 0; p < 3; p++) {
				memset(data, 0, sizeof(data));
				memcpy(data + p, v[i], s[i].len);
				b64enc(data, p + s[i].len + 3, txt, 0, 0);
				j = (8 * p + 5) / 6;
				clen = 8 * (p + s[i].len) / 6 - j;
				memcpy(core[p], txt + j, clen);
				if (contains(norm.p, norm.len, core[p], clen))
					bad_leak++;
			}
		}
		free(dec.p);
		free(norm.p);
		free(in.p);
		free(want.p);
		free(out.p);
	}
	is_int(bad_eq, 0, "property: %d random streams redacted exactly",
	    iters);
	is_int(bad_leak, 0, "property: no value, URL form or base64 core left");
	free(pos);
}

int
main(int argc, char **argv)
{
	int iters = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300;

	test_refusals();
	test_raw();
	test_url();
	test_b64();
	test_several();
	test_long();
	test_holdback();
	test_emit_error();
	test_finish();
	test_large();
	test_property(iters);
	return done_testing();
}
