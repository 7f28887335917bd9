/*
 * test_policy.c - policy decisions (src/core/policy.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/policy.h"
#include "tap.h"

#define DEV    (PERM_READ_FILE | PERM_EDIT_FILE | PERM_EXEC | PERM_LOCK | PERM_LLM)
#define READER PERM_READ_FILE
#define AUDIT  PERM_READ_LOGS

#define BASE \
	"[view \"v\"]\nworkspace = w\nagent = a\nmountpoint = /m\n" \
	"[workspace \"w\"]\n"

/* A config from text (aborts on a parse error: tests only). */
static struct sn_config *
cfg_of(const char *text)
{
	struct sn_config *cfg = NULL;
	char err[512];

	if (config_parse(text, strlen(text), "t.conf", &cfg, err,
	        sizeof(err)) != 0) {
		diag("config: %s", err);
		abort();
	}
	return cfg;
}

/* The policy of workspace "w" in text (aborts on error). */
static struct policy *
pol_of(const char *text, struct sn_config **cfgp)
{
	struct sn_config *cfg = cfg_of(text);
	struct policy *p = NULL;
	char err[512];

	if (policy_new(cfg, config_workspace(cfg, "w"), &p, err, sizeof(err)) !=
	    0) {
		diag("policy: %s", err);
		abort();
	}
	if (cfgp != NULL)
		*cfgp = cfg;
	else
		config_free(cfg);
	return p;
}

/*
 * What each op is, written out here independently of policy.c's table:
 * does it change something, read content, and its errno under deny.
 */
static const struct {
	enum policy_op op;
	const char *name;
	int change, content, deny;
} T[] = {
	{ POLICY_OP_LOOKUP, "lookup", 0, 0, ENOENT },
	{ POLICY_OP_STAT, "stat", 0, 0, ENOENT },
	{ POLICY_OP_READDIR_ENTRY, "readdir_entry", 0, 1, ENOENT },
	{ POLICY_OP_LIST, "list", 0, 1, ENOENT },
	{ POLICY_OP_OPEN_READ, "open_read", 0, 1, ENOENT },
	{ POLICY_OP_OPEN_WRITE, "open_write", 1, 1, ENOENT },
	{ POLICY_OP_READLINK, "readlink", 0, 0, ENOENT },
	{ POLICY_OP_GETXATTR, "getxattr", 0, 1, ENOENT },
	{ POLICY_OP_LISTXATTR, "listxattr", 0, 1, ENOENT },
	{ POLICY_OP_CREATE, "create", 1, 1, EACCES },
	{ POLICY_OP_MKDIR, "mkdir", 1, 0, EACCES },
	{ POLICY_OP_MKNOD, "mknod", 1, 0, EACCES },
	{ POLICY_OP_SYMLINK, "symlink", 1, 0, EACCES },
	{ POLICY_OP_LINK_TO, "link_to", 1, 0, EACCES },
	{ POLICY_OP_LINK_FROM, "link_from", 1, 0, EACCES },
	{ POLICY_OP_UNLINK, "unlink", 1, 0, ENOENT },
	{ POLICY_OP_RMDIR, "rmdir", 1, 0, ENOENT },
	{ POLICY_OP_RENAME_FROM, "rename_from", 1, 0, EACCES },
	{ POLICY_OP_RENAME_TO, "rename_to", 1, 0, EACCES },
	{ POLICY_OP_SETATTR, "setattr", 1, 0, ENOENT },
	{ POLICY_OP_TRUNCATE, "truncate", 1, 0, ENOENT },
	{ POLICY_OP_WRITE, "write", 1, 0, ENOENT },
	{ POLICY_OP_SETXATTR, "setxattr", 1, 0, ENOENT },
	{ POLICY_OP_REMOVEXATTR, "removexattr", 1, 0, ENOENT },
};
#define NT (sizeof(T) / sizeof(T[0]))

static void
test_ops_table(void)
{
	size_t i;

	is_int(NT, POLICY_OP_COUNT_, "every op is in the test's table");
	for (i = 0; i < NT; i++) {
		is_str(policy_op_name(T[i].op), T[i].name, "op name %s",
		    T[i].name);
		is_int(policy_op_changes(T[i].op), T[i].change,
		    "%s %s something", T[i].name,
		    T[i].change ? "changes" : "does not change");
	}
	is_str(policy_op_name(POLICY_OP_COUNT_), "?", "op name out of range");
	is_int(policy_op_changes(POLICY_OP_COUNT_), 0, "bad op: no change");
}

