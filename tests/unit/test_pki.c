/*
 * test_pki.c - the development PKI (src/core/pki.c) seen by a second
 * implementation: GnuTLS (what the API server's TLS uses) loads the
 * server's key, verifies the certificates against ca.pem and honours
 * crl.pem.  Also: the error codes, an expired CA, the CRL number, the
 * index format, and what pki_ensure_dev does with a half-made directory.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "core/pki.h"
#include "tap.h"

static char topdir[] = "/tmp/sn-test-pki-XXXXXX";

static const char *
path(const char *dir, const char *name)
{
	static char buf[8][4096];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s/%s", topdir, dir, name);
	return buf[i];
}

static const char *
sub(const char *dir)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", topdir, dir);
	return buf[i];
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static char *
slurp(const char *p, size_t *len)
{
	char *buf = NULL;
	long n;
	FILE *f = fopen(p, "rb");

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static X509 *
read_cert(const char *p)
{
	FILE *f = fopen(p, "r");
	X509 *x = NULL;

	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

static X509_CRL *
read_crl(const char *p)
{
	FILE *f = fopen(p, "r");
	X509_CRL *c = NULL;

	if (f != NULL) {
		c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
		fclose(f);
	}
	return c;
}

/* The CRL number of a crl.pem, or -1. */
static long
crl_number(const char *p)
{
	X509_CRL *c = read_crl(p);
	ASN1_INTEGER *n = NULL;
	long v = -1;

	if (c != NULL)
		n = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL);
	if (n != NULL)
		v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	X509_CRL_free(c);
	return v;
}

/* ---- GnuTLS ------------------------------------------------------------- */

static int
gnutls_load(const char *p, gnutls_datum_t *d)
{
	size_t len;
	char *buf = slurp(p, &len);

	d->data = (unsigned char *)buf;
	d->size = (unsigned)len;
	return buf != NULL ? 0 : -1;
}

/*
 * GnuTLS's verdict on cert against ca (and crl when given): the
 * gnutls_certificate_status_t bits, or -1 when it cannot load them.
 */
static int
gnutls_verdict(const char *ca, const char *crl, const char *cert)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = { NULL, 0 };
	unsigned status = 0;
	int r = -1;

	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return -1;
	if (gnutls_x509_trust_list_add_trust_file(tl, ca, crl,
	        GNUTLS_X509_FMT_PEM, 0, 0) <= 0)
		goto out;
	if (gnutls_load(cert, &d) < 0 || gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	if (gnutls_x509_trust_list_verify_crt(tl, &crt, 1, 0, &status, NULL) <
	    0)
		goto out;
	r = (int)status;
out:
	free(d.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_x509_trust_list_deinit(tl, 1);
	return r;
}

/* 1 if GnuTLS finds purpose (an EKU OID) in cert. */
static int
gnutls_has_purpose(const char *cert, const char *oid)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = { NULL, 0 };
	char buf[128];
	size_t len;
	unsigned i;
	int r = 0;

	if (gnutls_load(cert, &d) < 0 || gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	for (i = 0;; i++) {
		len = sizeof(buf);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, buf, &len,
		        NULL) < 0)
			break;
		if (strcmp(buf, oid) == 0)
			r = 1;
	}
out:
	free(d.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return r;
}

