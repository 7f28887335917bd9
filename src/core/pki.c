/*
 * pki.c - the development PKI (see pki.h): a CA, certificates, a CRL, with
 * the OpenSSL 3 libcrypto API.
 *
 * Files: every file is written to a temporary name in the same directory
 * (O_CREAT|O_EXCL|O_NOFOLLOW), flushed, then published.  Keys and
 * certificates are published with renameat2(RENAME_NOREPLACE) (or link(2)
 * where the filesystem lacks it), so an existing file is never replaced
 * and a half-written one is never seen; crl.pem and index are renamed
 * over the old ones.  A key is written before its certificate, so a
 * certificate on disk always has its key beside it, unless someone
 * removed the key.
 *
 * Memory: private keys live in EVP_PKEYs (OpenSSL clears them on free)
 * and, as PEM, in secure-heap BIOs (cleared on free) or in buffers
 * wiped with OPENSSL_cleanse before they are freed.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/config.h"
#include "core/dirs.h"
#include "core/err.h"
#include "core/pki.h"

#define MAX_FILE     (16 << 20) /* the largest file read (index, a CRL) */
#define MAX_CRL_DAYS 3650
#define BACKDATE_S   300 /* notBefore this far back: clock skew */
#define SERIAL_BYTES 16
#define TIME_FMT     "%Y-%m-%dT%H:%M:%SZ"
#define TIME_LEN     20 /* 2024-01-02T03:04:05Z */
#define HEX_MAX      40 /* 20 octets: RFC 5280's longest serial */

/* What a certificate is for. */
enum kind { K_CA, K_CLIENT, K_SERVER };

static const char *const default_sans[] = { "localhost", "127.0.0.1", "::1" };

struct ca {
	X509 *cert;
	EVP_PKEY *key; /* NULL when loaded without it */
};

struct revoked {
	char hex[HEX_MAX + 1]; /* upper case, no leading zeros */
	time_t when;
};

struct index {
	struct revoked *v;
	size_t n, cap;
};

/* ---- errors ---------------------------------------------------------------- */

static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The reason of OpenSSL's last error, for a message. */
static const char *
ossl_why(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;

	return s != NULL ? s : "OpenSSL error";
}

static int
oom(char *err, size_t errlen)
{
	return fail(err, errlen, SN_ENOMEM, "out of memory (%s)", ossl_why());
}

/* ---- paths and files ------------------------------------------------------- */

static int
path_in(char *buf, size_t len, const char *dir, const char *name, char *err,
    size_t errlen)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen, SN_ERANGE, "%s/%s: path too long", dir,
		    name);
	return 0;
}

/* 1 if path exists (as anything, a dangling symlink too), 0 if not, < 0. */
static int
exists(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return fail(err, errlen, SN_ESYS, "%s: %s", path, strerror(errno));
}