/* Every op x path kind x role, against the documented errno table. */
static void
test_matrix(void)
{
	static const struct {
		const char *path;
		const char *deny, *ro; /* the rule that covers it, or NULL */
	} paths[] = {
		{ "", NULL, NULL },
		{ "src/main.c", NULL, NULL },
		{ "key.pem", "deny:*.pem", NULL },
		{ "src/deep/x.pem", "deny:*.pem", NULL },
		{ "secrets", "deny:secrets/**", NULL },
		{ "secrets/a/b", "deny:secrets/**", NULL },
		{ ".git", NULL, "readonly:.git/**" },
		{ ".git/config", NULL, "readonly:.git/**" },
		{ "Makefile", NULL, "readonly:/Makefile" },
		{ "sub/Makefile", NULL, NULL },
		{ ".git/k.pem", "deny:*.pem", "readonly:.git/**" },
	};
	static const struct {
		const char *name;
		unsigned perms;
	} roles[] = {
		{ "Dev", DEV },
		{ "Reader", READER },
		{ "Audit", AUDIT },
		{ "none", 0 },
		{ "edit only", PERM_EDIT_FILE },
		{ "all", PERM_ALL_ },
	};
	struct policy *p;
	struct policy_path pp;
	const char *rule, *wrule;
	size_t i, j, k;
	int got, want, bad = 0, checked = 0;

	p = pol_of(BASE "deny = *.pem, secrets/**\n"
	                "readonly = .git/**, /Makefile\n",
	    NULL);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		policy_classify(p, paths[i].path, &pp);
		ok(pp.deny == (paths[i].deny != NULL) &&
		        pp.readonly == (paths[i].ro != NULL),
		    "classify \"%s\"", paths[i].path);
		is_str(pp.deny_rule, paths[i].deny,
		    "classify \"%s\": deny rule", paths[i].path);
		is_str(pp.ro_rule, paths[i].ro, "classify \"%s\": ro rule",
		    paths[i].path);
		for (j = 0; j < NT; j++) {
			for (k = 0; k < sizeof(roles) / sizeof(roles[0]); k++) {
				if (paths[i].deny != NULL) {
					want = -T[j].deny;
					wrule = paths[i].deny;
				} else if (paths[i].ro != NULL && T[j].change) {
					want = -EROFS;
					wrule = paths[i].ro;
				} else if (T[j].change &&
				    !(roles[k].perms & PERM_EDIT_FILE)) {
					want = -EROFS;
					wrule = "role lacks edit_file";
				} else if (T[j].content &&
				    !(roles[k].perms & PERM_READ_FILE)) {
					want = -EACCES;
					wrule = "role lacks read_file";
				} else {
					want = 0;
					wrule = NULL;
				}
				rule = "untouched";
				got = policy_check(p, roles[k].perms, T[j].op,
				    paths[i].path, &rule);
				checked++;
				if (got == want &&
				    (rule == wrule ||
				        (rule != NULL && wrule != NULL &&
				            strcmp(rule, wrule) == 0)))
					continue;
				if (bad++ < 10)
					diag("%s %s \"%s\": got %d (%s), want "
					     "%d (%s)",
					    roles[k].name, T[j].name,
					    paths[i].path, got,
					    rule ? rule : "NULL", want,
					    wrule ? wrule : "NULL");
			}
		}
	}
	is_int(bad, 0, "%d decisions (op x path x role) as documented",
	    checked);
	policy_free(p);
}

