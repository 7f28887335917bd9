/*
 * glob.c - the pattern matcher behind glob.h.
 *
 * A pattern compiles to an array of components.  A component is either
 * a globstar ("**", zero or more path components) or a short program of
 * tokens (literal byte, '?', '*', class) matched against one path
 * component with the two-pointer star algorithm: on a mismatch, go back
 * to the last '*' and let it take one more character.  That is
 * O(tokens * bytes) for one component, with no recursion.
 *
 * Across components the pattern is an NFA whose states are component
 * indices (state ncomps accepts).  A state on a globstar stays put when
 * it consumes a path component, and also stands for the state after it
 * (zero components); any other state moves on when its component matches.
 * The state set is a bitmap on the stack, so a match allocates nothing,
 * and every (state, path component) pair is looked at once: the whole
 * match is O(len(pattern) * len(path)).  The path matches as soon as the
 * accepting state is reached after some component, which is what makes a
 * pattern cover everything under the paths it names.
 *
 * Characters: '?' and classes take one UTF-8 character of the path, and
 * a '*' gives up one whole character at a time; a byte that does not
 * start a valid UTF-8 sequence counts as one character of its own (it
 * matches '?', '*' and negated classes, never a positive class).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/glob.h"

/*
 * At most: every component one byte plus its '/', and the implicit
 * leading globstar of a pattern with no '/'.
 */
#define MAX_COMPS (GLOB_MAX_LEN / 2 + 2)
#define SET_WORDS ((MAX_COMPS + 1 + 63) / 64) /* + the accepting state */
#define RAW_CP    0x110000 /* a byte that is not valid UTF-8: RAW_CP + byte */

#define DOTS_RULE  "'.' and '..' components are not allowed"
#define STRAY_RULE "']' without '[' (write \\] for a literal ']')"
#define BANG_RULE  "'!' negation is not supported (write \\! for a literal '!')"

enum { T_LIT, T_ANY, T_STAR, T_CLASS };

struct tok {
	unsigned char kind;
	unsigned char c; /* T_LIT: the byte */
	unsigned cls;    /* T_CLASS: index into classes */
};

struct comp {
	size_t first, n; /* tokens */
	int globstar;
};

struct range {
	uint32_t lo, hi; /* code points, inclusive */
};

struct cclass {
	uint64_t ascii[2]; /* members below 0x80 */
	size_t first, n;   /* ranges at or above 0x80 */
	int neg;
};

struct glob {
	char *text;
	/*
	 * The longest run of literal bytes of one component: every path
	 * that matches holds it, so a path without it is refused at once.
	 */
	unsigned char lit[64];
	size_t litlen;
	struct comp *comps;
	size_t ncomps;
	struct tok *toks;
	size_t ntoks;
	struct cclass *classes;
	size_t nclasses;
	struct range *ranges;
	size_t nranges;
};

/* The compiler's state. */
struct cc {
	struct glob *g;
	const char *s; /* the pattern, after a leading '/' */
	size_t n, i;
	char *err;
	size_t errlen;
};

