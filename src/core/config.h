/*
 * config.h - Sentinel's configuration: a strict INI dialect.
 *
 * Syntax (documented for users in docs/config.md):
 *   # comment            ; comment          (whole lines only)
 *   [server]             [fs]               [chaos]
 *   [workspace "ID"]     [view "NAME"]      [role "NAME"]
 *   [secrets]            [secret "NAME"]
 *   key = value          (leading/trailing blanks trimmed; any line length)
 *   list_key = a, b, c   (a repeated list key appends)
 *
 * Anything else is an error: an unknown section or key, a repeated scalar
 * key, a repeated section name, a bad value (a path pattern that does
 * not compile, an unknown permission), a missing required key, a view
 * naming an unknown workspace or role.  Errors are reported as
 * "FILE:LINE: [section] key: why" in the caller's err buffer.
 *
 * The parser is pure: config_parse() touches no file and no global, so it
 * can be unit-tested and fuzzed.  config_load() reads a file and calls it.
 *
 * Ownership: a struct sn_config and everything it points to belongs to the
 * caller of config_parse()/config_load()/config_demo() and is released by
 * config_free() (config_free(NULL) is a no-op).
 */
#ifndef SN_CONFIG_H
#define SN_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SN_ID_MAX 64 /* ids match [A-Za-z0-9._-]{1,64} */

struct sn_strlist {
	char **v;
	size_t n;
};

struct sn_cfg_workspace {
	char *id; /* section name */
	char *
	    root; /* backing directory; NULL = <state_dir>/workspaces/<id>/root */
	int external_writers;       /* bool, default 0 */
	struct sn_strlist deny;     /* path patterns (glob.h) */
	struct sn_strlist readonly; /* path patterns (glob.h) */
	int symlinks_any;           /* 1: any; 0: inside (default) */
	uint64_t max_file_size;     /* bytes; 0 = unlimited (default) */
	uint64_t quota;             /* bytes; 0 = unlimited (default) */
	int audit_fail_open;        /* bool, default 0 (fail closed) */
	struct sn_strlist agents;   /* agents granted this workspace */
	unsigned uid, gid;          /* owner of what tools create, and the user
	                      commands run as; SN_CFG_NO_ID: ours (tools),
	                      SN_EXEC_DEFAULT_ID (exec) */
	double cpu;                 /* exec: CPUs, default 1 */
	uint64_t memory;            /* exec: bytes, default 1G */
	unsigned pids;              /* exec: tasks, default 256 */
	int network;                /* exec: 0 none (default), 1 host */
	unsigned exec_max;     /* exec: calls at once, default 4 (429 past) */
	unsigned exec_timeout; /* exec: longest timeout_s, default 600 */
	unsigned line;         /* line of the section header */
};

struct sn_cfg_view {
	char *name;          /* section name */
	char *workspace;     /* required; must name a [workspace] */
	char *agent;         /* required; an id */
	char *role;          /* default "Dev"; an id */
	char *mountpoint;    /* required */
	int allow_other;     /* bool, default 0 */
	uid_t *allowed_uids; /* list of uids (numbers), only with allow_other */
	size_t n_allowed_uids;
	unsigned line;
};

struct sn_cfg_fs {
	unsigned
	    cache_timeout; /* seconds the kernel may cache entries/attrs, default 86400 */
	unsigned
	    fd_cache; /* O_PATH descriptors kept open per view, default 4096, 64..100000 */
	unsigned
	    threads; /* max idle FUSE worker threads per view, default 8, 1..256 */
	int writeback_cache; /* bool, default 1 */
};

/* [role "NAME"]: overrides a built-in role of the same name (policy.h). */
struct sn_cfg_role {
	char *name;     /* section name */
	unsigned perms; /* PERM_* bits (policy.h); required, non-empty */
	unsigned line;
};

#define SN_CHAOS_TIMEOUT   0x1u /* errors = timeout: ETIMEDOUT */
#define SN_CHAOS_DISK_FULL 0x2u /* errors = disk_full: ENOSPC */
#define SN_CHAOS_FS        0x1u /* scope = fs */
#define SN_CHAOS_API       0x2u /* scope = api */

struct sn_cfg_chaos {
	double rate;     /* 0..1, default 0 (off) */
	unsigned errors; /* SN_CHAOS_TIMEOUT|DISK_FULL, default both */
	uint64_t seed;   /* default 0 */
	unsigned scope;  /* SN_CHAOS_FS|API, default fs */
};

#define SN_CFG_NO_ID       0xffffffffu /* [workspace] uid/gid not set */
#define SN_EXEC_DEFAULT_ID 65534 /* nobody/nogroup: exec without uid/gid */

/*
 * [api]: the control API (docs/api.md).  Addresses are "HOST:PORT" or
 * "off".  enabled: the section was present (or the demo).
 */
struct sn_cfg_api {
	int enabled;
	char *listen;       /* HTTPS + mTLS, default 127.0.0.1:8443 */
	char *cert, *key;   /* server certificate chain and key (PEM) */
	char *client_ca;    /* CA(s) that sign client certificates (PEM) */
	char *crl;          /* optional CRL (PEM) */
	char *ops_listen;   /* healthz/readyz/metrics, default 127.0.0.1:9090 */
	char *plain_listen; /* plain HTTP on loopback, default off */
	char *token_file;   /* its bearer token (required with plain_listen) */
	char *plain_agent;  /* the agent it authenticates */
	char *plain_role;   /* default Dev */
	uint64_t max_body;  /* request body cap, default 32M */
	unsigned max_connections; /* default 1024 */
	unsigned per_ip;          /* connections per client IP, default 256 */
	unsigned threads;         /* worker threads, default 8 */
	unsigned timeout;         /* idle connection timeout s, default 120 */
};

