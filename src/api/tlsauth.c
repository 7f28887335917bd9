/*
 * tlsauth.c - client-certificate verification (see tlsauth.h).
 *
 * GnuTLS does the chain: signatures, basic constraints, the CA file as
 * trust anchors, the CRLs, and the key purpose of the CAs in the chain
 * (gnutls_x509_trust_list_verify_crt2(), whose status must be 0).  Its
 * time checks are turned off, because it only knows the wall clock; the
 * validity periods are checked here against the caller's `now`, for every
 * certificate the client sent and for the CA the chain ends at.  Then the
 * leaf: not a CA, an EKU extension with TLS client authentication (GnuTLS
 * accepts a leaf with no EKU or with anyExtendedKeyUsage for any
 * purpose), one CN, one OU, both valid ids, read by OID and index.
 *
 * Concurrency: struct tlsauth is written by tlsauth_new() only.  The
 * verify functions only read it (the GnuTLS trust list, looked up without
 * GNUTLS_TL_GET_COPY: GnuTLS itself shares one trust list between the
 * sessions of a credentials structure), and everything they change is on
 * their stack.  No lock.
 */
#include "autoconf.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/tlsauth.h"
#include "core/config.h"
#include "core/err.h"

#define OID_CN          GNUTLS_OID_X520_COMMON_NAME
#define OID_OU          GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME
#define OID_CLIENT_AUTH GNUTLS_KP_TLS_WWW_CLIENT /* 1.3.6.1.5.5.7.3.2 */
#define VALUE_MAX       256 /* bytes of a CN or OU read; any more: too long */
#define SHOW_MAX        64  /* bytes of a value quoted in a reason */
#define ID_RULE         "[A-Za-z0-9._-]{1,64}"

/* Time checks are ours (at `now`); a leaf equal to a trust anchor is not
 * trusted for being one. */
#define VERIFY_FLAGS \
	(GNUTLS_VERIFY_DISABLE_TIME_CHECKS | \
	    GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS | \
	    GNUTLS_VERIFY_DO_NOT_ALLOW_SAME)

struct tlsauth {
	gnutls_x509_trust_list_t tl; /* CAs and CRLs; read-only once made */
	int have_crl;                /* a CRL file was loaded */
	time_t crl_next; /* earliest nextUpdate of its CRLs; -1: none given */
};

/* ---- reasons ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return SN_EPERM;
}

__attribute__((format(printf, 3, 4))) static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* s (n bytes, from a certificate) as printable ASCII: '"', '\' and
 * anything outside 0x20..0x7e as \xHH, at most SHOW_MAX bytes of it, then
 * "..." if there was more.  dst holds 4 * SHOW_MAX + 4 bytes. */
