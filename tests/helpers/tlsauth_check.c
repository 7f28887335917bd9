/*
 * tlsauth_check.c - drive src/api/tlsauth.c from the integration tests.
 *
 *   tlsauth_check [--crl CRL] [--time EPOCH] CA CHAIN.pem
 *       tlsauth_verify_chain() on the certificates of CHAIN.pem, in file
 *       order (leaf first), at EPOCH (default: now).  The PEM blocks are
 *       only base64-decoded here, not parsed, so a block that holds junk
 *       reaches tlsauth as junk; a file with no block is an empty chain.
 *
 *   tlsauth_check --session [--crl CRL] [--tls12] CA SERVER.pem SERVER.key
 *                 [CLIENT.pem CLIENT.key]
 *       a real TLS handshake over a socketpair: a GnuTLS server that only
 *       requests a client certificate (as libmicrohttpd does) and a GnuTLS
 *       client (in a thread) presenting CLIENT.pem (its chain) or nothing;
 *       then tlsauth_verify_session() on the server's session.
 *
 *   tlsauth_check --mint CA.pem CA.key OUT ATTR=VALUE...
 *       make OUT.pem (a client certificate signed by CA: CA:FALSE, EKU
 *       clientAuth, valid from an hour ago for a day) and OUT.key, whose
 *       subject is the ATTR=VALUE list, each written as DER by us, so a
 *       value may hold anything: ATTR is CN, OU, O or a dotted OID,
 *       optionally with :printable, :ia5, :bmp (ASCII as UCS-2) or :int
 *       (the bytes as an INTEGER) for another type than UTF8String;
 *       VALUE takes the escapes \0, \xHH and \\ (the openssl CLI cannot
 *       make a NUL byte or a CN over 64 bytes).
 *
 * Output (verify modes): "ok AGENT ROLE FINGERPRINT" and exit 0, or
 * "refused: WHY" and exit 1.  Exit 2: usage, or a file or TLS setup error
 * ("error: ..." on stderr), including a CA or CRL file tlsauth_new()
 * refuses.
 */
#include "autoconf.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/tlsauth.h"
#include "core/err.h"

#define CHAIN_READ_MAX 64
#define PEM_BEGIN      "-----BEGIN CERTIFICATE-----"
#define PEM_END        "-----END CERTIFICATE-----"
#define PRIO_ANY       "NORMAL"
#define PRIO_TLS12     "NORMAL:-VERS-ALL:+VERS-TLS1.2"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tlsauth_check [--crl CRL] [--time EPOCH] CA CHAIN.pem\n"
	    "       tlsauth_check --session [--crl CRL] [--tls12] CA "
	    "SERVER.pem SERVER.key [CLIENT.pem CLIENT.key]\n"
	    "       tlsauth_check --mint CA.pem CA.key OUT ATTR=VALUE...\n");
	exit(2);
}

static void
die(const char *what, int gnutls_err)
{
	fprintf(stderr, "error: %s: %s\n", what, gnutls_strerror(gnutls_err));
	exit(2);
}

static int
report(int rc, const struct sn_identity *id, const char *why)
{
	if (rc == 0) {
		printf("ok %s %s %s\n", id->agent, id->role, id->fingerprint);
		return 0;
	}
	if (rc == SN_EPERM) {
		printf("refused: %s\n", why);
		return 1;
	}
	printf("refused: %s (%s)\n", why, err_str(rc));
	return 1;
}

/* ---- chain mode ---------------------------------------------------------- */

struct chain {
	gnutls_datum_t der[CHAIN_READ_MAX];
	size_t n;
};

