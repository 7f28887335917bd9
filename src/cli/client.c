/*
 * client.c - settings, HTTP calls (libcurl) and output helpers of the
 * client commands.  See client.h for the contract.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "core/config.h"
#include "core/err.h"
#include "core/glob.h"
#include "core/text.h"

#define CONF_MAX    (64 * 1024) /* bytes of client.conf */
#define TOKEN_MAX   4096        /* bytes of a token file */
#define CONNECT_MAX 10L         /* seconds to connect, at most */

static const char *const conf_keys[CLIENT_K_N_] = {
	"server",
	"cert",
	"key",
	"cacert",
	"token_file",
};

static const char *const env_names[CLIENT_K_N_] = {
	"SENTINEL_SERVER",
	"SENTINEL_CERT",
	"SENTINEL_KEY",
	"SENTINEL_CACERT",
	"SENTINEL_TOKEN_FILE",
};

/* ---- flags ---------------------------------------------------------------- */

int
client_flags_opt(struct client_flags *f, int c, const char *arg, char *err,
    size_t errlen)
{
	unsigned long long v;

	switch (c) {
	case CLIENT_O_SERVER:
		if (client_url_check(arg, err, errlen) < 0)
			return SN_EINVAL;
		f->server = arg;
		return 1;
	case CLIENT_O_CERT: f->cert = arg; return 1;
	case CLIENT_O_KEY: f->key = arg; return 1;
	case CLIENT_O_CACERT: f->cacert = arg; return 1;
	case CLIENT_O_TOKEN_FILE: f->token_file = arg; return 1;
	case CLIENT_O_TIMEOUT:
		if (client_parse_num("--timeout", arg, 1, CLIENT_TIMEOUT_MAX,
		        &v, err, errlen) < 0)
			return SN_EINVAL;
		f->timeout_s = (long)v;
		return 1;
	case 'o':
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
			snprintf(err, errlen,
			    "-o: expected text or json, not '%s'", arg);
			return SN_EINVAL;
		}
		f->json = strcmp(arg, "json") == 0;
		f->output_set = 1;
		return 1;
	default: return 0;
	}
}

int
client_parse_num(const char *name, const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
	*out = 0;
	if (config_parse_uint(s, min, max, out) < 0) {
		snprintf(err, errlen,
		    "bad %s '%s': expected a number %llu..%llu", name, s, min,
		    max);
		return SN_EINVAL;
	}
	return 0;
}

/* ---- client.conf ---------------------------------------------------------- */

void
client_conf_clear(struct client_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CLIENT_K_N_; i++)
		free(c->vals[i]);
	memset(c, 0, sizeof(*c));
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
client_conf_parse(const char *text, size_t len, const char *name,
    struct client_conf *c, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl, *ls, *le, *eq, *ks, *ke;
	unsigned line = 0;
	size_t k;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: a NUL byte", name);
		return SN_ECONFIG;
	}
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ls = p;
		le = nl != NULL ? nl : end;
		p = nl != NULL ? nl + 1 : end;
		if (le > ls && le[-1] == '\r')
			le--;
		while (ls < le && is_blank(*ls))
			ls++;
		while (le > ls && is_blank(le[-1]))
			le--;
		if (ls == le || *ls == '#')
			continue;
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected key = value",
			    name, line);
			r = SN_ECONFIG;
			goto out;
		}
		ks = ls;
		ke = eq;
		while (ke > ks && is_blank(ke[-1]))
			ke--;
		for (k = 0; k < CLIENT_K_N_; k++)
			if ((size_t)(ke - ks) == strlen(conf_keys[k]) &&
			    memcmp(ks, conf_keys[k], (size_t)(ke - ks)) == 0)
				break;
		if (k == CLIENT_K_N_) {
			snprintf(err, errlen,
			    "%s:%u: unknown key '%.*s' (expected server, "
			    "cert, key, cacert or token_file)",
			    name, line, (int)(ke - ks > 64 ? 64 : ke - ks), ks);
			r = SN_ECONFIG;
			goto out;
		}
		if (c->vals[k] != NULL) {
			snprintf(err, errlen,
			    "%s:%u: %s: repeated (first on "
			    "line %u)",
			    name, line, conf_keys[k], c->line[k]);
			r = SN_ECONFIG;
			goto out;
		}
		eq++;
		while (eq < le && is_blank(*eq))
			eq++;
		if (eq == le) {
			snprintf(err, errlen, "%s:%u: %s: empty value", name,
			    line, conf_keys[k]);
			r = SN_ECONFIG;
			goto out;
		}
		c->vals[k] = strndup(eq, (size_t)(le - eq));
		if (c->vals[k] == NULL) {
			snprintf(err, errlen, "out of memory");
			r = SN_ENOMEM;
			goto out;
		}
		c->line[k] = line;
	}