static void
free_buf(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/*
 * Read a whole regular file into *out (NUL-terminated; free with
 * free_buf).  nofollow: refuse a symlink (files inside the PKI dir).
 * secret: refuse a file that others may read (a private key).
 * SN_ENOENT when it does not exist.
 */
static int
read_file(const char *path, int nofollow, int secret, unsigned char **out,
    size_t *outlen, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	memset(&st, 0, sizeof(st));
	fd = open(path,
	    O_RDONLY | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT)
			return fail(err, errlen, SN_ENOENT, "%s: not found",
			    path);
		if (errno == ELOOP && nofollow)
			return fail(err, errlen, SN_EINVAL,
			    "%s: is a symbolic link (refused)", path);
		return fail(err, errlen, SN_ESYS, "%s: %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc =
		    fail(err, errlen, SN_ESYS, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, SN_EINVAL, "%s: not a regular file",
		    path);
		goto out;
	}
	if (secret && (st.st_mode & 077) != 0) {
		rc = fail(err, errlen, SN_EPERM,
		    "%s: private key readable by others (mode %04o): chmod "
		    "600 it",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > MAX_FILE) {
		rc = fail(err, errlen, SN_ERANGE, "%s: larger than %d bytes",
		    path, MAX_FILE);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = fail(err, errlen, SN_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(err, errlen, SN_ESYS, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break; /* it shrank */
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free_buf(buf, (size_t)st.st_size + 1);
	close(fd);
	return rc;
}

static void
fsync_dir_of(const char *path)
{
	char d[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (slash == NULL) {
		d[0] = '.';
		d[1] = '\0';
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(d))
			return;
		memcpy(d, path, n);
		d[n] = '\0';
	}
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd); /* some filesystems refuse: no harm */
		close(fd);
	}
}

/*
 * Write data to path through a temporary file beside it.  replace: rename
 * over path; else publish only if path does not exist (SN_EEXIST).  mode
 * is the creation mode (less the umask).
 */
static int
put_file(const char *path, const void *data, size_t len, mode_t mode,
    int replace, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base;
	unsigned char rnd[8];
	size_t dl, off = 0;
	ssize_t w;
	int fd = -1, n, rc, made = 0;

	base = slash != NULL ? slash + 1 : path;
	dl = (size_t)(base - path);
	if (*base == '\0')
		return fail(err, errlen, SN_EINVAL, "%s: not a file name",
		    path);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return fail(err, errlen, SN_EIO, "random: %s", ossl_why());
	n = snprintf(tmp, sizeof(tmp),
	    "%.*s.%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", (int)dl, path, base,
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return fail(err, errlen, SN_ERANGE, "%s: path too long", path);
	fd = open(tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	    mode);
	if (fd < 0)
		return fail(err, errlen, SN_ESYS, "%s: %s", path,
		    strerror(errno));
	made = 1;
	while (off < len) {
		w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = fail(err, errlen, SN_ESYS, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc =
		    fail(err, errlen, SN_ESYS, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc =
		    fail(err, errlen, SN_ESYS, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) < 0) {
			rc = fail(err, errlen, SN_ESYS, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
	} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) <
	    0) {
		if (errno == EEXIST) {
			rc = fail(err, errlen, SN_EEXIST,
			    "%s: exists (not overwritten)", path);
			goto out;
		}
		if (errno != EINVAL && errno != ENOSYS) {
			rc = fail(err, errlen, SN_ESYS, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		/* no RENAME_NOREPLACE here: link(2) never replaces either */
		if (link(tmp, path) < 0) {
			rc = fail(err, errlen,
			    errno == EEXIST ? SN_EEXIST : SN_ESYS, "%s: %s",
			    path,
			    errno == EEXIST ? "exists (not overwritten)" :
			                      strerror(errno));
			goto out;
		}
		(void)unlink(tmp);
	}
	made = 0;
	fsync_dir_of(path);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
	return rc;
}

/*
 * Open dir and take an exclusive flock on it (released by close).  Refuses
 * a directory that others may write to: they could swap its files.
 */
static int
lock_dir(const char *dir, int *fdp, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*fdp = -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return fail(err, errlen, SN_ENOENT,
			    "%s: no such directory (make a CA first: sentinel "
			    "ca init)",
			    dir);
		return fail(err, errlen, SN_ESYS, "%s: %s", dir,
		    strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return fail(err, errlen, SN_ESYS, "%s: %s", dir,
		    strerror(errno));
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		return fail(err, errlen, SN_EPERM,
		    "%s: writable by group or others (mode %04o): chmod 700 "
		    "it",
		    dir, (unsigned)(st.st_mode & 07777));
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return fail(err, errlen, SN_ESYS, "%s: lock: %s", dir,
		    strerror(errno));
	}
	*fdp = fd;
	return 0;
}

static int
make_dir(const char *dir, char *err, size_t errlen)
{
	int r = dirs_mkdir_p(dir, 0700);

	if (r < 0)
		return fail(err, errlen, SN_ESYS, "%s: %s", dir, strerror(-r));
	return 0;
}

/* ---- PEM in and out -------------------------------------------------------- */

static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1; /* an encrypted key is refused, never prompted for */
}

static int
load_cert(const char *path, int nofollow, X509 **out, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	const unsigned char *p;
	size_t len;
	BIO *b = NULL;
	int rc;

	*out = NULL;
	rc = read_file(path, nofollow, 0, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b == NULL) {
		rc = oom(err, errlen);
		goto out;
	}
	*out = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
	if (*out == NULL) {
		p = buf;
		*out = d2i_X509(NULL, &p, (long)len); /* DER */
	}
	if (*out == NULL) {
		rc = fail(err, errlen, SN_EINVAL,
		    "%s: not a certificate (PEM or DER)", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	free_buf(buf, len);
	ERR_clear_error();
	return rc;
}

static int
load_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len;
	BIO *b = NULL;
	int rc;

	*out = NULL;
	rc = read_file(path, 1, 1, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b == NULL) {
		rc = oom(err, errlen);
		goto out;
	}
	*out = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	if (*out == NULL) {
		rc = fail(err, errlen, SN_EINVAL,
		    "%s: not an unencrypted PEM private key", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);
	free_buf(buf, len);
	ERR_clear_error();
	return rc;
}

/* Write a key (PKCS#8 PEM, mode 0600) to a path that must not exist. */
static int
put_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p;
	long n;
	int rc;

	if (b == NULL)
		return oom(err, errlen);
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
		rc = fail(err, errlen, SN_EIO, "%s: %s", path, ossl_why());
		goto out;
	}
	n = BIO_get_mem_data(b, &p);
	rc = put_file(path, p, (size_t)n, 0600, 0, err, errlen);
out:
	BIO_free(b); /* secure memory: cleared */
	return rc;
}

static int
put_cert(const char *path, X509 *x, int replace, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc;

	if (b == NULL)
		return oom(err, errlen);
	if (PEM_write_bio_X509(b, x) != 1) {
		rc = fail(err, errlen, SN_EIO, "%s: %s", path, ossl_why());
		goto out;
	}
	n = BIO_get_mem_data(b, &p);
	rc = put_file(path, p, (size_t)n, 0644, replace, err, errlen);
out:
	BIO_free(b);
	return rc;
}

/* ---- the CA ---------------------------------------------------------------- */

static void
ca_clear(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	ca->cert = NULL;
	ca->key = NULL;
}

/* Load dir's ca.pem and (with_key) ca.key, and check that they match. */
static int
ca_load(const char *dir, int with_key, struct ca *ca, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX];
	int rc;

	ca->cert = NULL;
	ca->key = NULL;
	if ((rc = path_in(cp, sizeof(cp), dir, "ca.pem", err, errlen)) < 0 ||
	    (rc = path_in(kp, sizeof(kp), dir, "ca.key", err, errlen)) < 0)
		return rc;
	rc = load_cert(cp, 1, &ca->cert, err, errlen);
	if (rc == SN_ENOENT)
		return fail(err, errlen, SN_ENOENT,
		    "%s: no CA there (make one: sentinel ca init)", dir);
	if (rc < 0)
		return rc;
	if (with_key) {
		rc = load_key(kp, &ca->key, err, errlen);
		if (rc < 0)
			goto out;
		if (X509_check_private_key(ca->cert, ca->key) != 1) {
			rc = fail(err, errlen, SN_EINVAL,
			    "%s does not belong to %s", kp, cp);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0)
		ca_clear(ca);
	ERR_clear_error();
	return rc;
}

/* 1 if x was signed by the CA (name and signature), else 0. */
static int
ca_signed(const struct ca *ca, X509 *x)
{
	int ok;

	ok = X509_NAME_cmp(X509_get_issuer_name(x),
	         X509_get_subject_name(ca->cert)) == 0 &&
	    X509_verify(x, X509_get0_pubkey(ca->cert)) == 1;
	ERR_clear_error();
	return ok;
}

/* "YYYY-MM-DD HH:MM:SS UTC" for a message. */
static void
time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "?");
}

/* ---- certificates ---------------------------------------------------------- */

static int
rand_serial(ASN1_INTEGER **out)
{
	unsigned char b[SERIAL_BYTES];
	BIGNUM *bn = NULL;

	*out = NULL;
	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] |= 0x80; /* always 128 bits long */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn != NULL)
		*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out != NULL ? 0 : -1;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (e == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

/*
 * A DNS name: LDH labels of 1-63, 253 at most, "*" allowed as the first
 * label, the last one not all digits (then it is a bad IP address).
 */
static int
valid_dns(const char *s)
{
	size_t n = strlen(s), i, lab = 0;
	int digits = 1;

	if (n == 0 || n > 253)
		return 0;
	if (s[0] == '*') {
		if (s[1] != '.' || s[2] == '\0')
			return 0;
		s += 2;
	}
	for (i = 0;; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			if (c == '\0')
				return !digits;
			lab = 0;
			digits = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || (c == '-' && lab > 0)))
			return 0;
		if (c < '0' || c > '9')
			digits = 0;
		lab++;
	}
}

/* The subjectAltName extension, built name by name (no string parsing). */
static int
add_sans(X509 *x, const char *const *sans, size_t n, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = NULL;
	ASN1_OCTET_STRING *ip;
	ASN1_IA5STRING *dns;
	unsigned char a[16];
	size_t i, j, alen;
	int rc;

	if (gens == NULL)
		return oom(err, errlen);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcasecmp(sans[i], sans[j]) == 0) {
				rc = fail(err, errlen, SN_EINVAL,
				    "SAN \"%s\" given twice", sans[i]);
				goto out;
			}
		if ((g = GENERAL_NAME_new()) == NULL) {
			rc = oom(err, errlen);
			goto out;
		}
		if (inet_pton(AF_INET, sans[i], a) == 1 ||
		    inet_pton(AF_INET6, sans[i], a) == 1) {
			alen = strchr(sans[i], ':') != NULL ? 16 : 4;
			ip = ASN1_OCTET_STRING_new();
			if (ip == NULL ||
			    ASN1_OCTET_STRING_set(ip, a, (int)alen) != 1) {
				ASN1_OCTET_STRING_free(ip);
				rc = oom(err, errlen);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else if (valid_dns(sans[i])) {
			dns = ASN1_IA5STRING_new();
			if (dns == NULL ||
			    ASN1_STRING_set(dns, sans[i],
			        (int)strlen(sans[i])) != 1) {
				ASN1_IA5STRING_free(dns);
				rc = oom(err, errlen);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, dns);
		} else {
			rc = fail(err, errlen, SN_EINVAL,
			    "SAN \"%.80s\": neither a DNS name nor an IP "
			    "address",
			    sans[i]);
			goto out;
		}
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			rc = oom(err, errlen);
			goto out;
		}
		g = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	        X509V3_ADD_DEFAULT) != 1) {
		rc =
		    fail(err, errlen, SN_EIO, "subjectAltName: %s", ossl_why());
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

/*
 * A certificate for key with subject CN=cn (and OU=ou), signed by ca, or
 * self-signed when ca is NULL (then kind is K_CA and key signs).
 */
static int
make_cert(const struct ca *ca, EVP_PKEY *key, enum kind kind, const char *cn,
    const char *ou, int days, const char *const *sans, size_t n_sans,
    X509 **out, char *err, size_t errlen)
{
	X509 *x = X509_new(), *issuer;
	ASN1_INTEGER *serial = NULL;
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *signer = ca != NULL ? ca->key : key;
	X509V3_CTX ctx;
	int rc;

	*out = NULL;
	if (x == NULL || name == NULL) {
		rc = oom(err, errlen);
		goto out;
	}
	if (ou != NULL &&
	    X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName,
	        MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0) != 1) {
		rc = fail(err, errlen, SN_EINVAL, "OU \"%s\": %s", ou,
		    ossl_why());
		goto out;
	}
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0) != 1) {
		rc = fail(err, errlen, SN_EINVAL, "CN \"%s\": %s", cn,
		    ossl_why());
		goto out;
	}
	if (rand_serial(&serial) < 0) {
		rc = fail(err, errlen, SN_EIO, "serial: %s", ossl_why());
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x,
	        ca != NULL ? X509_get_subject_name(ca->cert) : name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL) {
		rc = oom(err, errlen);
		goto out;
	}
	/* never valid longer than the CA that vouches for it */
	if (ca != NULL &&
	    ASN1_TIME_compare(X509_get0_notAfter(x),
	        X509_get0_notAfter(ca->cert)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) != 1) {
		rc = oom(err, errlen);
		goto out;
	}
	issuer = ca != NULL ? ca->cert : x;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (ca == NULL)
		X509V3_set_issuer_pkey(&ctx, key);
	if (kind == K_CA) {
		rc = add_ext(x, &ctx, NID_basic_constraints,
		         "critical,CA:TRUE") ||
		    add_ext(x, &ctx, NID_key_usage,
		        "critical,keyCertSign,cRLSign") ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
		    add_ext(x, &ctx, NID_authority_key_identifier,
		        "keyid:always");
	} else {
		rc = add_ext(x, &ctx, NID_basic_constraints,
		         "critical,CA:FALSE") ||
		    add_ext(x, &ctx, NID_key_usage,
		        "critical,digitalSignature") ||
		    add_ext(x, &ctx, NID_ext_key_usage,
		        kind == K_SERVER ? "serverAuth" : "clientAuth") ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
		    add_ext(x, &ctx, NID_authority_key_identifier,
		        "keyid:always");
	}
	if (rc != 0) {
		rc = fail(err, errlen, SN_EIO, "extensions: %s", ossl_why());
		goto out;
	}
	if (kind == K_SERVER &&
	    (rc = add_sans(x, sans, n_sans, err, errlen)) < 0)
		goto out;
	if (X509_sign(x, signer, EVP_sha256()) <= 0) {
		rc = fail(err, errlen, SN_EIO, "signing: %s", ossl_why());
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	X509_NAME_free(name);
	ASN1_INTEGER_free(serial);
	ERR_clear_error();
	return rc;
}

