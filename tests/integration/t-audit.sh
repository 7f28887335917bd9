#!/bin/bash
# t-audit.sh - the audit trail of the views (docs/audit.md):
#   - the key file <state_dir>.audit-key is made on the first start, 0600,
#     outside the state dir;
#   - every change through a view (create, write with the bytes summed at
#     release, mkdir, mknod, rename with both paths, chmod/utimes,
#     truncate, setxattr, removexattr, symlink, link, unlink, rmdir) is
#     one event attributed to the view's agent, with the path it was made
#     on; every open is an "open" event; every refusal is a "denied" event
#     with its errno and the rule (deny:, readonly:, role ... lacks
#     edit_file, lock:);
#   - `sentinel audit list -o json` fields, --workspace, --since;
#   - `sentinel audit verify` is 0/ok on an intact trail and exits 1
#     naming the first bad seq for every kind of tampering (edited field,
#     edited hash, deleted row, deleted tail, swapped rows, appended row,
#     emptied table, deleted head, wrong key), each on a fresh copy;
#   - kill -9 of `sentinel serve` under load: every file whose fsync
#     returned is there with its content, its create event and its write
#     event with the bytes, the trail
#     verifies before and after a restart, and the chain goes on;
#   - fail closed: when the trail cannot be written, changes are refused
#     (EIO) and reads go on; audit_fail_open = true lets changes through;
#     once the trail is writable again, changes work and it verifies.
# shellcheck disable=SC2012,SC2016,SC2119,SC2120
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_is_sentinel || sn_skip_all "the audit trail needs sentinel itself (SN_MOUNT_CMD is set)"
command -v python3 >/dev/null 2>&1 || sn_skip_all "needs python3"
sn_tmp
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root ROOT2=$SN_TMP/root2 STATE=$SN_TMP/state KEY=$SN_TMP/state.audit-key
A=$SN_TMP/alice B=$SN_TMP/bob R=$SN_TMP/rita Z=$SN_TMP/zed
mkdir -p "$ROOT/.git" "$ROOT2" "$A" "$B" "$R" "$Z"
echo "TOPSECRET" >"$ROOT/key.pem"
echo "[core]" >"$ROOT/.git/config"
echo "two names" >"$ROOT/m1"
ln "$ROOT/m1" "$ROOT/m2"
T0=$(date +%s)

