/*
 * redact.h - streaming redaction of secret values in command output.
 *
 * One struct redact per output stream (stdout and stderr each get their
 * own).  Bytes go in with redact_feed(); the same bytes come out through
 * the caller's emit callback, with every occurrence of a secret value
 * replaced by the text "[REDACTED:NAME]".  The redactor is pure: no I/O,
 * no globals, no clock.  It runs before output is capped, so a cap can
 * never cut a value in half and let the first half through.
 *
 * What is caught, for each secret value V:
 *
 *  - V itself, byte for byte (binary values included).
 *  - V URL-encoded, in any mix: the output is decoded on the fly ("%XX"
 *    with upper- or lower-case hex is the byte XX, '+' is a space, any
 *    other byte is itself) and matched against V; '+' and ' ' are treated
 *    as the same byte on both sides, so "a+b" also matches "a%2Bb" and
 *    "a b".  "%" not followed by two hex digits is a literal '%'.
 *  - V in base64 (standard alphabet, URL-safe alphabet "-_", or a mix;
 *    padding or not), at any of the three alignments: V may sit anywhere
 *    inside a larger encoded blob.  For alignment a (V starts at byte
 *    offset a mod 3 of the encoded data) the "core" is the run of base64
 *    characters determined by V's bytes alone; the core is matched, and
 *    the redaction also takes the one partial character before it and
 *    the one after it (each carries 2 or 4 bits of V), so at most one
 *    neighbouring character that also carries a few bits of other data
 *    is redacted at each edge.  Line breaks inside the base64 text are
 *    skipped: a run of at most 2 bytes of '\r'/'\n' between two base64
 *    characters ("\n", "\r\n", a blank line) does not break a match, and
 *    is redacted with it.  A longer run, '=' or any other byte ends a
 *    base64 run.
 *    Cores shorter than REDACT_B64_MIN_CORE (8) characters are not
 *    matched: 48 bits is the least that still names one value rather
 *    than matching ordinary text.  Hence base64 forms are caught at all
 *    three alignments for values of 7 bytes or more, only at alignment 0
 *    for values of 6 bytes, and not at all for values of 4 or 5 bytes
 *    (their raw and URL-encoded forms are still caught).
 *
 * Redaction guards against accidents (a token echoed, logged, put in a
 * URL or a base64 blob by a tool), not against a command that means to
 * leak: a value transformed otherwise (hex, reversed, rot13, compressed,
 * split by other bytes) is not recognised.
 *
 * Values shorter than REDACT_MIN_LEN (4) bytes are refused (SN_EINVAL):
 * replacing every "ab" or "1" in the output would destroy it while
 * protecting nothing (such a value is guessable).
 *
 * Overlaps: matches that overlap (two secrets, one a prefix of the other,
 * a raw and an encoded form of the same bytes, repeated values) are
 * merged into one replacement covering all of them, named after the
 * longest match among them (the earliest secret on a tie), so no part of
 * any of them is left in the output.  Matches that only touch are two
 * replacements.  A chain of overlapping matches longer than the hold-back
 * (e.g. "ababab..." with the value "abab") is cut into several
 * replacements, never into plain text.
 *
 * Hold-back: redact_feed() keeps back at most redact_holdback(r) bytes
 * of input that could still be the start of a match (about 4 times the
 * longest value plus a few bytes); everything before is emitted at once.
 * Memory is bounded for any input: the hold-back plus a fixed work block.
 * Time is linear in the input: one Aho-Corasick automaton per view (raw,
 * URL-decoded, base64), each moving one step per input byte.
 *
 * Emission: emit(arg, buf, n) receives the output in order, in pieces of
 * any size, n > 0.  A replacement text always comes whole, alone in one
 * call.  A non-zero return from emit stops the redactor: that value is
 * returned by this and every later call (the stream is then broken; free
 * it).
 *
 * Limits: a value is at most REDACT_MAX_LEN bytes, at most
 * REDACT_MAX_SECRETS values totalling REDACT_MAX_TOTAL bytes (SN_ERANGE
 * beyond).  A name is 1..REDACT_NAME_MAX bytes of printable ASCII other
 * than ']' (SN_EINVAL otherwise).  n == 0 is allowed: the redactor then
 * passes everything through with no hold-back.
 *
 * Ownership: redact_new() copies names and what it derives from the
 * values; the caller's buffers are not referenced afterwards.  Every
 * buffer that held a value or output is wiped before it is freed.
 * redact_free(NULL) is a no-op.  A struct redact is used by one thread
 * at a time.
 */
#ifndef SN_REDACT_H
#define SN_REDACT_H

#include <stddef.h>
#include <stdint.h>

#define REDACT_MIN_LEN      4         /* bytes in a value, at least */
#define REDACT_MAX_LEN      16384     /* bytes in a value, at most */
#define REDACT_MAX_SECRETS  1024      /* values in one redactor */
#define REDACT_MAX_TOTAL    (1 << 18) /* bytes in all values together */
#define REDACT_NAME_MAX     128       /* bytes in a name */
#define REDACT_B64_MIN_CORE 8         /* base64 characters in a core */

struct redact_secret {
	const char *name;           /* NUL-terminated */
	const unsigned char *value; /* len bytes, any bytes */
	size_t len;
};

struct redact;

/*
 * Output callback: n > 0 bytes of output at buf.  Return 0 to go on;
 * anything else stops the redactor and is returned to the caller.
 */
typedef int (*redact_emit)(void *arg, const char *buf, size_t n);

/*
 * Build the matcher for the n secrets at s (s may be NULL when n is 0).
 * 0 with *out set; SN_EINVAL (a value under REDACT_MIN_LEN bytes, a NULL
 * or invalid name, s NULL with n > 0), SN_ERANGE (a limit above),
 * SN_ENOMEM.  OUT: *out, NULL on failure.
 */
int redact_new(const struct redact_secret *s, size_t n, struct redact **out);

/* Wipe and free r.  NULL is a no-op. */
void redact_free(struct redact *r);

/*
 * Feed n bytes of the stream; complete output goes out through emit,
 * possibly several calls, possibly none.  0, or what emit returned.
 * After it returns, at most redact_holdback(r) bytes fed are not yet
 * out.
 */
int redact_feed(struct redact *r, const char *in, size_t n, redact_emit emit,
    void *arg);

/*
 * End of stream: redact any match that ends here and emit everything
 * still held back.  0, or what emit returned.  Feeding after it is
 * SN_EINVAL.
 */
int redact_finish(struct redact *r, redact_emit emit, void *arg);

/* The most bytes redact_feed() holds back between calls. */
size_t redact_holdback(const struct redact *r);

/*
 * Replacements emitted so far (for the audit event: the number, never a
 * value).
 */
uint64_t redact_count(const struct redact *r);

#endif