out:
	if (r < 0)
		client_conf_clear(c);
	return r;
}

/* "~/x" -> $HOME/x; "x" -> DIR/x (dir of the conf file); "/x" as is. */
static char *
conf_path_value(const char *v, const char *conf_path)
{
	const char *home, *slash;
	char *s = NULL;

	if (v[0] == '/')
		return strdup(v);
	if (v[0] == '~' && v[1] == '/') {
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0')
			return NULL;
		return asprintf(&s, "%s%s", home, v + 1) < 0 ? NULL : s;
	}
	slash = strrchr(conf_path, '/');
	if (slash == NULL)
		return strdup(v);
	return asprintf(&s, "%.*s/%s", (int)(slash - conf_path), conf_path, v) <
	        0 ?
	    NULL :
	    s;
}

/* The client.conf path, malloc'd; NULL with *none set when there is none. */
static char *
conf_default_path(int *none)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *s = NULL;

	*none = 0;
	if (xdg != NULL && xdg[0] == '/') /* XDG: a relative one is ignored */
		return asprintf(&s, "%s/sentinel/client.conf", xdg) < 0 ? NULL :
		                                                          s;
	if (home == NULL || home[0] == '\0') {
		*none = 1;
		return NULL;
	}
	return asprintf(&s, "%s/.config/sentinel/client.conf", home) < 0 ?
	    NULL :
	    s;
}

/* Read a whole small file into a NUL-terminated buffer. */
static int
slurp(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0;
	ssize_t got;
	int fd, r = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return SN_ESYS;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				r = SN_ERANGE;
				break;
			}
			cap = cap != 0 ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				r = SN_ENOMEM;
				break;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = SN_ESYS;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			r = SN_ERANGE;
			break;
		}
	}
	if (r == SN_ESYS) {
		int e = errno;

		close(fd);
		free(buf);
		errno = e;
		return r;
	}
	close(fd);
	if (r < 0) {
		if (buf != NULL)
			OPENSSL_cleanse(buf, cap);
		free(buf);
		return r;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return SN_ENOMEM;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

void
client_opts_clear(struct client_opts *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < sizeof(o->mem_) / sizeof(o->mem_[0]); i++) {
		if (o->mem_[i] != NULL && o->mem_[i] == o->token)
			OPENSSL_cleanse(o->mem_[i], strlen(o->mem_[i]));
		free(o->mem_[i]);
	}
	memset(o, 0, sizeof(*o));
}

/* Keep s (malloc'd, may be NULL) in o: 0, or -1 (s is not taken). */
static int
keep(struct client_opts *o, char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(o->mem_) / sizeof(o->mem_[0]); i++)
		if (o->mem_[i] == NULL) {
			o->mem_[i] = s;
			return 0;
		}
	return -1;
}

static int
load_token(struct client_opts *o, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, i;
	int r;

	r = slurp(path, TOKEN_MAX, &buf, &len);
	if (r == SN_ESYS) {
		snprintf(err, errlen, "token file %s: %s", path,
		    strerror(errno));
		return r;
	}
	if (r == SN_ERANGE) {
		snprintf(err, errlen, "token file %s: over %d bytes", path,
		    TOKEN_MAX);
		return SN_EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, "token file %s: %s", path, err_str(r));
		return r;
	}
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	        is_blank(buf[len - 1])))
		buf[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			break;
	if (len == 0 || i < len) {
		snprintf(err, errlen, "token file %s: %s", path,
		    len == 0 ? "empty" :
		               "a blank or control character inside the token");
		OPENSSL_cleanse(buf, len);
		free(buf);
		return SN_EINVAL;
	}
	if (keep(o, buf) < 0) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	o->token = buf;
	return 0;
}