static void
test_gnutls(void)
{
	gnutls_certificate_credentials_t cred;
	char err[512];
	int v;

	is_int(pki_ensure_dev(sub("g"), err, sizeof(err)), 0,
	    "pki_ensure_dev: a development PKI");
	if (gnutls_certificate_allocate_credentials(&cred) == 0) {
		is_int(gnutls_certificate_set_x509_key_file(cred,
		           path("g", "server.pem"), path("g", "server.key"),
		           GNUTLS_X509_FMT_PEM),
		    0, "GnuTLS loads server.pem with server.key");
		gnutls_certificate_free_credentials(cred);
	}
	is_int(gnutls_verdict(path("g", "ca.pem"), path("g", "crl.pem"),
	           path("g", "dev.pem")),
	    0, "GnuTLS: dev.pem verifies against ca.pem and crl.pem");
	is_int(gnutls_verdict(path("g", "ca.pem"), path("g", "crl.pem"),
	           path("g", "server.pem")),
	    0, "GnuTLS: server.pem verifies");
	ok(gnutls_has_purpose(path("g", "dev.pem"), GNUTLS_KP_TLS_WWW_CLIENT),
	    "GnuTLS: dev.pem has clientAuth");
	ok(!gnutls_has_purpose(path("g", "dev.pem"), GNUTLS_KP_TLS_WWW_SERVER),
	    "GnuTLS: dev.pem has no serverAuth");
	ok(gnutls_has_purpose(path("g", "server.pem"),
	       GNUTLS_KP_TLS_WWW_SERVER) &&
	        !gnutls_has_purpose(path("g", "server.pem"),
	            GNUTLS_KP_TLS_WWW_CLIENT),
	    "GnuTLS: server.pem has serverAuth only");
	is_int(pki_revoke(sub("g"), path("g", "dev.pem"), err, sizeof(err)), 0,
	    "revoke dev.pem");
	v = gnutls_verdict(path("g", "ca.pem"), path("g", "crl.pem"),
	    path("g", "dev.pem"));
	ok(v > 0 && (v & GNUTLS_CERT_REVOKED),
	    "GnuTLS: dev.pem now revoked (status 0x%x)", (unsigned)v);
	is_int(gnutls_verdict(path("g", "ca.pem"), path("g", "crl.pem"),
	           path("g", "admin.pem")),
	    0, "GnuTLS: admin.pem still verifies");
	v = gnutls_verdict(path("g", "ca.pem"), NULL, path("g", "dev.pem"));
	is_int(v, 0, "without the CRL, dev.pem would verify (the CRL did it)");
}

/* ---- errors -------------------------------------------------------------- */

static void
test_errors(void)
{
	struct pki_issue_opts o = { .cn = "dev", .ou = "Dev" };
	const char *sans[] = { "a.example", "b.example" };
	char err[512];

	is_int(pki_issue(sub("none"), &o, err, sizeof(err)), SN_ENOENT,
	    "issue without a directory: SN_ENOENT");
	has_str(err, "sentinel ca init", "the message says what to do");
	is_int(pki_init(sub("e"), "", 10, err, sizeof(err)), SN_EINVAL,
	    "init with an empty name: SN_EINVAL");
	is_int(pki_init(sub("e"), "x", 0, err, sizeof(err)), SN_EINVAL,
	    "init for 0 days: SN_EINVAL");
	ok(!exists(path("e", "ca.key")), "and no key made");
	is_int(pki_init(sub("e"), "Test CA", 30, NULL, 0), 0,
	    "init (err NULL is fine)");
	is_int(pki_init(sub("e"), "Test CA", 30, err, sizeof(err)), SN_EEXIST,
	    "init twice: SN_EEXIST");
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), 0, "issue dev");
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EEXIST,
	    "issue dev twice: SN_EEXIST");
	o.cn = "x/y";
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "CN x/y: SN_EINVAL");
	has_str(err, "not a valid id", "the message says why");
	o.cn = "x";
	o.ou = NULL;
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "client without OU: SN_EINVAL");
	o.ou = "Dev";
	o.sans = sans;
	o.n_sans = 2;
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "client with SANs: SN_EINVAL");
	o.server = 1;
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "server with OU: SN_EINVAL");
	o.ou = NULL;
	o.days = PKI_MAX_DAYS + 1;
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "too many days: SN_EINVAL");
	o.days = 0;
	o.out_cert = path("e", "same");
	o.out_key = path("e", "same");
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), SN_EINVAL,
	    "cert and key at one path: SN_EINVAL");
	ok(!exists(path("e", "same")), "nothing made there");
	o.out_key = path("e", "x.key");
	is_int(pki_issue(sub("e"), &o, err, sizeof(err)), 0,
	    "server with two SANs and paths given");
	is_int(pki_revoke(sub("e"), path("e", "x.key"), err, sizeof(err)),
	    SN_EINVAL, "revoke a key file: SN_EINVAL");
	is_int(pki_revoke(sub("e"), path("e", "ca.pem"), err, sizeof(err)),
	    SN_EINVAL, "revoke the CA: SN_EINVAL");
	is_int(pki_revoke(sub("e"), path("e", "nope.pem"), err, sizeof(err)),
	    SN_ENOENT, "revoke a missing file: SN_ENOENT");
	is_int(pki_revoke(sub("e"), path("e", "dev.pem"), err, sizeof(err)), 0,
	    "revoke dev.pem");
	is_int(pki_revoke(sub("e"), path("e", "dev.pem"), err, sizeof(err)),
	    SN_EEXIST, "revoke dev.pem twice: SN_EEXIST");
	is_int(pki_crl(sub("e"), 0, err, sizeof(err)), SN_EINVAL,
	    "crl for 0 days: SN_EINVAL");
	is_int(pki_crl(sub("e"), 3651, err, sizeof(err)), SN_EINVAL,
	    "crl for 3651 days: SN_EINVAL");
}

