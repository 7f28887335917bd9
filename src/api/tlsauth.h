/*
 * tlsauth.h - client-certificate verification for the control API.
 *
 * libmicrohttpd only *requests* a client certificate; it never verifies
 * one.  The API server calls tlsauth_verify_session() for every connection
 * once the TLS handshake is done, and serves the request only when it
 * returns 0.  The identity it gives is the only one the API trusts.
 *
 * A client certificate chain is accepted iff all of these hold (see
 * docs/api.md, "Identity"):
 *
 *  - there is one (leaf first, at most TLSAUTH_CHAIN_MAX certificates),
 *    every certificate parses as X.509 DER;
 *  - GnuTLS verifies the chain against the CA file with status 0: it ends
 *    at a CA of the file, every signature and basic constraint holds,
 *    nothing in it is revoked by the CRL file (when one is given), and no
 *    CA in the chain restricts its extended key usage to something other
 *    than TLS client authentication.  A leaf that is itself a CA of the
 *    file is not trusted for being there (GNUTLS_VERIFY_DO_NOT_ALLOW_SAME);
 *  - at time `now`, every certificate of the chain and the CA it ends at
 *    are within their validity period (checked here, not by GnuTLS, whose
 *    verification only knows the wall clock);
 *  - at time `now`, the CRL (when given) is not past its next update: an
 *    out-of-date CRL refuses everyone until it is replaced (fail closed);
 *  - the leaf is not a CA (basicConstraints CA:TRUE);
 *  - the leaf has an extended key usage extension, and it lists TLS client
 *    authentication (1.3.6.1.5.5.7.3.2); no extension at all, or
 *    anyExtendedKeyUsage alone, is refused;
 *  - the leaf's subject has exactly one CN, a valid id (config_valid_id:
 *    [A-Za-z0-9._-]{1,64}), the agent; and exactly one OU, also a valid
 *    id, the role.  Both are read attribute by attribute, by OID and
 *    index, never by parsing the DN string, so no escaping inside a value
 *    (CN="x,OU=Admin", OU="Dev+CN=y") can add or change an attribute, and
 *    a multi-valued RDN counts as the attributes it holds.  Values are
 *    returned byte for byte: no case folding, no trimming ("Dev " is
 *    refused, not made "Dev"); a value with a NUL byte is refused.
 *
 * Whether the role names a known role, and what it may do, is for the
 * caller to decide (byte-exact comparison with the role table).
 *
 * Errors: 0 success; SN_EPERM refused (why says why); SN_EINVAL bad
 * arguments; SN_ENOMEM out of memory; SN_ECONFIG (tlsauth_new) a CA or
 * CRL file that cannot be used.  Any non-zero return means: refuse.  The
 * `why` text is one line of printable ASCII (values taken from the
 * certificate are quoted with anything else escaped as \xHH, and cut to a
 * bounded length), safe to log and to send to the client.
 *
 * Threads: the trust list is built by tlsauth_new() and never changed
 * after it, so tlsauth_verify_session() and tlsauth_verify_chain() may be
 * called from any number of threads at once on one struct tlsauth, with
 * no lock.  tlsauth_free() must not run concurrently with them.
 *
 * Ownership: tlsauth_new() gives the caller a struct tlsauth, released
 * with tlsauth_free() (tlsauth_free(NULL) is a no-op).  The verify
 * functions keep no pointer to their arguments.
 */
#ifndef SN_TLSAUTH_H
#define SN_TLSAUTH_H

#include <stddef.h>
#include <time.h>

#include "core/config.h"

#define TLSAUTH_FP_LEN    64 /* hex SHA-256 */
#define TLSAUTH_CHAIN_MAX 16 /* certificates in a client chain, leaf included */

struct sn_identity {
	char agent[SN_ID_MAX + 1];            /* the CN */
	char role[SN_ID_MAX + 1];             /* the OU, byte-exact */
	char fingerprint[TLSAUTH_FP_LEN + 1]; /* SHA-256 of the leaf DER, hex */
};

struct tlsauth;

/*
 * Load the CA certificates of ca_file (PEM, one or more; at least one)
 * and, if crl_file is not NULL, the CRLs of crl_file (PEM, one or more;
 * each must be signed by a CA of ca_file and be current now, else it is
 * an error, not a CRL silently ignored).  On error, err (if errlen > 0)
 * says which file and why.
 * OUT: *out, NULL on failure.
 */
int tlsauth_new(const char *ca_file, const char *crl_file, struct tlsauth **out,
    char *err, size_t errlen);

void tlsauth_free(struct tlsauth *a);

/*
 * Verify the peer chain of a handshaken GnuTLS session (a gnutls_session_t,
 * e.g. from MHD_get_connection_info(MHD_CONNECTION_INFO_GNUTLS_SESSION)),
 * at the current time: 0 and *id, or SN_EPERM and why (one line, safe to
 * log and to send to the client).
 * OUT: *id (zeroed unless 0 is returned), why (if whylen > 0; "" on 0).
 */
int tlsauth_verify_session(struct tlsauth *a, void *gnutls_session,
    struct sn_identity *id, char *why, size_t whylen);

/*
 * The same on a chain of n DER certificates (der[i] of der_len[i] bytes,
 * leaf first) at time now.  This is what tlsauth_verify_session() calls;
 * exported for tests.
 * OUT: *id, why as above.
 */
int tlsauth_verify_chain(struct tlsauth *a, const void *const *der,
    const size_t *der_len, size_t n, time_t now, struct sn_identity *id,
    char *why, size_t whylen);

#endif
