#!/bin/bash
# t-escape.sh - nothing outside ROOT can be reached through a view: symlinks
# are returned to the kernel (which follows them in the caller's namespace,
# as for any symlink), ".." at the mount's root is the kernel's, hard links
# and renames across the boundary fail with EXDEV, devices and setuid bits
# do nothing (nodev, nosuid), the root being swapped behind the daemon's back
# is harmless, and a TOCTOU race of symlink swaps in the backing directory
# against operations through the mount never modifies an outside "canary"
# directory (tests/helpers/escape_race.c).
# shellcheck disable=SC2012,SC2011
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
chmod 0755 "$SN_TMP"
PO=$(sn_helper posix_ops)
RACE=$(sn_helper escape_race)
if [ -n "$SN_TEST_WRAPPER" ]; then
	ITER=${SN_ESCAPE_ITERATIONS:-1000}   # valgrind is ~30 times slower
else
	ITER=${SN_ESCAPE_ITERATIONS:-5000}
fi

# Backing side and mount side live in different parents, each with an
# "outside" sibling: a relative symlink "../outside" in ROOT means the
# canary to a daemon that follows it, and the decoy to the kernel.
B=$SN_TMP/b M=$SN_TMP/m
ROOT=$B/root CANARY=$B/outside MNT=$M/mnt DECOY=$M/outside HOST=$SN_TMP/hostdir
mkdir -p "$ROOT/sub" "$CANARY/sub" "$MNT" "$DECOY" "$HOST"
echo "canary secret" >"$CANARY/secret"
echo "canary sub" >"$CANARY/sub/file"
echo "host file" >"$HOST/file"
echo "inside" >"$ROOT/f"
ln -s ../outside "$ROOT/rel"
ln -s "$HOST" "$ROOT/abs"
ln -s "$HOST/file" "$ROOT/absfile"
ln -s ../../../../../../../../../../../../../.. "$ROOT/dotdots"
ln -s /proc/self/cwd "$ROOT/proccwd"
canary_state() {
	(cd "$CANARY" && find . -printf '%p %y %m %s %T@ %C@\n' | sort)
}
CANARY0=$(canary_state)

sn_mount -o allow_other "$ROOT" "$MNT"

section "symlinks are the kernel's to follow"
expect_eq "a relative symlink is a symlink through the mount" \
    "lnk ../outside" "$("$PO" lstat "$MNT/rel" | cut -d' ' -f1 | cut -d= -f2) $(readlink "$MNT/rel")"
check "create a file through the relative symlink" touch "$MNT/rel/made-through-rel"
check "it is in the decoy (resolved beside the mount, by the kernel)" \
    test -e "$DECOY/made-through-rel"
check_fails "... not in the canary (resolved beside ROOT, by the daemon)" \
    test -e "$CANARY/made-through-rel"
expect_eq "listing through the relative symlink shows the decoy" \
    "made-through-rel" "$(ls "$MNT/rel/" | xargs)"
expect_eq "an absolute symlink reads back unchanged" "$HOST" "$(readlink "$MNT/abs")"
expect_eq "reading through an absolute symlink gives the host file (kernel)" \
    "host file" "$(cat "$MNT/absfile")"
expect_eq "a symlink full of .. is returned, not resolved" \
    "../../../../../../../../../../../../../.." "$(readlink "$MNT/dotdots")"
expect_eq "/proc/self/cwd in a symlink is the caller's cwd" \
    "$(cd "$HOST" && pwd -P)" "$(cd "$HOST" && cd "$MNT/proccwd" && pwd -P)"
expect_errno ELOOP open "$MNT/absfile" rdonly,nofollow
expect_errno ELOOP open "$MNT/rel" rdonly,nofollow
expect_errno ENOTDIR open "$MNT/absfile" rdonly,nofollow,directory

section ".. at the mount's root"
expect_eq ".. of the mount root is the mountpoint's parent" \
    "$(stat -c %d:%i "$M")" "$(stat -c %d:%i "$MNT/..")"
expect_eq "cd MNT/.. lands in the mountpoint's parent" "$M" "$(cd "$MNT/.." && pwd -P)"
expect_eq "MNT/sub/../f is MNT/f" "inside" "$(cat "$MNT/sub/../f")"
expect_eq "MNT/sub/../../outside is the decoy" "$(stat -c %i "$DECOY")" \
    "$(stat -c %i "$MNT/sub/../../outside")"
expect_eq "ls MNT/.. lists the mount side" "mnt outside" "$(ls "$MNT/.." | xargs)"

