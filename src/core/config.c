/*
 * config.c - the strict INI parser behind config.h.
 *
 * Everything a key is (its section, type, bounds, default, whether it is
 * required or a list, where it is stored) lives in ONE table, keys[]
 * below.  The parser walks the text one line at a time; rules that span
 * keys or sections (allowed_uids needs allow_other, a view's workspace
 * and role must exist, mountpoints are unique) are checked in
 * section_end() and finish().
 *
 * Defaults: a scalar key gets its default when its section starts (for
 * the unnamed sections [server], [fs] and [chaos]: when the config is
 * made), so a value in the text replaces it.  A list key appends, so its
 * default is applied only when the section ends without the key (or, for
 * an unnamed section, at the end of the text if the section never came).
 *
 * config_parse() is pure: no I/O, no globals.  The first error stops the
 * parse; everything allocated so far hangs off the config being built, so
 * one config_free() releases it.
 *
 * User syntax and every key are documented in docs/config.md.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/policy.h"

#define CONFIG_MAX_SIZE (1024 * 1024) /* config_load() refuses bigger files */
#define SHOW_MAX        64            /* user text bytes quoted in errors */
/* The largest uid: (uid_t)-1 means "no uid" to the kernel. */
#define UID_MAXV  ((unsigned long long)(uid_t)-1 - 1)
#define BOOL_RULE "true/false, yes/no, on/off, 1/0"
#define ID_RULE   "[A-Za-z0-9._-]{1,64}, not \".\" or \"..\""
#define ADDR_RULE "IPV4:PORT, [IPV6]:PORT or localhost:PORT"
#define SIZE_RULE \
	"a number of bytes, with an optional unit K, M, G, T or KiB, MiB, " \
	"GiB, TiB"
#define RATE_RULE "a decimal 0..1 like 0.25, at most 15 digits after the point"
#define ENV_RULE  "[A-Z_][A-Z0-9_]{0,63}: an environment variable name"

enum sect {
	SEC_SERVER,
	SEC_WORKSPACE,
	SEC_VIEW,
	SEC_FS,
	SEC_ROLE,
	SEC_CHAOS,
	SEC_API,
	SEC_SECRETS,
	SEC_SECRET,
	SEC_COUNT_
};
enum vtype {
	V_PATH,  /* char *: any text */
	V_ID,    /* char *: an id */
	V_BOOL,  /* int */
	V_UINT,  /* unsigned, within [min, max] */
	V_U64,   /* uint64_t, within [min, max] */
	V_UIDS,  /* uid_t * + size_t count: a list of uids */
	V_GLOBS, /* struct sn_strlist: a list of path patterns (glob.h) */
	V_SIZE,  /* uint64_t: config_parse_size() */
	V_RATE,  /* double: config_parse_rate() */
	V_ENUM,  /* int: the value of one of words[] */
	V_FLAGS, /* unsigned: a list of words[], OR'ed; none twice */
	V_PERMS, /* unsigned: a list of permissions (policy.h); none twice */
	V_IDS,   /* struct sn_strlist: a list of ids */
	V_ADDR,  /* char *: "HOST:PORT" (config_parse_addr()) or "off" */
	V_CPU    /* double: config_parse_cpu() */
};

#define K_REQUIRED 0x1 /* must be set in every section of its kind */
#define K_LIST     0x2 /* may be repeated; each occurrence appends */
#define K_STAR     0x4 /* V_IDS: "*" (all) is an element too */

static const struct {
	const char *name;
	int named; /* [kind "NAME"] (1) or plain [kind] (0) */
} sections[SEC_COUNT_] = {
	[SEC_SERVER] = { "server", 0 },
	[SEC_WORKSPACE] = { "workspace", 1 },
	[SEC_VIEW] = { "view", 1 },
	[SEC_FS] = { "fs", 0 },
	[SEC_ROLE] = { "role", 1 },
	[SEC_CHAOS] = { "chaos", 0 },
	[SEC_API] = { "api", 0 },
	[SEC_SECRETS] = { "secrets", 0 },
	[SEC_SECRET] = { "secret", 1 },
};

/* The words of a V_ENUM or V_FLAGS key; ends with { NULL, 0 }. */
struct word {
	const char *name;
	unsigned val;
};

static const struct word network_words[] = {
	{ "none", 0 },
	{ "host", 1 },
	{ NULL, 0 },
};

static const struct word symlink_words[] = {
	{ "inside", 0 },
	{ "any", 1 },
	{ NULL, 0 },
};
static const struct word chaos_error_words[] = {
	{ "timeout", SN_CHAOS_TIMEOUT },
	{ "disk_full", SN_CHAOS_DISK_FULL },
	{ NULL, 0 },
};
static const struct word provider_words[] = {
	{ "file", SN_SECRET_FILE },
	{ "env", SN_SECRET_ENV },
	{ "vault", SN_SECRET_VAULT },
	{ NULL, 0 },
};
static const struct word inject_words[] = {
	{ "exec:env", SN_INJECT_ENV },
	{ NULL, 0 },
};
static const struct word chaos_scope_words[] = {
	{ "fs", SN_CHAOS_FS },
	{ "api", SN_CHAOS_API },
	{ NULL, 0 },
};

struct keydef {
	enum sect sect;
	const char *name;
	enum vtype type;
	int flags;
	unsigned long long min, max; /* V_UINT, V_U64 and V_UIDS bounds */
	const char *def;          /* default, parsed like a value; NULL: none */
	size_t off;               /* field in the section's struct */
	size_t noff;              /* V_UIDS: the element count field */
	const struct word *words; /* V_ENUM, V_FLAGS */
};

enum {
	K_STATE_DIR,
	K_AUDIT_KEY_FILE,
	K_ROOT,
	K_EXT_WRITERS,
	K_DENY,
	K_READONLY,
	K_SYMLINKS,
	K_MAX_FILE_SIZE,
	K_QUOTA,
	K_AUDIT_FAIL_OPEN,
	K_WORKSPACE,
	K_AGENT,
	K_ROLE,
	K_MOUNTPOINT,
	K_ALLOW_OTHER,
	K_ALLOWED_UIDS,
	K_CACHE_TIMEOUT,
	K_FD_CACHE,
	K_THREADS,
	K_WRITEBACK,
	K_PERMISSIONS,
	K_RATE,
	K_ERRORS,
	K_SEED,
	K_SCOPE,
	K_VIEWS_DIR,
	K_AGENTS,
	K_UID,
	K_GID,
	K_LISTEN,
	K_CERT,
	K_KEY,
	K_CLIENT_CA,
	K_CRL,
	K_OPS_LISTEN,
	K_PLAIN_LISTEN,
	K_TOKEN_FILE,
	K_PLAIN_AGENT,
	K_PLAIN_ROLE,
	K_MAX_BODY,
	K_MAX_CONNS,
	K_PER_IP,
	K_API_THREADS,
	K_TIMEOUT,
	K_CPU,
	K_MEMORY,
	K_PIDS,
	K_NETWORK,
	K_EXEC_MAX,
	K_EXEC_TIMEOUT,
	K_SECRETS_DIR,
	K_VAULT_ADDR,
	K_VAULT_TOKEN_FILE,
	K_VAULT_MOUNT,
	K_VAULT_CACERT,
	K_CACHE_TTL,
	K_PROVIDER,
	K_SECRET_KEY,
	K_SECRET_WS,
	K_INJECT,
	K_COUNT_
};

#define SRV(f)   offsetof(struct sn_config, f)
#define WSP(f)   offsetof(struct sn_cfg_workspace, f)
#define VIEW(f)  offsetof(struct sn_cfg_view, f)
#define FS(f)    offsetof(struct sn_cfg_fs, f)
#define ROLE(f)  offsetof(struct sn_cfg_role, f)
#define CHAOS(f) offsetof(struct sn_cfg_chaos, f)
#define API(f)   offsetof(struct sn_cfg_api, f)
#define SCS(f)   offsetof(struct sn_cfg_secrets, f)
#define SEC(f)   offsetof(struct sn_cfg_secret, f)
#define REQ      K_REQUIRED
#define LIST     K_LIST
#define U64MAX   0xffffffffffffffffULL

/*
 * The one table of keys.  Each row:
 *	[index] = { section, key, type, flags, min, max, default,
 *	    field, count field (V_UIDS), words (V_ENUM, V_FLAGS) },
 * Rules across keys live in section_end() and finish().
 */