static void
chain_read(const char *file, struct chain *c)
{
	gnutls_datum_t all = { NULL, 0 }, blk;
	char *text, *p, *e;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = gnutls_load_file(file, &all);
	if (ret < 0)
		die(file, ret);
	text = calloc(1, all.size + 1);
	if (text == NULL)
		die("calloc", GNUTLS_E_MEMORY_ERROR);
	memcpy(text, all.data, all.size);
	gnutls_free(all.data);
	for (p = strstr(text, PEM_BEGIN); p != NULL; p = strstr(p, PEM_BEGIN)) {
		e = strstr(p, PEM_END);
		if (e == NULL) {
			fprintf(stderr, "error: %s: unterminated PEM block\n",
			    file);
			exit(2);
		}
		if (c->n == CHAIN_READ_MAX) {
			fprintf(stderr, "error: %s: over %d certificates\n",
			    file, CHAIN_READ_MAX);
			exit(2);
		}
		e += strlen(PEM_END);
		blk.data = (unsigned char *)p;
		blk.size = (unsigned)(e - p);
		ret = gnutls_pem_base64_decode2("CERTIFICATE", &blk,
		    &c->der[c->n]);
		if (ret < 0)
			die(file, ret);
		c->n++;
		p = e;
	}
	free(text);
}

static int
run_chain(struct tlsauth *a, const char *file, time_t now)
{
	struct chain c;
	const void *der[CHAIN_READ_MAX];
	size_t len[CHAIN_READ_MAX], i;
	struct sn_identity id;
	char why[512];
	int rc;

	chain_read(file, &c);
	for (i = 0; i < c.n; i++) {
		der[i] = c.der[i].data;
		len[i] = c.der[i].size;
	}
	rc = tlsauth_verify_chain(a, der, len, c.n, now, &id, why, sizeof(why));
	for (i = 0; i < c.n; i++)
		gnutls_free(c.der[i].data);
	return report(rc, &id, why);
}

/* ---- session mode -------------------------------------------------------- */

struct peer {
	int fd;
	const char *cert, *key, *prio;
	int ret; /* of the client's handshake */
};

static void *
client_main(void *arg)
{
	struct peer *p = arg;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	char buf[256];
	int ret;

	ret = gnutls_certificate_allocate_credentials(&cred);
	if (ret < 0)
		goto out;
	if (p->cert != NULL) {
		ret = gnutls_certificate_set_x509_key_file(cred, p->cert,
		    p->key, GNUTLS_X509_FMT_PEM);
		if (ret < 0)
			goto out;
	}
	ret = gnutls_init(&s, GNUTLS_CLIENT);
	if (ret < 0) {
		s = NULL;
		goto out;
	}
	ret = gnutls_priority_set_direct(s, p->prio, NULL);
	if (ret >= 0)
		ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (ret < 0)
		goto out;
	gnutls_transport_set_int(s, p->fd);
	gnutls_handshake_set_timeout(s, 20000);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0)
		goto out;
	/* until the server closes (session tickets may come first) */
	do {
		ret = gnutls_record_recv(s, buf, sizeof(buf));
	} while (ret > 0 || (ret < 0 && !gnutls_error_is_fatal(ret)));
	ret = 0;
out:
	p->ret = ret;
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	shutdown(p->fd, SHUT_RDWR);
	return NULL;
}

static int
run_session(struct tlsauth *a, const char *prio, const char *srv_cert,
    const char *srv_key, const char *cli_cert, const char *cli_key)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct peer peer;
	struct sn_identity id;
	pthread_t th;
	char why[512];
	int sv[2], ret, rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "error: socketpair: %s\n", strerror(errno));
		return 2;
	}
	ret = gnutls_certificate_allocate_credentials(&cred);
	if (ret < 0)
		die("credentials", ret);
	ret = gnutls_certificate_set_x509_key_file(cred, srv_cert, srv_key,
	    GNUTLS_X509_FMT_PEM);
	if (ret < 0)
		die(srv_cert, ret);
	ret = gnutls_init(&s, GNUTLS_SERVER);
	if (ret < 0)
		die("gnutls_init", ret);
	ret = gnutls_priority_set_direct(s, prio, NULL);
	if (ret < 0)
		die(prio, ret);
	ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (ret < 0)
		die("gnutls_credentials_set", ret);
	/* like libmicrohttpd: ask, never verify */
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(s, sv[0]);
	gnutls_handshake_set_timeout(s, 20000);

	memset(&peer, 0, sizeof(peer));
	peer.fd = sv[1];
	peer.cert = cli_cert;
	peer.key = cli_key;
	peer.prio = prio;
	if (pthread_create(&th, NULL, client_main, &peer) != 0) {
		fprintf(stderr, "error: pthread_create\n");
		return 2;
	}
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		fprintf(stderr, "error: server handshake: %s\n",
		    gnutls_strerror(ret));
		rc = 2;
	} else {
		rc = tlsauth_verify_session(a, s, &id, why, sizeof(why));
		rc = report(rc, &id, why);
		gnutls_bye(s, GNUTLS_SHUT_WR);
	}
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(th, NULL);
	if (rc != 2 && peer.ret < 0) {
		fprintf(stderr, "error: client handshake: %s\n",
		    gnutls_strerror(peer.ret));
		rc = 2;
	}
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/* ---- mint mode ----------------------------------------------------------- */