CFG=$SN_TMP/audit.ini
cat >"$CFG" <<EOF
[server]
state_dir = $STATE
[workspace "w"]
root = $ROOT
deny = *.pem
readonly = .git/**
[workspace "w2"]
root = $ROOT2
audit_fail_open = true
[view "a"]
workspace = w
agent = alice
mountpoint = $A
[view "b"]
workspace = w
agent = bob
mountpoint = $B
[view "r"]
workspace = w
agent = rita
role = Reader
mountpoint = $R
[view "z"]
workspace = w2
agent = zed
mountpoint = $Z
EOF

out() { "$@" 2>&1 || true; }

# ---- reading the trail -----------------------------------------------------------
AUDIT=$SN_TMP/audit.jsonl
cat >"$SN_TMP/q.py" <<'EOF'
# q.py FILE COND [FMT]: the events of FILE (JSON lines) for which the
# Python expression COND (over e) is true, one compact line each
import json, sys
path, cond = sys.argv[1], sys.argv[2]
n = 0
for line in open(path, encoding="utf-8", errors="replace"):
    line = line.strip()
    if not line:
        continue
    try:
        e = json.loads(line)
    except ValueError:
        print("UNPARSABLE: " + line)
        continue
    try:
        hit = eval(cond, {"re": __import__("re")}, {"e": e})
    except Exception as x:
        hit = False
    if hit:
        print("seq=%s agent=%s op=%s path=%r path2=%r result=%s errno=%s rule=%r bytes=%s injected=%s" % (
            e.get("seq"), e.get("agent"), e.get("op"), e.get("path"), e.get("path2"),
            e.get("result"), e.get("errno"), e.get("rule"), e.get("bytes"), e.get("injected")))
EOF
# dump [STATE]: the whole trail, as JSON lines, into $AUDIT
dump() {
	"$SN_SENTINEL" audit list --state-dir "${1:-$STATE}" -o json >"$AUDIT" 2>"$AUDIT.err" || true
}
q() { python3 "$SN_TMP/q.py" "$AUDIT" "$1"; }
recent() { q True | tail -n "${1:-12}"; }
# expect_event DESC COND: at least one event matches COND (waits up to 3 s:
# opens and denials are queued, not waited for)
expect_event() {
	local desc=$1 cond=$2 got
	for _ in $(seq 1 15); do
		dump
		got=$(q "$cond")
		[ -z "$got" ] || break
		sleep 0.2
	done
	if [ -n "$got" ]; then
		ok "$desc: $(printf '%s\n' "$got" | sed -n 1p)"
	else
		fail "$desc" "no event matches: $cond" "the last events:" "$(recent)" \
		    "$(cat "$AUDIT.err")"
	fi
}
# count COND: how many events match (on a fresh dump)
count() { dump; q "$1" | wc -l; }
# expect_count DESC COND N: exactly N events match (waits for N, then
# makes sure no more come)
expect_count() {
	local desc=$1 cond=$2 want=$3 n
	for _ in $(seq 1 15); do
		n=$(count "$cond")
		[ "$n" -lt "$want" ] || break
		sleep 0.2
	done
	sleep 0.3
	n=$(count "$cond")
	if [ "$n" -eq "$want" ]; then
		ok "$desc ($n)"
	else
		fail "$desc" "want $want events matching: $cond" "got $n:" "$(q "$cond" | tail -n 12)"
	fi
}
AL='e["agent"] == "alice" and e["workspace"] == "w" and e["source"] == "fs"'
OK_="$AL"' and e["result"] == "ok" and e["errno"] == 0'

sn_serve "$CFG"

section "the audit key"
check "$KEY exists after the first start" test -f "$KEY"
expect_eq "it is mode 0600, owned by root" "600 0" "$(out stat -c '%a %u' "$KEY")"
sz=$(stat -c %s "$KEY" 2>/dev/null || echo 0)
expect_match "it holds 32 bytes (or 64 hex digits)" '^(32|64|65)$' "$sz"
expect_eq "no key file inside the state dir" "" \
    "$(find "$STATE" -name '*key*' 2>/dev/null)"

section "a reader beside the running server does not disturb it"
check "create r1" "$PO" write "$A/r1" x
expect_event "create r1 is listed" 'e["op"] == "create" and e["path"] == "r1"'
check "create r2, after a reader ran" "$PO" write "$A/r2" x
expect_event "create r2 is listed by the next reader" 'e["op"] == "create" and e["path"] == "r2"'
rc=0
got=$("$SN_SENTINEL" audit verify --state-dir "$STATE" 2>&1) || rc=$?
expect_eq "verify beside the running server exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || note "$got"

section "one event per change, attributed to the view's agent"
check "create f1 (write 5 bytes)" "$PO" write "$A/f1" hello
expect_event "create f1" "$OK_"' and e["op"] == "create" and e["path"] == "f1"'
expect_event "write f1, 5 bytes at release" "$OK_"' and e["op"] == "write" and e["path"] == "f1" and e["bytes"] == 5'
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
for n in (100, 200, 300):
    os.write(fd, b"x" * n)
os.close(fd)' "$A/mw"
expect_count "three writes through one descriptor: one write event" \
    "$AL"' and e["op"] == "write" and e["path"] == "mw"' 1
expect_event "... with bytes summed (600)" "$OK_"' and e["op"] == "write" and e["path"] == "mw" and e["bytes"] == 600'
check "mkdir d" mkdir "$A/d"
expect_event "mkdir d" "$OK_"' and e["op"] == "mkdir" and e["path"] == "d"'
check "mknod fifo" "$PO" mknod-fifo "$A/fifo"
expect_event "mknod fifo" "$OK_"' and e["op"] in ("mknod", "create") and e["path"] == "fifo"'
check "rename f1 d/f2" mv "$A/f1" "$A/d/f2"
expect_event "rename f1 -> d/f2" "$OK_"' and e["op"] == "rename" and e["path"] == "f1" and e["path2"] == "d/f2"'
check "chmod d/f2" chmod 600 "$A/d/f2"
expect_event "chmod d/f2" "$OK_"' and e["op"] in ("setattr", "chmod") and e["path"] == "d/f2"'
check "utimes mw" "$PO" utimens "$A/mw" 1000 1000
expect_event "utimes mw" "$OK_"' and e["op"] in ("setattr", "utimens", "utimes") and e["path"] == "mw"'
check "truncate mw (truncate(2), no open)" "$PO" truncate "$A/mw" 10
expect_event "truncate mw" "$OK_"' and e["op"] in ("truncate", "setattr") and e["path"] == "mw"'
check "symlink d/sl -> f2" ln -s f2 "$A/d/sl"
expect_event "symlink d/sl" "$OK_"' and e["op"] == "symlink" and e["path"] == "d/sl"'
check "link d/f2 d/hl" ln "$A/d/f2" "$A/d/hl"
expect_event "link d/f2 -> d/hl (both paths)" "$OK_"' and e["op"] == "link" and sorted([e["path"], e["path2"]]) == ["d/f2", "d/hl"]'
check "unlink d/hl" rm "$A/d/hl"
expect_event "unlink d/hl" "$OK_"' and e["op"] == "unlink" and e["path"] == "d/hl"'
check "setxattr on d/f2 (after its second name d/hl is gone)" setfattr -n user.k -v v "$A/d/f2"
# the event names a name the file has now (d/hl was the last one used)
expect_event "setxattr d/f2 (the name left, not the one removed)" "$OK_"' and e["op"] == "setxattr" and e["path"] == "d/f2"'
check "removexattr on d/f2" setfattr -x user.k "$A/d/f2"
expect_event "removexattr d/f2" "$OK_"' and e["op"] == "removexattr" and e["path"] == "d/f2"'
expect_eq "no event after the unlink names d/hl" "" \
    "$(q "$AL"' and e["path"] == "d/hl" and e["op"] not in ("link", "unlink")')"
check "mkdir e; rmdir e" bash -c "mkdir '$A/e' && rmdir '$A/e'"
expect_event "rmdir e" "$OK_"' and e["op"] == "rmdir" and e["path"] == "e"'
check "bob creates b1" "$PO" write "$B/b1" bob
expect_event "create b1 by bob" 'e["agent"] == "bob" and e["op"] == "create" and e["path"] == "b1" and e["result"] == "ok"'
expect_eq "no event of bob's create is attributed to alice" "" \
    "$(q "$AL"' and e["path"] == "b1"')"

# m1, m2: one file with two names at start; alice's view only knows m1
python3 - "$A/m1" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])  # through the view: m1 goes, m2 stays
os.fchmod(fd, 0o600)    # a change through the descriptor
os.close(fd)
EOF
expect_event "fchmod through a descriptor of m1 after unlink m1: the event names m2" \
    "$OK_"' and e["op"] in ("setattr", "chmod") and e["path"] == "m2"'
expect_eq "m2 is there, 0600" "600 two names" "$(stat -c %a "$ROOT/m2") $(cat "$ROOT/m2")"
# names in two directories, through a link and a rename
check "n1/x: a file" bash -c "mkdir '$A/n1' '$A/n2' && echo x >'$A/n1/x'"
check "link n1/x n2/y" ln "$A/n1/x" "$A/n2/y"
check "rename n1/x n1/z" mv "$A/n1/x" "$A/n1/z"
python3 - "$A/n1/z" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
os.fchmod(fd, 0o640)
os.close(fd)
EOF
expect_event "fchmod after unlink n1/z: the event names n2/y, its other name" \
    "$OK_"' and e["op"] in ("setattr", "chmod") and e["path"] == "n2/y"'
# more names than a view keeps (8): 20 links, 19 of the names removed
python3 - "$A/n3" <<'EOF'
import os, sys
d = sys.argv[1]
os.mkdir(d)
base = os.path.join(d, "many")
with open(base, "w") as f:
    f.write("x\n")
for i in range(1, 21):
    os.link(base, "%s-%d" % (base, i))
fd = os.open(base, os.O_RDONLY)
os.unlink(base)
for i in range(1, 19):
    os.unlink("%s-%d" % (base, i))
os.fchmod(fd, 0o604)
os.close(fd)
EOF
expect_event "after 19 of its 21 names went, a change names one of the two left" \
    "$OK_"' and e["op"] in ("setattr", "chmod") and e["path"] in ("n3/many-19", "n3/many-20")'
expect_eq "... and no event names a removed one after its unlink" "" \
    "$(q "$AL"' and e["op"] in ("setattr", "chmod") and re.match("n3/many(-([1-9]|1[0-8]))?$", e["path"])')"

section "one open event per open"
n0=$(count "$AL"' and e["op"] == "open" and e["path"] == "d/f2"')
for _ in 1 2 3; do "$PO" cat "$A/d/f2" >/dev/null; done
expect_count "three opens of d/f2 by alice: three more open events" \
    "$AL"' and e["op"] == "open" and e["path"] == "d/f2"' $((n0 + 3))

section "every refusal is a denied event naming the rule"
expect_errno EACCES open "$A/x.pem" wronly,creat
expect_event "create x.pem: denied, EACCES, deny:*.pem" \
    "$AL"' and e["path"] == "x.pem" and e["result"] == "denied" and e["errno"] == 13 and e["rule"] == "deny:*.pem"'
expect_errno ENOENT open "$A/key.pem" rdonly
expect_event "open key.pem: denied, ENOENT, deny:*.pem" \
    "$AL"' and e["path"] == "key.pem" and e["result"] == "denied" and e["errno"] == 2 and e["rule"] == "deny:*.pem"'
expect_errno EROFS open "$A/.git/new" wronly,creat
expect_event "create .git/new: denied, EROFS, readonly:.git/**" \
    "$AL"' and e["path"] == ".git/new" and e["result"] == "denied" and e["errno"] == 30 and e["rule"] == "readonly:.git/**"'
expect_errno EROFS open "$R/by-rita" wronly,creat
expect_event "create by-rita (Reader): denied, EROFS, role ... lacks edit_file" \
    'e["agent"] == "rita" and e["path"] == "by-rita" and e["result"] == "denied" and e["errno"] == 30 and re.search("lacks edit_file", e["rule"])'
sn_bg bash -c 'exec 3>>"$1"; exec sleep 300' holder "$A/locked"
holder=$SN_BGPID
sn_wait_for 10 test -e "/proc/$holder/fd/3" || fail "alice's process holds 'locked' open"
expect_errno EBUSY open "$B/locked" wronly
expect_event "bob's write to alice's leased file: denied, EBUSY, lock:..." \
    'e["agent"] == "bob" and e["path"] == "locked" and e["result"] == "denied" and e["errno"] == 16 and e["rule"].startswith("lock")'
kill -KILL "$holder"
wait "$holder" 2>/dev/null || true

section "workspace w2 and the fields of 'audit list -o json'"
check "zed creates z1 in w2" "$PO" write "$Z/z1" zed
expect_event "create z1 by zed" 'e["agent"] == "zed" and e["workspace"] == "w2" and e["path"] == "z1" and e["op"] == "create"'
"$SN_SENTINEL" audit list --state-dir "$STATE" --workspace w2 -o json >"$SN_TMP/w2.jsonl"
expect_eq "--workspace w2 lists only w2's events" "" \
    "$(python3 "$SN_TMP/q.py" "$SN_TMP/w2.jsonl" 'e["workspace"] != "w2"')"
"$SN_SENTINEL" audit list --state-dir "$STATE" --workspace w -o json >"$SN_TMP/w.jsonl"
expect_eq "--workspace w has no event of zed" "" \
    "$(python3 "$SN_TMP/q.py" "$SN_TMP/w.jsonl" 'e["agent"] == "zed" or e["workspace"] != "w"')"
cat >"$SN_TMP/fields.py" <<'EOF'
import json, re, sys, time
t0, now = int(sys.argv[2]), time.time()
want = {"seq": int, "time": str, "workspace": str, "agent": str, "source": str,
        "op": str, "path": str, "path2": str, "result": str, "errno": int,
        "rule": str, "bytes": int, "injected": (bool, int), "hash": str}
bad, seqs = [], []
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
    except ValueError:
        bad.append("line %d is not JSON: %r" % (n, line[:100])); continue
    for k, t in want.items():
        if k not in e:
            bad.append("seq %s: no field %s" % (e.get("seq"), k))
        elif not isinstance(e[k], t):
            bad.append("seq %s: %s is %r" % (e.get("seq"), k, e[k]))
    if bad:
        break
    seqs.append(e["seq"])
    if e["source"] != "fs":
        bad.append("seq %d: source %r, not fs" % (e["seq"], e["source"]))
    if e["result"] not in ("ok", "denied", "error"):
        bad.append("seq %d: result %r" % (e["seq"], e["result"]))
    if (e["result"] == "ok") != (e["errno"] == 0):
        bad.append("seq %d: result %s with errno %d" % (e["seq"], e["result"], e["errno"]))
    if e["result"] == "denied" and not e["rule"]:
        bad.append("seq %d: a denial without a rule" % e["seq"])
    if not re.fullmatch(r"[0-9a-f]{64}", e["hash"]):
        bad.append("seq %d: hash %r" % (e["seq"], e["hash"]))
    if e["path"].startswith("/") or e["path2"].startswith("/") and e["op"] != "symlink":
        bad.append("seq %d: an absolute path %r %r" % (e["seq"], e["path"], e["path2"]))
    if "time_ns" in e and not (t0 - 5) * 10**9 <= e["time_ns"] <= (now + 5) * 10**9:
        bad.append("seq %d: time_ns %d is not during the test" % (e["seq"], e["time_ns"]))
    if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["time"]):
        bad.append("seq %d: time %r is not RFC 3339" % (e["seq"], e["time"]))
if not bad and seqs != list(range(1, len(seqs) + 1)):
    bad.append("seqs are not 1..%d in order: %s" % (len(seqs), seqs[:50]))
print("\n".join(bad[:20]))
EOF
expect_eq "every event of w has the fields, types and values wanted; seq 1..N gapless" "" \
    "$(python3 "$SN_TMP/fields.py" "$SN_TMP/w.jsonl" "$T0")"
N=$(wc -l <"$SN_TMP/w.jsonl")
expect_eq "--since 3 starts at seq 4" 4 \
    "$("$SN_SENTINEL" audit list --state-dir "$STATE" --workspace w --since 3 -o json 2>&1 | sed -n 1p |
	python3 -c 'import json,sys
try: print(json.loads(sys.stdin.read())["seq"])
except Exception as e: print("no JSON event: %r" % e)')"
expect_eq "text output: one line per event" "$N" \
    "$("$SN_SENTINEL" audit list --state-dir "$STATE" --workspace w | wc -l)"

section "audit verify on the live trail"
rc=0
got=$("$SN_SENTINEL" audit verify --state-dir "$STATE" 2>&1) || rc=$?
expect_eq "verify exits 0 while the server runs" 0 "$rc"
expect_match "... and says ok for w" 'workspace w: ok' "$got"
expect_match "... and for w2" 'workspace w2: ok' "$got"

sn_stop "$SN_PID"

# ---- tampering ---------------------------------------------------------------------
section "tampering with the stopped trail: verify exits 1 and names the first bad seq"
if ! command -v sqlite3 >/dev/null 2>&1; then
	skip "tampering" "no sqlite3"
else
	dump
	N=$(q 'e["workspace"] == "w"' | wc -l)
	[ "$N" -ge 12 ] || fail "the trail of w has at least 12 events to tamper with" "it has $N"
	FIRSTDENIED=$(q 'e["workspace"] == "w" and e["result"] == "denied"' | sed -n 's/^seq=\([0-9]*\).*/\1/p' | sed -n 1p) || true
	# tamper NAME WANTSEQ|- CMD: on a fresh copy of the state dir and key,
	# run CMD (with $DB and $ST set), then verify must exit 1 naming
	# WANTSEQ ("-": any message); w2, untouched, still verifies
	tamper() {
		local name=$1 want=$2 rc=0 got
		shift 2
		ST=$SN_TMP/tamper-$name
		DB=$ST/workspaces/w/workspace.db
		rm -rf "$ST" "$ST.audit-key"
		cp -a "$STATE" "$ST"
		cp -a "$KEY" "$ST.audit-key"
		if ! "$@" >"$SN_TMP/tamper.out" 2>&1; then
			fail "$name: tampering" "$(cat "$SN_TMP/tamper.out")"
			return 0
		fi
		got=$("$SN_SENTINEL" audit verify --state-dir "$ST" 2>&1) || rc=$?
		expect_eq "$name: verify exits 1" 1 "$rc"
		if [ "$want" = - ]; then
			expect_match "$name: says w is broken" 'workspace w: .*(broken|head|key|missing)' "$got"
		else
			expect_match "$name: names seq $want" "workspace w: chain broken at seq $want([^0-9]|\$)" "$got"
		fi
		if [ "$name" = wrong-key ]; then
			expect_match "$name: w2 (same key) is broken at seq 1 too" \
			    'workspace w2: chain broken at seq 1([^0-9]|$)' "$got"
		else
			expect_match "$name: w2 still verifies" 'workspace w2: ok' "$got"
		fi
	}
	sql() { sqlite3 "$DB" "$1"; }
	rc=0
	cp -a "$STATE" "$SN_TMP/copy" && cp -a "$KEY" "$SN_TMP/copy.audit-key"
	got=$("$SN_SENTINEL" audit verify --state-dir "$SN_TMP/copy" 2>&1) || rc=$?
	expect_eq "an untouched copy verifies (exit 0)" 0 "$rc"
	expect_match "... 'workspace w: ok: $N events'" "workspace w: ok: $N events" "$got"
	tamper edit-path 3 sql "UPDATE audit SET path = 'x' WHERE seq = 3"
	tamper edit-agent 7 sql "UPDATE audit SET agent = 'mallory' WHERE seq = 7"
	tamper edit-bytes 2 sql "UPDATE audit SET bytes = bytes + 1 WHERE seq = 2"
	tamper edit-time 9 sql "UPDATE audit SET time_ns = time_ns + 1 WHERE seq = 9"
	[ -z "$FIRSTDENIED" ] ||
	    tamper hide-denial "$FIRSTDENIED" sql "UPDATE audit SET result = 'ok', errno = 0, rule = '' WHERE seq = $FIRSTDENIED"
	tamper edit-hash 4 sql "UPDATE audit SET hash = zeroblob(32) WHERE seq = 4"
	tamper delete-middle 5 sql "DELETE FROM audit WHERE seq = 5"
	tamper truncate-tail $((N - 2)) sql "DELETE FROM audit WHERE seq > $((N - 3))"
	tamper truncate-last "$N" sql "DELETE FROM audit WHERE seq = $N"
	tamper swap-4-6 4 sql "UPDATE audit SET seq = -1 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = -1"
	tamper append-copy $((N + 1)) sql "INSERT INTO audit SELECT $((N + 1)), time_ns + 1, workspace, agent, source, op, path, path2, result, errno, rule, trace_id, bytes, injected, encoding_version, hash, role, auth, status FROM audit WHERE seq = $N"
	tamper empty-table 1 sql "DELETE FROM audit"
	tamper delete-head - rm -f "$SN_TMP/tamper-delete-head/workspaces/w/audit.head"
	tamper wrong-key 1 bash -c "head -c 32 /dev/urandom >'$SN_TMP/tamper-wrong-key.audit-key'"
