/*
 * test_config.c - the config parser (src/core/config.c).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/policy.h"
#include "tap.h"

#define NAME "t.conf"

/* The smallest valid view, lines 1-5; a test's own lines start at 6. */
#define BASE \
	"[workspace \"w\"]\n" \
	"[view \"v\"]\n" \
	"workspace = w\n" \
	"agent = a\n" \
	"mountpoint = /m\n"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* A malloc'd formatted string (aborts on failure: tests only). */
static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		abort();
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* A malloc'd string of n copies of c. */
static char *
rep(char c, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Expect text to parse; returns the config (NULL if it did not). */
static struct sn_config *
good_n(const char *text, size_t len, const char *desc)
{
	struct sn_config *cfg = NULL;
	char err[1024] = "untouched";
	int rc;

	rc = config_parse(text, len, NAME, &cfg, err, sizeof(err));
	if (!ok(rc == 0 && cfg != NULL && err[0] == '\0', "parses: %s", desc))
		diag("rc=%d err='%s'", rc, err);
	if (rc != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct sn_config *
good(const char *text, const char *desc)
{
	return good_n(text, strlen(text), desc);
}

/* Parse, expect success, and free: for cases with nothing to inspect. */
static void
good_free(const char *text, const char *desc)
{
	config_free(good(text, desc));
}

/*
 * Expect text to fail with exactly "t.conf:LINE: WH: ..." (or
 * "t.conf:LINE: ..." when wh is NULL), the message containing why,
 * on one line, with *out NULL.
 */
static void vbad(const char *, size_t, unsigned, const char *, const char *,
    const char *, va_list) __attribute__((format(printf, 6, 0)));

static void
vbad(const char *text, size_t len, unsigned line, const char *wh,
    const char *why, const char *descfmt, va_list ap)
{
	struct sn_config *cfg = (struct sn_config *)(uintptr_t)1;
	char err[1024], desc[256], *prefix;
	int rc, pass;

	vsnprintf(desc, sizeof(desc), descfmt, ap);
	memset(err, 'x', sizeof(err));
	rc = config_parse(text, len, NAME, &cfg, err, sizeof(err));
	prefix = wh != NULL ? fmt("%s:%u: %s: ", NAME, line, wh) :
	                      fmt("%s:%u: ", NAME, line);
	pass = rc == SN_ECONFIG && cfg == NULL &&
	    memchr(err, '\0', sizeof(err)) != NULL &&
	    strncmp(err, prefix, strlen(prefix)) == 0 &&
	    strstr(err + strlen(prefix), why) != NULL &&
	    strchr(err, '\n') == NULL;
	if (!ok(pass, "error: %s", desc))
		diag("rc=%d err='%.*s'\nwanted '%s...%s...'", rc,
		    (int)sizeof(err), err, prefix, why);
	if (rc == 0)
		config_free(cfg);
	free(prefix);
}

static void bad_n(const char *, size_t, unsigned, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 6, 7)));
static void bad(const char *, unsigned, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

static void
bad_n(const char *text, size_t len, unsigned line, const char *wh,
    const char *why, const char *descfmt, ...)
{
	va_list ap;

	va_start(ap, descfmt);
	vbad(text, len, line, wh, why, descfmt, ap);
	va_end(ap);
}

static void
bad(const char *text, unsigned line, const char *wh, const char *why,
    const char *descfmt, ...)
{
	va_list ap;

	va_start(ap, descfmt);
	vbad(text, strlen(text), line, wh, why, descfmt, ap);
	va_end(ap);
}

/* ---- successful parses ------------------------------------------------ */

static void
test_full(void)
{
	static const char text[] = "# Sentinel config\n[server]\n"
	                           "state_dir = /var/lib/sentinel\n\n"
	                           "[workspace \"proj-1\"]\nroot = /srv/proj\n"
	                           "external_writers = yes\n\n"
	                           "[workspace \"scratch\"]\n\n"
	                           "[view \"alice.dev\"]\nworkspace = proj-1\n"
	                           "agent = claude_1\nrole = Reviewer\n"
	                           "mountpoint = /mnt/alice\nallow_other = on\n"
	                           "allowed_uids = 1000, 1001\n"
	                           "allowed_uids = 0\n\n"
	                           "[view \"bob\"]\nworkspace = scratch\n"
	                           "agent = bob\nmountpoint = rel/path\n"
	                           "\n[fs]\n"
	                           "cache_timeout = 0\nfd_cache = 100000\n"
	                           "threads = 256\nwriteback_cache = false\n"
	                           "[role \"Reviewer\"]\n"
	                           "permissions = read_file\n";
	struct sn_config *cfg;
	const struct sn_cfg_workspace *w;
	const struct sn_cfg_view *v;

	if ((cfg = good(text, "full config with every key")) == NULL) {
		skip(30, "full config did not parse");
		return;
	}
	is_str(cfg->path, NAME, "path is the name");
	is_str(cfg->state_dir, "/var/lib/sentinel", "state_dir");
	is_int(cfg->n_workspaces, 2, "two workspaces");
	w = &cfg->workspaces[0];
	is_str(w->id, "proj-1", "workspace id");
	is_str(w->root, "/srv/proj", "workspace root");
	is_int(w->external_writers, 1, "external_writers = yes");
	is_int(w->line, 5, "workspace header line");
	w = &cfg->workspaces[1];
	is_str(w->id, "scratch", "second workspace id");
	ok(w->root == NULL, "root unset is NULL");
	is_int(w->external_writers, 0, "external_writers defaults to 0");
	is_int(cfg->n_views, 2, "two views");
	v = &cfg->views[0];
	is_str(v->name, "alice.dev", "view name");
	is_str(v->workspace, "proj-1", "view workspace");
	is_str(v->agent, "claude_1", "view agent");
	is_str(v->role, "Reviewer", "view role");
	is_str(v->mountpoint, "/mnt/alice", "view mountpoint");
	is_int(v->allow_other, 1, "allow_other = on");
	is_int(v->line, 11, "view header line");
	if (is_int(v->n_allowed_uids, 3, "allowed_uids appended to 3"))
		ok(v->allowed_uids[0] == 1000 && v->allowed_uids[1] == 1001 &&
		        v->allowed_uids[2] == 0,
		    "allowed_uids = 1000 1001 0");
	else
		skip(1, "wrong uid count");
	v = &cfg->views[1];
	is_str(v->role, "Dev", "role defaults to Dev");
	is_str(v->mountpoint, "rel/path", "relative mountpoint kept");
	is_int(v->allow_other, 0, "allow_other defaults to 0");
	ok(v->allowed_uids == NULL && v->n_allowed_uids == 0, "no uids");
	is_int(cfg->fs.cache_timeout, 0, "cache_timeout = 0 (min)");
	is_int(cfg->fs.fd_cache, 100000, "fd_cache = 100000 (max)");
	is_int(cfg->fs.threads, 256, "threads = 256 (max)");
	is_int(cfg->fs.writeback_cache, 0, "writeback_cache = false");
	ok(config_workspace(cfg, "scratch") == &cfg->workspaces[1],
	    "config_workspace finds scratch");
	config_free(cfg);
}

static void
test_defaults(void)
{
	struct sn_config *cfg;

	if ((cfg = good("", "empty text")) != NULL) {
		ok(cfg->n_workspaces == 0 && cfg->n_views == 0 &&
		        cfg->workspaces == NULL && cfg->views == NULL,
		    "empty: no workspaces, no views");
		ok(cfg->state_dir == NULL, "empty: state_dir NULL");
		is_int(cfg->fs.cache_timeout, 86400, "default cache_timeout");
		is_int(cfg->fs.fd_cache, 4096, "default fd_cache");
		is_int(cfg->fs.threads, 8, "default threads");
		is_int(cfg->fs.writeback_cache, 0, "default writeback_cache");
		config_free(cfg);
	} else
		skip(6, "empty text did not parse");
	config_free(good_n(NULL, 0, "NULL text of length 0"));
	if ((cfg = good("[fs]\nthreads = 3\n", "[fs] with one key")) != NULL) {
		is_int(cfg->fs.threads, 3, "threads set");
		is_int(cfg->fs.fd_cache, 4096, "others keep defaults");
		config_free(cfg);
	} else
		skip(2, "[fs] did not parse");
	good_free("[server]\n[fs]\n", "empty [server] and [fs]");
	good_free("[workspace \"x\"]\n[view \"x\"]\nworkspace=x\nagent=a\n"
	          "mountpoint=/x\n",
	    "a view and a workspace may share a name");
}

static void
test_syntax(void)
{
	struct sn_config *cfg;
	char *text, *big;

	/* Comments, blanks, indentation. */
	cfg = good("# c1\n; c2\n   # indented\n\t; tabbed\n\n  \t \n"
	           "  [workspace \"w\"]  \n\t\troot\t=\t/a#b;c  \n"
	           "   [view \"v\"]\n    workspace = w\n"
	           "  agent=a\nmountpoint    =    /m x   \n# trailing comment",
	    "comments, blanks, indentation");
	if (cfg != NULL) {
		is_str(cfg->workspaces[0].root, "/a#b;c",
		    "no inline comments: # and ; kept in value");
		is_str(cfg->views[0].mountpoint, "/m x",
		    "value trimmed, inner blank kept");
		is_int(cfg->workspaces[0].line, 7,
		    "line counted past comments");
		config_free(cfg);
	} else
		skip(3, "did not parse");

	/* Indentation is not continuation. */
	bad("[fs]\nthreads = 4\n    5\n", 3, "[fs]", "malformed line",
	    "indented line is not a continuation");

	/* CRLF. */
	cfg = good(
	    "[workspace \"w\"]\r\nroot = /r\r\n\r\n# c\r\n"
	    "[view \"v\"]\r\nworkspace = w\r\nagent = a\r\nmountpoint = /m\r\n",
	    "CRLF line ends");
	if (cfg != NULL) {
		is_str(cfg->workspaces[0].root, "/r", "CR stripped from value");
		is_str(cfg->views[0].mountpoint, "/m", "CR stripped at end");
		config_free(cfg);
	} else
		skip(2, "CRLF did not parse");
	bad("[fs]\r\nthreads = 4\r\nbogus = 1\r\n", 3, "[fs] bogus",
	    "unknown key", "CRLF: line numbers still right");

	/* No final newline. */
	cfg = good("[fs]\nthreads = 9", "no final newline");
	if (cfg != NULL)
		is_int(cfg->fs.threads, 9, "last line without newline read");
	else
		skip(1, "did not parse");
	config_free(cfg);

	/* Long lines. */
	big = rep('p', 10000);
	big[0] = '/';
	text = fmt(BASE "[workspace \"long\"]\nroot = %s\n", big);
	if ((cfg = good(text, "10,000-byte value")) != NULL) {
		is_str(cfg->workspaces[1].root, big, "long value intact");
		config_free(cfg);
	} else
		skip(1, "long value did not parse");
	free(text);
	free(big);
	big = rep('#', 100000);
	text = fmt("%s\n[fs]\nthreads = 2\n", big);
	if ((cfg = good(text, "100,000-byte comment line")) != NULL) {
		is_int(cfg->fs.threads, 2, "line after long comment read");
		config_free(cfg);
	} else
		skip(1, "did not parse");
	free(text);
	free(big);

	/* Blanks around '=' and inside the header. */
	good_free("[ fs ]\nthreads=1\n", "blanks inside [ fs ]");
	good_free("[\tview\t \"v\" ]\nworkspace=w\nagent=a\nmountpoint=/m\n"
	          "[workspace \"w\"]\n",
	    "blanks around the header name");
	cfg = good("[fs]\nthreads = 007\n", "leading zeros in a number");
	if (cfg != NULL)
		is_int(cfg->fs.threads, 7, "007 is 7");
	else
		skip(1, "did not parse");
	config_free(cfg);

	/* A value may contain '='. */
	cfg = good("[server]\nstate_dir = /a=b\n", "'=' in a value");
	if (cfg != NULL)
		is_str(cfg->state_dir, "/a=b", "split at the first '='");
	else
		skip(1, "did not parse");
	config_free(cfg);

	/* Relative paths stored as given. */
	cfg = good("[server]\nstate_dir = ./.sentinel\n", "relative path");
	if (cfg != NULL)
		is_str(cfg->state_dir, "./.sentinel", "relative path as given");
	else
		skip(1, "did not parse");
	config_free(cfg);

	/* A workspace may be declared after the view that uses it. */
	good_free("[view \"v\"]\nworkspace = late\nagent = a\nmountpoint = /m\n"
	          "[workspace \"late\"]\n",
	    "forward reference to a workspace");
}

static void
test_bools(void)
{
	static const struct {
		const char *s;
		int want;
	} good_b[] = {
		{ "true", 1 },
		{ "TRUE", 1 },
		{ "True", 1 },
		{ "yes", 1 },
		{ "YES", 1 },
		{ "on", 1 },
		{ "On", 1 },
		{ "1", 1 },
		{ "false", 0 },
		{ "FALSE", 0 },
		{ "no", 0 },
		{ "No", 0 },
		{ "off", 0 },
		{ "OFF", 0 },
		{ "0", 0 },
	};
	static const char *const bad_b[] = {
		"",
		" true",
		"true ",
		"2",
		"-1",
		"01",
		"00",
		"y",
		"n",
		"t",
		"f",
		"truee",
		"tru",
		"yess",
		"enable",
		"nope",
		"0x1",
	};
	size_t i;
	int b;
	char *text;
	struct sn_config *cfg;

	for (i = 0; i < sizeof(good_b) / sizeof(good_b[0]); i++) {
		b = -1;
		ok(config_parse_bool(good_b[i].s, &b) == 0 &&
		        b == good_b[i].want,
		    "bool \"%s\" is %d", good_b[i].s, good_b[i].want);
	}
	for (i = 0; i < sizeof(bad_b) / sizeof(bad_b[0]); i++) {
		b = 7;
		ok(config_parse_bool(bad_b[i], &b) == SN_EINVAL && b == 7,
		    "bool \"%s\" rejected, out untouched", bad_b[i]);
	}
	ok(config_parse_bool(NULL, &b) == SN_EINVAL, "bool NULL rejected");

	/* Through the parser, each bool key. */
	text = fmt(BASE "allow_other = Off\n[workspace \"x\"]\n"
	                "external_writers = ON\n[fs]\nwriteback_cache = 0\n");
	if ((cfg = good(text, "bool keys parse case-insensitively")) != NULL) {
		is_int(cfg->views[0].allow_other, 0, "allow_other = Off");
		is_int(cfg->workspaces[1].external_writers, 1,
		    "external_writers = ON");
		is_int(cfg->fs.writeback_cache, 0, "writeback_cache = 0");
		config_free(cfg);
	} else
		skip(3, "did not parse");
	free(text);
}

static void
test_uints(void)
{
	static const struct {
		const char *s;
		unsigned long long min, max;
		int rc;
		unsigned long long want;
	} c[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "5", 5, 5, 0, 5 },
		{ "0005", 0, 10, 0, 5 },
		{ "18446744073709551615", 0, ULLONG_MAX, 0, ULLONG_MAX },
		{ "18446744073709551616", 0, ULLONG_MAX, SN_ERANGE, 0 },
		{ "99999999999999999999999999", 0, ULLONG_MAX, SN_ERANGE, 0 },
		{ "11", 0, 10, SN_ERANGE, 0 },
		{ "4", 5, 10, SN_ERANGE, 0 },
		{ "", 0, 10, SN_EINVAL, 0 },
		{ "-1", 0, 10, SN_EINVAL, 0 },
		{ "+1", 0, 10, SN_EINVAL, 0 },
		{ "-0", 0, 10, SN_EINVAL, 0 },
		{ " 1", 0, 10, SN_EINVAL, 0 },
		{ "1 ", 0, 10, SN_EINVAL, 0 },
		{ "1x", 0, 10, SN_EINVAL, 0 },
		{ "x1", 0, 10, SN_EINVAL, 0 },
		{ "0x10", 0, 100, SN_EINVAL, 0 },
		{ "1.5", 0, 10, SN_EINVAL, 0 },
		{ "1e3", 0, 10000, SN_EINVAL, 0 },
		{ "1,000", 0, 10000, SN_EINVAL, 0 },
	};
	unsigned long long v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 12345;
		rc = config_parse_uint(c[i].s, c[i].min, c[i].max, &v);
		if (c[i].rc == 0)
			ok(rc == 0 && v == c[i].want,
			    "uint \"%s\" in %llu..%llu", c[i].s, c[i].min,
			    c[i].max);
		else
			ok(rc == c[i].rc && v == 12345,
			    "uint \"%s\" in %llu..%llu fails with %d", c[i].s,
			    c[i].min, c[i].max, c[i].rc);
	}
	ok(config_parse_uint(NULL, 0, 1, &v) == SN_EINVAL, "uint NULL");

	/* The [fs] bounds through the parser. */
	bad("[fs]\ncache_timeout = 31536001\n", 2, "[fs] cache_timeout",
	    "\"31536001\" is out of range (0..31536000)",
	    "cache_timeout max+1");
	good_free("[fs]\ncache_timeout = 31536000\n", "cache_timeout max");
	bad("[fs]\nfd_cache = 63\n", 2, "[fs] fd_cache",
	    "\"63\" is out of range (64..100000)", "fd_cache min-1");
	bad("[fs]\nfd_cache = 100001\n", 2, "[fs] fd_cache", "out of range",
	    "fd_cache max+1");
	good_free("[fs]\nfd_cache = 64\n", "fd_cache min");
	bad("[fs]\nthreads = 0\n", 2, "[fs] threads",
	    "\"0\" is out of range (1..256)", "threads 0");
	bad("[fs]\nthreads = 257\n", 2, "[fs] threads", "out of range",
	    "threads 257");
	good_free("[fs]\nthreads = 1\n", "threads min");
	bad("[fs]\nthreads = -1\n", 2, "[fs] threads",
	    "\"-1\" is not a decimal number", "negative number");
	bad("[fs]\nthreads = +4\n", 2, "[fs] threads", "not a decimal number",
	    "explicit plus sign");
	bad("[fs]\nthreads = 4 threads\n", 2, "[fs] threads",
	    "not a decimal number", "junk after number");
	bad("[fs]\nthreads = 0x10\n", 2, "[fs] threads", "not a decimal number",
	    "hex number");
	bad("[fs]\ncache_timeout = 4294967296\n", 2, "[fs] cache_timeout",
	    "out of range", "2^32 does not wrap into an unsigned");
	bad("[fs]\ncache_timeout = 18446744073709551617\n", 2,
	    "[fs] cache_timeout", "out of range", "2^64+1 overflow");
}

