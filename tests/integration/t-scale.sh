#!/bin/bash
# t-scale.sh - many files through one view: create SN_BIG_FILES (default
# 200000) files, list and count them (find, ls -R), git add -A, stat them
# all, forget them (drop the kernel's caches) and find them again, rm -rf;
# all the while the daemon's open descriptors stay bounded (at most
# SN_MAX_FDS, default 20000), with ulimit -n left as it is.
# shellcheck disable=SC2012
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${SN_TEST_TIMEOUT:=2400}"
export SN_TEST_TIMEOUT
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
PO=$(sn_helper posix_ops)
# under valgrind every request costs ~100x: the scale is shown by the plain
# run; the instrumented one checks the same paths on fewer files
if [ -n "${SN_TEST_WRAPPER:-}" ]; then
	N=${SN_BIG_FILES:-3000}
else
	N=${SN_BIG_FILES:-200000}
fi
MAXFDS=${SN_MAX_FDS:-20000}
ROOT=$SN_TMP/root MNT=$SN_TMP/mnt
mkdir -p "$ROOT" "$MNT"
export HOME=$SN_TMP/home GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
mkdir -p "$HOME"
nofile0=$(ulimit -n)
note "$N files; ulimit -n is $nofile0 (soft) / $(ulimit -Hn) (hard)"

sn_mount "$ROOT" "$MNT"
DPID=$SN_PID

fds() { ls "/proc/$DPID/fd" 2>/dev/null | wc -l; }

# Sample the daemon's descriptor count in the background.
echo 0 >"$SN_TMP/fdmax"
sample() {
	local max=0 n
	while [ -d "/proc/$DPID" ]; do
		n=$(ls "/proc/$DPID/fd" 2>/dev/null | wc -l)
		if [ "$n" -gt "$max" ]; then
			max=$n
			echo "$max" >"$SN_TMP/fdmax.new" && mv "$SN_TMP/fdmax.new" "$SN_TMP/fdmax"
		fi
		sleep 0.25
	done
}
sn_bg sample
note "daemon pid $DPID: $(fds) descriptors at start"

# step DESC CMD...: run a step, timed, and report the descriptor count
step() {
	local desc=$1 t0 t1 rc=0
	shift
	t0=$(date +%s%N)
	sn__run "$@" || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" -eq 0 ]; then
		ok "$desc ($(((t1 - t0) / 1000000)) ms; daemon fds now $(fds), max $(cat "$SN_TMP/fdmax"))"
	else
		fail "$desc" "command: $*" "exit $rc" "$SN__OUT"
	fi
}

set +e
step "create $N files (1000 per directory) through the mount" \
    "$PO" mkfiles "$MNT/tree" "$N" 1000
expect_eq "find -type f counts $N" "$N" "$(find "$MNT/tree" -type f | wc -l)"
expect_eq "find lists the same as on the backing dir" \
    "$(cd "$ROOT/tree" && find . | sort | md5sum)" "$(cd "$MNT/tree" && find . | sort | md5sum)"
expect_eq "ls -R | wc -l matches the backing dir" \
    "$(cd "$ROOT/tree" && ls -R | wc -l)" "$(cd "$MNT/tree" && ls -R | wc -l)"
step "git init" git -C "$MNT/tree" init -q
step "git add -A of $N files" git -C "$MNT/tree" add -A
expect_eq "git ls-files counts $N" "$N" "$(git -C "$MNT/tree" ls-files | wc -l)"
step "find -type f | xargs stat" \
    bash -c "cd '$MNT/tree' && find . -type f -print0 | xargs -0 stat -c '%s' >/dev/null"
step "du -s" du -s "$MNT/tree"
ngit=$(find "$ROOT/tree/.git" -type f | wc -l)
sync
if echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; then
	ok "dropped the kernel's dentry and inode caches (FORGETs to the daemon)"
	expect_eq "find still counts $N (and .git)" "$((N + ngit))" "$(find "$MNT/tree" -type f | wc -l)"
	expect_eq "find lists the same as on the backing dir" \
	    "$(cd "$ROOT/tree" && find . | sort | md5sum)" "$(cd "$MNT/tree" && find . | sort | md5sum)"
	step "read every 97th file again" bash -c \
	    "cd '$MNT/tree' && find . -path ./.git -prune -o -type f -name 'f*' -print | awk 'NR % 97 == 1' | xargs cat >/dev/null"
else
	skip "drop the kernel's caches" "cannot write /proc/sys/vm/drop_caches"
fi
step "git status" git -C "$MNT/tree" status --porcelain
step "rm -rf of the tree" rm -rf "$MNT/tree"
check_fails "the tree is gone from the backing dir" test -e "$ROOT/tree"
set -e

max=$(cat "$SN_TMP/fdmax")
note "the daemon had at most $max descriptors open"
expect_le "the daemon's open descriptors stayed at most $MAXFDS" "$MAXFDS" "$max"
expect_eq "ulimit -n is unchanged" "$nofile0" "$(ulimit -n)"
sn_umount "$MNT"
sn_done