fi

# ---- kill -9 under load -----------------------------------------------------------
section "kill -9 of 'sentinel serve' under load"
dump
LAST=$(q 'e["workspace"] == "w"' | tail -n 1 | sed 's/^seq=\([0-9]*\).*/\1/')
sn_bg "$SN_SENTINEL" serve --config "$CFG" >"$SN_TMP/crash.log" 2>&1
crash_pid=$SN_BGPID
for m in "$A" "$B" "$R" "$Z"; do
	sn_wait_for 10 sn_is_mounted "$m" || sn_bail "serve (to be killed) did not mount $m" "$(cat "$SN_TMP/crash.log")"
done
sn_wait_for 10 stat "$A" || sn_bail "serve (to be killed) does not answer"
mkdir "$A/load1" "$B/load2" "$A/churn"
cat >"$SN_TMP/load.py" <<'EOF'
# load.py DIR ACKLOG: create, write, fsync, close files in DIR until an
# error; after each fsync+close returned, log "name size" to ACKLOG
import os, sys
d, log = sys.argv[1], sys.argv[2]
i = 0
with open(log, "a") as L:
    while True:
        name = "f%05d" % i
        data = (("%s %d " % (name, i)) * (1 + i % 50)).encode()
        try:
            fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
        except OSError:
            sys.exit(0)
        L.write("%s %d\n" % (name, len(data)))
        L.flush()
        i += 1
