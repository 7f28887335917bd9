/*
 * test_text.c - strict UTF-8, canonical base64 and RFC 3339 (core/text.c).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"
#include "tap.h"

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
		int nul_ok, want;
		const char *what;
	} c[] = {
		{ "plain ascii", 11, 0, 1, "ASCII" },
		{ "caf\xc3\xa9", 5, 0, 1, "2-byte" },
		{ "\xe2\x82\xac", 3, 0, 1, "3-byte (euro)" },
		{ "\xf0\x9f\x98\x80", 4, 0, 1, "4-byte (emoji)" },
		{ "a\0b", 3, 0, 0, "NUL refused" },
		{ "a\0b", 3, 1, 1, "NUL allowed when asked" },
		{ "\xc0\xaf", 2, 0, 0, "overlong '/'" },
		{ "\xe0\x80\xaf", 3, 0, 0, "overlong 3-byte" },
		{ "\xed\xa0\x80", 3, 0, 0, "surrogate" },
		{ "\xf4\x90\x80\x80", 4, 0, 0, "above U+10FFFF" },
		{ "\xc3", 1, 0, 0, "truncated" },
		{ "\xff", 1, 0, 0, "0xff" },
		{ "\x80", 1, 0, 0, "lone continuation" },
		{ "", 0, 0, 1, "empty" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_int(text_utf8_valid(c[i].s, c[i].n, c[i].nul_ok), c[i].want,
		    "utf8: %s", c[i].what);
}

static void
test_b64(void)
{
	static const char *const vec[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=", "Zh==", "Zm9=", "Zm 9v",
		"Zm9v\n", "====", "Z===", "Zm9v=", "Zg==Zg==", "*m9v" };
	unsigned char bin[256], *d = NULL;
	char *e = NULL;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		r = text_b64_encode((const unsigned char *)vec[i][0],
		    strlen(vec[i][0]), &e);
		ok(r == 0 && e != NULL && strcmp(e, vec[i][1]) == 0,
		    "b64 encode \"%s\" (RFC 4648)", vec[i][0]);
		free(e);
		r = text_b64_decode(vec[i][1], strlen(vec[i][1]), &d, &n);
		ok(r == 0 && n == strlen(vec[i][0]) &&
		        memcmp(d, vec[i][0], n) == 0 && d[n] == '\0',
		    "b64 decode \"%s\"", vec[i][1]);
		free(d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (unsigned char *)1;
		r = text_b64_decode(bad[i], strlen(bad[i]), &d, &n);
		ok(r == SN_EINVAL && d == NULL, "b64 refuses \"%s\"", bad[i]);
	}
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	for (i = 0; i <= sizeof(bin); i += 37) {
		r = text_b64_encode(bin, i, &e);
		r |= text_b64_decode(e, strlen(e), &d, &n);
		ok(r == 0 && n == i && memcmp(d, bin, i) == 0,
		    "b64 round trip of %zu binary bytes", i);
		free(e);
		free(d);
	}
}

static void
test_time(void)
{
	char buf[64];
	int64_t ns = 1733350000123456789LL;

	text_rfc3339(ns, 0, buf, sizeof(buf));
	is_str(buf, "2024-12-04T22:06:40Z", "rfc3339, seconds");
	text_rfc3339(ns, 3, buf, sizeof(buf));
	is_str(buf, "2024-12-04T22:06:40.123Z", "rfc3339, milliseconds");
	text_rfc3339(ns, 9, buf, sizeof(buf));
	is_str(buf, "2024-12-04T22:06:40.123456789Z", "rfc3339, nanoseconds");
	text_rfc3339(-1, 3, buf, sizeof(buf));
	is_str(buf, "", "rfc3339 of a negative time is empty");
	text_rfc3339(ns, 9, buf, 8);
	is_str(buf, "2024-12", "rfc3339 cut to the buffer, terminated");
}

int
main(void)
{
	test_utf8();
	test_b64();
	test_time();
	return done_testing();
}