#define SHOW_SIZE (4 * SHOW_MAX + 4)
static void
show(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n && i < SHOW_MAX; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void
fmt_time(char *dst, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(dst, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(dst, len, "%lld (epoch seconds)", (long long)t);
}

/* What a GnuTLS verification status says, for a reason. */
static void
describe_status(char *dst, size_t len, unsigned status)
{
	static const struct {
		unsigned bit;
		const char *text;
	} bits[] = {
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_SIGNER_NOT_FOUND, "not issued by a trusted CA" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "its issuer is not a CA" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM,
		    "insecure signature algorithm" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH,
		    "extended key usage (its own or a CA's) does not allow TLS "
		    "client authentication" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
		    "a CA's constraints forbid it" },
		{ GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED,
		    "the CRL is out of date" },
		{ GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE,
		    "the CRL is issued in the future" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not yet valid" },
	};
	size_t i, o = 0;
	int n;

	dst[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(status & bits[i].bit))
			continue;
		n = snprintf(dst + o, len - o, "%s%s", o > 0 ? "; " : "",
		    bits[i].text);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
	if (o == 0)
		snprintf(dst, len, "verification status 0x%x", status);
}

/* ---- loading ---------------------------------------------------------- */

static int
load_crls(struct tlsauth *a, const char *file, char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_x509_crl_t *crls = NULL;
	unsigned n = 0, i;
	time_t next;
	int ret, rc;

	if (access(file, R_OK) != 0) {
		seterr(err, errlen, "CRL file %s: %s", file, strerror(errno));
		rc = SN_ECONFIG;
		goto out;
	}
	ret = gnutls_load_file(file, &data);
	if (ret < 0) {
		seterr(err, errlen, "CRL file %s: %s", file,
		    gnutls_strerror(ret));
		rc = ret == GNUTLS_E_MEMORY_ERROR ? SN_ENOMEM : SN_ECONFIG;
		goto out;
	}
	ret = gnutls_x509_crl_list_import2(&crls, &n, &data,
	    GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0 || n == 0) {
		seterr(err, errlen, "CRL file %s: no PEM CRL in it%s%s", file,
		    ret < 0 ? ": " : "", ret < 0 ? gnutls_strerror(ret) : "");
		rc = ret == GNUTLS_E_MEMORY_ERROR ? SN_ENOMEM : SN_ECONFIG;
		goto out;
	}
	for (i = 0; i < n; i++) {
		next = gnutls_x509_crl_get_next_update(crls[i]);
		/* One at a time, so who owns it is plain: the list if it
		 * took it (1), still us if it did not (0, or an error). */
		ret = gnutls_x509_trust_list_add_crls(a->tl, &crls[i], 1,
		    GNUTLS_TL_VERIFY_CRL, 0);
		if (ret != 1) {
			seterr(err, errlen,
			    "CRL file %s: CRL %u is not signed by a CA of the "
			    "CA file, or is out of date%s%s",
			    file, i + 1, ret < 0 ? ": " : "",
			    ret < 0 ? gnutls_strerror(ret) : "");
			rc = ret == GNUTLS_E_MEMORY_ERROR ? SN_ENOMEM :
			                                    SN_ECONFIG;
			goto out;
		}
		crls[i] = NULL;
		if (next != (time_t)-1 &&
		    (a->crl_next == (time_t)-1 || next < a->crl_next))
			a->crl_next = next;
	}
	a->have_crl = 1;
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		if (crls[i] != NULL)
			gnutls_x509_crl_deinit(crls[i]);
	}
	gnutls_free(crls);
	gnutls_free(data.data);
	return rc;
}

int
tlsauth_new(const char *ca_file, const char *crl_file, struct tlsauth **out,
    char *err, size_t errlen)
{
	struct tlsauth *a = NULL;
	int ret, rc;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || ca_file == NULL) {
		seterr(err, errlen, "no CA file");
		return SN_EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		seterr(err, errlen, "out of memory");
		return SN_ENOMEM;
	}
	a->crl_next = (time_t)-1;
	ret = gnutls_x509_trust_list_init(&a->tl, 0);
	if (ret < 0) {
		a->tl = NULL;
		seterr(err, errlen, "trust list: %s", gnutls_strerror(ret));
		rc = SN_ENOMEM;
		goto out;
	}
	if (access(ca_file, R_OK) != 0) {
		seterr(err, errlen, "CA file %s: %s", ca_file, strerror(errno));
		rc = SN_ECONFIG;
		goto out;
	}
	ret = gnutls_x509_trust_list_add_trust_file(a->tl, ca_file, NULL,
	    GNUTLS_X509_FMT_PEM, 0, 0);
	if (ret <= 0) {
		seterr(err, errlen, "CA file %s: no PEM certificate in it%s%s",
		    ca_file, ret < 0 ? ": " : "",
		    ret < 0 ? gnutls_strerror(ret) : "");
		rc = ret == GNUTLS_E_MEMORY_ERROR ? SN_ENOMEM : SN_ECONFIG;
		goto out;
	}
	if (crl_file != NULL) {
		rc = load_crls(a, crl_file, err, errlen);
		if (rc != 0)
			goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	tlsauth_free(a);
	return rc;
}

void
tlsauth_free(struct tlsauth *a)
{
	if (a == NULL)
		return;
	if (a->tl != NULL)
		gnutls_x509_trust_list_deinit(a->tl, 1);
	free(a);
}

/* ---- verifying ---------------------------------------------------------- */

static int
check_time(gnutls_x509_crt_t c, time_t now, const char *what, char *why,
    size_t whylen)
{
	time_t nb, na;
	char t[64];

	nb = gnutls_x509_crt_get_activation_time(c);
	na = gnutls_x509_crt_get_expiration_time(c);
	if (nb == (time_t)-1 || na == (time_t)-1)
		return refuse(why, whylen, "%s has no readable validity period",
		    what);
	if (now < nb) {
		fmt_time(t, sizeof(t), nb);
		return refuse(why, whylen, "%s is not valid before %s", what,
		    t);
	}
	if (now > na) {
		fmt_time(t, sizeof(t), na);
		return refuse(why, whylen, "%s expired at %s", what, t);
	}
	return 0;
}

/* Every certificate sent, and each trust anchor one of them chains to. */
static int
check_times(const struct tlsauth *a, gnutls_x509_crt_t *crt, size_t n,
    time_t now, char *why, size_t whylen)
{
	gnutls_x509_crt_t issuer;
	char what[64];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (i == 0)
			snprintf(what, sizeof(what), "client certificate");
		else
			snprintf(what, sizeof(what),
			    "certificate %zu of the chain", i + 1);
		rc = check_time(crt[i], now, what, why, whylen);
		if (rc != 0)
			return rc;
		/* flags 0: a pointer into the list, not a copy to free */
		if (gnutls_x509_trust_list_get_issuer(a->tl, crt[i], &issuer,
		        0) == 0) {
			rc = check_time(issuer, now,
			    "the issuing CA certificate", why, whylen);
			if (rc != 0)
				return rc;
		}
	}
	if (a->have_crl && a->crl_next != (time_t)-1 && now > a->crl_next) {
		char t[64];

		fmt_time(t, sizeof(t), a->crl_next);
		return refuse(why, whylen,
		    "the server's CRL is out of date (next update was %s)", t);
	}
	return 0;
}

