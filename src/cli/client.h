/*
 * client.h - the client side of the control API (docs/api.md), for the
 * commands that speak to a server: ws, tool, lock, audit --server.
 *
 * Settings.  Each command's option table includes CLIENT_LONG_OPTIONS;
 * getopt's answers go to client_flags_opt().  client_opts_load() then
 * resolves every setting, first match wins:
 *   1. the command line: --server URL --cert FILE --key FILE --cacert FILE
 *      --token-file FILE --timeout SECONDS
 *   2. the environment: SENTINEL_SERVER, SENTINEL_CERT, SENTINEL_KEY,
 *      SENTINEL_CACERT, SENTINEL_TOKEN_FILE (an empty value is unset)
 *   3. the file $XDG_CONFIG_HOME/sentinel/client.conf (default
 *      ~/.config/sentinel/client.conf; a missing file is no settings):
 *      "key = value" lines with keys server, cert, key, cacert,
 *      token_file; '#' starts a comment line; an unknown key, a repeated
 *      key or a line without '=' is an error naming FILE:LINE.  A
 *      relative path there is relative to the file's directory; "~/" is
 *      $HOME.
 *
 * Calls.  client_call() makes one HTTP/1.1 request with libcurl: TLS
 * peer and host verification on (with --cacert, that CA file alone is
 * trusted), the client certificate and key when set, a bearer token when
 * set, no redirects followed, plain http only to a loopback host (and
 * never through a proxy).  client_request() wraps it with what every
 * command does with the answer: the error message and the exit status.
 *
 * Exit statuses of the client commands (CLIENT_EXIT_*): 0 success, 1 the
 * server answered an error (or a local error), 2 usage, 3 the server
 * cannot be reached or the TLS connection cannot be made (including a
 * missing or unusable certificate, key or CA file).
 *
 * Ownership: struct client_opts owns copies of its strings (released by
 * client_opts_clear(), which wipes the token); struct client_flags only
 * points into argv.  Bodies returned to the caller are malloc'd and the
 * caller's to free(); cJSON trees are the caller's to cJSON_Delete().
 */
#ifndef SN_CLI_CLIENT_H
#define SN_CLI_CLIENT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define CLIENT_MAX_REPLY   (256UL << 20) /* bytes of a reply body */
#define CLIENT_MAX_INPUT   (256UL << 20) /* bytes read from a file/stdin */
#define CLIENT_TIMEOUT_DEF 120L          /* seconds per request */
#define CLIENT_TIMEOUT_MAX 86400L

#define CLIENT_EXIT_OK          0
#define CLIENT_EXIT_FAIL        1
#define CLIENT_EXIT_USAGE       2
#define CLIENT_EXIT_UNREACHABLE 3

/* ---- command-line flags -------------------------------------------------- */

enum {
	CLIENT_O_SERVER = 0x1000,
	CLIENT_O_CERT,
	CLIENT_O_KEY,
	CLIENT_O_CACERT,
	CLIENT_O_TOKEN_FILE,
	CLIENT_O_TIMEOUT,
};

/* Entries for a struct option table (before its terminating zero entry). */
/* clang-format off */
#define CLIENT_LONG_OPTIONS \
	{ "server", required_argument, NULL, CLIENT_O_SERVER }, \
	{ "cert", required_argument, NULL, CLIENT_O_CERT }, \
	{ "key", required_argument, NULL, CLIENT_O_KEY }, \
	{ "cacert", required_argument, NULL, CLIENT_O_CACERT }, \
	{ "token-file", required_argument, NULL, CLIENT_O_TOKEN_FILE }, \
	{ "timeout", required_argument, NULL, CLIENT_O_TIMEOUT }, \
	{ "output", required_argument, NULL, 'o' }
/* clang-format on */

/* The help text of those options (for a command's --help). */
#define CLIENT_HELP_OPTIONS \
	"Connection (flags override SENTINEL_* variables, which override\n" \
	"~/.config/sentinel/client.conf; see docs/cli.md):\n" \
	"  --server URL       https://HOST:PORT, or http://127.0.0.1:PORT for\n" \
	"                     the plain loopback listener  [SENTINEL_SERVER]\n" \
	"  --cert FILE        client certificate, PEM       [SENTINEL_CERT]\n" \
	"  --key FILE         its private key, PEM          [SENTINEL_KEY]\n" \
	"  --cacert FILE      the only CA(s) trusted for the server's\n" \
	"                     certificate (default: the system's)\n" \
	"                                                   [SENTINEL_CACERT]\n" \
	"  --token-file FILE  bearer token, for the plain listener\n" \
	"                                               [SENTINEL_TOKEN_FILE]\n" \
	"  --timeout SECONDS  per request (default 120)\n" \
	"  -o text|json       human-readable output (default) or the server's\n" \
	"                     JSON reply, verbatim\n"