/* clang-format off */
static const struct keydef keys[K_COUNT_] = {
	[K_STATE_DIR] = { SEC_SERVER, "state_dir", V_PATH, 0, 0, 0, NULL,
	    SRV(state_dir), 0, NULL },
	[K_AUDIT_KEY_FILE] = { SEC_SERVER, "audit_key_file", V_PATH, 0, 0, 0,
	    NULL, SRV(audit_key_file), 0, NULL },

	[K_ROOT] = { SEC_WORKSPACE, "root", V_PATH, 0, 0, 0, NULL,
	    WSP(root), 0, NULL },
	[K_EXT_WRITERS] = { SEC_WORKSPACE, "external_writers", V_BOOL, 0, 0, 0,
	    "false", WSP(external_writers), 0, NULL },
	[K_DENY] = { SEC_WORKSPACE, "deny", V_GLOBS, LIST, 0, 0, NULL,
	    WSP(deny), 0, NULL },
	[K_READONLY] = { SEC_WORKSPACE, "readonly", V_GLOBS, LIST, 0, 0, NULL,
	    WSP(readonly), 0, NULL },
	[K_SYMLINKS] = { SEC_WORKSPACE, "symlinks", V_ENUM, 0, 0, 0, "inside",
	    WSP(symlinks_any), 0, symlink_words },
	[K_MAX_FILE_SIZE] = { SEC_WORKSPACE, "max_file_size", V_SIZE, 0, 0, 0,
	    "0", WSP(max_file_size), 0, NULL },
	[K_QUOTA] = { SEC_WORKSPACE, "quota", V_SIZE, 0, 0, 0, "0",
	    WSP(quota), 0, NULL },
	[K_AUDIT_FAIL_OPEN] = { SEC_WORKSPACE, "audit_fail_open", V_BOOL, 0, 0,
	    0, "false", WSP(audit_fail_open), 0, NULL },

	[K_WORKSPACE] = { SEC_VIEW, "workspace", V_ID, REQ, 0, 0, NULL,
	    VIEW(workspace), 0, NULL },
	[K_AGENT] = { SEC_VIEW, "agent", V_ID, REQ, 0, 0, NULL,
	    VIEW(agent), 0, NULL },
	[K_ROLE] = { SEC_VIEW, "role", V_ID, 0, 0, 0, "Dev",
	    VIEW(role), 0, NULL },
	[K_MOUNTPOINT] = { SEC_VIEW, "mountpoint", V_PATH, REQ, 0, 0, NULL,
	    VIEW(mountpoint), 0, NULL },
	[K_ALLOW_OTHER] = { SEC_VIEW, "allow_other", V_BOOL, 0, 0, 0, "false",
	    VIEW(allow_other), 0, NULL },
	[K_ALLOWED_UIDS] = { SEC_VIEW, "allowed_uids", V_UIDS, LIST, 0,
	    UID_MAXV, NULL, VIEW(allowed_uids), VIEW(n_allowed_uids), NULL },

	[K_CACHE_TIMEOUT] = { SEC_FS, "cache_timeout", V_UINT, 0, 0, 31536000,
	    "86400", FS(cache_timeout), 0, NULL },
	[K_FD_CACHE] = { SEC_FS, "fd_cache", V_UINT, 0, 64, 100000, "4096",
	    FS(fd_cache), 0, NULL },
	[K_THREADS] = { SEC_FS, "threads", V_UINT, 0, 1, 256, "8",
	    FS(threads), 0, NULL },
	[K_WRITEBACK] = { SEC_FS, "writeback_cache", V_BOOL, 0, 0, 0, "false",
	    FS(writeback_cache), 0, NULL },

	[K_PERMISSIONS] = { SEC_ROLE, "permissions", V_PERMS, REQ | LIST, 0, 0,
	    NULL, ROLE(perms), 0, NULL },

	[K_RATE] = { SEC_CHAOS, "rate", V_RATE, 0, 0, 0, "0",
	    CHAOS(rate), 0, NULL },
	[K_ERRORS] = { SEC_CHAOS, "errors", V_FLAGS, LIST, 0, 0,
	    "timeout, disk_full", CHAOS(errors), 0, chaos_error_words },
	[K_SEED] = { SEC_CHAOS, "seed", V_U64, 0, 0, U64MAX, "0",
	    CHAOS(seed), 0, NULL },
	[K_SCOPE] = { SEC_CHAOS, "scope", V_FLAGS, LIST, 0, 0, "fs",
	    CHAOS(scope), 0, chaos_scope_words },

	[K_VIEWS_DIR] = { SEC_SERVER, "views_dir", V_PATH, 0, 0, 0, NULL,
	    SRV(views_dir), 0, NULL },
	[K_AGENTS] = { SEC_WORKSPACE, "agents", V_IDS, LIST, 0, 0, NULL,
	    WSP(agents), 0, NULL },
	[K_UID] = { SEC_WORKSPACE, "uid", V_UINT, 0, 0, UID_MAXV, NULL,
	    WSP(uid), 0, NULL },
	[K_GID] = { SEC_WORKSPACE, "gid", V_UINT, 0, 0, UID_MAXV, NULL,
	    WSP(gid), 0, NULL },

	[K_LISTEN] = { SEC_API, "listen", V_ADDR, 0, 0, 0, "127.0.0.1:8443",
	    API(listen), 0, NULL },
	[K_CERT] = { SEC_API, "cert", V_PATH, 0, 0, 0, NULL,
	    API(cert), 0, NULL },
	[K_KEY] = { SEC_API, "key", V_PATH, 0, 0, 0, NULL,
	    API(key), 0, NULL },
	[K_CLIENT_CA] = { SEC_API, "client_ca", V_PATH, 0, 0, 0, NULL,
	    API(client_ca), 0, NULL },
	[K_CRL] = { SEC_API, "crl", V_PATH, 0, 0, 0, NULL,
	    API(crl), 0, NULL },
	[K_OPS_LISTEN] = { SEC_API, "ops_listen", V_ADDR, 0, 0, 0,
	    "127.0.0.1:9090", API(ops_listen), 0, NULL },
	[K_PLAIN_LISTEN] = { SEC_API, "plain_listen", V_ADDR, 0, 0, 0, "off",
	    API(plain_listen), 0, NULL },
	[K_TOKEN_FILE] = { SEC_API, "token_file", V_PATH, 0, 0, 0, NULL,
	    API(token_file), 0, NULL },
	[K_PLAIN_AGENT] = { SEC_API, "plain_agent", V_ID, 0, 0, 0, NULL,
	    API(plain_agent), 0, NULL },
	[K_PLAIN_ROLE] = { SEC_API, "plain_role", V_ID, 0, 0, 0, "Dev",
	    API(plain_role), 0, NULL },
	[K_MAX_BODY] = { SEC_API, "max_body", V_SIZE, 0, 0, 0, "32M",
	    API(max_body), 0, NULL },
	[K_MAX_CONNS] = { SEC_API, "max_connections", V_UINT, 0, 1, 16384,
	    "1024", API(max_connections), 0, NULL },
	[K_PER_IP] = { SEC_API, "per_ip", V_UINT, 0, 1, 16384, "256",
	    API(per_ip), 0, NULL },
	[K_API_THREADS] = { SEC_API, "threads", V_UINT, 0, 1, 256, "8",
	    API(threads), 0, NULL },
	[K_TIMEOUT] = { SEC_API, "timeout", V_UINT, 0, 1, 86400, "120",
	    API(timeout), 0, NULL },

	[K_CPU] = { SEC_WORKSPACE, "cpu", V_CPU, 0, 0, 0, "1",
	    WSP(cpu), 0, NULL },
	[K_MEMORY] = { SEC_WORKSPACE, "memory", V_SIZE, 0, 0, 0, "1G",
	    WSP(memory), 0, NULL },
	[K_PIDS] = { SEC_WORKSPACE, "pids", V_UINT, 0, 1, 1048576, "256",
	    WSP(pids), 0, NULL },
	[K_NETWORK] = { SEC_WORKSPACE, "network", V_ENUM, 0, 0, 0, "none",
	    WSP(network), 0, network_words },
	[K_EXEC_MAX] = { SEC_WORKSPACE, "exec_max", V_UINT, 0, 1, 1024, "4",
	    WSP(exec_max), 0, NULL },
	[K_EXEC_TIMEOUT] = { SEC_WORKSPACE, "exec_timeout", V_UINT, 0, 1,
	    86400, "600", WSP(exec_timeout), 0, NULL },
	[K_SECRETS_DIR] = { SEC_SECRETS, "dir", V_PATH, 0, 0, 0, NULL,
	    SCS(dir), 0, NULL },
	[K_VAULT_ADDR] = { SEC_SECRETS, "vault_addr", V_PATH, 0, 0, 0, NULL,
	    SCS(vault_addr), 0, NULL },
	[K_VAULT_TOKEN_FILE] = { SEC_SECRETS, "vault_token_file", V_PATH, 0,
	    0, 0, NULL, SCS(vault_token_file), 0, NULL },
	[K_VAULT_MOUNT] = { SEC_SECRETS, "vault_mount", V_ID, 0, 0, 0,
	    "secret", SCS(vault_mount), 0, NULL },
	[K_VAULT_CACERT] = { SEC_SECRETS, "vault_cacert", V_PATH, 0, 0, 0,
	    NULL, SCS(vault_cacert), 0, NULL },
	[K_CACHE_TTL] = { SEC_SECRETS, "cache_ttl", V_UINT, 0, 0, 86400, "60",
	    SCS(cache_ttl), 0, NULL },

	[K_PROVIDER] = { SEC_SECRET, "provider", V_ENUM, REQ, 0, 0, NULL,
	    SEC(provider), 0, provider_words },
	[K_SECRET_KEY] = { SEC_SECRET, "key", V_PATH, REQ, 0, 0, NULL,
	    SEC(key), 0, NULL },
	[K_SECRET_WS] = { SEC_SECRET, "workspaces", V_IDS, REQ | LIST | K_STAR,
	    0, 0, NULL, SEC(workspaces), 0, NULL },
	[K_INJECT] = { SEC_SECRET, "inject", V_FLAGS, LIST, 0, 0, "exec:env",
	    SEC(inject), 0, inject_words },
};
/* clang-format on */

/* One section met in the text. */
struct section {
	enum sect sect;
	size_t idx;                 /* into cfg->workspaces or cfg->views */
	unsigned line;              /* of the header */
	unsigned keyline[K_COUNT_]; /* line each key was first set on */
};

