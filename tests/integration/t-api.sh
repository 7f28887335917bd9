#!/bin/bash
# t-api: the control API over real mutual TLS on loopback (docs/api.md):
# identity (every bad certificate refused with 401), RBAC, tenancy, strict
# input, tools through the same policy and locks as the views, locks both
# ways between the API and a view, workspaces made by cloning, views made
# through the API, audit queries and verification, health and metrics,
# the plain loopback listener with its bearer token.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# many TLS handshakes: slow under valgrind and the sanitizers
: "${SN_TEST_TIMEOUT:=1200}"
export SN_TEST_TIMEOUT
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
command -v curl >/dev/null || sn_skip_all "curl is missing"
command -v openssl >/dev/null || sn_skip_all "openssl is missing"
command -v git >/dev/null || sn_skip_all "git is missing"
command -v sqlite3 >/dev/null || sn_skip_all "sqlite3 is missing"
sn_tmp

PKI=$SN_TMP/pki
bash "$SN_SRCDIR/tests/helpers/mkcerts.sh" "$PKI" >"$SN_TMP/mkcerts.log" 2>&1 ||
	sn_bail "mkcerts.sh failed: $(tail -3 "$SN_TMP/mkcerts.log")"

P=$(sn_free_port)
O=$(sn_free_port)
PL=$(sn_free_port)
STATE=$SN_TMP/state
A=$SN_TMP/alpha
B=$SN_TMP/beta
mkdir -p "$A/src" "$A/docs" "$A/secrets" "$B" "$SN_TMP/mdev" "$SN_TMP/mdev2"
echo 'int main(void) { return 0; }' >"$A/src/main.c"
echo 'the manual' >"$A/docs/manual.md"
echo 'hunter2' >"$A/secrets/key"
echo 'beta secret' >"$B/secret"
ln -s ../../beta/secret "$A/src/escape"
ln -s ../secrets/key "$A/src/tokey"
head -c 2048 /dev/zero >"$A/zeros.bin"
printf 'sidecar-token-0123456789abcdef\n' >"$SN_TMP/token"
chmod 600 "$SN_TMP/token"

cat >"$SN_TMP/sentinel.conf" <<EOF
[server]
state_dir = $STATE

[api]
listen = 127.0.0.1:$P
ops_listen = 127.0.0.1:$O
cert = $PKI/server.pem
key = $PKI/server.key
client_ca = $PKI/ca.pem
crl = $PKI/crl.pem
plain_listen = 127.0.0.1:$PL
token_file = $SN_TMP/token
plain_agent = dev
max_body = 1M

[role "Admin"]
permissions = admin, read_logs