int
client_opts_load(struct client_opts *o, const struct client_flags *f, char *err,
    size_t errlen)
{
	struct client_conf conf;
	const char *flag[CLIENT_K_N_] = { NULL }, *env, *v;
	const char **dst[CLIENT_K_N_];
	char *path = NULL, *text = NULL, *s;
	size_t len = 0, k;
	int none = 0, r;

	memset(o, 0, sizeof(*o));
	memset(&conf, 0, sizeof(conf));
	dst[CLIENT_K_SERVER] = &o->server;
	dst[CLIENT_K_CERT] = &o->cert;
	dst[CLIENT_K_KEY] = &o->key;
	dst[CLIENT_K_CACERT] = &o->cacert;
	dst[CLIENT_K_TOKEN_FILE] = &o->token_file;
	if (f != NULL) {
		flag[CLIENT_K_SERVER] = f->server;
		flag[CLIENT_K_CERT] = f->cert;
		flag[CLIENT_K_KEY] = f->key;
		flag[CLIENT_K_CACERT] = f->cacert;
		flag[CLIENT_K_TOKEN_FILE] = f->token_file;
	}
	o->timeout_s =
	    f != NULL && f->timeout_s > 0 ? f->timeout_s : CLIENT_TIMEOUT_DEF;

	path = conf_default_path(&none);
	if (path == NULL && !none) {
		snprintf(err, errlen, "out of memory");
		r = SN_ENOMEM;
		goto out;
	}
	if (path != NULL) {
		r = slurp(path, CONF_MAX, &text, &len);
		if (r == SN_ESYS && errno == ENOENT) {
			r = 0;
		} else if (r < 0) {
			snprintf(err, errlen, "%s: %s", path,
			    r == SN_ESYS       ? strerror(errno) :
			        r == SN_ERANGE ? "over 64 KiB" :
			                         err_str(r));
			r = r == SN_ENOMEM ? r : SN_ECONFIG;
			goto out;
		} else {
			r = client_conf_parse(text, len, path, &conf, err,
			    errlen);
			if (r < 0)
				goto out;
			if (keep(o, path) < 0) {
				snprintf(err, errlen, "out of memory");
				r = SN_ENOMEM;
				goto out;
			}
			o->conf_path = path;
			path = NULL;
		}
	}

	for (k = 0; k < CLIENT_K_N_; k++) {
		env = getenv(env_names[k]);
		if (flag[k] != NULL)
			v = flag[k];
		else if (env != NULL && env[0] != '\0')
			v = env;
		else
			v = NULL;
		if (v != NULL) {
			s = strdup(v);
		} else if (conf.vals[k] != NULL) {
			s = k == CLIENT_K_SERVER ?
			    strdup(conf.vals[k]) :
			    conf_path_value(conf.vals[k], o->conf_path);
		} else {
			continue;
		}
		if (keep(o, s) < 0) {
			free(s);
			snprintf(err, errlen, "out of memory");
			r = SN_ENOMEM;
			goto out;
		}
		*dst[k] = s;
	}
	if (o->server != NULL) {
		s = (char *)o->server;
		len = strlen(s);
		while (len > 0 && s[len - 1] == '/')
			s[--len] = '\0';
		if (client_url_check(s, err, errlen) < 0) {
			r = SN_ECONFIG;
			goto out;
		}
	}
	r = o->token_file != NULL ? load_token(o, o->token_file, err, errlen) :
	                            0;
out:
	client_conf_clear(&conf);
	free(text);
	free(path);
	if (r < 0)
		client_opts_clear(o);
	return r;
}

/* ---- URLs ----------------------------------------------------------------- */

static int
is_loopback(const char *h, size_t n)
{
	unsigned oct[4];
	char buf[64], tail;

	if ((n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 5 && memcmp(h, "[::1]", 5) == 0))
		return 1;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strspn(buf, "0123456789.") != n ||
	    sscanf(buf, "%3u.%3u.%3u.%3u%c", &oct[0], &oct[1], &oct[2], &oct[3],
	        &tail) != 4)
		return 0;
	return oct[0] == 127 && oct[1] < 256 && oct[2] < 256 && oct[3] < 256;
}