static EVP_PKEY *
new_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* ---- the revocation index -------------------------------------------------- */

static void
index_free(struct index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = ix->cap = 0;
}

/* The canonical hex of a serial (upper case, no leading zeros). */
static int
serial_hex(const ASN1_INTEGER *s, char out[HEX_MAX + 1])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
	char *h = bn != NULL ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	if (h != NULL && h[0] != '-' && strlen(h) <= HEX_MAX) {
		snprintf(out, HEX_MAX + 1, "%s", h);
		rc = 0;
	}
	OPENSSL_free(h);
	BN_free(bn);
	return rc;
}

static int
index_add(struct index *ix, const char *hex, time_t when)
{
	struct revoked *nv;

	if (ix->n == ix->cap) {
		ix->cap = ix->cap != 0 ? ix->cap * 2 : 16;
		nv = realloc(ix->v, ix->cap * sizeof(*nv));
		if (nv == NULL)
			return SN_ENOMEM;
		ix->v = nv;
	}
	snprintf(ix->v[ix->n].hex, sizeof(ix->v[ix->n].hex), "%s", hex);
	ix->v[ix->n].when = when;
	ix->n++;
	return 0;
}

static const struct revoked *
index_find(const struct index *ix, const char *hex)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].hex, hex) == 0)
			return &ix->v[i];
	return NULL;
}

