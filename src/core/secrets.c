/*
 * secrets.c - the secret providers behind secrets.h: file, env, vault.
 *
 * The store is built once by secrets_open() from the config and is
 * read-only afterwards, except the Vault cache: vpaths[i].data and .at
 * are protected by store->mu.  That is the only lock in this file; it is
 * never held across a network request or a file read.
 *
 * Values, the Vault token and every buffer that held either (file
 * contents, HTTP response bodies, parsed JSON, the request header) are
 * wiped with explicit_bzero() before they are freed.  Error messages are
 * built only from config text (names, keys, paths), errno, curl's error
 * text and HTTP status codes.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/secrets.h"

#define TOKEN_MAX      4096       /* bytes of a Vault token file */
#define VAULT_BODY_MAX (1u << 20) /* bytes of a Vault response */
#define VAULT_TIMEOUT  5000L      /* ms for a whole Vault request */
#define WALK_LINKS     40         /* symlinks in one resolution */
#define WALK_DEPTH     64         /* directories deep below dir */
#define WALK_BUF       (PATH_MAX * 2)

/* One [secret "NAME"]. */
struct entry {
	char name[65];
	int provider; /* SN_SECRET_* */
	char *key;    /* copy of the config's key */
	char **ws;    /* workspace ids; NULL with all */
	size_t nws;
	int all;            /* workspaces = * */
	unsigned char *env; /* env: the value copied at open */
	size_t envlen;
	size_t vpath;      /* vault: index into store->vpaths */
	const char *field; /* vault: into key, after the '#' */
};

/* One Vault path (distinct paths of the config) and its cache. */
struct vpath {
	char *path;         /* "a/b", the part of key before '#' */
	cJSON *data;        /* cached data.data, or NULL (under mu) */
	struct timespec at; /* when data was fetched (under mu) */
};

struct secret_store {
	struct entry *v;
	size_t n;
	int dirfd;      /* [secrets] dir, or -1 */
	char *url_base; /* "{vault_addr}/v1/{mount}/data/" or NULL */
	char *token_file;
	char *cacert; /* or NULL */
	int plain;    /* vault over http:// (loopback): never a proxy */
	unsigned ttl; /* cache_ttl; 0: no cache */
	struct vpath *vpaths;
	size_t nvpaths;
	pthread_mutex_t mu; /* protects vpaths[].data, vpaths[].at */
	int mu_ok;
	int curl_ok; /* curl_global_init() done */
};

static atomic_int force_walk; /* tests: always walk */
static atomic_int no_openat2; /* openat2() said ENOSYS once */

static const char *const provider_name[] = {
	[SN_SECRET_FILE] = "file",
	[SN_SECRET_ENV] = "env",
	[SN_SECRET_VAULT] = "vault",
};

void
secrets_test_force_walk(int on)
{
	atomic_store(&force_walk, on);
}

/* ---- small helpers ------------------------------------------------------- */