EOF
sn_bg python3 "$SN_TMP/load.py" "$A/load1" "$SN_TMP/ack1"
w1=$SN_BGPID
sn_bg python3 "$SN_TMP/load.py" "$B/load2" "$SN_TMP/ack2"
w2=$SN_BGPID
sn_bg bash -c 'i=0; while mkdir "$1/d$i" 2>/dev/null && rmdir "$1/d$i" 2>/dev/null; do i=$((i+1)); done' churn "$A/churn"
w3=$SN_BGPID
# a reader beside the busy server: list and verify, again and again
sn_bg bash -c '
	while [ ! -e "$1/reader.stop" ]; do
		"$2" audit list --state-dir "$3" -o json >/dev/null 2>>"$1/reader.bad" ||
		    echo "list failed" >>"$1/reader.bad"
		out=$("$2" audit verify --state-dir "$3" 2>&1) ||
		    printf "verify: %s\n" "$out" >>"$1/reader.bad"
		echo x >>"$1/reader.runs"
	done' reader "$SN_TMP" "$SN_SENTINEL" "$STATE"
reader=$SN_BGPID
sleep 2
touch "$SN_TMP/reader.stop"
wait "$reader" 2>/dev/null || true
expect_eq "audit list and verify beside the busy server ($(wc -l <"$SN_TMP/reader.runs" 2>/dev/null || echo 0) runs): no failure, no false truncation" \
    "" "$(head -n 5 "$SN_TMP/reader.bad" 2>/dev/null)"