/* Parse one "SERIAL TIME" line (without its newline). */
static int
index_line(struct index *ix, const char *s, size_t len)
{
	char hex[HEX_MAX + 1], tbuf[TIME_LEN + 1];
	const char *sp = memchr(s, ' ', len), *end;
	BIGNUM *bn = NULL;
	struct tm tm;
	size_t hl, i;
	time_t when;
	char *h;
	int rc;

	if (sp == NULL)
		return SN_EINVAL;
	hl = (size_t)(sp - s);
	if (hl == 0 || hl > HEX_MAX || len - hl - 1 != TIME_LEN)
		return SN_EINVAL;
	for (i = 0; i < hl; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'A' && s[i] <= 'F') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return SN_EINVAL;
	memcpy(hex, s, hl);
	hex[hl] = '\0';
	memcpy(tbuf, sp + 1, TIME_LEN);
	tbuf[TIME_LEN] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(tbuf, TIME_FMT, &tm);
	if (end == NULL || *end != '\0')
		return SN_EINVAL;
	when = timegm(&tm);
	if (when == (time_t)-1)
		return SN_EINVAL;
	if (BN_hex2bn(&bn, hex) != (int)hl)
		return SN_EINVAL;
	h = BN_bn2hex(bn);
	BN_free(bn);
	if (h == NULL)
		return SN_ENOMEM;
	rc = index_find(ix, h) != NULL ? SN_EINVAL : index_add(ix, h, when);
	OPENSSL_free(h);
	return rc;
}

/* Read dir/index; a missing index is an empty one. */
static int
index_load(const char *dir, struct index *ix, char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	const char *p, *nl, *end;
	size_t len, line = 0;
	int rc;

	memset(ix, 0, sizeof(*ix));
	if ((rc = path_in(path, sizeof(path), dir, "index", err, errlen)) < 0)
		return rc;
	rc = read_file(path, 1, 0, &buf, &len, err, errlen);
	if (rc == SN_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	p = (const char *)buf;
	end = p + len;
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		rc = index_line(ix, p, (size_t)(nl - p));
		if (rc == SN_ENOMEM) {
			rc = fail(err, errlen, rc, "%s: out of memory", path);
			goto out;
		}
		if (rc < 0) {
			rc = fail(err, errlen, SN_EINVAL,
			    "%s:%zu: expected \"SERIAL YYYY-MM-DDTHH:MM:SSZ\" "
			    "(serial in hex, each serial once)",
			    path, line);
			goto out;
		}
		p = nl + 1;
	}
	rc = 0;
out:
	free_buf(buf, len);
	if (rc < 0)
		index_free(ix);
	return rc;
}

static int
index_save(const char *dir, const struct index *ix, char *err, size_t errlen)
{
	char path[PATH_MAX], *buf;
	size_t i, off = 0, cap = ix->n * (HEX_MAX + TIME_LEN + 2) + 16;
	struct tm tm;
	int rc;

	if ((rc = path_in(path, sizeof(path), dir, "index", err, errlen)) < 0)
		return rc;
	buf = malloc(cap);
	if (buf == NULL)
		return fail(err, errlen, SN_ENOMEM, "%s: out of memory", path);
	for (i = 0; i < ix->n; i++) {
		if (gmtime_r(&ix->v[i].when, &tm) == NULL) {
			free(buf);
			return fail(err, errlen, SN_ERANGE, "%s: bad time",
			    path);
		}
		off +=
		    (size_t)snprintf(buf + off, cap - off, "%s ", ix->v[i].hex);
		off += strftime(buf + off, cap - off, TIME_FMT "\n", &tm);
	}
	rc = put_file(path, buf, off, 0644, 1, err, errlen);
	free(buf);
	return rc;
}

/* ---- the CRL --------------------------------------------------------------- */

/* crl.pem if it is there, signed by the CA; else NULL. */
static X509_CRL *
crl_current(const char *dir, const struct ca *ca)
{
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	X509_CRL *crl = NULL;
	size_t len;
	BIO *b;

	if (path_in(path, sizeof(path), dir, "crl.pem", NULL, 0) < 0 ||
	    read_file(path, 1, 0, &buf, &len, NULL, 0) < 0)
		return NULL;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b != NULL)
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	BIO_free(b);
	free_buf(buf, len);
	if (crl != NULL &&
	    (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	         X509_get_subject_name(ca->cert)) != 0 ||
	        X509_CRL_verify(crl, X509_get0_pubkey(ca->cert)) != 1)) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	ERR_clear_error();
	return crl;
}

/*
 * The next CRL number: one more than the current crl.pem's, and at least
 * the time now in seconds, so that it still grows if crl.pem was lost.
 */
static ASN1_INTEGER *
crl_next_number(const char *dir, const struct ca *ca)
{
	X509_CRL *cur = crl_current(dir, ca);
	ASN1_INTEGER *prev = NULL, *next = NULL;
	BIGNUM *a = NULL, *now = BN_new();

	if (now == NULL || BN_set_word(now, (BN_ULONG)time(NULL)) != 1)
		goto out;
	if (cur != NULL)
		prev = X509_CRL_get_ext_d2i(cur, NID_crl_number, NULL, NULL);
	if (prev != NULL && (a = ASN1_INTEGER_to_BN(prev, NULL)) != NULL &&
	    BN_add_word(a, 1) == 1 && BN_cmp(a, now) > 0)
		next = BN_to_ASN1_INTEGER(a, NULL);
	else
		next = BN_to_ASN1_INTEGER(now, NULL);
out:
	BN_free(a);
	BN_free(now);
	ASN1_INTEGER_free(prev);
	X509_CRL_free(cur);
	ERR_clear_error();
	return next;
}

