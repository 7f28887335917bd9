/*
 * test_glob.c - the path pattern matcher (src/core/glob.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/glob.h"
#include "tap.h"

/* Compile pattern (must succeed) and match path. */
static int
m(const char *pattern, const char *path)
{
	struct glob *g = NULL;
	char err[256];
	int r;

	if (glob_compile(pattern, &g, err, sizeof(err)) != 0) {
		diag("pattern \"%s\" did not compile: %s", pattern, err);
		return -1;
	}
	r = glob_match(g, path);
	glob_free(g);
	return r;
}

struct mcase {
	const char *pattern;
	const char *path;
	int want;
};

static void
run_cases(const struct mcase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		is_int(m(c[i].pattern, c[i].path), c[i].want,
		    "\"%s\" %s \"%s\"", c[i].pattern,
		    c[i].want ? "matches" : "does not match", c[i].path);
}

#define RUN(c) run_cases(c, sizeof(c) / sizeof(c[0]))

static void
test_literals_and_anchoring(void)
{
	static const struct mcase c[] = {
		/* A name with no '/': any depth. */
		{ ".env", ".env", 1 },
		{ ".env", "a/.env", 1 },
		{ ".env", "a/b/c/.env", 1 },
		{ ".env", ".envrc", 0 },
		{ ".env", "x.env", 0 },
		{ ".env", "a/.env.local", 0 },
		/* ... covering what is under it. */
		{ ".env", ".env/x", 1 },
		{ ".env", "a/.env/b/c", 1 },
		/* Anchored by a leading '/'. */
		{ "/.env", ".env", 1 },
		{ "/.env", "a/.env", 0 },
		{ "/.env", ".env/inner", 1 },
		/* Anchored by a '/' in the middle. */
		{ "a/b", "a/b", 1 },
		{ "a/b", "a/b/c", 1 },
		{ "a/b", "x/a/b", 0 },
		{ "a/b", "a", 0 },
		{ "a/b", "a/bc", 0 },
		{ "a/b", "ab", 0 },
		{ "/a/b", "a/b", 1 },
		/* A trailing '/' does not anchor and is ignored. */
		{ "build/", "build", 1 },
		{ "build/", "src/build", 1 },
		{ "build/", "src/build/x.o", 1 },
		{ "build/", "builder", 0 },
		{ "a/b/", "a/b/c", 1 },
		{ "a/b/", "x/a/b", 0 },
		/* The root is never matched. */
		{ "*", "", 0 },
		{ "**", "", 0 },
		{ "/**", "", 0 },
		/* Case-sensitive, byte for byte. */
		{ "Makefile", "makefile", 0 },
		{ "a b", "a b", 1 },
		{ "caf\xc3\xa9", "x/caf\xc3\xa9", 1 },
		{ "caf\xc3\xa9", "cafe", 0 },
	};

	RUN(c);
}

static void
test_star(void)
{
	static const struct mcase c[] = {
		{ "*.pem", "key.pem", 1 },
		{ "*.pem", "a/b/key.pem", 1 },
		{ "*.pem", ".pem", 1 },
		{ "*.pem", "key.pem.bak", 0 },
		{ "*.pem", "keypem", 0 },
		{ "*.pem", "certs.pem/inside", 1 },
		{ "*", "anything", 1 },
		{ "*", "a/b", 1 },
		{ "*", ".hidden", 1 },
		{ "a*", "a", 1 },
		{ "a*", "abc", 1 },
		{ "a*", "ba", 0 },
		{ "*a", "bca", 1 },
		{ "*a*", "xxaxx", 1 },
		{ "*a*", "xxx", 0 },
		{ "a*b*c", "abc", 1 },
		{ "a*b*c", "aXbYc", 1 },
		{ "a*b*c", "aXcYb", 0 },
		{ "a*b*c", "abcbc", 1 },
		{ "a*b*c", "abcb", 0 },
		/* '*' stays inside one component. */
		{ "src/*", "src/a", 1 },
		/* covered: src/a matches */
		{ "src/*", "src/a/b", 1 },
		{ "src/*.c", "src/a.c", 1 },
		{ "src/*.c", "src/x/a.c", 0 },
		{ "a*b", "a/b", 0 },
		{ "a*b", "ab", 1 },
		{ "x/a*b", "x/a/b", 0 },
		/* Runs of '*' and '**' inside a component are one '*'. */
		{ "a**b", "aXXb", 1 },
		{ "a**b", "a/b", 0 },
		{ "***", "x", 1 },
		{ "x/***/y", "x/q/y", 1 },
		{ "x/***/y", "x/q/r/y", 0 },
		/* Backtracking. */
		{ "*ab", "aaab", 1 },
		{ "*aab", "aaaab", 1 },
		{ "*abc*abc", "abcabcabc", 1 },
		{ "*abc*abd", "abcabcabc", 0 },
		{ "*?", "a", 1 },
		{ "*?", "", 0 },
		{ "?*?", "a", 0 },
		{ "?*?", "ab", 1 },
	};

	RUN(c);
}