static void
test_ids(void)
{
	static const struct {
		const char *s;
		int want;
	} c[] = {
		{ "a", 1 },
		{ "A-z_0.9", 1 },
		{ "...", 1 },
		{ ".a", 1 },
		{ "a.", 1 },
		{ "-", 1 },
		{ "_", 1 },
		{ "Dev", 1 },
		{ "", 0 },
		{ ".", 0 },
		{ "..", 0 },
		{ "a b", 0 },
		{ "a/b", 0 },
		{ "a\"b", 0 },
		{ "a\\b", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "a\tb", 0 },
		{ "a\nb", 0 },
		{ "a:b", 0 },
		{ "a@b", 0 },
		{ " a", 0 },
	};
	char *s;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_int(config_valid_id(c[i].s), c[i].want, "id \"%s\"", c[i].s);
	ok(!config_valid_id(NULL), "id NULL");
	s = rep('x', 64);
	ok(config_valid_id(s), "id of 64 bytes");
	free(s);
	s = rep('x', 65);
	ok(!config_valid_id(s), "id of 65 bytes");
	free(s);
	s = rep('x', 100000);
	ok(!config_valid_id(s), "id of 100000 bytes");
	free(s);
}

static void
test_uid_lists(void)
{
	struct sn_config *cfg;

	cfg = good(BASE "allow_other = true\nallowed_uids = 5\n"
	                "allowed_uids =  6 ,7,\t8\nallowed_uids = 4294967294\n",
	    "uid list appends over repeated keys");
	if (cfg != NULL && is_int(cfg->views[0].n_allowed_uids, 5, "5 uids"))
		ok(cfg->views[0].allowed_uids[0] == 5 &&
		        cfg->views[0].allowed_uids[1] == 6 &&
		        cfg->views[0].allowed_uids[2] == 7 &&
		        cfg->views[0].allowed_uids[3] == 8 &&
		        cfg->views[0].allowed_uids[4] == 4294967294U,
		    "uids 5 6 7 8 4294967294 in order");
	else
		skip(1, "wrong uids");
	config_free(cfg);
	good_free(BASE "allowed_uids = 1\nallow_other = yes\n",
	    "allowed_uids may come before allow_other");
	good_free(BASE "allow_other = yes\n", "allow_other without a list");

	bad(BASE "allow_other = yes\nallowed_uids = 1,,2\n", 7,
	    "[view \"v\"] allowed_uids", "empty element", "1,,2");
	bad(BASE "allow_other = yes\nallowed_uids = 1,\n", 7,
	    "[view \"v\"] allowed_uids", "empty element", "trailing comma");
	bad(BASE "allow_other = yes\nallowed_uids = ,1\n", 7,
	    "[view \"v\"] allowed_uids", "empty element", "leading comma");
	bad(BASE "allow_other = yes\nallowed_uids = 1 2\n", 7,
	    "[view \"v\"] allowed_uids", "\"1 2\" is not a uid",
	    "blank-separated list");
	bad(BASE "allow_other = yes\nallowed_uids = 1, alice\n", 7,
	    "[view \"v\"] allowed_uids", "\"alice\" is not a uid",
	    "user name instead of uid");
	bad(BASE "allow_other = yes\nallowed_uids = -1\n", 7,
	    "[view \"v\"] allowed_uids", "\"-1\" is not a uid", "negative uid");
	bad(BASE "allow_other = yes\nallowed_uids = 4294967295\n", 7,
	    "[view \"v\"] allowed_uids", "(0..4294967294)", "uid (uid_t)-1");
	bad(BASE "allow_other = yes\nallowed_uids = 99999999999999999999999\n",
	    7, "[view \"v\"] allowed_uids", "is not a uid", "huge uid");

	bad(BASE "allowed_uids = 1\n", 6, "[view \"v\"] allowed_uids",
	    "only allowed with allow_other = true", "uids without allow_other");
	bad(BASE "allowed_uids = 1\nallow_other = no\nallowed_uids = 2\n", 6,
	    "[view \"v\"] allowed_uids", "only allowed with allow_other",
	    "uids with allow_other = no, first key line reported");
	bad(BASE "allowed_uids = 1\n[fs]\n", 6, "[view \"v\"] allowed_uids",
	    "allow_other", "checked when the next section starts");
}