/* A small hash set of (tag, string): section names and mountpoints. */
#define TAG_MOUNT SEC_COUNT_
struct name {
	const char *s; /* NULL: free slot */
	size_t n;
	int tag; /* an enum sect, or TAG_MOUNT */
	unsigned line;
	size_t idx;
};
struct names {
	struct name *v;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

struct parser {
	struct sn_config *cfg;
	char file[256]; /* name for messages, made printable */
	char *err;
	size_t errlen;
	struct section *secs;
	size_t nsecs, capsecs;
	size_t capws, capviews, caproles, capsecrets;
	struct names names;
};

static int fail(struct parser *, unsigned, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- small helpers ---------------------------------------------------- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static int
eqn(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX || (d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Make room for need elements of size bytes; NULL (v untouched) on failure. */
static void *
grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return v;
	ncap = *cap > 0 ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return NULL;
	if ((nv = realloc(v, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

/*
 * Copy user text s[0..n) into dst for an error message: control bytes
 * become '?', and text longer than fits is cut and marked with "...".
 */
static void
show(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, max;
	unsigned char c;

	if (dstlen < 5) {
		if (dstlen > 0)
			dst[0] = '\0';
		return;
	}
	max = dstlen - 4;
	for (i = 0; s != NULL && i < n && i < max; i++) {
		c = (unsigned char)s[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s != NULL && i < n) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

static int
valid_id_n(const char *s, size_t n)
{
	size_t i;
	char c;

	if (n == 0 || n > SN_ID_MAX)
		return 0;
	if (eqn(s, n, ".") || eqn(s, n, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return 0;
	}
	return 1;
}

/*
 * An environment variable name: [A-Z_][A-Z0-9_]{0,63} (upper: a
 * [secret] name), or [A-Za-z_][A-Za-z0-9_]{0,254} (an env provider key).
 */
static int
env_name_n(const char *s, size_t n, int upper)
{
	size_t i;
	char c;

	if (n == 0 || n > (upper ? 64 : 255) || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '_' || (!upper && c >= 'a' && c <= 'z')))
			return 0;
	}
	return 1;
}

/* ---- the names hash set ---------------------------------------------- */

static uint64_t
names_hash(int tag, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	h = (h ^ (unsigned)tag) * 0x100000001b3ULL;
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static const struct name *
names_find(const struct names *ns, int tag, const char *s, size_t n)
{
	size_t i, mask;

	if (ns->cap == 0)
		return NULL;
	mask = ns->cap - 1;
	for (i = names_hash(tag, s, n) & mask; ns->v[i].s != NULL;
	     i = (i + 1) & mask) {
		if (ns->v[i].tag == tag && ns->v[i].n == n &&
		    memcmp(ns->v[i].s, s, n) == 0)
			return &ns->v[i];
	}
	return NULL;
}

static void
names_put(struct name *v, size_t cap, const struct name *e)
{
	size_t i;

	for (i = names_hash(e->tag, e->s, e->n) & (cap - 1); v[i].s != NULL;
	     i = (i + 1) & (cap - 1))
		;
	v[i] = *e;
}

/* Add e (not already there); e->s must outlive the set. */
static int
names_add(struct names *ns, const struct name *e)
{
	struct name *nv;
	size_t i, ncap;

	if (ns->n + 1 > ns->cap / 2) {
		ncap = ns->cap > 0 ? ns->cap * 2 : 16;
		if (ncap < ns->cap || (nv = calloc(ncap, sizeof(*nv))) == NULL)
			return SN_ENOMEM;
		for (i = 0; i < ns->cap; i++) {
			if (ns->v[i].s != NULL)
				names_put(nv, ncap, &ns->v[i]);
		}
		free(ns->v);
		ns->v = nv;
		ns->cap = ncap;
	}
	names_put(ns->v, ns->cap, e);
	ns->n++;
	return 0;
}

/* ---- values ----------------------------------------------------------- */

int
config_valid_id(const char *s)
{
	if (s == NULL)
		return 0;
	return valid_id_n(s, strnlen(s, SN_ID_MAX + 1));
}

int
config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	if (s == NULL)
		return SN_EINVAL;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return SN_EINVAL;
}

int
config_parse_uint(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v;
	const char *p;
	char *end;

	if (s == NULL || *s == '\0')
		return SN_EINVAL;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return SN_EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return SN_EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return SN_ERANGE;
	*out = v;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {
		{ "K", 10 },
		{ "KiB", 10 },
		{ "M", 20 },
		{ "MiB", 20 },
		{ "G", 30 },
		{ "GiB", 30 },
		{ "T", 40 },
		{ "TiB", 40 },
	};
	unsigned long long v;
	const char *p, *u;
	unsigned shift = 0;
	char *num;
	size_t i;
	int rc;

	if (s == NULL)
		return SN_EINVAL;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	if (p == s)
		return SN_EINVAL;
	for (u = p; is_blank(*u); u++)
		;
	if (*u != '\0') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(u, units[i].unit) == 0)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return SN_EINVAL;
		shift = units[i].shift;
	} else if (u != p)
		return SN_EINVAL; /* blanks and no unit */
	if ((num = xstrndup(s, (size_t)(p - s))) == NULL)
		return SN_ENOMEM;
	rc = config_parse_uint(num, 0, ULLONG_MAX, &v);
	free(num);
	if (rc != 0)
		return rc;
	if (v > (U64MAX >> shift))
		return SN_ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * Digits, then maybe '.' and digits: by hand, because strtod() follows
 * the locale's decimal point.  The value is the correctly rounded double
 * of int + frac / 10^k (both exact: k <= 15 < 2^53).
 */
int
config_parse_rate(const char *s, double *out)
{
	static const double pow10[16] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6,
		1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	const char *p, *ip, *fp = NULL;
	size_t ilen, flen = 0, i;
	uint64_t frac = 0;
	int one;

	if (s == NULL || *s < '0' || *s > '9')
		return SN_EINVAL;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	ilen = (size_t)(p - s);
	if (*p == '.') {
		fp = ++p;
		for (; *p >= '0' && *p <= '9'; p++)
			;
		flen = (size_t)(p - fp);
		if (flen == 0)
			return SN_EINVAL;
	}
	if (*p != '\0')
		return SN_EINVAL;
	for (ip = s; ilen > 1 && *ip == '0'; ip++)
		ilen--;
	while (flen > 0 && fp[flen - 1] == '0')
		flen--;
	if (flen > 15)
		return SN_EINVAL;
	if (ilen > 1 || *ip > '1')
		return SN_ERANGE;
	one = *ip == '1';
	for (i = 0; i < flen; i++)
		frac = frac * 10 + (uint64_t)(fp[i] - '0');
	if (one && frac != 0)
		return SN_ERANGE;
	*out = one ? 1.0 : (double)frac / pow10[flen];
	return 0;
}

/*
 * The end of the list element that starts at s: the next ',' or the
 * final NUL.  With esc, a '\' hides the byte after it ("\," is no end).
 */
static const char *
elem_end(const char *s, int esc)
{
	for (; *s != '\0' && *s != ','; s++) {
		if (esc && *s == '\\' && s[1] != '\0')
			s++;
	}
	return s;
}

/* "a, b, c" from a word table, for messages. */
static void
words_text(char *buf, size_t len, const struct word *w)
{
	size_t off = 0;
	int n;

	buf[0] = '\0';
	for (; w->name != NULL && off < len; w++) {
		n = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    w->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* "read_file, edit_file, ..." from policy.c's table, for messages. */
static void
perms_text(char *buf, size_t len)
{
	const char *name;
	size_t off = 0;
	unsigned bit;
	int n;

	buf[0] = '\0';
	for (bit = 1; bit <= PERM_ALL_ && off < len; bit <<= 1) {
		if ((name = policy_perm_name(bit)) == NULL)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/*
 * OR a "word, word" list (V_FLAGS from k->words, V_PERMS from policy.c)
 * into an unsigned; nothing is changed on error.
 */
static int
set_words(const struct keydef *k, char *base, const char *v, char *why,
    size_t whylen)
{
	unsigned *fp = (unsigned *)(void *)(base + k->off), acc = 0, bit = 0;
	const struct word *w;
	const char *s, *e, *end;
	char q[SHOW_MAX + 4], all[256];
	size_t n;

	for (s = v;; s = end + 1) {
		end = elem_end(s, 0);
		e = s;
		n = (size_t)(end - s);
		trim(&e, &n);
		show(q, sizeof(q), e, n);
		if (n == 0) {
			snprintf(why, whylen, "empty element in list");
			return SN_EINVAL;
		}
		if (k->type == V_PERMS) {
			if (policy_perm_from_name(e, n, &bit) != 0) {
				perms_text(all, sizeof(all));
				snprintf(why, whylen,
				    "\"%s\" is not a permission (%s)", q, all);
				return SN_EINVAL;
			}
		} else {
			for (w = k->words; w->name != NULL; w++) {
				if (eqn(e, n, w->name))
					break;
			}
			if (w->name == NULL) {
				words_text(all, sizeof(all), k->words);
				snprintf(why, whylen,
				    "\"%s\" is not one of: %s", q, all);
				return SN_EINVAL;
			}
			bit = w->val;
		}
		if ((acc | *fp) & bit) {
			snprintf(why, whylen, "\"%s\" is listed twice", q);
			return SN_EINVAL;
		}
		acc |= bit;
		if (*end == '\0')
			break;
	}
	*fp |= acc;
	return 0;
}

/*
 * Append a list of path patterns, each checked with glob_compile(); a
 * '\' escapes a ',' inside a pattern.  Nothing is appended on error.
 */
static int
set_globs(const struct keydef *k, char *base, const char *v, char *why,
    size_t whylen)
{
	struct sn_strlist *l = (struct sn_strlist *)(void *)(base + k->off);
	char q[SHOW_MAX + 4], gerr[128], **nv;
	const char *s, *e, *end;
	struct glob *g;
	size_t count = 0, added = 0, n;
	int rc = 0;

	for (s = v;; s = end + 1) {
		end = elem_end(s, 1);
		count++;
		if (*end == '\0')
			break;
	}
	if (count > SIZE_MAX / sizeof(*l->v) - l->n)
		return SN_ENOMEM;
	if ((nv = realloc(l->v, (l->n + count) * sizeof(*nv))) == NULL)
		return SN_ENOMEM;
	l->v = nv;
	for (s = v;; s = end + 1) {
		end = elem_end(s, 1);
		e = s;
		n = (size_t)(end - s);
		trim(&e, &n);
		if (n == 0) {
			snprintf(why, whylen, "empty element in pattern list");
			rc = SN_EINVAL;
			goto out;
		}
		if ((nv[l->n + added] = xstrndup(e, n)) == NULL) {
			rc = SN_ENOMEM;
			goto out;
		}
		added++;
		if (k->type == V_IDS) {
			if (!config_valid_id(nv[l->n + added - 1]) &&
			    !((k->flags & K_STAR) && eqn(e, n, "*"))) {
				show(q, sizeof(q), e, n);
				snprintf(why, whylen,
				    "\"%s\" is not a valid id (%s)", q,
				    ID_RULE);
				rc = SN_EINVAL;
				goto out;
			}
			if (*end == '\0')
				break;
			continue;
		}
		rc = glob_compile(nv[l->n + added - 1], &g, gerr, sizeof(gerr));
		glob_free(g);
		if (rc == SN_ENOMEM)
			goto out;
		if (rc != 0) {
			show(q, sizeof(q), e, n);
			snprintf(why, whylen,
			    "\"%s\" is not a valid pattern: %s", q, gerr);
			rc = SN_EINVAL;
			goto out;
		}
		if (*end == '\0')
			break;
	}
	l->n += added;
	added = 0;
out:
	while (added > 0)
		free(nv[l->n + --added]);
	return rc;
}

/* Append a "1, 2, 3" list to a uid_t array; nothing is appended on error. */
static int
set_uids(const struct keydef *k, char *base, const char *v, char *why,
    size_t whylen)
{
	uid_t **vp = (uid_t **)(void *)(base + k->off);
	size_t *np = (size_t *)(void *)(base + k->noff);
	unsigned long long u;
	const char *s, *comma;
	char q[SHOW_MAX + 4], *tmp;
	size_t count = 1, n, i;
	uid_t *nv;
	int rc;

	for (s = v; (s = strchr(s, ',')) != NULL; s++)
		count++;
	if (count > SIZE_MAX / sizeof(**vp) ||
	    *np > SIZE_MAX / sizeof(**vp) - count)
		return SN_ENOMEM;
	if ((nv = realloc(*vp, (*np + count) * sizeof(**vp))) == NULL)
		return SN_ENOMEM;
	*vp = nv;
	for (i = 0, s = v;; i++) {
		comma = strchr(s, ',');
		n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		trim(&s, &n);
		if (n == 0) {
			snprintf(why, whylen, "empty element in uid list");
			return SN_EINVAL;
		}
		if ((tmp = xstrndup(s, n)) == NULL)
			return SN_ENOMEM;
		rc = config_parse_uint(tmp, k->min, k->max, &u);
		free(tmp);
		if (rc != 0) {
			show(q, sizeof(q), s, n);
			snprintf(why, whylen, "\"%s\" is not a uid (0..%llu)",
			    q, k->max);
			return SN_EINVAL;
		}
		nv[*np + i] = (uid_t)u;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	*np += count;
	return 0;
}

/*
 * Store value v (NUL-terminated, already trimmed) of key k into the
 * section struct at base.  0, SN_ENOMEM, or SN_EINVAL with why filled.
 */
static int
set_value(const struct keydef *k, void *basep, const char *v, char *why,
    size_t whylen)
{
	char *base = basep, **sp, *dup, q[SHOW_MAX + 4], all[256];
	const struct word *w;
	unsigned long long u;
	uint64_t size;
	double rate;
	int b, rc;

	show(q, sizeof(q), v, strlen(v));
	if (*v == '\0') {
		snprintf(why, whylen, "empty value");
		return SN_EINVAL;
	}
	switch (k->type) {
	case V_ID:
		if (!config_valid_id(v)) {
			snprintf(why, whylen, "\"%s\" is not a valid id (%s)",
			    q, ID_RULE);
			return SN_EINVAL;
		}
		/* FALLTHROUGH */
	case V_PATH:
		if ((dup = strdup(v)) == NULL)
			return SN_ENOMEM;
		sp = (char **)(void *)(base + k->off);
		free(*sp);
		*sp = dup;
		return 0;
	case V_BOOL:
		if (config_parse_bool(v, &b) != 0) {
			snprintf(why, whylen, "\"%s\" is not a boolean (%s)", q,
			    BOOL_RULE);
			return SN_EINVAL;
		}
		*(int *)(void *)(base + k->off) = b;
		return 0;
	case V_UINT:
	case V_U64:
		rc = config_parse_uint(v, k->min, k->max, &u);
		if (rc == SN_ERANGE) {
			snprintf(why, whylen,
			    "\"%s\" is out of range (%llu..%llu)", q, k->min,
			    k->max);
			return SN_EINVAL;
		}
		if (rc != 0) {
			snprintf(why, whylen,
			    "\"%s\" is not a decimal number (%llu..%llu)", q,
			    k->min, k->max);
			return SN_EINVAL;
		}
		if (k->type == V_U64)
			*(uint64_t *)(void *)(base + k->off) = (uint64_t)u;
		else
			*(unsigned *)(void *)(base + k->off) = (unsigned)u;
		return 0;
	case V_UIDS: return set_uids(k, base, v, why, whylen);
	case V_GLOBS:
	case V_IDS: return set_globs(k, base, v, why, whylen);
	case V_CPU:
		rc = config_parse_cpu(v, &rate);
		if (rc != 0) {
			snprintf(why, whylen,
			    "\"%s\" is not a number of CPUs (0.01 .. 1024, "
			    "e.g. 0.5 or 2)",
			    q);
			return SN_EINVAL;
		}
		*(double *)(void *)(base + k->off) = rate;
		return 0;
	case V_ADDR:
		if (strcmp(v, "off") != 0 &&
		    config_parse_addr(v, NULL, 0, NULL) != 0) {
			snprintf(why, whylen,
			    "\"%s\" is not an address (%s, or off)", q,
			    ADDR_RULE);
			return SN_EINVAL;
		}
		if ((dup = strdup(v)) == NULL)
			return SN_ENOMEM;
		sp = (char **)(void *)(base + k->off);
		free(*sp);
		*sp = dup;
		return 0;
	case V_FLAGS:
	case V_PERMS: return set_words(k, base, v, why, whylen);
	case V_SIZE:
		rc = config_parse_size(v, &size);
		if (rc == SN_ENOMEM)
			return rc;
		if (rc == SN_ERANGE) {
			snprintf(why, whylen,
			    "\"%s\" is too large (at most 2^64-1 bytes)", q);
			return SN_EINVAL;
		}
		if (rc != 0) {
			snprintf(why, whylen, "\"%s\" is not a size (%s)", q,
			    SIZE_RULE);
			return SN_EINVAL;
		}
		*(uint64_t *)(void *)(base + k->off) = size;
		return 0;
	case V_RATE:
		rc = config_parse_rate(v, &rate);
		if (rc == SN_ERANGE) {
			snprintf(why, whylen, "\"%s\" is out of range (0..1)",
			    q);
			return SN_EINVAL;
		}
		if (rc != 0) {
			snprintf(why, whylen, "\"%s\" is not a fraction (%s)",
			    q, RATE_RULE);
			return SN_EINVAL;
		}
		*(double *)(void *)(base + k->off) = rate;
		return 0;
	case V_ENUM:
		for (w = k->words; w->name != NULL; w++) {
			if (strcmp(v, w->name) == 0) {
				*(int *)(void *)(base + k->off) = (int)w->val;
				return 0;
			}
		}
		words_text(all, sizeof(all), k->words);
		snprintf(why, whylen, "\"%s\" is not one of: %s", q, all);
		return SN_EINVAL;
	}
	snprintf(why, whylen, "internal error: bad key type");
	return SN_EINVAL;
}

/*
 * Set the table's defaults for the keys of section kind sect: the
 * scalar keys (lists = 0), or the list keys not set in the text (lists =
 * 1; keyline says which were set, NULL: none was).
 */
static int
apply_defaults(enum sect sect, void *base, int lists, const unsigned *keyline)
{
	char why[256];
	size_t k;
	int rc;

	for (k = 0; k < K_COUNT_; k++) {
		if (keys[k].sect != sect || keys[k].def == NULL ||
		    !(keys[k].flags & K_LIST) != !lists ||
		    (keyline != NULL && keyline[k] != 0))
			continue;
		if ((rc = set_value(&keys[k], base, keys[k].def, why,
		         sizeof(why))) != 0)
			return rc;
	}
	return 0;
}

/* ---- error messages --------------------------------------------------- */

/* "[kind \"name\"] key"; each part optional (NULL), user text cleaned. */
static void
where(char *buf, size_t len, const char *kind, size_t kindlen, const char *name,
    size_t namelen, const char *key, size_t keylen)
{
	char k[SHOW_MAX + 4], nm[SHOW_MAX + 4], ky[SHOW_MAX + 4];

	show(k, sizeof(k), kind, kindlen);
	show(nm, sizeof(nm), name, namelen);
	show(ky, sizeof(ky), key, keylen);
	if (kind != NULL && name != NULL)
		snprintf(buf, len, "[%s \"%s\"]%s%s", k, nm,
		    key != NULL ? " " : "", ky);
	else if (kind != NULL)
		snprintf(buf, len, "[%s]%s%s", k, key != NULL ? " " : "", ky);
	else
		snprintf(buf, len, "%s", ky);
}

static const char *
sec_name(const struct parser *p, const struct section *s)
{
	if (s->sect == SEC_WORKSPACE)
		return p->cfg->workspaces[s->idx].id;
	if (s->sect == SEC_VIEW)
		return p->cfg->views[s->idx].name;
	if (s->sect == SEC_ROLE)
		return p->cfg->roles[s->idx].name;
	if (s->sect == SEC_SECRET)
		return p->cfg->secret_defs[s->idx].name;
	return NULL;
}

static void
where_sec(const struct parser *p, char *buf, size_t len,
    const struct section *s, const char *key, size_t keylen)
{
	const char *name;

	if (s == NULL) {
		where(buf, len, NULL, 0, NULL, 0, key, keylen);
		return;
	}
	name = sec_name(p, s);
	where(buf, len, sections[s->sect].name, strlen(sections[s->sect].name),
	    name, name != NULL ? strlen(name) : 0, key, keylen);
}

/* Format "FILE:LINE: WHERE: why" into the caller's buffer. */
static int
fail(struct parser *p, unsigned line, const char *wh, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->errlen == 0)
		return SN_ECONFIG;
	if (wh != NULL && *wh != '\0')
		snprintf(p->err, p->errlen, "%s:%u: %s: %s", p->file, line, wh,
		    why);
	else
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, line, why);
	return SN_ECONFIG;
}

static int
nomem(struct parser *p)
{
	if (p->errlen > 0)
		snprintf(p->err, p->errlen, "%s: out of memory", p->file);
	return SN_ENOMEM;
}

/* ---- the parser ------------------------------------------------------- */

static struct section *
cur_section(struct parser *p)
{
	return p->nsecs > 0 ? &p->secs[p->nsecs - 1] : NULL;
}

/* The struct of an unnamed section (server, fs, chaos). */
static void *
unnamed_base(struct sn_config *cfg, enum sect sect)
{
	switch (sect) {
	case SEC_SERVER: return cfg;
	case SEC_FS: return &cfg->fs;
	case SEC_CHAOS: return &cfg->chaos;
	case SEC_API: return &cfg->api;
	case SEC_SECRETS: return &cfg->secrets;
	default: return NULL;
	}
}

static void *
sec_base(struct parser *p, const struct section *s)
{
	switch (s->sect) {
	case SEC_WORKSPACE: return &p->cfg->workspaces[s->idx];
	case SEC_VIEW: return &p->cfg->views[s->idx];
	case SEC_ROLE: return &p->cfg->roles[s->idx];
	case SEC_SECRET: return &p->cfg->secret_defs[s->idx];
	default: return unnamed_base(p->cfg, s->sect);
	}
}

/*
 * Checks when a section is complete: required keys, allowed_uids; the
 * defaults of list keys that were not set.
 */
static int
section_end(struct parser *p)
{
	struct section *s = cur_section(p);
	const struct sn_cfg_view *v;
	char wh[256];
	size_t k;
	int rc;

	if (s == NULL)
		return 0;
	if ((rc = apply_defaults(s->sect, sec_base(p, s), 1, s->keyline)) != 0)
		return rc == SN_ENOMEM ?
		    nomem(p) :
		    fail(p, s->line, NULL, "internal error: bad default");
	for (k = 0; k < K_COUNT_; k++) {
		if (keys[k].sect != s->sect || !(keys[k].flags & K_REQUIRED) ||
		    s->keyline[k] != 0)
			continue;
		where_sec(p, wh, sizeof(wh), s, keys[k].name,
		    strlen(keys[k].name));
		return fail(p, s->line, wh, "missing required key");
	}
	if (s->sect == SEC_VIEW) {
		v = &p->cfg->views[s->idx];
		if (v->n_allowed_uids > 0 && !v->allow_other) {
			where_sec(p, wh, sizeof(wh), s, "allowed_uids",
			    strlen("allowed_uids"));
			return fail(p, s->keyline[K_ALLOWED_UIDS], wh,
			    "only allowed with allow_other = true");
		}
	}
	return 0;
}

static int
new_section(struct parser *p, enum sect sect, const char *name, size_t namelen,
    unsigned line)
{
	struct sn_config *cfg = p->cfg;
	struct sn_cfg_workspace *ws;
	struct sn_cfg_view *views;
	struct sn_cfg_role *roles;
	struct sn_cfg_secret *sd;
	struct section *secs, *s;
	struct name e;
	char *id = NULL;
	void *base = NULL;
	int rc;

	if ((secs = grow(p->secs, &p->capsecs, p->nsecs + 1, sizeof(*secs))) ==
	    NULL)
		return nomem(p);
	p->secs = secs;
	s = &secs[p->nsecs];
	memset(s, 0, sizeof(*s));
	s->sect = sect;
	s->line = line;
	if (sect == SEC_WORKSPACE) {
		if ((ws = grow(cfg->workspaces, &p->capws,
		         cfg->n_workspaces + 1, sizeof(*ws))) == NULL)
			return nomem(p);
		cfg->workspaces = ws;
		s->idx = cfg->n_workspaces++;
		memset(&ws[s->idx], 0, sizeof(ws[s->idx]));
		if ((id = ws[s->idx].id = xstrndup(name, namelen)) == NULL)
			return nomem(p);
		ws[s->idx].line = line;
		ws[s->idx].uid = ws[s->idx].gid = SN_CFG_NO_ID;
		base = &ws[s->idx];
	} else if (sect == SEC_VIEW) {
		if ((views = grow(cfg->views, &p->capviews, cfg->n_views + 1,
		         sizeof(*views))) == NULL)
			return nomem(p);
		cfg->views = views;
		s->idx = cfg->n_views++;
		memset(&views[s->idx], 0, sizeof(views[s->idx]));
		if ((id = views[s->idx].name = xstrndup(name, namelen)) == NULL)
			return nomem(p);
		views[s->idx].line = line;
		base = &views[s->idx];
	} else if (sect == SEC_ROLE) {
		if ((roles = grow(cfg->roles, &p->caproles, cfg->n_roles + 1,
		         sizeof(*roles))) == NULL)
			return nomem(p);
		cfg->roles = roles;
		s->idx = cfg->n_roles++;
		memset(&roles[s->idx], 0, sizeof(roles[s->idx]));
		if ((id = roles[s->idx].name = xstrndup(name, namelen)) == NULL)
			return nomem(p);
		roles[s->idx].line = line;
		base = &roles[s->idx];
	} else if (sect == SEC_SECRET) {
		if ((sd = grow(cfg->secret_defs, &p->capsecrets,
		         cfg->n_secret_defs + 1, sizeof(*sd))) == NULL)
			return nomem(p);
		cfg->secret_defs = sd;
		s->idx = cfg->n_secret_defs++;
		memset(&sd[s->idx], 0, sizeof(sd[s->idx]));
		if ((id = sd[s->idx].name = xstrndup(name, namelen)) == NULL)
			return nomem(p);
		sd[s->idx].line = line;
		base = &sd[s->idx];
	}
	if (sect == SEC_API)
		cfg->api.enabled = 1;
	p->nsecs++;

	memset(&e, 0, sizeof(e));
	e.s = id != NULL ? id : "";
	e.n = id != NULL ? namelen : 0;
	e.tag = (int)sect;
	e.line = line;
	e.idx = s->idx;
	if (names_add(&p->names, &e) != 0)
		return nomem(p);
	/* Unnamed sections got their defaults when the config was made. */
	if (base != NULL && (rc = apply_defaults(sect, base, 0, NULL)) != 0)
		return rc == SN_ENOMEM ?
		    nomem(p) :
		    fail(p, line, NULL, "internal error: bad default");
	return 0;
}

static int
parse_header(struct parser *p, const char *s, size_t n, unsigned line)
{
	const char *in, *rest, *name = NULL;
	size_t inlen, kindlen, restlen, namelen = 0;
	const struct name *dup;
	char wh[256];
	int sect, rc;

	if ((rc = section_end(p)) != 0)
		return rc;
	if (n < 2 || s[n - 1] != ']')
		goto malformed;
	in = s + 1;
	inlen = n - 2;
	trim(&in, &inlen);
	for (kindlen = 0; kindlen < inlen && !is_blank(in[kindlen]); kindlen++)
		;
	if (kindlen == 0)
		goto malformed;
	rest = in + kindlen;
	restlen = inlen - kindlen;
	trim(&rest, &restlen);
	if (restlen > 0) {
		if (restlen < 2 || rest[0] != '"' || rest[restlen - 1] != '"' ||
		    memchr(rest + 1, '"', restlen - 2) != NULL)
			goto malformed;
		name = rest + 1;
		namelen = restlen - 2;
	}

	where(wh, sizeof(wh), in, kindlen, name, namelen, NULL, 0);
	for (sect = 0; sect < SEC_COUNT_; sect++) {
		if (eqn(in, kindlen, sections[sect].name))
			break;
	}
	if (sect == SEC_COUNT_)
		return fail(p, line, wh,
		    "unknown section (want [server], [workspace \"ID\"], "
		    "[view \"NAME\"], [role \"NAME\"], [fs] or [chaos])");
	if (sections[sect].named && name == NULL)
		return fail(p, line, wh, "section needs a name: [%s \"NAME\"]",
		    sections[sect].name);
	if (!sections[sect].named && name != NULL)
		return fail(p, line, wh, "section takes no name: [%s]",
		    sections[sect].name);
	if (name != NULL && sect == SEC_SECRET && !env_name_n(name, namelen, 1))
		return fail(p, line, wh, "invalid name (%s)", ENV_RULE);
	if (name != NULL && !valid_id_n(name, namelen))
		return fail(p, line, wh, "invalid name (%s)", ID_RULE);
	if ((dup = names_find(&p->names, sect, name != NULL ? name : "",
	         namelen)) != NULL)
		return fail(p, line, wh, "repeated section (first at line %u)",
		    dup->line);
	return new_section(p, (enum sect)sect, name, namelen, line);

malformed:
	return fail(p, line, NULL,
	    "malformed section header (want [kind] or [kind \"NAME\"])");
}

static int
parse_kv(struct parser *p, const char *s, size_t n, unsigned line)
{
	struct section *sec = cur_section(p);
	const char *eq, *key, *val;
	size_t keylen, vallen, k;
	char wh[256], why[512], *copy;
	int rc;

	if ((eq = memchr(s, '=', n)) == NULL) {
		where_sec(p, wh, sizeof(wh), sec, NULL, 0);
		return fail(p, line, wh,
		    "malformed line (want key = value or [section])");
	}
	key = s;
	keylen = (size_t)(eq - s);
	trim(&key, &keylen);
	val = eq + 1;
	vallen = n - (size_t)(val - s);
	trim(&val, &vallen);
	if (keylen == 0) {
		where_sec(p, wh, sizeof(wh), sec, NULL, 0);
		return fail(p, line, wh, "missing key name before '='");
	}
	where_sec(p, wh, sizeof(wh), sec, key, keylen);
	if (sec == NULL)
		return fail(p, line, wh, "key outside any section");
	for (k = 0; k < K_COUNT_; k++) {
		if (keys[k].sect == sec->sect && eqn(key, keylen, keys[k].name))
			break;
	}
	if (k == K_COUNT_)
		return fail(p, line, wh, "unknown key in [%s]",
		    sections[sec->sect].name);
	if (sec->keyline[k] != 0 && !(keys[k].flags & K_LIST))
		return fail(p, line, wh, "repeated key (first at line %u)",
		    sec->keyline[k]);
	if ((copy = xstrndup(val, vallen)) == NULL)
		return nomem(p);
	rc = set_value(&keys[k], sec_base(p, sec), copy, why, sizeof(why));
	free(copy);
	if (rc == SN_ENOMEM)
		return nomem(p);
	if (rc != 0)
		return fail(p, line, wh, "%s", why);
	if (sec->keyline[k] == 0)
		sec->keyline[k] = line;
	return 0;
}

static int
parse_line(struct parser *p, const char *s, size_t n, unsigned line)
{
	if (n > 0 && s[n - 1] == '\r') /* CRLF */
		n--;
	trim(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[')
		return parse_header(p, s, n, line);
	return parse_kv(p, s, n, line);
}

/*
 * Whole-file rules: views name known workspaces and roles, mountpoints
 * are unique; list defaults of the unnamed sections that never came.
 */
/* The line of [api] key k, or of the [api] header, or 0. */
static unsigned
api_line(const struct parser *p, int k)
{
	size_t i;

	for (i = 0; i < p->nsecs; i++)
		if (p->secs[i].sect == SEC_API)
			return p->secs[i].keyline[k] != 0 ?
			    p->secs[i].keyline[k] :
			    p->secs[i].line;
	return 0;
}

/* Rules across [api] keys. */
static int
check_api(struct parser *p)
{
	const struct sn_cfg_api *a = &p->cfg->api;
	char host[256];

	if (!a->enabled)
		return 0;
	if (strcmp(a->listen, "off") != 0 &&
	    (a->cert == NULL || a->key == NULL || a->client_ca == NULL))
		return fail(p, api_line(p, K_LISTEN), "[api]",
		    "cert, key and client_ca are required unless listen = off");
	if (strcmp(a->plain_listen, "off") == 0) {
		if (a->token_file != NULL || a->plain_agent != NULL)
			return fail(p, api_line(p, K_TOKEN_FILE), "[api]",
			    "token_file and plain_agent belong to plain_listen, "
			    "which is off");
		return 0;
	}
	if (config_parse_addr(a->plain_listen, host, sizeof(host), NULL) != 0 ||
	    !config_addr_loopback(host))
		return fail(p, api_line(p, K_PLAIN_LISTEN),
		    "[api] plain_listen",
		    "a plain HTTP listener must be on a loopback address "
		    "(127.0.0.0/8, [::1], localhost)");
	if (a->token_file == NULL || a->plain_agent == NULL)
		return fail(p, api_line(p, K_PLAIN_LISTEN),
		    "[api] plain_listen",
		    "needs token_file (the bearer token) and plain_agent");
	return 0;
}

/* The line of [secrets] key k, or of the [secrets] header, or 0. */
static unsigned
secrets_line(const struct parser *p, int k)
{
	size_t i;

	for (i = 0; i < p->nsecs; i++)
		if (p->secs[i].sect == SEC_SECRETS)
			return p->secs[i].keyline[k] != 0 ?
			    p->secs[i].keyline[k] :
			    p->secs[i].line;
	return 0;
}

/*
 * vault_addr: "http://HOST[:PORT]" (HOST a loopback address) or
 * "https://HOST[:PORT]", an optional final '/', nothing else.
 */
static int
vault_addr_ok(const char *u, char *why, size_t whylen)
{
	const char *h, *end, *port = NULL;
	char host[256], q[SHOW_MAX + 4];
	unsigned char b[16];
	unsigned long long pn;
	size_t n, hn, i;
	int tls;

	show(q, sizeof(q), u, strlen(u));
	if (strncmp(u, "https://", 8) == 0) {
		tls = 1;
		h = u + 8;
	} else if (strncmp(u, "http://", 7) == 0) {
		tls = 0;
		h = u + 7;
	} else
		goto bad;
	n = strlen(h);
	if (n > 0 && h[n - 1] == '/')
		n--;
	end = h + n;
	if (n == 0 || memchr(h, '/', n) != NULL)
		goto bad;
	if (h[0] == '[') {
		if ((port = memchr(h, ']', n)) == NULL)
			goto bad;
		hn = (size_t)(port - h - 1);
		if (hn == 0 || hn >= sizeof(host))
			goto bad;
		memcpy(host, h + 1, hn);
		host[hn] = '\0';
		if (inet_pton(AF_INET6, host, b) != 1)
			goto bad;
		port++;
		if (port == end)
			port = NULL;
		else if (*port != ':')
			goto bad;
	} else {
		port = memchr(h, ':', n);
		hn = port != NULL ? (size_t)(port - h) : n;
		if (hn == 0 || hn >= sizeof(host))
			goto bad;
		for (i = 0; i < hn; i++) {
			if (!((h[i] >= 'a' && h[i] <= 'z') ||
			        (h[i] >= 'A' && h[i] <= 'Z') ||
			        (h[i] >= '0' && h[i] <= '9') || h[i] == '.' ||
			        h[i] == '-'))
				goto bad;
		}
		memcpy(host, h, hn);
		host[hn] = '\0';
	}
	if (port != NULL) {
		char num[8];

		n = (size_t)(end - port - 1);
		if (n == 0 || n >= sizeof(num))
			goto bad;
		memcpy(num, port + 1, n);
		num[n] = '\0';
		if (config_parse_uint(num, 1, 65535, &pn) != 0)
			goto bad;
	}
	if (!tls && !config_addr_loopback(host)) {
		snprintf(why, whylen,
		    "\"%s\": plain http only to a loopback address "
		    "(127.0.0.0/8, [::1], localhost); use https://",
		    q);
		return SN_EINVAL;
	}
	return 0;
bad:
	snprintf(why, whylen,
	    "\"%s\" is not a Vault address (https://HOST[:PORT], or "
	    "http://LOOPBACK[:PORT])",
	    q);
	return SN_EINVAL;
}

/*
 * The key of a [secret]: a file name (file), a variable name (env), or
 * "path/in/kv#field" (vault).  0, or SN_EINVAL with why.
 */
static int
secret_key_ok(int provider, const char *key, char *why, size_t whylen)
{
	const char *hash, *seg, *e;
	char q[SHOW_MAX + 4];
	size_t n = strlen(key), i;

	show(q, sizeof(q), key, n);
	switch (provider) {
	case SN_SECRET_FILE:
		for (i = 0; i < n; i++)
			if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
				break;
		if (n > 255 || key[0] == '.' || strchr(key, '/') != NULL ||
		    i < n) {
			snprintf(why, whylen,
			    "\"%s\" is not a file name in [secrets] dir (no "
			    "'/', no leading '.', no control bytes, at most "
			    "255 bytes)",
			    q);
			return SN_EINVAL;
		}
		return 0;
	case SN_SECRET_ENV:
		if (!env_name_n(key, n, 0)) {
			snprintf(why, whylen,
			    "\"%s\" is not an environment variable name "
			    "([A-Za-z_][A-Za-z0-9_]*, at most 255 bytes)",
			    q);
			return SN_EINVAL;
		}
		return 0;
	default: break;
	}
	/* vault: segments of [A-Za-z0-9._-] (not "." or ".."), '#', field */
	hash = strchr(key, '#');
	if (hash == NULL || hash == key || hash[1] == '\0' || n > 1024 ||
	    strchr(hash + 1, '#') != NULL)
		goto badv;
	for (seg = key; seg < hash; seg = e + 1) {
		for (e = seg; e < hash && *e != '/'; e++) {
			if (!((*e >= 'a' && *e <= 'z') ||
			        (*e >= 'A' && *e <= 'Z') ||
			        (*e >= '0' && *e <= '9') || *e == '.' ||
			        *e == '_' || *e == '-'))
				goto badv;
		}
		if (e == seg || eqn(seg, (size_t)(e - seg), ".") ||
		    eqn(seg, (size_t)(e - seg), ".."))
			goto badv;
		if (e == hash)
			break;
	}
	for (e = hash + 1; *e != '\0'; e++)
		if ((unsigned char)*e <= 0x20 || *e == 0x7f)
			goto badv;
	return 0;
badv:
	snprintf(why, whylen,
	    "\"%s\" is not PATH#FIELD (PATH: segments of [A-Za-z0-9._-] "
	    "joined by '/', no \".\" or \"..\"; FIELD: printable, no "
	    "blanks or '#')",
	    q);
	return SN_EINVAL;
}

/* Rules across [secrets] and [secret "NAME"] sections. */
static int
check_secrets(struct parser *p)
{
	const struct sn_cfg_secrets *ss = &p->cfg->secrets;
	const struct sn_cfg_secret *d;
	const struct section *s;
	char wh[256], why[512];
	size_t i, j;

	if (ss->vault_addr != NULL &&
	    vault_addr_ok(ss->vault_addr, why, sizeof(why)) != 0)
		return fail(p, secrets_line(p, K_VAULT_ADDR),
		    "[secrets] vault_addr", "%s", why);
	if ((ss->vault_token_file != NULL || ss->vault_cacert != NULL) &&
	    ss->vault_addr == NULL)
		return fail(p,
		    secrets_line(p,
		        ss->vault_token_file != NULL ? K_VAULT_TOKEN_FILE :
		                                       K_VAULT_CACERT),
		    "[secrets]",
		    "vault_token_file and vault_cacert need "
		    "vault_addr");
	for (i = 0; i < p->nsecs; i++) {
		s = &p->secs[i];
		if (s->sect != SEC_SECRET)
			continue;
		d = &p->cfg->secret_defs[s->idx];
		for (j = 0; d->workspaces.n > 1 && j < d->workspaces.n; j++) {
			if (strcmp(d->workspaces.v[j], "*") == 0) {
				where_sec(p, wh, sizeof(wh), s, "workspaces",
				    strlen("workspaces"));
				return fail(p, s->keyline[K_SECRET_WS], wh,
				    "\"*\" (all workspaces) stands alone");
			}
		}
		where_sec(p, wh, sizeof(wh), s, "provider", strlen("provider"));
		if (d->provider == SN_SECRET_FILE && ss->dir == NULL)
			return fail(p, s->keyline[K_PROVIDER], wh,
			    "the file provider needs [secrets] dir");
		if (d->provider == SN_SECRET_VAULT &&
		    (ss->vault_addr == NULL || ss->vault_token_file == NULL))
			return fail(p, s->keyline[K_PROVIDER], wh,
			    "the vault provider needs [secrets] vault_addr and "
			    "vault_token_file");
		if (secret_key_ok(d->provider, d->key, why, sizeof(why)) != 0) {
			where_sec(p, wh, sizeof(wh), s, "key", strlen("key"));
			return fail(p, s->keyline[K_SECRET_KEY], wh, "%s", why);
		}
	}
	return 0;
}

static int
finish(struct parser *p)
{
	const struct sn_cfg_view *v;
	const struct section *s;
	const struct name *dup;
	struct name e;
	char wh[256], q[SHOW_MAX + 4];
	unsigned perms;
	size_t i;
	int rc, sect;

	if ((rc = section_end(p)) != 0)
		return rc;
	if ((rc = check_api(p)) != 0)
		return rc;
	if ((rc = check_secrets(p)) != 0)
		return rc;
	for (sect = 0; sect < SEC_COUNT_; sect++) {
		if (sections[sect].named ||
		    names_find(&p->names, sect, "", 0) != NULL)
			continue;
		if ((rc = apply_defaults((enum sect)sect,
		         unnamed_base(p->cfg, (enum sect)sect), 1, NULL)) != 0)
			return rc == SN_ENOMEM ?
			    nomem(p) :
			    fail(p, 0, NULL, "internal error: bad default");
	}
	for (i = 0; i < p->nsecs; i++) {
		s = &p->secs[i];
		if (s->sect != SEC_VIEW)
			continue;
		v = &p->cfg->views[s->idx];
		if (names_find(&p->names, SEC_WORKSPACE, v->workspace,
		        strlen(v->workspace)) == NULL) {
			where_sec(p, wh, sizeof(wh), s, "workspace",
			    strlen("workspace"));
			show(q, sizeof(q), v->workspace, strlen(v->workspace));
			return fail(p, s->keyline[K_WORKSPACE], wh,
			    "no [workspace \"%s\"] in this file", q);
		}
		if (names_find(&p->names, SEC_ROLE, v->role, strlen(v->role)) ==
		        NULL &&
		    policy_role_builtin(v->role, &perms) != 0) {
			where_sec(p, wh, sizeof(wh), s, "role", strlen("role"));
			show(q, sizeof(q), v->role, strlen(v->role));
			return fail(p, s->keyline[K_ROLE], wh,
			    "no [role \"%s\"] in this file, and not a built-in "
			    "role (Dev, Reader, Audit, Admin)",
			    q);
		}
		memset(&e, 0, sizeof(e));
		e.s = v->mountpoint;
		e.n = strlen(v->mountpoint);
		e.tag = TAG_MOUNT;
		e.line = s->keyline[K_MOUNTPOINT];
		e.idx = s->idx;
		if ((dup = names_find(&p->names, e.tag, e.s, e.n)) != NULL) {
			where_sec(p, wh, sizeof(wh), s, "mountpoint",
			    strlen("mountpoint"));
			show(q, sizeof(q), e.s, e.n);
			return fail(p, e.line, wh,
			    "\"%s\" is already the mountpoint of "
			    "[view \"%s\"] (line %u)",
			    q, p->cfg->views[dup->idx].name, dup->line);
		}
		if (names_add(&p->names, &e) != 0)
			return nomem(p);
	}
	return 0;
}

int
config_parse(const char *text, size_t len, const char *name,
    struct sn_config **out, char *err, size_t errlen)
{
	struct parser p;
	const char *s, *nl, *nul;
	size_t rem, n;
	unsigned line = 0;
	int rc;

	if (out == NULL)
		return SN_EINVAL;
	*out = NULL;
	memset(&p, 0, sizeof(p));
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
		p.err = err;
		p.errlen = errlen;
	}
	if (name == NULL)
		name = "(config)";
	show(p.file, sizeof(p.file), name, strlen(name));
	if (text == NULL && len > 0)
		return fail(&p, 0, NULL, "no text");

	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL ||
	    (p.cfg->path = strdup(name)) == NULL ||
	    apply_defaults(SEC_SERVER, p.cfg, 0, NULL) != 0 ||
	    apply_defaults(SEC_FS, &p.cfg->fs, 0, NULL) != 0 ||
	    apply_defaults(SEC_CHAOS, &p.cfg->chaos, 0, NULL) != 0 ||
	    apply_defaults(SEC_API, &p.cfg->api, 0, NULL) != 0 ||
	    apply_defaults(SEC_SECRETS, &p.cfg->secrets, 0, NULL) != 0) {
		rc = nomem(&p);
		goto out;
	}
	if (len > 0 && (nul = memchr(text, '\0', len)) != NULL) {
		for (s = text, line = 1;
		     (s = memchr(s, '\n', (size_t)(nul - s))) != NULL; s++)
			line++;
		rc = fail(&p, line, NULL, "NUL byte in the text");
		goto out;
	}
	for (s = text, rem = len; rem > 0; s = nl + 1, rem -= n + 1) {
		nl = memchr(s, '\n', rem);
		n = nl != NULL ? (size_t)(nl - s) : rem;
		if (line == UINT_MAX) {
			rc = fail(&p, line, NULL, "too many lines");
			goto out;
		}
		if ((rc = parse_line(&p, s, n, ++line)) != 0)
			goto out;
		if (nl == NULL)
			break;
	}
	if ((rc = finish(&p)) != 0)
		goto out;
	*out = p.cfg;
	p.cfg = NULL;
	rc = 0;
out:
	config_free(p.cfg);
	free(p.secs);
	free(p.names.v);
	return rc;
}

int
config_load(const char *path, struct sn_config **out, char *err, size_t errlen)
{
	char file[256], *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd = -1, rc;

	if (out == NULL)
		return SN_EINVAL;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	else
		err = NULL;
	if (path == NULL)
		return SN_EINVAL;
	show(file, sizeof(file), path, strlen(path));

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (err != NULL)
			snprintf(err, errlen, "%s: cannot open: %s", file,
			    strerror(errno));
		rc = SN_ECONFIG;
		goto out;
	}
	if ((buf = malloc(CONFIG_MAX_SIZE + 1)) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", file);
		rc = SN_ENOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, CONFIG_MAX_SIZE + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			if (err != NULL)
				snprintf(err, errlen, "%s: cannot read: %s",
				    file, strerror(errno));
			rc = SN_ECONFIG;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONFIG_MAX_SIZE) {
			if (err != NULL)
				snprintf(err, errlen,
				    "%s: file is larger than %d bytes", file,
				    CONFIG_MAX_SIZE);
			rc = SN_ECONFIG;
			goto out;
		}
	}
	rc = config_parse(buf, len, path, out, err, err != NULL ? errlen : 0);
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- the rest of the interface ---------------------------------------- */

int
config_parse_cpu(const char *s, double *out)
{
	unsigned long long ip = 0, fr = 0, scale = 1;
	const char *p = s;
	double v;

	if (s == NULL || *p < '0' || *p > '9')
		return SN_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		ip = ip * 10 + (unsigned long long)(*p - '0');
		if (ip > 1024)
			return SN_ERANGE;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return SN_EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale >= 1000000)
				return SN_EINVAL;
			fr = fr * 10 + (unsigned long long)(*p - '0');
			scale *= 10;
		}
	}
	if (*p != '\0')
		return SN_EINVAL;
	v = (double)ip + (double)fr / (double)scale;
	if (v < 0.01 || v > 1024)
		return SN_ERANGE;
	*out = v;
	return 0;
}

int
config_parse_addr(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h;
	unsigned char buf[16];
	unsigned long long u;
	char tmp[64];
	size_t n;

	if (s == NULL)
		return SN_EINVAL;
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL)
			return SN_EINVAL;
		h = s + 1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return SN_EINVAL;
		h = s;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(tmp))
		return SN_EINVAL;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	if (strcmp(tmp, "localhost") != 0 &&
	    inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, tmp, buf) != 1)
		return SN_EINVAL;
	if (config_parse_uint(colon + 1, 1, 65535, &u) != 0)
		return SN_EINVAL;
	if (host != NULL) {
		if (hostlen <= n)
			return SN_ERANGE;
		memcpy(host, tmp, n + 1);
	}
	if (port != NULL)
		*port = (unsigned)u;
	return 0;
}

int
config_addr_loopback(const char *host)
{
	unsigned char b[16];
	static const unsigned char v6lo[16] = { [15] = 1 };

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, b) == 1)
		return b[0] == 127;
	if (inet_pton(AF_INET6, host, b) == 1)
		return memcmp(b, v6lo, 16) == 0;
	return 0;
}

/* *out = a + b, malloc'd.  0 or SN_ENOMEM. */
static int
pathcat(char **out, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > SIZE_MAX - nb - 1 || (*out = malloc(na + nb + 1)) == NULL)
		return SN_ENOMEM;
	memcpy(*out, a, na);
	memcpy(*out + na, b, nb + 1);
	return 0;
}