static void
test_globstar(void)
{
	static const struct mcase c[] = {
		{ "**", "a", 1 },
		{ "**", "a/b/c", 1 },
		{ "/**", "a/b/c", 1 },
		{ "**/x", "x", 1 },
		{ "**/x", "a/x", 1 },
		{ "**/x", "a/b/c/x", 1 },
		{ "**/x", "a/b/c/x/d", 1 },
		{ "**/x", "a/xx", 0 },
		/* zero components: x itself */
		{ "x/**", "x", 1 },
		{ "x/**", "x/a", 1 },
		{ "x/**", "x/a/b/c", 1 },
		{ "x/**", "y/x", 0 },
		{ "x/**", "xy", 0 },
		{ "a/**/b", "a/b", 1 },
		{ "a/**/b", "a/x/b", 1 },
		{ "a/**/b", "a/x/y/z/b", 1 },
		{ "a/**/b", "a/x/y/z/b/c", 1 },
		{ "a/**/b", "a/x/y/z", 0 },
		{ "a/**/b", "x/a/b", 0 },
		{ "a/**/b", "a/bb", 0 },
		{ "a/**/**/b", "a/b", 1 },
		{ "a/**/**/b", "a/1/2/b", 1 },
		{ "**/**/x", "x", 1 },
		{ "a/**/b/**/c", "a/b/c", 1 },
		{ "a/**/b/**/c", "a/1/b/2/3/c", 1 },
		{ "a/**/b/**/c", "a/1/c/2/b", 0 },
		{ "a/**/b/**/c", "a/b/b/b/c", 1 },
		{ "**/b/*.pem", "x/y/b/k.pem", 1 },
		{ "**/b/*.pem", "b/k.pem", 1 },
		{ "**/b/*.pem", "x/b/y/k.pem", 0 },
		{ "**/secrets/**", "secrets", 1 },
		{ "**/secrets/**", "a/secrets/b", 1 },
		{ "**/secrets/**", "a/notsecrets/b", 0 },
		{ ".git/**", ".git", 1 },
		{ ".git/**", ".git/objects/ab/cdef", 1 },
		{ ".git/**", "sub/.git/config", 0 },
		{ ".git", "sub/.git/config", 1 },
		{ "a/**/*.c", "a/x.c", 1 },
		{ "a/**/*.c", "a/p/q/x.c", 1 },
		{ "a/**/*.c", "a/p/q/x.h", 0 },
	};

	RUN(c);
}

