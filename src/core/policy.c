/*
 * policy.c - the decisions behind policy.h.
 *
 * Three tables hold everything a reviewer needs to see: ops[] (each
 * operation: its name, whether it changes something or reads content,
 * its errno under a deny rule), perms[] (permission names) and roles[]
 * (the built-in roles).  The rest is the order in which rules apply
 * (policy_check) and small arithmetic.
 *
 * Chaos decisions hash (view, op, path, counter) with SipHash-2-4 keyed
 * from the seed: a keyed PRF, so no choice of path or counter by an
 * agent can steer it without the seed, and its output bits are uniform,
 * which the rate needs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/policy.h"

#define NAME_MAXLEN 255  /* a path component, as NAME_MAX */
#define PATH_MAXLEN 4095 /* a path, as PATH_MAX - 1 */

#define OP_CHANGE  0x1 /* changes something: readonly and edit_file apply */
#define OP_CONTENT 0x2 /* reads or opens content: read_file applies */

/* The one table of operations. */
/* clang-format off */
static const struct {
	const char *name;
	unsigned flags;
	int deny; /* errno when a deny rule covers the path */
} ops[POLICY_OP_COUNT_] = {
	[POLICY_OP_LOOKUP] =        { "lookup", 0, ENOENT },
	[POLICY_OP_STAT] =          { "stat", 0, ENOENT },
	[POLICY_OP_READDIR_ENTRY] = { "readdir_entry", OP_CONTENT, ENOENT },
	[POLICY_OP_LIST] =          { "list", OP_CONTENT, ENOENT },
	[POLICY_OP_OPEN_READ] =     { "open_read", OP_CONTENT, ENOENT },
	[POLICY_OP_OPEN_WRITE] =    { "open_write", OP_CHANGE | OP_CONTENT,
	                              ENOENT },
	[POLICY_OP_READLINK] =      { "readlink", 0, ENOENT },
	[POLICY_OP_GETXATTR] =      { "getxattr", OP_CONTENT, ENOENT },
	[POLICY_OP_LISTXATTR] =     { "listxattr", OP_CONTENT, ENOENT },
	[POLICY_OP_CREATE] =        { "create", OP_CHANGE | OP_CONTENT, EACCES },
	[POLICY_OP_MKDIR] =         { "mkdir", OP_CHANGE, EACCES },
	[POLICY_OP_MKNOD] =         { "mknod", OP_CHANGE, EACCES },
	[POLICY_OP_SYMLINK] =       { "symlink", OP_CHANGE, EACCES },
	[POLICY_OP_LINK_TO] =       { "link_to", OP_CHANGE, EACCES },
	[POLICY_OP_LINK_FROM] =     { "link_from", OP_CHANGE, EACCES },
	[POLICY_OP_UNLINK] =        { "unlink", OP_CHANGE, ENOENT },
	[POLICY_OP_RMDIR] =         { "rmdir", OP_CHANGE, ENOENT },
	[POLICY_OP_RENAME_FROM] =   { "rename_from", OP_CHANGE, EACCES },
	[POLICY_OP_RENAME_TO] =     { "rename_to", OP_CHANGE, EACCES },
	[POLICY_OP_SETATTR] =       { "setattr", OP_CHANGE, ENOENT },
	[POLICY_OP_TRUNCATE] =      { "truncate", OP_CHANGE, ENOENT },
	[POLICY_OP_WRITE] =         { "write", OP_CHANGE, ENOENT },
	[POLICY_OP_SETXATTR] =      { "setxattr", OP_CHANGE, ENOENT },
	[POLICY_OP_REMOVEXATTR] =   { "removexattr", OP_CHANGE, ENOENT },
};
/* clang-format on */

/* The one table of permission names. */
static const struct {
	const char *name;
	unsigned bit;
} perms[] = {
	{ "read_file", PERM_READ_FILE },
	{ "edit_file", PERM_EDIT_FILE },
	{ "exec", PERM_EXEC },
	{ "lock", PERM_LOCK },
	{ "read_logs", PERM_READ_LOGS },
	{ "admin", PERM_ADMIN },
	{ "llm", PERM_LLM },
};