[workspace "alpha"]
root = $A
agents = dev, dev2, auditor, reader
deny = secrets/**
readonly = docs/**
max_file_size = 64K

[workspace "beta"]
root = $B
agents = nobody-else

[view "alpha-dev"]
workspace = alpha
agent = dev
mountpoint = $SN_TMP/mdev

[view "alpha-dev2"]
workspace = alpha
agent = dev2
mountpoint = $SN_TMP/mdev2
EOF
sn_serve "$SN_TMP/sentinel.conf"
sn_wait_for 20 curl -fsS "http://127.0.0.1:$O/healthz" -o /dev/null ||
	sn_bail "the ops listener does not answer: $(sn__log_tail "$SN_PID")"

URL=https://127.0.0.1:$P
# api CERT METHOD PATH [BODY [CONTENT-TYPE]]: sets CODE and BODY.
api() {
	local who=$1 method=$2 path=$3 data=${4-} ctype=${5:-application/json}
	local args=(-sS --max-time 30 --cacert "$PKI/ca.pem" -o "$SN_TMP/body"
		-w '%{http_code}' -X "$method")
	[ "$who" = none ] || args+=(--cert "$PKI/$who.pem" --key "$PKI/$who.key")
	[ -z "$data" ] || args+=(-H "Content-Type: $ctype" --data-binary "$data")
	CODE=$(curl "${args[@]}" "$URL$path" 2>"$SN_TMP/curl.err") || CODE=000
	BODY=$(cat "$SN_TMP/body" 2>/dev/null || true)
}
jget() { python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v.get(k)
print(v if not isinstance(v,(dict,list,bool)) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "?"; }
# expect_api DESC STATUS [CODE]: the last reply's status (and error code).
expect_api() {
	local want="$2${3:+ $3}" got="$CODE"
	[ -z "${3:-}" ] || got="$CODE $(jget "$BODY" error.code)"
	if [ "$want" = "$got" ]; then ok "$1 -> $want"; else fail "$1" "want: $want" "got: $got" "body: $BODY" "$(cat "$SN_TMP/curl.err")"; fi
}
tool() { api "$1" POST "/v1/workspaces/$2/tools/$3" "$4"; }

section "identity: the client certificate, verified by us"
api dev GET /v1/whoami
expect_api "dev: whoami" 200
expect_eq "agent from CN" dev "$(jget "$BODY" agent)"
expect_eq "role from OU" Dev "$(jget "$BODY" role)"
fp=$(openssl x509 -in "$PKI/dev.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
expect_eq "the credential is the certificate's SHA-256" "$fp" "$(jget "$BODY" credential)"
api none GET /v1/whoami
expect_api "no client certificate" 401 unauthenticated
for c in selfsigned otherca expired notyet revoked noclientauth noeku twoou \
    lower trailing smuggle smuggle2 nocn badcn cacert-as-client; do
	api "$c" GET /v1/whoami
	expect_api "certificate '$c'" 401 unauthenticated
done
RC=0
curl -sS --max-time 10 --tls-max 1.1 --cacert "$PKI/ca.pem" --cert "$PKI/dev.pem" \
    --key "$PKI/dev.key" "$URL/v1/whoami" -o /dev/null 2>/dev/null || RC=$?
expect_ne "TLS 1.1 is refused" 0 "$RC"
api dev GET /v1/workspaces/alpha
expect_api "after all that, dev still works" 200

section "authorization: one role table"
tool audit alpha edit_file '{"path":"src/main.c","old":"main","new":"evil"}'
expect_api "Audit calling edit_file" 403 forbidden
tool reader alpha write_file '{"path":"new.txt","content":"x"}'
expect_api "Reader calling write_file" 403 forbidden
check_fails "nothing was written" test -e "$A/new.txt"
tool reader alpha read_file '{"path":"src/main.c"}'
expect_api "Reader calling read_file" 200
api dev POST /v1/workspaces '{"repo":"/nonexistent"}'
expect_api "Dev making a workspace" 403 forbidden
api dev GET "/v1/workspaces/alpha/audit"
expect_api "Dev reading the audit trail" 403 forbidden

section "tenancy"
api dev GET /v1/workspaces/beta
expect_api "dev asks for beta (not granted)" 404 not_found
nogrant=$BODY
api dev GET /v1/workspaces/nonexistent
expect_api "dev asks for a workspace that does not exist" 404 not_found
expect_eq "both 404s say the same" "$(jget "$nogrant" error.message | sed 's/beta/X/')" \
    "$(jget "$BODY" error.message | sed 's/nonexistent/X/')"
tool dev beta read_file '{"path":"secret"}'
expect_api "dev reads a file of beta by id" 404 not_found
api dev GET /v1/workspaces
expect_eq "dev's list holds alpha only" '["alpha"]' \
    "$(python3 -c 'import json,sys; print(json.dumps([w["id"] for w in json.loads(sys.argv[1])["workspaces"]]))' "$BODY")"
tool dev alpha read_file '{"path":"../beta/secret"}'
expect_api "path traversal ../beta/secret" 400 bad_request
tool dev alpha read_file '{"path":"src/../../beta/secret"}'
expect_api "path traversal src/../../beta/secret" 400 bad_request
tool dev alpha read_file "{\"path\":\"$B/secret\"}"
expect_api "absolute path" 400 bad_request
tool dev alpha read_file '{"path":"src/escape"}'
expect_match "a symlink out of the root is refused" '^4' "$CODE"
[[ $BODY != *"beta secret"* ]] && ok "its content never comes back" || fail "beta's secret leaked" "$BODY"
tool dev alpha read_file '{"path":"src/tokey"}'
expect_api "a symlink to a denied file" 404 not_found
[[ $BODY != *hunter2* ]] && ok "the denied content never comes back" || fail "denied content leaked" "$BODY"
tool dev alpha read_file '{"path":"secrets/key"}'
expect_api "a denied path" 404 not_found

section "strict input, and nothing changes"
before=$(find "$A" -printf '%p %s %T@\n' | sort | md5sum)
tool dev alpha write_file '{"path":"x.txt","content":'
expect_api "bad JSON" 400 bad_request
tool dev alpha write_file '{"path":"x.txt","content":42}'
expect_api "wrong type" 400 bad_request
tool dev alpha write_file '{"path":"x.txt","content":"a","mode":"0777"}'
expect_api "unknown field" 400 bad_request
tool dev alpha write_file '["x.txt"]'
expect_api "not an object" 400 bad_request
tool dev alpha write_file '{"path":"x\u0000.txt","content":"a"}'
expect_api "NUL in a path" 400 bad_request
tool dev alpha write_file "$(printf '{"path":"x\xff.txt","content":"a"}')"
expect_api "bad UTF-8 in a path" 400 bad_request
tool dev alpha write_file '{"path":"/x.txt","content":"a"}'
expect_api "absolute path on write" 400 bad_request
api dev POST /v1/workspaces/alpha/tools/write_file '{"path":"x.txt","content":"a"}' text/plain
expect_api "text/plain body" 415 unsupported_media_type
python3 -c 'import json; print(json.dumps({"path":"x.txt","content":"a"*(1100*1024)}))' >"$SN_TMP/big.json"
api dev POST /v1/workspaces/alpha/tools/write_file "@$SN_TMP/big.json"
expect_api "a body over max_body" 413 too_large
python3 -c 'import json; print(json.dumps({"path":"x.txt","content":"a"*(100*1024)}))' >"$SN_TMP/mid.json"
api dev POST /v1/workspaces/alpha/tools/write_file "@$SN_TMP/mid.json"
expect_api "a file over max_file_size" 413 too_large
tool dev alpha frobnicate '{"path":"x.txt"}'
expect_api "unknown tool" 404 not_found
api dev PUT /v1/workspaces/alpha/tools/read_file '{"path":"x"}'
expect_api "wrong method" 405 method_not_allowed
api dev GET /v1/nothing
expect_api "unknown route" 404 not_found
expect_eq "the workspace is unchanged after every refusal" "$before" \
    "$(find "$A" -printf '%p %s %T@\n' | sort | md5sum)"

section "tools, and the views see their changes at once"
expect_eq "the view shows the old file" 'int main(void) { return 0; }' "$(cat "$SN_TMP/mdev2/src/main.c")"
tool dev alpha write_file '{"path":"src/main.c","content":"int main(void) { return 1; }\n"}'
expect_api "write_file" 200
expect_eq "the other agent's view sees it at once" 'int main(void) { return 1; }' "$(cat "$SN_TMP/mdev2/src/main.c")"
tool dev alpha read_file '{"path":"src/main.c"}'
expect_eq "read_file" 'int main(void) { return 1; }' "$(jget "$BODY" content | head -1)"
tool dev alpha edit_file '{"path":"src/main.c","old":"return 1","new":"return 2"}'
expect_api "edit_file" 200
expect_eq "edited, seen in the view" 'int main(void) { return 2; }' "$(cat "$SN_TMP/mdev/src/main.c")"
tool dev alpha edit_file '{"path":"src/main.c","old":"no such text","new":"x"}'
expect_api "edit_file, old text absent" 422 no_match
tool dev alpha write_file '{"path":"twice.txt","content":"aa aa"}'
tool dev alpha edit_file '{"path":"twice.txt","old":"aa","new":"b"}'
expect_api "edit_file, old text twice" 422 ambiguous
tool dev alpha list_dir '{"path":""}'
expect_api "list_dir" 200
[[ $BODY != *secrets* ]] && ok "list_dir leaves out the denied directory" || fail "list_dir shows secrets" "$BODY"
tool dev alpha read_file '{"path":"zeros.bin"}'
expect_eq "binary content comes back base64" base64 "$(jget "$BODY" encoding)"
tool dev alpha stat '{"path":"src/main.c"}'
expect_eq "stat" file "$(jget "$BODY" type)"
tool dev alpha search '{"pattern":"return 2"}'
expect_eq "search finds the edit" src/main.c "$(jget "$BODY" matches.0.path)"
tool dev alpha search '{"pattern":"hunter"}'
expect_eq "search never looks into denied files" '[]' "$(jget "$BODY" matches)"
tool dev alpha write_file '{"path":"docs/manual.md","content":"defaced"}'
expect_api "write to a readonly path" 403 readonly
tool dev alpha write_file '{"path":"secrets/new","content":"x"}'
expect_api "write to a denied path" 404 not_found
tool dev alpha move '{"from":"twice.txt","to":"src/twice.txt"}'
expect_api "move" 200
check "moved, seen in the view" test -f "$SN_TMP/mdev2/src/twice.txt"
check_fails "the old name is gone in the view" test -e "$SN_TMP/mdev2/twice.txt"
tool dev alpha delete '{"path":"src/twice.txt"}'
expect_api "delete" 200
check_fails "deleted, gone in the view" test -e "$SN_TMP/mdev2/src/twice.txt"

section "locks: the API's and the views' are one table"
api dev POST /v1/workspaces/alpha/locks '{"path":"src/main.c","ttl_s":60}'
expect_api "dev locks src/main.c" 201
lock=$(jget "$BODY" id)
token=$(jget "$BODY" token)
expect_match "a fencing token" '^[0-9]+$' "$token"
tool dev2 alpha write_file '{"path":"src/main.c","content":"dev2 was here"}'
expect_api "dev2 writes it through the API" 409 locked
expect_eq "the 409 names the holder" dev "$(jget "$BODY" error.holder)"
RC=0
(echo "dev2 was here" >"$SN_TMP/mdev2/src/main.c") 2>"$SN_TMP/err" || RC=$?
expect_ne "dev2 writes it through its view: refused" 0 "$RC"
expect_match "with EBUSY" 'busy' "$(cat "$SN_TMP/err")"
tool dev alpha write_file '{"path":"src/main.c","content":"int main(void) { return 3; }\n"}'
expect_api "the holder writes it" 200
api dev2 POST /v1/workspaces/alpha/locks '{"path":"src","ttl_s":60,"subtree":true}'
expect_api "dev2 locks the subtree around it" 409 locked
api dev2 DELETE "/v1/workspaces/alpha/locks/$lock"
expect_api "dev2 releases dev's lock" 403 forbidden
api dev POST "/v1/workspaces/alpha/locks/$lock/renew" '{"ttl_s":120}'
expect_api "dev renews it" 200
api dev GET /v1/workspaces/alpha/locks
expect_eq "it is listed" src/main.c "$(jget "$BODY" locks.0.path)"
api dev DELETE "/v1/workspaces/alpha/locks/$lock"
expect_api "dev releases it" 200
tool dev2 alpha write_file '{"path":"src/main.c","content":"int main(void) { return 4; }\n"}'
expect_api "then dev2 may write" 200
# a write lease taken through a view blocks the API
exec {fd}>>"$SN_TMP/mdev2/src/main.c"
tool dev alpha write_file '{"path":"src/main.c","content":"x"}'
expect_api "dev2 holds it open for writing in its view; dev's API write" 409 locked
exec {fd}>&-
sleep 0.3
tool dev alpha write_file '{"path":"src/main.c","content":"int main(void) { return 5; }\n"}'
expect_api "after dev2's close, dev's write" 200
# the lease covers the file under every name: a hard link is no way round
ln "$SN_TMP/mdev2/src/main.c" "$SN_TMP/mdev2/src/main-link.c"
exec {fd}>>"$SN_TMP/mdev2/src/main.c"
tool dev alpha write_file '{"path":"src/main-link.c","content":"x"}'
expect_api "dev2 holds main.c open for writing; dev's API write to its hard link" 409 locked
tool dev alpha edit_file '{"path":"src/main-link.c","old":"return 5","new":"return 6"}'
expect_api "... dev's edit of the link" 409 locked
tool dev alpha delete '{"path":"src/main-link.c"}'
expect_api "... dev's delete of the link" 409 locked
tool dev alpha move '{"from":"src/main-link.c","to":"moved.c"}'
expect_api "... dev's move of the link" 409 locked
expect_eq "the file is unchanged, with both names" "int main(void) { return 5; } 2" \
    "$(cat "$SN_TMP/mdev2/src/main-link.c") $(stat -c %h "$SN_TMP/mdev2/src/main.c")"
exec {fd}>&-
sleep 0.3
tool dev alpha delete '{"path":"src/main-link.c"}'
expect_api "after dev2's close, dev deletes the link" 200

section "workspaces made by cloning, grants, views"
R=$SN_TMP/repo
git init -q "$R"
echo "cloned content" >"$R/file.txt"
git -C "$R" add file.txt
git -C "$R" -c user.email=t@e -c user.name=t commit -qm one
api admin POST /v1/workspaces "{\"id\":\"gamma\",\"repo\":\"$R\"}"
expect_api "admin clones a local repo" 201
expect_eq "it holds the repo's file" "cloned content" "$(cat "$STATE/workspaces/gamma/root/file.txt" 2>&1)"
expect_eq "its files belong to the user its commands run as" "65534 65534" \
    "$(stat -c '%u %g' "$STATE/workspaces/gamma/root/file.txt" 2>&1)"
check_fails "no hook is installed in the clone" test -n "$(ls "$STATE/workspaces/gamma/root/.git/hooks" 2>/dev/null)"
api admin POST /v1/workspaces "{\"id\":\"gamma\",\"repo\":\"$R\"}"
expect_api "the same id again" 409 conflict
api admin POST /v1/workspaces '{"id":"delta","repo":"--upload-pack=touch /tmp/pwned"}'
expect_api "a repo that is an option" 400 bad_request
api admin POST /v1/workspaces '{"id":"delta","repo":"ext::sh -c touch% /tmp/pwned"}'
expect_api "a remote helper" 400 bad_request
api admin POST /v1/workspaces '{"id":"delta","repo":"/nonexistent/repo"}'
expect_api "a repo that is not there" 422 clone_failed
check_fails "nothing half-made is left" test -e "$STATE/workspaces/delta"
api admin POST /v1/workspaces '{"id":"../x","repo":"/tmp"}'
expect_api "a bad id" 400 bad_request
api dev GET /v1/workspaces/gamma
expect_api "dev has no grant on gamma" 404 not_found
api admin POST /v1/workspaces/gamma/grants '{"agent":"dev"}'
expect_api "admin grants it" 201
tool dev gamma read_file '{"path":"file.txt"}'
expect_eq "now dev reads it" "cloned content" "$(jget "$BODY" content | head -1)"
api admin POST /v1/workspaces/gamma/views '{"agent":"dev","role":"Reader"}'
expect_api "admin mounts a view of gamma for dev" 201
mp=$(jget "$BODY" mountpoint)
expect_eq "the view serves the clone" "cloned content" "$(cat "$mp/file.txt" 2>&1)"
RC=0
(echo x >"$mp/new") 2>/dev/null || RC=$?
expect_ne "the Reader view refuses a write" 0 "$RC"
api admin DELETE /v1/workspaces/gamma/views/dev
expect_api "admin unmounts it" 200
check_fails "it is unmounted" sn_is_mounted "$mp"
api admin DELETE /v1/workspaces/gamma/grants/dev
expect_api "admin revokes the grant" 200
tool dev gamma read_file '{"path":"file.txt"}'
expect_api "dev lost gamma" 404 not_found
api admin DELETE /v1/workspaces/alpha
expect_api "a config workspace cannot be deleted" 409 conflict
api admin DELETE /v1/workspaces/gamma
expect_api "admin deletes gamma" 200
api admin GET /v1/workspaces/gamma
expect_api "gamma is gone" 404 not_found
check "its trail is kept in the trash" sh -c "ls -d '$STATE'/trash/gamma.*/workspace.db"

