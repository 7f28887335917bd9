#!/bin/bash
# t-allow-other.sh - who may use a view: without allow_other only the
# mounting user (root); with allow_other every user, subject to the files'
# permissions; with allowed_uids only the listed uids (others get EACCES on
# everything, and change nothing).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
chmod 0755 "$SN_TMP"
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root
LISTED=65534 LISTED2=12345 UNLISTED=23456
mkdir -p "$ROOT/pub" "$SN_TMP/only" "$SN_TMP/two" "$SN_TMP/noallow" "$SN_TMP/all"
chmod 0755 "$ROOT"
chmod 0777 "$ROOT/pub"
echo "readable" >"$ROOT/file"
chmod 0644 "$ROOT/file"

cat >"$SN_TMP/views.ini" <<EOF
[server]
state_dir = $SN_TMP/state
[workspace "w"]
root = $ROOT
[view "only"]
workspace = w
agent = only
mountpoint = $SN_TMP/only
allow_other = true
allowed_uids = $LISTED
[view "two"]
workspace = w
agent = two
mountpoint = $SN_TMP/two
allow_other = true
allowed_uids = $LISTED, $LISTED2
[view "noallow"]
workspace = w
agent = noallow
mountpoint = $SN_TMP/noallow
[view "all"]
workspace = w
agent = all
mountpoint = $SN_TMP/all
allow_other = true
EOF
sn_serve "$SN_TMP/views.ini"

# denied UID MNT: every kind of access is refused with EACCES
denied() {
	local uid=$1 m=$2
	expect_errno_as "$uid" EACCES stat "$m"
	expect_errno_as "$uid" EACCES stat "$m/file"
	expect_errno_as "$uid" EACCES open "$m/file" rdonly
	expect_errno_as "$uid" EACCES open "$m/pub/by-$uid" wronly,creat
	expect_errno_as "$uid" EACCES mkdir "$m/pub/dir-$uid"
	expect_errno_as "$uid" EACCES ls-types "$m"
	expect_cmd_errno EACCES as_user "$uid" ls "$m/"
	check_fails "as uid $uid: nothing was created in ROOT" \
	    test -e "$ROOT/pub/by-$uid" -o -e "$ROOT/pub/dir-$uid"
}

# allowed UID MNT: reads, and creates files that belong to UID
allowed() {
	local uid=$1 m=$2 f
	f=by-$uid-$(basename "$m")
	check "as uid $uid: list $(basename "$m")" as_user "$uid" ls "$m/"
	expect_eq "as uid $uid: read a file" readable "$(as_user "$uid" cat "$m/file" 2>&1)"
	check "as uid $uid: create a file in a 0777 directory" \
	    as_user "$uid" "$PO" write "$m/pub/$f" data
	expect_eq "... it belongs to uid $uid" "$uid:$uid" "$(stat -c %u:%g "$ROOT/pub/$f" 2>&1)"
	expect_errno_as "$uid" EACCES open "$m/file" wronly
}

section "without allow_other: only the mounting user"
check "root reads" cat "$SN_TMP/noallow/file"
denied $LISTED "$SN_TMP/noallow"

section "allow_other without allowed_uids: every user"
allowed $LISTED "$SN_TMP/all"
allowed $UNLISTED "$SN_TMP/all"

if sn_is_sentinel; then
	section "allowed_uids = $LISTED"
	allowed $LISTED "$SN_TMP/only"
	denied $UNLISTED "$SN_TMP/only"
	denied $LISTED2 "$SN_TMP/only"
	section "allowed_uids = $LISTED, $LISTED2"
	allowed $LISTED "$SN_TMP/two"
	allowed $LISTED2 "$SN_TMP/two"
	denied $UNLISTED "$SN_TMP/two"
	if cat "$SN_TMP/only/file" >/dev/null 2>&1; then
		note "root (the mounting user) may use a view with allowed_uids"
	else
		note "root (the mounting user) is refused by allowed_uids"
	fi
else
	skip "allowed_uids" "needs sentinel (SN_MOUNT_CMD is set)"
fi

sn_stop "$SN_PID"

section "sentinel mount with and without -o allow_other"
mkdir -p "$SN_TMP/m"
sn_mount "$ROOT" "$SN_TMP/m"
denied $LISTED "$SN_TMP/m"
sn_umount "$SN_TMP/m"
sn_mount -o allow_other "$ROOT" "$SN_TMP/m"
allowed $LISTED "$SN_TMP/m"
sn_umount "$SN_TMP/m"

sn_done