/* The same rules, spelled out: the cases a reader will look for. */
static void
test_spot_checks(void)
{
	struct policy *p;
	const char *rule;

	p = pol_of(BASE "deny = *.pem, .env, secrets/**\n"
	                "readonly = .git/**\ndeny = .git/hooks\n",
	    NULL);

#define CHECK(perms, op, path, want, wrule, desc) \
	do { \
		rule = "untouched"; \
		is_int(policy_check(p, perms, op, path, &rule), want, desc); \
		is_str(rule, wrule, desc ": rule"); \
	} while (0)

	CHECK(DEV, POLICY_OP_LOOKUP, "a/id.pem", -ENOENT, "deny:*.pem",
	    "lookup of a denied file: ENOENT");
	CHECK(DEV, POLICY_OP_READDIR_ENTRY, ".env", -ENOENT, "deny:.env",
	    "denied entry left out of readdir");
	CHECK(DEV, POLICY_OP_CREATE, "new.pem", -EACCES, "deny:*.pem",
	    "create of a denied name: EACCES (files made after start)");
	CHECK(DEV, POLICY_OP_MKDIR, "secrets", -EACCES, "deny:secrets/**",
	    "mkdir of a denied name: EACCES");
	CHECK(DEV, POLICY_OP_RENAME_TO, "x/.env", -EACCES, "deny:.env",
	    "rename onto a denied name: EACCES");
	CHECK(DEV, POLICY_OP_LINK_TO, "k.pem", -EACCES, "deny:*.pem",
	    "hard link onto a denied name: EACCES");
	CHECK(DEV, POLICY_OP_LINK_FROM, "secrets/k", -EACCES, "deny:secrets/**",
	    "hard link from a denied file: EACCES");
	CHECK(DEV, POLICY_OP_OPEN_READ, "secrets/sub/file", -ENOENT,
	    "deny:secrets/**", "a denied directory covers its subtree");
	CHECK(DEV, POLICY_OP_OPEN_WRITE, ".git/config", -EROFS,
	    "readonly:.git/**", "write-open under .git: EROFS");
	CHECK(DEV, POLICY_OP_OPEN_READ, ".git/config", 0, NULL,
	    "read-open under .git: allowed");
	CHECK(DEV, POLICY_OP_UNLINK, ".git/index", -EROFS, "readonly:.git/**",
	    "unlink under .git: EROFS");
	CHECK(DEV, POLICY_OP_RENAME_FROM, ".git", -EROFS, "readonly:.git/**",
	    "rename of .git itself: EROFS");
	CHECK(DEV, POLICY_OP_SETATTR, ".git/HEAD", -EROFS, "readonly:.git/**",
	    "chmod under .git: EROFS");
	CHECK(DEV, POLICY_OP_SETXATTR, ".git/HEAD", -EROFS, "readonly:.git/**",
	    "setxattr under .git: EROFS");
	CHECK(DEV, POLICY_OP_GETXATTR, ".git/HEAD", 0, NULL,
	    "getxattr under .git: allowed");
	CHECK(DEV, POLICY_OP_STAT, ".git/hooks/pre-commit", -ENOENT,
	    "deny:.git/hooks", "deny wins over readonly");
	CHECK(DEV, POLICY_OP_WRITE, ".git/hooks/x", -ENOENT, "deny:.git/hooks",
	    "deny wins over readonly for a change too");
	CHECK(READER, POLICY_OP_OPEN_WRITE, "src/a.c", -EROFS,
	    "role lacks edit_file", "Reader: write-open EROFS");
	CHECK(READER, POLICY_OP_MKDIR, "d", -EROFS, "role lacks edit_file",
	    "Reader: mkdir EROFS");
	CHECK(READER, POLICY_OP_OPEN_READ, "src/a.c", 0, NULL,
	    "Reader: read-open allowed");
	CHECK(READER, POLICY_OP_LOOKUP, "key.pem", -ENOENT, "deny:*.pem",
	    "Reader: deny still hides");
	CHECK(AUDIT, POLICY_OP_LOOKUP, "src/a.c", 0, NULL,
	    "Audit: lookup allowed (tree navigable)");
	CHECK(AUDIT, POLICY_OP_STAT, "src/a.c", 0, NULL, "Audit: stat allowed");
	CHECK(AUDIT, POLICY_OP_READLINK, "link", 0, NULL,
	    "Audit: readlink allowed");
	CHECK(AUDIT, POLICY_OP_OPEN_READ, "src/a.c", -EACCES,
	    "role lacks read_file", "Audit: read-open EACCES");
	CHECK(AUDIT, POLICY_OP_LIST, "", -EACCES, "role lacks read_file",
	    "Audit: listing the root EACCES");
	CHECK(AUDIT, POLICY_OP_GETXATTR, "src/a.c", -EACCES,
	    "role lacks read_file", "Audit: getxattr EACCES");
	CHECK(AUDIT, POLICY_OP_OPEN_WRITE, "src/a.c", -EROFS,
	    "role lacks edit_file", "Audit: write-open EROFS (edit first)");
	CHECK(PERM_EDIT_FILE, POLICY_OP_OPEN_WRITE, "a", -EACCES,
	    "role lacks read_file", "edit without read: opens EACCES");
	CHECK(PERM_EDIT_FILE, POLICY_OP_UNLINK, "a", 0, NULL,
	    "edit without read: unlink allowed");
	CHECK(DEV, POLICY_OP_LIST, "", 0, NULL, "the root is never denied");
	CHECK(DEV, POLICY_OP_COUNT_, "a", -EINVAL, NULL, "unknown op");
	CHECK(DEV, POLICY_OP_LOOKUP, NULL, -EINVAL, NULL, "NULL path");
#undef CHECK
	is_int(policy_check(p, DEV, POLICY_OP_LOOKUP, "a.pem", NULL), -ENOENT,
	    "rule pointer may be NULL");
	policy_free(p);

	/* The first matching rule is the one named. */
	p = pol_of(BASE "deny = a, a/**, *\n", NULL);
	policy_check(p, DEV, POLICY_OP_STAT, "a/b", &rule);
	is_str(rule, "deny:a", "first matching deny rule named");
	policy_check(p, DEV, POLICY_OP_STAT, "b", &rule);
	is_str(rule, "deny:*", "later rule when the first does not match");
	policy_free(p);
}

static void
test_empty_policy(void)
{
	struct policy *p = (struct policy *)(uintptr_t)1;
	struct policy_path pp;
	const char *rule;
	char err[256];
	size_t j;
	int bad = 0;

	ok(policy_new(NULL, NULL, &p, err, sizeof(err)) == 0 && p != NULL,
	    "policy_new(NULL, NULL): the empty policy");
	for (j = 0; j < NT; j++) {
		if (policy_check(p, DEV, T[j].op, "any/path.pem", &rule) != 0 ||
		    rule != NULL)
			bad++;
	}
	is_int(bad, 0, "empty policy: Dev may do every op");
	is_int(policy_check(p, READER, POLICY_OP_TRUNCATE, "f", &rule), -EROFS,
	    "empty policy: the role still applies");
	policy_classify(p, "x.pem", &pp);
	ok(!pp.deny && !pp.readonly && pp.deny_rule == NULL &&
	        pp.ro_rule == NULL,
	    "empty policy: nothing covered");
	is_int(policy_symlink_target_ok(p, "l", "/etc", &rule), -EPERM,
	    "empty policy: symlinks inside");
	is_int(policy_size_ok(p, UINT64_MAX, &rule), 0, "no size limit");
	is_int(policy_quota_ok(p, UINT64_MAX, INT64_MAX, &rule), 0, "no quota");
	is_int(policy_chaos_enabled(p), 0, "no chaos");
	policy_free(p);

	/* A NULL policy behaves as the empty one. */
	is_int(policy_check(NULL, DEV, POLICY_OP_CREATE, "a.pem", &rule), 0,
	    "NULL policy: no rules");
	is_int(policy_check(NULL, READER, POLICY_OP_CREATE, "a", &rule), -EROFS,
	    "NULL policy: roles apply");
	policy_classify(NULL, "a", &pp);
	ok(!pp.deny && !pp.readonly, "NULL policy: classify");
	policy_classify(NULL, "a", NULL);
	is_int(policy_symlink_target_ok(NULL, "l", "..", &rule), -EPERM,
	    "NULL policy: symlinks inside");
	is_int(policy_size_ok(NULL, 1, NULL), 0, "NULL policy: size");
	is_int(policy_quota_ok(NULL, 1, 1, NULL), 0, "NULL policy: quota");
	is_int(policy_chaos_enabled(NULL), 0, "NULL policy: no chaos");
	is_int(policy_chaos(NULL, "v", POLICY_OP_WRITE, "a", 1, &rule), 0,
	    "NULL policy: chaos 0");
	policy_free(NULL);
	ok(1, "policy_free(NULL)");
	ok(policy_new(NULL, NULL, NULL, err, sizeof(err)) == SN_EINVAL,
	    "NULL out");
}