# gone PID: the process has exited (a zombie counts)
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
n1=$(wc -l <"$SN_TMP/ack1" 2>/dev/null || echo 0)
n2=$(wc -l <"$SN_TMP/ack2" 2>/dev/null || echo 0)
note "before the kill: $n1 + $n2 files written and fsync'ed"
check "the load runs (files were acknowledged)" test "$n1" -gt 0 -a "$n2" -gt 0
kill -KILL "$crash_pid"
wait "$crash_pid" 2>/dev/null || true
for p in "$w1" "$w2" "$w3"; do
	if ! sn_wait_for 10 gone "$p"; then
		fail "a load process ends when the server is gone" "pid $p still runs"
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
done
for m in "$A" "$B" "$R" "$Z"; do
	fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
done
check_fails "the dead views are unmounted" sn_is_mounted "$A"
rc=0
got=$("$SN_SENTINEL" audit verify --state-dir "$STATE" 2>&1) || rc=$?
expect_eq "verify right after the kill exits 0" 0 "$rc"
expect_match "... w ok" 'workspace w: ok' "$got"
[ "$rc" -eq 0 ] || note "$got"

sn_serve "$CFG"
ok "serve restarts on the state dir of the killed server"
# acked ACKLOG VIEWDIR ROOTDIR: every acknowledged file, with its content
acked() {
	python3 - "$@" <<'EOF'
import os, sys
log, view, root = sys.argv[1:4]
bad = []
for line in open(log):
    name, size = line.split()
    i = int(name[1:])
    want = (("%s %d " % (name, i)) * (1 + i % 50)).encode()
    for base in (root, view):
        try:
            got = open(os.path.join(base, name), "rb").read()
        except OSError as e:
            bad.append("%s/%s: %s" % (base, name, e)); continue
        if got != want:
            bad.append("%s/%s: %d bytes, want %d" % (base, name, len(got), len(want)))
print("\n".join(bad[:10]))
EOF
}
expect_eq "every file of writer 1 whose fsync returned is there, whole" "" \
    "$(acked "$SN_TMP/ack1" "$A/load1" "$ROOT/load1")"
