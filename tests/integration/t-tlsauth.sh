#!/bin/bash
# t-tlsauth.sh - client-certificate verification for the control API
# (src/api/tlsauth.c, docs/api.md "Identity"), on real certificates made by
# tests/helpers/mkcerts.sh with the openssl CLI:
#   - the set itself: every file there, keys 0600, made again in place
#     without trouble, nothing left behind by a failed run;
#   - every certificate of the set gets its verdict, with and without a
#     CRL: the good ones accepted with the exact agent (CN) and role (OU),
#     the fingerprint equal to openssl's SHA-256 one; each bad one refused
#     with the reason that fits;
#   - chains: an intermediate CA sent by the client, the leaf without it,
#     a trusted CA appended to a foreign leaf, junk and truncated DER, an
#     empty and an overlong chain;
#   - time: the caller's clock is the one used (expired and not-yet-valid
#     both ways, the CA's own expiry, an out-of-date CRL);
#   - CA and CRL files that must be refused at load (exit 2);
#   - subjects openssl cannot make (tlsauth_check --mint): NUL bytes,
#     over-long, empty, other string types;
#   - real TLS handshakes (TLS 1.3 and 1.2) with a server that only asks
#     for a certificate, as libmicrohttpd does: tlsauth_verify_session();
#   - no leak or memory error under valgrind (when installed).
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null 2>&1 || sn_skip_all "needs the openssl CLI"
TC=$SN_BUILDDIR/tests/helpers/tlsauth_check
MK=$SN_SRCDIR/tests/helpers/mkcerts.sh
[ -x "$TC" ] || sn_bail "no $TC (make check builds it; or: make tests/helpers/tlsauth_check)"
sn_tmp
C=$SN_TMP/certs
M=$SN_TMP/mint
mkdir -p "$M"

