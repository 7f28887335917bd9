#!/bin/bash
# t-api-load: 64 concurrent mutual-TLS clients make 20,000 tool calls (reads
# and writes) on keep-alive connections: no error, every call audited with
# its status, and the chain verifies afterwards.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# many TLS handshakes: slow under valgrind and the sanitizers
: "${SN_TEST_TIMEOUT:=1200}"
export SN_TEST_TIMEOUT
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
command -v openssl >/dev/null || sn_skip_all "openssl is missing"
command -v sqlite3 >/dev/null || sn_skip_all "sqlite3 is missing"
sn_tmp
LOAD=$(sn_helper api_load)

PKI=$SN_TMP/pki
bash "$SN_SRCDIR/tests/helpers/mkcerts.sh" "$PKI" >"$SN_TMP/mkcerts.log" 2>&1 ||
	sn_bail "mkcerts.sh failed: $(tail -3 "$SN_TMP/mkcerts.log")"

# 20,000 calls; fewer under valgrind, where each costs a hundred times more
READS=16000 WRITES=4000 CLIENTS=64
if [ -n "$SN_TEST_WRAPPER" ]; then
	READS=640 WRITES=128
fi

P=$(sn_free_port)
O=$(sn_free_port)
STATE=$SN_TMP/state
W=$SN_TMP/root
mkdir -p "$W" "$SN_TMP/mnt"
# 4096 bytes of text, without a pipe that a head(1) could cut short
# (SIGPIPE under pipefail)
head -c 3072 /dev/urandom | base64 -w 0 >"$W/file"
cat >"$SN_TMP/sentinel.conf" <<EOF
[server]
state_dir = $STATE

[api]
listen = 127.0.0.1:$P
ops_listen = 127.0.0.1:$O
cert = $PKI/server.pem
key = $PKI/server.key
client_ca = $PKI/ca.pem

[workspace "load"]
root = $W
agents = dev, auditor

[view "load"]
workspace = load
agent = dev2
mountpoint = $SN_TMP/mnt
EOF
sn_serve "$SN_TMP/sentinel.conf"
sn_wait_for 20 curl -fsS "http://127.0.0.1:$O/readyz" -o /dev/null ||
	sn_bail "not ready: $(sn__log_tail "$SN_PID")"

URL=https://127.0.0.1:$P/v1/workspaces/load/tools
TLS=(--cacert "$PKI/ca.pem" --cert "$PKI/dev.pem" --key "$PKI/dev.key")

section "$CLIENTS clients, $READS read_file calls"
RC=0
"$LOAD" --url "$URL/read_file" --body '{"path":"file"}' "${TLS[@]}" \
    -c "$CLIENTS" -n "$READS" >"$SN_TMP/reads.out" 2>&1 || RC=$?
expect_eq "every read_file answered 200" 0 "$RC"
note "$(grep -E 'requests/s|p99' "$SN_TMP/reads.out" | tr '\n' ' ')"

section "$CLIENTS clients, $WRITES write_file calls"
RC=0
"$LOAD" --url "$URL/write_file" \
    --body '{"path":"out.txt","content":"written under load\n"}' "${TLS[@]}" \
    -c "$CLIENTS" -n "$WRITES" >"$SN_TMP/writes.out" 2>&1 || RC=$?
expect_eq "every write_file answered 200" 0 "$RC"
expect_eq "the file is whole" "written under load" "$(cat "$SN_TMP/mnt/out.txt")"

section "every call is in the audit trail, which verifies"
DB=$STATE/workspaces/load/workspace.db
expect_eq "read_file events with status 200" "$READS" \
    "$(sqlite3 "file:$DB?mode=ro" "SELECT count(*) FROM audit WHERE source='api' AND op='read_file' AND status=200 AND agent='dev'")"
expect_eq "write_file events with status 200" "$WRITES" \
    "$(sqlite3 "file:$DB?mode=ro" "SELECT count(*) FROM audit WHERE source='api' AND op='write_file' AND status=200 AND agent='dev'")"
expect_eq "no other API event" 0 \
    "$(sqlite3 "file:$DB?mode=ro" "SELECT count(*) FROM audit WHERE source='api' AND status<>200")"
RC=0
out=$("$SN_SENTINEL" audit verify --state-dir "$STATE" --workspace load 2>&1) || RC=$?
expect_eq "sentinel audit verify: intact" 0 "$RC"
[ "$RC" -eq 0 ] || note "$out"
# the CLI pages through the server (1000 a request), and stops although
# each of its requests adds an event to the trail it reads
RC=0
timeout 120 env SENTINEL_SERVER="https://127.0.0.1:$P" SENTINEL_CACERT="$PKI/ca.pem" \
    SENTINEL_CERT="$PKI/audit.pem" SENTINEL_KEY="$PKI/audit.key" \
    XDG_CONFIG_HOME="$SN_TMP/xdg" \
    "$SN_SENTINEL" audit list --workspace load -o json >"$SN_TMP/list.json" 2>"$SN_TMP/list.err" || RC=$?
[ "$RC" -eq 0 ] || note "$(head -c 300 "$SN_TMP/list.err")"
expect_eq "sentinel audit list --server over $((READS + WRITES))+ events: exit 0" 0 "$RC"
python3 - "$SN_TMP/list.json" "$READS" "$WRITES" >"$SN_TMP/list.check" <<'PY' || true
import json, sys
seqs, ops = [], {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    seqs.append(e["seq"])
    ops[e["op"]] = ops.get(e["op"], 0) + 1
ok = seqs == list(range(1, len(seqs) + 1))
print("gapless" if ok else "not gapless")
print("reads %d writes %d" % (ops.get("read_file", 0), ops.get("write_file", 0)))
PY
expect_eq "... every event once, seq 1..N in order" gapless "$(sed -n 1p "$SN_TMP/list.check")"
expect_eq "... with every read_file and write_file" "reads $READS writes $WRITES" \
    "$(sed -n 2p "$SN_TMP/list.check")"

sn_stop "$SN_PID"
sn_done