static int
check_eku(gnutls_x509_crt_t c, char *why, size_t whylen)
{
	char oid[128];
	size_t sz;
	unsigned i, critical;
	int ret, found = 0;

	for (i = 0;; i++) {
		sz = sizeof(oid);
		ret = gnutls_x509_crt_get_key_purpose_oid(c, i, oid, &sz,
		    &critical);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue; /* a long OID: not the one we look for */
		if (ret < 0)
			return refuse(why, whylen,
			    "client certificate's extended key usage cannot "
			    "be read: %s",
			    gnutls_strerror(ret));
		if (strcmp(oid, OID_CLIENT_AUTH) == 0)
			found = 1;
	}
	if (i == 0)
		return refuse(why, whylen,
		    "client certificate has no extended key usage extension "
		    "(TLS client authentication required)");
	if (!found)
		return refuse(why, whylen,
		    "client certificate's extended key usage does not include "
		    "TLS client authentication");
	return 0;
}

/* The one value of attribute oid (name: "CN"/"OU") of the subject, a valid
 * id, into out (SN_ID_MAX + 1 bytes), byte for byte. */
static int
subject_id(gnutls_x509_crt_t c, const char *oid, const char *name,
    const char *meaning, char *out, char *why, size_t whylen)
{
	char buf[VALUE_MAX + 1] = "", next[VALUE_MAX + 1] = "", q[SHOW_SIZE];
	size_t sz = 0, len;
	unsigned idx;
	int ret, first = 0;

	for (idx = 0; idx < 2; idx++) {
		/* by OID and index: the DN string is never parsed; stop at
		 * a second one (counting them all costs O(n^2)) */
		len = sizeof(buf);
		ret = gnutls_x509_crt_get_dn_by_oid(c, oid, idx, 0,
		    idx == 0 ? buf : next, &len);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0 && ret != GNUTLS_E_SHORT_MEMORY_BUFFER)
			return refuse(why, whylen,
			    "client certificate's %s cannot be read: %s", name,
			    gnutls_strerror(ret));
		if (idx == 0) {
			first = ret;
			sz = len;
		}
	}
	if (idx == 0)
		return refuse(why, whylen, "client certificate has no %s (%s)",
		    name, meaning);
	if (idx > 1)
		return refuse(why, whylen,
		    "client certificate has more than one %s (exactly one "
		    "required: %s)",
		    name, meaning);
	if (first == GNUTLS_E_SHORT_MEMORY_BUFFER)
		return refuse(why, whylen,
		    "client certificate's %s is too long (%zu bytes; %s "
		    "required)",
		    name, sz, ID_RULE);
	/* GnuTLS gives the value RFC 4514-escaped ("Dev\\ ", "x\\,OU=A"), or
	 * as "#" and its DER in hex when it is not text (a NUL byte, empty,
	 * not a string type).  Neither '\\' nor '#' is in the id alphabet,
	 * and escaping never touches [A-Za-z0-9._-], so a value passes
	 * config_valid_id() iff it is exactly that id: what is accepted is
	 * byte-exact, everything else is refused.  A raw NUL (should a
	 * GnuTLS version pass one through) is refused here. */
	buf[sizeof(buf) - 1] = '\0';
	if (sz >= sizeof(buf) || strlen(buf) != sz) {
		show(q, buf, sz < sizeof(buf) ? sz : sizeof(buf) - 1);
		return refuse(why, whylen,
		    "client certificate's %s \"%s\" contains a NUL byte", name,
		    q);
	}
	if (!config_valid_id(buf)) {
		show(q, buf, sz);
		return refuse(why, whylen,
		    "client certificate's %s \"%s\" is not a valid %s (%s)%s",
		    name, q, meaning, ID_RULE,
		    buf[0] == '#' ? "; it is not plain text (a NUL byte, "
		                    "empty, or not a string), shown as DER "
		                    "in hex" :
		                    "");
	}
	memcpy(out, buf, sz + 1);
	return 0;
}