/* ---- errors ------------------------------------------------------------ */

static void
test_errors_structure(void)
{
	char *text, *wh, *long_name;

	/* NUL bytes. */
	bad_n("[fs]\nthreads = 1\0\n", 17, 2, NULL, "NUL byte", "NUL byte");
	bad_n("\0", 1, 1, NULL, "NUL byte", "lone NUL byte");
	bad_n("# comment\n\n# x\0 more\n", 21, 3, NULL, "NUL byte",
	    "NUL byte inside a comment");
	bad_n("[fs]\nthreads = 1\n\0", 18, 3, NULL, "NUL byte",
	    "NUL byte at the very end");

	/* Sections. */
	bad("[bogus]\n", 1, "[bogus]", "unknown section", "unknown section");
	bad("[fs]\n[bogus \"x\"]\n", 2, "[bogus \"x\"]", "unknown section",
	    "unknown named section");
	bad("[FS]\n", 1, "[FS]", "unknown section",
	    "section kinds are case-sensitive");
	bad("[view]\n", 1, "[view]", "section needs a name", "[view] unnamed");
	bad("[workspace]\n", 1, "[workspace]", "section needs a name",
	    "[workspace] unnamed");
	bad("[fs \"x\"]\n", 1, "[fs \"x\"]", "section takes no name",
	    "[fs] named");
	bad("[server \"x\"]\n", 1, "[server \"x\"]", "section takes no name",
	    "[server] named");
	bad("[view \"a b\"]\n", 1, "[view \"a b\"]", "invalid name",
	    "name with a blank");
	bad("[view \"\"]\n", 1, "[view \"\"]", "invalid name", "empty name");
	bad("[view \".\"]\n", 1, "[view \".\"]", "invalid name", "name \".\"");
	bad("[workspace \"..\"]\n", 1, "[workspace \"..\"]", "invalid name",
	    "name \"..\"");
	bad("[workspace \"a/b\"]\n", 1, "[workspace \"a/b\"]", "invalid name",
	    "name with a slash");
	long_name = rep('n', 65);
	text = fmt("[workspace \"%s\"]\n", long_name);
	wh = fmt("[workspace \"%.64s...\"]", long_name);
	bad(text, 1, wh, "invalid name", "65-byte name, cut in the message");
	free(text);
	free(wh);
	free(long_name);

	/* Malformed headers. */
	bad("[view \"a\"\n", 1, NULL, "malformed section header", "no ']'");
	bad("[]\n", 1, NULL, "malformed section header", "[]");
	bad("[ \t]\n", 1, NULL, "malformed section header", "blank header");
	bad("[\n", 1, NULL, "malformed section header", "lone '['");
	bad("[view a]\n", 1, NULL, "malformed section header", "unquoted name");
	bad("[view \"a]\n", 1, NULL, "malformed section header",
	    "unterminated quote");
	bad("[view \"a\"\"]\n", 1, NULL, "malformed section header",
	    "stray quote");
	bad("[view \"a\" \"b\"]\n", 1, NULL, "malformed section header",
	    "two names");
	bad("[view \"a\"] # c\n", 1, NULL, "malformed section header",
	    "comment after a header");
	bad("[fs] x\n", 1, NULL, "malformed section header",
	    "junk after a header");
	bad("[\"a\"]\n", 1, "[\"a\"]", "unknown section", "quoted kind");

	/* Repeated sections. */
	bad("[fs]\n[server]\n[fs]\n", 3, "[fs]",
	    "repeated section (first at line 1)", "[fs] twice");
	bad("[server]\n[server]\n", 2, "[server]", "repeated section",
	    "[server] twice");
	bad("[workspace \"w\"]\n\n[workspace \"w\"]\n", 3, "[workspace \"w\"]",
	    "repeated section (first at line 1)", "workspace twice");
	bad(BASE "[view \"v\"]\n", 6, "[view \"v\"]",
	    "repeated section (first at line 2)", "view twice");

	/* Lines outside or inside sections. */
	bad("threads = 4\n[fs]\n", 1, "threads", "key outside any section",
	    "key before any section");
	bad("# c\n\n  state_dir = /x\n", 3, "state_dir",
	    "key outside any section", "indented key before any section");
	bad("just words\n", 1, NULL, "malformed line", "no '=' outside");
	bad("[fs]\nthreads\n", 2, "[fs]", "malformed line", "no '=' in [fs]");
	bad(BASE "nonsense\n", 6, "[view \"v\"]", "malformed line",
	    "no '=' in a view");
	bad("[fs]\n = 4\n", 2, "[fs]", "missing key name", "empty key");
	bad("[fs]\nbogus = 1\n", 2, "[fs] bogus", "unknown key in [fs]",
	    "unknown key");
	bad("[fs]\nroot = /x\n", 2, "[fs] root", "unknown key",
	    "key from another section");
	bad("[server]\nthreads = 1\n", 2, "[server] threads", "unknown key",
	    "fs key in [server]");
	bad("[fs]\nThreads = 1\n", 2, "[fs] Threads", "unknown key",
	    "keys are case-sensitive");
	bad("[fs]\nthr eads = 1\n", 2, "[fs] thr eads", "unknown key",
	    "blank inside a key");
	bad("[workspace \"w\"]\nmountpoint = /m\n", 2,
	    "[workspace \"w\"] mountpoint", "unknown key",
	    "view key in a workspace");

	/* Repeated scalar keys. */
	bad("[fs]\nthreads = 4\n\nthreads = 4\n", 4, "[fs] threads",
	    "repeated key (first at line 2)", "repeated threads");
	bad("[server]\nstate_dir = /a\nstate_dir=/b\n", 3, "[server] state_dir",
	    "repeated key (first at line 2)", "repeated state_dir");
	bad(BASE "agent = b\n", 6, "[view \"v\"] agent",
	    "repeated key (first at line 4)", "repeated agent");
	bad(BASE "role = A\nrole = B\n", 7, "[view \"v\"] role",
	    "repeated key (first at line 6)", "repeated role (has a default)");
	bad(BASE "allow_other = no\nallow_other = yes\n", 7,
	    "[view \"v\"] allow_other", "repeated key", "repeated bool");
	bad("[workspace \"w\"]\nroot = /a\nroot = /a\n", 3,
	    "[workspace \"w\"] root", "repeated key", "repeated root");
}