/* ---- the CRL number and the index ----------------------------------------- */

static void
test_crl(void)
{
	struct pki_issue_opts o = { .cn = "dev", .ou = "Dev" };
	char err[512], *idx;
	long n0, n1, n2;
	size_t len;
	FILE *f;

	is_int(pki_init(sub("c"), "C", 30, err, sizeof(err)), 0, "init");
	n0 = crl_number(path("c", "crl.pem"));
	ok(n0 >= (long)time(NULL) - 60, "the first CRL number is the time");
	is_int(pki_crl(sub("c"), 5, err, sizeof(err)), 0, "crl");
	n1 = crl_number(path("c", "crl.pem"));
	is_int(pki_crl(sub("c"), 5, err, sizeof(err)), 0, "crl again");
	n2 = crl_number(path("c", "crl.pem"));
	ok(n0 < n1 && n1 < n2, "CRL numbers grow: %ld %ld %ld", n0, n1, n2);
	unlink(path("c", "crl.pem"));
	is_int(pki_crl(sub("c"), 5, err, sizeof(err)), 0,
	    "crl with crl.pem gone");
	ok(crl_number(path("c", "crl.pem")) >= (long)time(NULL) - 1,
	    "still not less than the time");
	is_int(pki_issue(sub("c"), &o, err, sizeof(err)), 0, "issue dev");
	is_int(pki_revoke(sub("c"), path("c", "dev.pem"), err, sizeof(err)), 0,
	    "revoke dev");
	idx = slurp(path("c", "index"), &len);
	ok(idx != NULL && len == 32 + 1 + 20 + 1 && idx[32] == ' ' &&
	        idx[len - 1] == '\n',
	    "index: one line, 32 hex digits, a space, a time");
	free(idx);
	/* lower case and leading zeros are read as the same serial */
	f = fopen(path("c", "index"), "a");
	if (f != NULL) {
		fputs("00abcdef 2024-02-29T12:00:00Z\n", f);
		fclose(f);
	}
	is_int(pki_crl(sub("c"), 5, err, sizeof(err)), 0,
	    "index with a hand-written line");
	{
		X509_CRL *c = read_crl(path("c", "crl.pem"));
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		X509_REVOKED *r = NULL;

		ASN1_INTEGER_set(s, 0xabcdef);
		ok(c != NULL && X509_CRL_get0_by_serial(c, &r, s) == 1 &&
		        r != NULL &&
		        ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(
		                                 r),
		            1709208000) == 0,
		    "serial ABCDEF revoked at 2024-02-29T12:00:00Z");
		ASN1_INTEGER_free(s);
		X509_CRL_free(c);
	}
	f = fopen(path("c", "index"), "a");
	if (f != NULL) {
		fputs("ABCDEF 2024-03-01T12:00:00Z\n", f);
		fclose(f);
	}
	is_int(pki_crl(sub("c"), 5, err, sizeof(err)), SN_EINVAL,
	    "a serial twice in index: SN_EINVAL");
	has_str(err, "index:3:", "the message names the line");
}

