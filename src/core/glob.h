/*
 * glob.h - path patterns for the policy rules (deny, readonly).
 *
 * A pattern is matched against a canonical path relative to a workspace
 * root: components separated by single '/', no leading '/', no "." or
 * ".." and no empty component; "" is the root itself, which no pattern
 * matches.  Names are compared byte for byte, case-sensitively.
 *
 * Syntax (documented for users in docs/config.md, "Path patterns"):
 *   *        any run of characters inside one component (not '/'); it
 *            also matches names that start with '.'
 *   **       as a whole component (between slashes, or at either end):
 *            zero or more components; inside a component ("a**b") it
 *            is a plain '*'
 *   ?        one character (one UTF-8 character; not '/')
 *   [...]    one character from a class: members, ranges a-z, negation
 *            with a leading '!' or '^'; ']' first is a member; '\' escapes
 *   \c       the character c itself
 *
 * Anchoring, as in gitignore: a pattern with a '/' at its start or in
 * its middle is anchored at the root ("/build", "src/main.c"); a pattern with
 * no '/' other than a trailing one matches a name at any depth ("*.pem",
 * ".env", "node_modules/").  A trailing '/' is allowed and ignored (the
 * matcher cannot tell directories from files).
 *
 * A pattern covers what it names and everything under it: glob_match()
 * is 1 when the pattern matches the path or any of its ancestors, so
 * "secrets" covers "secrets/a/b" and "*.pem" covers "x.pem/inner".
 * Since '**' matches zero components, "a" followed by a '**' component
 * matches "a" itself too.
 *
 * Refused by glob_compile(): an empty pattern, one over GLOB_MAX_LEN
 * bytes, invalid UTF-8, an empty component ("a//b"), a "." or ".."
 * component, an unterminated '[', a stray ']', an empty or reversed range,
 * a '/' inside [...] or after '\', a trailing '\', and a leading '!'
 * (gitignore's negation is not supported: write "\!" for a literal '!').
 *
 * Cost: matching is iterative (no recursion) and takes at most
 * O(len(pattern) * len(path)) steps with no allocation: each component
 * is matched with the two-pointer star algorithm, and '**' is handled by
 * running the components as an NFA over the path's components.
 *
 * Ownership: glob_compile() returns a new struct glob that the caller
 * frees with glob_free() (glob_free(NULL) is a no-op).  A compiled glob
 * is immutable, so threads may share it.
 */
#ifndef SN_GLOB_H
#define SN_GLOB_H

#include <stddef.h>
#include <stdint.h>

#define GLOB_MAX_LEN 4096 /* bytes in a pattern */

struct glob;

/*
 * Compile pattern (NUL-terminated).  0 and *out set; SN_EINVAL with a
 * one-line reason in err (without the pattern itself); SN_ENOMEM.
 * OUT: *out, NULL on failure.
 */
int glob_compile(const char *pattern, struct glob **out, char *err,
    size_t errlen);

/* 1 if g matches relpath or one of its ancestors, else 0. */
int glob_match(const struct glob *g, const char *relpath);

/*
 * 1 if moving the tree at `from` to `to` cannot take anything out of
 * g's reach: for every descendant from/REST that g matches, to/REST is
 * matched too.  0 when that is not certain.  The decision for a
 * directory rename (see policy_rename_ok()).
 */
int glob_subtree_kept(const struct glob *g, const char *from, const char *to);

/* The pattern as it was given to glob_compile(). */
const char *glob_pattern(const struct glob *g);

void glob_free(struct glob *g);

/*
 * The strictly valid UTF-8 character at s[0..n): its length (1..4) with
 * *cp set, or 0 when s does not start with one (overlong forms,
 * surrogates and code points above U+10FFFF are invalid).
 */
size_t glob_utf8_char(const char *s, size_t n, uint32_t *cp);

#endif