section "audit: every request, one chain per workspace, one for the server"
api audit GET '/v1/workspaces/alpha/audit?since=0&limit=10000'
expect_api "Audit lists alpha's trail" 200
python3 - "$BODY" "$fp" >"$SN_TMP/audit.check" <<'PY' || true
import json, sys
ev = json.loads(sys.argv[1])["events"]
fp = sys.argv[2]
def find(**kw):
    return [e for e in ev if all(e.get(k) == v for k, v in kw.items())]
print("denied-edit", len(find(op="edit_file", agent="auditor", role="Audit", status=403, result="denied")))
print("write-ok", len(find(op="write_file", agent="dev", auth=fp, status=200, result="ok", source="api")))
print("lock-409", len(find(op="write_file", agent="dev2", status=409)))
print("fs-ebusy", len(find(source="fs", agent="dev2", result="denied")))
PY
expect_match "Audit's denied edit_file is recorded (403)" '^denied-edit [1-9]' "$(grep denied-edit "$SN_TMP/audit.check")"
expect_match "dev's writes carry agent, role, fingerprint, status" '^write-ok [1-9]' "$(grep write-ok "$SN_TMP/audit.check")"
expect_match "the 409 is recorded" '^lock-409 [1-9]' "$(grep lock-409 "$SN_TMP/audit.check")"
expect_match "the view's EBUSY is in the same trail" '^fs-ebusy [1-9]' "$(grep fs-ebusy "$SN_TMP/audit.check")"
api audit GET /v1/workspaces/alpha/audit/verify
expect_eq "alpha's chain verifies" True "$(jget "$BODY" ok | sed 's/true/True/')"
api admin GET '/v1/audit?limit=10000'
expect_api "admin (read_logs) lists the server chain" 200
expect_match "the failed authentications are in it" '"op":"authenticate"' "$BODY"
expect_match "the workspace administration is in it" '"op":"ws_create"' "$BODY"
api admin GET /v1/audit/verify
expect_eq "the server chain verifies" True "$(jget "$BODY" ok | sed 's/true/True/')"
api audit GET /v1/audit
expect_api "Audit without admin reads the server chain" 403 forbidden

