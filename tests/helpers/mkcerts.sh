#!/bin/sh
# mkcerts.sh DIR - a complete set of test certificates for the control
# API's mutual TLS, good and adversarial, made with the openssl CLI only.
#
#   tests/helpers/mkcerts.sh DIR
#
# Everything is made in a scratch directory inside DIR and moved into DIR
# at the end, so a failed run leaves DIR as it was, and running it again
# replaces the whole set with a fresh one (same names, same properties).
# Keys are EC P-256 (PKCS#8 PEM, mode 0600); certificates and CRLs are PEM
# (mode 0644).  For every NAME below there are NAME.pem and NAME.key.
#
# CAs
#   ca            "O=Sentinel Test, CN=Test CA", the client (and server) CA,
#                 valid 3650 days from now
#   other-ca      a second CA with the SAME subject DN as ca, other key
#   sub-ca        an intermediate CA signed by ca (CA:TRUE, pathlen 0),
#                 valid 3300 days (it expires before ca)
#   server        serverAuth, SANs localhost, 127.0.0.1, ::1 (signed by ca)
#
# Good clients (signed by ca, clientAuth, CA:FALSE, O=Sentinel Test)
#   dev           CN=dev      OU=Dev
#   admin         CN=admin    OU=Admin
#   audit         CN=auditor  OU=Audit
#   reader        CN=reader   OU=Reader
#   dev2          CN=dev2     OU=Dev
#   smuggleo      CN=smuggleo OU=Reader, O="Evil,OU=Admin" (must be Reader)
#   chained       CN=chained  OU=Dev, signed by sub-ca; chained.pem holds
#                 the leaf then sub-ca (the leaf alone is refused)
#   longchained   CN=longchained OU=Dev, signed by sub-ca, valid 20 years
#                 (outlives sub-ca); longchained.pem holds it then sub-ca
#   longlived     CN=longlived OU=Dev, valid 20 years (the CA: 10)
#
# Bad clients (each must be refused)
#   selfsigned    CN=dev OU=Dev, self-signed (otherwise like dev)
#   otherca       CN=dev OU=Dev, signed by other-ca
#   expired       CN=expired OU=Dev, notAfter one year ago
#   notyet        CN=notyet OU=Dev, notBefore one year ahead
#   revoked       CN=revoked OU=Dev; good until crl.pem is loaded
#   noclientauth  EKU serverAuth only
#   noeku         no extended key usage extension at all
#   anyeku        EKU anyExtendedKeyUsage only
#   twoou         OU=Dev and OU=Admin
#   lower         OU=dev
#   trailing      OU="Dev " (trailing blank)
#   smuggle       CN="x,OU=Admin" OU=Reader
#   smuggle2      CN=dev OU="Reader,OU=Admin"
#   smuggle3      CN="x\,OU=Admin" (a real backslash) OU=Reader
#   smuggle4      CN=dev OU="Dev+CN=y" (one value, not a multi-valued RDN)
#   multirdn      CN=dev, then the multi-valued RDN OU=Dev+CN=admin (2 CNs)
#   nocn          no CN
#   badcn         CN="a/b"
#   cacert-as-client  CA:TRUE with EKU clientAuth, CN=dev OU=Dev, by ca
#
# CRLs (by ca, next update in 30 days)
#   crl.pem       lists revoked
#   crl-empty.pem lists nothing
#   crl-other.pem by other-ca (must be refused with ca.pem)
set -eu

die() {
	echo "mkcerts.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: mkcerts.sh DIR"
command -v openssl >/dev/null 2>&1 || die "openssl not found"
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
W=$(mktemp -d "$DIR/.mkcerts.XXXXXX")
trap 'rm -rf "$W"' EXIT
umask 077

# Our own config: nothing from the system's openssl.cnf.
OPENSSL_CONF=$W/openssl.cnf
export OPENSSL_CONF
mkdir "$W/db" "$W/new" "$W/out"
: >"$W/db/index.txt"
echo 01 >"$W/db/crlnumber"
echo A000 >"$W/db/serial"
cat >"$OPENSSL_CONF" <<EOF
[req]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
[req_dn]

[ca]
default_ca = testca
[testca]
database = $W/db/index.txt
new_certs_dir = $W/new
serial = $W/db/serial
crlnumber = $W/db/crlnumber
certificate = $W/out/ca.pem
private_key = $W/out/ca.key
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied

[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_subca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_noclientauth]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_noeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_anyeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_cacert_client]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

O='/O=Sentinel Test'
SERIAL=1000

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$W/out/$1.key" 2>/dev/null || die "$1: key generation failed"
}

# csr NAME SUBJECT [more req options]
csr() {
	n=$1 s=$2
	shift 2
	key "$n"
	openssl req -new -key "$W/out/$n.key" -subj "$s" "$@" \
	    -out "$W/$n.csr" || die "$n: request failed"
}

# sign NAME ISSUER EXTENSIONS DAYS: x509 -req, serial from a counter
sign() {
	SERIAL=$((SERIAL + 1))
	openssl x509 -req -in "$W/$1.csr" -CA "$W/out/$2.pem" \
	    -CAkey "$W/out/$2.key" -set_serial "$SERIAL" -days "$4" \
	    -sha256 -extfile "$OPENSSL_CONF" -extensions "$3" \
	    -out "$W/out/$1.pem" 2>/dev/null || die "$1: signing failed"
}

# client NAME SUBJECT [EXTENSIONS [ISSUER [DAYS]]]
client() {
	csr "$1" "$2"
	sign "$1" "${4:-ca}" "${3:-v3_client}" "${5:-825}"
}

