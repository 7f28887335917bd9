#!/bin/bash
# t-ca.sh - sentinel ca: the development PKI, checked with the openssl CLI.
# A CA is made, server and client certificates are issued and verified
# (purpose, exactly one OU, EKU, SANs, key modes), one is revoked and the
# CRL refuses it and only it, a real mTLS handshake (openssl s_server and
# s_client) accepts a client and refuses a revoked one; every refusal
# (init twice, an existing CN, a bad CN or OU, another CA's certificate,
# symlinks in the way, loose modes) exits 1 and changes nothing; usage
# errors exit 2; `sentinel ca dev` is idempotent and mends what an
# interrupted run leaves.
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null 2>&1 || sn_skip_all "no openssl command"
[ -x "$SN_SENTINEL" ] || sn_bail "no sentinel binary at $SN_SENTINEL (build it first)"
sn_tmp
read -r -a WRAP <<<"$SN_TEST_WRAPPER"
cd "$SN_TMP" || sn_bail "cd $SN_TMP"

# sn ARGS...: run sentinel (under the wrapper); stdout in $OUT, stderr in
# $ERR, status in $RC.
sn() {
	RC=0
	timeout 120 "${WRAP[@]}" "$SN_SENTINEL" "$@" >"$SN_TMP/.out" 2>"$SN_TMP/.err" </dev/null || RC=$?
	OUT=$(cat "$SN_TMP/.out")
	ERR=$(cat "$SN_TMP/.err")
}