/* ---- an expired CA --------------------------------------------------------- */

/* Replace dir/ca.pem by one with the same key that expired yesterday. */
static int
expire_ca(const char *dir)
{
	char p[4096];
	EVP_PKEY *k = NULL;
	X509 *old = NULL, *x = NULL;
	FILE *f;
	int r = -1;

	snprintf(p, sizeof(p), "%s/ca.key", dir);
	if ((f = fopen(p, "r")) == NULL)
		return -1;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	old = read_cert(p);
	x = X509_new();
	if (k == NULL || old == NULL || x == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, X509_get_serialNumber(old)) != 1 ||
	    X509_set_subject_name(x, X509_get_subject_name(old)) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(old)) != 1 ||
	    X509_set_pubkey(x, k) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -10 * 86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), -86400) == NULL ||
	    X509_sign(x, k, EVP_sha256()) <= 0)
		goto out;
	if ((f = fopen(p, "w")) == NULL)
		goto out;
	if (PEM_write_X509(f, x) == 1)
		r = 0;
	fclose(f);
out:
	X509_free(x);
	X509_free(old);
	EVP_PKEY_free(k);
	return r;
}

static void
test_expired(void)
{
	struct pki_issue_opts o = { .cn = "late", .ou = "Dev" };
	char err[512];

	is_int(pki_ensure_dev(sub("x"), err, sizeof(err)), 0, "a dev PKI");
	ok(expire_ca(sub("x")) == 0, "its CA made to have expired yesterday");
	is_int(pki_issue(sub("x"), &o, err, sizeof(err)), SN_EINVAL,
	    "issue with an expired CA: SN_EINVAL");
	has_str(err, "expired", "the message says so");
	ok(!exists(path("x", "late.key")), "no key made");
	is_int(pki_ensure_dev(sub("x"), err, sizeof(err)), SN_ESTALE,
	    "pki_ensure_dev with an expired CA: SN_ESTALE");
	has_str(err, "remove", "the message says what to do");
}

/* ---- pki_ensure_dev -------------------------------------------------------- */

static void
test_dev(void)
{
	char err[512];
	size_t len;
	char *a, *b;
	int fd;

	is_int(pki_ensure_dev(sub("d"), err, sizeof(err)), 0, "first run");
	a = slurp(path("d", "crl.pem"), &len);
	is_int(pki_ensure_dev(sub("d"), err, sizeof(err)), 0, "second run");
	b = slurp(path("d", "crl.pem"), &len);
	ok(a != NULL && b != NULL && strcmp(a, b) == 0,
	    "a fresh crl.pem is left as it is");
	free(a);
	free(b);
	/* a stray empty key file where a run was killed during the write
	 * cannot happen (keys are published whole), but a garbage one is
	 * refused, not overwritten */
	unlink(path("d", "admin.pem"));
	unlink(path("d", "admin.key"));
	fd = open(path("d", "admin.key"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0)
		close(fd);
	is_int(pki_ensure_dev(sub("d"), err, sizeof(err)), SN_EINVAL,
	    "an empty admin.key: SN_EINVAL");
	ok(exists(path("d", "admin.key")) && !exists(path("d", "admin.pem")),
	    "kept, and no admin.pem made");
	unlink(path("d", "admin.key"));
	is_int(pki_ensure_dev(sub("d"), err, sizeof(err)), 0,
	    "admin.key removed: made again");
	chmod(path("d", "dev.key"), 0640);
	is_int(pki_ensure_dev(sub("d"), err, sizeof(err)), SN_EPERM,
	    "dev.key mode 0640: SN_EPERM");
	has_str(err, "chmod 600", "the message says what to do");
	chmod(path("d", "dev.key"), 0600);
}

static int
rm_rf(const char *p)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execlp("rm", "rm", "-rf", p, (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	        WEXITSTATUS(st) == 0 ?
	    0 :
	    -1;
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_gnutls();
	test_errors();
	test_crl();
	test_expired();
	test_dev();
	if (getenv("SN_KEEP_TMP") == NULL)
		rm_rf(topdir);
	return done_testing();
}
