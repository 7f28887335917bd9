#!/bin/bash
# t-leases.sh - implicit write leases: opening a file for writing through a
# view takes a lease on it for the view's agent until the last close, and
# while it is held every change to that file by another agent fails with
# EBUSY (open for write, O_TRUNC, truncate, unlink, rename from and onto
# it, chmod/chown/utimes, link, set/remove xattr, an editor's atomic
# save), reads still work, and the holder is never blocked by her own
# lease.  The lease ends the moment the last descriptor is closed (no
# sleep: 50 open/write/close-then-write rounds), survives a child process
# closing its inherited copy, and is released when the holder is killed.
# Also: read-only opens take no lease; leases are per file; the lease
# follows the file (rename by the holder, a second hard link); the denial
# is audited as a "lock" denial.
# shellcheck disable=SC2011,SC2012,SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_is_sentinel || sn_skip_all "write leases need sentinel itself (SN_MOUNT_CMD is set)"
command -v python3 >/dev/null 2>&1 || sn_skip_all "needs python3"
sn_tmp
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root STATE=$SN_TMP/state
A=$SN_TMP/alice B=$SN_TMP/bob C=$SN_TMP/carol A2=$SN_TMP/alice2
mkdir -p "$ROOT" "$A" "$B" "$C" "$A2"

out() { "$@" 2>&1 || true; }

cat >"$SN_TMP/leases.ini" <<EOF
[server]
state_dir = $STATE
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $A
[view "b"]
workspace = w
agent = bob
mountpoint = $B
[view "c"]
workspace = w
agent = carol
mountpoint = $C
[view "a2"]
workspace = w
agent = alice
mountpoint = $A2
EOF

printf 'original\n' >"$ROOT/f"
setfattr -n user.k -v v "$ROOT/f"
printf 'other\n' >"$ROOT/g"
printf 'held by a process\n' >"$ROOT/h"
printf 'read only\n' >"$ROOT/r"
mkdir -p "$ROOT/dir"
printf 'in dir\n' >"$ROOT/dir/file"
printf 'sibling\n' >"$ROOT/dir/sibling"
printf 'hard\n' >"$ROOT/hf"
ln "$ROOT/hf" "$ROOT/hf-link"
sn_serve "$SN_TMP/leases.ini"

# hold FD REDIR PATH: open PATH as descriptor FD of this shell (REDIR ">>",
# "<>" or "<"); a failure is reported, not fatal
hold() {
	if eval "exec $1$2\"\$3\""; then
		note "fd $1 $2 $3"
	else
		fail "open $3 as fd $1 ($2)"
	fi
}

# blocked M FILE OTHER: every change to FILE through view M is EBUSY
# (OTHER: another existing file of the workspace, for renames onto FILE)
blocked() {
	local m=$1 f=$1/$2 o=$1/$3
	expect_errno EBUSY open "$f" wronly
	expect_errno EBUSY open "$f" rdwr
	expect_errno EBUSY open "$f" wronly,trunc
	expect_errno EBUSY open "$f" wronly,append
	expect_errno EBUSY open "$f" rdonly,trunc
	expect_errno EBUSY open "$f" wronly,creat
	expect_errno EBUSY truncate "$f" 0
	expect_errno EBUSY chmod "$f" 600
	expect_errno EBUSY chown "$f" 1 1
	expect_errno EBUSY utimens "$f" 1000 1000
	expect_errno EBUSY utimens "$f" now now
	expect_errno EBUSY setxattr "$f" user.new v
	expect_errno EBUSY removexattr "$f" user.k
	expect_errno EBUSY unlink "$f"
	expect_errno EBUSY rename "$f" "$m/moved-away"
	expect_errno EBUSY rename "$o" "$f"
	expect_errno EBUSY rename-exchange "$f" "$o"
	expect_errno EBUSY link "$f" "$m/new-link"
	expect_errno EBUSY atomic-save "$f" "saved by an editor"
	rm -f "$m/$2.tmp~" 2>/dev/null || true
	expect_cmd_errno EBUSY bash -c "echo x >'$f'"
	expect_cmd_errno EBUSY bash -c "echo x >>'$f'"
	expect_cmd_errno EBUSY touch "$f"
	expect_cmd_errno EBUSY rm -f "$f"
	expect_cmd_errno EBUSY mv "$o" "$f"
	expect_cmd_errno EBUSY truncate -s 0 "$f"
	expect_cmd_errno EBUSY setfattr -n user.z -v 1 "$f"
}