#define CLIENT_HELP_EXIT \
	"Exit status: 0 success; 1 the server answered an error (printed as\n" \
	"\"sentinel: HTTP 404 not_found: MESSAGE\") or a local error; 2 usage\n" \
	"error; 3 the server cannot be reached or TLS fails (a missing or\n" \
	"unusable certificate, key or CA file included).\n"

struct client_flags {
	const char *server, *cert, *key, *cacert, *token_file;
	long timeout_s; /* 0: not given */
	int json;       /* -o json */
	int output_set; /* -o was given */
};

/*
 * Take getopt's answer c (with optarg arg).  Returns 1 if c is a client
 * option (recorded in f), 0 if it is not, SN_EINVAL if its value is bad
 * (why in err).
 */
int client_flags_opt(struct client_flags *f, int c, const char *arg, char *err,
    size_t errlen);

/* ---- resolved settings --------------------------------------------------- */

enum {
	CLIENT_K_SERVER,
	CLIENT_K_CERT,
	CLIENT_K_KEY,
	CLIENT_K_CACERT,
	CLIENT_K_TOKEN_FILE,
	CLIENT_K_N_
};

/* The client.conf file, parsed: vals[CLIENT_K_*], NULL when absent. */
struct client_conf {
	char *vals[CLIENT_K_N_];
	unsigned line[CLIENT_K_N_]; /* where each was set */
};

/*
 * Parse text[0..len) (name for messages).  Pure: no file, no global.
 * Values are as written (trimmed); paths are not resolved.  On failure
 * c is empty, err says "NAME:LINE: why" and SN_ECONFIG (or SN_ENOMEM) is
 * returned.
 */
int client_conf_parse(const char *text, size_t len, const char *name,
    struct client_conf *c, char *err, size_t errlen);
void client_conf_clear(struct client_conf *c);

struct client_opts {
	const char *server;              /* NULL: none configured */
	const char *cert, *key, *cacert; /* NULL: not set */
	const char *token;               /* bearer, NULL: none */
	long timeout_s;
	const char *token_file;      /* where token came from */
	const char *conf_path;       /* the client.conf consulted */
	char *mem_[CLIENT_K_N_ + 3]; /* private: owned storage */
};

/*
 * Resolve o from f (may be NULL), the environment and client.conf, then
 * read the token file.  o->server is checked (client_url_check) but may
 * be NULL: a command that needs a server says so (client_need_server).
 * Returns 0; SN_ECONFIG (client.conf unreadable or bad, or a bad URL);
 * SN_ESYS (the token file cannot be read: errno); SN_EINVAL (empty
 * token); SN_ENOMEM.  On failure err has one line and o is cleared.
 */
int client_opts_load(struct client_opts *o, const struct client_flags *f,
    char *err, size_t errlen);
void client_opts_clear(struct client_opts *o);

/*
 * Check a server URL: "https://HOST[:PORT][/PREFIX]" or
 * "http://LOOPBACK[:PORT][/PREFIX]" (127.0.0.0/8, [::1], localhost); no
 * user info, query or fragment.  0 or SN_EINVAL (why in err).
 */
int client_url_check(const char *url, char *err, size_t errlen);

/* ---- calls --------------------------------------------------------------- */

/*
 * One request: METHOD o->server+path (path starts with '/'; the caller
 * makes sure it needs no escaping), json_body sent as application/json
 * when not NULL.  Returns 0 when the server answered (any status:
 * *status, and *body, malloc'd and NUL-terminated, possibly ""); on
 * failure *body is NULL, err holds one line and the return is SN_EIO
 * (cannot connect, TLS, credentials, timeout, connection lost),
 * SN_ERANGE (reply over CLIENT_MAX_REPLY), SN_EINVAL (no server),
 * SN_ENOMEM.
 */
int client_call(const struct client_opts *o, const char *method,
    const char *path, const char *json_body, long *status, char **body,
    char *err, size_t errlen);

/* The exit status for a client_call() failure: 3 for SN_EIO, else 1. */
int client_exit_status(int r);