static void
test_new_errors(void)
{
	struct sn_cfg_workspace ws;
	char *deny[] = { "ok", "a/../b" };
	char *ro[] = { "[x" };
	struct policy *p = (struct policy *)(uintptr_t)1;
	char err[256];

	/* Config validates patterns; a workspace made by hand may not. */
	memset(&ws, 0, sizeof(ws));
	ws.deny.v = deny;
	ws.deny.n = 2;
	is_int(policy_new(NULL, &ws, &p, err, sizeof(err)), SN_ECONFIG,
	    "bad deny pattern: SN_ECONFIG");
	ok(p == NULL, "... *out NULL");
	has_str(err, "deny pattern \"a/../b\": '.' and '..'", "... message");
	memset(&ws, 0, sizeof(ws));
	ws.readonly.v = ro;
	ws.readonly.n = 1;
	is_int(policy_new(NULL, &ws, &p, NULL, 0), SN_ECONFIG,
	    "bad readonly pattern, no err buffer");
	ok(p == NULL, "... *out NULL");
}

static void
test_rename(void)
{
	struct policy *p;
	const char *rule;

	p = pol_of(BASE "deny = *.pem, secrets/id_rsa, **/private/*.key\n"
	                "readonly = config/prod/**, .git\n",
	    NULL);
#define REN(perms, from, to, dir, want, wrule, desc) \
	do { \
		rule = "untouched"; \
		is_int(policy_rename_ok(p, perms, from, to, dir, &rule), want, \
		    desc); \
		is_str(rule, wrule, desc ": rule"); \
	} while (0)

	REN(DEV, "a", "b", 1, 0, NULL, "plain directory rename");
	REN(DEV, "a.txt", "b.txt", 0, 0, NULL, "plain file rename");
	REN(DEV, "a/k.pem", "a/k.txt", 0, -EACCES, "deny:*.pem",
	    "rename from a denied name");
	REN(DEV, "a/k.txt", "a/k.pem", 0, -EACCES, "deny:*.pem",
	    "rename onto a denied name");
	REN(DEV, "a", "b", 1, 0, NULL,
	    "basename rules do not stop directory renames");
	REN(DEV, "secrets", "s2", 1, -EACCES, "deny:secrets/id_rsa",
	    "directory rename that would uncover a denied file");
	REN(DEV, "secrets", "s2", 0, 0, NULL,
	    "the same names as a file: nothing below it");
	REN(DEV, "x/private", "x/public", 1, -EACCES, "deny:**/private/*.key",
	    "**/private: rename of a private directory");
	REN(DEV, "x/private", "y/private", 1, 0, NULL,
	    "**/private: moved, still private");
	REN(DEV, "config", "cfg", 1, -EROFS, "readonly:config/prod/**",
	    "directory rename that would free a readonly tree");
	REN(DEV, "config/dev", "config/dev2", 1, 0, NULL,
	    "rename beside a readonly tree");
	REN(DEV, "config/prod", "p", 1, -EROFS, "readonly:config/prod/**",
	    "rename of the readonly directory itself");
	REN(DEV, "tmp", "config/prod", 1, -EROFS, "readonly:config/prod/**",
	    "rename onto a readonly name");
	REN(READER, "a", "b", 1, -EROFS, "role lacks edit_file",
	    "Reader may not rename");
#undef REN
	policy_free(p);
	is_int(policy_rename_ok(NULL, DEV, "a", "b", 1, NULL), 0,
	    "NULL policy, NULL rule");
}