static void
test_errors_values(void)
{
	static const struct {
		const char *section;
		const char *key;
	} all[] = {
		{ "[server]", "state_dir" },
		{ "[workspace \"x\"]", "root" },
		{ "[workspace \"x\"]", "external_writers" },
		{ "[view \"e\"]", "workspace" },
		{ "[view \"e\"]", "agent" },
		{ "[view \"e\"]", "role" },
		{ "[view \"e\"]", "mountpoint" },
		{ "[view \"e\"]", "allow_other" },
		{ "[view \"e\"]", "allowed_uids" },
		{ "[fs]", "cache_timeout" },
		{ "[fs]", "fd_cache" },
		{ "[fs]", "threads" },
		{ "[fs]", "writeback_cache" },
		{ "[server]", "audit_key_file" },
		{ "[workspace \"x\"]", "deny" },
		{ "[workspace \"x\"]", "readonly" },
		{ "[workspace \"x\"]", "symlinks" },
		{ "[workspace \"x\"]", "max_file_size" },
		{ "[workspace \"x\"]", "quota" },
		{ "[workspace \"x\"]", "audit_fail_open" },
		{ "[role \"x\"]", "permissions" },
		{ "[chaos]", "rate" },
		{ "[chaos]", "errors" },
		{ "[chaos]", "seed" },
		{ "[chaos]", "scope" },
	};
	char *text, *wh, *long_key;
	size_t i;

	/* An empty value is an error for every key. */
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		text = fmt("# c\n%s\n%s = \t \n", all[i].section, all[i].key);
		wh = fmt("%s %s", all[i].section, all[i].key);
		bad(text, 3, wh, "empty value", "empty %s", all[i].key);
		free(text);
		free(wh);
	}

	/* Bad values by type. */
	bad("[fs]\nwriteback_cache = maybe\n", 2, "[fs] writeback_cache",
	    "\"maybe\" is not a boolean", "bad bool");
	bad("[workspace \"w\"]\nexternal_writers = 2\n", 2,
	    "[workspace \"w\"] external_writers", "not a boolean", "bool 2");
	bad(BASE "agent = a b\n", 6, "[view \"v\"] agent", "repeated key",
	    "a repeated key is reported before its bad value");
	bad("[workspace \"w\"]\n[view \"v\"]\nworkspace = w\nagent = a b\n", 4,
	    "[view \"v\"] agent", "\"a b\" is not a valid id",
	    "agent not an id");
	bad("[view \"v\"]\nrole = ..\n", 2, "[view \"v\"] role",
	    "\"..\" is not a valid id", "role \"..\"");
	bad("[view \"v\"]\nworkspace = ../w\n", 2, "[view \"v\"] workspace",
	    "not a valid id", "workspace not an id");
	long_key = rep('k', 65);
	text = fmt("[view \"v\"]\nagent = %s\n", long_key);
	bad(text, 2, "[view \"v\"] agent", "not a valid id", "65-byte agent");
	free(text);
	free(long_key);

	/* Cross-key and whole-file rules. */
	bad("[workspace \"w\"]\n[view \"v\"]\nagent = a\nmountpoint = /m\n"
	    "[fs]\n",
	    2, "[view \"v\"] workspace", "missing required key",
	    "view without workspace (header line)");
	bad("[workspace \"w\"]\n[view \"v\"]\nworkspace = w\nmountpoint = /m\n",
	    2, "[view \"v\"] agent", "missing required key",
	    "view without agent, at end of text");
	bad("[workspace \"w\"]\n\n[view \"v\"]\nworkspace = w\nagent = a\n", 3,
	    "[view \"v\"] mountpoint", "missing required key",
	    "view without mountpoint");
	bad("[view \"v\"]\n[fs]\nthreads = x\n", 1, "[view \"v\"] workspace",
	    "missing required key", "missing key reported before later error");
	bad("[workspace \"w\"]\n[view \"v\"]\nworkspace = nope\nagent = a\n"
	    "mountpoint = /m\n",
	    3, "[view \"v\"] workspace", "no [workspace \"nope\"] in this file",
	    "unknown workspace");
	bad("[view \"v\"]\nworkspace = v\nagent = a\nmountpoint = /m\n", 2,
	    "[view \"v\"] workspace", "no [workspace \"v\"]",
	    "a view name is not a workspace");
	bad(BASE "[view \"v2\"]\nmountpoint = /m\nworkspace = w\nagent = b\n",
	    7, "[view \"v2\"] mountpoint",
	    "\"/m\" is already the mountpoint of [view \"v\"] (line 5)",
	    "duplicate mountpoint");
	good_free(BASE "[view \"v2\"]\nmountpoint = /m/\nworkspace = w\n"
	               "agent = b\n",
	    "mountpoints compared as written");
}

static void
test_messages(void)
{
	struct sn_config *cfg;
	char err[64], big[4096], *key, *long_text;
	const char *text;
	int rc;

	/* err may be NULL or tiny; *out is always reset. */
	cfg = (struct sn_config *)(uintptr_t)1;
	rc = config_parse("[bogus]\n", 8, NAME, &cfg, NULL, 0);
	ok(rc == SN_ECONFIG && cfg == NULL, "NULL err buffer");
	memset(err, 'x', sizeof(err));
	rc = config_parse("[bogus]\n", 8, NAME, &cfg, err, 1);
	ok(rc == SN_ECONFIG && err[0] == '\0' && err[1] == 'x',
	    "err buffer of 1 byte");
	memset(err, 'x', sizeof(err));
	rc = config_parse("[bogus]\n", 8, NAME, &cfg, err, 10);
	ok(rc == SN_ECONFIG && strcmp(err, "t.conf:1:") == 0 && err[10] == 'x',
	    "err buffer of 10 bytes truncates");
	rc = config_parse("", 0, NAME, NULL, err, sizeof(err));
	ok(rc == SN_EINVAL, "NULL out pointer");

	/* Hostile user text is cut and made printable in messages. */
	key = rep('k', 10000);
	text = long_text = fmt("[fs]\n%s = 1\n", key);
	rc = config_parse(text, strlen(text), NAME, &cfg, big, sizeof(big));
	ok(rc == SN_ECONFIG && strlen(big) < 200 && strstr(big, "...") &&
	        strstr(big, "unknown key"),
	    "10,000-byte key cut in message");
	free(long_text);
	free(key);
	rc = config_parse("[fs]\n\x1b[31m\r = 1\n", 16, NAME, &cfg, big,
	    sizeof(big));
	is_str(big, "t.conf:2: [fs] ?[31m?: unknown key in [fs]",
	    "control bytes shown as '?'");
	text = "[fs]\nthreads = \x7f\n";
	rc = config_parse(text, strlen(text), "a\nb", &cfg, big, sizeof(big));
	is_str(big,
	    "a?b:2: [fs] threads: \"?\" is not a decimal number (1..256)",
	    "file name and value made printable");
	text = "[fs]\nthreads = 1\n";
	rc = config_parse(text, strlen(text), NULL, &cfg, big, sizeof(big));
	ok(rc == 0 && strcmp(cfg->path, "(config)") == 0,
	    "NULL name becomes (config)");
	config_free(cfg);
	rc = config_parse("x", 1, NULL, &cfg, big, sizeof(big));
	is_str(big,
	    "(config):1: malformed line (want key = value or [section])",
	    "exact message, no section");
}

static void
test_many_sections(void)
{
	size_t n = 3000, i, len = 0, cap = n * 120;
	struct sn_config *cfg;
	char *text;

	if ((text = malloc(cap)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "[workspace \"w%zu\"]\n[view \"v%zu\"]\nworkspace = w%zu\n"
		    "agent = a\nmountpoint = /m/%zu\n",
		    i, i, n - 1 - i, i);
	if ((cfg = good_n(text, len, "3000 workspaces and views")) != NULL) {
		ok(cfg->n_workspaces == n && cfg->n_views == n,
		    "all sections kept");
		is_str(cfg->views[0].workspace, "w2999", "forward references");
		ok(config_workspace(cfg, "w1234") == &cfg->workspaces[1234],
		    "config_workspace in a big config");
		config_free(cfg);
	} else
		skip(3, "did not parse");
	len += (size_t)snprintf(text + len, cap - len,
	    "[view \"x\"]\nworkspace = w0\nagent = a\nmountpoint = /m/1500\n");
	bad_n(text, len, (unsigned)(5 * n + 4), "[view \"x\"] mountpoint",
	    "already the mountpoint of [view \"v1500\"] (line 7505)",
	    "duplicate mountpoint among 3001 views");
	len += (size_t)snprintf(text + len, cap - len, "[workspace \"w77\"]\n");
	bad_n(text, len, (unsigned)(5 * n + 5), "[workspace \"w77\"]",
	    "repeated section (first at line 386)",
	    "repeated workspace among 3000");
	free(text);
}

/* ---- path policy, roles, chaos, audit ---------------------------------- */

static void
test_sizes(void)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t want;
	} c[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "4096", 0, 4096 },
		{ "1K", 0, 1024 },
		{ "1KiB", 0, 1024 },
		{ "2M", 0, 2ULL << 20 },
		{ "2MiB", 0, 2ULL << 20 },
		{ "3G", 0, 3ULL << 30 },
		{ "3GiB", 0, 3ULL << 30 },
		{ "4T", 0, 4ULL << 40 },
		{ "4TiB", 0, 4ULL << 40 },
		{ "5 MiB", 0, 5ULL << 20 },
		{ "5\tM", 0, 5ULL << 20 },
		{ "0K", 0, 0 },
		{ "007K", 0, 7ULL << 10 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "18446744073709551615", 0, 18446744073709551615ULL },
		{ "16777216T", SN_ERANGE, 0 },
		{ "17179869184G", SN_ERANGE, 0 },
		{ "18014398509481984K", SN_ERANGE, 0 },
		{ "18446744073709551616", SN_ERANGE, 0 },
		{ "99999999999999999999999K", SN_ERANGE, 0 },
		{ "", SN_EINVAL, 0 },
		{ "K", SN_EINVAL, 0 },
		{ "1k", SN_EINVAL, 0 },
		{ "1KB", SN_EINVAL, 0 },
		{ "1Ki", SN_EINVAL, 0 },
		{ "1kib", SN_EINVAL, 0 },
		{ "1B", SN_EINVAL, 0 },
		{ "1P", SN_EINVAL, 0 },
		{ "1.5G", SN_EINVAL, 0 },
		{ "-1", SN_EINVAL, 0 },
		{ "+1", SN_EINVAL, 0 },
		{ " 1", SN_EINVAL, 0 },
		{ "1 ", SN_EINVAL, 0 },
		{ "1M ", SN_EINVAL, 0 },
		{ "1MM", SN_EINVAL, 0 },
		{ "0x10", SN_EINVAL, 0 },
		{ "1,000", SN_EINVAL, 0 },
	};
	uint64_t v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 12345;
		rc = config_parse_size(c[i].s, &v);
		if (c[i].rc == 0)
			ok(rc == 0 && v == c[i].want, "size \"%s\" = %llu",
			    c[i].s, (unsigned long long)c[i].want);
		else
			ok(rc == c[i].rc && v == 12345,
			    "size \"%s\" fails with %d", c[i].s, c[i].rc);
	}
	ok(config_parse_size(NULL, &v) == SN_EINVAL, "size NULL");
}