expect_eq "every file of writer 2 whose fsync returned is there, whole" "" \
    "$(acked "$SN_TMP/ack2" "$B/load2" "$ROOT/load2")"
dump
python3 - "$AUDIT" "$SN_TMP/ack1" load1 alice "$SN_TMP/ack2" load2 bob >"$SN_TMP/ackev" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
creates = {(e["agent"], e["path"]) for e in ev if e["op"] == "create" and e["result"] == "ok"}
writes = {(e["agent"], e["path"]): e["bytes"] for e in ev if e["op"] == "write" and e["result"] == "ok"}
missing_c, missing_w = [], []
args = sys.argv[2:]
for k in range(0, len(args), 3):
    log, d, agent = args[k:k + 3]
    lines = [l.split() for l in open(log)]
    for n, (name, size) in enumerate(lines):
        p = d + "/" + name
        if (agent, p) not in creates:
            missing_c.append(p)
        if writes.get((agent, p)) != int(size):
            # fsync() returns once the bytes' event is committed
            missing_w.append("%s (%s)" % (p, writes.get((agent, p))))
print("C " + " ".join(missing_c[:10]))
print("W " + " ".join(missing_w[:10]))
def show(e):
    print("  event: seq=%d agent=%s op=%s path=%s path2=%s result=%s errno=%d bytes=%d" % (
        e["seq"], e["agent"], e["op"], e["path"], e["path2"], e["result"], e["errno"], e["bytes"]))