/* Make dir/crl.pem from ix, valid for days. */
static int
crl_write(const char *dir, const struct ca *ca, const struct index *ix,
    int days, char *err, size_t errlen)
{
	char path[PATH_MAX];
	X509_CRL *crl = X509_CRL_new();
	ASN1_INTEGER *num = NULL, *serial = NULL;
	ASN1_TIME *t = ASN1_TIME_new();
	X509_REVOKED *r = NULL;
	X509_EXTENSION *aki = NULL;
	BIGNUM *bn = NULL;
	BIO *b = NULL;
	X509V3_CTX ctx;
	char *p;
	long n;
	size_t i;
	int rc;

	if ((rc = path_in(path, sizeof(path), dir, "crl.pem", err, errlen)) < 0)
		goto out;
	if (crl == NULL || t == NULL ||
	    (num = crl_next_number(dir, ca)) == NULL) {
		rc = oom(err, errlen);
		goto out;
	}
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) !=
	        1 ||
	    X509_gmtime_adj(t, 0) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_time_adj_ex(t, days, 0, NULL) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1) {
		rc = oom(err, errlen);
		goto out;
	}
	for (i = 0; i < ix->n; i++) {
		r = X509_REVOKED_new();
		if (r == NULL || BN_hex2bn(&bn, ix->v[i].hex) == 0 ||
		    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
		    X509_REVOKED_set_serialNumber(r, serial) != 1 ||
		    ASN1_TIME_set(t, ix->v[i].when) == NULL ||
		    X509_REVOKED_set_revocationDate(r, t) != 1 ||
		    X509_CRL_add0_revoked(crl, r) != 1) {
			rc = oom(err, errlen);
			goto out;
		}
		r = NULL;
		ASN1_INTEGER_free(serial);
		serial = NULL;
		BN_free(bn);
		bn = NULL;
	}
	X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always");
	if (X509_CRL_sort(crl) != 1 || aki == NULL ||
	    X509_CRL_add_ext(crl, aki, -1) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1) {
		rc = fail(err, errlen, SN_EIO, "%s: %s", path, ossl_why());
		goto out;
	}
	if (X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0) {
		rc = fail(err, errlen, SN_EIO, "%s: signing: %s", path,
		    ossl_why());
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509_CRL(b, crl) != 1) {
		rc = oom(err, errlen);
		goto out;
	}
	n = BIO_get_mem_data(b, &p);
	rc = put_file(path, p, (size_t)n, 0644, 1, err, errlen);
out:
	BIO_free(b);
	X509_EXTENSION_free(aki);
	X509_REVOKED_free(r);
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

/*
 * 1 if crl.pem is signed by the CA, lists exactly the serials of ix, and
 * is valid for more than PKI_CRL_RENEW_DAYS days yet; else 0.
 */
static int
crl_fresh(const char *dir, const struct ca *ca, const struct index *ix)
{
	X509_CRL *crl = crl_current(dir, ca);
	STACK_OF(X509_REVOKED) * rv;
	const ASN1_TIME *next;
	X509_REVOKED *r;
	char hex[HEX_MAX + 1];
	time_t limit = time(NULL) + (time_t)PKI_CRL_RENEW_DAYS * 86400;
	int i, ok = 0, n;

	if (crl == NULL)
		return 0;
	next = X509_CRL_get0_nextUpdate(crl);
	if (next == NULL || X509_cmp_time(next, &limit) != 1)
		goto out;
	rv = X509_CRL_get_REVOKED(crl);
	n = rv != NULL ? sk_X509_REVOKED_num(rv) : 0;
	if ((size_t)n != ix->n)
		goto out;
	for (i = 0; i < n; i++) {
		r = sk_X509_REVOKED_value(rv, i);
		if (serial_hex(X509_REVOKED_get0_serialNumber(r), hex) < 0 ||
		    index_find(ix, hex) == NULL)
			goto out;
	}
	ok = 1;
out:
	X509_CRL_free(crl);
	ERR_clear_error();
	return ok;
}

/* ---- checks of the arguments ----------------------------------------------- */

static int
check_days(int days, int max, const char *what, char *err, size_t errlen)
{
	if (days < 1 || days > max)
		return fail(err, errlen, SN_EINVAL,
		    "%s: %d days: expected 1 to %d", what, days, max);
	return 0;
}

/* A CA's name: 1-64 bytes, no control characters, no blank at an end. */
static int
check_ca_cn(const char *cn, char *err, size_t errlen)
{
	size_t n = cn != NULL ? strlen(cn) : 0, i;

	if (n == 0 || n > 64)
		return fail(err, errlen, SN_EINVAL,
		    "CA name: expected 1 to 64 bytes");
	for (i = 0; i < n; i++)
		if ((unsigned char)cn[i] < 0x20 || cn[i] == 0x7f)
			return fail(err, errlen, SN_EINVAL,
			    "CA name: control character at byte %zu", i + 1);
	if (cn[0] == ' ' || cn[n - 1] == ' ')
		return fail(err, errlen, SN_EINVAL,
		    "CA name \"%s\": leading or trailing blank", cn);
	return 0;
}

static int
check_id(const char *what, const char *s, char *err, size_t errlen)
{
	if (!config_valid_id(s))
		return fail(err, errlen, SN_EINVAL,
		    "%s \"%.80s\" is not a valid id: expected 1 to 64 of "
		    "A-Z a-z 0-9 . _ - (not \".\" or \"..\")",
		    what, s != NULL ? s : "");
	return 0;
}

static int
check_issue(const struct pki_issue_opts *o, char *err, size_t errlen)
{
	int rc;

	if ((rc = check_id("CN", o->cn, err, errlen)) < 0)
		return rc;
	if (o->server && o->ou != NULL)
		return fail(err, errlen, SN_EINVAL,
		    "a server certificate has no role (OU)");
	if (!o->server && o->ou == NULL)
		return fail(err, errlen, SN_EINVAL,
		    "a client certificate needs a role (OU)");
	if (!o->server && o->n_sans > 0)
		return fail(err, errlen, SN_EINVAL,
		    "SANs are for server certificates");
	if (o->n_sans > PKI_MAX_SANS)
		return fail(err, errlen, SN_EINVAL, "more than %d SANs",
		    PKI_MAX_SANS);
	if (o->ou != NULL && (rc = check_id("OU", o->ou, err, errlen)) < 0)
		return rc;
	if (o->days != 0 &&
	    (rc = check_days(o->days, PKI_MAX_DAYS, "certificate", err,
	         errlen)) < 0)
		return rc;
	return 0;
}