/*
 * [secrets]: where the secret providers look (docs/config.md "Secrets").
 * All NULL when the section is absent.
 */
struct sn_cfg_secrets {
	char *dir;        /* file provider root (a mounted Secret) */
	char *vault_addr; /* http(s)://HOST[:PORT]; http only to loopback */
	char *vault_token_file; /* holds the Vault token */
	char *vault_mount;      /* KV v2 mount, default "secret" */
	char *vault_cacert;     /* CA bundle for vault_addr; NULL: system CAs */
	unsigned cache_ttl;     /* seconds a Vault read is reused, default 60 */
};

#define SN_SECRET_FILE  0    /* provider = file */
#define SN_SECRET_ENV   1    /* provider = env */
#define SN_SECRET_VAULT 2    /* provider = vault */
#define SN_INJECT_ENV   0x1u /* inject = exec:env */

/* [secret "NAME"]: NAME is the environment variable it is injected as. */
struct sn_cfg_secret {
	char *name;   /* section name: [A-Z_][A-Z0-9_]{0,63} */
	int provider; /* SN_SECRET_* (required) */
	char *key;    /* file name in dir, env variable, or "path#field" */
	struct sn_strlist workspaces; /* ids, or the one element "*" */
	unsigned inject;              /* SN_INJECT_* bits, default exec:env */
	unsigned line;
};

struct sn_config {
	char *path;           /* file it came from, or "(built-in)" */
	char *state_dir;      /* [server] state_dir; NULL when not set */
	char *audit_key_file; /* [server]; NULL: the audit module's default */
	char *views_dir;      /* [server]; where API-made views are mounted */
	struct sn_cfg_api api;
	struct sn_cfg_fs fs;
	struct sn_cfg_chaos chaos;
	struct sn_cfg_workspace *workspaces;
	size_t n_workspaces;
	struct sn_cfg_view *views;
	size_t n_views;
	struct sn_cfg_role *roles;
	size_t n_roles;
	struct sn_cfg_secrets secrets;
	struct sn_cfg_secret *secret_defs; /* [secret "NAME"] sections */
	size_t n_secret_defs;
};

/*
 * Parse text[0..len) (need not be NUL-terminated; a NUL byte inside is an
 * error).  name is used in error messages.  On success *out is a new
 * config; on failure *out is NULL, err holds one line, and SN_ECONFIG (or
 * SN_ENOMEM) is returned.
 */
int config_parse(const char *text, size_t len, const char *name,
    struct sn_config **out, char *err, size_t errlen);

/* Read and parse a file (at most 1 MiB).  Same contract as config_parse. */
int config_load(const char *path, struct sn_config **out, char *err,
    size_t errlen);

/*
 * The embedded demo defaults used by `sentinel serve` with no config:
 * state_dir (the argument, required), workspace "demo" with root
 * <state_dir>/workspaces/demo/root, view "demo" of agent "dev", role
 * "Dev", mounted at mountpoint (the argument); the API on loopback with
 * the development PKI under <state_dir>/pki (cert server.pem, key
 * server.key, client_ca ca.pem, crl crl.pem), views_dir <state_dir>/views.
 */
int config_demo(const char *state_dir, const char *mountpoint,
    struct sn_config **out);

void config_free(struct sn_config *cfg);

/*
 * Fill ws with the defaults of a [workspace] section (for workspaces made
 * through the API): no id, no root, no rules, no list.  0 or SN_ENOMEM.
 */
int config_workspace_defaults(struct sn_cfg_workspace *ws);

/* The workspace with this id, or NULL. */
const struct sn_cfg_workspace *config_workspace(const struct sn_config *cfg,
    const char *id);

/* 1 if s matches [A-Za-z0-9._-]{1,64} (and is not "." or ".."), else 0. */
int config_valid_id(const char *s);

/*
 * Parse helpers, exported for unit tests and for CLI flags:
 *  config_parse_bool: true/false/yes/no/on/off/1/0 (case-insensitive)
 *  config_parse_uint: decimal, no sign, no junk, within [min, max]
 *  config_parse_size: a uint with an optional unit K M G T (or KiB MiB
 *    GiB TiB; powers of 1024), blanks allowed before the unit; SN_ERANGE
 *    past 2^64-1
 *  config_parse_rate: a decimal fraction 0..1 ("0", "1", "0.25", at
 *    most 15 digits after the point, no sign, no exponent), parsed
 *    without the locale
 * Each returns 0, SN_EINVAL (not the format) or SN_ERANGE, and leaves
 * *out untouched on failure.
 */
int config_parse_bool(const char *s, int *out);
int config_parse_uint(const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *out);
int config_parse_size(const char *s, uint64_t *out);
int config_parse_rate(const char *s, double *out);

/*
 * "HOST:PORT": HOST an IPv4 literal, [IPv6 literal] or localhost, PORT
 * 1..65535.  OUT: host (without brackets; may be NULL), *port (may be
 * NULL).  0, SN_EINVAL or SN_ERANGE (hostlen too small).
 */
int config_parse_addr(const char *s, char *host, size_t hostlen,
    unsigned *port);
/* A number of CPUs: "2", "0.5" (0.01 .. 1024, at most 6 decimals).
 * 0, SN_EINVAL or SN_ERANGE. */
int config_parse_cpu(const char *s, double *out);
/* 1 if host (as config_parse_addr gives it) is a loopback address. */
int config_addr_loopback(const char *host);

/* The [role] section with this name, or NULL. */
const struct sn_cfg_role *config_role(const struct sn_config *cfg,
    const char *name);

#endif