for p in (missing_c + missing_w)[:2]:
    p = p.split(" ")[0]
    for e in ev:
        if e["path"] == p or e["path2"] == p:
            show(e)
    # a write of that many bytes by that agent, recorded under another path?
    for k in range(0, len(args), 3):
        log, d, agent = args[k:k + 3]
        if not p.startswith(d + "/"):
            continue
        size = [int(l.split()[1]) for l in open(log) if d + "/" + l.split()[0] == p]
        for e in ev:
            if (e["op"] == "write" and e["agent"] == agent and size and e["bytes"] == size[0]
                    and not e["path"].startswith(d + "/")):
                print("  a write of %d bytes by %s under another path:" % (size[0], agent))
                show(e)
EOF
expect_eq "every acknowledged file has its create event" "C " "$(sed -n 1p "$SN_TMP/ackev")"
# ext4 gives a removed directory's inode number to the next new file at
# once: the churn's rmdir races the writers' creates, and no event may
# lose its path to it
expect_eq "no create, open or write event of the load has an empty path" "" \
    "$(q 'e["agent"] in ("alice", "bob") and e["op"] in ("create", "open", "write", "mkdir", "rmdir") and e["path"] == ""' | head -n 3)"
expect_eq "... and its write event with the bytes (committed before fsync returned)" \
    "W " "$(sed -n 2p "$SN_TMP/ackev")"
[ "$(sed -n '4,$p' "$SN_TMP/ackev")" = "" ] || note "$(sed -n '4,$p' "$SN_TMP/ackev")"
[ "$(sed -n 3p "$SN_TMP/ackev")" = "L " ] ||
    note "no or wrong write event for the last acknowledged files: $(sed -n 3p "$SN_TMP/ackev")"