static void
test_rates(void)
{
	static const struct {
		const char *s;
		int rc;
		double want;
	} c[] = {
		{ "0", 0, 0.0 },
		{ "1", 0, 1.0 },
		{ "0.1", 0, 0.1 },
		{ "0.5", 0, 0.5 },
		{ "0.25", 0, 0.25 },
		{ "1.0", 0, 1.0 },
		{ "1.000", 0, 1.0 },
		{ "0.0", 0, 0.0 },
		{ "00.25", 0, 0.25 },
		{ "0.999999999999999", 0, 0.999999999999999 },
		{ "0.000000000000001", 0, 1e-15 },
		{ "0.1000000000000000000000", 0, 0.1 },
		{ "0.3", 0, 0.3 },
		{ "1.5", SN_ERANGE, 0 },
		{ "2", SN_ERANGE, 0 },
		{ "10", SN_ERANGE, 0 },
		{ "1.000000000000001", SN_ERANGE, 0 },
		{ "0.1234567890123456", SN_EINVAL, 0 },
		{ "", SN_EINVAL, 0 },
		{ ".5", SN_EINVAL, 0 },
		{ "0.", SN_EINVAL, 0 },
		{ "-0.1", SN_EINVAL, 0 },
		{ "+0.1", SN_EINVAL, 0 },
		{ "1e-1", SN_EINVAL, 0 },
		{ "0,5", SN_EINVAL, 0 },
		{ "0.5 ", SN_EINVAL, 0 },
		{ " 0.5", SN_EINVAL, 0 },
		{ "0.5%", SN_EINVAL, 0 },
		{ "0..5", SN_EINVAL, 0 },
		{ "0.5.1", SN_EINVAL, 0 },
		{ "nan", SN_EINVAL, 0 },
		{ "inf", SN_EINVAL, 0 },
		{ "0x1", SN_EINVAL, 0 },
	};
	double v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 42.0;
		rc = config_parse_rate(c[i].s, &v);
		if (c[i].rc == 0)
			ok(rc == 0 && v == c[i].want, "rate \"%s\" = %.17g",
			    c[i].s, c[i].want);
		else
			ok(rc == c[i].rc && v == 42.0,
			    "rate \"%s\" fails with %d", c[i].s, c[i].rc);
	}
	ok(config_parse_rate(NULL, &v) == SN_EINVAL, "rate NULL");
}

static void
test_workspace_policy(void)
{
	struct sn_config *cfg;
	const struct sn_cfg_workspace *w;

	cfg = good(BASE "[workspace \"p\"]\n"
	                "deny = *.pem, .env\n"
	                "deny =  secrets/** \n"
	                "readonly = .git/**,/Makefile\n"
	                "symlinks = any\n"
	                "max_file_size = 10M\n"
	                "quota = 1 GiB\n"
	                "audit_fail_open = yes\n"
	                "deny = a\\,b, [!x]y\n",
	    "workspace policy keys");
	if (cfg != NULL) {
		w = config_workspace(cfg, "p");
		if (is_int(w->deny.n, 5, "5 deny patterns, appended")) {
			is_str(w->deny.v[0], "*.pem", "deny[0]");
			is_str(w->deny.v[1], ".env", "deny[1]");
			is_str(w->deny.v[2], "secrets/**", "deny[2] trimmed");
			is_str(w->deny.v[3], "a\\,b", "\\, does not split");
			is_str(w->deny.v[4], "[!x]y", "deny[4]");
		} else
			skip(5, "wrong count");
		if (is_int(w->readonly.n, 2, "2 readonly patterns")) {
			is_str(w->readonly.v[0], ".git/**", "readonly[0]");
			is_str(w->readonly.v[1], "/Makefile", "readonly[1]");
		} else
			skip(2, "wrong count");
		is_int(w->symlinks_any, 1, "symlinks = any");
		ok(w->max_file_size == 10ULL << 20, "max_file_size = 10M");
		ok(w->quota == 1ULL << 30, "quota = 1 GiB");
		is_int(w->audit_fail_open, 1, "audit_fail_open = yes");
		w = config_workspace(cfg, "w");
		ok(w->deny.n == 0 && w->deny.v == NULL && w->readonly.n == 0 &&
		        w->readonly.v == NULL,
		    "default: no patterns");
		ok(w->symlinks_any == 0 && w->max_file_size == 0 &&
		        w->quota == 0 && w->audit_fail_open == 0,
		    "defaults: inside, unlimited, fail closed");
		ok(cfg->audit_key_file == NULL, "audit_key_file unset");
		config_free(cfg);
	} else
		skip(16, "did not parse");

	cfg = good("[server]\naudit_key_file = /etc/sentinel/audit.key\n"
	           "[workspace \"w\"]\nsymlinks = inside\nquota = 0\n",
	    "audit_key_file, symlinks = inside, quota = 0");
	if (cfg != NULL) {
		is_str(cfg->audit_key_file, "/etc/sentinel/audit.key",
		    "audit_key_file");
		ok(cfg->workspaces[0].symlinks_any == 0 &&
		        cfg->workspaces[0].quota == 0,
		    "inside, quota 0 = unlimited");
		config_free(cfg);
	} else
		skip(2, "did not parse");

#define WS "[workspace \"w\"]"
	bad(WS "\ndeny = a/../b\n", 2, WS " deny",
	    "\"a/../b\" is not a valid pattern: '.' and '..'", "deny with ..");
	bad(WS "\ndeny = ok, [abc\n", 2, WS " deny",
	    "\"[abc\" is not a valid pattern: unterminated '['",
	    "second pattern bad");
	bad(WS "\nreadonly = a//b\n", 2, WS " readonly",
	    "is not a valid pattern: empty path component", "readonly a//b");
	bad(WS "\ndeny = !x\n", 2, WS " deny", "negation is not supported",
	    "deny !x");
	bad(WS "\ndeny = a,,b\n", 2, WS " deny", "empty element",
	    "empty element");
	bad(WS "\ndeny = a,\n", 2, WS " deny", "empty element",
	    "trailing comma");
	bad(WS "\ndeny = ,\n", 2, WS " deny", "empty element", "lone comma");
	bad(WS "\ndeny = a\\\n", 2, WS " deny", "trailing '\\'",
	    "trailing backslash");
	bad(WS "\ndeny = /\n", 2, WS " deny", "empty pattern", "deny /");
	bad(WS "\nsymlinks = outside\n", 2, WS " symlinks",
	    "\"outside\" is not one of: inside, any", "bad symlinks");
	bad(WS "\nsymlinks = Any\n", 2, WS " symlinks", "not one of",
	    "symlinks is case-sensitive");
	bad(WS "\nmax_file_size = 10X\n", 2, WS " max_file_size",
	    "\"10X\" is not a size (a number of bytes, with an optional unit",
	    "bad size unit");
	bad(WS "\nmax_file_size = 1.5G\n", 2, WS " max_file_size",
	    "is not a size", "fractional size");
	bad(WS "\nquota = -1\n", 2, WS " quota", "is not a size",
	    "negative quota");
	bad(WS "\nquota = 16777216T\n", 2, WS " quota",
	    "\"16777216T\" is too large (at most 2^64-1 bytes)",
	    "quota overflows");
	bad(WS "\nquota = 1G\nquota = 2G\n", 3, WS " quota",
	    "repeated key (first at line 2)", "quota twice");
	bad(WS "\nsymlinks = any\nsymlinks = any\n", 3, WS " symlinks",
	    "repeated key", "symlinks twice");
	bad(WS "\naudit_fail_open = maybe\n", 2, WS " audit_fail_open",
	    "not a boolean", "bad audit_fail_open");
	bad("[server]\naudit_key_file = /a\naudit_key_file = /b\n", 3,
	    "[server] audit_key_file", "repeated key", "audit_key_file twice");
	bad("[view \"v\"]\ndeny = x\n", 2, "[view \"v\"] deny",
	    "unknown key in [view]", "deny in a view");
#undef WS
}

static void
test_roles(void)
{
	static const char roles[] =
	    BASE "role = Reviewer\n"
	         "[role \"Reviewer\"]\n"
	         "permissions = read_file, llm\n"
	         "permissions = lock\n"
	         "[role \"Dev\"]\npermissions=read_file,edit_file\n"
	         "[role \"Ops\"]\npermissions = exec, read_logs, admin\n";
	struct sn_config *cfg;
	const struct sn_cfg_role *r;
	static const char *const builtin[] = { "Dev", "Reader", "Audit",
		"Admin" };
	char *text;
	size_t i;

	cfg = good(roles, "roles, declared after the view that uses one");
	if (cfg != NULL) {
		is_int(cfg->n_roles, 3, "three roles");
		r = config_role(cfg, "Reviewer");
		ok(r != NULL &&
		        r->perms == (PERM_READ_FILE | PERM_LLM | PERM_LOCK),
		    "Reviewer: read_file llm lock");
		ok(r != NULL && r->line == 7, "role header line");
		r = config_role(cfg, "Dev");
		ok(r != NULL && r->perms == (PERM_READ_FILE | PERM_EDIT_FILE),
		    "Dev overridden");
		r = config_role(cfg, "Ops");
		ok(r != NULL &&
		        r->perms == (PERM_EXEC | PERM_READ_LOGS | PERM_ADMIN),
		    "Ops: exec read_logs admin");
		ok(config_role(cfg, "Reader") == NULL,
		    "config_role: built-ins are not sections");
		ok(config_role(cfg, NULL) == NULL, "config_role(NULL name)");
		config_free(cfg);
	} else
		skip(7, "did not parse");
	ok(config_role(NULL, "x") == NULL, "config_role(NULL cfg)");

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		text = fmt(BASE "role = %s\n", builtin[i]);
		good_free(text, builtin[i]);
		free(text);
	}

	bad(BASE "role = Bogus\n", 6, "[view \"v\"] role",
	    "no [role \"Bogus\"] in this file, and not a built-in role "
	    "(Dev, Reader, Audit, Admin)",
	    "unknown role");
	bad(BASE "role = dev\n", 6, "[view \"v\"] role", "no [role \"dev\"]",
	    "role names are case-sensitive");
	bad(BASE "role = Bogus\n[role \"Bogu\"]\npermissions = exec\n", 6,
	    "[view \"v\"] role", "no [role \"Bogus\"]", "near miss");
	bad("[role \"R\"]\n[fs]\n", 1, "[role \"R\"] permissions",
	    "missing required key", "role without permissions");
	bad("[role \"R\"]\npermissions = read_file, fly\n", 2,
	    "[role \"R\"] permissions",
	    "\"fly\" is not a permission (read_file, edit_file, exec, lock, "
	    "read_logs, admin, llm)",
	    "unknown permission");
	bad("[role \"R\"]\npermissions = Read_File\n", 2,
	    "[role \"R\"] permissions", "is not a permission",
	    "permissions are case-sensitive");
	bad("[role \"R\"]\npermissions = exec, exec\n", 2,
	    "[role \"R\"] permissions", "\"exec\" is listed twice",
	    "permission twice in a line");
	bad("[role \"R\"]\npermissions = exec\npermissions = lock, exec\n", 3,
	    "[role \"R\"] permissions", "\"exec\" is listed twice",
	    "permission twice across lines");
	bad("[role \"R\"]\npermissions = exec,,lock\n", 2,
	    "[role \"R\"] permissions", "empty element", "empty permission");
	bad("[role]\n", 1, "[role]", "section needs a name", "[role] unnamed");
	bad("[role \"a b\"]\n", 1, "[role \"a b\"]", "invalid name",
	    "role name with a blank");
	bad("[role \"R\"]\npermissions = exec\n[role \"R\"]\n", 3,
	    "[role \"R\"]", "repeated section (first at line 1)", "role twice");
	bad("[role \"R\"]\nrole = x\n", 2, "[role \"R\"] role",
	    "unknown key in [role]", "view key in a role");
	good_free("[role \"v\"]\npermissions = exec\n" BASE,
	    "a role and a view may share a name");
}