# want_ok DESC AGENT ROLE ARGS...: tlsauth_check ARGS accepts, exactly so.
want_ok() {
	local desc=$1 agent=$2 role=$3 out rc=0
	shift 3
	out=$("$TC" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && [[ $out =~ ^ok\ ([^ ]*)\ ([^ ]*)\ ([0-9a-f]{64})$ ]] &&
	    [ "${BASH_REMATCH[1]}" = "$agent" ] && [ "${BASH_REMATCH[2]}" = "$role" ]; then
		ok "$desc: accepted as agent '$agent', role '$role'"
	else
		fail "$desc: accepted as agent '$agent', role '$role'" \
		    "command: tlsauth_check $*" "exit $rc" "$out"
	fi
	return 0
}

# want_refused DESC ERE ARGS...: refused (exit 1), the reason matching ERE.
want_refused() {
	local desc=$1 re=$2 out rc=0
	shift 2
	out=$("$TC" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 1 ] && [[ $out =~ ^refused:\ .*($re) ]] &&
	    [[ $out != *$'\n'* ]]; then
		ok "$desc: refused (${BASH_REMATCH[1]})"
	else
		fail "$desc: refused, reason /$re/" "command: tlsauth_check $*" \
		    "exit $rc" "$out"
	fi
	return 0
}

# want_error DESC ERE ARGS...: tlsauth_new() refuses the files (exit 2).
want_error() {
	local desc=$1 re=$2 out rc=0
	shift 2
	out=$("$TC" "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 2 ] && [[ $out =~ $re ]]; then
		ok "$desc: load error ($re)"
	else
		fail "$desc: load error /$re/" "command: tlsauth_check $*" \
		    "exit $rc" "$out"
	fi
	return 0
}

# fp FILE: openssl's SHA-256 fingerprint of the first certificate, lowercase
# hex without colons.
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

# ---- the set ------------------------------------------------------------
section "mkcerts.sh"
ALL='ca other-ca sub-ca server dev admin audit reader dev2 smuggleo chained
longchained longlived selfsigned otherca expired notyet revoked noclientauth noeku anyeku
twoou lower trailing smuggle smuggle2 smuggle3 smuggle4 multirdn nocn badcn
cacert-as-client'
t0=$(date +%s)
out=$(sh "$MK" "$C" 2>&1) || sn_bail "mkcerts.sh $C failed" "$out"
t1=$(date +%s)
ok "mkcerts.sh makes the set ($((t1 - t0)) s)"
missing=
for n in $ALL; do
	for x in pem key; do
		[ -s "$C/$n.$x" ] || missing="$missing $n.$x"
	done
done
for n in crl crl-empty crl-other; do
	[ -s "$C/$n.pem" ] || missing="$missing $n.pem"
done
expect_eq "every certificate, key and CRL is there" "" "${missing# }"
expect_eq "keys are 0600" "" \
    "$(find "$C" -name '*.key' ! -perm 0600 -printf '%f ')"
expect_eq "nothing else is left in the directory" "" \
    "$(find "$C" -mindepth 1 ! -name '*.pem' ! -name '*.key' -printf '%f ')"
expect_match "server.pem: SANs localhost, 127.0.0.1, ::1" \
    'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' \
    "$(openssl x509 -in "$C/server.pem" -noout -ext subjectAltName)"
expect_match "keys are EC P-256" 'prime256v1|P-256' \
    "$(openssl pkey -in "$C/dev.key" -noout -text 2>&1 | grep -E 'NIST|ASN1 OID')"
expect_eq "crl.pem lists revoked's serial" \
    "$(openssl x509 -in "$C/revoked.pem" -noout -serial | sed 's/serial=//')" \
    "$(openssl crl -in "$C/crl.pem" -noout -text | awk '/Serial Number:/ { print $3 }')"
expect_eq "other-ca has the same subject as ca (only the key tells them apart)" \
    "$(openssl x509 -in "$C/ca.pem" -noout -subject)" \
    "$(openssl x509 -in "$C/other-ca.pem" -noout -subject)"

old=$(fp "$C/dev.pem")
before=$(ls "$C")
out=$(sh "$MK" "$C" 2>&1) || fail "mkcerts.sh again into the same directory" "$out"
expect_eq "a second run leaves the same files" "$before" "$(ls "$C")"
expect_ne "a second run makes them anew" "$old" "$(fp "$C/dev.pem")"

mkdir "$SN_TMP/fakebin"
printf '#!/bin/sh\necho "fake openssl: refusing" >&2\nexit 1\n' >"$SN_TMP/fakebin/openssl"
chmod +x "$SN_TMP/fakebin/openssl"
rc=0
out=$(PATH=$SN_TMP/fakebin:$PATH sh "$MK" "$SN_TMP/failed" 2>&1) || rc=$?
if [ "$rc" -ne 0 ] && [[ $out == *"mkcerts.sh: "*failed* ]]; then
	ok "mkcerts.sh fails loudly when openssl fails (exit $rc)"
else
	fail "mkcerts.sh fails loudly when openssl fails" "exit $rc" "$out"
fi
expect_eq "a failed run leaves nothing behind" "" "$(ls -A "$SN_TMP/failed")"

# ---- verdicts, without a CRL ---------------------------------------------
section "every certificate, no CRL"
for g in "dev dev Dev" "admin admin Admin" "audit auditor Audit" \
    "reader reader Reader" "dev2 dev2 Dev" "chained chained Dev" \
    "longchained longchained Dev" "longlived longlived Dev" \
    "revoked revoked Dev"; do
	read -r n agent role <<<"$g"
	want_ok "$n" "$agent" "$role" "$C/ca.pem" "$C/$n.pem"
done
want_ok 'smuggleo (O="Evil,OU=Admin", OU=Reader)' smuggleo Reader \
    "$C/ca.pem" "$C/smuggleo.pem"
want_ok "lower: the role is returned as is, 'dev' (not 'Dev': the role table refuses it)" \
    lower dev "$C/ca.pem" "$C/lower.pem"

for n in dev admin audit reader dev2 smuggleo chained; do
	out=$("$TC" "$C/ca.pem" "$C/$n.pem" 2>&1) || true
	expect_eq "$n: fingerprint is openssl's SHA-256 of the leaf" \
	    "$(fp "$C/$n.pem")" "${out##* }"
done

while read -r n re; do
	want_refused "$n" "$re" "$C/ca.pem" "$C/$n.pem"
done <<'EOF'
selfsigned not issued by a trusted CA
otherca not issued by a trusted CA
expired client certificate expired at
notyet client certificate is not valid before
noclientauth does not allow TLS client authentication
noeku has no extended key usage extension
anyeku extended key usage does not include TLS client authentication
twoou has more than one OU
trailing OU "Dev\\x5c " is not a valid role name
smuggle CN "x\\x5c,OU=Admin" is not a valid agent id
smuggle2 OU "Reader\\x5c,OU=Admin" is not a valid role name
smuggle3 CN ".*,OU=Admin" is not a valid agent id
smuggle4 OU "Dev\\x5c\+CN=y" is not a valid role name
multirdn has more than one CN
nocn has no CN
badcn CN "a/b" is not a valid agent id
cacert-as-client is a CA certificate
ca is a CA certificate
sub-ca is a CA certificate
server does not allow TLS client authentication
EOF

# ---- chains ----------------------------------------------------------------
section "chains"
openssl x509 -in "$C/chained.pem" -out "$SN_TMP/chained-leaf.pem"
want_refused "chained leaf without its intermediate" "not issued by a trusted CA" \
    "$C/ca.pem" "$SN_TMP/chained-leaf.pem"
cat "$C/otherca.pem" "$C/ca.pem" >"$SN_TMP/otherca+ca.pem"
want_refused "otherca with the trusted CA appended" "not trusted" \
    "$C/ca.pem" "$SN_TMP/otherca+ca.pem"
cat "$C/selfsigned.pem" "$C/ca.pem" >"$SN_TMP/selfsigned+ca.pem"
want_refused "selfsigned with the trusted CA appended" "not trusted" \
    "$C/ca.pem" "$SN_TMP/selfsigned+ca.pem"
cat "$C/dev.pem" "$C/cacert-as-client.pem" >"$SN_TMP/dev+cacert.pem"
want_ok "dev with an unrelated certificate appended" dev Dev \
    "$C/ca.pem" "$SN_TMP/dev+cacert.pem"
: >"$SN_TMP/empty.pem"
want_refused "an empty chain" "no client certificate$" "$C/ca.pem" "$SN_TMP/empty.pem"
for _ in $(seq 17); do cat "$C/chained.pem"; done >"$SN_TMP/long.pem"
want_refused "34 certificates" "chain too long" "$C/ca.pem" "$SN_TMP/long.pem"
printf -- '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' \
    "$(head -c 300 /dev/urandom | base64 -w 64)" >"$SN_TMP/junk.pem"
want_refused "random bytes as a certificate" "certificate 1 of the chain is not X.509 DER" \
    "$C/ca.pem" "$SN_TMP/junk.pem"
printf -- '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' \
    "$(openssl x509 -in "$C/dev.pem" -outform DER | head -c 200 | base64 -w 64)" \
    >"$SN_TMP/truncated.pem"
want_refused "dev's DER cut short" "certificate 1 of the chain is not X.509 DER" \
    "$C/ca.pem" "$SN_TMP/truncated.pem"
cat "$C/dev.pem" "$SN_TMP/junk.pem" >"$SN_TMP/dev+junk.pem"
want_refused "dev, then junk" "certificate 2 of the chain is not X.509 DER" \
    "$C/ca.pem" "$SN_TMP/dev+junk.pem"

# ---- CRLs ------------------------------------------------------------------
section "CRLs"
want_refused "revoked, crl.pem" "client certificate not trusted: revoked" \
    --crl "$C/crl.pem" "$C/ca.pem" "$C/revoked.pem"
want_ok "revoked, crl-empty.pem" revoked Dev \
    --crl "$C/crl-empty.pem" "$C/ca.pem" "$C/revoked.pem"
for crl in crl crl-empty; do
	for g in "dev dev Dev" "admin admin Admin" "audit auditor Audit" \
	    "reader reader Reader" "dev2 dev2 Dev" "chained chained Dev" \
	    "smuggleo smuggleo Reader"; do
		read -r n agent role <<<"$g"
		want_ok "$n, $crl.pem" "$agent" "$role" --crl "$C/$crl.pem" \
		    "$C/ca.pem" "$C/$n.pem"
	done
	while read -r n re; do
		want_refused "$n, $crl.pem" "$re" --crl "$C/$crl.pem" \
		    "$C/ca.pem" "$C/$n.pem"
	done <<'EOF'
selfsigned not issued by a trusted CA
otherca not issued by a trusted CA
expired expired at
notyet not valid before
noclientauth does not allow TLS client authentication
noeku no extended key usage
anyeku does not include TLS client authentication
twoou more than one OU
trailing not a valid role name
smuggle not a valid agent id
smuggle2 not a valid role name
smuggle3 not a valid agent id
smuggle4 not a valid role name
multirdn more than one CN
nocn has no CN
badcn not a valid agent id
cacert-as-client is a CA certificate
EOF
done

# ---- time --------------------------------------------------------------------
section "the caller's clock"
now=$(date +%s)
day=86400
want_refused "dev, 900 days from now" "client certificate expired at" \
    --time $((now + 900 * day)) "$C/ca.pem" "$C/dev.pem"
want_refused "dev, a day ago" "client certificate is not valid before" \
    --time $((now - day)) "$C/ca.pem" "$C/dev.pem"
want_ok "dev, 800 days from now" dev Dev --time $((now + 800 * day)) \
    "$C/ca.pem" "$C/dev.pem"
want_refused "expired, at a time inside its validity but before the CA's" \
    "the issuing CA certificate is not valid before" \
    --time $((now - 500 * day)) "$C/ca.pem" "$C/expired.pem"
want_ok "notyet, at a time inside its validity" notyet Dev \
    --time $((now + 500 * day)) "$C/ca.pem" "$C/notyet.pem"
want_refused "longlived after the CA expired (leaf still valid)" \
    "the issuing CA certificate expired at" \
    --time $((now + 3700 * day)) "$C/ca.pem" "$C/longlived.pem"
want_ok "longchained, after 3200 days" longchained Dev \
    --time $((now + 3200 * day)) "$C/ca.pem" "$C/longchained.pem"
want_refused "longchained after its intermediate expired (leaf and CA valid)" \
    "certificate 2 of the chain expired at" \
    --time $((now + 3400 * day)) "$C/ca.pem" "$C/longchained.pem"
want_refused "dev with crl.pem, after the CRL's next update" \
    "the server's CRL is out of date" \
    --time $((now + 40 * day)) --crl "$C/crl.pem" "$C/ca.pem" "$C/dev.pem"
want_ok "dev with crl.pem, before the CRL's next update" dev Dev \
    --time $((now + 20 * day)) --crl "$C/crl.pem" "$C/ca.pem" "$C/dev.pem"

# ---- files tlsauth_new() refuses ------------------------------------------
section "CA and CRL files"
want_error "a CRL by another CA" "CRL 1 is not signed by a CA of the CA file" \
    --crl "$C/crl-other.pem" "$C/ca.pem" "$C/dev.pem"
want_error "a CRL file that is a certificate" "no PEM CRL" \
    --crl "$C/dev.pem" "$C/ca.pem" "$C/dev.pem"
want_error "a missing CRL file" "No such file" \
    --crl "$SN_TMP/nope.pem" "$C/ca.pem" "$C/dev.pem"
want_error "a missing CA file" "No such file" "$SN_TMP/nope.pem" "$C/dev.pem"
want_error "an empty CA file" "no PEM certificate" "$SN_TMP/empty.pem" "$C/dev.pem"
want_error "a CA file of junk" "no PEM certificate" "$SN_TMP/junk.pem" "$C/dev.pem"
want_ok "otherca, with other-ca.pem as the CA file" dev Dev \
    "$C/other-ca.pem" "$C/otherca.pem"
want_refused "dev, with other-ca.pem as the CA file" "not trusted" \
    "$C/other-ca.pem" "$C/dev.pem"
cat "$C/other-ca.pem" "$C/ca.pem" >"$SN_TMP/both-cas.pem"
want_ok "dev, with both CAs in the CA file" dev Dev \
    "$SN_TMP/both-cas.pem" "$C/dev.pem"

# ---- subjects the openssl CLI cannot make ------------------------------------
section "minted subjects"
a64=$(printf 'a%.0s' $(seq 64))
while IFS='|' read -r n verdict cn ou; do
	if ! out=$("$TC" --mint "$C/ca.pem" "$C/ca.key" "$M/$n" "$cn" "$ou" 2>&1); then
		fail "mint $n" "$out"
		continue
	fi
	case $verdict in
	ok:*)
		IFS=: read -r _ agent role <<<"$verdict"
		want_ok "$n ($cn, $ou)" "$agent" "$role" "$C/ca.pem" "$M/$n.pem"
		;;
	*) want_refused "$n ($cn, $ou)" "$verdict" "$C/ca.pem" "$M/$n.pem" ;;
	esac
