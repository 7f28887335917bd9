/*
 * tap.h - a tiny header-only TAP (Test Anything Protocol) producer.
 *
 *	plan(3);			(optional: prints "1..3" now)
 *	ok(x == 1, "x is %d", 1);	"ok 1 - x is 1" / "not ok 1 - ..."
 *	is_int(got, want, "desc");
 *	is_str(got, want, "desc");	(NULL-safe)
 *	has_str(haystack, needle, "desc");
 *	diag("note %d", n);		"# note 1"
 *	skip(n, "why");			n times "ok N # SKIP why"
 *	return done_testing();		(prints "1..N" if no plan; 0 if all
 *					 passed and the plan was met, else 1)
 *
 * Each test macro returns 1 if the test passed.  State is per
 * translation unit, so include this from exactly one file per program.
 */
#ifndef SN_TAP_H
#define SN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_planned_ = -1;
static int tap_run_;
static int tap_failed_;

#define TAP_PRINTF_(f, a) __attribute__((format(printf, f, a)))

static inline void TAP_PRINTF_(1, 2) diag(const char *fmt, ...)
{
	char buf[4096];
	const char *s, *nl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (s = buf;; s = nl + 1) {
		nl = strchr(s, '\n');
		printf("# %.*s\n", nl != NULL ? (int)(nl - s) : (int)strlen(s),
		    s);
		if (nl == NULL)
			break;
	}
	fflush(stdout);
}

static inline void
plan(int n)
{
	tap_planned_ = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Print a description on the current line: no newline, '#' escaped. */
static inline void TAP_PRINTF_(1, 0) tap_desc_(const char *fmt, va_list ap)
{
	char buf[1024];
	const char *s;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (buf[0] != '\0')
		fputs(" - ", stdout);
	for (s = buf; *s != '\0'; s++) {
		if (*s == '#')
			fputs("\\#", stdout);
		else if (*s == '\n' || *s == '\r')
			putchar(' ');
		else
			putchar(*s);
	}
}

static inline int TAP_PRINTF_(4, 0)
    tap_vok_(int pass, const char *file, int line, const char *fmt, va_list ap)
{
	tap_run_++;
	printf("%sok %d", pass ? "" : "not ", tap_run_);
	tap_desc_(fmt, ap);
	putchar('\n');
	if (!pass) {
		tap_failed_++;
		diag("  Failed test at %s line %d.", file, line);
	}
	fflush(stdout);
	return pass;
}

static inline int TAP_PRINTF_(4, 5)
    tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pass = tap_vok_(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static inline int TAP_PRINTF_(5, 6) tap_is_int_(long long got, long long want,
    const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vok_(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("         got: %lld\n    expected: %lld", got, want);
	return pass;
}

static inline int TAP_PRINTF_(5, 6) tap_is_str_(const char *got,
    const char *want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int pass;

	if (got == NULL || want == NULL)
		pass = got == want;
	else
		pass = strcmp(got, want) == 0;
	va_start(ap, fmt);
	tap_vok_(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("         got: %s%s%s\n    expected: %s%s%s",
		    got ? "'" : "", got ? got : "NULL", got ? "'" : "",
		    want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	return pass;
}

static inline int TAP_PRINTF_(5, 6) tap_has_str_(const char *hay,
    const char *needle, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int pass = hay != NULL && needle != NULL && strstr(hay, needle);

	va_start(ap, fmt);
	tap_vok_(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("    '%s'\n    does not contain '%s'",
		    hay ? hay : "(null)", needle ? needle : "(null)");
	return pass;
}

static inline void TAP_PRINTF_(2, 3) skip(int n, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	while (n-- > 0)
		printf("ok %d # SKIP %s\n", ++tap_run_, buf);
	fflush(stdout);
}

static inline int
done_testing(void)
{
	if (tap_planned_ < 0)
		printf("1..%d\n", tap_run_);
	else if (tap_planned_ != tap_run_)
		diag("Looks like you planned %d tests but ran %d.",
		    tap_planned_, tap_run_);
	if (tap_failed_ > 0)
		diag("Looks like you failed %d test%s of %d.", tap_failed_,
		    tap_failed_ == 1 ? "" : "s", tap_run_);
	fflush(stdout);
	return (tap_failed_ == 0 &&
	           (tap_planned_ < 0 || tap_planned_ == tap_run_)) ?
	    0 :
	    1;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int_((long long)(got), (long long)(want), __FILE__, __LINE__, \
	    __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_is_str_((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define has_str(hay, needle, ...) \
	tap_has_str_((hay), (needle), __FILE__, __LINE__, __VA_ARGS__)

#endif