static void
test_any_and_classes(void)
{
	static const struct mcase c[] = {
		{ "?", "a", 1 },
		{ "?", "ab", 0 },
		{ "??", "ab", 1 },
		{ "a?c", "abc", 1 },
		{ "a?c", "a/c", 0 },
		{ "a?c", "ac", 0 },
		/* '?' takes one UTF-8 character. */
		{ "caf?", "caf\xc3\xa9", 1 },
		{ "caf??", "caf\xc3\xa9", 0 },
		/* euro sign: 3 bytes */
		{ "?", "\xe2\x82\xac", 1 },
		/* one character, not 3 */
		{ "*??", "\xe2\x82\xac", 0 },
		{ "*?", "\xe2\x82\xac", 1 },
		/* a stray byte is a character */
		{ "?", "\xff", 1 },
		{ "??", "\xff\xfe", 1 },
		{ "[abc]", "b", 1 },
		{ "[abc]", "d", 0 },
		{ "[a-c]x", "bx", 1 },
		{ "[a-c]x", "dx", 0 },
		{ "[!a-c]x", "dx", 1 },
		{ "[!a-c]x", "ax", 0 },
		{ "[^a-c]x", "dx", 1 },
		{ "[^a-c]x", "bx", 0 },
		{ "[]]", "]", 1 },
		{ "[]a]", "a", 1 },
		{ "[!]]", "]", 0 },
		{ "[!]]", "x", 1 },
		{ "[a-]", "-", 1 },
		{ "[a-]", "a", 1 },
		{ "[-a]", "-", 1 },
		{ "[\\]]", "]", 1 },
		{ "[\\-]", "-", 1 },
		{ "[\\!a]", "!", 1 },
		{ "[*?]", "*", 1 },
		{ "[*?]", "x", 0 },
		{ "[.]env", ".env", 1 },
		{ "*.[ch]", "a.c", 1 },
		{ "*.[ch]", "a.h", 1 },
		{ "*.[ch]", "a.o", 0 },
		{ "*.[ch]", "a.cc", 0 },
		{ "[0-9][0-9]", "42", 1 },
		{ "[0-9][0-9]", "4a", 0 },
		/* Non-ASCII members and ranges. */
		{ "[\xc3\xa9\xc3\xa8]", "\xc3\xa8", 1 },
		{ "[\xc3\xa9\xc3\xa8]", "e", 0 },
		{ "[a-\xc3\xbf]", "\xc3\xa9", 1 },
		{ "[a-\xc3\xbf]", "b", 1 },
		{ "[a-\xc3\xbf]", "\xc4\x80", 0 },
		{ "[!\xc3\xa9]", "\xc3\xa9", 0 },
		{ "[!\xc3\xa9]", "\xc3\xa8", 1 },
		/* stray byte: in a negated class */
		{ "[!a]", "\xff", 1 },
		{ "[\x01-\x7f]", "\xff", 0 },
		/* half a character */
		{ "[\xc3\xa9]", "\xc3", 0 },
	};

	RUN(c);
}

static void
test_escapes(void)
{
	static const struct mcase c[] = {
		{ "\\*", "*", 1 }, { "\\*", "a", 0 }, { "\\?", "?", 1 },
		{ "\\?", "a", 0 }, { "\\[a\\]", "[a]", 1 },
		{ "\\[a\\]", "a", 0 }, { "a\\]", "a]", 1 }, { "\\\\", "\\", 1 },
		{ "\\!x", "!x", 1 }, { "\\a", "a", 1 }, { "\\#x", "#x", 1 },
		{ "\\*\\*", "**", 1 }, /* escaped stars are not '**' */
		{ "\\*\\*", "ab", 0 }, { "x/\\*\\*/y", "x/**/y", 1 },
		{ "x/\\*\\*/y", "x/a/y", 0 }, { "\\\xc3\xa9", "\xc3\xa9", 1 },
		{ "/!x", "!x", 1 },
		{ "a\\,b", "a,b", 1 }, /* a comma, as config lists write it */
	};

	RUN(c);
}