static int cfail(struct cc *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- UTF-8 ------------------------------------------------------------ */

size_t
glob_utf8_char(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		len = 2;
		c &= 0x1f;
	} else if (c < 0xf0) {
		len = 3;
		c &= 0x0f;
	} else if (c < 0xf5) {
		len = 4;
		c &= 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* One character of a path: never 0 bytes when n > 0. */
static size_t
path_char(const char *s, size_t n, uint32_t *cp)
{
	size_t len;

	if ((len = glob_utf8_char(s, n, cp)) == 0) {
		*cp = RAW_CP + (unsigned char)s[0];
		len = 1;
	}
	return len;
}

/* ---- compiling -------------------------------------------------------- */

static int
cfail(struct cc *c, const char *fmt, ...)
{
	va_list ap;

	if (c->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return SN_EINVAL;
}

static void
class_add(struct glob *g, struct cclass *k, uint32_t lo, uint32_t hi)
{
	uint32_t c;

	for (c = lo; c <= hi && c < 0x80; c++)
		k->ascii[c / 64] |= (uint64_t)1 << (c % 64);
	if (hi >= 0x80) {
		g->ranges[g->nranges].lo = lo < 0x80 ? 0x80 : lo;
		g->ranges[g->nranges].hi = hi;
		g->nranges++;
		k->n++;
	}
}

/* One class member at c->s[c->i] (maybe escaped); moves past it. */
static int
class_char(struct cc *c, uint32_t *cp)
{
	size_t len;

	if (c->s[c->i] == '\\') {
		c->i++;
		if (c->i == c->n)
			return cfail(c, "unterminated '[' (a class needs ']')");
	}
	if (c->s[c->i] == '/')
		return cfail(c, "'/' inside [...]");
	/* The whole pattern is valid UTF-8, so this cannot fail. */
	if ((len = glob_utf8_char(c->s + c->i, c->n - c->i, cp)) == 0)
		return cfail(c, "invalid UTF-8");
	c->i += len;
	return 0;
}

/* A class; c->i is just past the '['. */
static int
parse_class(struct cc *c)
{
	struct glob *g = c->g;
	struct cclass *k = &g->classes[g->nclasses];
	uint32_t lo, hi;
	int first = 1, rc;

	memset(k, 0, sizeof(*k));
	k->first = g->nranges;
	if (c->i < c->n && (c->s[c->i] == '!' || c->s[c->i] == '^')) {
		k->neg = 1;
		c->i++;
	}
	for (;;) {
		if (c->i == c->n)
			return cfail(c, "unterminated '[' (a class needs ']')");
		if (c->s[c->i] == ']' && !first) {
			c->i++;
			break;
		}
		first = 0;
		if ((rc = class_char(c, &lo)) != 0)
			return rc;
		hi = lo;
		if (c->i + 1 < c->n && c->s[c->i] == '-' &&
		    c->s[c->i + 1] != ']') {
			c->i++;
			if ((rc = class_char(c, &hi)) != 0)
				return rc;
			if (hi < lo)
				return cfail(c, "reversed range in [...]");
		}
		class_add(g, k, lo, hi);
	}
	g->toks[g->ntoks].kind = T_CLASS;
	g->toks[g->ntoks].c = 0;
	g->toks[g->ntoks].cls = (unsigned)g->nclasses;
	g->ntoks++;
	g->nclasses++;
	return 0;
}

static void
push_tok(struct glob *g, unsigned char kind, unsigned char ch)
{
	g->toks[g->ntoks].kind = kind;
	g->toks[g->ntoks].c = ch;
	g->toks[g->ntoks].cls = 0;
	g->ntoks++;
}

/* Close the component whose text is s[start..c->i) and tokens from first. */
static int
end_comp(struct cc *c, size_t start, size_t first)
{
	struct glob *g = c->g;
	struct comp *k = &g->comps[g->ncomps];
	size_t n = g->ntoks - first, i;

	if (c->i == start)
		return cfail(c, "empty path component ('//')");
	memset(k, 0, sizeof(*k));
	if (c->i - start == 2 && c->s[start] == '*' && c->s[start + 1] == '*') {
		g->ntoks = first; /* drop the '*' token */
		k->globstar = 1;
		g->ncomps++;
		return 0;
	}
	if (n == 1 || n == 2) {
		for (i = first; i < g->ntoks; i++) {
			if (g->toks[i].kind != T_LIT || g->toks[i].c != '.')
				break;
		}
		if (i == g->ntoks)
			return cfail(c, DOTS_RULE);
	}
	k->first = first;
	k->n = n;
	g->ncomps++;
	return 0;
}

/* The components of c->s; *slash set if a '/' separates two of them. */
static int
parse(struct cc *c, int *slash)
{
	struct glob *g = c->g;
	size_t start = c->i, first = g->ntoks;
	unsigned char ch;
	int rc;

	*slash = 0;
	while (c->i < c->n) {
		ch = (unsigned char)c->s[c->i];
		switch (ch) {
		case '/':
			if ((rc = end_comp(c, start, first)) != 0)
				return rc;
			c->i++;
			if (c->i == c->n) /* a trailing '/' */
				return 0;
			*slash = 1;
			start = c->i;
			first = g->ntoks;
			continue;
		case '\\':
			c->i++;
			if (c->i == c->n)
				return cfail(c, "trailing '\\'");
			if (c->s[c->i] == '/')
				return cfail(c, "'/' cannot be escaped");
			push_tok(g, T_LIT, (unsigned char)c->s[c->i]);
			c->i++;
			/* The rest of a multi-byte character, as bytes. */
			while (c->i < c->n &&
			    ((unsigned char)c->s[c->i] & 0xc0) == 0x80)
				push_tok(g, T_LIT, (unsigned char)c->s[c->i++]);
			continue;
		case '*':
			if (g->ntoks == first ||
			    g->toks[g->ntoks - 1].kind != T_STAR)
				push_tok(g, T_STAR, 0);
			c->i++;
			continue;
		case '?':
			push_tok(g, T_ANY, 0);
			c->i++;
			continue;
		case '[':
			c->i++;
			if ((rc = parse_class(c)) != 0)
				return rc;
			continue;
		case ']': return cfail(c, STRAY_RULE);
		default:
			push_tok(g, T_LIT, ch);
			c->i++;
			continue;
		}
	}
	return end_comp(c, start, first);
}

/* Set g->lit: the longest run of T_LIT tokens in one component. */
static void
find_literal(struct glob *g)
{
	size_t k, i, run, best = 0, best_at = 0;
	const struct comp *c;

	for (k = 0; k < g->ncomps; k++) {
		c = &g->comps[k];
		if (c->globstar)
			continue;
		for (i = 0, run = 0; i < c->n; i++) {
			if (g->toks[c->first + i].kind != T_LIT) {
				run = 0;
				continue;
			}
			if (++run > best && run <= sizeof(g->lit)) {
				best = run;
				best_at = c->first + i + 1 - run;
			}
		}
	}
	for (i = 0; i < best; i++)
		g->lit[i] = g->toks[best_at + i].c;
	g->litlen = best;
}

int
glob_compile(const char *pattern, struct glob **out, char *err, size_t errlen)
{
	struct glob *g = NULL;
	struct cc c;
	size_t len, i, j, nslash = 0, nbrack = 0;
	uint32_t cp;
	int slash, rc;

	if (out == NULL)
		return SN_EINVAL;
	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
		c.err = err;
		c.errlen = errlen;
	}
	if (pattern == NULL)
		return cfail(&c, "no pattern");
	len = strnlen(pattern, GLOB_MAX_LEN + 1);
	if (len == 0)
		return cfail(&c, "empty pattern");
	if (len > GLOB_MAX_LEN)
		return cfail(&c, "pattern longer than %d bytes", GLOB_MAX_LEN);
	for (i = 0; i < len; i += j) {
		if ((j = glob_utf8_char(pattern + i, len - i, &cp)) == 0)
			return cfail(&c, "invalid UTF-8");
		nslash += pattern[i] == '/';
		nbrack += pattern[i] == '[';
	}
	if (pattern[0] == '!')
		return cfail(&c, BANG_RULE);

	rc = SN_ENOMEM;
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->text = strdup(pattern)) == NULL ||
	    (g->comps = calloc(nslash + 2, sizeof(*g->comps))) == NULL ||
	    (g->toks = calloc(len, sizeof(*g->toks))) == NULL ||
	    (nbrack > 0 &&
	        (g->classes = calloc(nbrack, sizeof(*g->classes))) == NULL) ||
	    (nbrack > 0 &&
	        (g->ranges = calloc(len, sizeof(*g->ranges))) == NULL))
		goto out;

	c.g = g;
	c.s = pattern;
	c.n = len;
	if (pattern[0] == '/')
		c.i = 1;
	if (c.i == c.n) {
		rc = cfail(&c, "empty pattern");
		goto out;
	}
	g->ncomps = 1; /* slot 0: the implicit '**' of an unanchored pattern */
	if ((rc = parse(&c, &slash)) != 0)
		goto out;
	if (pattern[0] == '/' || slash) {
		memmove(g->comps, g->comps + 1,
		    (g->ncomps - 1) * sizeof(*g->comps));
		g->ncomps--;
	} else
		g->comps[0].globstar = 1;
	/* '**' / '**' is one '**'. */
	for (i = j = 0; i < g->ncomps; i++) {
		if (j > 0 && g->comps[i].globstar && g->comps[j - 1].globstar)
			continue;
		g->comps[j++] = g->comps[i];
	}
	g->ncomps = j;
	find_literal(g);
	*out = g;
	g = NULL;
	rc = 0;
out:
	glob_free(g);
	return rc;
}

