#!/bin/bash
# t-secrets.sh - the secret providers (src/core/secrets.c) end to end,
# through tests/helpers/secrets_get (a config in, NAME=SHA256 of each
# value out: the test compares hashes, and no value is ever printed):
#   - a fake Vault KV v2 server (tests/helpers/fake_vault.py) over plain
#     HTTP on 127.0.0.1, a Kubernetes-style Secret directory, the
#     server's environment: each secret reaches the workspaces it names,
#     and only those;
#   - the Vault cache: one GET per path within cache_ttl, one per use
#     with cache_ttl = 0;
#   - errors name the secret and the provider, never a value or the
#     token: Vault down, a wrong token (the token file is read again at
#     each request), a missing path, a missing field, a field that is not
#     a string, a body that is not JSON, a request that times out (5 s),
#     a file that escapes the directory; any failure fails the call;
#   - TLS: https with vault_cacert works; without it, or with another CA,
#     the certificate is refused;
#   - no leak or memory error in the driver under valgrind (if installed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

command -v python3 >/dev/null 2>&1 || sn_skip_all "needs python3"
command -v sha256sum >/dev/null 2>&1 || sn_skip_all "needs sha256sum"
SG=$SN_BUILDDIR/tests/helpers/secrets_get
FV=$SN_SRCDIR/tests/helpers/fake_vault.py
[ -x "$SG" ] || sn_bail "no $SG (make check builds it; or: make tests/helpers/secrets_get)"
sn_tmp
T=$SN_TMP

# Values: each one distinctive, so a leak into any output is visible.
DB_PW='pw-Zq8#x!9 "quoted" $HOME'
DB_USER='user-Kx71'
GH='ghp_FILEVALUE0123'
ENVV='env-VALUE-7788'
TOKEN='hvs.TOKENVALUE-4242'
export SN_T_ENV_SECRET=$ENVV

h() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- the fake Vault ------------------------------------------------------
python3 - "$T/data.json" "$DB_PW" "$DB_USER" <<'EOF'
import json, sys
json.dump({"app/db": {"password": sys.argv[2], "user": sys.argv[3],
                      "port": 5432},
           "team-b/api": {"key": "k-team-b"},
           "empty/x": {"v": ""}},
          open(sys.argv[1], "w"))
EOF
printf '%s\n' "$TOKEN" >"$T/token"        # Sentinel's vault_token_file
printf '%s\n' "$TOKEN" >"$T/vault-token"  # what the fake Vault accepts
: >"$T/vault.log"
# start_vault PORTFILE [ARGS...]: start one, wait for it; VPORT = its port
start_vault() {
	local pf=$1
	shift
	sn_bg python3 "$FV" --data "$T/data.json" --token-file "$T/vault-token" \
	    --port-file "$pf" --log "$T/vault.log" "$@" \
	    >>"$T/vault.out" 2>&1 </dev/null
	sn_wait_for 10 test -s "$pf" || sn_bail "fake vault did not start"
	VPORT=$(cat "$pf")
}
start_vault "$T/port"
PORT=$VPORT
note "fake vault on 127.0.0.1:$PORT"

# ---- a Kubernetes Secret volume -----------------------------------------
mkdir -p "$T/k8s/..2024_05_01_12_00_00.123" "$T/outside"
printf '%s\n' "$GH" >"$T/k8s/..2024_05_01_12_00_00.123/github-token"
ln -s ..2024_05_01_12_00_00.123 "$T/k8s/..data"
ln -s ..data/github-token "$T/k8s/github-token"
printf 'OUTSIDEVALUE\n' >"$T/outside/x"
ln -s ../outside/x "$T/k8s/escape"

# conf NAME TTL ADDR [EXTRA SECTIONS]: a config at $T/NAME.conf
conf() {
	cat >"$T/$1.conf" <<EOF
[secrets]
dir = $T/k8s
vault_addr = $3
vault_token_file = $T/token
cache_ttl = $2
${5:-}
[secret "DB_PASSWORD"]
provider = vault
key = app/db#password
workspaces = *

[secret "DB_USER"]
provider = vault
key = app/db#user
workspaces = w1

[secret "GITHUB_TOKEN"]
provider = file
key = github-token
workspaces = w1, w2

[secret "FROM_ENV"]
provider = env
key = SN_T_ENV_SECRET
workspaces = w2
${4:-}
EOF
}
conf main 60 "http://127.0.0.1:$PORT"