static void
test_symlinks(void)
{
	static const struct {
		const char *link, *target;
		int want;
	} c[] = {
		{ "l", "a", 0 },
		{ "l", "a/b/c", 0 },
		{ "l", ".", 0 },
		{ "l", "./x", 0 },
		{ "l", "..", -EPERM },
		{ "l", "../x", -EPERM },
		{ "l", "a/../..", -EPERM },
		{ "l", "a/../b", 0 },
		{ "l", "a/..", 0 },
		{ "d/l", "..", 0 },
		{ "d/l", "../x", 0 },
		{ "d/l", "../..", -EPERM },
		{ "d/l", "../../x", -EPERM },
		{ "a/b/c/l", "../../../x", 0 },
		{ "a/b/c/l", "../../../../x", -EPERM },
		{ "a/b/c/l", "../x/../../y/../../z", 0 },
		{ "a/b/c/l", "../x/../../y/../../../z", -EPERM },
		{ "a/b/l", "x//y///..//../..", 0 },
		{ "a/b/l", "x//y///..//../../../..", -EPERM },
		{ "l", "/etc/passwd", -EPERM },
		{ "l", "/", -EPERM },
		{ "d/l", "//x", -EPERM },
		/* denied: the view applies it */
		{ "l", "k.pem", 0 },
		{ "l", "secrets/x", 0 },
		{ "l", "", -ENOENT },
		{ "l", "...", 0 },
		{ "l", "..x", 0 },
	};
	struct policy *p, *any;
	const char *rule;
	size_t i;

	p = pol_of(BASE "deny = *.pem, secrets\n", NULL);
	any = pol_of(BASE "symlinks = any\n", NULL);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		rule = "untouched";
		is_int(policy_symlink_target_ok(p, c[i].link, c[i].target,
		           &rule),
		    c[i].want, "inside: %s -> \"%s\"", c[i].link, c[i].target);
		is_str(rule, c[i].want == -EPERM ? "symlinks:inside" : NULL,
		    "... rule");
		is_int(policy_symlink_target_ok(any, c[i].link, c[i].target,
		           &rule),
		    *c[i].target == '\0' ? -ENOENT : 0, "any: %s -> \"%s\"",
		    c[i].link, c[i].target);
	}
	is_int(policy_symlink_target_ok(p, NULL, "a", &rule), -EINVAL,
	    "NULL link path");
	is_int(policy_symlink_target_ok(p, "l", NULL, NULL), -EINVAL,
	    "NULL target");
	policy_free(p);
	policy_free(any);
}

static void
test_sizes(void)
{
	struct policy *p;
	const char *rule;

	p = pol_of(BASE "max_file_size = 10M\nquota = 1000\n", NULL);
	is_int(policy_size_ok(p, 0, &rule), 0, "size 0");
	is_int(policy_size_ok(p, 10 << 20, &rule), 0, "size = max");
	ok(rule == NULL, "... no rule");
	is_int(policy_size_ok(p, (10 << 20) + 1, &rule), -EFBIG,
	    "size = max + 1: EFBIG");
	is_str(rule, "max_file_size:10485760", "... rule");
	is_int(policy_size_ok(p, UINT64_MAX, NULL), -EFBIG, "huge: EFBIG");

	is_int(policy_quota_ok(p, 900, 100, &rule), 0, "to the quota");
	ok(rule == NULL, "... no rule");
	is_int(policy_quota_ok(p, 900, 101, &rule), -EDQUOT,
	    "one byte over: EDQUOT");
	is_str(rule, "quota:1000", "... rule");
	is_int(policy_quota_ok(p, 0, 1001, NULL), -EDQUOT, "one write over");
	is_int(policy_quota_ok(p, 2000, -5, &rule), 0,
	    "freeing while over the quota: allowed");
	is_int(policy_quota_ok(p, 2000, 0, &rule), 0, "delta 0 over quota");
	is_int(policy_quota_ok(p, 2000, INT64_MIN, &rule), 0, "INT64_MIN");
	is_int(policy_quota_ok(p, UINT64_MAX, 1, &rule), -EDQUOT,
	    "overflowing sum: EDQUOT");
	is_int(policy_quota_ok(p, 1, INT64_MAX, &rule), -EDQUOT,
	    "INT64_MAX delta: EDQUOT");
	policy_free(p);

	p = pol_of(BASE "max_file_size = 16777215T\nquota = 0\n", NULL);
	is_int(policy_size_ok(p, 16777215ULL << 40, NULL), 0, "huge limit");
	is_int(policy_size_ok(p, (16777215ULL << 40) + 1, NULL), -EFBIG,
	    "huge limit + 1");
	is_int(policy_quota_ok(p, UINT64_MAX, INT64_MAX, NULL), 0,
	    "quota 0: unlimited");
	policy_free(p);
}

/* ---- chaos ------------------------------------------------------------- */

#define NDEC 100000

/* Decisions for a fixed sequence of NDEC changing ops; counts by errno. */
static void
chaos_run(const struct policy *p, int *res, int *n_to, int *n_nospc)
{
	static const enum policy_op ch[] = { POLICY_OP_WRITE, POLICY_OP_CREATE,
		POLICY_OP_UNLINK, POLICY_OP_OPEN_WRITE, POLICY_OP_RENAME_TO,
		POLICY_OP_SETATTR };
	const char *what;
	char path[64];
	int i, r;

	*n_to = *n_nospc = 0;
	for (i = 0; i < NDEC; i++) {
		snprintf(path, sizeof(path), "dir%d/file%d.c", i % 97,
		    i % 1009);
		what = "untouched";
		r = policy_chaos(p, "view-1", ch[i % 6], path, (uint64_t)i,
		    &what);
		if (res != NULL)
			res[i] = r;
		if (r == -ETIMEDOUT && strcmp(what, "chaos:timeout") == 0)
			(*n_to)++;
		else if (r == -ENOSPC && strcmp(what, "chaos:disk_full") == 0)
			(*n_nospc)++;
		else if (r != 0 || what != NULL)
			(*n_to) = -1000000; /* a wrong result or what */
	}
}