rc=0
got=$("$SN_SENTINEL" audit verify --state-dir "$STATE" 2>&1) || rc=$?
expect_eq "verify after the restart exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || note "$got"
dump
BEFORE=$(q 'e["workspace"] == "w"' | tail -n 1 | sed 's/^seq=\([0-9]*\).*/\1/')
check "the trail grew during the load (seq $LAST before it, $BEFORE now)" test "$BEFORE" -gt "$LAST"
check "a change after the restart" "$PO" write "$A/after-restart" x
expect_event "it is audited after seq $BEFORE: the chain goes on" \
    'e["workspace"] == "w" and e["seq"] > '"$BEFORE"' and e["path"] == "after-restart" and e["op"] == "create"'
"$SN_SENTINEL" audit list --state-dir "$STATE" --workspace w -o json >"$SN_TMP/w.jsonl"
expect_eq "across the crash and restart: every field right, seq 1..N gapless" "" \
    "$(python3 "$SN_TMP/fields.py" "$SN_TMP/w.jsonl" "$T0")"

# ---- fail closed -------------------------------------------------------------------
section "fail closed: when the trail cannot be written, changes are refused"
cat >"$SN_TMP/immutable.py" <<'EOF'
# immutable.py on|off PATH...: set or clear the immutable flag (chattr +i)
# of each file, also through /proc/PID/fd/N (files already unlinked)
import fcntl, os, struct, sys
GET, SET, IMM = 0x80086601, 0x40086602, 0x10
for p in sys.argv[2:]:
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fl = struct.unpack("q", fcntl.ioctl(fd, GET, b"\0" * 8))[0]
        fl = fl | IMM if sys.argv[1] == "on" else fl & ~IMM
        fcntl.ioctl(fd, SET, struct.pack("q", fl))
    finally:
        os.close(fd)
EOF
echo probe >"$SN_TMP/probe"
if ! python3 "$SN_TMP/immutable.py" on "$SN_TMP/probe" 2>/dev/null; then
	skip "fail closed" "the immutable flag does not work on $SN_TMP"
else
	python3 "$SN_TMP/immutable.py" off "$SN_TMP/probe"
	check "a file to read during the failure" "$PO" write "$A/readable" readable
	# every file the server holds open in the state dir (the databases, their
	# journals, the heads; also unlinked ones), but the shared-memory index
	FDS=()
	for fd in /proc/"$SN_PID"/fd/*; do
		t=$(readlink "$fd" 2>/dev/null) || continue
		case $t in
		"$STATE"/*-shm | "$STATE"/*-shm" (deleted)") ;;
		"$STATE"/*)
			FDS+=("$fd")
			note "making immutable: $t"
			;;
		esac
	done
	[ "${#FDS[@]}" -gt 0 ] || fail "the server holds files of the state dir open" "none found in /proc/$SN_PID/fd"
	python3 "$SN_TMP/immutable.py" on "${FDS[@]}"
	rc=0
	msg=$("$PO" write "$A/fc1" data 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		ok "the first change after the trail broke fails: $msg"
	else
		note "the first change after the trail broke succeeded (its commit may have been in flight)"
	fi
	expect_errno EIO open "$A/fc2" wronly,creat
	expect_errno EIO mkdir "$A/fc3"
	expect_errno EIO unlink "$A/readable"
	expect_errno EIO rename "$A/readable" "$A/fc4"
	expect_errno EIO chmod "$A/readable" 600
	left=''
	for f in fc2 fc3 fc4; do
		[ ! -e "$ROOT/$f" ] || left="$left $f"
	done
	expect_eq "no refused change reached ROOT" "" "$left"
	expect_eq "readable is unchanged in ROOT" "644 readable" \
	    "$(stat -c %a "$ROOT/readable" 2>&1) $(cat "$ROOT/readable" 2>&1)"
	expect_eq "reads go on" readable "$(out cat "$A/readable")"
	check "w2 (audit_fail_open = true): changes go on" "$PO" write "$Z/fo1" open
	expect_eq "... and are applied" open "$(out cat "$ROOT2/fo1")"
	python3 "$SN_TMP/immutable.py" off "${FDS[@]}"
	if sn_wait_for 10 "$PO" write "$A/fc5" back; then
		ok "once the trail is writable again, changes work"
	else
		fail "once the trail is writable again, changes work" "$(out "$PO" write "$A/fc5" back)"
	fi
	expect_event "... and are audited" "$OK_"' and e["op"] == "create" and e["path"] == "fc5"'
	sn_stop "$SN_PID"
	rc=0
	got=$("$SN_SENTINEL" audit verify --state-dir "$STATE" 2>&1) || rc=$?
	expect_eq "the trail verifies after the failure (exit 0)" 0 "$rc"
	[ "$rc" -eq 0 ] || note "$got"
fi

sn_done