nlines() {
	if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# snap DIR: names, types, modes, sizes and contents of everything in DIR.
snap() {
	(cd "$1" && find . -printf '%p %y %m %s %l\n' | LC_ALL=C sort &&
	    find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# refused DESC DIR ARGS...: sentinel ARGS must exit 1 with one line on
# stderr ("sentinel: ..."), and leave DIR exactly as it was.
refused() {
	local desc=$1 dir=$2 before after
	shift 2
	before=$(snap "$dir")
	sn "$@"
	after=$(snap "$dir")
	if [ "$RC" -eq 1 ] && [ "$(nlines "$ERR")" -eq 1 ] && [[ $ERR == "sentinel: "* ]]; then
		ok "$desc: exit 1: $ERR"
	else
		fail "$desc: exit 1, one line on stderr" "sentinel $*" "exit $RC" \
		    "stderr: $ERR" "stdout: $OUT"
	fi
	expect_eq "$desc: nothing changed in $dir" "$before" "$after"
}

# usage DESC ARGS...: exit 2, a message and the usage on stderr.
usage() {
	local desc=$1
	shift
	sn "$@"
	if [ "$RC" -eq 2 ] && [[ $ERR == *"usage: sentinel ca"* ]]; then
		ok "usage error, $desc: exit 2: $(head -n 1 <<<"$ERR")"
	else
		fail "usage error, $desc: exit 2 with usage" "sentinel $*" "exit $RC" "stderr: $ERR"
	fi
}

mode() { stat -c %a "$1"; }
# names DIR: the names in DIR (dot files too), sorted, on one line
names() { (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | paste -sd ' '); }
text() { openssl x509 -in "$1" -noout -text; }
# ext CERT NAME: the lines of extension NAME (its value, trimmed)
ext() {
	text "$1" | awk -v n="$2" '
	    index($0, n) { on = 1; next }
	    on && /^ +X509v3 |^ +Authority Information|^ +Signature Algorithm/ { exit }
	    on { sub(/^ +/, ""); print }'
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pubkey_of_key() { openssl pkey -in "$1" -pubout; }
crl_number() {
	openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//'
}
verify() { openssl verify -CAfile "$P/ca.pem" "$@"; }

P=$SN_TMP/pki

section "help"
sn ca --help
if [ "$RC" -eq 0 ] && [[ $OUT == *init* && $OUT == *issue* && $OUT == *revoke* && $OUT == *crl* && $OUT == *dev* ]]; then
	ok "sentinel ca --help lists init issue revoke crl dev"
else
	fail "sentinel ca --help" "exit $RC" "$OUT" "$ERR"
fi
for s in "init --cn --days" "issue --ou --server --san --out" "revoke CERT" "crl --days" "dev server.pem"; do
	read -r -a w <<<"$s"
	sn ca "${w[0]}" --help
	good=1
	for x in "${w[@]:1}" --dir --state-dir; do
		[[ $OUT == *"$x"* ]] || good=0
	done
	if [ "$RC" -eq 0 ] && [ "$good" -eq 1 ] && [ -z "$ERR" ]; then
		ok "sentinel ca ${w[0]} --help: exit 0, names ${w[*]:1}"
	else
		fail "sentinel ca ${w[0]} --help" "exit $RC" "$OUT" "$ERR"
	fi
done
sn help
expect_match "sentinel help lists ca" $'\n  ca ' "$OUT"

section "init"
sn ca init --dir "$P"
check "ca init: exit 0" test "$RC" -eq 0
expect_eq "ca init: the files" "ca.key ca.pem crl.pem index" "$(names "$P")"
expect_eq "ca init: ca.key mode 600" 600 "$(mode "$P/ca.key")"
expect_eq "ca init: the directory mode 700" 700 "$(mode "$P")"
expect_match "ca.key: EC P-256" "prime256v1|P-256" "$(openssl pkey -in "$P/ca.key" -noout -text 2>&1)"
expect_eq "ca.key belongs to ca.pem" "$(pubkey_of_key "$P/ca.key")" "$(pubkey_of_cert "$P/ca.pem")"
expect_eq "ca.pem: subject" "subject=CN = Sentinel development CA" "$(openssl x509 -in "$P/ca.pem" -noout -subject)"
expect_match "ca.pem: basicConstraints critical CA:TRUE" "Basic Constraints: critical"$'\n'" *CA:TRUE" "$(text "$P/ca.pem")"
expect_eq "ca.pem: keyUsage keyCertSign+cRLSign" "Certificate Sign, CRL Sign" "$(ext "$P/ca.pem" "Key Usage: critical")"
expect_ne "ca.pem: a subject key identifier" "" "$(ext "$P/ca.pem" "Subject Key Identifier")"
expect_eq "ca.pem: self-signed, verifies" "$P/ca.pem: OK" "$(verify "$P/ca.pem" 2>&1)"
expect_match "ca.pem: valid 3650 days" "$(date -u -d '+3650 days' '+%b %e').*$(date -u -d '+3650 days' +%Y)" \
    "$(openssl x509 -in "$P/ca.pem" -noout -enddate)"
expect_eq "ca.pem: 128-bit serial" 32 "$(serial "$P/ca.pem" | tr -d '\n' | wc -c)"
expect_match "crl.pem: signed by the CA" "verify OK" "$(openssl crl -in "$P/crl.pem" -CAfile "$P/ca.pem" -noout 2>&1)"
expect_match "crl.pem: empty" "No Revoked Certificates" "$(openssl crl -in "$P/crl.pem" -noout -text)"
expect_match "crl.pem: next update in 30 days" "$(date -u -d '+30 days' '+%b %e')" "$(openssl crl -in "$P/crl.pem" -noout -nextupdate)"
expect_ne "crl.pem: a CRL number" "" "$(crl_number "$P/crl.pem")"
expect_eq "index: empty" 0 "$(stat -c %s "$P/index")"
refused "ca init twice" "$P" ca init --dir "$P"
refused "ca init twice, other name" "$P" ca init --dir "$P" --cn Other --days 10
P2=$SN_TMP/half
mkdir -m 700 "$P2"
cp "$P/ca.key" "$P2/ca.key"
refused "ca init over a lone ca.key" "$P2" ca init --dir "$P2"
sn ca init --dir "$SN_TMP/named" --cn "Team CA é" --days 10
check "ca init --cn 'Team CA é' --days 10: exit 0" test "$RC" -eq 0
expect_match "its subject is the name (UTF-8)" "Team CA é" "$(openssl x509 -in "$SN_TMP/named/ca.pem" -noout -subject -nameopt utf8)"
expect_match "valid 10 days" "$(date -u -d '+10 days' '+%b %e')" "$(openssl x509 -in "$SN_TMP/named/ca.pem" -noout -enddate)"
usage "--days 0" ca init --dir "$SN_TMP/x" --days 0
usage "--days abc" ca init --dir "$SN_TMP/x" --days abc
usage "--days 36501" ca init --dir "$SN_TMP/x" --days 36501
mkdir -m 700 "$SN_TMP/x"
refused "ca init --cn with a newline" "$SN_TMP/x" ca init --dir "$SN_TMP/x" --cn $'a\nb'
refused "ca init --cn of 65 bytes" "$SN_TMP/x" ca init --dir "$SN_TMP/x" --cn "$(printf 'a%.0s' {1..65})"

section "issue: clients"
sn ca issue --dir "$P" --cn dev --ou Dev
check "ca issue --cn dev --ou Dev: exit 0" test "$RC" -eq 0
expect_match "it names the files" "$P/dev.pem"$'\n'".*$P/dev.key" "$OUT"
expect_eq "dev.key mode 600" 600 "$(mode "$P/dev.key")"
expect_match "dev.key: EC P-256" "prime256v1|P-256" "$(openssl pkey -in "$P/dev.key" -noout -text 2>&1)"
expect_eq "dev.key belongs to dev.pem" "$(pubkey_of_key "$P/dev.key")" "$(pubkey_of_cert "$P/dev.pem")"
expect_eq "dev.pem: subject OU=Dev, CN=dev" "subject=OU = Dev, CN = dev" "$(openssl x509 -in "$P/dev.pem" -noout -subject)"
expect_eq "dev.pem: exactly one OU" 1 "$(openssl x509 -in "$P/dev.pem" -noout -subject -nameopt RFC2253,sep_multiline | grep -c '^ *OU=')"
expect_eq "dev.pem: exactly one CN" 1 "$(openssl x509 -in "$P/dev.pem" -noout -subject -nameopt RFC2253,sep_multiline | grep -c '^ *CN=')"
expect_eq "dev.pem: issuer is the CA" "issuer=CN = Sentinel development CA" "$(openssl x509 -in "$P/dev.pem" -noout -issuer)"
expect_eq "dev.pem: EKU clientAuth only" "TLS Web Client Authentication" "$(ext "$P/dev.pem" "Extended Key Usage")"
expect_eq "dev.pem: keyUsage digitalSignature only" "Digital Signature" "$(ext "$P/dev.pem" "Key Usage: critical")"
expect_eq "dev.pem: CA:FALSE (critical)" "CA:FALSE" "$(ext "$P/dev.pem" "Basic Constraints: critical")"
expect_eq "dev.pem: no subjectAltName" "" "$(ext "$P/dev.pem" "Subject Alternative Name")"
expect_eq "dev.pem: authority key id is the CA's key id" "$(ext "$P/ca.pem" "Subject Key Identifier")" \
    "$(ext "$P/dev.pem" "Authority Key Identifier" | sed 's/^keyid://')"
expect_eq "dev.pem: 128-bit serial" 32 "$(serial "$P/dev.pem" | tr -d '\n' | wc -c)"
expect_eq "verify -purpose sslclient: OK" "$P/dev.pem: OK" "$(verify -purpose sslclient "$P/dev.pem" 2>&1)"
check_fails "verify -purpose sslserver: refused" verify -purpose sslserver "$P/dev.pem"
expect_match "dev.pem: valid 825 days" "$(date -u -d '+825 days' '+%b %e')" "$(openssl x509 -in "$P/dev.pem" -noout -enddate)"
sn ca issue --dir "$P" --cn alice --ou Reader --days 3
check "ca issue --cn alice --ou Reader --days 3: exit 0" test "$RC" -eq 0
expect_match "alice.pem: valid 3 days" "$(date -u -d '+3 days' '+%b %e')" "$(openssl x509 -in "$P/alice.pem" -noout -enddate)"
expect_ne "serials differ" "$(serial "$P/dev.pem")" "$(serial "$P/alice.pem")"
sn ca issue --dir "$SN_TMP/named" --cn bob --ou Dev --days 30
expect_eq "a certificate never outlives its CA (10 days, not 30)" \
    "$(openssl x509 -in "$SN_TMP/named/ca.pem" -noout -enddate)" \
    "$(openssl x509 -in "$SN_TMP/named/bob.pem" -noout -enddate)"
mkdir -m 700 "$SN_TMP/out"
sn ca issue --dir "$P" --cn carol --ou Audit --out "$SN_TMP/out/carol-cert"
check "ca issue --out PREFIX: exit 0" test "$RC" -eq 0
check "--out: PREFIX.pem and PREFIX.key" test -f "$SN_TMP/out/carol-cert.pem" -a -f "$SN_TMP/out/carol-cert.key"
check "--out: nothing in the PKI dir" test ! -e "$P/carol.pem" -a ! -e "$P/carol.key"
expect_eq "--out: key mode 600" 600 "$(mode "$SN_TMP/out/carol-cert.key")"

section "issue: servers"
sn ca issue --dir "$P" --cn api --server
check "ca issue --cn api --server: exit 0" test "$RC" -eq 0
expect_eq "api.pem: subject CN=api, no OU" "subject=CN = api" "$(openssl x509 -in "$P/api.pem" -noout -subject)"
expect_eq "api.pem: default SANs" "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" \
    "$(ext "$P/api.pem" "Subject Alternative Name")"
expect_eq "api.pem: EKU serverAuth only" "TLS Web Server Authentication" "$(ext "$P/api.pem" "Extended Key Usage")"
expect_eq "api.key mode 600" 600 "$(mode "$P/api.key")"
expect_eq "verify -purpose sslserver: OK" "$P/api.pem: OK" "$(verify -purpose sslserver "$P/api.pem" 2>&1)"
check_fails "verify -purpose sslclient: refused" verify -purpose sslclient "$P/api.pem"
check "verify_hostname localhost" verify -purpose sslserver -verify_hostname localhost "$P/api.pem"
check "verify_ip ::1" verify -purpose sslserver -verify_ip ::1 "$P/api.pem"
check_fails "verify_hostname example.com: refused" verify -purpose sslserver -verify_hostname example.com "$P/api.pem"
sn ca issue --dir "$P" --cn web --server --san sentinel.internal.corp --san '*.corp.example' --san 10.1.2.3 --san fd00::1
check "ca issue --server --san x4: exit 0" test "$RC" -eq 0
expect_eq "web.pem: exactly the SANs given" \
    "DNS:sentinel.internal.corp, DNS:*.corp.example, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:1" \
    "$(ext "$P/web.pem" "Subject Alternative Name")"
check "verify_hostname a.corp.example (wildcard)" verify -purpose sslserver -verify_hostname a.corp.example "$P/web.pem"
check_fails "web.pem: localhost is not in it" verify -purpose sslserver -verify_hostname localhost "$P/web.pem"

section "issue: refusals"
refused "issue an existing CN" "$P" ca issue --dir "$P" --cn dev --ou Dev
refused "issue an existing CN, other role" "$P" ca issue --dir "$P" --cn dev --ou Admin
printf 'not a key\n' >"$P/lone.key"
chmod 600 "$P/lone.key"
refused "issue a CN whose key alone exists" "$P" ca issue --dir "$P" --cn lone --server
rm "$P/lone.key"
refused 'bad CN "a/b"' "$P" ca issue --dir "$P" --cn a/b --ou Dev
refused 'bad CN ".."' "$P" ca issue --dir "$P" --cn .. --ou Dev
refused 'bad CN "a b"' "$P" ca issue --dir "$P" --cn "a b" --ou Dev
refused 'bad CN of 65 characters' "$P" ca issue --dir "$P" --cn "$(printf 'a%.0s' {1..65})" --ou Dev
refused 'bad OU "Dev "' "$P" ca issue --dir "$P" --cn eve --ou "Dev "
refused 'bad OU "Dev,OU=Admin"' "$P" ca issue --dir "$P" --cn eve --ou "Dev,OU=Admin"
refused 'bad OU ""' "$P" ca issue --dir "$P" --cn eve --ou ""
refused 'CN "ca": the CA'"'"'s own files' "$P" ca issue --dir "$P" --cn ca --ou Dev
refused 'CN "crl": the CRL'"'"'s file' "$P" ca issue --dir "$P" --cn crl --server
refused 'bad SAN "a,DNS:evil.com"' "$P" ca issue --dir "$P" --cn s1 --server --san "a,DNS:evil.com"
refused 'bad SAN "-a.com"' "$P" ca issue --dir "$P" --cn s1 --server --san "-a.com"
refused 'bad SAN "a..com"' "$P" ca issue --dir "$P" --cn s1 --server --san "a..com"
refused 'bad SAN "999.1.1.1"' "$P" ca issue --dir "$P" --cn s1 --server --san "999.1.1.1"
refused 'bad SAN "::g"' "$P" ca issue --dir "$P" --cn s1 --server --san "::g"
refused 'bad SAN "a.com."' "$P" ca issue --dir "$P" --cn s1 --server --san "a.com."
refused 'SAN given twice' "$P" ca issue --dir "$P" --cn s1 --server --san a.com --san A.com
refused "issue without a CA" "$SN_TMP/x" ca issue --dir "$SN_TMP/x" --cn dev --ou Dev
usage "issue without --cn" ca issue --dir "$P" --ou Dev
usage "issue without --ou or --server" ca issue --dir "$P" --cn eve
usage "--server with --ou" ca issue --dir "$P" --cn eve --server --ou Dev
usage "--san without --server" ca issue --dir "$P" --cn eve --ou Dev --san a.com
usage "--dir and --state-dir" ca issue --dir "$P" --state-dir "$SN_TMP" --cn eve --ou Dev
usage "unknown option" ca issue --dir "$P" --cn eve --ou Dev --bogus
usage "--cn given twice" ca issue --dir "$P" --cn eve --cn mallory --ou Dev
usage "unknown subcommand" ca frobnicate
usage "no subcommand" ca
usage "init takes no --ou" ca init --dir "$SN_TMP/y" --ou Dev
usage "revoke without a file" ca revoke --dir "$P"
usage "revoke with two files" ca revoke --dir "$P" "$P/dev.pem" "$P/api.pem"

section "symlinks and modes"
ln -s "$SN_TMP/target.key" "$P/evil.key"
refused "a dangling symlink at the key's name" "$P" ca issue --dir "$P" --cn evil --ou Dev
check "its target was not made" test ! -e "$SN_TMP/target.key"
rm "$P/evil.key"
echo original >"$SN_TMP/target.pem"
ln -s "$SN_TMP/target.pem" "$SN_TMP/out/x.pem"
refused "--out: a symlink at PREFIX.pem" "$SN_TMP/out" ca issue --dir "$P" --cn x1 --ou Dev --out "$SN_TMP/out/x"
expect_eq "its target is untouched" original "$(cat "$SN_TMP/target.pem")"
chmod 644 "$P/ca.key"
refused "ca.key readable by others" "$P" ca issue --dir "$P" --cn eve --ou Dev
chmod 600 "$P/ca.key"
chmod 777 "$P"
refused "PKI dir writable by others" "$P" ca issue --dir "$P" --cn eve --ou Dev
chmod 700 "$P"
mv "$P/ca.key" "$SN_TMP/ca.key.real"
ln -s "$SN_TMP/ca.key.real" "$P/ca.key"
refused "ca.key a symlink" "$P" ca issue --dir "$P" --cn eve --ou Dev
rm "$P/ca.key"
mv "$SN_TMP/ca.key.real" "$P/ca.key"
check "leaves no temporary file" test -z "$(find "$P" "$SN_TMP/out" -name '.*tmp*')"

section "revoke"
cp "$P/crl.pem" "$SN_TMP/crl.before"
n0=$(crl_number "$P/crl.pem")
check "before: dev.pem passes the CRL check" verify -crl_check -CRLfile "$P/crl.pem" "$P/dev.pem"
check "before: alice.pem passes the CRL check" verify -crl_check -CRLfile "$P/crl.pem" "$P/alice.pem"
sn ca revoke --dir "$P" "$P/alice.pem"
check "ca revoke alice.pem: exit 0" test "$RC" -eq 0
expect_eq "index: alice's serial and a time" "$(serial "$P/alice.pem") $(date -u +%Y-%m-%d)T" \
    "$(cut -c1-44 "$P/index")"
v=$(verify -crl_check -CRLfile "$P/crl.pem" "$P/alice.pem" 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && [[ $v == *"certificate revoked"* ]]; then
	ok "after: alice.pem fails verify -crl_check (certificate revoked)"
else
	fail "after: alice.pem fails verify -crl_check" "exit $rc" "$v"
fi
check "after: dev.pem still passes" verify -crl_check -CRLfile "$P/crl.pem" "$P/dev.pem"
check "after: api.pem still passes" verify -crl_check -CRLfile "$P/crl.pem" "$P/api.pem"
n1=$(crl_number "$P/crl.pem")
check "the CRL number grew ($n0 -> $n1)" test "$(printf '%d' "0x$n1")" -gt "$(printf '%d' "0x$n0")"
check_fails "the old CRL did not list alice" bash -c "openssl crl -in '$SN_TMP/crl.before' -noout -text | grep -q '$(serial "$P/alice.pem")'"
refused "revoke twice" "$P" ca revoke --dir "$P" "$P/alice.pem"
refused "revoke the CA itself" "$P" ca revoke --dir "$P" "$P/ca.pem"
refused "revoke a file that is not a certificate" "$P" ca revoke --dir "$P" "$P/index"
refused "revoke a missing file" "$P" ca revoke --dir "$P" "$SN_TMP/nope.pem"
# another CA with the very same name: only the signature tells them apart
sn ca init --dir "$SN_TMP/other"
sn ca issue --dir "$SN_TMP/other" --cn dev --ou Dev
check "another CA, same name, same CN: made" test -f "$SN_TMP/other/dev.pem"
expect_eq "it has the same issuer name" "$(openssl x509 -in "$P/dev.pem" -noout -issuer)" \
    "$(openssl x509 -in "$SN_TMP/other/dev.pem" -noout -issuer)"
refused "revoke a certificate of another CA (same issuer name)" "$P" ca revoke --dir "$P" "$SN_TMP/other/dev.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$SN_TMP/forged.key" \
    -out "$SN_TMP/forged.pem" -subj "/CN=Sentinel development CA" -days 1 2>/dev/null
refused "revoke a self-signed impostor of the CA" "$P" ca revoke --dir "$P" "$SN_TMP/forged.pem"
openssl x509 -in "$P/dev.pem" -outform DER -out "$SN_TMP/dev.der"
sn ca issue --dir "$P" --cn temp --ou Dev
openssl x509 -in "$P/temp.pem" -outform DER -out "$SN_TMP/temp.der"
sn ca revoke --dir "$P" "$SN_TMP/temp.der"
check "ca revoke a DER file: exit 0" test "$RC" -eq 0
expect_eq "index: two lines" 2 "$(wc -l <"$P/index")"

section "concurrent revocations lose nothing"
for i in 1 2 3 4; do
	sn ca issue --dir "$P" --cn "c$i" --ou Dev
done
pids=()
for i in 1 2 3 4; do
	"$SN_SENTINEL" ca revoke --dir "$P" "$P/c$i.pem" >/dev/null 2>&1 &
	pids+=($!)
done
st=0
for p in "${pids[@]}"; do wait "$p" || st=1; done
check "4 revocations at once: all exit 0" test "$st" -eq 0
expect_eq "index: 6 lines" 6 "$(wc -l <"$P/index")"
expect_eq "crl.pem: 6 revoked" 6 "$(openssl crl -in "$P/crl.pem" -noout -text | grep -c 'Serial Number:')"
for i in 1 2 3 4; do
	check_fails "c$i.pem revoked" verify -crl_check -CRLfile "$P/crl.pem" "$P/c$i.pem"
done

section "crl"
n1=$(crl_number "$P/crl.pem")
sn ca crl --dir "$P" --days 2
check "ca crl --days 2: exit 0" test "$RC" -eq 0
expect_match "next update in 2 days" "$(date -u -d '+2 days' '+%b %e')" "$(openssl crl -in "$P/crl.pem" -noout -nextupdate)"
n2=$(crl_number "$P/crl.pem")
check "the CRL number grew ($n1 -> $n2)" test "$(printf '%d' "0x$n2")" -gt "$(printf '%d' "0x$n1")"
expect_eq "still 6 revoked" 6 "$(openssl crl -in "$P/crl.pem" -noout -text | grep -c 'Serial Number:')"
expect_match "signed by the CA" "verify OK" "$(openssl crl -in "$P/crl.pem" -CAfile "$P/ca.pem" -noout 2>&1)"
usage "ca crl --days 3651" ca crl --dir "$P" --days 3651
cp "$P/index" "$SN_TMP/index.good"
printf 'XYZ 2024-01-01T00:00:00Z\n' >>"$P/index"
refused "a corrupt index" "$P" ca crl --dir "$P"
expect_match "the message names the line" "index:7:" "$ERR"
cp "$SN_TMP/index.good" "$P/index"

section "--state-dir"
sn ca init --state-dir "$SN_TMP/state"
check "ca init --state-dir S: the CA is in S/pki" test -f "$SN_TMP/state/pki/ca.pem"
sn ca issue --state-dir "$SN_TMP/state" --cn dev --ou Dev
check "ca issue --state-dir S: S/pki/dev.pem" test -f "$SN_TMP/state/pki/dev.pem"
(cd "$SN_TMP/state" && timeout 60 "${WRAP[@]}" "$SN_SENTINEL" ca init >/dev/null 2>&1) || true
check "the default dir is ./.sentinel/pki" test -f "$SN_TMP/state/.sentinel/pki/ca.pem"

section "a real mutual TLS handshake (openssl s_server / s_client)"
port=$((20000 + RANDOM % 30000))
sn_bg openssl s_server -accept "127.0.0.1:$port" -cert "$P/api.pem" -key "$P/api.key" \
    -CAfile "$P/ca.pem" -Verify 2 -verify_return_error -crl_check -CRL "$P/crl.pem" -www -quiet \
    >"$SN_TMP/s_server.log" 2>&1
srv=$SN_BGPID
# hello CERT KEY: an HTTP request through mTLS; prints the status line
hello() {
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$P/ca.pem" -verify_return_error -verify_hostname localhost \
	    -cert "$1" -key "$2" -quiet 2>&1 | tr -d '\r' | grep -m1 '^HTTP/' || true
}
if sn_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"; then
	expect_match "dev.pem: accepted (server verified as localhost)" "^HTTP/1.0 200" "$(hello "$P/dev.pem" "$P/dev.key")"
	expect_eq "alice.pem (revoked): refused" "" "$(hello "$P/alice.pem" "$P/alice.key")"
	expect_eq "api.pem as a client (serverAuth only): refused" "" "$(hello "$P/api.pem" "$P/api.key")"
	expect_eq "other CA's dev.pem: refused" "" "$(hello "$SN_TMP/other/dev.pem" "$SN_TMP/other/dev.key")"
else
	skip "mTLS handshake" "openssl s_server did not start on port $port: $(tail -n 3 "$SN_TMP/s_server.log")"
fi
kill "$srv" 2>/dev/null || true

section "ca dev"
D=$SN_TMP/dev
sn ca dev --dir "$D"
check "ca dev: exit 0" test "$RC" -eq 0
expect_eq "ca dev: the files" "admin.key admin.pem ca.key ca.pem crl.pem dev.key dev.pem index server.key server.pem" "$(names "$D")"
for k in ca server dev admin; do
	expect_eq "$k.key mode 600" 600 "$(mode "$D/$k.key")"
done
expect_eq "the CA's name" "subject=CN = Sentinel development CA" "$(openssl x509 -in "$D/ca.pem" -noout -subject)"
expect_match "the CA: 825 days" "$(date -u -d '+825 days' '+%b %e')" "$(openssl x509 -in "$D/ca.pem" -noout -enddate)"
expect_eq "server.pem: sslserver" "$D/server.pem: OK" "$(openssl verify -CAfile "$D/ca.pem" -purpose sslserver -crl_check -CRLfile "$D/crl.pem" "$D/server.pem" 2>&1)"
expect_eq "server.pem: SANs" "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" "$(ext "$D/server.pem" "Subject Alternative Name")"
expect_eq "dev.pem: OU=Dev, CN=dev" "subject=OU = Dev, CN = dev" "$(openssl x509 -in "$D/dev.pem" -noout -subject)"
expect_eq "admin.pem: OU=Admin, CN=admin" "subject=OU = Admin, CN = admin" "$(openssl x509 -in "$D/admin.pem" -noout -subject)"
expect_eq "dev.pem admin.pem: sslclient" "$D/dev.pem: OK"$'\n'"$D/admin.pem: OK" \
    "$(openssl verify -CAfile "$D/ca.pem" -purpose sslclient -crl_check -CRLfile "$D/crl.pem" "$D/dev.pem" "$D/admin.pem" 2>&1)"
before=$(snap "$D")
sn ca dev --dir "$D"
check "ca dev again: exit 0" test "$RC" -eq 0
expect_eq "ca dev again: nothing changed (crl.pem neither)" "$before" "$(snap "$D")"
# an interrupted run: a key without its certificate is certified
pk=$(pubkey_of_key "$D/dev.key")
rm "$D/dev.pem"
sn ca dev --dir "$D"
check "dev.key without dev.pem: exit 0" test "$RC" -eq 0
expect_eq "dev.pem made again for the same key" "$pk" "$(pubkey_of_cert "$D/dev.pem")"
check "and it verifies" openssl verify -CAfile "$D/ca.pem" -purpose sslclient "$D/dev.pem"
pk=$(pubkey_of_key "$D/ca.key")
mv "$D" "$SN_TMP/dev.full"
mkdir -m 700 "$D"
cp -p "$SN_TMP/dev.full/ca.key" "$D/"
sn ca dev --dir "$D"
check "ca.key alone: exit 0" test "$RC" -eq 0
expect_eq "ca.pem made for the same key" "$pk" "$(pubkey_of_cert "$D/ca.pem")"
check "the leaves verify" openssl verify -CAfile "$D/ca.pem" "$D/dev.pem" "$D/admin.pem" "$D/server.pem"
rm -rf "$D"
mv "$SN_TMP/dev.full" "$D"
# refusals
rm "$D/server.key"
refused "server.pem without server.key" "$D" ca dev --dir "$D"
expect_match "the message says what to remove" "remove .*server.pem" "$ERR"
rm "$D/server.pem"
sn ca dev --dir "$D"
check "then both removed: exit 0, made again" test "$RC" -eq 0 -a -f "$D/server.pem" -a -f "$D/server.key"
cp -p "$SN_TMP/other/dev.pem" "$D/dev.pem"
cp -p "$SN_TMP/other/dev.key" "$D/dev.key"
refused "dev.pem of another CA" "$D" ca dev --dir "$D"
expect_match "the message says so" "not issued by" "$ERR"
rm "$D/dev.pem" "$D/dev.key"
sn ca dev --dir "$D"
cp -p "$D/admin.key" "$SN_TMP/admin.key.bak"
cp -p "$D/dev.key" "$D/admin.key"
refused "admin.key not admin.pem's key" "$D" ca dev --dir "$D"
cp -p "$SN_TMP/admin.key.bak" "$D/admin.key"
E=$SN_TMP/dev.noca
mkdir -m 700 "$E"
cp -p "$D/dev.pem" "$D/dev.key" "$E/"
refused "leaves without a CA" "$E" ca dev --dir "$E"
rm "$D/ca.key"
refused "ca.pem without ca.key" "$D" ca dev --dir "$D"
# three servers starting at once: one CA, and everything fits it
D=$SN_TMP/dev3
pids=()
for i in 1 2 3; do
	"$SN_SENTINEL" ca dev --dir "$D" >/dev/null 2>&1 &
	pids+=($!)
done
st=0
for p in "${pids[@]}"; do wait "$p" || st=1; done
check "3 x ca dev at once: all exit 0" test "$st" -eq 0
check "one CA, every leaf verifies against it" openssl verify -CAfile "$D/ca.pem" -crl_check -CRLfile "$D/crl.pem" \
    "$D/server.pem" "$D/dev.pem" "$D/admin.pem"
# the CRL: remade when it expires within 7 days, or misses a revocation
D=$SN_TMP/dev2
sn ca dev --dir "$D"
sn ca crl --dir "$D" --days 6
n1=$(crl_number "$D/crl.pem")
sn ca dev --dir "$D"
check "a CRL expiring in 6 days: ca dev exit 0" test "$RC" -eq 0
expect_match "it is made again, for 30 days" "$(date -u -d '+30 days' '+%b %e')" "$(openssl crl -in "$D/crl.pem" -noout -nextupdate)"
n2=$(crl_number "$D/crl.pem")
check "with a larger CRL number ($n1 -> $n2)" test "$(printf '%d' "0x$n2")" -gt "$(printf '%d' "0x$n1")"
printf '%s %s\n' "$(serial "$D/admin.pem")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$D/index"
sn ca dev --dir "$D"
check_fails "index lists admin but crl.pem did not: ca dev makes the CRL again" \
    openssl verify -CAfile "$D/ca.pem" -crl_check -CRLfile "$D/crl.pem" "$D/admin.pem"
rm "$D/crl.pem"
sn ca dev --dir "$D"
check "crl.pem removed: made again" test -f "$D/crl.pem"
check_fails "and admin stays revoked" openssl verify -CAfile "$D/ca.pem" -crl_check -CRLfile "$D/crl.pem" "$D/admin.pem"

sn_done