static struct policy *
chaos_pol(const char *body)
{
	char *text;
	size_t n = strlen(BASE) + strlen(body) + 1;
	struct policy *p;

	if ((text = malloc(n)) == NULL)
		abort();
	snprintf(text, n, "%s%s", BASE, body);
	p = pol_of(text, NULL);
	free(text);
	return p;
}

static void
test_chaos_rates(void)
{
	static const struct {
		const char *rate;
		double want;
	} c[] = {
		{ "0.01", 0.01 },
		{ "0.1", 0.1 },
		{ "0.25", 0.25 },
		{ "0.5", 0.5 },
		{ "0.9", 0.9 },
		{ "1", 1.0 },
	};
	struct policy *p;
	char body[128];
	double frac, half;
	size_t i;
	int to, nospc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(body, sizeof(body), "[chaos]\nrate = %s\nseed = 7\n",
		    c[i].rate);
		p = chaos_pol(body);
		ok(policy_chaos_enabled(p) == POLICY_CHAOS_FS,
		    "rate %s: enabled, fs scope", c[i].rate);
		chaos_run(p, NULL, &to, &nospc);
		frac = (double)(to + nospc) / NDEC;
		ok(to >= 0 && frac >= c[i].want - 0.01 &&
		        frac <= c[i].want + 0.01,
		    "rate %s: %.4f of %d changes fail (within 0.01)", c[i].rate,
		    frac, NDEC);
		half = to + nospc > 0 ? (double)to / (to + nospc) : 0.5;
		ok(half > 0.45 && half < 0.55,
		    "rate %s: timeout %d, disk_full %d: an even split",
		    c[i].rate, to, nospc);
		policy_free(p);
	}
}