/* The built-in roles; a [role] of the same name replaces one. */
static const struct {
	const char *name;
	unsigned perms;
} roles[] = {
	{ "Dev",
	    PERM_READ_FILE | PERM_EDIT_FILE | PERM_EXEC | PERM_LOCK |
	        PERM_LLM },
	{ "Reader", PERM_READ_FILE },
	{ "Audit", PERM_READ_LOGS },
	{ "Admin", PERM_ADMIN },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char rule_symlinks[] = "symlinks:inside";
static const char rule_no_edit[] = "role lacks edit_file";
static const char rule_no_read[] = "role lacks read_file";
static const char what_timeout[] = "chaos:timeout";
static const char what_disk_full[] = "chaos:disk_full";

struct prule {
	struct glob *g;
	char *rule; /* "deny:PATTERN" or "readonly:PATTERN" */
};

struct policy {
	struct prule *deny;
	size_t ndeny;
	struct prule *ro;
	size_t nro;
	int symlinks_any;
	uint64_t max_file_size; /* 0: no limit */
	uint64_t quota;         /* 0: no limit */
	char size_rule[40];     /* "max_file_size:N" */
	char quota_rule[40];    /* "quota:N" */
	/* Chaos: fire when (hash >> 11) < threshold; 0 = off. */
	uint64_t threshold;
	uint64_t k0, k1; /* SipHash key, from the seed */
	unsigned errors; /* SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL */
	unsigned scope;  /* POLICY_CHAOS_FS | POLICY_CHAOS_API */
};

/* ---- building --------------------------------------------------------- */

static int
add_rules(const struct sn_strlist *l, const char *kind, struct prule **out,
    size_t *nout, char *err, size_t errlen)
{
	struct prule *v;
	char gerr[128];
	size_t i, n;
	int rc;

	if (l->n == 0)
		return 0;
	if ((v = calloc(l->n, sizeof(*v))) == NULL)
		return SN_ENOMEM;
	*out = v;
	for (i = 0; i < l->n; i++) {
		if ((rc = glob_compile(l->v[i], &v[i].g, gerr, sizeof(gerr))) !=
		    0) {
			if (rc == SN_ENOMEM)
				return rc;
			if (errlen > 0)
				snprintf(err, errlen,
				    "%s pattern \"%.64s\": %s", kind, l->v[i],
				    gerr);
			return SN_ECONFIG;
		}
		*nout = i + 1;
		n = strlen(kind) + 1 + strlen(l->v[i]) + 1;
		if ((v[i].rule = malloc(n)) == NULL)
			return SN_ENOMEM;
		snprintf(v[i].rule, n, "%s:%s", kind, l->v[i]);
	}
	return 0;
}

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int
policy_new(const struct sn_config *cfg, const struct sn_cfg_workspace *ws,
    struct policy **out, char *err, size_t errlen)
{
	struct policy *p = NULL;
	double rate;
	int rc;

	if (out == NULL)
		return SN_EINVAL;
	*out = NULL;
	if (err == NULL)
		errlen = 0;
	if (errlen > 0)
		err[0] = '\0';
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SN_ENOMEM;
	if (ws != NULL) {
		if ((rc = add_rules(&ws->deny, "deny", &p->deny, &p->ndeny, err,
		         errlen)) != 0 ||
		    (rc = add_rules(&ws->readonly, "readonly", &p->ro, &p->nro,
		         err, errlen)) != 0)
			goto out;
		p->symlinks_any = ws->symlinks_any;
		p->max_file_size = ws->max_file_size;
		p->quota = ws->quota;
	}
	snprintf(p->size_rule, sizeof(p->size_rule), "max_file_size:%llu",
	    (unsigned long long)p->max_file_size);
	snprintf(p->quota_rule, sizeof(p->quota_rule), "quota:%llu",
	    (unsigned long long)p->quota);
	if (cfg != NULL && cfg->chaos.rate > 0 && cfg->chaos.scope != 0) {
		rate = cfg->chaos.rate < 1 ? cfg->chaos.rate : 1;
		/* rate * 2^53, exact for rate = 1 */
		p->threshold = (uint64_t)(rate * 9007199254740992.0);
		if (p->threshold == 0)
			p->threshold = 1; /* a tiny rate is not "off" */
		p->k0 = splitmix64(cfg->chaos.seed);
		p->k1 = splitmix64(p->k0 ^ cfg->chaos.seed);
		p->errors = cfg->chaos.errors != 0 ? cfg->chaos.errors :
		                                     SN_CHAOS_TIMEOUT;
		p->scope =
		    (cfg->chaos.scope & SN_CHAOS_FS ? POLICY_CHAOS_FS : 0) |
		    (cfg->chaos.scope & SN_CHAOS_API ? POLICY_CHAOS_API : 0);
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (rc == SN_ENOMEM && errlen > 0)
		snprintf(err, errlen, "out of memory");
	policy_free(p);
	return rc;
}

static void
free_rules(struct prule *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		glob_free(v[i].g);
		free(v[i].rule);
	}
	free(v);
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free_rules(p->deny, p->ndeny);
	free_rules(p->ro, p->nro);
	free(p);
}

/* ---- paths ------------------------------------------------------------ */

static const char *
first_match(const struct prule *v, size_t n, const char *relpath)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (glob_match(v[i].g, relpath))
			return v[i].rule;
	}
	return NULL;
}

