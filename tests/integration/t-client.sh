#!/bin/bash
# t-client.sh - the client commands (ws, tool, lock, audit --server) without
# a Sentinel server: --help of each, usage errors (exit 2), where settings
# come from (flags > SENTINEL_* > client.conf, seen in the messages), an
# unreachable server (exit 3 and the reason), missing or unusable
# certificate, key and CA files (exit 3, naming the file), and real TLS
# handshakes against openssl s_server: a server certificate from another
# CA, a client certificate the server does not trust, none at all (each
# exit 3), and one that works (an answer that is not JSON: exit 1).
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_tmp
[ -x "$SN_SENTINEL" ] || sn_bail "no sentinel binary at $SN_SENTINEL (build it first)"
read -r -a WRAP <<<"$SN_TEST_WRAPPER"

# No setting from the caller's environment or home leaks in.
unset SENTINEL_SERVER SENTINEL_CERT SENTINEL_KEY SENTINEL_CACERT SENTINEL_TOKEN_FILE
export HOME=$SN_TMP/home XDG_CONFIG_HOME=$SN_TMP/xdg
mkdir -p "$HOME" "$XDG_CONFIG_HOME/sentinel"
CONF=$XDG_CONFIG_HOME/sentinel/client.conf

# sn CMD...: run sentinel (under the wrapper); stdout in $OUT, stderr in
# $ERR, status in $RC.
sn() {
	RC=0
	timeout 60 "${WRAP[@]}" "$SN_SENTINEL" "$@" >"$SN_TMP/out" 2>"$SN_TMP/err" </dev/null || RC=$?
	OUT=$(cat "$SN_TMP/out")
	ERR=$(cat "$SN_TMP/err")
}

# expect_run DESC WANT_RC ERE CMD...: exit status WANT_RC and stderr matching ERE.
expect_run() {
	local desc=$1 want=$2 ere=$3
	shift 3
	sn "$@"
	if [ "$RC" -eq "$want" ] && [[ $ERR =~ $ere ]]; then
		ok "$desc: exit $want${ERR:+ ($(printf '%s' "$ERR" | head -n 1))}"
	else
		fail "$desc" "sentinel $*" "want exit $want, stderr matching: $ere" \
		    "exit $RC" "stderr: $ERR" "stdout: $OUT"
	fi
}

# A port nobody listens on (bound, then let go).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

section "--help of each client command"
for c in ws tool lock audit; do
	sn "$c" --help
	if [ "$RC" -eq 0 ] && [[ $OUT == *"usage: sentinel $c"* ]] &&
	    [[ $OUT == *--server* ]] && [[ $OUT == *"Exit status"* ]] && [ -z "$ERR" ]; then
		ok "sentinel $c --help: exit 0, usage, connection options, exit statuses"
	else
		fail "sentinel $c --help" "exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
done
sn help
expect_match "sentinel help lists ws, tool, lock" 'ws .*tool .*lock ' "$(printf '%s' "$OUT" | tr '\n' ' ')"
sn ws list --help
expect_eq "--help after a subcommand: exit 0" 0 "$RC"
sn tool --help
for t in read_file write_file edit_file list_dir stat delete move search; do
	[[ $OUT == *"$t"* ]] || fail "tool --help names $t" "$OUT"
done
ok "tool --help names every tool"