done <<EOF
plain|ok:dev:Dev|CN=dev|OU=Dev
nulou|OU .* is not a valid role name.*not plain text|CN=dev|OU=Dev\\0Admin
nulou2|OU .* is not a valid role name|CN=dev|OU=Dev\\0
nulcn|CN .* is not a valid agent id|CN=dev\\0x|OU=Dev
c64|ok:$a64:Dev|CN=$a64|OU=Dev
c65|CN "a{64}\.\.\." is not a valid agent id|CN=${a64}a|OU=Dev
c300|CN is too long|CN=$a64$a64$a64$a64${a64}aaaaaaa|OU=Dev
emptycn|CN .* is not a valid agent id|CN=|OU=Dev
emptyou|OU .* is not a valid role name|CN=dev|OU=
hash|CN .* is not a valid agent id|CN=#dev|OU=Dev
space|CN .* is not a valid agent id|CN= dev|OU=Dev
newline|CN "de\\\\x0av" is not a valid agent id|CN=de\\x0av|OU=Dev
utf8|CN "d\\\\xc3\\\\xa9v" is not a valid agent id|CN=d\\xc3\\xa9v|OU=Dev
badutf8|CN .* is not a valid agent id|CN=d\\xffv|OU=Dev
printable|ok:dev:Dev|CN:printable=dev|OU:printable=Dev
bmp|ok:dev:Dev|CN:bmp=dev|OU:bmp=Dev
intou|OU .* is not a valid role name|CN=dev|OU:int=Dev
EOF