static void
test_chaos(void)
{
	struct sn_config *cfg;

	if ((cfg = good("", "no [chaos]")) != NULL) {
		ok(cfg->chaos.rate == 0.0, "rate defaults to 0");
		is_int(cfg->chaos.errors, SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL,
		    "errors default to timeout, disk_full");
		ok(cfg->chaos.seed == 0, "seed defaults to 0");
		is_int(cfg->chaos.scope, SN_CHAOS_FS, "scope defaults to fs");
		config_free(cfg);
	} else
		skip(4, "did not parse");
	if ((cfg = good("[chaos]\n", "empty [chaos]")) != NULL) {
		ok(cfg->chaos.rate == 0.0 &&
		        cfg->chaos.errors ==
		            (SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL) &&
		        cfg->chaos.seed == 0 && cfg->chaos.scope == SN_CHAOS_FS,
		    "empty [chaos]: defaults");
		config_free(cfg);
	} else
		skip(1, "did not parse");
	cfg = good("[chaos]\nrate = 0.1\nerrors = disk_full\n"
	           "seed = 18446744073709551615\nscope = api\n[fs]\n",
	    "[chaos] with every key");
	if (cfg != NULL) {
		ok(cfg->chaos.rate == 0.1, "rate 0.1");
		is_int(cfg->chaos.errors, SN_CHAOS_DISK_FULL,
		    "errors = disk_full replaces the default");
		ok(cfg->chaos.seed == 18446744073709551615ULL, "seed 2^64-1");
		is_int(cfg->chaos.scope, SN_CHAOS_API,
		    "scope = api replaces the default");
		config_free(cfg);
	} else
		skip(4, "did not parse");
	cfg = good("[chaos]\nerrors = timeout\nerrors = disk_full\n"
	           "scope = fs, api\nrate = 1\n",
	    "[chaos] lists append");
	if (cfg != NULL) {
		is_int(cfg->chaos.errors, SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL,
		    "errors appended");
		is_int(cfg->chaos.scope, SN_CHAOS_FS | SN_CHAOS_API,
		    "scope = fs, api");
		ok(cfg->chaos.rate == 1.0, "rate 1");
		config_free(cfg);
	} else
		skip(3, "did not parse");

	bad("[chaos]\nrate = 1.5\n", 2, "[chaos] rate",
	    "\"1.5\" is out of range (0..1)", "rate > 1");
	bad("[chaos]\nrate = 10%\n", 2, "[chaos] rate",
	    "\"10%\" is not a fraction (a decimal 0..1 like 0.25",
	    "rate as a percentage");
	bad("[chaos]\nrate = 1e-3\n", 2, "[chaos] rate", "is not a fraction",
	    "rate with an exponent");
	bad("[chaos]\nrate = 0,1\n", 2, "[chaos] rate", "is not a fraction",
	    "rate with a decimal comma");
	bad("[chaos]\nerrors = explode\n", 2, "[chaos] errors",
	    "\"explode\" is not one of: timeout, disk_full", "bad error");
	bad("[chaos]\nerrors = timeout, timeout\n", 2, "[chaos] errors",
	    "\"timeout\" is listed twice", "error twice");
	bad("[chaos]\nerrors = timeout,\n", 2, "[chaos] errors",
	    "empty element", "trailing comma");
	bad("[chaos]\nscope = net\n", 2, "[chaos] scope",
	    "\"net\" is not one of: fs, api", "bad scope");
	bad("[chaos]\nseed = 18446744073709551616\n", 2, "[chaos] seed",
	    "out of range (0..18446744073709551615)", "seed 2^64");
	bad("[chaos]\nseed = -1\n", 2, "[chaos] seed", "not a decimal number",
	    "negative seed");
	bad("[chaos]\nrate = 0.1\nrate = 0.2\n", 3, "[chaos] rate",
	    "repeated key", "rate twice");
	bad("[chaos \"x\"]\n", 1, "[chaos \"x\"]", "section takes no name",
	    "[chaos] named");
	bad("[chaos]\n[chaos]\n", 2, "[chaos]", "repeated section",
	    "[chaos] twice");
	bad("[fs]\nrate = 0.1\n", 2, "[fs] rate", "unknown key in [fs]",
	    "chaos key in [fs]");
	bad("[bogus]\n", 1, "[bogus]",
	    "unknown section (want [server], [workspace \"ID\"], "
	    "[view \"NAME\"], [role \"NAME\"], [fs] or [chaos])",
	    "unknown section lists every kind");
}

/* ---- config_load, config_demo, the rest ------------------------------- */