section "usage errors: exit 2, before any connection"
U=http://127.0.0.1:1
expect_run "ws without a subcommand" 2 'expected a subcommand' ws
expect_run "ws unknown subcommand" 2 "unknown subcommand 'frob'" ws frob
expect_run "ws show without ID" 2 'show expects ID' ws show --server $U
expect_run "ws show with two IDs" 2 'too many' ws show a b --server $U
expect_run "ws show with a bad id" 2 "workspace '../x'" ws show ../x --server $U
expect_run "ws grant with a bad agent" 2 "agent 'a b'" ws grant w 'a b' --server $U
expect_run "ws list --id" 2 'list takes no --id' ws list --id x --server $U
expect_run "an unknown option" 2 'bad option' ws list --frob --server $U
expect_run "-o yaml" 2 "-o: expected text or json" ws list -o yaml --server $U
expect_run "--timeout 0" 2 "bad --timeout" ws list --timeout 0 --server $U
expect_run "--server ftp://" 2 "expected https://" ws list --server ftp://x
expect_run "--server http:// to a remote host" 2 'loopback' ws list --server http://192.0.2.1:80
expect_run "--server with a user" 2 'unexpected character' ws list --server https://u@h:1
expect_run "no server anywhere" 2 'no server: use --server URL' ws list
expect_run "tool without --workspace" 2 'workspace ID is required' tool read_file a --server $U
expect_run "tool: unknown tool" 2 "unknown tool 'exec'" tool --workspace w exec ls --server $U
expect_run "tool: read_file --regex" 2 'read_file takes no --regex' tool --workspace w read_file a --regex --server $U
expect_run "tool: read_file without PATH" 2 'read_file expects PATH' tool --workspace w read_file --server $U
expect_run "tool: write_file with no content" 2 'one of --content' tool --workspace w write_file a --server $U
expect_run "tool: write_file with two contents" 2 'one of --content' tool --workspace w write_file a --content x --from /dev/null --server $U
expect_run "tool: edit_file without --new" 2 'needs --old TEXT and --new TEXT' tool --workspace w edit_file a --old x --server $U
expect_run "tool: --json and flags" 2 'replaces every other argument' tool --workspace w stat a --json '{}' --server $U
expect_run "tool: --json not an object" 2 'not a JSON object' tool --workspace w stat --json '[1]' --server $U
expect_run "tool: --max 0" 2 'bad --max' tool --workspace w search x --max 0 --server $U
expect_run "tool: --offset -1" 2 'bad --offset' tool --workspace w read_file a --offset -1 --server $U
expect_run "lock: unknown subcommand" 2 "unknown subcommand 'steal'" lock steal --workspace w
expect_run "lock: list --ttl" 2 'list takes no --ttl' lock list --workspace w --ttl 5 --server $U
expect_run "lock: renew --subtree" 2 'renew takes no --subtree' lock renew 3 --workspace w --subtree --server $U
expect_run "lock: release a bad id" 2 "lock id '1/2'" lock release 1/2 --workspace w --server $U
expect_run "lock: acquire without --workspace" 2 'workspace ID is required' lock acquire a --server $U
expect_run "audit: --server without --workspace" 2 'workspace ID \(or --server-chain\) is required' audit list --server $U
expect_run "audit: --workspace and --server-chain" 2 'exclude each other' audit verify --server $U --workspace w --server-chain
expect_run "audit: --server and --state-dir" 2 'read local files' audit list --server $U --state-dir "$SN_TMP"
expect_run "audit: --server-chain without a server" 2 'no server' audit verify --server-chain
expect_run "audit: local verify -o json" 2 'verify takes no -o' audit verify -o json --state-dir "$SN_TMP"

section "an unreachable server: exit 3 and why"
P=$(free_port)
expect_run "https, refused" 3 "^sentinel: cannot connect to https://127.0.0.1:$P: Connection refused$" \
    ws list --server "https://127.0.0.1:$P"
expect_run "http, refused" 3 "^sentinel: cannot connect to http://127.0.0.1:$P: Connection refused$" \
    tool --workspace w stat a --server "http://127.0.0.1:$P"
expect_run "lock, refused" 3 'Connection refused' lock list --workspace w --server "http://127.0.0.1:$P"
expect_run "audit list --server, refused" 3 'Connection refused' audit list --workspace w --server "http://127.0.0.1:$P"
expect_run "audit verify --server-chain, refused" 3 'Connection refused' audit verify --server-chain --server "http://127.0.0.1:$P"
expect_run "an unknown host" 3 'cannot connect to https://no-such-host.invalid:1: unknown host' \
    ws list --server https://no-such-host.invalid:1
expect_eq "nothing on stdout" "" "$OUT"