static void
test_compile_errors(void)
{
	static const struct {
		const char *pattern;
		const char *why;
	} c[] = {
		{ "", "empty pattern" },
		{ "/", "empty pattern" },
		{ "//", "empty path component" },
		{ "a//b", "empty path component" },
		{ "a/", NULL },
		{ "a//", "empty path component" },
		{ ".", "'.' and '..'" },
		{ "..", "'.' and '..'" },
		{ "a/../b", "'.' and '..'" },
		{ "./a", "'.' and '..'" },
		{ "a/.", "'.' and '..'" },
		{ "\\.\\.", "'.' and '..'" },
		{ "...", NULL },
		{ ".a", NULL },
		{ "[abc", "unterminated '['" },
		{ "[", "unterminated '['" },
		{ "[]", "unterminated '['" },
		{ "[!]", "unterminated '['" },
		{ "[a\\", "unterminated '['" },
		{ "a]", "']' without '['" },
		{ "]", "']' without '['" },
		{ "[[:alpha:]]", "']' without '['" },
		{ "[z-a]", "reversed range" },
		{ "[a/b]", "'/' inside [...]" },
		{ "[\\/]", "'/' inside [...]" },
		{ "a\\/b", "'/' cannot be escaped" },
		{ "a\\", "trailing '\\'" },
		{ "!x", "negation is not supported" },
		{ "a\xff", "invalid UTF-8" },
		/* overlong '/' */
		{ "\xc0\xaf", "invalid UTF-8" },
		/* surrogate */
		{ "\xed\xa0\x80", "invalid UTF-8" },
		/* > U+10FFFF */
		{ "\xf4\x90\x80\x80", "invalid UTF-8" },
		/* cut short */
		{ "a\xc3", "invalid UTF-8" },
	};
	struct glob *g;
	char err[256], *big;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		g = (struct glob *)(uintptr_t)1;
		memset(err, 'x', sizeof(err));
		rc = glob_compile(c[i].pattern, &g, err, sizeof(err));
		if (c[i].why == NULL) {
			ok(rc == 0 && g != NULL && err[0] == '\0',
			    "\"%s\" compiles", c[i].pattern);
			glob_free(g);
			continue;
		}
		ok(rc == SN_EINVAL && g == NULL, "\"%s\" is refused",
		    c[i].pattern);
		has_str(err, c[i].why, "\"%s\": reason", c[i].pattern);
	}

	/* Length: 4096 bytes is fine, 4097 is not. */
	if ((big = malloc(GLOB_MAX_LEN + 2)) == NULL)
		abort();
	memset(big, 'a', GLOB_MAX_LEN);
	big[GLOB_MAX_LEN] = '\0';
	rc = glob_compile(big, &g, err, sizeof(err));
	ok(rc == 0, "pattern of %d bytes", GLOB_MAX_LEN);
	glob_free(g);
	big[GLOB_MAX_LEN] = 'a';
	big[GLOB_MAX_LEN + 1] = '\0';
	rc = glob_compile(big, &g, err, sizeof(err));
	ok(rc == SN_EINVAL && g == NULL, "pattern of %d bytes refused",
	    GLOB_MAX_LEN + 1);
	has_str(err, "longer than 4096", "length reason");
	/* The most components a pattern can have. */
	for (i = 0; i < GLOB_MAX_LEN; i++)
		big[i] = i % 2 ? '/' : 'a';
	big[GLOB_MAX_LEN - 1] = '\0';
	rc = glob_compile(big, &g, err, sizeof(err));
	ok(rc == 0, "pattern of 2048 components");
	ok(glob_match(g, big) == 1, "matches itself");
	big[GLOB_MAX_LEN - 3] = '\0';
	ok(glob_match(g, big) == 0, "not one component short");
	glob_free(g);
	free(big);

	ok(glob_compile(NULL, &g, err, sizeof(err)) == SN_EINVAL && g == NULL,
	    "NULL pattern");
	ok(glob_compile("a", NULL, err, sizeof(err)) == SN_EINVAL, "NULL out");
	ok(glob_compile("[", &g, NULL, 0) == SN_EINVAL && g == NULL,
	    "NULL err buffer");
	ok(glob_compile("a", &g, NULL, 0) == 0, "no err buffer needed");
	is_str(glob_pattern(g), "a", "glob_pattern");
	ok(glob_match(g, NULL) == 0, "NULL path does not match");
	glob_free(g);
	ok(glob_match(NULL, "a") == 0, "NULL glob does not match");
	ok(glob_pattern(NULL) == NULL, "glob_pattern(NULL)");
	glob_free(NULL);
	ok(1, "glob_free(NULL)");
}