section "health, readiness, metrics; the ops listener serves nothing else"
expect_eq "healthz" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$O/healthz")"
expect_eq "readyz" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$O/readyz")"
m=$(curl -sS "http://127.0.0.1:$O/metrics")
expect_match "requests by route and status" 'sentinel_api_requests_total\{route="tool",status="200"\} [0-9]+' "$m"
expect_match "latency histogram" 'sentinel_api_request_duration_seconds_bucket\{route="tool",le="\+Inf"\}' "$m"
expect_match "auth failures" 'sentinel_api_auth_failures_total [1-9]' "$m"
expect_match "denials" 'sentinel_api_denials_total [1-9]' "$m"
expect_match "audit queue depth" 'sentinel_audit_queue_depth [0-9]+' "$m"
expect_match "FUSE operations by op" 'sentinel_fs_requests_total\{op="lookup"\} [1-9]' "$m"
expect_match "file denials" 'sentinel_fs_denials_total [1-9]' "$m"
expect_eq "the ops listener has no /v1" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$O/v1/whoami")"
RC=0
curl -sS --max-time 5 "http://127.0.0.1:$P/healthz" -o /dev/null 2>/dev/null || RC=$?
expect_ne "plain HTTP on the TLS port fails" 0 "$RC"

section "the CLI against the server"
cli() {
	RC=0
	OUT=$(SENTINEL_SERVER=$URL SENTINEL_CACERT=$PKI/ca.pem \
		SENTINEL_CERT=$PKI/$1.pem SENTINEL_KEY=$PKI/$1.key \
		XDG_CONFIG_HOME=$SN_TMP/xdg "$SN_SENTINEL" "${@:2}" 2>"$SN_TMP/cli.err") || RC=$?
	ERR=$(cat "$SN_TMP/cli.err")
}
cli dev ws list
expect_eq "sentinel ws list: exit 0" 0 "$RC${ERR:+ ($ERR)}"
expect_match "it lists alpha" alpha "$OUT"
cli dev tool --workspace alpha read_file src/main.c
expect_eq "sentinel tool read_file prints the content" 'int main(void) { return 5; }' "$OUT"
cli dev tool --workspace alpha write_file cli.txt --content "from the cli"
expect_eq "sentinel tool write_file: exit 0" 0 "$RC${ERR:+ ($ERR)}"
expect_eq "written, seen in the view" "from the cli" "$(cat "$SN_TMP/mdev2/cli.txt")"
cli dev tool --workspace alpha read_file secrets/key
expect_eq "a denied path: exit 1" 1 "$RC"
expect_match "the error says 404 not_found" '404 not_found' "$ERR"
cli dev lock acquire --workspace alpha cli.txt --ttl 60 -o json
expect_eq "sentinel lock acquire: exit 0" 0 "$RC${ERR:+ ($ERR)}"
clid=$(jget "$OUT" id)
cli dev2 tool --workspace alpha write_file cli.txt --content "dev2"
expect_eq "dev2's write of the locked file: exit 1" 1 "$RC"
expect_match "the error names the 409 and the holder" '409 locked.*dev' "$ERR"
cli dev lock list --workspace alpha
expect_match "sentinel lock list shows it" 'cli.txt' "$OUT"
cli dev lock release --workspace alpha "$clid"
expect_eq "sentinel lock release: exit 0" 0 "$RC${ERR:+ ($ERR)}"
cli audit audit list --workspace alpha -o json
expect_eq "sentinel audit list --server: exit 0" 0 "$RC${ERR:+ ($ERR)}"
expect_match "it shows the CLI's write" '"op":"write_file".*"path":"cli.txt"' "$OUT"
cli audit audit verify --workspace alpha
expect_eq "sentinel audit verify --server: exit 0" 0 "$RC${ERR:+ ($ERR)}"
cli dev ws show beta
expect_eq "sentinel ws show of an ungranted workspace: exit 1" 1 "$RC"