void
policy_classify(const struct policy *p, const char *relpath,
    struct policy_path *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (p == NULL || relpath == NULL)
		return;
	out->deny_rule = first_match(p->deny, p->ndeny, relpath);
	out->ro_rule = first_match(p->ro, p->nro, relpath);
	out->deny = out->deny_rule != NULL;
	out->readonly = out->ro_rule != NULL;
}

int
policy_has_path_rules(const struct policy *p)
{
	return p != NULL && (p->ndeny > 0 || p->nro > 0);
}

int
policy_check(const struct policy *p, unsigned role_perms, enum policy_op op,
    const char *relpath, const char **rule)
{
	const char *r;

	if (rule != NULL)
		*rule = NULL;
	if ((unsigned)op >= POLICY_OP_COUNT_ || relpath == NULL)
		return -EINVAL;
	if (p != NULL) {
		if ((r = first_match(p->deny, p->ndeny, relpath)) != NULL) {
			if (rule != NULL)
				*rule = r;
			return -ops[op].deny;
		}
		if ((ops[op].flags & OP_CHANGE) &&
		    (r = first_match(p->ro, p->nro, relpath)) != NULL) {
			if (rule != NULL)
				*rule = r;
			return -EROFS;
		}
	}
	if ((ops[op].flags & OP_CHANGE) && !(role_perms & PERM_EDIT_FILE)) {
		if (rule != NULL)
			*rule = rule_no_edit;
		return -EROFS;
	}
	if ((ops[op].flags & OP_CONTENT) && !(role_perms & PERM_READ_FILE)) {
		if (rule != NULL)
			*rule = rule_no_read;
		return -EACCES;
	}
	return 0;
}

int
policy_rename_ok(const struct policy *p, unsigned role_perms, const char *from,
    const char *to, int is_dir, const char **rule)
{
	size_t i;
	int rc;

	if ((rc = policy_check(p, role_perms, POLICY_OP_RENAME_FROM, from,
	         rule)) != 0 ||
	    (rc = policy_check(p, role_perms, POLICY_OP_RENAME_TO, to, rule)) !=
	        0)
		return rc;
	if (!is_dir || p == NULL)
		return 0;
	for (i = 0; i < p->ndeny; i++) {
		if (!glob_subtree_kept(p->deny[i].g, from, to)) {
			if (rule != NULL)
				*rule = p->deny[i].rule;
			return -EACCES;
		}
	}
	for (i = 0; i < p->nro; i++) {
		if (!glob_subtree_kept(p->ro[i].g, from, to)) {
			if (rule != NULL)
				*rule = p->ro[i].rule;
			return -EROFS;
		}
	}
	return 0;
}