static void
test_subtree_kept(void)
{
	static const struct {
		const char *pattern, *from, *to;
		int want;
	} c[] = {
		/* Basename patterns follow the file wherever it goes. */
		{ "*.pem", "a", "b", 1 },
		{ "*.pem", "a/b", "c", 1 },
		{ ".env", "x", "y/z", 1 },
		/* Anchored patterns do not. */
		{ "secrets/*.pem", "secrets", "s2", 0 },
		{ "secrets/*.pem", "other", "s2", 1 },
		{ "secrets/*.pem", "other", "secrets", 1 },
		{ "**/secrets/*.pem", "a/secrets", "a/s2", 0 },
		{ "**/secrets/*.pem", "a/secrets", "b/secrets", 1 },
		{ "**/secrets/*.pem", "a/x", "b/y", 1 },
		{ "config/prod/**", "config", "cfg", 0 },
		{ "config/prod/**", "config", "config2", 0 },
		{ "config/prod/**", "src", "lib", 1 },
		{ "a/**/b", "a", "c", 0 },
		{ "a/**/b", "a/x", "a/y", 1 },
		{ "a/**/b", "a/x", "c/y", 0 },
		/* From inside what is matched: only into what is matched. */
		{ ".git/**", ".git", "git", 0 },
		{ ".git/**", ".git/objects", ".git/o2", 1 },
		{ "secrets", "secrets", "x", 0 },
		{ "secrets", "x", "secrets", 1 },
		{ "**", "a", "b", 1 },
	};
	struct glob *g;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (glob_compile(c[i].pattern, &g, err, sizeof(err)) != 0) {
			ok(0, "compile %s: %s", c[i].pattern, err);
			continue;
		}
		is_int(glob_subtree_kept(g, c[i].from, c[i].to), c[i].want,
		    "\"%s\": %s -> %s %s", c[i].pattern, c[i].from, c[i].to,
		    c[i].want ? "keeps the subtree" : "may lose some of it");
		glob_free(g);
	}
	ok(glob_subtree_kept(NULL, "a", "b") == 0, "NULL glob");
}

/* ---- a brute-force reference, for random patterns ------------------- */

/* One generated component: globstar, or tokens from the alphabet below. */
#define RMAX 6
struct rcomp {
	int globstar;
	int n;
	int tok[RMAX]; /* 0 'a', 1 'b', 2 '*', 3 '?', 4 "[ab]", 5 "[!a]" */
};

static int
ref_tok(int t, char c)
{
	switch (t) {
	case 0: return c == 'a';
	case 1: return c == 'b';
	case 3: return 1;
	case 4: return c == 'a' || c == 'b';
	case 5: return c != 'a';
	default: return 0;
	}
}

/* Exponential but obviously right: component tokens vs one name. */
static int
ref_comp(const int *t, int nt, const char *s, size_t n)
{
	size_t k;

	if (nt == 0)
		return n == 0;
	if (t[0] == 2) {
		for (k = 0; k <= n; k++) {
			if (ref_comp(t + 1, nt - 1, s + k, n - k))
				return 1;
		}
		return 0;
	}
	return n > 0 && ref_tok(t[0], s[0]) &&
	    ref_comp(t + 1, nt - 1, s + 1, n - 1);
}

/* Pattern components vs exactly path components pc[0..np). */
static int
ref_full(const struct rcomp *c, int nc, char pc[][8], int np)
{
	int k;

	if (nc == 0)
		return np == 0;
	if (c[0].globstar) {
		for (k = 0; k <= np; k++) {
			if (ref_full(c + 1, nc - 1, pc + k, np - k))
				return 1;
		}
		return 0;
	}
	return np > 0 && ref_comp(c[0].tok, c[0].n, pc[0], strlen(pc[0])) &&
	    ref_full(c + 1, nc - 1, pc + 1, np - 1);
}