int
client_url_check(const char *url, char *err, size_t errlen)
{
	const char *p, *host, *hend, *port, *aend;
	int https;
	long pn;

	if (strncmp(url, "https://", 8) == 0) {
		https = 1;
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		https = 0;
		host = url + 7;
	} else {
		snprintf(err, errlen,
		    "server '%s': expected https://HOST:PORT (or "
		    "http://127.0.0.1:PORT)",
		    url);
		return SN_EINVAL;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '?' || *p == '#' || *p == '@' || *p == '\\' ||
		    *p == '%') {
			snprintf(err, errlen,
			    "server URL: unexpected character 0x%02x "
			    "(no user, query, fragment or escape)",
			    (unsigned char)*p);
			return SN_EINVAL;
		}
	aend = host + strcspn(host, "/");
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(aend - host));
		if (hend == NULL || hend == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") !=
		        (size_t)(hend - host - 1)) {
			snprintf(err, errlen, "server URL: bad [IPv6] host");
			return SN_EINVAL;
		}
		hend++;
	} else {
		hend = host + strcspn(host, ":/");
		if (hend == host ||
		    strspn(host,
		        "abcdefghijklmnopqrstuvwxyz"
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
		        (size_t)(hend - host)) {
			snprintf(err, errlen,
			    "server URL: bad or missing host");
			return SN_EINVAL;
		}
	}
	if (hend < aend) {
		if (*hend != ':' || hend + 1 == aend) {
			snprintf(err, errlen, "server URL: bad port");
			return SN_EINVAL;
		}
		port = hend + 1;
		pn = 0;
		for (p = port; p < aend; p++) {
			if (*p < '0' || *p > '9' || pn > 65535) {
				pn = -1;
				break;
			}
			pn = pn * 10 + (*p - '0');
		}
		if (pn < 1 || pn > 65535) {
			snprintf(err, errlen, "server URL: bad port '%.*s'",
			    (int)(aend - port > 16 ? 16 : aend - port), port);
			return SN_EINVAL;
		}
	}
	if (!https && !is_loopback(host, (size_t)(hend - host))) {
		snprintf(err, errlen,
		    "server '%s': plain http only to a loopback address "
		    "(127.0.0.1, [::1], localhost); use https",
		    url);
		return SN_EINVAL;
	}
	return 0;
}

/* ---- credentials ---------------------------------------------------------- */

static void
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0 && ERR_reason_error_string(e) != NULL)
		snprintf(buf, len, "%s", ERR_reason_error_string(e));
	else
		snprintf(buf, len, "not PEM");
	ERR_clear_error();
}

/*
 * Load the PEM files before libcurl does, to say exactly which one is
 * wrong: libcurl's messages name neither the file nor the cause.
 */
static int
check_credentials(const struct client_opts *o, char *err, size_t errlen)
{
	const char *keyfile = o->key != NULL ? o->key : o->cert;
	X509 *cert = NULL, *ca = NULL;
	EVP_PKEY *pkey = NULL;
	char why[256];
	BIO *b = NULL;
	int r = SN_EIO;

	if (o->key != NULL && o->cert == NULL) {
		snprintf(err, errlen,
		    "a client key (%s) but no client "
		    "certificate: set --cert",
		    o->key);
		goto out;
	}
	if (o->cacert != NULL) {
		b = BIO_new_file(o->cacert, "r");
		if (b == NULL) {
			ERR_clear_error();
			snprintf(err, errlen, "CA file %s: %s", o->cacert,
			    strerror(errno));
			goto out;
		}
		ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (ca == NULL) {
			ssl_reason(why, sizeof(why));
			snprintf(err, errlen,
			    "CA file %s: no PEM certificate in it (%s)",
			    o->cacert, why);
			goto out;
		}
		BIO_free(b);
		b = NULL;
	}
	if (o->cert != NULL) {
		b = BIO_new_file(o->cert, "r");
		if (b == NULL) {
			ERR_clear_error();
			snprintf(err, errlen, "client certificate %s: %s",
			    o->cert, strerror(errno));
			goto out;
		}
		cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (cert == NULL) {
			ssl_reason(why, sizeof(why));
			snprintf(err, errlen,
			    "client certificate %s: not a PEM certificate (%s)",
			    o->cert, why);
			goto out;
		}
		BIO_free(b);
		b = BIO_new_file(keyfile, "r");
		if (b == NULL) {
			ERR_clear_error();
			snprintf(err, errlen, "client key %s: %s", keyfile,
			    strerror(errno));
			goto out;
		}
		/* no passphrase callback: an encrypted key is refused */
		pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
		if (pkey == NULL) {
			ssl_reason(why, sizeof(why));
			snprintf(err, errlen,
			    "client key %s: not an unencrypted PEM private "
			    "key (%s)%s",
			    keyfile, why, o->key == NULL ? "; set --key" : "");
			goto out;
		}
		if (X509_check_private_key(cert, pkey) != 1) {
			ERR_clear_error();
			snprintf(err, errlen,
			    "client key %s does not match certificate %s",
			    keyfile, o->cert);
			goto out;
		}
	}
	r = 0;
out:
	BIO_free(b);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return r;
}