/* ---- the operations, without the lock -------------------------------------- */

/*
 * Make the CA's certificate, and its key unless key is given (an existing
 * ca.key, left by an interrupted run).  A key made here is removed again
 * if the certificate cannot be published.
 */
static int
ca_create(const char *dir, const char *cn, int days, EVP_PKEY *key,
    struct ca *ca, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX];
	EVP_PKEY *k = key;
	X509 *x = NULL;
	int rc, key_made = 0;

	ca->cert = NULL;
	ca->key = NULL;
	if ((rc = path_in(cp, sizeof(cp), dir, "ca.pem", err, errlen)) < 0 ||
	    (rc = path_in(kp, sizeof(kp), dir, "ca.key", err, errlen)) < 0)
		return rc;
	if (k == NULL && (k = new_key()) == NULL)
		return fail(err, errlen, SN_EIO, "key generation: %s",
		    ossl_why());
	rc = make_cert(NULL, k, K_CA, cn, NULL, days, NULL, 0, &x, err, errlen);
	if (rc < 0)
		goto out;
	if (key == NULL) {
		if ((rc = put_key(kp, k, err, errlen)) < 0)
			goto out;
		key_made = 1;
	}
	if ((rc = put_cert(cp, x, 0, err, errlen)) < 0)
		goto out;
	key_made = 0;
	if (key != NULL && EVP_PKEY_up_ref(key) != 1) {
		rc = oom(err, errlen);
		goto out;
	}
	ca->cert = x;
	ca->key = k;
	x = NULL;
	k = key;
	rc = 0;
out:
	if (key_made)
		(void)unlink(kp);
	X509_free(x);
	if (k != key)
		EVP_PKEY_free(k);
	return rc;
}

/* path given, or <dir>/<cn><ext> */
static int
out_path(char *buf, size_t len, const char *dir, const char *given,
    const char *cn, const char *ext, char *err, size_t errlen)
{
	int n;

	if (given != NULL)
		n = snprintf(buf, len, "%s", given);
	else
		n = snprintf(buf, len, "%s/%s%s", dir, cn, ext);
	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen, SN_ERANGE, "%s: path too long",
		    given != NULL ? given : dir);
	return 0;
}

/*
 * Issue o (checked) with the CA.  key: an existing key to certify (its key
 * file is there already); NULL: make one and write it to the key path.
 */
static int
issue(const char *dir, const struct ca *ca, const struct pki_issue_opts *o,
    EVP_PKEY *key, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX], buf[64];
	const char *const *sans = o->sans;
	size_t n_sans = o->n_sans;
	EVP_PKEY *k = key;
	X509 *x = NULL;
	int rc, key_made = 0;

	if ((rc = out_path(cp, sizeof(cp), dir, o->out_cert, o->cn, ".pem", err,
	         errlen)) < 0 ||
	    (rc = out_path(kp, sizeof(kp), dir, o->out_key, o->cn, ".key", err,
	         errlen)) < 0)
		return rc;
	if (strcmp(cp, kp) == 0)
		return fail(err, errlen, SN_EINVAL,
		    "certificate and key would both be %s", cp);
	if ((o->out_cert == NULL || o->out_key == NULL) &&
	    (strcmp(o->cn, "ca") == 0 || strcmp(o->cn, "crl") == 0))
		return fail(err, errlen, SN_EINVAL,
		    "CN \"%s\": %s/%s.pem is the CA's own file; choose other "
		    "file names",
		    o->cn, dir, o->cn);
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
		time_text(X509_get0_notAfter(ca->cert), buf, sizeof(buf));
		return fail(err, errlen, SN_EINVAL,
		    "the CA in %s expired on %s", dir, buf);
	}
	if ((rc = exists(cp, err, errlen)) != 0)
		return rc < 0 ? rc :
		                fail(err, errlen, SN_EEXIST,
		                    "%s: exists (not overwritten)", cp);
	if (key == NULL && (rc = exists(kp, err, errlen)) != 0)
		return rc < 0 ? rc :
		                fail(err, errlen, SN_EEXIST,
		                    "%s: exists (not overwritten)", kp);
	if (o->server && n_sans == 0) {
		sans = default_sans;
		n_sans = sizeof(default_sans) / sizeof(default_sans[0]);
	}
	if (k == NULL && (k = new_key()) == NULL)
		return fail(err, errlen, SN_EIO, "key generation: %s",
		    ossl_why());
	rc = make_cert(ca, k, o->server ? K_SERVER : K_CLIENT, o->cn, o->ou,
	    o->days != 0 ? o->days : PKI_LEAF_DAYS, sans, n_sans, &x, err,
	    errlen);
	if (rc < 0)
		goto out;
	if (key == NULL) {
		if ((rc = put_key(kp, k, err, errlen)) < 0)
			goto out;
		key_made = 1;
	}
	if ((rc = put_cert(cp, x, 0, err, errlen)) < 0)
		goto out;
	key_made = 0;
	rc = 0;
out:
	if (key_made)
		(void)unlink(kp);
	X509_free(x);
	if (k != key)
		EVP_PKEY_free(k);
	return rc;
}

static int
crl_make(const char *dir, const struct ca *ca, int days, char *err,
    size_t errlen)
{
	struct index ix;
	int rc;

	if ((rc = index_load(dir, &ix, err, errlen)) < 0)
		return rc;
	rc = crl_write(dir, ca, &ix, days, err, errlen);
	index_free(&ix);
	return rc;
}

/* ---- the public operations -------------------------------------------------- */