static char *
write_tmp(const char *dir, const char *data, size_t len)
{
	char *path = fmt("%s/sn-test-config.XXXXXX", dir);
	int fd;

	if ((fd = mkstemp(path)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

static void
test_load(void)
{
	const char *dir = getenv("TMPDIR");
	struct sn_config *cfg;
	char err[512], *path, *want, *big;
	size_t mib = 1024 * 1024;
	int rc;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";

	path = write_tmp(dir, "[fs]\nthreads = 5\n", 17);
	rc = config_load(path, &cfg, err, sizeof(err));
	ok(rc == 0 && cfg != NULL && cfg->fs.threads == 5 &&
	        strcmp(cfg->path, path) == 0,
	    "load a file");
	config_free(cfg);
	unlink(path);
	free(path);

	path = write_tmp(dir, "[fs]\nthreads = 500\n", 19);
	rc = config_load(path, &cfg, err, sizeof(err));
	want = fmt("%s:2: [fs] threads: ", path);
	ok(rc == SN_ECONFIG && cfg == NULL &&
	        strncmp(err, want, strlen(want)) == 0,
	    "load: error names file");
	unlink(path);
	free(path);
	free(want);

	path = fmt("%s/sn-test-config-nonexistent.%ld", dir, (long)getpid());
	cfg = (struct sn_config *)(uintptr_t)1;
	rc = config_load(path, &cfg, err, sizeof(err));
	want = fmt("%s: cannot open: %s", path, strerror(ENOENT));
	ok(rc == SN_ECONFIG && cfg == NULL, "load: missing file fails");
	is_str(err, want, "load: missing file message");
	free(path);
	free(want);

	rc = config_load(dir, &cfg, err, sizeof(err));
	want = fmt("%s: cannot read: %s", dir, strerror(EISDIR));
	ok(rc == SN_ECONFIG && cfg == NULL, "load: directory fails");
	is_str(err, want, "load: directory message");
	free(want);

	/* Exactly 1 MiB loads; one byte more does not. */
	big = rep('#', mib + 1);
	big[mib - 1] = '\n';
	path = write_tmp(dir, big, mib);
	rc = config_load(path, &cfg, err, sizeof(err));
	ok(rc == 0 && cfg != NULL, "load: 1 MiB file");
	config_free(cfg);
	unlink(path);
	free(path);
	path = write_tmp(dir, big, mib + 1);
	rc = config_load(path, &cfg, err, sizeof(err));
	want = fmt("%s: file is larger than 1048576 bytes", path);
	ok(rc == SN_ECONFIG && cfg == NULL, "load: 1 MiB + 1 fails");
	is_str(err, want, "load: too-large message");
	unlink(path);
	free(path);
	free(want);
	free(big);

	ok(config_load(NULL, &cfg, err, sizeof(err)) == SN_EINVAL &&
	        cfg == NULL,
	    "load: NULL path");
	ok(config_load("/dev/null", &cfg, NULL, 0) == 0 && cfg != NULL,
	    "load: /dev/null is an empty config");
	config_free(cfg);
}

static void
test_demo(void)
{
	struct sn_config *cfg = NULL;
	const struct sn_cfg_view *v;
	int rc;

	rc = config_demo("./.sentinel", "./workspace", &cfg);
	if (!ok(rc == 0 && cfg != NULL, "config_demo")) {
		skip(16, "no demo config");
		return;
	}
	is_str(cfg->path, "(built-in)", "demo path");
	is_str(cfg->state_dir, "./.sentinel", "demo state_dir");
	is_int(cfg->n_workspaces, 1, "one workspace");
	is_str(cfg->workspaces[0].id, "demo", "workspace demo");
	is_str(cfg->workspaces[0].root, "./.sentinel/workspaces/demo/root",
	    "workspace root under state_dir");
	is_int(cfg->n_views, 1, "one view");
	v = &cfg->views[0];
	ok(strcmp(v->name, "demo") == 0 && strcmp(v->workspace, "demo") == 0,
	    "view demo of workspace demo");
	is_str(v->agent, "dev", "agent dev");
	is_str(v->role, "Dev", "role Dev");
	is_str(v->mountpoint, "./workspace", "mountpoint as given");
	ok(!v->allow_other && v->n_allowed_uids == 0, "no allow_other");
	ok(cfg->fs.cache_timeout == 86400 && cfg->fs.fd_cache == 4096 &&
	        cfg->fs.threads == 8 && cfg->fs.writeback_cache == 0,
	    "demo [fs] defaults");
	ok(config_workspace(cfg, "demo") == &cfg->workspaces[0],
	    "config_workspace(demo)");
	ok(config_workspace(cfg, "nope") == NULL, "config_workspace(nope)");
	ok(cfg->chaos.rate == 0.0 &&
	        cfg->chaos.errors == (SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL) &&
	        cfg->chaos.scope == SN_CHAOS_FS && cfg->n_roles == 0 &&
	        cfg->audit_key_file == NULL,
	    "demo: chaos off, no roles, no audit key file");
	ok(cfg->workspaces[0].deny.n == 0 && cfg->workspaces[0].quota == 0 &&
	        !cfg->workspaces[0].symlinks_any,
	    "demo: no path rules");
	config_free(cfg);

	cfg = (struct sn_config *)(uintptr_t)1;
	ok(config_demo(NULL, "/m", &cfg) == SN_EINVAL && cfg == NULL,
	    "demo: NULL state_dir");
	cfg = (struct sn_config *)(uintptr_t)1;
	ok(config_demo("", "/m", &cfg) == SN_EINVAL && cfg == NULL,
	    "demo: empty state_dir");
	ok(config_demo("/s", NULL, &cfg) == SN_EINVAL && cfg == NULL,
	    "demo: NULL mountpoint");
	ok(config_demo("/s", "/m", NULL) == SN_EINVAL, "demo: NULL out");
}

/* ---- [api], grants, views_dir -------------------------------------------- */

static void
test_api(void)
{
	struct sn_config *cfg;
	char host[64], err[1024], path[4096];
	unsigned port = 0;
	const char *src;
	int rc;

	cfg = good("[server]\nstate_dir = /s\n", "no [api]");
	if (cfg != NULL) {
		ok(!cfg->api.enabled, "no [api]: the API is off");
		ok(cfg->views_dir == NULL, "views_dir unset");
		config_free(cfg);
	}
	cfg = good("[api]\ncert = c.pem\nkey = k.pem\nclient_ca = ca.pem\n"
	           "[server]\nviews_dir = /v\n"
	           "[workspace \"w\"]\nagents = a, b.c\nagents = d\n"
	           "uid = 1000\ngid = 1001\n",
	    "[api] with its defaults");
	if (cfg != NULL) {
		ok(cfg->api.enabled, "[api]: enabled");
		is_str(cfg->api.listen, "127.0.0.1:8443", "listen default");
		is_str(cfg->api.ops_listen, "127.0.0.1:9090", "ops default");
		is_str(cfg->api.plain_listen, "off", "plain off by default");
		is_str(cfg->api.plain_role, "Dev", "plain_role default");
		ok(cfg->api.max_body == 32u << 20, "max_body 32M");
		ok(cfg->api.max_connections == 1024 && cfg->api.per_ip == 256 &&
		        cfg->api.threads == 8 && cfg->api.timeout == 120,
		    "connection limits");
		is_str(cfg->views_dir, "/v", "views_dir");
		ok(cfg->workspaces[0].agents.n == 3 &&
		        strcmp(cfg->workspaces[0].agents.v[2], "d") == 0,
		    "agents: a list, repeated key appends");
		ok(cfg->workspaces[0].uid == 1000 &&
		        cfg->workspaces[0].gid == 1001,
		    "uid, gid");
		config_free(cfg);
	}
	cfg = good("[workspace \"w\"]\n", "no uid");
	if (cfg != NULL) {
		ok(cfg->workspaces[0].uid == SN_CFG_NO_ID &&
		        cfg->workspaces[0].gid == SN_CFG_NO_ID,
		    "uid/gid unset");
		config_free(cfg);
	}
	good_free("[api]\nlisten = off\n", "listen off needs no certificate");
	good_free("[api]\nlisten = off\nplain_listen = 127.0.0.1:8080\n"
	          "token_file = /t\nplain_agent = side\n",
	    "plain listener on loopback with a token");
	good_free("[api]\nlisten = off\nplain_listen = [::1]:8080\n"
	          "token_file = /t\nplain_agent = side\n",
	    "plain listener on [::1]");
	good_free("[api]\nlisten = [::]:8443\ncert = c\nkey = k\nclient_ca = "
	          "ca\nops_listen = 0.0.0.0:9090\n",
	    "IPv6 and any-address listeners");
	bad("[api]\nlisten = 127.0.0.1:8443\n", 2, "[api]",
	    "cert, key and client_ca are required",
	    "mTLS without certificates");
	bad("[api]\nlisten = off\nplain_listen = 0.0.0.0:8080\n"
	    "token_file = /t\nplain_agent = side\n",
	    3, "[api] plain_listen", "loopback", "plain listener off loopback");
	bad("[api]\nlisten = off\nplain_listen = 10.0.0.1:8080\n"
	    "token_file = /t\nplain_agent = side\n",
	    3, "[api] plain_listen", "loopback", "plain listener on 10.0.0.1");
	bad("[api]\nlisten = off\nplain_listen = 127.0.0.1:8080\n", 3,
	    "[api] plain_listen", "token_file", "plain listener without token");
	bad("[api]\nlisten = off\ntoken_file = /t\n", 3, "[api]",
	    "plain_listen", "token without a plain listener");
	bad("[api]\nlisten = 127.0.0.1\n", 2, "[api] listen", "not an address",
	    "address without a port");
	bad("[api]\nlisten = 127.0.0.1:0\n", 2, "[api] listen",
	    "not an address", "port 0");
	bad("[api]\nlisten = 127.0.0.1:65536\n", 2, "[api] listen",
	    "not an address", "port 65536");
	bad("[api]\nlisten = example.com:443\n", 2, "[api] listen",
	    "not an address", "a host name");
	bad("[api]\nlisten = ::1:443\n", 2, "[api] listen", "not an address",
	    "IPv6 without brackets");
	bad("[api]\nmax_connections = 0\n", 2, "[api] max_connections",
	    "out of range", "max_connections 0");
	bad("[workspace \"w\"]\nagents = a, ../b\n", 2,
	    "[workspace \"w\"] agents", "not a valid id", "a bad agent id");
	bad("[workspace \"w\"]\nagents = a,,b\n", 2, "[workspace \"w\"] agents",
	    "empty element", "an empty agent");
	bad("[api]\n[api]\n", 2, NULL, "", "[api] twice");

	rc = config_parse_addr("[::1]:8443", host, sizeof(host), &port);
	ok(rc == 0 && strcmp(host, "::1") == 0 && port == 8443,
	    "config_parse_addr [::1]:8443");
	ok(config_addr_loopback("127.3.4.5") && config_addr_loopback("::1") &&
	        config_addr_loopback("localhost") &&
	        !config_addr_loopback("0.0.0.0") &&
	        !config_addr_loopback("::") &&
	        !config_addr_loopback("10.1.1.1"),
	    "config_addr_loopback");

	/* the demo serves the API with its development PKI */
	rc = config_demo("/st", "./workspace", &cfg);
	if (ok(rc == 0, "config_demo")) {
		ok(cfg->api.enabled, "demo: the API is on");
		is_str(cfg->api.cert, "/st/pki/server.pem", "demo cert");
		is_str(cfg->api.client_ca, "/st/pki/ca.pem", "demo client_ca");
		is_str(cfg->api.crl, "/st/pki/crl.pem", "demo crl");
		is_str(cfg->views_dir, "/st/views", "demo views_dir");
		ok(cfg->workspaces[0].agents.n == 1 &&
		        strcmp(cfg->workspaces[0].agents.v[0], "dev") == 0,
		    "demo: dev is granted the demo workspace");
		config_free(cfg);
	}

	/* the configuration shipped with the container image */
	src = getenv("SN_SRCDIR");
	snprintf(path, sizeof(path), "%s/infrastructure/docker/sentinel.conf",
	    src != NULL ? src : ".");
	cfg = NULL;
	rc = config_load(path, &cfg, err, sizeof(err));
	if (!ok(rc == 0, "the container image's sentinel.conf parses"))
		diag("%s", err);
	config_free(cfg);
}

/* ---- [secrets], [secret "NAME"] ------------------------------------------ */

#define VAULT \
	"[secrets]\nvault_addr = https://vault.example:8200\n" \
	"vault_token_file = /t\n"
#define FILEDIR "[secrets]\ndir = /run/secrets\n"

static void
test_secrets(void)
{
	const struct sn_cfg_secret *d;
	struct sn_config *cfg;

	cfg = good("[workspace \"w\"]\n", "no secrets");
	if (cfg != NULL) {
		ok(cfg->n_secret_defs == 0 && cfg->secret_defs == NULL,
		    "no [secret]");
		ok(cfg->secrets.dir == NULL && cfg->secrets.vault_addr == NULL,
		    "no [secrets]");
		is_str(cfg->secrets.vault_mount, "secret", "mount default");
		is_int(cfg->secrets.cache_ttl, 60, "cache_ttl default");
		config_free(cfg);
	}
	cfg = good("[secret \"GITHUB_TOKEN\"]\nprovider = file\n"
	           "key = github-token\nworkspaces = w1, w2\nworkspaces = w3\n"
	           "inject = exec:env\n"
	           "[secrets]\ndir = /run/secrets\n"
	           "vault_addr = https://vault.example:8200/\n"
	           "vault_token_file = /run/vault/token\n"
	           "vault_mount = kv\nvault_cacert = /etc/ca.pem\n"
	           "cache_ttl = 0\n"
	           "[secret \"DB_PASSWORD\"]\nprovider = vault\n"
	           "key = team-a/db.prod#password\nworkspaces = *\n"
	           "[secret \"_X9\"]\nprovider = env\nkey = lower_Case9\n"
	           "workspaces = w\n",
	    "every secrets key");
	if (cfg != NULL) {
		is_str(cfg->secrets.dir, "/run/secrets", "dir");
		is_str(cfg->secrets.vault_addr, "https://vault.example:8200/",
		    "vault_addr");
		is_str(cfg->secrets.vault_token_file, "/run/vault/token",
		    "vault_token_file");
		is_str(cfg->secrets.vault_mount, "kv", "vault_mount");
		is_str(cfg->secrets.vault_cacert, "/etc/ca.pem",
		    "vault_cacert");
		is_int(cfg->secrets.cache_ttl, 0, "cache_ttl 0");
		if (ok(cfg->n_secret_defs == 3, "three secrets")) {
			d = &cfg->secret_defs[0];
			is_str(d->name, "GITHUB_TOKEN", "name");
			is_int(d->provider, SN_SECRET_FILE, "provider file");
			is_str(d->key, "github-token", "key");
			ok(d->workspaces.n == 3 &&
			        strcmp(d->workspaces.v[2], "w3") == 0,
			    "workspaces: a list, repeated key appends");
			is_int(d->inject, SN_INJECT_ENV, "inject exec:env");
			is_int(d->line, 1, "line");
			d = &cfg->secret_defs[1];
			is_int(d->provider, SN_SECRET_VAULT, "provider vault");
			ok(d->workspaces.n == 1 &&
			        strcmp(d->workspaces.v[0], "*") == 0,
			    "workspaces = *");
			is_int(d->inject, SN_INJECT_ENV, "inject default");
			is_int(cfg->secret_defs[2].provider, SN_SECRET_ENV,
			    "provider env");
		}
		config_free(cfg);
	}
	good_free("[secrets]\nvault_addr = http://127.0.0.1:8200\n"
	          "vault_token_file = /t\n",
	    "plain http to 127.0.0.1");
	good_free("[secrets]\nvault_addr = http://[::1]:8200\n"
	          "vault_token_file = /t\n",
	    "plain http to [::1]");
	good_free("[secrets]\nvault_addr = http://localhost\n"
	          "vault_token_file = /t\n",
	    "plain http to localhost");
	good_free("[secrets]\nvault_addr = https://[2001:db8::1]:8200\n"
	          "vault_token_file = /t\n",
	    "https to an IPv6 literal");
	good_free("[secrets]\ncache_ttl = 86400\n", "cache_ttl max");
	good_free("[secret \""
	          "A123456789012345678901234567890123456789012345"
	          "678901234567890123\"]\nprovider = env\nkey = HOME\n"
	          "workspaces = *\n",
	    "a 64-byte name");

	/* names */
	bad("[secret \"github_token\"]\n", 1, "[secret \"github_token\"]",
	    "environment variable name", "lower-case name");
	bad("[secret \"1ABC\"]\n", 1, "[secret \"1ABC\"]",
	    "environment variable name", "name starting with a digit");
	bad("[secret \"A-B\"]\n", 1, "[secret \"A-B\"]",
	    "environment variable name", "name with '-'");
	bad("[secret \"A.B\"]\n", 1, "[secret \"A.B\"]",
	    "environment variable name", "name with '.'");
	bad("[secret \"\"]\n", 1, "[secret \"\"]", "environment variable name",
	    "empty name");
	bad("[secret \"A12345678901234567890123456789012345678901234567890"
	    "12345678901234\"]\n",
	    1, NULL, "environment variable name", "a 65-byte name");
	bad("[secret]\n", 1, "[secret]", "needs a name", "no name");
	bad("[secrets \"X\"]\n", 1, "[secrets \"X\"]", "takes no name",
	    "[secrets] with a name");
	bad("[secrets]\n[secrets]\n", 2, NULL, "repeated section",
	    "[secrets] twice");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = *\n"
	    "[secret \"A\"]\n",
	    5, NULL, "repeated section", "a secret twice");

	/* required keys, providers */
	bad("[secret \"A\"]\nkey = HOME\nworkspaces = *\n", 1,
	    "[secret \"A\"] provider", "missing required key", "no provider");
	bad("[secret \"A\"]\nprovider = env\nworkspaces = *\n", 1,
	    "[secret \"A\"] key", "missing required key", "no key");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\n", 1,
	    "[secret \"A\"] workspaces", "missing required key",
	    "no workspaces");
	bad("[secret \"A\"]\nprovider = aws\nkey = x\nworkspaces = *\n", 2,
	    "[secret \"A\"] provider", "is not one of: file, env, vault",
	    "unknown provider");
	bad("[secret \"A\"]\nprovider = file\nkey = x\nworkspaces = *\n", 2,
	    "[secret \"A\"] provider", "needs [secrets] dir",
	    "file provider without dir");
	bad("[secrets]\ncache_ttl = 5\n[secret \"A\"]\nprovider = file\n"
	    "key = x\nworkspaces = *\n",
	    4, "[secret \"A\"] provider", "needs [secrets] dir",
	    "file provider, [secrets] without dir");
	bad("[secret \"A\"]\nprovider = vault\nkey = a#b\nworkspaces = *\n", 2,
	    "[secret \"A\"] provider", "vault_addr and vault_token_file",
	    "vault provider without [secrets]");
	bad("[secrets]\nvault_addr = https://v\n[secret \"A\"]\n"
	    "provider = vault\nkey = a#b\nworkspaces = *\n",
	    4, "[secret \"A\"] provider", "vault_token_file",
	    "vault provider without a token file");
	bad("[secrets]\nvault_token_file = /t\n", 2, "[secrets]",
	    "need vault_addr", "a token file without an address");
	bad("[secrets]\nvault_cacert = /ca\n", 2, "[secrets]",
	    "need vault_addr", "a CA without an address");
	bad("[secret \"A\"]\nprovider = env\nprovider = env\n", 3,
	    "[secret \"A\"] provider", "repeated key", "provider twice");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = *\n"
	    "value = x\n",
	    5, "[secret \"A\"] value", "unknown key", "a value in the config");

	/* workspaces, inject */
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = w, *\n",
	    4, "[secret \"A\"] workspaces", "stands alone", "* and an id");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = *\n"
	    "workspaces = *\n",
	    4, "[secret \"A\"] workspaces", "stands alone", "* twice");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = w/x\n", 4,
	    "[secret \"A\"] workspaces", "not a valid id", "a bad id");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = **\n", 4,
	    "[secret \"A\"] workspaces", "not a valid id", "**");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = w,,x\n",
	    4, "[secret \"A\"] workspaces", "empty element", "an empty id");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = *\n"
	    "inject = exec:argv\n",
	    5, "[secret \"A\"] inject", "is not one of: exec:env",
	    "unknown inject");
	bad("[secret \"A\"]\nprovider = env\nkey = HOME\nworkspaces = *\n"
	    "inject = exec:env, exec:env\n",
	    5, "[secret \"A\"] inject", "listed twice", "inject twice");

	/* keys */
	bad(FILEDIR "[secret \"A\"]\nprovider = file\nkey = a/b\n"
	            "workspaces = *\n",
	    5, "[secret \"A\"] key", "not a file name", "file key with '/'");
	bad(FILEDIR "[secret \"A\"]\nprovider = file\nkey = ../x\n"
	            "workspaces = *\n",
	    5, "[secret \"A\"] key", "not a file name", "file key ../x");
	bad(FILEDIR "[secret \"A\"]\nprovider = file\nkey = ..data\n"
	            "workspaces = *\n",
	    5, "[secret \"A\"] key", "no leading '.'", "file key ..data");
	bad(FILEDIR "[secret \"A\"]\nprovider = file\nkey = .hidden\n"
	            "workspaces = *\n",
	    5, "[secret \"A\"] key", "no leading '.'", "file key .hidden");
	bad(FILEDIR "[secret \"A\"]\nprovider = file\nkey = a\tb\n"
	            "workspaces = *\n",
	    5, "[secret \"A\"] key", "not a file name", "file key with a tab");
	bad("[secret \"A\"]\nprovider = env\nkey = A=B\nworkspaces = *\n", 3,
	    "[secret \"A\"] key", "not an environment variable name",
	    "env key with '='");
	bad("[secret \"A\"]\nprovider = env\nkey = 9A\nworkspaces = *\n", 3,
	    "[secret \"A\"] key", "not an environment variable name",
	    "env key with a leading digit");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = app/db\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key without #");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = app/db#\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key, no field");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = #pw\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key, no path");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a#b#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key, two #");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a/../b#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key with ..");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = /a#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key with /a");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a//b#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key with //");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a?x=1#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key with ?");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a%%2f#c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault key with %%");
	bad(VAULT "[secret \"A\"]\nprovider = vault\nkey = a#b c\n"
	          "workspaces = *\n",
	    6, "[secret \"A\"] key", "not PATH#FIELD", "vault field blank");

	/* vault_addr */
	bad("[secrets]\nvault_addr = http://10.0.0.5:8200\n", 2,
	    "[secrets] vault_addr", "plain http only to a loopback",
	    "plain http off loopback");
	bad("[secrets]\nvault_addr = http://vault.example\n", 2,
	    "[secrets] vault_addr", "plain http only to a loopback",
	    "plain http to a name");
	bad("[secrets]\nvault_addr = http://0.0.0.0:8200\n", 2,
	    "[secrets] vault_addr", "loopback", "plain http to 0.0.0.0");
	bad("[secrets]\nvault_addr = http://127.0.0.1.evil.com\n", 2,
	    "[secrets] vault_addr", "loopback", "127.0.0.1.evil.com");
	bad("[secrets]\nvault_addr = ftp://v\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "ftp");
	bad("[secrets]\nvault_addr = vault:8200\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "no scheme");
	bad("[secrets]\nvault_addr = https://v/x\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "a path");
	bad("[secrets]\nvault_addr = https://u@v\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "userinfo");
	bad("[secrets]\nvault_addr = http://127.0.0.1@evil.com\n", 2,
	    "[secrets] vault_addr", "not a Vault address",
	    "userinfo that looks like loopback");
	bad("[secrets]\nvault_addr = https://v:0\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "port 0");
	bad("[secrets]\nvault_addr = https://v:65536\n", 2,
	    "[secrets] vault_addr", "not a Vault address", "port 65536");
	bad("[secrets]\nvault_addr = https://\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "no host");
	bad("[secrets]\nvault_addr = https://[::1\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "open bracket");
	bad("[secrets]\nvault_addr = https://[zz]:1\n", 2,
	    "[secrets] vault_addr", "not a Vault address", "bad IPv6");
	bad("[secrets]\nvault_addr = https://v?x\n", 2, "[secrets] vault_addr",
	    "not a Vault address", "a query");
	bad("[secrets]\ncache_ttl = 86401\n", 2, "[secrets] cache_ttl",
	    "out of range", "cache_ttl too large");
	bad("[secrets]\ncache_ttl = -1\n", 2, "[secrets] cache_ttl",
	    "not a decimal number", "cache_ttl negative");
	bad("[secrets]\nvault_mount = a/b\n", 2, "[secrets] vault_mount",
	    "not a valid id", "vault_mount with '/'");
	bad("[secrets]\ndir =\n", 2, "[secrets] dir", "empty value",
	    "empty dir");
}

static void
test_misc(void)
{
	struct sn_config *cfg;

	config_free(NULL);
	ok(1, "config_free(NULL) is a no-op");
	ok(config_workspace(NULL, "x") == NULL, "config_workspace(NULL cfg)");
	if ((cfg = good(BASE, "base config")) != NULL) {
		ok(config_workspace(cfg, NULL) == NULL,
		    "config_workspace(cfg, NULL)");
		config_free(cfg);
	} else
		skip(1, "base did not parse");
}

int
main(void)
{
	test_full();
	test_defaults();
	test_syntax();
	test_bools();
	test_uints();
	test_ids();
	test_uid_lists();
	test_errors_structure();
	test_errors_values();
	test_messages();
	test_many_sections();
	test_sizes();
	test_rates();
	test_workspace_policy();
	test_roles();
	test_chaos();
	test_load();
	test_demo();
	test_api();
	test_secrets();
	test_misc();
	return done_testing();
}