/* ---- calls ---------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_cleanup_at_exit(void)
{
	curl_global_cleanup();
}

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (curl_init_rc == CURLE_OK)
		atexit(curl_cleanup_at_exit);
}

struct sink {
	char *p;
	size_t len, cap;
	int over; /* the reply passed CLIENT_MAX_REPLY */
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb, cap;
	char *np;

	if (n > CLIENT_MAX_REPLY - s->len) {
		s->over = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		cap = s->cap != 0 ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > CLIENT_MAX_REPLY + 1)
			cap = CLIENT_MAX_REPLY + 1;
		np = realloc(s->p, cap);
		if (np == NULL)
			return 0;
		s->p = np;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

/* A hint for a TLS failure, from what libcurl said. */
static const char *
tls_hint(const struct client_opts *o, const char *detail)
{
	if (strstr(detail, "wrong version number") != NULL ||
	    strstr(detail, "packet length too long") != NULL)
		return " (is it a plain http listener?)";
	if (o->cert == NULL)
		return " (no client certificate was offered: set --cert and "
		       "--key)";
	if (strstr(detail, "alert") != NULL ||
	    strstr(detail, "getpeername") != NULL ||
	    strstr(detail, "reset") != NULL)
		return " (does the server trust the CA of the client "
		       "certificate, and is it valid?)";
	return "";
}

/* One line for a failed transfer. */
static int
describe(const struct client_opts *o, CURLcode rc, const char *cerr, long oserr,
    char *err, size_t errlen)
{
	const char *detail = cerr[0] != '\0' ? cerr : curl_easy_strerror(rc);
	int https = strncmp(o->server, "https:", 6) == 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		snprintf(err, errlen, "cannot connect to %s: %s", o->server,
		    oserr != 0 ? strerror((int)oserr) : detail);
		return SN_EIO;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "cannot connect to %s: unknown host (%s)",
		    o->server, detail);
		return SN_EIO;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "%s: no answer within %ld s", o->server,
		    o->timeout_s);
		return SN_EIO;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(err, errlen,
		    "TLS: server certificate not trusted (%s): %s",
		    o->cacert != NULL ? o->cacert : "system CAs", detail);
		return SN_EIO;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(err, errlen, "TLS: CA file %s: %s",
		    o->cacert != NULL ? o->cacert : "(system)", detail);
		return SN_EIO;
	case CURLE_SSL_CERTPROBLEM:
		snprintf(err, errlen, "TLS: client certificate %s: %s",
		    o->cert != NULL ? o->cert : "", detail);
		return SN_EIO;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(err, errlen, "TLS: handshake with %s failed: %s%s",
		    o->server, detail, tls_hint(o, detail));
		return SN_EIO;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:
		snprintf(err, errlen, "out of memory");
		return SN_ENOMEM;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (https)
			snprintf(err, errlen,
			    "TLS: %s closed the connection: %s%s", o->server,
			    detail, tls_hint(o, detail));
		else
			snprintf(err, errlen, "%s: connection lost: %s",
			    o->server, detail);
		return SN_EIO;
	default:
		snprintf(err, errlen, "%s: %s", o->server, detail);
		return SN_EIO;
	}
}