static void seterr(char *, size_t, const struct entry *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* "secret NAME (PROVIDER): why" (or just why without an entry). */
static void
seterr(char *err, size_t errlen, const struct entry *e, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (e != NULL)
		snprintf(err, errlen, "secret %s (%s): %s", e->name,
		    provider_name[e->provider], why);
	else
		snprintf(err, errlen, "%s", why);
}

static void
wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

static char *
join3(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *s;

	if (na > SIZE_MAX / 4 || nb > SIZE_MAX / 4 || nc > SIZE_MAX / 4 ||
	    (s = malloc(na + nb + nc + 1)) == NULL)
		return NULL;
	memcpy(s, a, na);
	memcpy(s + na, b, nb);
	memcpy(s + na + nb, c, nc + 1);
	return s;
}

/* Wipe every string and number of a cJSON tree (before cJSON_Delete). */
static void
wipe_json(cJSON *j)
{
	for (; j != NULL; j = j->next) {
		if (j->valuestring != NULL)
			explicit_bzero(j->valuestring, strlen(j->valuestring));
		if (j->string != NULL)
			explicit_bzero(j->string, strlen(j->string));
		j->valueint = 0;
		j->valuedouble = 0;
		wipe_json(j->child);
	}
}

static void
json_free(cJSON *j)
{
	if (j == NULL)
		return;
	wipe_json(j);
	cJSON_Delete(j);
}

/* A malloc'd copy of v[0..n) with a NUL after it. */
static unsigned char *
value_dup(const void *v, size_t n)
{
	unsigned char *d;

	if (n == SIZE_MAX || (d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, v, n);
	d[n] = '\0';
	return d;
}

/* A value must be non-empty and NUL-free: it goes into an environment. */
static int
value_ok(const struct entry *e, const void *v, size_t n, char *err,
    size_t errlen)
{
	if (n == 0) {
		seterr(err, errlen, e, "%s: the value is empty", e->key);
		return SN_EINVAL;
	}
	if (memchr(v, '\0', n) != NULL) {
		seterr(err, errlen, e,
		    "%s: the value holds a NUL byte (it cannot go into an "
		    "environment)",
		    e->key);
		return SN_EINVAL;
	}
	return 0;
}

/* ---- file provider ------------------------------------------------------- */

/*
 * openat2(RESOLVE_BENEATH) by hand: one component at a time with
 * O_NOFOLLOW, a directory fd per level (so ".." goes back to the level
 * above and never above root), a symlink's target put in front of what
 * is left (absolute, or ".." above root: -EXDEV), at most WALK_LINKS.
 * The last component is opened for reading, and must be the object that
 * was looked at (same device and inode).  0 and *out, or -errno.
 */
static int
walk_open(int root, const char *key, int *out)
{
	int stack[WALK_DEPTH + 1], fd = -1, rfd, e = 0, links = 0, last;
	char *rest, name[NAME_MAX + 1], target[PATH_MAX];
	size_t depth = 0, pos = 0, n, rl, tl;
	struct stat st, rst;
	ssize_t k;

	*out = -1;
	stack[0] = root;
	if ((rest = malloc(WALK_BUF)) == NULL)
		return -ENOMEM;
	if (strlen(key) >= WALK_BUF) {
		e = -ENAMETOOLONG;
		goto out;
	}
	memcpy(rest, key, strlen(key) + 1);
	for (;;) {
		while (rest[pos] == '/')
			pos++;
		if (rest[pos] == '\0') {
			e = -EISDIR; /* ends on a directory */
			goto out;
		}
		n = strcspn(rest + pos, "/");
		if (n > NAME_MAX) {
			e = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, rest + pos, n);
		name[n] = '\0';
		pos += n;
		last = rest[pos + strspn(rest + pos, "/")] == '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (depth == 0) {
				e = -EXDEV; /* above dir */
				goto out;
			}
			close(stack[depth--]);
			continue;
		}
		fd =
		    openat(stack[depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			e = -errno;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > WALK_LINKS) {
				e = -ELOOP;
				goto out;
			}
			k = readlinkat(fd, "", target, sizeof(target));
			if (k < 0) {
				e = -errno;
				goto out;
			}
			close(fd);
			fd = -1;
			tl = (size_t)k;
			if (tl == 0 || tl == sizeof(target)) {
				e = tl == 0 ? -ENOENT : -ENAMETOOLONG;
				goto out;
			}
			if (target[0] == '/') {
				e = -EXDEV; /* absolute: never beneath */
				goto out;
			}
			rl = strlen(rest + pos);
			if (tl + 1 + rl + 1 > WALK_BUF) {
				e = -ENAMETOOLONG;
				goto out;
			}
			memmove(rest + tl + 1, rest + pos, rl + 1);
			memcpy(rest, target, tl);
			rest[tl] = '/';
			if (rl == 0)
				rest[tl] = '\0';
			pos = 0;
			continue;
		}
		if (!last) {
			if (!S_ISDIR(st.st_mode)) {
				e = -ENOTDIR;
				goto out;
			}
			if (depth == WALK_DEPTH) {
				e = -ELOOP;
				goto out;
			}
			stack[++depth] = fd;
			fd = -1;
			continue;
		}
		rfd = openat(stack[depth], name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (rfd < 0) {
			e = -errno;
			goto out;
		}
		if (fstat(rfd, &rst) < 0 || rst.st_dev != st.st_dev ||
		    rst.st_ino != st.st_ino) {
			close(rfd);
			e = -ESTALE; /* changed between the look and the open */
			goto out;
		}
		*out = rfd;
		e = 0;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	while (depth > 0)
		close(stack[depth--]);
	free(rest);
	return e;
}

/* key opened for reading beneath dirfd.  0 and *out, or -errno. */
static int
beneath_open(int dirfd, const char *key, int *out)
{
	struct open_how how;
	long fd;

	*out = -1;
	if (!atomic_load(&force_walk) && !atomic_load(&no_openat2)) {
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = syscall(SYS_openat2, dirfd, key, &how, sizeof(how));
		if (fd >= 0) {
			*out = (int)fd;
			return 0;
		}
		if (errno != ENOSYS)
			return -errno;
		atomic_store(&no_openat2, 1);
	}
	return walk_open(dirfd, key, out);
}

static int
file_get(const struct secret_store *s, const struct entry *e,
    struct secret_value *sv, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t r;
	int fd = -1, rc;

	rc = beneath_open(s->dirfd, e->key, &fd);
	if (rc == -EXDEV) {
		seterr(err, errlen, e, "%s: leads outside [secrets] dir",
		    e->key);
		rc = SN_EPERM;
		goto out;
	}
	if (rc == -ENOENT) {
		seterr(err, errlen, e, "%s: no such file in [secrets] dir",
		    e->key);
		rc = SN_ENOENT;
		goto out;
	}
	if (rc < 0) {
		seterr(err, errlen, e, "%s: cannot open: %s", e->key,
		    strerror(-rc));
		rc = rc == -ENOMEM ? SN_ENOMEM : SN_EIO;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, e, "%s: not a regular file", e->key);
		rc = SN_EINVAL;
		goto out;
	}
	if ((buf = malloc(SECRETS_FILE_MAX + 1)) == NULL) {
		rc = SN_ENOMEM;
		seterr(err, errlen, e, "out of memory");
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, SECRETS_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, e, "%s: cannot read: %s", e->key,
			    strerror(errno));
			rc = SN_EIO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SECRETS_FILE_MAX) {
			seterr(err, errlen, e, "%s: larger than %d KiB", e->key,
			    SECRETS_FILE_MAX / 1024);
			rc = SN_ERANGE;
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if ((rc = value_ok(e, buf, len, err, errlen)) != 0)
		goto out;
	if ((sv->value = value_dup(buf, len)) == NULL) {
		rc = SN_ENOMEM;
		seterr(err, errlen, e, "out of memory");
		goto out;
	}
	sv->len = len;
	rc = 0;
out:
	wipe_free(buf, SECRETS_FILE_MAX + 1);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- vault provider ------------------------------------------------------ */

/* A response body: grown by copy-and-wipe, never by realloc. */
struct body {
	char *p;
	size_t n, cap;
};

static size_t
body_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t add = size * nmemb, ncap;
	char *np;

	if (nmemb != 0 && add / nmemb != size)
		return 0;
	if (add > VAULT_BODY_MAX || b->n + add > VAULT_BODY_MAX)
		return 0; /* too large: the transfer fails */
	if (b->n + add + 1 > b->cap) {
		ncap = b->cap > 0 ? b->cap : 4096;
		while (ncap < b->n + add + 1)
			ncap *= 2;
		if ((np = malloc(ncap)) == NULL)
			return 0;
		if (b->n > 0)
			memcpy(np, b->p, b->n);
		wipe_free(b->p, b->cap);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, data, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/*
 * The header "X-Vault-Token: TOKEN" from the token file (trailing
 * blanks and newlines dropped; printable ASCII only).  OUT: *out,
 * *outlen (for the wipe).
 */
static int
token_header(const struct secret_store *s, const struct entry *e, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	static const char pre[] = "X-Vault-Token: ";
	char *buf = NULL, *h = NULL;
	size_t len = 0, i;
	ssize_t r;
	int fd = -1, rc;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(s->token_file, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		seterr(err, errlen, e, "cannot open vault_token_file: %s",
		    strerror(errno));
		rc = SN_EIO;
		goto out;
	}
	if ((buf = malloc(TOKEN_MAX + 1)) == NULL) {
		rc = SN_ENOMEM;
		seterr(err, errlen, e, "out of memory");
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, TOKEN_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, e,
			    "cannot read vault_token_file: %s",
			    strerror(errno));
			rc = SN_EIO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > TOKEN_MAX) {
			seterr(err, errlen, e,
			    "vault_token_file is larger than %d bytes",
			    TOKEN_MAX);
			rc = SN_ERANGE;
			goto out;
		}
	}
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	        buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			break;
	if (len == 0 || i < len) {
		seterr(err, errlen, e,
		    "vault_token_file holds no token (empty, or not one "
		    "word of printable ASCII)");
		rc = SN_EINVAL;
		goto out;
	}
	if ((h = malloc(sizeof(pre) + len)) == NULL) {
		rc = SN_ENOMEM;
		seterr(err, errlen, e, "out of memory");
		goto out;
	}
	memcpy(h, pre, sizeof(pre) - 1);
	memcpy(h + sizeof(pre) - 1, buf, len);
	h[sizeof(pre) - 1 + len] = '\0';
	*out = h;
	*outlen = sizeof(pre) + len;
	rc = 0;
out:
	wipe_free(buf, TOKEN_MAX + 1);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i != NULL; i = i->next)
		if (i->data != NULL)
			explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

/*
 * GET the KV v2 secret at vpaths[e->vpath]: OUT: *data, its data.data
 * object (the caller's; json_free()).
 */
static int
vault_fetch(const struct secret_store *s, const struct entry *e, cJSON **data,
    char *err, size_t errlen)
{
	const char *path = s->vpaths[e->vpath].path;
	char *hdr = NULL, *url = NULL, cerr[CURL_ERROR_SIZE];
	struct curl_slist *hl = NULL, *nl;
	struct body b = { NULL, 0, 0 };
	cJSON *root = NULL, *d;
	size_t hdrlen = 0;
	CURL *c = NULL;
	CURLcode cc;
	long code = 0;
	int rc;

	*data = NULL;
	if ((rc = token_header(s, e, &hdr, &hdrlen, err, errlen)) != 0)
		goto out;
	rc = SN_ENOMEM;
	if ((url = join3(s->url_base, path, "")) == NULL ||
	    (c = curl_easy_init()) == NULL ||
	    (nl = curl_slist_append(hl, hdr)) == NULL) {
		seterr(err, errlen, e, "out of memory");
		goto out;
	}
	hl = nl;
	cerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, VAULT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, VAULT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)VAULT_BODY_MAX);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sentinel");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, s->plain ? "http" : "https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    s->plain ? (long)CURLPROTO_HTTP : (long)CURLPROTO_HTTPS);