/* VALUE with \0, \xHH, \\ into buf; its length, or -1. */
static int
unescape(const char *s, unsigned char *buf, size_t max)
{
	size_t n = 0;
	unsigned v;
	int k;

	while (*s != '\0') {
		if (n == max)
			return -1;
		if (*s != '\\') {
			buf[n++] = (unsigned char)*s++;
			continue;
		}
		s++;
		if (*s == '0') {
			buf[n++] = 0;
			s++;
		} else if (*s == '\\') {
			buf[n++] = '\\';
			s++;
		} else if (*s == 'x') {
			s++;
			v = 0;
			for (k = 0; k < 2; k++, s++) {
				if (*s >= '0' && *s <= '9')
					v = v * 16 + (unsigned)(*s - '0');
				else if (*s >= 'a' && *s <= 'f')
					v = v * 16 + (unsigned)(*s - 'a' + 10);
				else
					return -1;
			}
			buf[n++] = (unsigned char)v;
		} else {
			return -1;
		}
	}
	return (int)n;
}

static void
write_file(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(d->data, 1, d->size, f) != d->size ||
	    fclose(f) != 0) {
		fprintf(stderr, "error: %s: %s\n", path, strerror(errno));
		exit(2);
	}
}

/* a GnuTLS call that must succeed */
#define CK(what, call) \
	do { \
		int ck_ = (call); \
		if (ck_ < 0) \
			die(what, ck_); \
	} while (0)

/* ATTR=VALUE as a UTF8String AVA of crt's subject. */
static int
add_ava(gnutls_x509_crt_t crt, char *attr)
{
	unsigned char val[1024], der[2100];
	const char *oid;
	char *eq, *colon;
	unsigned char tag = 0x0c; /* UTF8String */
	int n, i;

	eq = strchr(attr, '=');
	if (eq == NULL)
		usage();
	*eq = '\0';
	colon = strchr(attr, ':');
	if (colon != NULL) {
		*colon++ = '\0';
		if (strcmp(colon, "printable") == 0)
			tag = 0x13;
		else if (strcmp(colon, "ia5") == 0)
			tag = 0x16;
		else if (strcmp(colon, "bmp") == 0)
			tag = 0x1e;
		else if (strcmp(colon, "int") == 0)
			tag = 0x02;
		else
			usage();
	}
	if (strcmp(attr, "CN") == 0)
		oid = GNUTLS_OID_X520_COMMON_NAME;
	else if (strcmp(attr, "OU") == 0)
		oid = GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME;
	else if (strcmp(attr, "O") == 0)
		oid = GNUTLS_OID_X520_ORGANIZATION_NAME;
	else
		oid = attr;
	n = unescape(eq + 1, val, sizeof(val) / 2);
	if (n < 0) {
		fprintf(stderr, "error: bad value: %s\n", eq + 1);
		exit(2);
	}
	if (tag == 0x1e) { /* BMPString: UCS-2, big-endian (ASCII only) */
		for (i = n - 1; i >= 0; i--) {
			val[2 * i + 1] = val[i];
			val[2 * i] = 0;
		}
		n *= 2;
	}
	/* DER: tag, length (short form or 0x82 HH LL), bytes */
	der[0] = tag;
	if (n < 128) {
		der[1] = (unsigned char)n;
		memcpy(der + 2, val, (size_t)n);
		n += 2;
	} else {
		der[1] = 0x82;
		der[2] = (unsigned char)(n >> 8);
		der[3] = (unsigned char)(n & 0xff);
		memcpy(der + 4, val, (size_t)n);
		n += 4;
	}
	CK(attr, gnutls_x509_crt_set_dn_by_oid(crt, oid, 1, der, (unsigned)n));
	return 0;
}