# run CONF WS [COUNT]: secrets_get; sets OUT, ERR, RC
run() {
	RC=0
	"$SG" "$T/$1.conf" "$2" ${3:+"$3"} >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
# no_leak DESC: neither output holds a value or the token
no_leak() {
	local v all
	all="$OUT$ERR"
	for v in "$DB_PW" "$DB_USER" "$GH" "$ENVV" "$TOKEN" OUTSIDEVALUE \
	    k-team-b; do
		if [[ $all == *"$v"* ]]; then
			fail "$1: no value or token in the output" "leaked: a value"
			return 0
		fi
	done
	ok "$1: no value or token in the output"
}
gets() { grep -c "^GET /v1/secret/data/$1 " "$T/vault.log" || true; }

section "each workspace gets its secrets"
run main w1
expect_eq "w1: exit 0" 0 "$RC"
expect_eq "w1: vault, vault, file" \
    "DB_PASSWORD=$(h "$DB_PW")
DB_USER=$(h "$DB_USER")
GITHUB_TOKEN=$(h "$GH")" "$OUT"
no_leak "w1"
run main w2
expect_eq "w2: vault, file, env" \
    "DB_PASSWORD=$(h "$DB_PW")
GITHUB_TOKEN=$(h "$GH")
FROM_ENV=$(h "$ENVV")" "$OUT"
run main other
expect_eq "another workspace: only the * secret" \
    "DB_PASSWORD=$(h "$DB_PW")" "$OUT"
no_leak "other"

section "the Vault cache"
: >"$T/vault.log"
run main w1 5
expect_eq "cache_ttl 60: five calls, two secrets of one path: one GET" \
    1 "$(gets app/db)"
conf nocache 0 "http://127.0.0.1:$PORT"
: >"$T/vault.log"
run nocache w1 3
expect_eq "cache_ttl 0: a GET per secret per call" 6 "$(gets app/db)"
expect_eq "cache_ttl 0: still the values" "DB_PASSWORD=$(h "$DB_PW")
DB_USER=$(h "$DB_USER")
GITHUB_TOKEN=$(h "$GH")" "$OUT"

section "errors name the secret and the provider, never a value"
printf 'hvs.WRONG\n' >"$T/token"
run nocache w1
expect_eq "wrong token: exit 1" 1 "$RC"
expect_match "wrong token: 403, the path" \
    'secret DB_PASSWORD \(vault\): GET app/db: HTTP 403' "$ERR"
expect_eq "wrong token: nothing printed" "" "$OUT"
[[ $ERR != *WRONG* ]] && ok "wrong token: the token is not shown" ||
    fail "wrong token: the token is not shown" "$ERR"
no_leak "wrong token"
printf '%s\n' "$TOKEN" >"$T/token"
run nocache w1
expect_eq "token file fixed: read again, works" 0 "$RC"

conf missing 0 "http://127.0.0.1:$PORT" '
[secret "NOPE"]
provider = vault
key = app/nope#password
workspaces = w1'
run missing w1
expect_eq "missing path: exit 1" 1 "$RC"
expect_match "missing path: 404" \
    'secret NOPE \(vault\): GET app/nope: HTTP 404' "$ERR"
expect_eq "missing path: fail closed, nothing printed" "" "$OUT"
run missing w2
expect_eq "missing path: another workspace is not affected" 0 "$RC"

conf nofield 0 "http://127.0.0.1:$PORT" '
[secret "NOFIELD"]
provider = vault
key = app/db#passwd
workspaces = w1'
run nofield w1
expect_match "missing field" \
    'secret NOFIELD \(vault\): app/db#passwd: no such field' "$ERR"
no_leak "missing field"

conf number 0 "http://127.0.0.1:$PORT" '
[secret "PORT"]
provider = vault
key = app/db#port
workspaces = w1'
run number w1
expect_match "a field that is not a string" \
    'secret PORT \(vault\): app/db#port: the field is not a string' "$ERR"

conf emptyv 0 "http://127.0.0.1:$PORT" '
[secret "EMPTY"]
provider = vault
key = empty/x#v
workspaces = w1'
run emptyv w1
expect_match "an empty value is refused" \
    'secret EMPTY \(vault\): empty/x#v: the value is empty' "$ERR"

conf garbage 0 "http://127.0.0.1:$PORT" '
[secret "G"]
provider = vault
key = garbage/x#v
workspaces = w1'
run garbage w1
expect_match "a body that is not JSON" \
    'secret G \(vault\): GET garbage/x: not a KV v2 response' "$ERR"

conf escape 0 "http://127.0.0.1:$PORT" '
[secret "ESC"]
provider = file
key = escape
workspaces = w1'
run escape w1
expect_eq "file escaping the dir: exit 1" 1 "$RC"
expect_match "file escaping the dir: refused" \
    'secret ESC \(file\): escape: leads outside \[secrets\] dir' "$ERR"
no_leak "escape"

DOWN=$(sn_free_port)
conf down 0 "http://127.0.0.1:$DOWN"
run down w1
expect_eq "vault down: exit 1" 1 "$RC"
expect_match "vault down: names secret and provider" \
    '^secrets_get: secret DB_PASSWORD \(vault\): GET app/db: .*' "$ERR"
no_leak "vault down"

conf slow 0 "http://127.0.0.1:$PORT" '
[secret "SLOW"]
provider = vault
key = slow/x#v
workspaces = w1'
t0=$(date +%s)
run slow w1
t1=$(date +%s)
expect_match "a slow Vault: timed out" \
    'secret SLOW \(vault\): GET slow/x: .*[Tt]imeout|timed out' "$ERR"
expect_le "a slow Vault: gives up within ~5 s" 8 $((t1 - t0))

section "TLS"
if command -v openssl >/dev/null 2>&1; then
	sh "$SN_SRCDIR/tests/helpers/mkcerts.sh" "$T/certs" >/dev/null 2>&1 ||
	    sn_bail "mkcerts.sh failed"
	start_vault "$T/tport" --cert "$T/certs/server.pem" \
	    --key "$T/certs/server.key"
	TPORT=$VPORT
	conf tls 0 "https://127.0.0.1:$TPORT" "" \
	    "vault_cacert = $T/certs/ca.pem"
	run tls w1
	expect_eq "https with vault_cacert" "DB_PASSWORD=$(h "$DB_PW")
DB_USER=$(h "$DB_USER")
GITHUB_TOKEN=$(h "$GH")" "$OUT"
	conf tlsnoca 0 "https://127.0.0.1:$TPORT"
	run tlsnoca w1
	expect_eq "https without the CA: refused" 1 "$RC"
	expect_match "https without the CA: a certificate error" \
	    'secret DB_PASSWORD \(vault\): GET app/db: .*(certificate|SSL)' "$ERR"
	conf tlsother 0 "https://127.0.0.1:$TPORT" "" \
	    "vault_cacert = $T/certs/other-ca.pem"
	run tlsother w1
	expect_eq "https with another CA (same subject): refused" 1 "$RC"
	no_leak "tls"
	conf tlsplain 0 "http://127.0.0.1:$TPORT"
	run tlsplain w1
	expect_eq "plain http to a TLS port: an error, not a hang" 1 "$RC"
else
	skip "TLS" "no openssl CLI"
fi

section "the config is checked before anything is fetched"
cat >"$T/bad.conf" <<EOF
[secrets]
vault_addr = http://10.1.2.3:8200
vault_token_file = $T/token
EOF
run bad w1
expect_eq "plain http off loopback: exit 2" 2 "$RC"
expect_match "plain http off loopback: why" \
    'bad.conf:2: \[secrets\] vault_addr: .*loopback' "$ERR"

section "valgrind"
if grep -q __asan_init "$SG" 2>/dev/null; then
	skip "valgrind" "the driver is built with AddressSanitizer"
elif command -v valgrind >/dev/null 2>&1; then
	VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
	RC=0
	$VG "$SG" "$T/main.conf" w1 3 >"$T/out" 2>"$T/vg" || RC=$?
	expect_eq "valgrind: success case clean" 0 "$RC"
	RC=0
	$VG "$SG" "$T/nofield.conf" w1 >"$T/out" 2>"$T/vg" || RC=$?
	expect_eq "valgrind: error case clean (exit 1, not 99)" 1 "$RC"
	RC=0
	$VG "$SG" "$T/escape.conf" w1 >"$T/out" 2>"$T/vg" || RC=$?
	expect_eq "valgrind: the file walk (no openat2 there) clean" 1 "$RC"
	grep -q 'leads outside' "$T/vg" && ok "valgrind: the walk refuses too" ||
	    fail "valgrind: the walk refuses too" "$(cat "$T/vg")"
else
	skip "valgrind" "not installed"
fi

sn_done