# ---- real handshakes ------------------------------------------------------------
section "TLS handshakes (tlsauth_verify_session)"
S=("$C/ca.pem" "$C/server.pem" "$C/server.key")
want_ok "TLS 1.3, dev" dev Dev --session "${S[@]}" "$C/dev.pem" "$C/dev.key"
want_ok "TLS 1.2, dev" dev Dev --session --tls12 "${S[@]}" "$C/dev.pem" "$C/dev.key"
want_ok "TLS 1.3, admin" admin Admin --session "${S[@]}" "$C/admin.pem" "$C/admin.key"
want_ok "TLS 1.3, chained (the client sends its intermediate)" chained Dev \
    --session "${S[@]}" "$C/chained.pem" "$C/chained.key"
out=$("$TC" --session "${S[@]}" "$C/dev.pem" "$C/dev.key" 2>&1) || true
expect_eq "TLS 1.3, dev: the fingerprint is openssl's" "$(fp "$C/dev.pem")" "${out##* }"
want_refused "TLS 1.3, no certificate" "no client certificate$" --session "${S[@]}"
want_refused "TLS 1.2, no certificate" "no client certificate$" --session --tls12 "${S[@]}"
want_refused "TLS 1.3, selfsigned" "not issued by a trusted CA" \
    --session "${S[@]}" "$C/selfsigned.pem" "$C/selfsigned.key"
