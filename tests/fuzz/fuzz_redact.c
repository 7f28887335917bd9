/*
 * fuzz_redact.c - libFuzzer target for the streaming redactor.
 *
 *	make fuzz && tests/fuzz/fuzz_redact tests/fuzz/corpus_redact
 *
 * Input: byte 0 picks 1..4 secrets; each is a length byte (4..67) and its
 * bytes; then a byte seeding the chunk sizes; the rest is the stream,
 * where three escape bytes insert a secret so that matches are common:
 *	0x01 K		secret K as is
 *	0x02 K		secret K URL-encoded (every byte %XX)
 *	0x03 K A	base64 of (A % 3 bytes, secret K, A / 3 % 3 bytes),
 *			wrapped every (A >> 4) + 1 characters when A & 8
 * Any other byte is itself, but '[' becomes '(' (so that a replacement
 * is known by its text).  The stream is fed in pseudo-random chunks, and
 * then again whole: the output must be the same (but for where a row of
 * replacements is cut).
 *
 * Besides "no crash, no leak, no timeout", it checks the contract: each
 * replacement arrives whole in its own emit call; no run of plain output
 * holds a value, its fully %XX-encoded form or a base64 core; plain
 * output never exceeds the input; the count matches the replacements.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NSEC 4

struct out {
	char *run; /* the current run of plain output */
	size_t len, cap;
	size_t plain, tokens;
	char *all; /* the plain output */
	size_t all_len, all_cap;
	size_t *tpos; /* offsets in all where replacements were */
	size_t ntpos, tcap;
	char tok[NSEC][24];
	const struct redact_secret *s;
	size_t ns;
	/* forms that must never be in a plain run */
	unsigned char *form[NSEC * 5];
	size_t flen[NSEC * 5];
	size_t nform;
};

struct text {
	unsigned char *p;
	size_t len, cap;
};

static void
add(struct text *t, const void *p, size_t n)
{
	unsigned char *np;

	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		if ((np = realloc(t->p, t->cap)) == NULL)
			abort();
		t->p = np;
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of in[0..n), no padding, with a "\n" every `every` chars. */
static void
b64(struct text *t, const unsigned char *in, size_t n, size_t every)
{
	size_t i, k, nout = (n * 8 + 5) / 6;
	unsigned w;

	for (k = 0; k < nout; k++) {
		i = 6 * k / 8;
		w = (unsigned)in[i] << 8 | (i + 1 < n ? in[i + 1] : 0);
		if (every > 0 && k > 0 && k % every == 0)
			add(t, "\n", 1);
		add(t, &B64[(w >> (10 - 6 * k % 8)) & 63], 1);
	}
}

static void
check_run(struct out *o)
{
	size_t i;

	for (i = 0; i < o->nform; i++)
		if (o->len >= o->flen[i] &&
		    memmem(o->run, o->len, o->form[i], o->flen[i]) != NULL)
			abort(); /* a secret got out */
	o->len = 0;
}

static int
emit(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	size_t i;
	char *np;

	if (n == 0)
		abort();
	for (i = 0; i < o->ns; i++) {
		if (n == strlen(o->tok[i]) && memcmp(p, o->tok[i], n) == 0) {
			check_run(o);
			o->tokens++;
			/* Where replacements are, a row of them counted once:
			 * a chain of matches longer than the hold-back is cut
			 * where the feeds happened to end. */
			if (o->ntpos == 0 ||
			    o->tpos[o->ntpos - 1] != o->all_len) {
				if (o->ntpos == o->tcap) {
					o->tcap = o->tcap * 2 + 16;
					o->tpos = realloc(o->tpos,
					    o->tcap * sizeof(*o->tpos));
					if (o->tpos == NULL)
						abort();
				}
				o->tpos[o->ntpos++] = o->all_len;
			}
			return 0;
		}
	}
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		if ((np = realloc(o->run, o->cap)) == NULL)
			abort();
		o->run = np;
	}
	memcpy(o->run + o->len, p, n);
	o->len += n;
	o->plain += n;
	if (o->all_len + n > o->all_cap) {
		o->all_cap = (o->all_len + n) * 2;
		if ((o->all = realloc(o->all, o->all_cap)) == NULL)
			abort();
	}
	memcpy(o->all + o->all_len, p, n);
	o->all_len += n;
	return 0;
}