int
pki_init(const char *dir, const char *cn, int days, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX];
	struct ca ca = { NULL, NULL };
	struct index empty = { NULL, 0, 0 };
	int rc, lfd = -1;

	ERR_clear_error();
	if ((rc = check_ca_cn(cn, err, errlen)) < 0 ||
	    (rc = check_days(days, PKI_MAX_DAYS, "CA", err, errlen)) < 0)
		return rc;
	if ((rc = path_in(cp, sizeof(cp), dir, "ca.pem", err, errlen)) < 0 ||
	    (rc = path_in(kp, sizeof(kp), dir, "ca.key", err, errlen)) < 0)
		return rc;
	if ((rc = make_dir(dir, err, errlen)) < 0 ||
	    (rc = lock_dir(dir, &lfd, err, errlen)) < 0)
		return rc;
	if ((rc = exists(cp, err, errlen)) != 0 ||
	    (rc = exists(kp, err, errlen)) != 0) {
		if (rc > 0)
			rc = fail(err, errlen, SN_EEXIST,
			    "%s: a CA is there already (%s exists; nothing "
			    "changed)",
			    dir, exists(cp, NULL, 0) > 0 ? "ca.pem" : "ca.key");
		goto out;
	}
	if ((rc = ca_create(dir, cn, days, NULL, &ca, err, errlen)) < 0)
		goto out;
	/* a CA begins with nothing revoked (an index left without a CA
	 * belonged to a CA whose key is gone) */
	if ((rc = index_save(dir, &empty, err, errlen)) < 0 ||
	    (rc = crl_write(dir, &ca, &empty, PKI_CRL_DAYS, err, errlen)) < 0)
		goto out;
	rc = 0;
out:
	ca_clear(&ca);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

int
pki_issue(const char *dir, const struct pki_issue_opts *o, char *err,
    size_t errlen)
{
	struct ca ca = { NULL, NULL };
	int rc, lfd = -1;

	ERR_clear_error();
	if (o == NULL)
		return fail(err, errlen, SN_EINVAL, "no options");
	if ((rc = check_issue(o, err, errlen)) < 0)
		return rc;
	if ((rc = lock_dir(dir, &lfd, err, errlen)) < 0)
		return rc;
	if ((rc = ca_load(dir, 1, &ca, err, errlen)) < 0)
		goto out;
	rc = issue(dir, &ca, o, NULL, err, errlen);
out:
	ca_clear(&ca);
	close(lfd);
	return rc;
}

int
pki_revoke(const char *dir, const char *cert_file, char *err, size_t errlen)
{
	struct ca ca = { NULL, NULL };
	struct index ix = { NULL, 0, 0 };
	char hex[HEX_MAX + 1];
	X509 *x = NULL;
	int rc, lfd = -1;

	ERR_clear_error();
	if (cert_file == NULL)
		return fail(err, errlen, SN_EINVAL, "no certificate file");
	if ((rc = lock_dir(dir, &lfd, err, errlen)) < 0)
		return rc;
	if ((rc = ca_load(dir, 1, &ca, err, errlen)) < 0 ||
	    (rc = load_cert(cert_file, 0, &x, err, errlen)) < 0)
		goto out;
	if (!ca_signed(&ca, x)) {
		rc = fail(err, errlen, SN_EINVAL,
		    "%s: not issued by the CA in %s", cert_file, dir);
		goto out;
	}
	if (X509_cmp(x, ca.cert) == 0) {
		rc = fail(err, errlen, SN_EINVAL,
		    "%s: is the CA's own certificate (to retire the CA, "
		    "remove %s)",
		    cert_file, dir);
		goto out;
	}
	if (serial_hex(X509_get0_serialNumber(x), hex) < 0) {
		rc = fail(err, errlen, SN_EINVAL, "%s: bad serial number",
		    cert_file);
		goto out;
	}
	if ((rc = index_load(dir, &ix, err, errlen)) < 0)
		goto out;
	if (index_find(&ix, hex) != NULL) {
		rc = fail(err, errlen, SN_EEXIST,
		    "%s: serial %s is revoked already", cert_file, hex);
		goto out;
	}
	if ((rc = index_add(&ix, hex, time(NULL))) < 0) {
		rc = oom(err, errlen);
		goto out;
	}
	/* index first: if the CRL cannot be written, the next one has it */
	if ((rc = index_save(dir, &ix, err, errlen)) < 0 ||
	    (rc = crl_write(dir, &ca, &ix, PKI_CRL_DAYS, err, errlen)) < 0)
		goto out;
	rc = 0;
out:
	X509_free(x);
	index_free(&ix);
	ca_clear(&ca);
	close(lfd);
	return rc;
}

int
pki_crl(const char *dir, int days, char *err, size_t errlen)
{
	struct ca ca = { NULL, NULL };
	int rc, lfd = -1;

	ERR_clear_error();
	if ((rc = check_days(days, MAX_CRL_DAYS, "CRL", err, errlen)) < 0)
		return rc;
	if ((rc = lock_dir(dir, &lfd, err, errlen)) < 0)
		return rc;
	if ((rc = ca_load(dir, 1, &ca, err, errlen)) < 0)
		goto out;
	rc = crl_make(dir, &ca, days, err, errlen);
out:
	ca_clear(&ca);
	close(lfd);
	return rc;
}

/* ---- the development PKI ---------------------------------------------------- */

static const struct pki_issue_opts dev_leaves[] = {
	{ .cn = "localhost",
	    .server = 1,
	    .out_cert = "server.pem",
	    .out_key = "server.key" },
	{ .cn = "dev",
	    .ou = "Dev",
	    .out_cert = "dev.pem",
	    .out_key = "dev.key" },
	{ .cn = "admin",
	    .ou = "Admin",
	    .out_cert = "admin.pem",
	    .out_key = "admin.key" },
};
#define N_DEV_LEAVES (sizeof(dev_leaves) / sizeof(dev_leaves[0]))

/*
 * The CA of a development PKI, made or loaded.  What an interrupted run
 * may have left, and what is done with it:
 *   neither ca.pem nor ca.key: a new CA (and an empty index if none);
 *   ca.key without ca.pem (stopped between the two): ca.pem is made for
 *     the key that is there;
 *   ca.pem without ca.key: that is not ours to mend (SN_ESTALE).
 * Without ca.pem, a certificate or key of dev_leaves cannot be from this
 * CA (a run writes them after ca.pem): SN_ESTALE, before anything is made.
 */