#endif
	if (s->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->cacert);
	if (s->plain) /* the token never goes to a proxy in clear */
		curl_easy_setopt(c, CURLOPT_PROXY, "");

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		seterr(err, errlen, e, "GET %s: %s", path,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		rc = cc == CURLE_OPERATION_TIMEDOUT ? SN_EBUSY : SN_EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		seterr(err, errlen, e, "GET %s: HTTP %ld%s", path, code,
		    code == 403     ? " (permission denied: token or policy)" :
		        code == 404 ? " (no such secret)" :
		                      "");
		rc = code == 403 ? SN_EPERM : code == 404 ? SN_ENOENT : SN_EIO;
		goto out;
	}
	root = cJSON_ParseWithLength(b.p != NULL ? b.p : "", b.n);
	d = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (root == NULL || !cJSON_IsObject(d) ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d, "data"))) {
		seterr(err, errlen, e,
		    "GET %s: not a KV v2 response (no data.data object)", path);
		rc = SN_EIO;
		goto out;
	}
	*data = cJSON_DetachItemFromObjectCaseSensitive(d, "data");
	rc = 0;
out:
	json_free(root);
	wipe_free(b.p, b.cap);
	slist_wipe_free(hl);
	wipe_free(hdr, hdrlen);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(url);
	return rc;
}