static int
run_mint(const char *ca_pem, const char *ca_key, const char *out, int nattr,
    char **attr)
{
	gnutls_x509_crt_t ca, crt;
	gnutls_x509_privkey_t key;
	gnutls_privkey_t cakey;
	gnutls_datum_t d, o;
	unsigned char serial[8], kid[64];
	size_t kidlen = sizeof(kid);
	char path[4096];
	time_t now = time(NULL);
	int i;

	CK(ca_pem, gnutls_load_file(ca_pem, &d));
	CK(ca_pem, gnutls_x509_crt_init(&ca));
	CK(ca_pem, gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_PEM));
	gnutls_free(d.data);
	CK(ca_key, gnutls_load_file(ca_key, &d));
	CK(ca_key, gnutls_privkey_init(&cakey));
	CK(ca_key,
	    gnutls_privkey_import_x509_raw(cakey, &d, GNUTLS_X509_FMT_PEM, NULL,
	        0));
	gnutls_free(d.data);

	CK("key", gnutls_x509_privkey_init(&key));
	CK("key",
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	CK("serial", gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
	CK("cert", gnutls_x509_crt_init(&crt));
	CK("cert", gnutls_x509_crt_set_version(crt, 3));
	CK("cert", gnutls_x509_crt_set_key(crt, key));
	CK("cert", gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	CK("cert", gnutls_x509_crt_set_activation_time(crt, now - 3600));
	CK("cert", gnutls_x509_crt_set_expiration_time(crt, now + 86400));
	CK("cert", gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	CK("cert",
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	CK("cert",
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT,
	        0));
	CK("ca key id",
	    gnutls_x509_crt_get_subject_key_id(ca, kid, &kidlen, NULL));
	CK("cert", gnutls_x509_crt_set_authority_key_id(crt, kid, kidlen));
	for (i = 0; i < nattr; i++)
		add_ava(crt, attr[i]);
	CK("sign",
	    gnutls_x509_crt_privkey_sign(crt, ca, cakey, GNUTLS_DIG_SHA256, 0));

	CK("export", gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &o));
	snprintf(path, sizeof(path), "%s.pem", out);
	write_file(path, &o);
	gnutls_free(o.data);
	CK("export key",
	    gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
	        GNUTLS_PKCS_PLAIN, &o));
	snprintf(path, sizeof(path), "%s.key", out);
	write_file(path, &o);
	gnutls_free(o.data);

	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(key);
	gnutls_privkey_deinit(cakey);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	const char *crl = NULL, *prio = PRIO_ANY;
	struct tlsauth *a = NULL;
	time_t now = time(NULL);
	char err[512], *end;
	long long t;
	int session = 0, i = 1, rc;

	if (argc >= 2 && strcmp(argv[1], "--mint") == 0) {
		if (argc < 5)
			usage();
		return run_mint(argv[2], argv[3], argv[4], argc - 5, argv + 5);
	}
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--crl") == 0 && i + 1 < argc) {
			crl = argv[++i];
		} else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
			errno = 0;
			t = strtoll(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i])
				usage();
			now = (time_t)t;
		} else if (strcmp(argv[i], "--session") == 0) {
			session = 1;
		} else if (strcmp(argv[i], "--tls12") == 0) {
			prio = PRIO_TLS12;
		} else {
			usage();
		}
	}
	argc -= i;
	argv += i;
	if (session ? (argc != 3 && argc != 5) : argc != 2)
		usage();

	rc = tlsauth_new(argv[0], crl, &a, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "error: %s (%s)\n", err, err_str(rc));
		return 2;
	}
	if (session)
		rc = run_session(a, prio, argv[1], argv[2],
		    argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
	else
		rc = run_chain(a, argv[1], now);
	tlsauth_free(a);
	return rc;
}
