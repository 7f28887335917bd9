#!/bin/bash
# t-coherence.sh - two views of one workspace: a change made through one is
# seen through the other at the next open/stat after the writer's close (no
# waiting): new files after a negative lookup, overwrites of the same and of
# another size, unlink, rename, chmod, chown, times, xattrs, links, mkdir and
# listings.  Views of one `sentinel serve` and of two `sentinel mount`
# processes.  Changes made directly in ROOT must be seen within ~2 s when
# the workspace has external writers (external_writers = true,
# --external-writers).
# shellcheck disable=SC2012,SC2011
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root
mkdir -p "$ROOT" "$SN_TMP/a" "$SN_TMP/b" "$SN_TMP/state"

# now DESC WANT CMD...: CMD's output must be WANT right away
now() {
	local desc=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1) || true
	expect_eq "$desc" "$want" "$got"
}

# eventually SECONDS DESC WANT CMD...: CMD's output becomes WANT in time
eventually() {
	local limit=$1 desc=$2 want=$3 got t0 t1
	shift 3
	t0=$(date +%s%N)
	while :; do
		got=$("$@" 2>&1) || true
		[ "$got" != "$want" ] || break
		t1=$(date +%s%N)
		[ $(((t1 - t0) / 1000000)) -lt $((limit * 1000)) ] || break
		sleep 0.05
	done
	t1=$(date +%s%N)
	if [ "$got" = "$want" ]; then
		ok "$desc (after $(((t1 - t0) / 1000000)) ms)"
	else
		fail "$desc (within ${limit}s)" "want: $want" "got:  $got"
	fi
}

lsx() { ls -A "$1" | xargs; }
mode() { stat -c %a "$1"; }
exists() { if [ -e "$1" ] || [ -L "$1" ]; then echo yes; else echo no; fi; }