static uint64_t rng = 0x243f6a8885a308d3ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
test_random_vs_reference(void)
{
	static const char *const ts[] = { "a", "b", "*", "?", "[ab]", "[!a]" };
	struct rcomp c[6];
	char pat[256], path[128], pc[8][8], err[256];
	struct glob *g;
	int iter, nc, np, i, j, k, want, got, bad = 0, anchored, hits = 0;
	size_t len;

	for (iter = 0; iter < 20000; iter++) {
		nc = 1 + (int)rnd(4);
		anchored = (int)rnd(2);
		len = 0;
		pat[0] = '\0';
		if (anchored)
			pat[len++] = '/';
		for (i = 0; i < nc; i++) {
			c[i].globstar = rnd(4) == 0;
			c[i].n = 0;
			if (i > 0)
				pat[len++] = '/';
			if (c[i].globstar) {
				memcpy(pat + len, "**", 2);
				len += 2;
				continue;
			}
			c[i].n = 1 + (int)rnd(4);
			for (j = 0; j < c[i].n; j++) {
				c[i].tok[j] = (int)rnd(6);
				/* "**" inside a component is one '*' */
				if (c[i].tok[j] == 2 && j > 0 &&
				    c[i].tok[j - 1] == 2)
					c[i].tok[j] = 0;
				k = (int)strlen(ts[c[i].tok[j]]);
				memcpy(pat + len, ts[c[i].tok[j]], (size_t)k);
				len += (size_t)k;
			}
			if (c[i].n == 2 && c[i].tok[0] == 2 && c[i].tok[1] == 2)
				c[i].globstar = 1;
		}
		pat[len] = '\0';
		np = (int)rnd(6);
		len = 0;
		for (i = 0; i < np; i++) {
			k = 1 + (int)rnd(3);
			for (j = 0; j < k; j++)
				pc[i][j] = "ab"[rnd(2)];
			pc[i][k] = '\0';
			if (i > 0)
				path[len++] = '/';
			memcpy(path + len, pc[i], (size_t)k);
			len += (size_t)k;
		}
		path[len] = '\0';

		/* Unanchored (one component): a leading '**'. */
		want = 0;
		if (nc == 1 && !anchored) {
			memmove(c + 1, c, sizeof(c[0]));
			c[0].globstar = 1;
			c[0].n = 0;
			nc = 2;
		}
		for (k = 1; k <= np && !want; k++)
			want = ref_full(c, nc, pc, k);
		if (glob_compile(pat, &g, err, sizeof(err)) != 0) {
			if (bad++ < 5)
				diag("\"%s\" did not compile: %s", pat, err);
			continue;
		}
		got = glob_match(g, path);
		glob_free(g);
		hits += got == 1;
		if (got != want && bad++ < 5)
			diag("\"%s\" vs \"%s\": got %d, want %d", pat, path,
			    got, want);
	}
	is_int(bad, 0, "20000 random patterns agree with a brute force");
	ok(hits > 2000 && hits < 18000, "... both outcomes common (%d matches)",
	    hits);
}

/* ---- cost -------------------------------------------------------------- */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_pathological(void)
{
	struct glob *g;
	char err[256], *path, *pat;
	size_t n = 100000, i;
	double t0, t;
	int r;

	if ((path = malloc(n + 1)) == NULL || (pat = malloc(4097)) == NULL)
		abort();

	/* One long component against many stars. */
	memset(path, 'a', n);
	path[n] = '\0';
	t0 = now();
	r = m("*a*a*a*a*a*b", path);
	t = now() - t0;
	is_int(r, 0, "*a*a*a*a*a*b vs 100000 a's: no match");
	ok(t < 10.0, "... in %.3f s", t);
	path[n - 1] = 'b';
	is_int(m("*a*a*a*a*a*b", path), 1, "... matches with a final b");

	/* Many components against many globstars. */
	for (i = 0; i < n; i++)
		path[i] = i % 2 ? '/' : 'a';
	path[n - 1] = '\0';
	t0 = now();
	r = m("**/a/**/a/**/a/**/a/**/a/**/b", path);
	t = now() - t0;
	is_int(r, 0, "**/a/**/a/... vs 50000 components: no match");
	ok(t < 10.0, "... in %.3f s", t);

	/* The longest pattern of stars against a long name. */
	for (i = 0; i < 4096; i++)
		pat[i] = i % 2 ? 'a' : '*';
	pat[4095] = 'b';
	pat[4096] = '\0';
	memset(path, 'a', 20000);
	path[20000] = '\0';
	t0 = now();
	r = m(pat, path);
	t = now() - t0;
	is_int(r, 0, "4096-byte *a*a...b vs 20000 a's: no match");
	ok(t < 10.0, "... in %.3f s", t);

	/* The longest pattern of globstars against many components. */
	for (i = 0; i + 4 < 4096; i += 5)
		memcpy(pat + i, "**/a/", 5);
	memcpy(pat + i - 2, "b", 2);
	for (i = 0; i < 4000; i++)
		path[i] = i % 2 ? '/' : 'a';
	path[3999] = '\0';
	if (glob_compile(pat, &g, err, sizeof(err)) == 0) {
		t0 = now();
		r = glob_match(g, path);
		t = now() - t0;
		is_int(r, 0, "4096-byte **/a/**/a... vs 2000 components");
		ok(t < 10.0, "... in %.3f s", t);
		glob_free(g);
	} else {
		diag("%s", err);
		skip(2, "did not compile");
	}
	free(pat);
	free(path);
}

int
main(void)
{
	test_literals_and_anchoring();
	test_star();
	test_globstar();
	test_any_and_classes();
	test_escapes();
	test_compile_errors();
	test_subtree_kept();
	test_random_vs_reference();
	test_pathological();
	return done_testing();
}