int
config_demo(const char *state_dir, const char *mountpoint,
    struct sn_config **out)
{
	static const char tail[] = "/workspaces/demo/root";
	struct sn_config *cfg = NULL;
	struct sn_cfg_workspace *ws;
	struct sn_cfg_view *v;
	size_t n;
	int rc;

	if (out == NULL)
		return SN_EINVAL;
	*out = NULL;
	if (state_dir == NULL || *state_dir == '\0' || mountpoint == NULL ||
	    *mountpoint == '\0')
		return SN_EINVAL;

	rc = SN_ENOMEM;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup("(built-in)")) == NULL ||
	    (cfg->state_dir = strdup(state_dir)) == NULL ||
	    apply_defaults(SEC_FS, &cfg->fs, 0, NULL) != 0 ||
	    apply_defaults(SEC_CHAOS, &cfg->chaos, 0, NULL) != 0 ||
	    apply_defaults(SEC_CHAOS, &cfg->chaos, 1, NULL) != 0 ||
	    apply_defaults(SEC_API, &cfg->api, 0, NULL) != 0 ||
	    apply_defaults(SEC_API, &cfg->api, 1, NULL) != 0 ||
	    apply_defaults(SEC_SECRETS, &cfg->secrets, 0, NULL) != 0)
		goto out;
	/* the API on loopback, with the development PKI serve makes */
	cfg->api.enabled = 1;
	if (pathcat(&cfg->api.cert, state_dir, "/pki/server.pem") != 0 ||
	    pathcat(&cfg->api.key, state_dir, "/pki/server.key") != 0 ||
	    pathcat(&cfg->api.client_ca, state_dir, "/pki/ca.pem") != 0 ||
	    pathcat(&cfg->api.crl, state_dir, "/pki/crl.pem") != 0 ||
	    pathcat(&cfg->views_dir, state_dir, "/views") != 0)
		goto out;

	if ((cfg->workspaces = calloc(1, sizeof(*ws))) == NULL)
		goto out;
	cfg->n_workspaces = 1;
	ws = &cfg->workspaces[0];
	n = strlen(state_dir);
	if (n > SIZE_MAX - sizeof(tail) ||
	    (ws->root = malloc(n + sizeof(tail))) == NULL)
		goto out;
	memcpy(ws->root, state_dir, n);
	memcpy(ws->root + n, tail, sizeof(tail));
	ws->uid = ws->gid = SN_CFG_NO_ID;
	if ((ws->id = strdup("demo")) == NULL ||
	    apply_defaults(SEC_WORKSPACE, ws, 0, NULL) != 0 ||
	    (ws->agents.v = calloc(1, sizeof(char *))) == NULL ||
	    (ws->agents.v[0] = strdup("dev")) == NULL)
		goto out;
	ws->agents.n = 1;

	if ((cfg->views = calloc(1, sizeof(*v))) == NULL)
		goto out;
	cfg->n_views = 1;
	v = &cfg->views[0];
	if (apply_defaults(SEC_VIEW, v, 0, NULL) != 0 || /* role "Dev" */
	    (v->name = strdup("demo")) == NULL ||
	    (v->workspace = strdup("demo")) == NULL ||
	    (v->agent = strdup("dev")) == NULL ||
	    (v->mountpoint = strdup(mountpoint)) == NULL)
		goto out;

	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