# coherence A B: the checks, A writes and B reads (and one the other way)
coherence() {
	local A=$1 B=$2 i
	set +e  # a failing step shows in the checks that follow it
	note "writer $A, reader $B"

	now "B: a name that does not exist yet" no exists "$B/new"
	echo "created in A" >"$A/new"
	now "B sees a file A created after B's negative lookup" "created in A" cat "$B/new"

	lsx "$B" >/dev/null
	: >"$A/listed"
	now "B's listing shows a file A created after B listed" yes \
	    bash -c "ls -A '$B' | grep -qx listed && echo yes"

	printf aaaa >"$A/f"
	now "B reads what A wrote" aaaa cat "$B/f"
	printf bbbb >"$A/f"
	now "B sees an overwrite of the same size" bbbb cat "$B/f"
	printf cc | dd of="$A/f" conv=notrunc status=none
	now "B sees an in-place overwrite (no truncate, same size)" ccbb cat "$B/f"
	printf 'a longer content\n' >"$A/f"
	now "B sees an overwrite with another size" "a longer content" cat "$B/f"
	now "B's stat has the new size" 17 stat -c %s "$B/f"
	printf x >"$A/f"
	now "B sees it shrink" "x 1" bash -c "printf '%s ' \"\$(cat '$B/f')\"; stat -c %s '$B/f'"
	echo appended >>"$A/f"
	now "B sees an append" "xappended" bash -c "cat '$B/f' | tr -d '\n'"
	"$PO" pattern-write "$A/big" 1000000 5
	check "B reads 1 MB written by A" "$PO" pattern-check "$B/big" 1000000 5
	"$PO" pattern-write "$A/big" 300000 6 100000
	check "B sees A's partial overwrite of it" "$PO" pattern-check "$B/big" 300000 6 100000
	exec 7<"$B/big"
	"$PO" pattern-write "$A/big" 1000000 8
	check "a file B has open: B's next open sees A's rewrite" "$PO" pattern-check "$B/big" 1000000 8
	exec 7<&-
	check "truncate through A" truncate -s 10 "$A/big"
	now "B's stat sees the truncate" 10 stat -c %s "$B/big"

	cat "$B/f" >/dev/null
	rm "$A/f"
	now "B: a file A unlinked is gone" no exists "$B/f"
	now "B's listing lacks it" no bash -c "ls -A '$B' | grep -qx f && echo yes || echo no"

	echo "moving" >"$A/r1"
	cat "$B/r1" >/dev/null
	mv "$A/r1" "$A/r2"
	now "B: the old name of a renamed file is gone" no exists "$B/r1"
	now "B: the new name has the content" moving cat "$B/r2"
	echo "old target" >"$A/r3"
	cat "$B/r3" >/dev/null
	mv "$A/r2" "$A/r3"
	now "B: rename over a file B had read gives the new content" moving cat "$B/r3"
	mkdir -p "$A/dir1/inner"
	echo deep >"$A/dir1/inner/x"
	cat "$B/dir1/inner/x" >/dev/null
	mv "$A/dir1" "$A/dir2"
	now "B: a renamed directory's old path is gone" no exists "$B/dir1/inner/x"
	now "B: its new path works" deep cat "$B/dir2/inner/x"
	"$PO" rename-exchange "$A/r3" "$A/dir2"
	now "B sees RENAME_EXCHANGE of a file and a directory" \
	    "directory regular file" \
	    bash -c "echo \$(stat -c %F '$B/r3') \$(stat -c %F '$B/dir2')"
	now "... and the contents moved" "deep moving" \
	    bash -c "printf '%s ' \"\$(cat '$B/r3/inner/x')\"; cat '$B/dir2'"

	: >"$A/m"
	mode "$B/m" >/dev/null
	chmod 600 "$A/m"
	now "B sees chmod" 600 mode "$B/m"
	chown 123:456 "$A/m"
	now "B sees chown" 123:456 stat -c %u:%g "$B/m"
	touch -m -d @1000000000 "$A/m"
	now "B sees the mtime A set" 1000000000 stat -c %Y "$B/m"
	"$PO" setxattr "$A/m" user.k v1
	now "B sees an xattr A set" v1 "$PO" getxattr "$B/m" user.k
	"$PO" setxattr "$A/m" user.k v2
	now "B sees an xattr A changed" v2 "$PO" getxattr "$B/m" user.k
	ln "$A/m" "$A/m2"
	now "B sees the link count of a new hard link" "2 2" \
	    bash -c "stat -c %h '$B/m' | tr '\n' ' '; stat -c %h '$B/m2'"
	ln -s m "$A/sl"
	now "B reads a symlink A made" m readlink "$B/sl"

	mkdir "$A/d"
	lsx "$B/d" >/dev/null
	mkdir "$A/d/sub"
	: >"$A/d/file"
	now "B lists what A made in a directory B had listed" "file sub" lsx "$B/d"
	rmdir "$A/d/sub"
	now "B's listing after A's rmdir" "file" lsx "$B/d"
	rm "$A/d/file"
	rmdir "$A/d"
	: >"$A/d"
	now "B: a directory replaced by a file of the same name" "regular empty file" stat -c %F "$B/d"

	echo "from B" >"$B/back"
	now "and the other way: A sees what B wrote" "from B" cat "$A/back"
	for i in $(seq 1 30); do
		echo "$i" >"$A/ping"
		[ "$(cat "$B/ping")" = "$i" ] || break
		echo "$i" >"$B/ping"
		[ "$(cat "$A/ping")" = "$i" ] || break
	done
	expect_eq "30 alternating writes, each seen by the other view at once" 30 "$i"
	rm -rf "${A:?}"/*
	now "B: empty after A removed everything" "" lsx "$B"
	set -e
}

section "two views of one 'sentinel serve'"
cat >"$SN_TMP/two.ini" <<EOF
[server]
state_dir = $SN_TMP/state
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $SN_TMP/a
[view "b"]
workspace = w
agent = bob
mountpoint = $SN_TMP/b
EOF
sn_serve "$SN_TMP/two.ini"
serve_pid=$SN_PID
coherence "$SN_TMP/a" "$SN_TMP/b"

section "changes made directly in ROOT without external_writers"
echo direct >"$ROOT/direct"
if [ "$(cat "$SN_TMP/a/direct" 2>/dev/null)" = direct ]; then
	note "a file created in ROOT is seen at once (not required)"
else
	note "a file created in ROOT is not seen (allowed: Sentinel is the only writer)"
fi
sn_stop "$serve_pid"
rm -rf "${ROOT:?}"/*

section "two 'sentinel mount' processes of one ROOT"
# Either the second process is refused (one process serves a workspace,
# unless it declares external writers), or the two are coherent.
sn_mount "$ROOT" "$SN_TMP/a"
read -r -a WRAP <<<"$SN_TEST_WRAPPER"
rc=0
err=$(timeout 60 "${WRAP[@]}" "$SN_SENTINEL" mount "$ROOT" "$SN_TMP/b" 2>&1 </dev/null) || rc=$?
if [ "$rc" -eq 0 ] && sn_is_mounted "$SN_TMP/b"; then
	SN__MOUNTS+=("$SN_TMP/b")
	note "a second process may serve the same ROOT: it must be coherent"
	coherence "$SN_TMP/a" "$SN_TMP/b"
	check "unmount the second process's view" fusermount3 -u "$SN_TMP/b"
	sn_umount "$SN_TMP/a"
else
	if [ "$rc" -eq 1 ] && [ -n "$err" ]; then
		ok "a second process for the same ROOT is refused: $err"
	else
		fail "a second process for the same ROOT: refused (exit 1) or served" \
		    "exit $rc" "$err"
	fi
	check_fails "nothing mounted by the refused process" sn_is_mounted "$SN_TMP/b"
	expect_eq "the first view still serves" "" "$(ls -A "$SN_TMP/a" 2>&1)"
	sn_umount "$SN_TMP/a"

	section "two 'sentinel mount --external-writers' processes of one ROOT"
	sn_mount --external-writers "$ROOT" "$SN_TMP/a"
	sn_mount --external-writers "$ROOT" "$SN_TMP/b"
	set +e
	echo one >"$SN_TMP/a/p1"
	eventually 3 "B sees a file A created" one cat "$SN_TMP/b/p1"
	printf 'two, longer' >"$SN_TMP/a/p1"
	eventually 3 "B sees A's overwrite with another size" "two, longer" cat "$SN_TMP/b/p1"
	chmod 600 "$SN_TMP/a/p1"
	eventually 3 "B sees A's chmod" 600 mode "$SN_TMP/b/p1"
	mv "$SN_TMP/a/p1" "$SN_TMP/a/p2"
	eventually 3 "B: the old name goes" no exists "$SN_TMP/b/p1"
	eventually 3 "B: the new name comes" "two, longer" cat "$SN_TMP/b/p2"
	rm "$SN_TMP/a/p2"
	eventually 3 "B sees A's unlink" no exists "$SN_TMP/b/p2"
	set -e
	sn_umount "$SN_TMP/a"
	sn_umount "$SN_TMP/b"
fi

# external SECONDS VIEW: changes in ROOT are seen through VIEW in time
external() {
	local limit=$1 V=$2
	set +e
	lsx "$V" >/dev/null
	stat "$V/x1" >/dev/null 2>&1 || true
	echo one >"$ROOT/x1"
	eventually "$limit" "a file created in ROOT (after a negative lookup)" one cat "$V/x1"
	printf two >"$ROOT/x1"
	cat "$V/x1" >/dev/null
	printf TWO >"$ROOT/x1"
	eventually "$limit" "an overwrite of the same size in ROOT" TWO cat "$V/x1"
	printf 'longer now' >"$ROOT/x1"
	eventually "$limit" "an overwrite with another size" "longer now" cat "$V/x1"
	chmod 600 "$ROOT/x1"
	eventually "$limit" "chmod in ROOT" 600 mode "$V/x1"
	mv "$ROOT/x1" "$ROOT/x2"
	eventually "$limit" "rename in ROOT: the old name goes" no exists "$V/x1"
	eventually "$limit" "rename in ROOT: the new name comes" "longer now" cat "$V/x2"
	mkdir "$ROOT/xd"
	lsx "$V/xd" >/dev/null
	: >"$ROOT/xd/in"
	eventually "$limit" "a listing after a file was added in ROOT" in lsx "$V/xd"
	rm "$ROOT/x2"
	eventually "$limit" "unlink in ROOT" no exists "$V/x2"
	rm -rf "${ROOT:?}"/*
	set -e
}

section "external writers: serve with external_writers = true"
cat >"$SN_TMP/ext.ini" <<EOF
[server]
state_dir = $SN_TMP/state
[workspace "w"]
root = $ROOT
external_writers = true
[view "a"]
workspace = w
agent = alice
mountpoint = $SN_TMP/a
EOF
sn_serve "$SN_TMP/ext.ini"
external 3 "$SN_TMP/a"
sn_stop "$SN_PID"

section "external writers: sentinel mount --external-writers"
sn_mount --external-writers "$ROOT" "$SN_TMP/b"
external 3 "$SN_TMP/b"
sn_umount "$SN_TMP/b"

sn_done