int
client_call(const struct client_opts *o, const char *method, const char *path,
    const char *json_body, long *status, char **body, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE], *url = NULL, ua[64];
	struct curl_slist *hdrs = NULL, *nh;
	struct sink s = { NULL, 0, 0, 0 };
	CURL *h = NULL;
	CURLcode rc;
	long oserr = 0;
	int r, https;

	*status = 0;
	*body = NULL;
	if (errlen > 0)
		err[0] = '\0';
	cerr[0] = '\0';
	if (o->server == NULL) {
		snprintf(err, errlen, "no server configured");
		return SN_EINVAL;
	}
	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "bad request path");
		return SN_EINVAL;
	}
	https = strncmp(o->server, "https://", 8) == 0;
	if (https && (r = check_credentials(o, err, errlen)) < 0)
		return r;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
		return SN_ENOMEM;
	}
	if (asprintf(&url, "%s%s", o->server, path) < 0) {
		url = NULL;
		r = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (h == NULL || hdrs == NULL) {
		r = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (json_body != NULL) {
		nh = curl_slist_append(hdrs, "Content-Type: application/json");
		if (nh == NULL) {
			r = SN_ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		hdrs = nh;
	}
	snprintf(ua, sizeof(ua), "sentinel/%s", PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    o->timeout_s < CONNECT_MAX ? o->timeout_s : CONNECT_MAX);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)CLIENT_MAX_REPLY);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	if (https) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(h, CURLOPT_SSLVERSION,
		    (long)CURL_SSLVERSION_TLSv1_2);
		if (o->cacert != NULL) {
			/* this CA alone: not the system's as well */
			curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
			curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		}
		if (o->cert != NULL) {
			curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
			curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
			curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
			curl_easy_setopt(h, CURLOPT_SSLKEY,
			    o->key != NULL ? o->key : o->cert);
		}
	} else {
		/* a bearer token over plain http never goes to a proxy */
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	}
	if (o->token != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, o->token);
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (json_body != NULL || strcmp(method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(json_body != NULL ? strlen(json_body) :
			                                     0));
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			    json_body != NULL ? json_body : "");
		}
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(err, errlen, "%s: reply larger than %lu MiB",
			    o->server, CLIENT_MAX_REPLY >> 20);
			r = SN_ERANGE;
			goto out;
		}
		(void)curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		r = describe(o, rc, cerr, oserr, err, errlen);
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (s.p == NULL && (s.p = calloc(1, 1)) == NULL) {
		r = SN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*body = s.p;
	s.p = NULL;
	r = 0;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	free(url);
	free(s.p);
	return r;
}

int
client_exit_status(int r)
{
	return r == SN_EIO ? CLIENT_EXIT_UNREACHABLE : CLIENT_EXIT_FAIL;
}