/* data[e->field] as a value. */
static int
vault_pick(const cJSON *data, const struct entry *e, struct secret_value *sv,
    char *err, size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(data, e->field);
	size_t n;
	int rc;

	if (f == NULL) {
		seterr(err, errlen, e, "%s: no such field", e->key);
		return SN_ENOENT;
	}
	if (!cJSON_IsString(f) || f->valuestring == NULL) {
		seterr(err, errlen, e, "%s: the field is not a string", e->key);
		return SN_EINVAL;
	}
	n = strlen(f->valuestring);
	if ((rc = value_ok(e, f->valuestring, n, err, errlen)) != 0)
		return rc;
	if ((sv->value = value_dup(f->valuestring, n)) == NULL) {
		seterr(err, errlen, e, "out of memory");
		return SN_ENOMEM;
	}
	sv->len = n;
	return 0;
}

static int
fresh(const struct secret_store *s, const struct vpath *vp)
{
	struct timespec now;

	if (s->ttl == 0 || vp->data == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - vp->at.tv_sec < (time_t)s->ttl;
}

static int
vault_get(struct secret_store *s, const struct entry *e,
    struct secret_value *sv, char *err, size_t errlen)
{
	struct vpath *vp = &s->vpaths[e->vpath];
	cJSON *data = NULL, *old = NULL;
	int rc;

	pthread_mutex_lock(&s->mu);
	if (fresh(s, vp)) {
		rc = vault_pick(vp->data, e, sv, err, errlen);
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	pthread_mutex_unlock(&s->mu);

	if ((rc = vault_fetch(s, e, &data, err, errlen)) != 0)
		return rc;
	rc = vault_pick(data, e, sv, err, errlen);
	if (s->ttl > 0) {
		pthread_mutex_lock(&s->mu);
		old = vp->data;
		vp->data = data;
		clock_gettime(CLOCK_MONOTONIC, &vp->at);
		pthread_mutex_unlock(&s->mu);
		data = old;
	}
	json_free(data);
	return rc;
}

/* ---- the store ------------------------------------------------------------ */

static int
applies(const struct entry *e, const char *ws)
{
	size_t i;

	if (e->all)
		return 1;
	for (i = 0; i < e->nws; i++)
		if (strcmp(e->ws[i], ws) == 0)
			return 1;
	return 0;
}

/* Copy one [secret] into e (zeroed by the caller). */
static int
entry_init(struct secret_store *s, struct entry *e,
    const struct sn_cfg_secret *d, char *err, size_t errlen)
{
	const char *v, *hash;
	size_t i;
	char *p;

	snprintf(e->name, sizeof(e->name), "%s", d->name);
	e->provider = d->provider;
	if (d->provider < SN_SECRET_FILE || d->provider > SN_SECRET_VAULT ||
	    strlen(d->name) >= sizeof(e->name)) {
		seterr(err, errlen, NULL, "secret %s: bad definition", e->name);
		return SN_EINVAL;
	}
	if ((e->key = strdup(d->key)) == NULL)
		goto nomem;
	for (i = 0; i < d->workspaces.n; i++)
		if (strcmp(d->workspaces.v[i], "*") == 0)
			e->all = 1;
	if (!e->all && d->workspaces.n > 0) {
		if ((e->ws = calloc(d->workspaces.n, sizeof(char *))) == NULL)
			goto nomem;
		for (e->nws = 0; e->nws < d->workspaces.n; e->nws++)
			if ((e->ws[e->nws] = strdup(d->workspaces.v[e->nws])) ==
			    NULL)
				goto nomem;
	}
	switch (d->provider) {
	case SN_SECRET_FILE:
		if (s->dirfd < 0) {
			seterr(err, errlen, e, "no [secrets] dir");
			return SN_ECONFIG;
		}
		return 0;
	case SN_SECRET_ENV:
		if ((v = getenv(d->key)) == NULL) {
			seterr(err, errlen, e,
			    "%s is not set in the server's environment",
			    d->key);
			return SN_ENOENT;
		}
		e->envlen = strlen(v);
		if (value_ok(e, v, e->envlen, err, errlen) != 0)
			return SN_EINVAL;
		if ((e->env = value_dup(v, e->envlen)) == NULL)
			goto nomem;
		return 0;
	default: break;
	}
	if (s->url_base == NULL || (hash = strchr(e->key, '#')) == NULL) {
		seterr(err, errlen, e, "no [secrets] vault_addr, or no #field");
		return SN_ECONFIG;
	}
	e->field = hash + 1;
	for (i = 0; i < s->nvpaths; i++) {
		if (strlen(s->vpaths[i].path) == (size_t)(hash - e->key) &&
		    memcmp(s->vpaths[i].path, e->key,
		        (size_t)(hash - e->key)) == 0)
			break;
	}
	if (i == s->nvpaths) { /* vpaths has room for every secret */
		if ((p = strndup(e->key, (size_t)(hash - e->key))) == NULL)
			goto nomem;
		s->vpaths[s->nvpaths++].path = p;
	}
	e->vpath = i;
	return 0;
nomem:
	seterr(err, errlen, e, "out of memory");
	return SN_ENOMEM;
}

int
secrets_open(const struct sn_config *cfg, struct secret_store **out, char *err,
    size_t errlen)
{
	const struct sn_cfg_secrets *c;
	struct secret_store *s = NULL;
	char *addr = NULL, *mount = NULL;
	size_t i, n;
	int rc, vault = 0;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || cfg == NULL)
		return SN_EINVAL;
	c = &cfg->secrets;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SN_ENOMEM;
	s->dirfd = -1;
	s->ttl = c->cache_ttl;
	rc = SN_ENOMEM;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		goto nomem;
	s->mu_ok = 1;
	for (i = 0; i < cfg->n_secret_defs; i++)
		if (cfg->secret_defs[i].provider == SN_SECRET_VAULT)
			vault = 1;
	if (c->dir != NULL) {
		s->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0) {
			seterr(err, errlen, NULL, "[secrets] dir: %s: %s",
			    c->dir, strerror(errno));
			rc = SN_EIO;
			goto out;
		}
	}
	if (c->vault_addr != NULL && c->vault_token_file != NULL) {
		n = strlen(c->vault_addr);
		if (n > 0 && c->vault_addr[n - 1] == '/')
			n--;
		if ((addr = strndup(c->vault_addr, n)) == NULL ||
		    (mount = join3(addr, "/v1/",
		         c->vault_mount != NULL ? c->vault_mount : "secret")) ==
		        NULL)
			goto nomem;
		s->url_base = join3(mount, "/data/", "");
		if (s->url_base == NULL ||
		    (s->token_file = strdup(c->vault_token_file)) == NULL ||
		    (c->vault_cacert != NULL &&
		        (s->cacert = strdup(c->vault_cacert)) == NULL))
			goto nomem;
		s->plain = strncmp(c->vault_addr, "http://", 7) == 0;
	}
	if (vault) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			seterr(err, errlen, NULL, "curl_global_init failed");
			rc = SN_EIO;
			goto out;
		}
		s->curl_ok = 1;
	}
	if (cfg->n_secret_defs > 0) {
		if ((s->v = calloc(cfg->n_secret_defs, sizeof(*s->v))) ==
		        NULL ||
		    (s->vpaths = calloc(cfg->n_secret_defs,
		         sizeof(*s->vpaths))) == NULL)
			goto nomem;
	}
	for (i = 0; i < cfg->n_secret_defs; i++) {
		s->n++;
		if ((rc = entry_init(s, &s->v[i], &cfg->secret_defs[i], err,
		         errlen)) != 0)
			goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
	goto out;
nomem:
	rc = SN_ENOMEM;
	seterr(err, errlen, NULL, "out of memory");
out:
	free(addr);
	free(mount);
	secrets_close(s);
	return rc;
}