void
glob_free(struct glob *g)
{
	if (g == NULL)
		return;
	free(g->text);
	free(g->comps);
	free(g->toks);
	free(g->classes);
	free(g->ranges);
	free(g);
}

const char *
glob_pattern(const struct glob *g)
{
	return g != NULL ? g->text : NULL;
}

/* ---- matching --------------------------------------------------------- */

static int
class_has(const struct glob *g, const struct cclass *k, uint32_t cp)
{
	size_t i;
	int in = 0;

	if (cp < 0x80)
		in = (k->ascii[cp / 64] >> (cp % 64)) & 1;
	else if (cp < RAW_CP) {
		for (i = k->first; i < k->first + k->n; i++) {
			if (cp >= g->ranges[i].lo && cp <= g->ranges[i].hi) {
				in = 1;
				break;
			}
		}
	}
	return k->neg ? !in : in;
}

/* Bytes token t takes at s[0..n), or 0 if it does not match there. */
static size_t
tok_take(const struct glob *g, const struct tok *t, const char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (n == 0)
		return 0;
	switch (t->kind) {
	case T_LIT: return (unsigned char)s[0] == t->c ? 1 : 0;
	case T_ANY: return path_char(s, n, &cp);
	case T_CLASS:
		len = path_char(s, n, &cp);
		return class_has(g, &g->classes[t->cls], cp) ? len : 0;
	default: return 0;
	}
}

