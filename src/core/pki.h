/*
 * pki.h - the development PKI: a small certificate authority in one
 * directory, so that mutual TLS works without any other tool.
 *
 * A PKI directory holds (names fixed):
 *
 *   ca.key     the CA's EC P-256 private key (PKCS#8 PEM, mode 0600)
 *   ca.pem     the CA's self-signed certificate
 *   crl.pem    the certificate revocation list, signed by the CA
 *   index      the revocation database: one line per revoked certificate,
 *              "SERIAL TIME" (serial in upper-case hex, revocation time
 *              as YYYY-MM-DDTHH:MM:SSZ); crl.pem is made from it
 *   NAME.pem, NAME.key   certificates issued by pki_issue (by default)
 *
 * Every key is EC P-256, written once (O_EXCL|O_NOFOLLOW into a temporary
 * name, then published without replacing: an existing file is never
 * overwritten), mode 0600, and wiped from memory after use.  Files meant
 * to be replaced (crl.pem, index) are written to a temporary name and
 * renamed over the old one, so a reader sees the old or the new file,
 * never a part.  Serial numbers are 128 random bits.  Each call takes an
 * exclusive flock(2) on the directory for its duration, so concurrent
 * calls (two revocations, two servers starting) do not lose updates.
 *
 * Each function returns 0 or a negative SN_E* code, and on failure puts a
 * one-line message (what, which file, why) in err[errlen] (err may be
 * NULL).  A refused call changes nothing on disk.  Nothing here prints.
 */
#ifndef SN_PKI_H
#define SN_PKI_H

#include <stddef.h>

#define PKI_DEV_CA_CN      "Sentinel development CA"
#define PKI_CA_DAYS        3650 /* pki_init's default (sentinel ca init) */
#define PKI_DEV_CA_DAYS    825  /* the CA pki_ensure_dev makes */
#define PKI_LEAF_DAYS      825  /* issued certificates, by default */
#define PKI_CRL_DAYS       30   /* crl.pem's nextUpdate, by default */
#define PKI_CRL_RENEW_DAYS 7    /* pki_ensure_dev renews a CRL this close */
#define PKI_MAX_DAYS       36500
#define PKI_MAX_SANS       64

/*
 * Make a new CA in dir (created 0700 with its parents if missing): ca.key,
 * ca.pem (CN=cn, basicConstraints critical CA:TRUE, keyUsage critical
 * keyCertSign+cRLSign, subject and authority key identifiers, valid from
 * now for days), an empty index and an empty crl.pem (PKI_CRL_DAYS).
 * cn: 1-64 bytes of UTF-8 without control characters or leading or
 * trailing blanks.  days: 1..PKI_MAX_DAYS.
 * SN_EEXIST if ca.pem or ca.key exists (nothing is overwritten; a stale
 * index or crl.pem without a CA is replaced).  SN_EINVAL: bad cn or days.
 */
int pki_init(const char *dir, const char *cn, int days, char *err,
    size_t errlen);

struct pki_issue_opts {
	const char *cn; /* the agent or server name: a valid id */
	const char *ou; /* client: the role, a valid id; server: NULL */
	int days;       /* 1..PKI_MAX_DAYS; 0: PKI_LEAF_DAYS */
	int server;     /* serverAuth + SANs instead of clientAuth */
	const char *const *sans; /* server: DNS names or IP literals */
	size_t n_sans;           /* 0: localhost, 127.0.0.1, ::1 */
	const char *out_cert;    /* NULL: <dir>/<cn>.pem */
	const char *out_key;     /* NULL: <dir>/<cn>.key */
};

/*
 * Issue a certificate signed by dir's CA, with a new key: subject CN=cn
 * (and OU=ou for a client: exactly one), basicConstraints critical
 * CA:FALSE, keyUsage critical digitalSignature, extendedKeyUsage
 * clientAuth (client) or serverAuth (server, nothing else), subject and
 * authority key identifiers, subjectAltName (server only: the SANs, each
 * a DNS name, "*." allowed as its first label, or an IPv4/IPv6 literal).
 * Valid from now for days, but never past the CA's own notAfter (it is
 * cut there).
 * SN_EINVAL: cn or ou not a valid id (config_valid_id), ou given for a
 * server or missing for a client, SANs for a client, a bad SAN, default
 * file names that would be the CA's (cn "ca" or "crl"), an expired CA.
 * SN_EEXIST: the cert or key file exists.  SN_ENOENT: no CA in dir.
 */
int pki_issue(const char *dir, const struct pki_issue_opts *o, char *err,
    size_t errlen);

/*
 * Revoke the certificate in cert_file (PEM or DER): its serial and the
 * time now are added to index, then crl.pem is made again (PKI_CRL_DAYS).
 * SN_EINVAL: not a certificate, not issued by dir's CA (its signature is
 * checked with the CA's key), or the CA's own certificate.  SN_EEXIST:
 * already revoked.
 */
int pki_revoke(const char *dir, const char *cert_file, char *err,
    size_t errlen);

/*
 * Make crl.pem again from index: thisUpdate now, nextUpdate now + days
 * (1..3650), a CRL number greater than the previous crl.pem's (and not
 * less than the time in seconds, so it still grows if crl.pem is lost),
 * authority key identifier, signed by the CA with SHA-256.
 */
int pki_crl(const char *dir, int days, char *err, size_t errlen);

/*
 * What `sentinel serve` in demo mode calls at start.  Makes whatever of
 * the development PKI is missing from dir and leaves the rest:
 *   the CA (CN PKI_DEV_CA_CN, PKI_DEV_CA_DAYS days), index;
 *   server.pem/server.key (CN localhost, serverAuth, SANs localhost,
 *   127.0.0.1, ::1);
 *   dev.pem/dev.key (CN dev, OU Dev) and admin.pem/admin.key (CN admin,
 *   OU Admin), clientAuth;
 *   crl.pem, made again when it is missing, not signed by this CA, does
 *   not list exactly the serials of index, or expires within
 *   PKI_CRL_RENEW_DAYS days.
 * Idempotent.  No key file is ever overwritten; see pki.c for what it
 * does with the leftovers of an interrupted run.  SN_ESTALE: a file there
 * does not belong to this CA or to its key (the message says which, and
 * what to remove).
 */
int pki_ensure_dev(const char *dir, char *err, size_t errlen);

#endif