static int
dev_ca(const char *dir, struct ca *ca, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX], ip[PATH_MAX], when[64];
	struct index empty = { NULL, 0, 0 };
	EVP_PKEY *key = NULL;
	int rc, has_cert, has_key;
	size_t i, j;

	if ((rc = path_in(cp, sizeof(cp), dir, "ca.pem", err, errlen)) < 0 ||
	    (rc = path_in(kp, sizeof(kp), dir, "ca.key", err, errlen)) < 0 ||
	    (rc = path_in(ip, sizeof(ip), dir, "index", err, errlen)) < 0)
		return rc;
	if ((has_cert = exists(cp, err, errlen)) < 0 ||
	    (has_key = exists(kp, err, errlen)) < 0)
		return has_cert < 0 ? has_cert : has_key;
	if (has_cert && !has_key)
		return fail(err, errlen, SN_ESTALE,
		    "%s is there but %s is not: restore the key, or remove "
		    "%s to start a new development PKI",
		    cp, kp, dir);
	if (has_cert) {
		if ((rc = ca_load(dir, 1, ca, err, errlen)) < 0)
			return rc;
		if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
			time_text(X509_get0_notAfter(ca->cert), when,
			    sizeof(when));
			ca_clear(ca);
			return fail(err, errlen, SN_ESTALE,
			    "the development CA in %s expired on %s: remove "
			    "%s to start a new one",
			    dir, when, dir);
		}
		return 0;
	}
	for (i = 0; i < N_DEV_LEAVES; i++)
		for (j = 0; j < 2; j++) {
			const char *f = j == 0 ? dev_leaves[i].out_cert :
			                         dev_leaves[i].out_key;

			if ((rc = path_in(ip, sizeof(ip), dir, f, err,
			         errlen)) < 0 ||
			    (rc = exists(ip, err, errlen)) < 0)
				return rc;
			if (rc > 0)
				return fail(err, errlen, SN_ESTALE,
				    "%s is there but %s is not (left from an "
				    "earlier CA?): remove it, or all of %s",
				    ip, cp, dir);
		}
	if ((rc = path_in(ip, sizeof(ip), dir, "index", err, errlen)) < 0)
		return rc;
	if (has_key && (rc = load_key(kp, &key, err, errlen)) < 0)
		return rc;
	rc = ca_create(dir, PKI_DEV_CA_CN, PKI_DEV_CA_DAYS, key, ca, err,
	    errlen);
	EVP_PKEY_free(key);
	if (rc < 0)
		return rc;
	if ((rc = exists(ip, err, errlen)) == 0)
		rc = index_save(dir, &empty, err, errlen);
	if (rc < 0)
		ca_clear(ca);
	return rc < 0 ? rc : 0;
}

/*
 * One certificate of a development PKI, checked (make 0) or made if
 * missing (make 1).  Leftovers:
 *   cert and key: kept, if the cert is this CA's, fits the key and has
 *     not expired (else SN_ESTALE: remove both to have new ones made);
 *   key without cert (stopped between the two): the key is certified;
 *   cert without key: SN_ESTALE (the key is lost; remove the cert).
 */
static int
dev_leaf(const char *dir, const struct ca *ca, const struct pki_issue_opts *o,
    int make, char *err, size_t errlen)
{
	char cp[PATH_MAX], kp[PATH_MAX], when[64];
	struct pki_issue_opts lo = *o;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc, has_cert, has_key;

	if ((rc = path_in(cp, sizeof(cp), dir, o->out_cert, err, errlen)) < 0 ||
	    (rc = path_in(kp, sizeof(kp), dir, o->out_key, err, errlen)) < 0)
		return rc;
	if ((has_cert = exists(cp, err, errlen)) < 0 ||
	    (has_key = exists(kp, err, errlen)) < 0)
		return has_cert < 0 ? has_cert : has_key;
	if (has_cert && !has_key)
		return fail(err, errlen, SN_ESTALE,
		    "%s is there but %s is not: remove %s to have both made "
		    "again",
		    cp, kp, cp);
	if (has_key && (rc = load_key(kp, &key, err, errlen)) < 0)
		return rc;
	if (!has_cert) {
		lo.out_cert = cp;
		lo.out_key = kp;
		rc = make ? issue(dir, ca, &lo, key, err, errlen) : 0;
		goto out;
	}
	if ((rc = load_cert(cp, 1, &x, err, errlen)) < 0)
		goto out;
	if (!ca_signed(ca, x)) {
		rc = fail(err, errlen, SN_ESTALE,
		    "%s was not issued by %s/ca.pem (left from an earlier "
		    "CA?): remove %s and %s to have new ones made",
		    cp, dir, cp, kp);
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		rc = fail(err, errlen, SN_ESTALE,
		    "%s does not belong to %s: remove both to have new ones "
		    "made",
		    kp, cp);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		time_text(X509_get0_notAfter(x), when, sizeof(when));
		rc = fail(err, errlen, SN_ESTALE,
		    "%s expired on %s: remove %s and %s to have new ones made",
		    cp, when, cp, kp);
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

int
pki_ensure_dev(const char *dir, char *err, size_t errlen)
{
	struct ca ca = { NULL, NULL };
	struct index ix = { NULL, 0, 0 };
	size_t i;
	int rc, lfd = -1, make;

	ERR_clear_error();
	if ((rc = make_dir(dir, err, errlen)) < 0 ||
	    (rc = lock_dir(dir, &lfd, err, errlen)) < 0)
		return rc;
	if ((rc = dev_ca(dir, &ca, err, errlen)) < 0 ||
	    (rc = index_load(dir, &ix, err, errlen)) < 0)
		goto out;
	/* check every leaf before making any, so a refusal makes nothing */
	for (make = 0; make < 2; make++)
		for (i = 0; i < N_DEV_LEAVES; i++)
			if ((rc = dev_leaf(dir, &ca, &dev_leaves[i], make, err,
			         errlen)) < 0)
				goto out;
	if (!crl_fresh(dir, &ca, &ix))
		rc = crl_write(dir, &ca, &ix, PKI_CRL_DAYS, err, errlen);
out:
	index_free(&ix);
	ca_clear(&ca);
	if (lfd >= 0)
		close(lfd);
	return rc;
}