static void
strlist_free(struct sn_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
config_free(struct sn_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_workspaces; i++) {
		free(cfg->workspaces[i].id);
		free(cfg->workspaces[i].root);
		strlist_free(&cfg->workspaces[i].deny);
		strlist_free(&cfg->workspaces[i].readonly);
		strlist_free(&cfg->workspaces[i].agents);
	}
	free(cfg->workspaces);
	for (i = 0; i < cfg->n_views; i++) {
		free(cfg->views[i].name);
		free(cfg->views[i].workspace);
		free(cfg->views[i].agent);
		free(cfg->views[i].role);
		free(cfg->views[i].mountpoint);
		free(cfg->views[i].allowed_uids);
	}
	free(cfg->views);
	for (i = 0; i < cfg->n_roles; i++)
		free(cfg->roles[i].name);
	free(cfg->roles);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->audit_key_file);
	free(cfg->views_dir);
	free(cfg->api.listen);
	free(cfg->api.cert);
	free(cfg->api.key);
	free(cfg->api.client_ca);
	free(cfg->api.crl);
	free(cfg->api.ops_listen);
	free(cfg->api.plain_listen);
	free(cfg->api.token_file);
	free(cfg->api.plain_agent);
	free(cfg->api.plain_role);
	for (i = 0; i < cfg->n_secret_defs; i++) {
		free(cfg->secret_defs[i].name);
		free(cfg->secret_defs[i].key);
		strlist_free(&cfg->secret_defs[i].workspaces);
	}
	free(cfg->secret_defs);
	free(cfg->secrets.dir);
	free(cfg->secrets.vault_addr);
	free(cfg->secrets.vault_token_file);
	free(cfg->secrets.vault_mount);
	free(cfg->secrets.vault_cacert);
	free(cfg);
}

int
config_workspace_defaults(struct sn_cfg_workspace *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->uid = ws->gid = SN_CFG_NO_ID;
	return apply_defaults(SEC_WORKSPACE, ws, 0, NULL);
}

const struct sn_cfg_workspace *
config_workspace(const struct sn_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->n_workspaces; i++) {
		if (strcmp(cfg->workspaces[i].id, id) == 0)
			return &cfg->workspaces[i];
	}
	return NULL;
}

const struct sn_cfg_role *
config_role(const struct sn_config *cfg, const char *name)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->n_roles; i++) {
		if (strcmp(cfg->roles[i].name, name) == 0)
			return &cfg->roles[i];
	}
	return NULL;
}