int
policy_symlink_target_ok(const struct policy *p, const char *link_relpath,
    const char *target, const char **rule)
{
	const char *s, *e;
	size_t depth = 0, n;

	if (rule != NULL)
		*rule = NULL;
	if (link_relpath == NULL || target == NULL)
		return -EINVAL;
	if (*target == '\0')
		return -ENOENT;
	if (p != NULL && p->symlinks_any)
		return 0;
	if (target[0] == '/')
		goto outside;
	/* Start in the link's directory: its path minus the last name. */
	for (s = link_relpath; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		if (e > s)
			depth++;
	}
	if (depth > 0)
		depth--;
	for (s = target; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (depth == 0)
				goto outside;
			depth--;
		} else
			depth++;
	}
	return 0;
outside:
	if (rule != NULL)
		*rule = rule_symlinks;
	return -EPERM;
}

/* ---- sizes ------------------------------------------------------------ */

int
policy_size_ok(const struct policy *p, uint64_t new_size, const char **rule)
{
	if (rule != NULL)
		*rule = NULL;
	if (p == NULL || p->max_file_size == 0 || new_size <= p->max_file_size)
		return 0;
	if (rule != NULL)
		*rule = p->size_rule;
	return -EFBIG;
}

int
policy_quota_ok(const struct policy *p, uint64_t used_bytes, int64_t delta,
    const char **rule)
{
	uint64_t add;

	if (rule != NULL)
		*rule = NULL;
	if (p == NULL || p->quota == 0 || delta <= 0)
		return 0;
	add = (uint64_t)delta;
	if (used_bytes <= UINT64_MAX - add && used_bytes + add <= p->quota)
		return 0;
	if (rule != NULL)
		*rule = p->quota_rule;
	return -EDQUOT;
}

/* ---- chaos ------------------------------------------------------------ */