static void
test_chaos(void)
{
	static const enum policy_op reads[] = { POLICY_OP_LOOKUP,
		POLICY_OP_STAT, POLICY_OP_OPEN_READ, POLICY_OP_LIST,
		POLICY_OP_READDIR_ENTRY, POLICY_OP_GETXATTR,
		POLICY_OP_LISTXATTR, POLICY_OP_READLINK };
	struct policy *p, *q;
	int *r1, *r2, to, nospc, i, diff, bad;
	const char *what;
	size_t j;

	if ((r1 = calloc(NDEC, sizeof(*r1))) == NULL ||
	    (r2 = calloc(NDEC, sizeof(*r2))) == NULL)
		abort();

	/* Rate 0 (the default, and written out) never fires. */
	p = chaos_pol("");
	is_int(policy_chaos_enabled(p), 0, "no [chaos]: disabled");
	chaos_run(p, NULL, &to, &nospc);
	ok(to == 0 && nospc == 0, "no [chaos]: %d decisions, none fail", NDEC);
	policy_free(p);
	p = chaos_pol("[chaos]\nrate = 0\nseed = 1\nscope = fs, api\n");
	is_int(policy_chaos_enabled(p), 0, "rate = 0: disabled");
	chaos_run(p, NULL, &to, &nospc);
	ok(to == 0 && nospc == 0, "rate = 0: none fail");
	is_int(policy_chaos_api(p, "a", "edit_file", 1, &what), 0,
	    "rate = 0: no API fault");
	policy_free(p);

	/* Deterministic: same seed, same sequence, same faults. */
	p = chaos_pol("[chaos]\nrate = 0.1\nseed = 42\n");
	q = chaos_pol("[chaos]\nrate = 0.1\nseed = 42\n");
	chaos_run(p, r1, &to, &nospc);
	chaos_run(q, r2, &to, &nospc);
	ok(memcmp(r1, r2, NDEC * sizeof(*r1)) == 0,
	    "same seed: the same faults in two policies");
	chaos_run(p, r2, &to, &nospc);
	ok(memcmp(r1, r2, NDEC * sizeof(*r1)) == 0,
	    "same seed: the same faults when run again");
	policy_free(q);
	q = chaos_pol("[chaos]\nrate = 0.1\nseed = 43\n");
	chaos_run(q, r2, &to, &nospc);
	for (i = diff = 0; i < NDEC; i++)
		diff += (r1[i] != 0) != (r2[i] != 0);
	ok(diff > NDEC / 10, "another seed: other faults (%d differ)", diff);
	policy_free(q);

	/* Each input counts: view, op, path, counter. */
	bad = 0;
	for (i = diff = 0; i < 10000; i++) {
		if ((policy_chaos(p, "view-1", POLICY_OP_WRITE, "f",
		         (uint64_t)i, NULL) != 0) !=
		    (policy_chaos(p, "view-2", POLICY_OP_WRITE, "f",
		         (uint64_t)i, NULL) != 0))
			diff++;
		if (policy_chaos(p, "view-1", POLICY_OP_WRITE, "f", (uint64_t)i,
		        NULL) !=
		    policy_chaos(p, "view-1", POLICY_OP_WRITE, "f", (uint64_t)i,
		        NULL))
			bad++;
	}
	ok(diff > 1000, "the view is an input (%d of 10000 differ)", diff);
	is_int(bad, 0, "the same input, the same decision");
	for (i = diff = 0; i < 10000; i++)
		diff += (policy_chaos(p, "v", POLICY_OP_WRITE, "f", (uint64_t)i,
		             NULL) != 0) !=
		    (policy_chaos(p, "v", POLICY_OP_UNLINK, "f", (uint64_t)i,
		         NULL) != 0);
	ok(diff > 1000, "the op is an input (%d differ)", diff);
	for (i = diff = 0; i < 10000; i++)
		diff += (policy_chaos(p, "v", POLICY_OP_WRITE, "ab/c",
		             (uint64_t)i, NULL) != 0) !=
		    (policy_chaos(p, "v", POLICY_OP_WRITE, "a/bc", (uint64_t)i,
		         NULL) != 0);
	ok(diff > 1000, "the path is an input (%d differ)", diff);
	for (i = diff = 0; i < 10000; i++)
		diff += (policy_chaos(p, "ab", POLICY_OP_WRITE, "c",
		             (uint64_t)i, NULL) != 0) !=
		    (policy_chaos(p, "a", POLICY_OP_WRITE, "bc", (uint64_t)i,
		         NULL) != 0);
	ok(diff > 1000, "view and path do not run together (%d differ)", diff);
	policy_free(p);

	/* Reads never fail, even at rate 1. */
	p = chaos_pol("[chaos]\nrate = 1\n");
	bad = 0;
	for (j = 0; j < sizeof(reads) / sizeof(reads[0]); j++) {
		for (i = 0; i < 1000; i++)
			bad += policy_chaos(p, "v", reads[j], "f", (uint64_t)i,
			           &what) != 0 ||
			    what != NULL;
	}
	is_int(bad, 0, "rate 1: reads never fail");
	is_int(policy_chaos(p, "v", POLICY_OP_COUNT_, "f", 1, &what), 0,
	    "unknown op: no fault");
	is_int(policy_chaos(p, NULL, POLICY_OP_WRITE, NULL, 1, &what) != 0, 1,
	    "NULL view and path are fine");
	is_int(policy_chaos_api(p, "a", "edit_file", 1, &what), 0,
	    "scope fs: no API fault");
	policy_free(p);

	/* One configured error, scopes. */
	p = chaos_pol("[chaos]\nrate = 0.5\nerrors = timeout\n");
	chaos_run(p, NULL, &to, &nospc);
	ok(to > 40000 && nospc == 0, "errors = timeout: only ETIMEDOUT (%d)",
	    to);
	policy_free(p);
	p = chaos_pol("[chaos]\nrate = 0.5\nerrors = disk_full\n");
	chaos_run(p, NULL, &to, &nospc);
	ok(to == 0 && nospc > 40000, "errors = disk_full: only ENOSPC (%d)",
	    nospc);
	policy_free(p);
	p = chaos_pol("[chaos]\nrate = 0.3\nscope = api\n");
	is_int(policy_chaos_enabled(p), POLICY_CHAOS_API, "scope api");
	chaos_run(p, NULL, &to, &nospc);
	ok(to == 0 && nospc == 0, "scope api: no fs faults");
	for (i = to = 0; i < NDEC; i++)
		to += policy_chaos_api(p, "agent", "edit_file", (uint64_t)i,
		          &what) != 0;
	ok(to > NDEC * 29 / 100 && to < NDEC * 31 / 100,
	    "scope api: %d of %d calls fail", to, NDEC);
	policy_free(p);
	p = chaos_pol("[chaos]\nrate = 0.3\nscope = api, fs\n");
	is_int(policy_chaos_enabled(p), POLICY_CHAOS_API | POLICY_CHAOS_FS,
	    "scope api, fs");
	policy_free(p);
	p = chaos_pol("[chaos]\nrate = 0.000000000000001\n");
	ok(policy_chaos_enabled(p) != 0, "a tiny rate is still on");
	policy_free(p);

	free(r1);
	free(r2);
}

/* ---- roles, names, paths ---------------------------------------------- */

