/*
 * text.c - strict UTF-8, base64, RFC 3339 (see text.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/glob.h"
#include "core/text.h"

int
text_utf8_valid(const char *s, size_t n, int allow_nul)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			if (s[i] == '\0' && !allow_nul)
				return 0;
			i++;
			continue;
		}
		k = glob_utf8_char(s + i, n - i, &cp);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
text_b64_encode(const unsigned char *in, size_t len, char **out)
{
	size_t i, o = 0;
	unsigned v;
	char *s;

	*out = NULL;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return SN_ERANGE;
	s = malloc((len + 2) / 3 * 4 + 1);
	if (s == NULL)
		return SN_ENOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
		    in[i + 2];
		s[o++] = b64_alphabet[v >> 18 & 63];
		s[o++] = b64_alphabet[v >> 12 & 63];
		s[o++] = b64_alphabet[v >> 6 & 63];
		s[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		s[o++] = b64_alphabet[v >> 18 & 63];
		s[o++] = b64_alphabet[v >> 12 & 63];
		s[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		s[o++] = '=';
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int
b64_val(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64_alphabet, c);
	return p != NULL ? (int)(p - b64_alphabet) : -1;
}

int
text_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *d;
	size_t i, o = 0, pad = 0;
	int v[4], k;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0)
		return SN_EINVAL;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	d = malloc(len / 4 * 3 + 1);
	if (d == NULL)
		return SN_ENOMEM;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_val(in[i + k]);
			if (v[k] < 0)
				goto bad;
		}
		d[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (i + 4 < len || pad < 2)
			d[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (i + 4 < len || pad < 1)
			d[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		/* bits below the padding must be zero (canonical form) */
		if (i + 4 == len &&
		    ((pad == 2 && (v[1] & 15) != 0) ||
		        (pad == 1 && (v[2] & 3) != 0)))
			goto bad;
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return 0;
bad:
	free(d);
	return SN_EINVAL;
}

void
text_rfc3339(int64_t ns, int frac, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000LL);
	long sub = (long)(ns % 1000000000LL);
	struct tm tm;
	char base[32];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ns < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return;
	switch (frac) {
	case 3: snprintf(buf, len, "%s.%03ldZ", base, sub / 1000000); break;
	case 6: snprintf(buf, len, "%s.%06ldZ", base, sub / 1000); break;
	case 9: snprintf(buf, len, "%s.%09ldZ", base, sub); break;
	default: snprintf(buf, len, "%sZ", base); break;
	}
}