section "settings: flags > SENTINEL_* > client.conf"
P2=$(free_port)
P3=$(free_port)
printf '# my server\nserver = http://127.0.0.1:%s\n' "$P" >"$CONF"
expect_run "server from client.conf" 3 "http://127.0.0.1:$P:" ws list
SENTINEL_SERVER=http://127.0.0.1:$P2 expect_run "SENTINEL_SERVER over client.conf" 3 "http://127.0.0.1:$P2:" ws list
SENTINEL_SERVER=http://127.0.0.1:$P2 expect_run "--server over SENTINEL_SERVER" 3 "http://127.0.0.1:$P3:" \
    ws list --server "http://127.0.0.1:$P3"
printf 'server = https://127.0.0.1:%s\ncert = certs/me.pem\nkey = ~/me.key\n' "$P" >"$CONF"
expect_run "cert from client.conf: relative to its directory" 3 \
    "client certificate $XDG_CONFIG_HOME/sentinel/certs/me.pem: No such file or directory" ws list
SENTINEL_CERT=$SN_TMP/env.pem expect_run "SENTINEL_CERT over client.conf" 3 "client certificate $SN_TMP/env.pem:" ws list
SENTINEL_CERT=$SN_TMP/env.pem expect_run "--cert over SENTINEL_CERT" 3 "client certificate $SN_TMP/flag.pem:" \
    ws list --cert "$SN_TMP/flag.pem"
printf 'server = http://127.0.0.1:%s\n\ncacert = x\nsrever = y\n' "$P" >"$CONF"
expect_run "an unknown key in client.conf: FILE:LINE" 1 "client.conf:4: unknown key 'srever'" ws list
expect_run "... even with every flag given" 1 "client.conf:4:" ws list --server "http://127.0.0.1:$P"
printf 'server = http://127.0.0.1:%s\ntoken_file = missing-token\n' "$P" >"$CONF"
expect_run "a missing token file: exit 1, named" 1 "token file $XDG_CONFIG_HOME/sentinel/missing-token: No such file" ws list
: >"$SN_TMP/empty-token"
expect_run "an empty token file" 1 'empty' ws list --token-file "$SN_TMP/empty-token"
rm -f "$CONF"
expect_run "no client.conf: no server" 2 'no server' ws list
mkdir -p "$SN_TMP/state/workspaces"
SENTINEL_SERVER=http://127.0.0.1:$P expect_run "audit with --state-dir stays local despite SENTINEL_SERVER" 1 \
    "no workspace audit database under $SN_TMP/state/workspaces" audit list --state-dir "$SN_TMP/state"
SENTINEL_SERVER=http://127.0.0.1:$P expect_run "audit without --state-dir follows SENTINEL_SERVER" 3 \
    'Connection refused' audit list --workspace w

section "credential files: exit 3, naming the file"
if ! command -v openssl >/dev/null 2>&1; then
	skip "credential files and TLS" "no openssl command"
	sn_done
fi
PKI=$SN_TMP/pki
mkdir -p "$PKI"
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null
}
# mkcert NAME CA SUBJECT EXTENSIONS
mkcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$3" 2>/dev/null
	printf '%s\n' "$4" >"$PKI/$1.ext"
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
	    -CAcreateserial -out "$PKI/$1.pem" -days 2 -extfile "$PKI/$1.ext" 2>/dev/null
}
mkca ca
mkca otherca
mkcert server ca /CN=127.0.0.1 $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'
mkcert alice ca /CN=alice/OU=Dev 'extendedKeyUsage=clientAuth'
mkcert mallory otherca /CN=mallory/OU=Dev 'extendedKeyUsage=clientAuth'
echo 'not a certificate' >"$PKI/junk.pem"
C=(--cert "$PKI/alice.pem" --key "$PKI/alice.key" --cacert "$PKI/ca.pem")
S=https://127.0.0.1:$P
expect_run "missing certificate" 3 "^sentinel: client certificate $PKI/none.pem: No such file or directory$" \
    ws list --server "$S" --cert "$PKI/none.pem" --key "$PKI/alice.key"