static void
test_roles(void)
{
	struct sn_config *cfg;
	unsigned perms, bit;

	ok(policy_role_perms(NULL, "Dev", &perms) == 0 && perms == DEV,
	    "Dev: read_file edit_file exec lock llm");
	ok(policy_role_perms(NULL, "Reader", &perms) == 0 && perms == READER,
	    "Reader: read_file");
	ok(policy_role_perms(NULL, "Audit", &perms) == 0 && perms == AUDIT,
	    "Audit: read_logs");
	ok(policy_role_perms(NULL, "Admin", &perms) == 0 && perms == PERM_ADMIN,
	    "Admin: admin");
	perms = 99;
	ok(policy_role_perms(NULL, "Nobody", &perms) == -ENOENT && perms == 0,
	    "unknown role: -ENOENT, no permissions");
	ok(policy_role_perms(NULL, "dev", &perms) == -ENOENT,
	    "role names are case-sensitive");
	ok(policy_role_perms(NULL, NULL, &perms) == -ENOENT, "NULL role");
	ok(policy_role_builtin("Reader", NULL) == 0, "builtin, NULL perms");

	cfg = cfg_of("[role \"Dev\"]\npermissions = read_file\n"
	             "[role \"Ops\"]\npermissions = exec, llm\n");
	ok(policy_role_perms(cfg, "Dev", &perms) == 0 &&
	        perms == PERM_READ_FILE,
	    "a [role] replaces a built-in");
	ok(policy_role_perms(cfg, "Ops", &perms) == 0 &&
	        perms == (PERM_EXEC | PERM_LLM),
	    "a configured role");
	ok(policy_role_perms(cfg, "Reader", &perms) == 0 && perms == READER,
	    "built-ins still there");
	ok(policy_role_perms(cfg, "Nope", &perms) == -ENOENT, "unknown");
	config_free(cfg);

	ok(policy_perm_from_name("edit_file", 9, &bit) == 0 &&
	        bit == PERM_EDIT_FILE,
	    "perm edit_file");
	ok(policy_perm_from_name("llm,", 3, &bit) == 0 && bit == PERM_LLM,
	    "perm by length");
	ok(policy_perm_from_name("edit", 4, &bit) == -ENOENT && bit == 0,
	    "perm prefix is not a perm");
	ok(policy_perm_from_name(NULL, 0, &bit) == -ENOENT, "perm NULL");
	is_str(policy_perm_name(PERM_READ_LOGS), "read_logs", "perm name");
	ok(policy_perm_name(PERM_READ_FILE | PERM_EXEC) == NULL,
	    "perm name of two bits");
	ok(policy_perm_name(1u << 20) == NULL, "perm name of no bit");
}

static void
test_canon(void)
{
	static const struct {
		const char *in, *out;
		int rc;
	} c[] = {
		{ "", "", 0 },
		{ ".", "", 0 },
		{ "./", "", 0 },
		{ "a", "a", 0 },
		{ "a/b/c", "a/b/c", 0 },
		{ "a//b///c", "a/b/c", 0 },
		{ "a/./b/.", "a/b", 0 },
		{ "./a/", "a", 0 },
		{ "a/b/", "a/b", 0 },
		{ "...", "...", 0 },
		{ "..a/b..", "..a/b..", 0 },
		{ ".hidden/.x", ".hidden/.x", 0 },
		{ "caf\xc3\xa9/\xe2\x82\xac", "caf\xc3\xa9/\xe2\x82\xac", 0 },
		{ "a b/c\\d", "a b/c\\d", 0 },
		{ "/a", "", -EINVAL },
		{ "/", "", -EINVAL },
		{ "..", "", -EINVAL },
		{ "a/..", "", -EINVAL },
		{ "a/../b", "", -EINVAL },
		{ "../a", "", -EINVAL },
		{ "a/\xff", "", -EINVAL },
		{ "\xc0\xaf", "", -EINVAL },
		{ "\xed\xa0\x80", "", -EINVAL },
		{ "a\xc3", "", -EINVAL },
	};
	char out[64], *big, *in;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(out, 'x', sizeof(out));
		rc = policy_canon_path(c[i].in, out, sizeof(out));
		ok(rc == c[i].rc && strcmp(out, c[i].out) == 0,
		    "canon \"%s\" -> \"%s\" (%d)", c[i].in, c[i].out, c[i].rc);
	}
	ok(policy_canon_path(NULL, out, sizeof(out)) == -EINVAL &&
	        out[0] == '\0',
	    "canon NULL");
	ok(policy_canon_path("a", NULL, 10) == -EINVAL, "canon NULL out");
	ok(policy_canon_path("a", out, 0) == -EINVAL, "canon outlen 0");
	ok(policy_canon_path("abc", out, 4) == 0, "exactly fits");
	ok(policy_canon_path("abcd", out, 4) == -ENAMETOOLONG && out[0] == '\0',
	    "one byte short: -ENAMETOOLONG");
	ok(policy_canon_path("ab/cd", out, 5) == -ENAMETOOLONG,
	    "separator counts");

	if ((big = malloc(8192)) == NULL || (in = malloc(8192)) == NULL)
		abort();
	memset(in, 'n', 255);
	in[255] = '\0';
	ok(policy_canon_path(in, big, 8192) == 0, "255-byte name");
	memset(in, 'n', 256);
	in[256] = '\0';
	ok(policy_canon_path(in, big, 8192) == -ENAMETOOLONG,
	    "256-byte name: -ENAMETOOLONG");
	for (i = 0; i < 4095; i++)
		in[i] = i % 2 ? '/' : 'a';
	in[4095] = '\0';
	ok(policy_canon_path(in, big, 8192) == 0 && strlen(big) == 4095,
	    "4095-byte path");
	in[4095] = 'a';
	in[4096] = '/';
	in[4097] = 'a';
	in[4098] = '\0';
	ok(policy_canon_path(in, big, 8192) == -ENAMETOOLONG,
	    "4097-byte path: -ENAMETOOLONG");
	free(big);
	free(in);
}

int
main(void)
{
	test_ops_table();
	test_matrix();
	test_spot_checks();
	test_empty_policy();
	test_new_errors();
	test_rename();
	test_symlinks();
	test_sizes();
	test_chaos_rates();
	test_chaos();
	test_roles();
	test_canon();
	return done_testing();
}