# holder.py PATH MODE MSG DIR: open PATH (MODE append or rdwr) with one
# descriptor, write MSG, touch DIR/ready; when DIR/close appears, close
# it and touch DIR/closed; then wait to be killed
cat >"$SN_TMP/holder.py" <<'EOF'
import os, sys, time
path, mode, msg, d = sys.argv[1:5]
flags = os.O_WRONLY | os.O_APPEND if mode == "append" else os.O_RDWR
fd = os.open(path, flags)
if msg:
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, msg.encode())
open(os.path.join(d, "ready"), "w").close()
while not os.path.exists(os.path.join(d, "close")):
    time.sleep(0.005)
os.close(fd)
open(os.path.join(d, "closed"), "w").close()
while True:
    time.sleep(60)
EOF
# holder NAME PATH MODE MSG: start a holder process of alice (sets HOLDER
# to its pid, HDIR to its directory); returns when it holds PATH
holder() {
	HDIR=$SN_TMP/holder-$1
	mkdir -p "$HDIR"
	sn_bg python3 "$SN_TMP/holder.py" "$2" "$3" "$4" "$HDIR"
	HOLDER=$SN_BGPID
	if sn_wait_for 10 test -e "$HDIR/ready"; then
		ok "alice's process $1 holds ${2#"$SN_TMP"/} open for writing ($3)"
	else
		fail "alice's process $1 holds ${2#"$SN_TMP"/} open for writing ($3)" \
		    "it did not get ready"
	fi
}
# release: the holder closes its descriptor; returns when close(2) returned
release() {
	touch "$HDIR/close"
	sn_wait_for 10 test -e "$HDIR/closed" || fail "the holder closed its descriptor"
}

section "while alice's process holds f open for writing, bob's changes to f are EBUSY"
holder f "$A/f" append $'alice 1\n'
blocked "$B" f g
expect_eq "bob reads f (alice's write included)" "original
alice 1" "$(out cat "$B/f")"
check "bob opens f read-only" "$PO" open "$B/f" rdonly
check "bob stats f" "$PO" stat "$B/f"
expect_eq "bob reads its xattr" v "$(out "$PO" getxattr "$B/f" user.k)"
expect_errno EBUSY open "$C/f" wronly
expect_errno EBUSY unlink "$C/f"
check "bob changes another file (g) freely" "$PO" write "$B/g" "bob's g"
expect_eq "f in ROOT holds only alice's data" "original
alice 1" "$(cat "$ROOT/f" 2>&1)"
expect_eq "nothing of bob's refused changes in ROOT" "dir f g h hf hf-link r" \
    "$(ls "$ROOT" | xargs)"
expect_eq "f's mode, owner and xattrs unchanged" "644 0:0 v" \
    "$(stat -c '%a %u:%g' "$ROOT/f" 2>&1) $(getfattr --absolute-names --only-values -n user.k "$ROOT/f" 2>&1)"

section "alice is never blocked by her own lease"
check "a second open for writing by alice" bash -c "echo 'alice 2' >>'$A/f'"
check "alice opens it read-write" "$PO" open "$A/f" rdwr
check "alice chmods it" chmod 644 "$A/f"
check "alice sets an xattr" "$PO" setxattr "$A/f" user.alice yes
check "the same agent through another view (alice2) writes it" \
    bash -c "echo 'alice 3' >>'$A2/f'"
expect_eq "f has all of alice's writes in order" "original
alice 1
alice 2
alice 3" "$(cat "$ROOT/f" 2>&1)"
expect_errno EBUSY open "$B/f" wronly

section "the moment alice's close(2) returns, bob may change f"
release
check "bob's write right after alice's close" "$PO" write "$B/f" "bob now"
expect_eq "... it is in ROOT" "bob now" "$(cat "$ROOT/f" 2>&1)"
check "bob's atomic save now works" "$PO" atomic-save "$B/f" "bob saved"
expect_eq "... it is in ROOT" "bob saved" "$(cat "$ROOT/f" 2>&1)"
kill -KILL "$HOLDER"
wait "$HOLDER" 2>/dev/null || true

section "the test shell's own descriptor (exec 3>>f: bash dup2()s it, so the kernel flushes a copy)"
"$PO" write "$A/s" "shell"
"$PO" write "$A/s-src" "src"
hold 3 ">>" "$A/s"
printf 'alice in shell\n' >&3
expect_errno EBUSY open "$B/s" wronly
expect_errno EBUSY unlink "$B/s"
expect_errno EBUSY rename "$B/s-src" "$B/s"
expect_errno EBUSY chmod "$B/s" 600
expect_cmd_errno EBUSY bash -c "echo x >'$B/s'"
note "children that inherit fd 3 and close it (flush from other processes)"
for _ in 1 2 3; do
	bash -c 'exec 3>&-; true'
	(exec 3>&-)
	"$PO" stat "$A/s" >/dev/null
