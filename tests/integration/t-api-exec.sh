#!/bin/bash
# t-api-exec: the exec tool through the real API over mutual TLS: the
# command runs in a sandbox inside the agent's own view (policy, locks and
# audit apply to what it touches), as an unprivileged user, with the
# workspace's limits, without network; secrets are injected into its
# environment and never come back (raw, base64, split across writes);
# every call is audited before and after; a full workspace answers 429.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# many TLS handshakes: slow under valgrind and the sanitizers
: "${SN_TEST_TIMEOUT:=1200}"
export SN_TEST_TIMEOUT
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
# valgrind does not know mount_setattr(2): the sandbox cannot be built under
# it (its parent side is checked by the unit tests and by t-api's server)
case "${SN_TEST_WRAPPER:-}" in
*valgrind*) sn_skip_all "the sandbox cannot be set up under valgrind (mount_setattr)" ;;
esac
command -v curl >/dev/null || sn_skip_all "curl is missing"
command -v sqlite3 >/dev/null || sn_skip_all "sqlite3 is missing"
command -v python3 >/dev/null || sn_skip_all "python3 is missing"
[ -d /sys/fs/cgroup ] || sn_skip_all "no cgroups"
sn_tmp

PKI=$SN_TMP/pki
bash "$SN_SRCDIR/tests/helpers/mkcerts.sh" "$PKI" >"$SN_TMP/mkcerts.log" 2>&1 ||
	sn_bail "mkcerts.sh failed: $(tail -3 "$SN_TMP/mkcerts.log")"

P=$(sn_free_port)
O=$(sn_free_port)
STATE=$SN_TMP/state
W=$SN_TMP/root
mkdir -p "$W/src" "$W/secrets" "$SN_TMP/sec" "$SN_TMP/mnt"
chmod 755 "$SN_TMP" "$W" "$W/src"
echo 'print("hello from the workspace")' >"$W/src/hello.py"
echo 'hunter2-db-password' >"$W/secrets/db"
chmod 644 "$W/src/hello.py" "$W/secrets/db"
# the workspace belongs to its uid, as a clone made for it would
chown -R 4321:4321 "$W"
SECRET='ghp_0123456789abcdefSENTINELsecret'
printf '%s' "$SECRET" >"$SN_TMP/sec/GH_TOKEN"
printf 'other-workspace-secret-value' >"$SN_TMP/sec/OTHER"

cat >"$SN_TMP/sentinel.conf" <<EOF
[server]
state_dir = $STATE

[api]
listen = 127.0.0.1:$P
ops_listen = 127.0.0.1:$O
cert = $PKI/server.pem
key = $PKI/server.key
client_ca = $PKI/ca.pem

[secrets]
dir = $SN_TMP/sec

[secret "GH_TOKEN"]
provider = file
key = GH_TOKEN
workspaces = w

[secret "OTHER"]
provider = file
key = OTHER
workspaces = elsewhere