/* Escape s (terminal-safe, as client_put_safe) into out. */
static void
safe_copy(const char *s, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, k;

	if (outlen == 0)
		return;
	while (i < n && o + 1 < outlen) {
		k = client_utf8_len(p + i, n - i);
		if (k == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' ||
		    (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			if (o + 5 > outlen)
				break;
			snprintf(out + o, 5, "\\x%02x", p[i]);
			o += 4;
			i++;
			continue;
		}
		if (o + k + 1 > outlen)
			break;
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

void
client_error_text(long status, const char *body, char *out, size_t outlen)
{
	const cJSON *e, *code, *msg, *holder, *expires;
	char c[128], m[1024], hb[128], xb[64];
	cJSON *j = NULL;
	size_t n;

	if (body != NULL)
		j = cJSON_Parse(body);
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	code = cJSON_GetObjectItemCaseSensitive(e, "code");
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(code)) {
		safe_copy(code->valuestring, strlen(code->valuestring), c,
		    sizeof(c));
		m[0] = '\0';
		if (cJSON_IsString(msg))
			safe_copy(msg->valuestring, strlen(msg->valuestring), m,
			    sizeof(m));
		holder = cJSON_GetObjectItemCaseSensitive(e, "holder");
		expires = cJSON_GetObjectItemCaseSensitive(e, "expires");
		if (cJSON_IsString(holder)) {
			safe_copy(holder->valuestring,
			    strlen(holder->valuestring), hb, sizeof(hb));
			if (cJSON_IsString(expires))
				safe_copy(expires->valuestring,
				    strlen(expires->valuestring), xb,
				    sizeof(xb));
			else
				snprintf(xb, sizeof(xb),
				    "its writer closes "
				    "the file");
			snprintf(out, outlen,
			    "HTTP %ld %s: %s (held by %s until %s)", status, c,
			    m[0] != '\0' ? m : "(no message)", hb, xb);
		} else {
			snprintf(out, outlen, "HTTP %ld %s: %s", status, c,
			    m[0] != '\0' ? m : "(no message)");
		}
	} else if (status >= 300 && status < 400) {
		snprintf(out, outlen,
		    "HTTP %ld: a redirect, which is not followed (is the "
		    "server URL right?)",
		    status);
	} else if (body != NULL && body[0] != '\0') {
		n = strcspn(body, "\r\n");
		safe_copy(body, n > 200 ? 200 : n, m, sizeof(m));
		snprintf(out, outlen, "HTTP %ld: %s", status, m);
	} else {
		snprintf(out, outlen, "HTTP %ld (no body)", status);
	}
	cJSON_Delete(j);
}

int
client_request_text(const struct client_opts *o, const char *method,
    const char *path, const char *text, char **raw, cJSON **reply)
{
	char err[1024], *out = NULL;
	cJSON *j = NULL;
	long status = 0;
	int r, rc = CLIENT_EXIT_FAIL;

	if (raw != NULL)
		*raw = NULL;
	if (reply != NULL)
		*reply = NULL;
	r = client_call(o, method, path, text, &status, &out, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "sentinel: %s\n", err);
		rc = client_exit_status(r);
		goto out;
	}
	if (status < 200 || status > 299) {
		client_error_text(status, out, err, sizeof(err));
		fprintf(stderr, "sentinel: %s\n", err);
		goto out;
	}
	if (out[0] != '\0' && (j = cJSON_Parse(out)) == NULL) {
		fprintf(stderr,
		    "sentinel: HTTP %ld: the reply is not JSON (%zu bytes)\n",
		    status, strlen(out));
		goto out;
	}
	if (reply != NULL) {
		*reply = j;
		j = NULL;
	}
	if (raw != NULL) {
		*raw = out;
		out = NULL;
	}
	rc = CLIENT_EXIT_OK;
out:
	cJSON_Delete(j);
	free(out);
	return rc;
}

int
client_request(const struct client_opts *o, const char *method,
    const char *path, const cJSON *body, char **raw, cJSON **reply)
{
	char *text = NULL;
	int rc;

	if (raw != NULL)
		*raw = NULL;
	if (reply != NULL)
		*reply = NULL;
	if (body != NULL && (text = cJSON_PrintUnformatted(body)) == NULL) {
		fprintf(stderr, "sentinel: out of memory\n");
		return CLIENT_EXIT_FAIL;
	}
	rc = client_request_text(o, method, path, text, raw, reply);
	cJSON_free(text);
	return rc;
}

int
client_print_raw(const char *raw)
{
	size_t n = raw != NULL ? strlen(raw) : 0;

	if (n == 0)
		return CLIENT_EXIT_OK;
	fwrite(raw, 1, n, stdout);
	if (raw[n - 1] != '\n')
		putchar('\n');
	return fflush(stdout) != 0 ? CLIENT_EXIT_FAIL : CLIENT_EXIT_OK;
}

/* ---- helpers -------------------------------------------------------------- */

int
client_open(const struct cmd_entry *e, const struct client_flags *f,
    struct client_opts *o)
{
	char err[1024];
	int rc;

	if (client_opts_load(o, f, err, sizeof(err)) < 0) {
		fprintf(stderr, "sentinel: %s\n", err);
		client_opts_clear(o);
		return CLIENT_EXIT_FAIL;
	}
	rc = client_need_server(e->name, e->usage, o);
	if (rc != 0)
		client_opts_clear(o);
	return rc;
}

int
client_need_server(const char *name, const char *usage,
    const struct client_opts *o)
{
	if (o->server != NULL)
		return 0;
	fprintf(stderr,
	    "sentinel %s: no server: use --server URL, SENTINEL_SERVER, or "
	    "server = URL in %s\nusage: sentinel %s %s\n",
	    name,
	    o->conf_path != NULL ? o->conf_path :
	                           "~/.config/sentinel/client.conf",
	    name, usage);
	fprintf(stderr, "Try 'sentinel %s --help'.\n", name);
	return CLIENT_EXIT_USAGE;
}

size_t
client_utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;

	return glob_utf8_char((const char *)p, n, &cp);
}

int
client_is_text(const unsigned char *p, size_t n)
{
	return text_utf8_valid((const char *)p, n, 0);
}

void
client_put_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0, k;

	if (s == NULL) {
		fputc('-', f);
		return;
	}
	n = strlen(s);
	while (i < n) {
		k = client_utf8_len(p + i, n - i);
		if (k == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' ||
		    (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			fprintf(f, "\\x%02x", p[i]);
			i++;
			continue;
		}
		fwrite(p + i, 1, k, f);
		i += k;
	}
}

