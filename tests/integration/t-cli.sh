#!/bin/bash
# t-cli.sh - the command line: help, version, usage errors; sentinel mount's
# error cases (exit 1, one line on stderr, nothing mounted, no process left);
# daemonizing, SIGTERM, sentinel umount; serve's config errors.
# shellcheck disable=SC2012,SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
sn_is_sentinel || sn_skip_all "tests sentinel's own command line (SN_MOUNT_CMD is set)"
ROOT=$SN_TMP/root MNT=$SN_TMP/mnt
mkdir -p "$ROOT/sub" "$MNT"
echo hello >"$ROOT/hello"
read -r -a WRAP <<<"$SN_TEST_WRAPPER"

# sn CMD...: run sentinel (under the wrapper), with a time limit; stdout in
# $OUT, stderr in $ERR, status in $RC.
sn() {
	RC=0
	timeout 60 "${WRAP[@]}" "$SN_SENTINEL" "$@" >"$SN_TMP/out" 2>"$SN_TMP/err" </dev/null || RC=$?
	OUT=$(cat "$SN_TMP/out")
	ERR=$(cat "$SN_TMP/err")
}

nlines() {
	if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# nothing_left DESC MNT: MNT is not mounted and no process has it as an argument
nothing_left() {
	local desc=$1 m=$2 pids
	if sn_is_mounted "$m"; then
		fail "$desc: nothing mounted" "$m is mounted"
		fusermount3 -u -z "$m" 2>/dev/null || true
		return 0
	fi
	pids=$(sn_procs_with_arg "$m")
	if [ -n "$pids" ]; then
		# a daemon that is just exiting gets a moment
		sn_wait_for 3 bash -c "[ -z \"\$(for p in $pids; do [ -e /proc/\$p ] && echo \$p; done)\" ]" || true
		pids=$(for p in $pids; do [ ! -e "/proc/$p" ] || echo "$p"; done)
	fi
	if [ -n "$pids" ]; then
		fail "$desc: no process left" "still running: $(for p in $pids; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
		for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	else
		ok "$desc: nothing mounted, no process left"
	fi
}

# mount_error DESC ARGS...: sentinel mount ARGS must exit 1 with one line on
# stderr and leave nothing mounted (the last argument is the mountpoint).
mount_error() {
	local desc=$1 before after x
	shift
	local m=${!#}
	before=$(sn__mounts_under "$SN_TMP")
	sn mount "$@"
	after=$(sn__mounts_under "$SN_TMP")
	if [ "$before" != "$after" ]; then
		fail "$desc: no new mount" "mounts before: $before" "after: $after"
		for x in $after; do
			[[ $'\n'$before$'\n' == *$'\n'$x$'\n'* ]] || fusermount3 -u -z "$x" || true
		done
	fi
	if [ "$RC" -eq 1 ] && [ "$(nlines "$ERR")" -eq 1 ]; then
		ok "$desc: exit 1, one line on stderr: $ERR"
	else
		fail "$desc: exit 1, one line on stderr" "sentinel mount $*" \
		    "exit $RC" "stderr: $ERR" "stdout: $OUT"
	fi
	nothing_left "$desc" "$m"
}

section "help, version, usage"
sn help
if [ "$RC" -eq 0 ] && [[ $OUT == *mount* ]]; then
	ok "sentinel help: exit 0, usage on stdout"
else
	fail "sentinel help: exit 0, usage on stdout" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
sn --version
if [ "$RC" -eq 0 ] && [[ $OUT =~ [0-9]+\.[0-9]+ ]]; then
	ok "sentinel --version: exit 0, a version on stdout ($OUT)"
else
	fail "sentinel --version: exit 0, a version on stdout" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
sn mount --help
if [ "$RC" -eq 0 ] && [[ $OUT == *mount* ]] && [[ $OUT == *-o* || $OUT == *OPT* ]]; then
	ok "sentinel mount --help: exit 0, usage with the -o options on stdout"
else
	fail "sentinel mount --help: exit 0, usage on stdout" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
sn no-such-command
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "unknown command: exit $RC, message on stderr"
else
	fail "unknown command: non-zero exit, message on stderr" "exit $RC" "stderr: $ERR"
fi
sn --no-such-flag
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "unknown global flag: exit $RC, message on stderr"
else
	fail "unknown global flag: non-zero exit, message on stderr" "exit $RC" "stderr: $ERR"
fi
sn mount --no-such-flag "$ROOT" "$MNT"
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "unknown mount flag: exit $RC, message on stderr"
else
	fail "unknown mount flag: non-zero exit, message on stderr" "exit $RC" "stderr: $ERR"
fi
nothing_left "unknown mount flag" "$MNT"
sn mount "$ROOT"
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "mount with one argument: exit $RC, message on stderr"
else
	fail "mount with one argument: non-zero exit, message on stderr" "exit $RC" "stderr: $ERR"
fi

section "sentinel mount: errors"
mount_error "unknown -o option" -o no_such_option "$ROOT" "$MNT"
mount_error "unknown -o option among known ones" -o threads=2,bogus=1 "$ROOT" "$MNT"
mount_error "-o threads=0 (out of range)" -o threads=0 "$ROOT" "$MNT"
mount_error "-o fd_cache=abc (not a number)" -o fd_cache=abc "$ROOT" "$MNT"
mount_error "-o cache_timeout=-1" -o cache_timeout=-1 "$ROOT" "$MNT"
mount_error "ROOT missing" "$SN_TMP/no-such-root" "$MNT"
echo file >"$SN_TMP/rootfile"
mount_error "ROOT is a file" "$SN_TMP/rootfile" "$MNT"
mount_error "mountpoint missing" "$ROOT" "$SN_TMP/no-such-mnt"
mount_error "mountpoint inside ROOT" "$ROOT" "$ROOT/sub"
mount_error "mountpoint is ROOT" "$ROOT" "$ROOT"
ln -s "$ROOT/sub" "$SN_TMP/sneaky"
mount_error "mountpoint is a symlink into ROOT" "$ROOT" "$SN_TMP/sneaky"

section "busy mountpoint"
sn_mount "$ROOT" "$MNT"
first=$SN_PID
sn mount "$ROOT" "$MNT"
if [ "$RC" -eq 1 ] && [ "$(nlines "$ERR")" -eq 1 ]; then
	ok "mount on a busy mountpoint: exit 1, one line: $ERR"
else
	fail "mount on a busy mountpoint: exit 1, one line on stderr" "exit $RC" "stderr: $ERR"
fi
expect_eq "still exactly one mount there" 1 \
    "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)"
expect_eq "the first mount still serves" hello "$(cat "$MNT/hello" 2>&1)"
expect_eq "only the first daemon runs" "$first" "$(sn_procs_with_arg "$MNT" | xargs)"

section "sentinel umount"
sn umount "$MNT"
expect_eq "sentinel umount of a -f mount: exit 0" "0" "$RC${ERR:+ ($ERR)}"
check_fails "it is unmounted" sn_is_mounted "$MNT"
sn__finish_daemon "$first" "sentinel umount"
sn umount "$MNT"
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "sentinel umount of something not mounted: exit $RC, message on stderr"
else
	fail "sentinel umount of something not mounted: non-zero, message" "exit $RC" "stderr: $ERR"
fi

section "foreground mount and SIGTERM"
sn_mount -o cache_timeout=5,fd_cache=64,threads=2,nowriteback "$ROOT" "$MNT"
expect_eq "-o cache_timeout=5,fd_cache=64,threads=2,nowriteback: serves" hello "$(cat "$MNT/hello" 2>&1)"
sn_stop "$SN_PID"
sn_mount -o allow_other --agent alice --workspace w1 --state-dir "$SN_TMP/state" "$ROOT" "$MNT"
expect_eq "--agent --workspace --state-dir -o allow_other: serves" hello "$(cat "$MNT/hello" 2>&1)"
sn_umount "$MNT"

section "daemon mode (no -f)"
# Its output goes into a pipe: a daemon that kept the pipe open would make
# "$(sentinel mount ...)" hang; 20 s is the limit for that.
t0=$(date +%s)
RC=0
ERR=$(timeout 20 bash -c '"$@" 2>&1 | cat; exit "${PIPESTATUS[0]}"' _ \
    "${WRAP[@]}" "$SN_SENTINEL" mount "$ROOT" "$MNT") || RC=$?
if [ "$RC" -eq 124 ]; then
	if [ -n "$SN_TEST_WRAPPER" ]; then
		# valgrind keeps its own copy of stderr for its reports
		note "no EOF on the pipe after 20 s (expected under $SN_TEST_WRAPPER)"
	else
		fail "sentinel mount returns while its output is read from a pipe" \
		    "no EOF on the pipe after 20 s: the daemon keeps stdout/stderr open"
	fi
	RC=0
fi
expect_eq "sentinel mount returns 0" 0 "$RC${ERR:+ ($ERR)}"
if [ "$RC" -eq 0 ]; then
	ok "it returned in $(($(date +%s) - t0)) s"
	# no waiting: the mount must be up when the command returns
	if sn_is_mounted "$MNT"; then
		ok "the mount is up as soon as it returns"
	else
		fail "the mount is up as soon as it returns" "not in /proc/self/mountinfo"
	fi
	expect_eq "and serving" hello "$(cat "$MNT/hello" 2>&1)"
	echo written >"$MNT/via-daemon"
	expect_eq "writes reach ROOT" written "$(cat "$ROOT/via-daemon")"
	dpid=$(sn_procs_with_arg "$MNT" | sed -n 1p)
	if [ -n "$dpid" ]; then
		ok "the daemon runs (pid $dpid)"
		kill -TERM "$dpid"
		if sn__wait_gone "$dpid" "$SN_WAIT_EXIT"; then
			ok "SIGTERM: the daemon exits"
		else
			fail "SIGTERM: the daemon exits" "still running"
			kill -KILL "$dpid" 2>/dev/null || true
		fi
		if sn_is_mounted "$MNT"; then
			fail "SIGTERM: the daemon unmounts" "still mounted"
			fusermount3 -u -z "$MNT" || true
		else
			ok "SIGTERM: the daemon unmounts"
		fi
	else
		fail "the daemon runs" "no process has $MNT as an argument"
		fusermount3 -u -z "$MNT" 2>/dev/null || true
	fi
fi

sn mount "$ROOT" "$MNT"
expect_eq "sentinel mount (daemon) again" 0 "$RC${ERR:+ ($ERR)}"
dpid=$(sn_procs_with_arg "$MNT" | sed -n 1p)
sn umount "$MNT"
expect_eq "sentinel umount: exit 0" 0 "$RC${ERR:+ ($ERR)}"
check_fails "unmounted" sn_is_mounted "$MNT"
if [ -n "$dpid" ] && sn__wait_gone "$dpid" "$SN_WAIT_EXIT"; then
	ok "the daemon exits after sentinel umount"
else
	fail "the daemon exits after sentinel umount" "pid '${dpid}' still running"
	[ -z "$dpid" ] || kill -KILL "$dpid" 2>/dev/null || true
fi

mkdir -p "$SN_TMP/rel"
RC=0
(cd "$SN_TMP" && timeout 60 "${WRAP[@]}" "$SN_SENTINEL" mount root rel) >"$SN_TMP/err" 2>&1 || RC=$?
expect_eq "relative ROOT and MOUNTPOINT (daemon mode)" 0 "$RC"
expect_eq "the relative mount serves ROOT" hello "$(cat "$SN_TMP/rel/hello" 2>&1)"
RC=0
fusermount3 -u "$SN_TMP/rel" 2>&1 || RC=$?
expect_eq "fusermount3 -u of a daemon mount" 0 "$RC"
check_fails "unmounted" sn_is_mounted "$SN_TMP/rel"
nothing_left "after fusermount3 -u of a daemon mount" "rel"

section "sentinel serve: config errors"
mkdir -p "$SN_TMP/v1" "$SN_TMP/v2"
cat >"$SN_TMP/bad.ini" <<EOF
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $SN_TMP/v1
no_such_key = 1
EOF
sn serve --config "$SN_TMP/bad.ini"
if [ "$RC" -eq 1 ] && [[ $ERR == *bad.ini:* ]]; then
	ok "an unknown key: exit 1, FILE:LINE message ($ERR)"
else
	fail "an unknown key: exit 1, FILE:LINE message" "exit $RC" "stderr: $ERR"
fi
nothing_left "serve with an unknown key" "$SN_TMP/v1"
cat >"$SN_TMP/half.ini" <<EOF
[server]
state_dir = $SN_TMP/state-half
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $SN_TMP/v1
[view "b"]
workspace = w
agent = bob
mountpoint = $SN_TMP/no-such-dir
EOF
sn serve --config "$SN_TMP/half.ini"
if [ "$RC" -eq 1 ] && [ -n "$ERR" ]; then
	ok "a view whose mountpoint is missing: exit 1 ($ERR)"
else
	fail "a view whose mountpoint is missing: exit 1" "exit $RC" "stderr: $ERR"
fi
nothing_left "the other, valid view is not left mounted" "$SN_TMP/v1"
cat >"$SN_TMP/inside.ini" <<EOF
[server]
state_dir = $SN_TMP/state-inside
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $ROOT/sub
EOF
sn serve --config "$SN_TMP/inside.ini"
expect_eq "serve: a view mounted inside its ROOT: exit 1" 1 "$RC"
nothing_left "serve with a mountpoint inside ROOT" "$ROOT/sub"
sn serve --config "$SN_TMP/no-such-config.ini"
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then
	ok "serve --config of a missing file: exit $RC ($ERR)"
else
	fail "serve --config of a missing file: non-zero, message" "exit $RC" "stderr: $ERR"
fi

section "sentinel serve: SIGTERM unmounts every view"
cat >"$SN_TMP/good.ini" <<EOF
[workspace "w"]
root = $ROOT
[view "a"]
workspace = w
agent = alice
mountpoint = $SN_TMP/v1
[view "b"]
workspace = w
agent = bob
role = Dev
mountpoint = $SN_TMP/v2
EOF
sn_serve "$SN_TMP/good.ini" --state-dir "$SN_TMP/state"
expect_eq "view a serves" hello "$(cat "$SN_TMP/v1/hello" 2>&1)"
expect_eq "view b serves" hello "$(cat "$SN_TMP/v2/hello" 2>&1)"
sn_stop "$SN_PID"

sn_done