section "hard links and renames across the boundary"
expect_errno EXDEV link "$MNT/f" "$HOST/link-out"
expect_errno EXDEV link "$HOST/file" "$MNT/link-in"
expect_errno EXDEV link "$CANARY/secret" "$MNT/link-canary"
expect_errno EXDEV linkat-fd "$CANARY/secret" "$MNT/link-fd"
expect_errno EXDEV link-procfd "$CANARY/secret" "$MNT/link-procfd"
expect_errno EXDEV rename "$MNT/f" "$HOST/moved-out"
expect_errno EXDEV rename "$HOST/file" "$MNT/moved-in"
expect_errno EXDEV rename-exchange "$MNT/f" "$HOST/file"
expect_errno EXDEV copy-range "$CANARY/secret" "$MNT/cfr"
check_fails "no link appeared" test -e "$MNT/link-in" -o -e "$MNT/link-fd" -o -e "$MNT/link-procfd"
expect_eq "the canary's link count is still 1" 1 "$(stat -c %h "$CANARY/secret")"

section "devices and setuid: nodev, nosuid"
opts=$(sn_mount_opts "$MNT")
expect_match "the mount is nodev" '(^|,)nodev(,|$)' "$opts"
expect_match "the mount is nosuid" '(^|,)nosuid(,|$)' "$opts"
if "$PO" mknod-chr "$MNT/null" 1 3 2>/dev/null; then
	expect_errno EACCES open "$MNT/null" wronly
else
	ok "mknod of a character device refused"
fi
cp /usr/bin/id "$MNT/id"
chown 0:0 "$MNT/id"
chmod 4755 "$MNT/id"
expect_eq "a setuid-root binary in the mount runs without privilege" \
    65534 "$(as_user 65534 "$MNT/id" -u 2>&1)"

section "/proc/self/fd"
check "open a directory of the mount, then walk /proc/self/fd/N/.. (kernel)" \
    bash -c "exec 9<'$MNT/sub'; [ \"\$(cd -P /proc/self/fd/9/.. && pwd -P)\" = '$MNT' ]"
check "create through /proc/self/fd/N of a mount directory" \
    bash -c "exec 9<'$MNT/sub'; echo x >/proc/self/fd/9/via-procfd; [ -e '$ROOT/sub/via-procfd' ]"

section "the canary after the static checks"
expect_eq "the canary is unchanged" "$CANARY0" "$(canary_state)"

section "ROOT swapped behind the daemon's back"
echo keep >"$ROOT/keep"
ls "$MNT" >/dev/null
mv "$ROOT" "$B/root.moved"
ln -s outside "$ROOT"              # ROOT is now a symlink to the canary
touch "$MNT/after-swap" 2>/dev/null || true
mkdir "$MNT/after-swap-dir" 2>/dev/null || true
ls "$MNT" >/dev/null 2>&1 || true
check_fails "nothing created in the canary after ROOT became a symlink to it" \
    test -e "$CANARY/after-swap" -o -e "$CANARY/after-swap-dir"
if [ -e "$B/root.moved/after-swap" ]; then
	ok "the daemon keeps serving the directory it opened"
else
	note "the daemon refused to create after the swap (also safe)"
fi
expect_eq "the canary is unchanged" "$CANARY0" "$(canary_state)"
sn_umount "$MNT"
rm "$ROOT"
mv "$B/root.moved" "$ROOT"

# escape_race NAME ITERATIONS [sentinel mount options]
race() {
	local name=$1 n=$2 root=$B/race-$1 canary=$B/canary-$1 mnt=$M/race-$1 rc=0
	shift 2
	mkdir -p "$root" "$canary" "$mnt"
	sn_mount "$@" "$root" "$mnt"
	sn__run "$RACE" -n "$n" -T 200 "$mnt" "$root" "$canary" || rc=$?
	case $rc in
	0) ok "escape_race ($name, $n swaps): canary untouched" ;;
	3) fail "escape_race ($name): the race was vacuous" "$SN__OUT" ;;
	*) fail "escape_race ($name, $n swaps): canary untouched" "exit $rc" "$SN__OUT" ;;
	esac
	note "$(printf '%s\n' "$SN__OUT" | grep -E 'racer:|workers:' | xargs)"
	sn_umount "$mnt"
}

section "TOCTOU: symlink swaps in ROOT against operations through the mount"
race "no-cache" "$ITER" -o cache_timeout=0
race "default" $((ITER / 2))
race "external-writers" $((ITER / 2)) --external-writers
race "small-fd-cache" $((ITER / 2)) -o fd_cache=64,cache_timeout=0

sn_done