/* SipHash-2-4 (Aumasson and Bernstein), fed a piece at a time. */
struct sip {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* bytes not yet compressed, little-endian */
	size_t ntail;
	uint64_t len;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static void
sip_init(struct sip *s, uint64_t k0, uint64_t k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k1 ^ 0x7465646279746573ULL;
	s->tail = 0;
	s->ntail = 0;
	s->len = 0;
}

static void
sip_compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void
sip_update(struct sip *s, const void *data, size_t n)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i < n; i++) {
		s->tail |= (uint64_t)b[i] << (8 * s->ntail);
		if (++s->ntail == 8) {
			sip_compress(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
	s->len += n;
}

static uint64_t
sip_final(struct sip *s)
{
	int i;

	sip_compress(s, s->tail | (s->len << 56));
	s->v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

static void
sip_u64(struct sip *s, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	sip_update(s, b, sizeof(b));
}

/* A string with its length first, so ("ab","c") and ("a","bc") differ. */
static void
sip_str(struct sip *s, const char *str)
{
	size_t n = str != NULL ? strlen(str) : 0;

	sip_u64(s, n);
	sip_update(s, str, n);
}

/* The fault for hash h, or 0. */
static int
chaos_pick(const struct policy *p, uint64_t h, const char **what)
{
	unsigned which;

	if ((h >> 11) >= p->threshold)
		return 0;
	/* Bit 0 is independent of the top 53 bits that decided to fire. */
	which = p->errors;
	if (which == (SN_CHAOS_TIMEOUT | SN_CHAOS_DISK_FULL))
		which = (h & 1) ? SN_CHAOS_DISK_FULL : SN_CHAOS_TIMEOUT;
	if (which == SN_CHAOS_DISK_FULL) {
		if (what != NULL)
			*what = what_disk_full;
		return -ENOSPC;
	}
	if (what != NULL)
		*what = what_timeout;
	return -ETIMEDOUT;
}

unsigned
policy_chaos_enabled(const struct policy *p)
{
	return p != NULL && p->threshold != 0 ? p->scope : 0;
}

int
policy_chaos(const struct policy *p, const char *view, enum policy_op op,
    const char *relpath, uint64_t counter, const char **what)
{
	struct sip s;
	unsigned char b[2];

	if (what != NULL)
		*what = NULL;
	if (!(policy_chaos_enabled(p) & POLICY_CHAOS_FS) ||
	    (unsigned)op >= POLICY_OP_COUNT_ || !(ops[op].flags & OP_CHANGE))
		return 0;
	sip_init(&s, p->k0, p->k1);
	b[0] = 'F';
	b[1] = (unsigned char)op;
	sip_update(&s, b, sizeof(b));
	sip_str(&s, view);
	sip_str(&s, relpath);
	sip_u64(&s, counter);
	return chaos_pick(p, sip_final(&s), what);
}

int
policy_chaos_api(const struct policy *p, const char *agent, const char *call,
    uint64_t counter, const char **what)
{
	struct sip s;
	unsigned char b = 'A';

	if (what != NULL)
		*what = NULL;
	if (!(policy_chaos_enabled(p) & POLICY_CHAOS_API))
		return 0;
	sip_init(&s, p->k0, p->k1);
	sip_update(&s, &b, 1);
	sip_str(&s, agent);
	sip_str(&s, call);
	sip_u64(&s, counter);
	return chaos_pick(p, sip_final(&s), what);
}

/* ---- roles and names -------------------------------------------------- */

int
policy_role_builtin(const char *name, unsigned *perms_out)
{
	size_t i;

	if (perms_out != NULL)
		*perms_out = 0;
	if (name == NULL)
		return -ENOENT;
	for (i = 0; i < NELEM(roles); i++) {
		if (strcmp(roles[i].name, name) == 0) {
			if (perms_out != NULL)
				*perms_out = roles[i].perms;
			return 0;
		}
	}
	return -ENOENT;
}

int
policy_role_perms(const struct sn_config *cfg, const char *role,
    unsigned *perms_out)
{
	size_t i;

	if (perms_out != NULL)
		*perms_out = 0;
	if (role == NULL)
		return -ENOENT;
	for (i = 0; cfg != NULL && i < cfg->n_roles; i++) {
		if (strcmp(cfg->roles[i].name, role) == 0) {
			if (perms_out != NULL)
				*perms_out = cfg->roles[i].perms;
			return 0;
		}
	}
	return policy_role_builtin(role, perms_out);
}

int
policy_perm_from_name(const char *s, size_t n, unsigned *bit)
{
	size_t i;

	if (bit != NULL)
		*bit = 0;
	if (s == NULL)
		return -ENOENT;
	for (i = 0; i < NELEM(perms); i++) {
		if (strlen(perms[i].name) == n &&
		    memcmp(perms[i].name, s, n) == 0) {
			if (bit != NULL)
				*bit = perms[i].bit;
			return 0;
		}
	}
	return -ENOENT;
}

const char *
policy_perm_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < NELEM(perms); i++) {
		if (perms[i].bit == bit)
			return perms[i].name;
	}
	return NULL;
}

const char *
policy_op_name(enum policy_op op)
{
	return (unsigned)op < POLICY_OP_COUNT_ ? ops[op].name : "?";
}

int
policy_op_changes(enum policy_op op)
{
	return (unsigned)op < POLICY_OP_COUNT_ &&
	    (ops[op].flags & OP_CHANGE) != 0;
}

/* ---- canonical paths -------------------------------------------------- */

int
policy_canon_path(const char *in, char *out, size_t outlen)
{
	const char *s, *e;
	size_t n, o = 0, i, len;
	uint32_t cp;
	int rc;

	if (out == NULL || outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	if (in == NULL || in[0] == '/')
		return -EINVAL;
	for (s = in; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			rc = -EINVAL;
			goto fail;
		}
		for (i = 0; i < n; i += len) {
			if ((len = glob_utf8_char(s + i, n - i, &cp)) == 0) {
				rc = -EINVAL;
				goto fail;
			}
		}
		if (n > NAME_MAXLEN || o + (o > 0) + n > PATH_MAXLEN ||
		    o + (o > 0) + n >= outlen) {
			rc = -ENAMETOOLONG;
			goto fail;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
fail:
	out[0] = '\0';
	return rc;
}
