/*
 * secrets.h - the secret providers: the values injected into the
 * environment of a command the exec tool runs.
 *
 * Agents hold no secrets.  Each [secret "NAME"] of the config names a
 * provider and a key (docs/config.md "Secrets"):
 *   file   a file inside [secrets] dir (e.g. a mounted Kubernetes Secret),
 *          opened beneath that directory only: symlinks that stay inside
 *          it (the ..data layout) are followed, any that leaves it is
 *          refused; at most 64 KiB; one trailing newline is dropped.
 *          Read at every call, so a rotated Secret is picked up.
 *   env    a variable of the server's environment, copied when the store
 *          is opened (the environment of a running server is fixed).
 *   vault  HashiCorp Vault KV v2: GET {vault_addr}/v1/{mount}/data/{path}
 *          with the token of vault_token_file (read at every request, so
 *          a renewed token is picked up), TLS verified (vault_cacert, or
 *          the system CAs), 5 s timeout; data.data[field] must be a
 *          string.  Responses are cached per path for cache_ttl seconds.
 *
 * A value is never empty and never holds a NUL byte (it goes into an
 * environment).  Values never appear in an error message or a log line:
 * messages name the secret, its provider and its key (a file name, a
 * variable name or a Vault path), and for Vault the HTTP status.  Every
 * buffer that held a value or the token is wiped (explicit_bzero) before
 * it is freed.  Any failure of any provider fails the whole call (fail
 * closed): a command never runs with some of its secrets missing.
 *
 * Thread safety: secrets_for_exec() may be called from many threads at
 * once on one store (the Vault cache is under a mutex; nothing else in
 * the store changes after secrets_open()).  secrets_open() calls
 * curl_global_init() when a Vault secret is configured: call it before
 * starting threads.
 *
 * Ownership: the store is the caller's, released by secrets_close()
 * (NULL is a no-op); it copies what it needs from cfg, which may be freed
 * after secrets_open().  The values array of secrets_for_exec() is the
 * caller's, released by secrets_free_values().
 */
#ifndef SN_SECRETS_H
#define SN_SECRETS_H

#include <stddef.h>

struct sn_config;
struct secret_store;

#define SECRETS_FILE_MAX (64 * 1024) /* file provider: largest value */

/*
 * A store for the [secrets] and [secret] sections of cfg (none: an empty
 * store).  Opens [secrets] dir and reads the env secrets now.  OUT: *out
 * (NULL on failure).  0, or SN_E* with err set ("secret NAME (env): ...",
 * "[secrets] dir: ...").
 */
int secrets_open(const struct sn_config *cfg, struct secret_store **out,
    char *err, size_t errlen);
void secrets_close(struct secret_store *s);

/* One secret to inject: value[len] is a NUL (not counted in len). */
struct secret_value {
	char name[65]; /* the environment variable */
	unsigned char *value;
	size_t len;
};

/*
 * The secrets to inject into an exec of workspace ws (those whose
 * workspaces list holds ws or "*"), in config order.  OUT: *out (NULL
 * when *n is 0), *n.  0, or SN_E* with err naming the secret and the
 * provider (never the value); on failure nothing is returned.
 */
int secrets_for_exec(struct secret_store *s, const char *ws,
    struct secret_value **out, size_t *n, char *err, size_t errlen);

/* Wipe every value (explicit_bzero), free them and v.  NULL is a no-op. */
void secrets_free_values(struct secret_value *v, size_t n);

/*
 * For tests: 1 makes the file provider resolve keys with its portable
 * component walk (the one used where openat2() is missing) instead of
 * openat2(RESOLVE_BENEATH).  Process-wide; default 0.
 */
void secrets_test_force_walk(int on);

#endif