static int
check_leaf(gnutls_x509_crt_t c, struct sn_identity *id, char *why,
    size_t whylen)
{
	unsigned critical = 0, ca = 0;
	int ret, rc;

	ret = gnutls_x509_crt_get_basic_constraints(c, &critical, &ca, NULL);
	if (ret > 0 || (ret == 0 && ca))
		return refuse(why, whylen,
		    "client certificate is a CA certificate "
		    "(basicConstraints CA:TRUE)");
	if (ret < 0 && ret != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return refuse(why, whylen,
		    "client certificate's basic constraints cannot be read: %s",
		    gnutls_strerror(ret));
	rc = check_eku(c, why, whylen);
	if (rc != 0)
		return rc;
	rc = subject_id(c, OID_CN, "CN", "agent id", id->agent, why, whylen);
	if (rc != 0)
		return rc;
	return subject_id(c, OID_OU, "OU", "role name", id->role, why, whylen);
}

static int
fingerprint(const void *der, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	size_t i;

	if (gnutls_hash_get_len(GNUTLS_DIG_SHA256) != sizeof(md) ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, md) < 0)
		return SN_EIO;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof(md)] = '\0';
	return 0;
}

int
tlsauth_verify_chain(struct tlsauth *a, const void *const *der,
    const size_t *der_len, size_t n, time_t now, struct sn_identity *id,
    char *why, size_t whylen)
{
	gnutls_x509_crt_t crt[TLSAUTH_CHAIN_MAX];
	gnutls_typed_vdata_st purpose;
	gnutls_datum_t d;
	char st[256];
	unsigned status = 0;
	size_t i, ncrt = 0;
	int ret, rc;

	if (id != NULL)
		memset(id, 0, sizeof(*id));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (a == NULL || id == NULL ||
	    (n > 0 && (der == NULL || der_len == NULL)))
		return SN_EINVAL;
	if (n == 0)
		return refuse(why, whylen, "no client certificate");
	if (n > TLSAUTH_CHAIN_MAX)
		return refuse(why, whylen,
		    "client certificate chain too long (%zu certificates, at "
		    "most %d)",
		    n, TLSAUTH_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		if (der[i] == NULL || der_len[i] == 0 ||
		    der_len[i] > UINT_MAX) {
			rc = refuse(why, whylen,
			    "certificate %zu of the chain is empty or too "
			    "large",
			    i + 1);
			goto out;
		}
		ret = gnutls_x509_crt_init(&crt[i]);
		if (ret < 0) {
			rc = SN_ENOMEM;
			refuse(why, whylen, "out of memory");
			goto out;
		}
		ncrt++;
		d.data = (unsigned char *)(uintptr_t)der[i];
		d.size = (unsigned)der_len[i];
		ret = gnutls_x509_crt_import(crt[i], &d, GNUTLS_X509_FMT_DER);
		if (ret < 0) {
			rc = refuse(why, whylen,
			    "certificate %zu of the chain is not X.509 DER: %s",
			    i + 1, gnutls_strerror(ret));
			goto out;
		}
	}

	memset(&purpose, 0, sizeof(purpose));
	purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
	purpose.data = (unsigned char *)(uintptr_t)OID_CLIENT_AUTH;
	ret = gnutls_x509_trust_list_verify_crt2(a->tl, crt, (unsigned)n,
	    &purpose, 1, VERIFY_FLAGS, &status, NULL);
	if (ret < 0) {
		rc = refuse(why, whylen,
		    "client certificate chain cannot be verified: %s",
		    gnutls_strerror(ret));
		goto out;
	}
	if (status != 0) {
		describe_status(st, sizeof(st), status);
		rc = refuse(why, whylen, "client certificate not trusted: %s",
		    st);
		goto out;
	}
	rc = check_times(a, crt, n, now, why, whylen);
	if (rc != 0)
		goto out;
	rc = check_leaf(crt[0], id, why, whylen);
	if (rc != 0)
		goto out;
	rc = fingerprint(der[0], der_len[0], id->fingerprint);
	if (rc != 0)
		refuse(why, whylen, "cannot hash the client certificate");
out:
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crt[i]);
	if (rc != 0)
		memset(id, 0, sizeof(*id));
	return rc;
}

int
tlsauth_verify_session(struct tlsauth *a, void *gnutls_session,
    struct sn_identity *id, char *why, size_t whylen)
{
	gnutls_session_t s = gnutls_session;
	const gnutls_datum_t *peers;
	const void *der[TLSAUTH_CHAIN_MAX];
	size_t len[TLSAUTH_CHAIN_MAX];
	unsigned n = 0, i;

	if (id != NULL)
		memset(id, 0, sizeof(*id));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (a == NULL || s == NULL || id == NULL)
		return SN_EINVAL;
	if (gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_X509)
		return refuse(why, whylen,
		    "the client's certificate is not an X.509 certificate");
	peers = gnutls_certificate_get_peers(s, &n);
	if (peers == NULL || n == 0)
		return refuse(why, whylen, "no client certificate");
	if (n > TLSAUTH_CHAIN_MAX)
		return refuse(why, whylen,
		    "client certificate chain too long (%u certificates, at "
		    "most %d)",
		    n, TLSAUTH_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		der[i] = peers[i].data;
		len[i] = peers[i].size;
	}
	return tlsauth_verify_chain(a, der, len, n, time(NULL), id, why,
	    whylen);
}