/* Does component k match the path component s[0..n)? */
static int
comp_match(const struct glob *g, const struct comp *k, const char *s, size_t n)
{
	const struct tok *t = g->toks + k->first;
	size_t ti = 0, si = 0, star = SIZE_MAX, star_si = 0, len;
	uint32_t cp;

	while (si < n) {
		if (ti < k->n && t[ti].kind == T_STAR) {
			star = ti++;
			star_si = si;
			continue;
		}
		if (ti < k->n &&
		    (len = tok_take(g, &t[ti], s + si, n - si)) > 0) {
			ti++;
			si += len;
			continue;
		}
		if (star == SIZE_MAX)
			return 0;
		/* Let the last '*' take one more character and retry. */
		star_si += path_char(s + star_si, n - star_si, &cp);
		si = star_si;
		ti = star + 1;
	}
	while (ti < k->n && t[ti].kind == T_STAR)
		ti++;
	return ti == k->n;
}

static void
set_add(const struct glob *g, uint64_t *set, size_t i)
{
	set[i / 64] |= (uint64_t)1 << (i % 64);
	/* A globstar also stands for the state after it. */
	if (i < g->ncomps && g->comps[i].globstar)
		set[(i + 1) / 64] |= (uint64_t)1 << ((i + 1) % 64);
}

static int
set_has(const uint64_t *set, size_t i)
{
	return (set[i / 64] >> (i % 64)) & 1;
}

/*
 * Run g over the components of path[0..len).  *matched is 1 if the
 * accepting state was reached after some component (set is then
 * meaningless); otherwise set holds the states after the last one.
 */
static void
run(const struct glob *g, const char *path, size_t len, uint64_t *set,
    int *matched)
{
	uint64_t next[SET_WORDS], x;
	size_t words = g->ncomps / 64 + 1, w, i, b, n;
	const char *s = path, *end = path + len, *slash;
	int any;

	*matched = 0;
	memset(set, 0, words * sizeof(*set));
	set_add(g, set, 0);
	while (s < end) {
		slash = memchr(s, '/', (size_t)(end - s));
		n = slash != NULL ? (size_t)(slash - s) : (size_t)(end - s);
		if (n > 0) {
			memset(next, 0, words * sizeof(*next));
			any = 0;
			for (w = 0; w < words; w++) {
				for (x = set[w]; x != 0; x &= x - 1) {
					b = (size_t)__builtin_ctzll(x);
					i = w * 64 + b;
					if (i >= g->ncomps)
						continue;
					if (g->comps[i].globstar)
						set_add(g, next, i);
					else if (comp_match(g, &g->comps[i], s,
					             n))
						set_add(g, next, i + 1);
					else
						continue;
					any = 1;
				}
			}
			memcpy(set, next, words * sizeof(*set));
			if (set_has(set, g->ncomps)) {
				*matched = 1;
				return;
			}
			if (!any)
				return;
		}
		if (slash == NULL)
			break;
		s = slash + 1;
	}
}

int
glob_match(const struct glob *g, const char *relpath)
{
	uint64_t set[SET_WORDS];
	size_t len;
	int matched;

	if (g == NULL || relpath == NULL)
		return 0;
	len = strlen(relpath);
	if (g->litlen > 0 && memmem(relpath, len, g->lit, g->litlen) == NULL)
		return 0;
	run(g, relpath, len, set, &matched);
	return matched;
}

int
glob_subtree_kept(const struct glob *g, const char *from, const char *to)
{
	uint64_t sf[SET_WORDS], st[SET_WORDS];
	size_t w, words;
	int mf, mt;

	if (g == NULL || from == NULL || to == NULL)
		return 0;
	run(g, from, strlen(from), sf, &mf);
	run(g, to, strlen(to), st, &mt);
	if (mt)
		return 1; /* everything under `to` is matched */
	if (mf)
		return 0; /* everything under `from` was, not all of `to` */
	/*
	 * What g does with from/REST depends only on the states after
	 * `from`: if `to` leaves g in those states (and maybe more), each
	 * match below `from` is a match below `to`.
	 */
	words = g->ncomps / 64 + 1;
	for (w = 0; w < words; w++) {
		if ((sf[w] & ~st[w]) != 0)
			return 0;
	}
	return 1;
}
