/*
 * bench/redact.c - throughput of the streaming redactor.
 *
 *   bench/redact [-m MIB] [-n SECRETS] [-l LEN] [-c CHUNK]
 *
 * For three kinds of output (text, base64, random bytes) of MIB MiB
 * (default 16), with SECRETS values (default 10) of LEN bytes (default
 * 40) of which a few copies are planted, fed in CHUNK-byte writes
 * (default 65536), it prints MB/s of, side by side in one run:
 *
 *   memcpy     copying the stream (the floor)
 *   memmem     one memmem() per value over the stream: raw forms only,
 *              no streaming (what a naive scan costs)
 *   redact     redact_feed() + redact_finish(): raw, URL, base64 forms
 *
 * It is a measurement, not a test: it never fails on a timing, and it is
 * not part of `make check`.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/redact.h"

static uint64_t rs = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sink {
	char *dst;
	size_t len;
};

static int
sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	memcpy(s->dst + s->len, p, n);
	s->len += n;
	return 0;
}

static size_t
parse(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end != '\0' || v == 0) {
		fprintf(stderr, "bench/redact: bad number '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	static const char *const kinds[] = { "text", "base64", "random" };
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
	                          "rstuvwxyz0123456789+/";
	size_t mib = 16, ns = 10, len = 40, chunk = 65536, n, i, j, k;
	struct redact_secret *s;
	unsigned char *vals;
	char *in, *out, (*names)[24];
	struct redact *r;
	struct sink sk;
	double t0, tc, tm, tr;
	volatile size_t hits = 0;
	int c, kind;

	while ((c = getopt(argc, argv, "m:n:l:c:")) != -1) {
		switch (c) {
		case 'm': mib = parse(optarg); break;
		case 'n': ns = parse(optarg); break;
		case 'l': len = parse(optarg); break;
		case 'c': chunk = parse(optarg); break;
		default:
			fprintf(stderr,
			    "usage: bench/redact [-m MIB] [-n "
			    "SECRETS] [-l LEN] [-c CHUNK]\n");
			return 2;
		}
	}
	n = mib << 20;
	if ((in = malloc(n)) == NULL || (out = malloc(2 * n + 4096)) == NULL ||
	    (s = calloc(ns, sizeof(*s))) == NULL ||
	    (vals = malloc(ns * len)) == NULL ||
	    (names = calloc(ns, sizeof(*names))) == NULL)
		return 1;
	for (i = 0; i < ns; i++) {
		for (j = 0; j < len; j++)
			vals[i * len + j] = (unsigned char)b64[rnd() % 64];
		snprintf(names[i], sizeof(names[i]), "S%zu", i);
		s[i] = (struct redact_secret){ names[i], vals + i * len, len };
	}
	printf("%zu MiB, %zu secrets of %zu bytes, writes of %zu bytes\n", mib,
	    ns, len, chunk);
	printf("%-8s %10s %10s %10s %8s\n", "input", "memcpy", "memmem",
	    "redact", "found");
	for (kind = 0; kind < 3; kind++) {
		for (i = 0; i < n; i++) {
			if (kind == 0)
				in[i] =
				    "lorem ipsum dolor sit amet, consectetur "
				    "adipiscing elit\n"[rnd() % 57];
			else if (kind == 1)
				in[i] = (i % 77 == 76) ? '\n' : b64[rnd() % 64];
			else
				in[i] = (char)rnd();
		}
		for (k = 0; k < 100; k++) { /* plant raw copies */
			i = rnd() % ns;
			memcpy(in + rnd() % (n - len), vals + i * len, len);
		}

		t0 = now();
		for (i = 0; i < n; i += chunk)
			memcpy(out + i, in + i, n - i < chunk ? n - i : chunk);
		tc = now() - t0;

		t0 = now();
		for (i = 0; i < ns; i++) {
			const char *p = in, *e = in + n, *f;

			while ((f = memmem(p, (size_t)(e - p), vals + i * len,
			            len)) != NULL) {
				hits++;
				p = f + 1;
			}
		}
		tm = now() - t0;

		if (redact_new(s, ns, &r) != 0)
			return 1;
		sk.dst = out;
		sk.len = 0;
		t0 = now();
		for (i = 0; i < n; i += chunk)
			if (redact_feed(r, in + i,
			        n - i < chunk ? n - i : chunk, sink, &sk) != 0)
				return 1;
		if (redact_finish(r, sink, &sk) != 0)
			return 1;
		tr = now() - t0;
		printf("%-8s %10.0f %10.0f %10.0f %8llu  MB/s\n", kinds[kind],
		    (double)n / tc / 1e6, (double)n / tm / 1e6,
		    (double)n / tr / 1e6, (unsigned long long)redact_count(r));
		redact_free(r);
	}
	free(in);
	free(out);
	free(s);
	free(vals);
	free(names);
	return hits == (size_t)-1;
}