section "the plain loopback listener: bearer token only"
pl() { CODE=$(curl -sS --max-time 10 -o "$SN_TMP/body" -w '%{http_code}' "$@" 2>/dev/null) || CODE=000; BODY=$(cat "$SN_TMP/body"); }
pl "http://127.0.0.1:$PL/v1/whoami"
expect_api "no token" 401 unauthenticated
pl -H "Authorization: Bearer wrong-token-0123456789" "http://127.0.0.1:$PL/v1/whoami"
expect_api "a wrong token" 401 unauthenticated
pl -H "Authorization: Bearer sidecar-token-0123456789abcdef" "http://127.0.0.1:$PL/v1/whoami"
expect_api "the token" 200
expect_eq "it is the configured agent" dev "$(jget "$BODY" agent)"

sn_stop "$SN_PID"

section "chaos on the API: every change fails as configured, reads never"
for kind in timeout:504:timeout disk_full:507:disk_full; do
	IFS=: read -r errs status code <<<"$kind"
	C=$SN_TMP/chaos-$errs
	mkdir -p "$C/root" "$C/mnt"
	P=$(sn_free_port)
	O=$(sn_free_port)
	cat >"$C/sentinel.conf" <<EOF
[server]
state_dir = $C/state
[api]
listen = 127.0.0.1:$P
ops_listen = 127.0.0.1:$O
cert = $PKI/server.pem
key = $PKI/server.key
client_ca = $PKI/ca.pem
[chaos]
rate = 1
errors = $errs
scope = api
[workspace "c"]
root = $C/root
agents = dev
[view "c"]
workspace = c
agent = dev
mountpoint = $C/mnt
EOF
	echo data >"$C/root/f"
	sn_serve "$C/sentinel.conf"
	sn_wait_for 20 curl -fsS "http://127.0.0.1:$O/readyz" -o /dev/null || fail "chaos server ready"
	URL=https://127.0.0.1:$P
	tool dev c write_file '{"path":"f","content":"changed"}'
	expect_api "chaos $errs: write_file" "$status" "$code"
	expect_eq "chaos $errs: nothing changed" data "$(cat "$C/root/f")"
	tool dev c read_file '{"path":"f"}'
	expect_api "chaos $errs: read_file still works" 200
	expect_eq "chaos $errs: the fault is audited as injected" 1 \
	    "$(sqlite3 "file:$C/state/workspaces/c/workspace.db?mode=ro" \
		"SELECT count(*) FROM audit WHERE op='write_file' AND injected=1 AND status=$status")"
	sn_stop "$SN_PID"
done
sn_done