# selfsign NAME SUBJECT EXTENSIONS DAYS
selfsign() {
	csr "$1" "$2"
	SERIAL=$((SERIAL + 1))
	openssl x509 -req -in "$W/$1.csr" -key "$W/out/$1.key" \
	    -set_serial "$SERIAL" -days "$4" -sha256 \
	    -extfile "$OPENSSL_CONF" -extensions "$3" \
	    -out "$W/out/$1.pem" 2>/dev/null || die "$1: self-signing failed"
}

# byca NAME SUBJECT STARTDATE ENDDATE: openssl ca, for given validity
byca() {
	csr "$1" "$2"
	openssl ca -batch -notext -preserveDN -in "$W/$1.csr" \
	    -extensions v3_client -startdate "$3" -enddate "$4" \
	    -out "$W/out/$1.pem" 2>/dev/null || die "$1: openssl ca failed"
}

when() {
	date -u -d "$1" +%Y%m%d%H%M%SZ
}

# ---- CAs and the server ------------------------------------------------
selfsign ca "$O/CN=Test CA" v3_ca 3650
selfsign other-ca "$O/CN=Test CA" v3_ca 3650
csr sub-ca "$O/CN=Test Sub CA"
sign sub-ca ca v3_subca 3300
csr server "$O/CN=localhost"
sign server ca v3_server 825

# ---- good clients -------------------------------------------------------
client dev "$O/OU=Dev/CN=dev"
client admin "$O/OU=Admin/CN=admin"
client audit "$O/OU=Audit/CN=auditor"
client reader "$O/OU=Reader/CN=reader"
client dev2 "$O/OU=Dev/CN=dev2"
client smuggleo "/O=Evil,OU=Admin/OU=Reader/CN=smuggleo"
client chained "$O/OU=Dev/CN=chained" v3_client sub-ca
cat "$W/out/sub-ca.pem" >>"$W/out/chained.pem"
client longchained "$O/OU=Dev/CN=longchained" v3_client sub-ca 7300
cat "$W/out/sub-ca.pem" >>"$W/out/longchained.pem"
client longlived "$O/OU=Dev/CN=longlived" v3_client ca 7300

# ---- bad clients --------------------------------------------------------
selfsign selfsigned "$O/OU=Dev/CN=dev" v3_client 825
client otherca "$O/OU=Dev/CN=dev" v3_client other-ca
byca expired "$O/OU=Dev/CN=expired" "$(when '-2 years')" "$(when '-1 year')"
byca notyet "$O/OU=Dev/CN=notyet" "$(when '+1 year')" "$(when '+2 years')"
client revoked "$O/OU=Dev/CN=revoked"
client noclientauth "$O/OU=Dev/CN=noclientauth" v3_noclientauth
client noeku "$O/OU=Dev/CN=noeku" v3_noeku
client anyeku "$O/OU=Dev/CN=anyeku" v3_anyeku
client twoou "$O/OU=Dev/OU=Admin/CN=twoou"
client lower "$O/OU=dev/CN=lower"
client trailing "$O/OU=Dev /CN=trailing"
client smuggle "$O/OU=Reader/CN=x,OU=Admin"
client smuggle2 "$O/OU=Reader,OU=Admin/CN=dev"
client smuggle3 "$O/OU=Reader/CN=x\\\\,OU=Admin"
client smuggle4 "$O/OU=Dev\\+CN=y/CN=dev"
csr multirdn "$O/CN=dev/OU=Dev+CN=admin"
sign multirdn ca v3_client 825
client nocn "$O/OU=Dev"
client badcn "$O/OU=Dev/CN=a\\/b"
client cacert-as-client "$O/OU=Dev/CN=dev" v3_cacert_client

# ---- CRLs ----------------------------------------------------------------
openssl ca -gencrl -crldays 30 -out "$W/out/crl-empty.pem" 2>/dev/null ||
    die "crl-empty: openssl ca -gencrl failed"
openssl ca -gencrl -crldays 30 -cert "$W/out/other-ca.pem" \
    -keyfile "$W/out/other-ca.key" -out "$W/out/crl-other.pem" 2>/dev/null ||
    die "crl-other: openssl ca -gencrl failed"
openssl ca -revoke "$W/out/revoked.pem" 2>/dev/null ||
    die "revoked: openssl ca -revoke failed"
openssl ca -gencrl -crldays 30 -out "$W/out/crl.pem" 2>/dev/null ||
    die "crl: openssl ca -gencrl failed"

# ---- check what was made, then move it into DIR -------------------------
for f in "$W"/out/*.pem; do
	n=$(basename "$f" .pem)
	case $n in
	crl*) openssl crl -in "$f" -noout || die "$n: not a CRL" ;;
	*)
		openssl x509 -in "$f" -noout || die "$n: not a certificate"
		[ -s "$W/out/$n.key" ] || die "$n: no key"
		;;
	esac
done
[ "$(grep -c BEGIN "$W/out/chained.pem")" -eq 2 ] || die "chained.pem: want 2 certificates"
openssl crl -in "$W/out/crl.pem" -noout -text | grep -q 'Serial Number' ||
    die "crl.pem lists nothing"
! openssl crl -in "$W/out/crl-empty.pem" -noout -text | grep -q 'Serial Number' ||
    die "crl-empty.pem is not empty"
chmod 0600 "$W"/out/*.key
chmod 0644 "$W"/out/*.pem
mv -f "$W"/out/* "$DIR"/