void
client_put_value(FILE *f, const cJSON *v)
{
	char *s;
	double d;

	if (cJSON_IsString(v)) {
		client_put_safe(f, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (d == (double)(long long)d && d > -9007199254740992.0 &&
		    d < 9007199254740992.0)
			fprintf(f, "%lld", (long long)d);
		else
			fprintf(f, "%.17g", d);
	} else if (cJSON_IsTrue(v)) {
		fputs("true", f);
	} else if (cJSON_IsFalse(v)) {
		fputs("false", f);
	} else if (v == NULL || cJSON_IsNull(v)) {
		fputs("-", f);
	} else {
		s = cJSON_PrintUnformatted(v);
		client_put_safe(f, s != NULL ? s : "?");
		cJSON_free(s);
	}
}

void
client_print_fields(FILE *f, const cJSON *obj, const char *prefix)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
	{
		fputs(prefix, f);
		client_put_safe(f, m->string != NULL ? m->string : "?");
		fputs(": ", f);
		client_put_value(f, m);
		fputc('\n', f);
	}
}

const char *
client_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- raw JSON ------------------------------------------------------------- */

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Past the string that starts at p ('"'), or NULL. */
static const char *
skip_string(const char *p)
{
	for (p++; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past the value that starts at p, or NULL.  Nesting is bounded. */
static const char *
skip_value(const char *p)
{
	char stack[256];
	size_t depth = 0;

	for (;;) {
		p = skip_ws(p);
		if (*p == '"') {
			p = skip_string(p);
			if (p == NULL)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			if (depth == sizeof(stack))
				return NULL;
			stack[depth++] = *p == '{' ? '}' : ']';
			p++;
			continue;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0 || stack[depth - 1] != *p)
				return NULL;
			depth--;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (depth == 0)
				return NULL;
			p++;
			continue;
		} else if (*p != '\0' && strchr("-0123456789tfn", *p) != NULL) {
			while (*p != '\0' &&
			    strchr("+-.0123456789eEtruefalsn", *p) != NULL)
				p++;
		} else {
			return NULL;
		}
		if (depth == 0)
			return p;
	}
}

int
client_json_each_raw(const char *text, const char *name,
    int (*fn)(const char *p, size_t n, void *arg), void *arg)
{
	const char *p = skip_ws(text), *k, *ke, *v;
	size_t nl = strlen(name);
	int r;

	if (*p != '{')
		return SN_EINVAL;
	p = skip_ws(p + 1);
	if (*p == '}')
		return SN_ENOENT;
	for (;;) {
		if (*p != '"')
			return SN_EINVAL;
		k = p + 1;
		ke = skip_string(p);
		if (ke == NULL)
			return SN_EINVAL;
		p = skip_ws(ke);
		if (*p != ':')
			return SN_EINVAL;
		p = skip_ws(p + 1);
		if ((size_t)(ke - 1 - k) == nl && memcmp(k, name, nl) == 0) {
			if (*p != '[')
				return SN_ENOENT;
			p = skip_ws(p + 1);
			if (*p == ']')
				return 0;
			for (;;) {
				v = skip_value(p);
				if (v == NULL)
					return SN_EINVAL;
				r = fn(p, (size_t)(v - p), arg);
				if (r != 0)
					return r;
				p = skip_ws(v);
				if (*p == ']')
					return 0;
				if (*p != ',')
					return SN_EINVAL;
				p = skip_ws(p + 1);
			}
		}
		p = skip_value(p);
		if (p == NULL)
			return SN_EINVAL;
		p = skip_ws(p);
		if (*p == '}')
			return SN_ENOENT;
		if (*p != ',')
			return SN_EINVAL;
		p = skip_ws(p + 1);
	}
}

/* ---- base64 --------------------------------------------------------------- */

int
client_b64_encode(const unsigned char *in, size_t len, char **out)
{
	return text_b64_encode(in, len, out);
}

int
client_b64_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen)
{
	return text_b64_decode(in, len, out, outlen);
}

int
client_read_file(const char *path, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;
	FILE *f;
	int r = 0;

	*out = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0) {
		f = stdin;
	} else {
		f = fopen(path, "rbe");
		if (f == NULL)
			return SN_ESYS;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > CLIENT_MAX_INPUT) {
				r = SN_ERANGE;
				break;
			}
			cap = cap != 0 ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				r = SN_ENOMEM;
				break;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > CLIENT_MAX_INPUT) {
			r = SN_ERANGE;
			break;
		}
		if (got == 0) {
			if (ferror(f))
				r = SN_ESYS;
			break;
		}
	}
	if (f != stdin) {
		int e = errno;

		fclose(f);
		errno = e;
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return SN_ENOMEM;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