/* The forms of secret s that plain output must not hold. */
static void
add_forms(struct out *o, const struct redact_secret *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char data[80], *f;
	size_t i, a, kstart, kend;
	struct text t;

	if ((f = malloc(s->len)) == NULL)
		abort();
	memcpy(f, s->value, s->len);
	o->flen[o->nform] = s->len;
	o->form[o->nform++] = f;
	if ((f = malloc(3 * s->len)) == NULL)
		abort();
	for (i = 0; i < s->len; i++) {
		f[3 * i] = '%';
		f[3 * i + 1] = (unsigned char)hex[s->value[i] >> 4];
		f[3 * i + 2] = (unsigned char)hex[s->value[i] & 15];
	}
	o->flen[o->nform] = 3 * s->len;
	o->form[o->nform++] = f;
	for (a = 0; a < 3; a++) {
		memset(data, 0, sizeof(data));
		memcpy(data + a, s->value, s->len);
		memset(&t, 0, sizeof(t));
		b64(&t, data, a + s->len + 1, 0);
		kstart = (8 * a + 5) / 6;
		kend = 8 * (a + s->len) / 6;
		if (kend - kstart < REDACT_B64_MIN_CORE) {
			free(t.p);
			continue;
		}
		memmove(t.p, t.p + kstart, kend - kstart);
		o->flen[o->nform] = kend - kstart;
		o->form[o->nform++] = t.p;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redact_secret s[NSEC];
	char name[NSEC][4];
	struct redact *r = NULL;
	struct out o, w;
	struct text in = { NULL, 0, 0 };
	unsigned char pre[160];
	size_t i = 0, ns, k, len, fed, chunk, every;
	uint32_t seed;

	memset(&o, 0, sizeof(o));
	if (size < 1)
		return 0;
	ns = 1 + (data[i++] & 3);
	for (k = 0; k < ns; k++) {
		if (i >= size)
			return 0;
		len = 4 + data[i++] % 64;
		if (size - i < len)
			return 0;
		snprintf(name[k], sizeof(name[k]), "S%zu", k);
		s[k] = (struct redact_secret){ name[k], data + i, len };
		i += len;
	}
	seed = i < size ? data[i++] : 0;

	/* The stream, escapes expanded. */
	for (; i < size; i++) {
		if (data[i] < 1 || data[i] > 3 || i + 1 >= size) {
			/* no '[': a replacement is then told by its text */
			add(&in, data[i] == '[' ? "(" : (const char *)&data[i],
			    1);
			continue;
		}
		k = data[i + 1] % ns;
		if (data[i] == 1) {
			add(&in, s[k].value, s[k].len);
			i++;
		} else if (data[i] == 2) {
			for (len = 0; len < s[k].len; len++) {
				char e[4];

				snprintf(e, sizeof(e), "%%%02x",
				    s[k].value[len]);
				add(&in, e, 3);
			}
			i++;
		} else if (i + 2 < size) {
			unsigned a = data[i + 2];

			memset(pre, 'Q', sizeof(pre));
			memcpy(pre + a % 3, s[k].value, s[k].len);
			every = (a & 8) ? (a >> 4) + 1 : 0;
			b64(&in, pre, a % 3 + s[k].len + a / 3 % 3, every);
			i += 2;
		} else {
			add(&in, "3", 1);
		}
	}

	if (redact_new(s, ns, &r) != 0)
		abort();
	o.s = s;
	o.ns = ns;
	for (k = 0; k < ns; k++) {
		snprintf(o.tok[k], sizeof(o.tok[k]), "[REDACTED:%s]", name[k]);
		add_forms(&o, &s[k]);
	}
	for (fed = 0; fed < in.len; fed += chunk) {
		seed = seed * 1103515245u + 12345u;
		chunk = (seed >> 16) % 97 + 1;
		if (chunk > in.len - fed)
			chunk = in.len - fed;
		if (redact_feed(r, (const char *)in.p + fed, chunk, emit, &o) !=
		    0)
			abort();
	}
	if (redact_finish(r, emit, &o) != 0)
		abort();
	check_run(&o);
	if (o.plain > in.len || redact_count(r) > o.tokens)
		abort();
	redact_free(r);

	/* The output does not depend on how the input was cut: fed whole. */
	memset(&w, 0, sizeof(w));
	w.ns = ns;
	memcpy(w.tok, o.tok, sizeof(w.tok));
	if (redact_new(s, ns, &r) != 0 ||
	    redact_feed(r, (const char *)in.p, in.len, emit, &w) != 0 ||
	    redact_finish(r, emit, &w) != 0)
		abort();
	if (w.all_len != o.all_len || w.ntpos != o.ntpos ||
	    (o.all_len > 0 && memcmp(w.all, o.all, o.all_len) != 0) ||
	    (o.ntpos > 0 &&
	        memcmp(w.tpos, o.tpos, o.ntpos * sizeof(*o.tpos)) != 0))
		abort();
	redact_free(r);
	free(w.all);
	free(w.tpos);
	free(o.tpos);
	free(w.run);
	free(o.all);
	for (k = 0; k < o.nform; k++)
		free(o.form[k]);
	free(o.run);
	free(in.p);
	return 0;
}