void
secrets_close(struct secret_store *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].key);
		for (j = 0; j < s->v[i].nws; j++)
			free(s->v[i].ws[j]);
		free(s->v[i].ws);
		wipe_free(s->v[i].env, s->v[i].envlen + 1);
	}
	free(s->v);
	for (i = 0; i < s->nvpaths; i++) {
		free(s->vpaths[i].path);
		json_free(s->vpaths[i].data);
	}
	free(s->vpaths);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->url_base);
	free(s->token_file);
	free(s->cacert);
	if (s->mu_ok)
		pthread_mutex_destroy(&s->mu);
	if (s->curl_ok)
		curl_global_cleanup();
	explicit_bzero(s, sizeof(*s));
	free(s);
}

int
secrets_for_exec(struct secret_store *s, const char *ws,
    struct secret_value **out, size_t *n, char *err, size_t errlen)
{
	struct secret_value *v = NULL, *sv;
	size_t i, count = 0, got = 0;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (n != NULL)
		*n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL || ws == NULL || out == NULL || n == NULL)
		return SN_EINVAL;
	for (i = 0; i < s->n; i++)
		count += (size_t)applies(&s->v[i], ws);
	if (count == 0)
		return 0;
	if ((v = calloc(count, sizeof(*v))) == NULL) {
		seterr(err, errlen, NULL, "out of memory");
		return SN_ENOMEM;
	}
	for (i = 0; i < s->n; i++) {
		const struct entry *e = &s->v[i];

		if (!applies(e, ws))
			continue;
		sv = &v[got++];
		snprintf(sv->name, sizeof(sv->name), "%s", e->name);
		switch (e->provider) {
		case SN_SECRET_FILE:
			rc = file_get(s, e, sv, err, errlen);
			break;
		case SN_SECRET_ENV:
			sv->value = value_dup(e->env, e->envlen);
			sv->len = e->envlen;
			if (sv->value == NULL) {
				seterr(err, errlen, e, "out of memory");
				rc = SN_ENOMEM;
			}
			break;
		default: rc = vault_get(s, e, sv, err, errlen); break;
		}
		if (rc != 0)
			goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
out:
	secrets_free_values(v, got);
	return rc;
}

void
secrets_free_values(struct secret_value *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (v[i].value != NULL)
			wipe_free(v[i].value, v[i].len + 1);
		v[i].value = NULL;
		v[i].len = 0;
	}
	explicit_bzero(v, n * sizeof(*v));
	free(v);
}