/*
 * "HTTP 404 not_found: MESSAGE" from an error reply (its JSON error
 * object; for "locked", the holder and expiry are added), or "HTTP 502:
 * FIRST LINE OF BODY" when the body is not one.  Control characters are
 * escaped.  Pure.
 */
void client_error_text(long status, const char *body, char *out, size_t outlen);

/*
 * One call as a command makes it: body (may be NULL) is printed and
 * sent.  On a 2xx reply with a JSON body (or an empty one), *reply is
 * the parsed body (NULL for an empty one), *raw the text, and the result
 * 0.  Otherwise prints "sentinel: ..." on stderr and returns 1 (an error
 * status, a reply that is not JSON) or 3 (client_call failed).
 * raw or reply may be NULL when not wanted.
 */
int client_request(const struct client_opts *o, const char *method,
    const char *path, const cJSON *body, char **raw, cJSON **reply);
/* The same with the body as JSON text (NULL: none), sent as it is. */
int client_request_text(const struct client_opts *o, const char *method,
    const char *path, const char *body, char **raw, cJSON **reply);

/*
 * Print a 2xx reply for -o json: the text as received, ending with one
 * newline (nothing for an empty body).  0, or 1 when stdout fails.
 */
int client_print_raw(const char *raw);

/* ---- helpers for the commands -------------------------------------------- */

/*
 * If o has no server, print why (and how to set one) as a usage error of
 * command NAME and return 2; else 0.
 */
int client_need_server(const char *name, const char *usage,
    const struct client_opts *o);

/*
 * What every client command does once its flags are read: load the
 * settings (flags, SENTINEL_*, client.conf) into o and require a server.
 * 0 (o is then the caller's to clear), or the exit status with the message
 * printed and o cleared.
 */
struct cmd_entry;
int client_open(const struct cmd_entry *e, const struct client_flags *f,
    struct client_opts *o);

/*
 * Write s to f as text safe for a terminal: valid UTF-8 as is, except
 * controls (C0, DEL, C1) and backslash, which are written \xHH, as is
 * every byte not part of valid UTF-8.  NULL is written "-".
 */
void client_put_safe(FILE *f, const char *s);

/* Length (1-4) of the valid UTF-8 sequence at p[0..n), or 0. */
size_t client_utf8_len(const unsigned char *p, size_t n);

/* 1 if p[0..n) is valid UTF-8 without a NUL byte. */
int client_is_text(const unsigned char *p, size_t n);

/*
 * A JSON value as text: a string escaped (client_put_safe), a number as
 * an integer when it is one, true/false/null, anything else compact JSON.
 */
void client_put_value(FILE *f, const cJSON *v);

/* Every member of object obj as "KEY: VALUE" lines (prefix before each). */
void client_print_fields(FILE *f, const cJSON *obj, const char *prefix);

/*
 * Call fn(p, n, arg) with the raw text p[0..n) of each element of the
 * array member NAME of the JSON object in text, so that a value is
 * passed on exactly as the server wrote it (cJSON holds numbers as
 * doubles, which would round a nanosecond time).  text must be valid
 * JSON (cJSON_Parse it first).  Returns 0, SN_ENOENT when there is no
 * such array, SN_EINVAL on malformed text, or what fn returned (non-0
 * stops).  Pure.
 */
int client_json_each_raw(const char *text, const char *name,
    int (*fn)(const char *p, size_t n, void *arg), void *arg);

/* Member name of obj as a string, or NULL when absent or not a string. */
const char *client_str(const cJSON *obj, const char *name);

/*
 * Base64 (RFC 4648, with padding).  encode: *out is malloc'd and
 * NUL-terminated.  decode: strict (no blanks, padding where it belongs);
 * *out malloc'd (NUL-terminated too, not counted in *outlen).  0,
 * SN_EINVAL (not base64), SN_ENOMEM, SN_ERANGE (too large).
 */
int client_b64_encode(const unsigned char *in, size_t len, char **out);
int client_b64_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen);

/*
 * Read all of a file ("-": standard input) into a malloc'd buffer (NUL
 * added, not counted), at most CLIENT_MAX_INPUT bytes.  0, SN_ESYS
 * (errno), SN_ERANGE (too large), SN_ENOMEM.
 */
int client_read_file(const char *path, char **out, size_t *len);

/*
 * Parse a decimal number in [min, max] for option NAME: 0, or a usage
 * error message in err and SN_EINVAL.
 */
int client_parse_num(const char *name, const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *out, char *err, size_t errlen);

#endif