done
expect_errno EBUSY open "$B/s" wronly
expect_errno EBUSY unlink "$B/s"
exec 3>&-
check "bob writes right after the shell closed fd 3" "$PO" write "$B/s" "bob again"

section "two descriptors of one process: the lease ends at the last close"
python3 - "$A/f" "$B/f" "$PO" >"$SN_TMP/twofds.out" 2>&1 <<'EOF' || true
import os, subprocess, sys
a, b, po = sys.argv[1:4]
fd1 = os.open(a, os.O_WRONLY | os.O_APPEND)
fd2 = os.open(a, os.O_WRONLY | os.O_APPEND)
os.close(fd1)
r = subprocess.run([po, "expect-errno", "EBUSY", "open", b, "wronly"], capture_output=True, text=True)
print("after the first close: bob's open %s" % ("EBUSY" if r.returncode == 0 else r.stderr.strip()))
os.close(fd2)
r = subprocess.run([po, "write", b, "after both"], capture_output=True, text=True)
print("after the last close: bob's write %s" % ("ok" if r.returncode == 0 else r.stderr.strip()))
EOF
expect_eq "one lease per file, counted: EBUSY after the first close, free after the last" \
    "after the first close: bob's open EBUSY
after the last close: bob's write ok" "$(cat "$SN_TMP/twofds.out")"

# endhold: release the holder's descriptor, then kill it
endhold() {
	release
	kill -KILL "$HOLDER" 2>/dev/null || true
	wait "$HOLDER" 2>/dev/null || true
}

section "leases are symmetric and change hands"
holder bobf "$B/f" append ""
expect_errno EBUSY open "$A/f" wronly
expect_errno EBUSY unlink "$A/f"
expect_errno EBUSY open "$A2/f" wronly
endhold
holder alicef "$A/f" append ""
expect_errno EBUSY open "$B/f" wronly
endhold
check "after both closed, carol writes" "$PO" write "$C/f" "carol"

section "a read-only open takes no lease"
hold 4 "<" "$A/r"
check "bob writes r while alice reads it" "$PO" write "$B/r" "bob wrote r"
check "bob unlinks r while alice reads it" "$PO" unlink "$B/r"
exec 4<&-

section "a lease held by a process that is killed ends with it"
sn_bg bash -c 'exec 3<>"$1"; exec sleep 300' holder "$A/h"
hpid=$SN_BGPID
if sn_wait_for 10 test -e "/proc/$hpid/fd/3"; then
	ok "a process of alice holds h open read-write"
else
	fail "a process of alice holds h open read-write" "no fd 3 in /proc/$hpid"
fi
"$PO" write "$B/h-src" x
expect_errno EBUSY open "$B/h" wronly
expect_errno EBUSY rename "$B/h-src" "$B/h"
kill -KILL "$hpid"
wait "$hpid" 2>/dev/null || true
check "bob writes h right after the holder was killed" "$PO" write "$B/h" "bob's h"

section "50 rounds: one view opens, writes and closes; the other writes at once"
# rounds shell|process VIEW1 VIEW2: 50 times, VIEW1 then VIEW2 write p
# with no pause (by shell redirections in this shell, or by processes);
# prints the rounds that went wrong, and how
rounds() {
	local i bad='' err=$SN_TMP/rounds.err
	for i in $(seq 1 50); do
		: >"$err"
		case $1 in
		shell)
			{ printf 'a%d' "$i" >"$2/p"; } 2>>"$err" ||
			    bad="$bad [round $i: first writer: $(cat "$err")]"
			if ! { printf 'b%d' "$i" >"$3/p"; } 2>>"$err"; then
				bad="$bad [round $i: second writer: $(cat "$err")]"
				continue
			fi
			;;
		process)
			"$PO" write "$2/p" "a$i" 2>>"$err" ||
			    bad="$bad [round $i: first writer: $(cat "$err")]"
			if ! "$PO" write "$3/p" "b$i" 2>>"$err"; then
				bad="$bad [round $i: second writer: $(cat "$err")]"
				continue
			fi
			;;
		esac
		[ "$(cat "$ROOT/p")" = "b$i" ] || bad="$bad [round $i: ROOT/p is '$(cat "$ROOT/p")', not b$i]"
	done
	printf '%s' "$bad"
}
expect_eq "shell redirections, alice then bob: no failed round" "" "$(rounds shell "$A" "$B")"
expect_eq "processes, alice then bob: no failed round" "" "$(rounds process "$A" "$B")"
expect_eq "shell redirections, bob then alice: no failed round" "" "$(rounds shell "$B" "$A")"
expect_eq "processes, bob then alice: no failed round" "" "$(rounds process "$B" "$A")"