expect_run "a certificate that is not PEM" 3 "client certificate $PKI/junk.pem: not a PEM certificate" \
    ws list --server "$S" --cert "$PKI/junk.pem" --key "$PKI/alice.key"
expect_run "missing key" 3 "client key $PKI/none.key: No such file" \
    ws list --server "$S" --cert "$PKI/alice.pem" --key "$PKI/none.key"
expect_run "a key that is not a key" 3 "client key $PKI/junk.pem: not an unencrypted PEM private key" \
    ws list --server "$S" --cert "$PKI/alice.pem" --key "$PKI/junk.pem"
expect_run "a key of another certificate" 3 "client key $PKI/mallory.key does not match certificate $PKI/alice.pem" \
    ws list --server "$S" --cert "$PKI/alice.pem" --key "$PKI/mallory.key"
expect_run "a key without a certificate" 3 'no client certificate: set --cert' \
    ws list --server "$S" --key "$PKI/alice.key"
expect_run "missing CA file" 3 "CA file $PKI/none.pem: No such file" \
    ws list --server "$S" --cacert "$PKI/none.pem"
expect_run "a CA file that is not PEM" 3 "CA file $PKI/junk.pem: no PEM certificate" \
    ws list --server "$S" --cacert "$PKI/junk.pem"
chmod 000 "$PKI/alice.key"
if [ "$(id -u)" -ne 0 ]; then
	expect_run "an unreadable key" 3 "client key $PKI/alice.key: Permission denied" ws list --server "$S" "${C[@]}"
fi
chmod 600 "$PKI/alice.key"

section "TLS handshakes against openssl s_server"
# tls_server [s_server options]: start one, set TLS to its https URL.
tls_server() {
	local log port=
	log=$(mktemp "$SN_TMP/s_server.XXXXXX")
	sn_bg openssl s_server -accept 0 -cert "$PKI/server.pem" -key "$PKI/server.key" -www "$@" \
	    >"$log" 2>&1 </dev/null
	for _ in $(seq 1 250); do
		port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
		[ -z "$port" ] || break
		sleep 0.02
	done
	[ -n "$port" ] || sn_bail "openssl s_server did not start" "$(cat "$log")"
	TLS=https://127.0.0.1:$port
}
tls_server -Verify 1 -verify_return_error -CAfile "$PKI/ca.pem"
expect_run "a trusted server and client: TLS works; the s_server page is not JSON (exit 1)" 1 \
    '^sentinel: HTTP 200: the reply is not JSON' ws list --server "$TLS" "${C[@]}"
expect_run "the server's certificate from another CA: not trusted" 3 \
    "^sentinel: TLS: server certificate not trusted \\($PKI/otherca.pem\\)" \
    ws list --server "$TLS" --cert "$PKI/alice.pem" --key "$PKI/alice.key" --cacert "$PKI/otherca.pem"
expect_run "the system CAs do not trust it either" 3 'TLS: server certificate not trusted \(system CAs\)' \
    ws list --server "$TLS" --cert "$PKI/alice.pem" --key "$PKI/alice.key"
expect_run "a client certificate from a CA the server does not trust" 3 '^sentinel: TLS: ' \
    ws list --server "$TLS" --cert "$PKI/mallory.pem" --key "$PKI/mallory.key" --cacert "$PKI/ca.pem"
expect_run "no client certificate where one is required" 3 'no client certificate was offered' \
    ws list --server "$TLS" --cacert "$PKI/ca.pem"
expect_run "plain http to the TLS port" 3 '' ws list --server "http://127.0.0.1:${TLS##*:}"
SENTINEL_SERVER=$TLS SENTINEL_CERT=$PKI/alice.pem SENTINEL_KEY=$PKI/alice.key \
    SENTINEL_CACERT=$PKI/ca.pem expect_run "the same from SENTINEL_* variables" 1 \
    'the reply is not JSON' ws list

sn_done