[workspace "w"]
root = $W
agents = dev, dev2, reader
deny = secrets/**
uid = 4321
gid = 4321
memory = 96M
pids = 48
cpu = 0.5
exec_max = 2
exec_timeout = 30

[workspace "elsewhere"]
root = $SN_TMP/else
agents = dev

[view "w-dev2"]
workspace = w
agent = dev2
mountpoint = $SN_TMP/mnt
EOF
mkdir -p "$SN_TMP/else"
echo "elsewhere's file" >"$SN_TMP/else/file"
sn_serve "$SN_TMP/sentinel.conf"
sn_wait_for 20 curl -fsS "http://127.0.0.1:$O/readyz" -o /dev/null ||
	sn_bail "not ready: $(sn__log_tail "$SN_PID")"

URL=https://127.0.0.1:$P
# ex CERT JSON: POST .../tools/exec; sets CODE and BODY
ex() {
	CODE=$(curl -sS --max-time 60 --cacert "$PKI/ca.pem" --cert "$PKI/$1.pem" \
	    --key "$PKI/$1.key" -H 'Content-Type: application/json' \
	    --data-binary "$2" -o "$SN_TMP/body" -w '%{http_code}' \
	    "$URL/v1/workspaces/${3:-w}/tools/exec" 2>"$SN_TMP/curl.err") || CODE=000
	BODY=$(cat "$SN_TMP/body" 2>/dev/null || true)
}
jget() { python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v.get(k)
print(v if not isinstance(v,(dict,list,bool)) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "?"; }
sh_json() { python3 -c 'import json,sys; print(json.dumps({"argv":["sh","-c",sys.argv[1]]}))' "$1"; }
run() { ex "${2:-dev}" "$(sh_json "$1")" "${3:-w}"; OUT=$(jget "$BODY" stdout); ERR=$(jget "$BODY" stderr); }

section "a command runs inside the agent's view, unprivileged"
run 'id -u; id -g; pwd; python3 /workspace/src/hello.py'
expect_eq "exec answers 200" 200 "$CODE"
expect_eq "uid, gid, cwd, and the workspace's file" \
    "$(printf '4321\n4321\n/workspace\nhello from the workspace')" "$OUT"
expect_eq "exit_code 0" 0 "$(jget "$BODY" exit_code)"
run 'exit 7'
expect_eq "exit_code 7" 7 "$(jget "$BODY" exit_code)"
run 'kill -TERM $$'
expect_eq "signal 15" 15 "$(jget "$BODY" signal)"
run 'grep -E "^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " "'
expect_eq "no capability, no_new_privs, seccomp" \
    "$(printf 'CapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2')" "$OUT"
run 'echo made-by-exec > /workspace/src/out.txt && cat /workspace/src/out.txt'
expect_eq "it writes through the view" made-by-exec "$OUT"
expect_eq "the other agent's view sees the file at once" made-by-exec "$(cat "$SN_TMP/mnt/src/out.txt")"
expect_eq "owned by the workspace's uid, mode 0644 (umask 022)" "4321 644" "$(stat -c '%u %a' "$W/src/out.txt")"
ex dev '{"argv":["pwd"],"cwd":"src"}'
expect_eq "cwd is relative to /workspace" /workspace/src "$(jget "$BODY" stdout)"

section "the filesystem's policy and locks apply to what it does"
run 'cat /workspace/secrets/db; ls /workspace'
expect_match "a denied path does not exist for the command" 'No such file' "$ERR"
[[ $OUT != *secrets* && $OUT != *hunter2* ]] && ok "the denied directory is not listed" || fail "denied path visible" "$OUT"
api_lock=$(curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/dev2.pem" --key "$PKI/dev2.key" \
    -H 'Content-Type: application/json' -d '{"path":"src/hello.py","ttl_s":60}' \
    "$URL/v1/workspaces/w/locks")
run 'echo x >> /workspace/src/hello.py'
expect_match "a file locked by another agent: EBUSY inside the sandbox" 'busy' "$ERR"
expect_ne "and the command fails" 0 "$(jget "$BODY" exit_code)"
curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/dev2.pem" --key "$PKI/dev2.key" -X DELETE \
    "$URL/v1/workspaces/w/locks/$(jget "$api_lock" id)" -o /dev/null
n=$(sqlite3 "file:$STATE/workspaces/w/workspace.db?mode=ro" \
    "SELECT count(*) FROM audit WHERE source='fs' AND agent='dev' AND op='create' AND path='src/out.txt'")
expect_eq "the command's file operations are audited as the agent's" 1 "$n"

section "nothing of the host's writable or secret state is visible"
run "cat /etc/shadow; ls $STATE; cat $SN_TMP/sec/GH_TOKEN; ls $SN_TMP/else; cat $PKI/server.key; cat $PKI/ca.key; ls /run"
expect_match "/etc/shadow unreadable" 'shadow: Permission denied' "$ERR"
[[ $OUT != *GH_TOKEN* && $OUT != *elsewhere* && $OUT != *PRIVATE* && $OUT != *"$SECRET"* ]] &&
	ok "no state dir, secret file, other workspace, server key or CA key" || fail "host state visible" "$OUT" "$ERR"
run 'touch /usr/x 2>&1; touch /x 2>&1; echo tmp > /tmp/t && cat /tmp/t'
expect_match "/usr and / are read-only" 'Read-only file system' "$OUT"
expect_match "/tmp is private and writable" 'tmp$' "$OUT"
run 'unshare -Urm true; echo rc=$?; mount -t tmpfs x /mnt; echo rc=$?'
expect_eq "unshare -Urm and mount fail" "$(printf 'rc=1\nrc=32')" "$(echo "$OUT" | grep rc=)"
run 'ls /proc | grep -c "^[0-9]"'
expect_le "its own PID namespace" 10 "$OUT"

section "no network"
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(5)
print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(120)' >"$SN_TMP/port" &
sn_wait_for 5 test -s "$SN_TMP/port"
LP=$(cat "$SN_TMP/port")
run "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $LP), 2)' && echo connected || echo refused"
expect_eq "a connection to the host's loopback fails" refused "$(echo "$OUT" | tail -1)"
run "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)' 2>&1 | tail -1"
expect_match "a raw socket is refused" 'Operation not permitted|PermissionError' "$OUT"

section "limits: memory, pids, time; children never outlive the call"
run "python3 -c 'a = bytearray(400 << 20); print(len(a))'"
expect_eq "a memory hog is stopped by the memory limit" memory "$(jget "$BODY" limit)"
run 'f() { f | f & }; f; sleep 2; echo survived'
expect_eq "a fork bomb hits the pids limit" pids "$(jget "$BODY" limit)"
check "the host is fine" sh -c 'true'
ex dev '{"argv":["sleep","100"],"timeout_s":2}'
expect_eq "timeout_s stops it" timeout "$(jget "$BODY" limit)"
expect_le "within the time" 10 "$(python3 -c "import json,sys; print(int(json.loads(sys.argv[1])['wall_s']))" "$BODY")"
run 'sleep 1000 & echo started'
expect_eq "a background child: the call returns" started "$OUT"
check_fails "and no sleep 1000 is left on the host" pgrep -x -f 'sleep 1000'
ex dev '{"argv":["true"],"timeout_s":31}'
expect_eq "timeout_s above exec_timeout" 400 "$CODE"

section "secrets: injected, never returned"
run 'echo "$GH_TOKEN"; printf "%s" "$GH_TOKEN" | base64; printf "xy%s" "$GH_TOKEN" | base64 -w 20; printf "%s" "$GH_TOKEN" | head -c 10; sleep 0.2; printf "%s\n" "$GH_TOKEN" | tail -c +11; echo "${OTHER:-no other}"'
expect_eq "exec with a secret: 200" 200 "$CODE"
[[ $BODY != *"$SECRET"* ]] && ok "the value is not in the reply" || fail "secret in reply" "$BODY"
b64=$(printf '%s' "$SECRET" | base64)
[[ $BODY != *"${b64:4:24}"* ]] && ok "nor its base64" || fail "base64 of secret in reply" "$BODY"
expect_match "the raw value is redacted" '^\[REDACTED:GH_TOKEN\]' "$OUT"
expect_eq "three redactions at least, split writes too" 1 "$([ "$(grep -o 'REDACTED:GH_TOKEN' <<<"$OUT" | wc -l)" -ge 3 ] && echo 1 || echo 0)"
expect_match "another workspace's secret is not injected" 'no other' "$OUT"
grep -rqa -- "$SECRET" "$STATE" && fail "the secret is in the state dir (audit)" || ok "the secret is nowhere in the audit trail"
grep -qa -- "$SECRET" "$SN_LOG" && fail "the secret is in the log" || ok "the secret is not in the log"
ex dev "{\"argv\":[\"true\"],\"env\":{\"GH_TOKEN\":\"mine\"}}"
expect_eq "a caller cannot set a secret's variable" 400 "$CODE"
ex dev '{"argv":["sh","-c","echo $FOO"],"env":{"FOO":"bar"}}'
expect_eq "the caller's env" bar "$(jget "$BODY" stdout)"

section "audit, RBAC, tenancy, strict input, 429"
n=$(sqlite3 "file:$STATE/workspaces/w/workspace.db?mode=ro" \
    "SELECT count(*) FROM audit WHERE source='exec' AND rule='start'")
m=$(sqlite3 "file:$STATE/workspaces/w/workspace.db?mode=ro" \
    "SELECT count(*) FROM audit WHERE source='exec' AND (rule LIKE 'exit:%' OR rule LIKE 'limit:%' OR rule LIKE 'signal:%')")
expect_eq "every exec has its start and end events" "$n" "$m"
expect_eq "and there were many" 1 "$([ "$n" -ge 15 ] && echo 1 || echo "0 ($n)")"
expect_match "the end event records the usage" 'exit:0 wall_ms:[0-9]+ cpu_ms:[0-9]+ peak_memory:[0-9]+' \
    "$(sqlite3 "file:$STATE/workspaces/w/workspace.db?mode=ro" "SELECT group_concat(rule, '|') FROM audit WHERE source='exec'")"
expect_match "the end event records the redactions" 'redacted:[1-9]' \
    "$(sqlite3 "file:$STATE/workspaces/w/workspace.db?mode=ro" "SELECT group_concat(rule) FROM audit WHERE source='exec'")"
ex reader '{"argv":["true"]}'
expect_eq "Reader lacks exec" 403 "$CODE"
ex dev '{"argv":["cat","/workspace/file"]}' elsewhere
expect_eq "in another workspace the command sees that one" "elsewhere's file" "$(jget "$BODY" stdout)"
ex dev2 '{"argv":["true"]}' elsewhere
expect_eq "an agent without a grant" 404 "$CODE"
ex dev '{"argv":[]}'
expect_eq "empty argv" 400 "$CODE"
ex dev '{"argv":["true"],"cwd":"../.."}'
expect_eq "cwd with .." 400 "$CODE"
ex dev '{"argv":["true"],"user":"root"}'
expect_eq "unknown field" 400 "$CODE"
ex dev '{"argv":"true"}'
expect_eq "argv not an array" 400 "$CODE"
bgx() {
	curl -sS --max-time 60 --cacert "$PKI/ca.pem" --cert "$PKI/dev.pem" \
	    --key "$PKI/dev.key" -H 'Content-Type: application/json' \
	    --data-binary '{"argv":["sleep","8"]}' -o "$SN_TMP/bg$1" \
	    -w '%{http_code}' "$URL/v1/workspaces/w/tools/exec" >"$SN_TMP/bg$1.code" 2>&1
}
bgx 1 & p1=$!
bgx 2 & p2=$!
got=none
for _ in $(seq 1 14); do
	sleep 0.5
	ex dev '{"argv":["true"]}'
	if [ "$CODE" = 429 ]; then
		got=429
		break
	fi
done
expect_eq "a third exec while exec_max = 2 run" 429 "$got"
expect_eq "its error code" too_many_requests "$(jget "$BODY" error.code)"
wait "$p1" "$p2" || true
expect_eq "the two that ran" "200 200" "$(cat "$SN_TMP/bg1.code") $(cat "$SN_TMP/bg2.code")"

section "sentinel exec"
RC=0
OUT=$(SENTINEL_SERVER=$URL SENTINEL_CACERT=$PKI/ca.pem SENTINEL_CERT=$PKI/dev.pem \
    SENTINEL_KEY=$PKI/dev.key XDG_CONFIG_HOME=$SN_TMP/xdg \
    "$SN_SENTINEL" exec --workspace w -- sh -c 'echo out; echo err >&2; exit 3' 2>"$SN_TMP/e") || RC=$?
expect_eq "stdout" out "$OUT"
expect_eq "stderr" err "$(cat "$SN_TMP/e")"
expect_eq "the command's exit status" 3 "$RC"

sn_stop "$SN_PID"
sn_done
