/*
 * text.h - the text helpers the API, the tools and the CLI share: strict
 * UTF-8, base64 (RFC 4648, padded, canonical), RFC 3339 time.  Pure: no
 * I/O, no globals.
 */
#ifndef SN_TEXT_H
#define SN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * 1 if s[0..n) is strictly valid UTF-8 (no overlong form, no surrogate,
 * nothing above U+10FFFF), and holds no NUL unless allow_nul; else 0.
 */
int text_utf8_valid(const char *s, size_t n, int allow_nul);

/* Base64 of in[0..len), padded, into a malloc'd NUL-terminated *out.
 * 0, SN_ERANGE (too long) or SN_ENOMEM; *out is NULL on failure. */
int text_b64_encode(const unsigned char *in, size_t len, char **out);

/*
 * Decode canonical base64 (padded, no blanks, zero bits below the
 * padding) of in[0..len) into a malloc'd *out (NUL added, not counted in
 * *outlen).  0, SN_EINVAL (not canonical base64) or SN_ENOMEM.
 */
int text_b64_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen);

/*
 * ns (CLOCK_REALTIME nanoseconds) as RFC 3339 UTC with frac digits of
 * fraction (0, 3, 6 or 9): "2026-12-05T01:02:03.456Z".  "" when out of
 * range.
 */
void text_rfc3339(int64_t ns, int frac, char *buf, size_t len);

#endif