want_refused "TLS 1.3, otherca" "not issued by a trusted CA" \
    --session "${S[@]}" "$C/otherca.pem" "$C/otherca.key"
want_refused "TLS 1.3, expired" "expired at" \
    --session "${S[@]}" "$C/expired.pem" "$C/expired.key"
want_refused "TLS 1.2, revoked with crl.pem" "revoked" \
    --session --tls12 --crl "$C/crl.pem" "${S[@]}" "$C/revoked.pem" "$C/revoked.key"
want_refused "TLS 1.3, noeku" "no extended key usage" \
    --session "${S[@]}" "$C/noeku.pem" "$C/noeku.key"
want_refused "TLS 1.3, smuggle2" "not a valid role name" \
    --session "${S[@]}" "$C/smuggle2.pem" "$C/smuggle2.key"
want_refused "TLS 1.3, cacert-as-client" "is a CA certificate" \
    --session "${S[@]}" "$C/cacert-as-client.pem" "$C/cacert-as-client.key"

# ---- memory ---------------------------------------------------------------------
section "valgrind"
if grep -q __asan_init "$TC" 2>/dev/null; then
	skip "valgrind runs" "the helper is built with AddressSanitizer"
elif command -v valgrind >/dev/null 2>&1; then
	VG=(valgrind -q --error-exitcode=99 --leak-check=full
	    '--errors-for-leak-kinds=definite,indirect')
	while IFS='|' read -r desc want first args; do
		rc=0
		# shellcheck disable=SC2086 # args is a word list without blanks
		out=$("${VG[@]}" "$TC" $args 2>&1) || rc=$?
		if [ "$rc" -eq "$want" ] && [ "${out%% *}" = "$first" ]; then
			ok "valgrind: $desc (exit $rc, no error, no leak)"
		else
			fail "valgrind: $desc" \
			    "want exit $want and output '$first ...', got $rc" "$out"
		fi
	done <<EOF
chain, dev accepted|0|ok|--crl $C/crl.pem $C/ca.pem $C/dev.pem
chain, revoked refused|1|refused:|--crl $C/crl.pem $C/ca.pem $C/revoked.pem
chain, smuggle refused|1|refused:|$C/ca.pem $C/smuggle.pem
chain, junk refused|1|refused:|$C/ca.pem $SN_TMP/dev+junk.pem
load, CRL refused|2|error:|--crl $C/crl-other.pem $C/ca.pem $C/dev.pem
session, chained accepted|0|ok|--session $C/ca.pem $C/server.pem $C/server.key $C/chained.pem $C/chained.key
session, no certificate|1|refused:|--session $C/ca.pem $C/server.pem $C/server.key
EOF
else
	skip "valgrind runs" "valgrind not installed"
fi

sn_done