section "directories: alice holds dir/file; bob's changes naming it fail"
holder dirfile "$A/dir/file" append ""
expect_cmd_errno EBUSY rm -rf "$B/dir"
check "dir/file is still there" test -f "$ROOT/dir/file"
expect_eq "... with its content" "in dir" "$(cat "$ROOT/dir/file" 2>&1)"
expect_cmd_errno EBUSY mv "$B/dir/file" "$B/dir/file2"
expect_errno EBUSY rename "$B/dir/file" "$B/file-out"
check "bob creates another file in dir" "$PO" write "$B/dir/new" x
rc=0
msg=$(mv "$B/dir" "$B/dir2" 2>&1) || rc=$?
if [ "$rc" -eq 0 ]; then
	note "bob may rename the parent directory of alice's leased file (not required to fail)"
	mv "$B/dir2" "$B/dir" || true
else
	note "bob's rename of the parent directory is refused: $msg"
fi
endhold

section "the lease is on the file, not only on its name"
# hf-link: a name the file had at start; hf-a: one alice makes now
check "alice links hf to hf-a" "$PO" link "$A/hf" "$A/hf-a"
holder hf "$A/hf" append ""
expect_errno EBUSY open "$B/hf" wronly
for n in hf-link hf-a; do
	expect_errno EBUSY open "$B/$n" wronly
	expect_errno EBUSY open "$B/$n" rdwr,trunc
	expect_errno EBUSY truncate "$B/$n" 0
	expect_errno EBUSY unlink "$B/$n"
	expect_errno EBUSY rename "$B/$n" "$B/$n-moved"
	expect_errno EBUSY chmod "$B/$n" 0600
	expect_errno EBUSY utimens "$B/$n" 1000 1000
	expect_errno EBUSY setxattr "$B/$n" user.k v
	expect_errno EBUSY link "$B/$n" "$B/$n-2"
done
check "bob makes rr" "$PO" write "$B/rr" x
expect_errno EBUSY rename "$B/rr" "$B/hf-a"
check "alice through her other view opens hf-link for writing" "$PO" open "$A2/hf-link" wronly
expect_eq "bob still reads hf-link" "hard" "$(cat "$B/hf-link" 2>&1)"
check "alice writes through her other name (her own lease)" "$PO" open "$A/hf-a" wronly
check "carol's new files are not held up" "$PO" write "$C/hf-other" x
expect_eq "hf, hf-link and hf-a are still one file, unchanged" "hard hard hard 3" \
    "$(cat "$ROOT/hf" "$ROOT/hf-link" "$ROOT/hf-a" | tr '\n' ' ')$(stat -c %h "$ROOT/hf")"
endhold
check "after alice's close bob writes hf-link" "$PO" write "$B/hf-link" "bob"
expect_eq "... which is hf" "bob" "$(cat "$ROOT/hf" 2>&1)"
check "bob unlinks hf-a" "$PO" unlink "$B/hf-a"
check "carol unlinks hf-other" "$PO" unlink "$C/hf-other"
check "bob unlinks rr" "$PO" unlink "$B/rr"
"$PO" write "$A/gg" "gg"
holder g "$A/gg" append ""
check "alice renames the file her process holds (her own lease)" "$PO" rename "$A/gg" "$A/g2"
expect_errno EBUSY open "$B/g2" wronly
expect_errno EBUSY unlink "$B/g2"
endhold
check "after alice's close bob writes g2" "$PO" write "$B/g2" "bob's g2"

section "a refused change is audited as a lock denial"
: >"$A/audited"
holder audited "$A/audited" append ""
"$PO" write "$B/audited" x >/dev/null 2>&1 || true
endhold
lockev() {
	"$SN_SENTINEL" audit list --state-dir "$STATE" -o json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if (e.get("agent") == "bob" and e.get("path") == "audited"
            and e.get("result") == "denied" and e.get("errno") == 16
            and str(e.get("rule", "")).startswith("lock")):
        print(e["rule"])
        sys.exit(0)
sys.exit(1)'
}
found=0
for _ in $(seq 1 15); do
	if lockev >/dev/null; then
		found=1
		break
	fi
	sleep 0.2
done
if [ "$found" -eq 1 ]; then
	ok "an audit event: bob, audited, denied, EBUSY, rule $(lockev)"
else
	fail "an audit event: bob, audited, denied, errno 16 (EBUSY), rule lock..." \
	    "events for 'audited':" \
	    "$("$SN_SENTINEL" audit list --state-dir "$STATE" 2>&1 | grep -w audited | tail -n 10)"
fi

sn_stop "$SN_PID"
sn_done
