# lib.sh - sourced by every integration test in tests/integration/ (bash).
#
#   [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#   . "$(dirname "$0")/../lib.sh"
#   sn_require_fuse             # exit 77 unless root, /dev/fuse, fusermount3
#   sn_tmp                      # $SN_TMP: private temp dir, cleaned on exit
#   PO=$(sn_helper posix_ops)   # tests/helpers/ programs
#   sn_mount [opts] ROOT MNT    # sentinel mount -f, in the background;
#                               # returns when MNT answers; sets SN_PID
#   check "what" cmd args...    # ok / not ok lines
#   sn_umount MNT               # fusermount3 -u; the daemon must exit 0
#   sn_done                     # summary; exit 0 pass, 1 fail
#
# Daemons:  sn_mount, sn_serve CONFIG [args] (every [view] mounted),
#           sn_umount MNT, sn_stop PID (SIGTERM: must unmount, exit 0),
#           sn_bg CMD (any background process, killed at exit),
#           sn_is_mounted PATH, sn_mount_opts PATH, sn_procs_with_arg S,
#           sn_is_sentinel (false when SN_MOUNT_CMD stands in)
# Checks:   ok, fail DESC [DETAIL...], skip DESC WHY, note, section,
#           check DESC CMD, check_fails DESC CMD, expect_eq DESC WANT GOT,
#           expect_ne, expect_match DESC ERE GOT, expect_le DESC MAX GOT,
#           expect_errno ERR OP ARGS (posix_ops; exact errno),
#           expect_errno_as UID ERR OP ARGS, expect_cmd_errno ERR CMD
#           (strerror text in CMD's output), sn_wait_for SECS CMD,
#           as_user UID CMD, sn_skip_all WHY (exit 77), sn_bail WHY (exit 1),
#           sn_free_port (a free loopback TCP port)
#
# Output is TAP-like ("ok N - ...", "not ok N - ...", "# ..." notes, a
# "1..N" plan at the end) so a failure says what was checked and what
# happened.  Exit status: 0 pass, 1 fail, 77 skip (automake's test-driver).
# An unexpected failure of a plain command (set -e) aborts the test with
# its line number; a test that is killed or times out never passes; every
# mount and background process is gone when the test ends.
#
# Environment:
#   SN_BUILDDIR      build directory (make check sets it); default: the
#                    source tree this file is in
#   SN_SRCDIR        source directory (make check sets it)
#   SN_TEST_WRAPPER  command line to prefix to sentinel (valgrind ...); a
#                    non-zero exit of sentinel fails the test (99: memory
#                    errors with --error-exitcode=99)
#   SN_SENTINEL      the binary (default $SN_BUILDDIR/sentinel)
#   SN_MOUNT_CMD     test-only: mount with this command instead of sentinel,
#                    e.g. "bindfs" (run as: CMD -f [-o allow_other] ROOT MNT;
#                    sn_serve mounts each [view] that way); checks that need
#                    Sentinel itself are skipped
#   SN_TEST_TIMEOUT  seconds for the whole test (default 300)
#   SN_WAIT_MOUNT, SN_WAIT_EXIT  seconds to wait for a mount / a daemon's
#                    exit (default 10 / 15; 90 / 90 with SN_TEST_WRAPPER)
#   SN_KEEP_TMP=1    keep the temp dir (for debugging)
#   TMPDIR           where the temp dir goes (default /tmp)

# shellcheck disable=SC2034 # SN_PID, SN_LOG, SN_BGPID are for the tests

# Bash only (make check runs tests with $(SHELL), which may be dash).
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -eu
set -o pipefail
set -E

# ---- a time limit for the whole test ----------------------------------------
# Re-run this test once under timeout(1).  timeout signals its whole process
# group, so a hung filesystem call is interrupted too; the EXIT trap below
# then unmounts and cleans up.
if [ -z "${SN__UNDER_TIMEOUT:-}" ] && command -v timeout >/dev/null 2>&1; then
	export SN__UNDER_TIMEOUT=1
	exec timeout -k 10 "${SN_TEST_TIMEOUT:-300}" bash "$0" "$@"
fi

SN_NAME=$(basename "$0" .sh)
SN__LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
: "${SN_SRCDIR:=$(cd "$SN__LIBDIR/.." && pwd -P)}"
: "${SN_BUILDDIR:=$SN_SRCDIR}"
: "${SN_TEST_WRAPPER:=}"
: "${SN_SENTINEL:=$SN_BUILDDIR/sentinel}"
: "${SN_MOUNT_CMD:=}"
export SN_SRCDIR SN_BUILDDIR

# Slower waits under valgrind.
if [ -n "$SN_TEST_WRAPPER" ]; then
	SN_WAIT_MOUNT=${SN_WAIT_MOUNT:-90}
	SN_WAIT_EXIT=${SN_WAIT_EXIT:-90}
else
	SN_WAIT_MOUNT=${SN_WAIT_MOUNT:-10}
	SN_WAIT_EXIT=${SN_WAIT_EXIT:-15}
fi

SN_TMP=''
SN_PID=''                        # pid of the last sn_mount / sn_serve
SN_LOG=''                        # its log file (stdout + stderr)
SN_BGPID=''                      # pid of the last sn_bg
SN__N=0 SN__FAILS=0 SN__SKIPS=0
SN__FINISHED=0
SN__MOUNTS=()                    # every mountpoint we mounted
SN__PIDS=()                      # every background process we started
declare -A SN__MNT_PID=()        # mountpoint -> daemon pid
declare -A SN__PID_LOG=()        # daemon pid -> log file
declare -A SN__PID_WHAT=()       # daemon pid -> description
declare -A SN__PID_MNTS=()       # daemon pid -> its mountpoints
declare -A SN__PID_KIND=()       # daemon pid -> mount | serve

# ---- output -------------------------------------------------------------------

# Shorten paths in messages.
sn__short() {
	local s="$*"
	if [ -n "$SN_TMP" ]; then
		s=${s//"$SN_TMP"/\$T}
	fi
	printf '%s' "$s"
}

note() {
	printf '# %s\n' "$(sn__short "$*")"
}

# section TITLE: a heading in the output.
section() {
	printf '#\n# ---- %s\n' "$*"
}

ok() {
	SN__N=$((SN__N + 1))
	printf 'ok %d - %s\n' "$SN__N" "$(sn__short "$*")"
}

# fail DESC [DETAIL...]: a failed check; each DETAIL is printed on its own
# "#" line (multi-line details are split).
fail() {
	local d line
	SN__N=$((SN__N + 1))
	SN__FAILS=$((SN__FAILS + 1))
	printf 'not ok %d - %s\n' "$SN__N" "$(sn__short "$1")"
	shift
	for d in "$@"; do
		while IFS= read -r line; do
			printf '#     %s\n' "$(sn__short "$line")"
		done <<<"$d"
	done
}

# skip DESC REASON
skip() {
	SN__N=$((SN__N + 1))
	SN__SKIPS=$((SN__SKIPS + 1))
	printf 'ok %d - %s # SKIP %s\n' "$SN__N" "$(sn__short "$1")" "${2:-}"
}

# known_gap DESC ISSUE-NOTE: a check the current code is known not to pass,
# kept visible (reported as a skip) until the gap named is closed.
known_gap() {
	skip "$1" "known gap: ${2:-}"
}

# The whole test is skipped (exit 77).
sn_skip_all() {
	printf '1..0 # SKIP %s: %s\n' "$SN_NAME" "$*"
	SN__FINISHED=1
	exit 77
}

# The test cannot go on (exit 1 after cleanup).
sn_bail() {
	local d line
	printf 'Bail out! %s\n' "$(sn__short "$1")"
	shift
	for d in "$@"; do
		while IFS= read -r line; do
			printf '#     %s\n' "$(sn__short "$line")"
		done <<<"$d"
	done
	SN__FAILS=$((SN__FAILS + 1))
	SN__FINISHED=1
	exit 1
}

# An unexpected command failure under set -e.
sn__on_err() {
	local rc=$1 line=$2 cmd=$3
	[ "${BASH_SUBSHELL:-0}" -eq 0 ] || return 0
	[ "$SN__FINISHED" -eq 0 ] || return 0
	[[ $- == *e* ]] || return 0    # in a "set +e" stretch: not fatal
	fail "$SN_NAME aborted: unexpected failure at line $line" \
	    "command: $cmd" "exit status: $rc"
}
trap 'sn__on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---- assertions -----------------------------------------------------------------

SN__OUT=

# sn__run CMD...: run, output (stdout+stderr) into $SN__OUT; returns status.
sn__run() {
	local f="${SN_TMP:-/tmp}/.sn_out.$BASHPID"
	local rc=0
	"$@" >"$f" 2>&1 </dev/null || rc=$?
	SN__OUT=$(head -c 4000 "$f")
	rm -f "$f"
	return "$rc"
}

# check DESC CMD...: CMD must succeed.
check() {
	local desc=$1 rc=0
	shift
	sn__run "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		fail "$desc" "command: $*" "exit status: $rc" "$SN__OUT"
	fi
	return 0
}

# check_fails DESC CMD...: CMD must fail (any non-zero status).
check_fails() {
	local desc=$1 rc=0
	shift
	sn__run "$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		ok "$desc"
	else
		fail "$desc" "command: $*" "it succeeded, but must fail" "$SN__OUT"
	fi
	return 0
}

# expect_eq DESC WANT GOT (multi-line values are shown as a diff)
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	elif [[ $2 == *$'\n'* || $3 == *$'\n'* ]]; then
		fail "$1" "differences (- want, + got):" \
		    "$(diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") |
			tail -n +3 | grep -v '^ ' | head -n 40)"
	else
		fail "$1" "want: $2" "got:  $3"
	fi
	return 0
}

# expect_ne DESC NOT_WANTED GOT
expect_ne() {
	if [ "$2" != "$3" ]; then
		ok "$1"
	else
		fail "$1" "got the value it must differ from: $3"
	fi
	return 0
}

# expect_match DESC ERE GOT
expect_match() {
	if [[ $3 =~ $2 ]]; then
		ok "$1"
	else
		fail "$1" "want to match: $2" "got: $3"
	fi
	return 0
}

# expect_le DESC MAX GOT (integers)
expect_le() {
	if [ "$3" -le "$2" ]; then
		ok "$1"
	else
		fail "$1" "want at most $2" "got $3"
	fi
	return 0
}

# expect_errno ERR[,ERR...] OP ARGS...: the posix_ops operation must fail with
# exactly that errno (see tests/helpers/posix_ops.c).
expect_errno() {
	local want=$1 rc=0
	shift
	sn__run "$PO" expect-errno "$want" "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$* -> $want"
	else
		fail "$* -> $want" "$SN__OUT"
	fi
	return 0
}

# expect_errno_as UID ERR OP ARGS...: same, as another user.
expect_errno_as() {
	local uid=$1 want=$2 rc=0
	shift 2
	sn__run as_user "$uid" "$PO" expect-errno "$want" "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "as uid $uid: $* -> $want"
	else
		fail "as uid $uid: $* -> $want" "$SN__OUT"
	fi
	return 0
}

# expect_cmd_errno ERR CMD...: an ordinary command must fail with the
# strerror text of ERR in its output (e.g. "Permission denied").
expect_cmd_errno() {
	local want=$1 msg rc=0
	shift
	msg=$("$PO" strerror "$want")
	sn__run "$@" || rc=$?
	if [ "$rc" -ne 0 ] && [[ $SN__OUT == *"$msg"* ]]; then
		ok "$* -> $want"
	elif [ "$rc" -eq 0 ]; then
		fail "$* -> $want" "it succeeded" "$SN__OUT"
	else
		fail "$* -> $want" "exit $rc, but not '$msg'" "$SN__OUT"
	fi
	return 0
}

# as_user UID CMD...: run CMD as uid UID, gid UID, no supplementary groups.
as_user() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# sn_wait_for SECONDS CMD...: poll (every 20 ms) until CMD succeeds.
# sn_free_port: a TCP port free on 127.0.0.1 now (the kernel picks it).
sn_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

sn_wait_for() {
	local limit=$1 i=0 n
	shift
	n=$((limit * 50))
	while [ "$i" -lt "$n" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.02
		i=$((i + 1))
	done
	"$@" >/dev/null 2>&1
}

# ---- requirements, temp dir, helpers ---------------------------------------------

sn_require_fuse() {
	[ "$(id -u)" -eq 0 ] || sn_skip_all "needs root (mounts FUSE, switches uids)"
	[ -c /dev/fuse ] || sn_skip_all "no /dev/fuse"
	if [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
		sn_skip_all "/dev/fuse not usable"
	fi
	command -v fusermount3 >/dev/null 2>&1 || sn_skip_all "no fusermount3"
	grep -qw fuse /proc/filesystems 2>/dev/null ||
	    sn_skip_all "the kernel has no fuse filesystem"
	if [ -z "$SN_MOUNT_CMD" ] && [ ! -x "$SN_SENTINEL" ]; then
		sn_bail "no sentinel binary at $SN_SENTINEL (build it first)"
	fi
	if [ -n "$SN_MOUNT_CMD" ]; then
		note "SN_MOUNT_CMD='$SN_MOUNT_CMD': testing that instead of sentinel"
	fi
}

# True when testing the real sentinel (not an SN_MOUNT_CMD stand-in).
sn_is_sentinel() {
	[ -z "$SN_MOUNT_CMD" ]
}

# sn_tmp: make $SN_TMP (mode 0700; chmod it for tests with other users).
sn_tmp() {
	[ -z "$SN_TMP" ] || return 0
	SN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sn-$SN_NAME.XXXXXX")
	SN_TMP=$(cd "$SN_TMP" && pwd -P)
	note "temp dir: $SN_TMP"
}

# sn_helper NAME: path of a test helper binary; built by make check, else
# compiled here from tests/helpers/NAME.c.
sn_helper() {
	local name=$1 src bin
	src=$SN_SRCDIR/tests/helpers/$name.c
	bin=$SN_BUILDDIR/tests/helpers/$name
	if [ -x "$bin" ] && { [ ! -e "$src" ] || [ "$bin" -nt "$src" ]; }; then
		printf '%s\n' "$bin"
		return 0
	fi
	[ -n "$SN_TMP" ] || sn_bail "sn_helper: call sn_tmp first"
	bin=$SN_TMP/.bin/$name
	if [ ! -x "$bin" ]; then
		mkdir -p "$SN_TMP/.bin"
		"${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -pthread -o "$bin" "$src" >&2 ||
		    return 1
	fi
	printf '%s\n' "$bin"
}

# ---- mounts and daemons ------------------------------------------------------------

# sn_is_mounted PATH: PATH is a mount point (of a fuse filesystem).
sn_is_mounted() {
	awk -v m="$1" '
	    $5 == m { for (i = 7; i <= NF; i++) if ($i == "-") break;
		      if ($(i + 1) ~ /^fuse/) { found = 1 } }
	    END { exit !found }' /proc/self/mountinfo
}

# sn_mount_opts PATH: the mount's options (per-mount and superblock).
sn_mount_opts() {
	awk -v m="$1" '
	    $5 == m { for (i = 7; i <= NF; i++) if ($i == "-") break;
		      print $6 "," $(i + 3) }' /proc/self/mountinfo | tail -n 1
}

# Any mounts at or below a directory.
sn__mounts_under() {
	awk -v d="$1" 'index($5, d "/") == 1 || $5 == d { print $5 }' \
	    /proc/self/mountinfo
}

sn__alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# sn__wait_gone PID SECONDS: wait until the process is gone.
sn__wait_gone() {
	local pid=$1 n=$(($2 * 50)) i=0
	while sn__alive "$pid"; do
		[ "$i" -lt "$n" ] || return 1
		sleep 0.02
		i=$((i + 1))
	done
	return 0
}

# sn__log_tail PID: the last lines of a daemon's log, for diagnostics.
sn__log_tail() {
	local log=${SN__PID_LOG[$1]:-}
	if [ -n "$log" ] && [ -s "$log" ]; then
		printf 'its output (last lines of %s):\n' "$log"
		tail -n 25 "$log"
	fi
}

# sn_bg CMD...: start CMD in the background (killed at exit); sets SN_BGPID.
sn_bg() {
	"$@" &
	SN_BGPID=$!
	SN__PIDS+=("$SN_BGPID")
}

# Translate sentinel mount arguments for an SN_MOUNT_CMD stand-in.
sn__standin_args() {
	local allow=0 o
	SN__STANDIN=()
	while [ $# -gt 2 ]; do
		case $1 in
		--agent | --workspace | --state-dir | --config) shift 2 ;;
		-o)
			for o in ${2//,/ }; do
				[ "$o" != allow_other ] || allow=1
			done
			shift 2
			;;
		*) shift ;;
		esac
	done
	read -r -a SN__STANDIN <<<"$SN_MOUNT_CMD"
	SN__STANDIN+=(-f)
	if [ "$allow" -eq 1 ]; then
		SN__STANDIN+=(-o allow_other)
	elif [ "$(basename "${SN__STANDIN[0]}")" = bindfs ]; then
		SN__STANDIN+=(--no-allow-other)
	fi
	SN__STANDIN+=("$1" "$2")
}

# sn__wait_mounted PID SECONDS MNT...: until every MNT is a fuse mount and
# answers a stat; 1: no mount in time, 2: the process died first, 3: mounted
# but a stat of the mount hung (the daemon does not serve).
sn__wait_mounted() {
	local pid=$1 secs=$2 n=$(($2 * 50)) i=0 m all
	shift 2
	while :; do
		all=1
		for m in "$@"; do
			sn_is_mounted "$m" || { all=0; break; }
		done
		if [ "$all" -eq 1 ]; then
			break
		fi
		if ! sn__alive "$pid"; then
			return 2
		fi
		[ "$i" -lt "$n" ] || return 1
		sleep 0.02
		i=$((i + 1))
	done
	# a stat answered (in its own process, so a hang can be killed)
	for m in "$@"; do
		timeout -s KILL "$secs" stat -c %i "$m" >/dev/null 2>&1 || return 3
	done
	return 0
}

# sn__stacks PID: what each thread of a process is blocked in (kernel).
sn__stacks() {
	local t
	for t in /proc/"$1"/task/*; do
		[ -r "$t/stat" ] || continue
		printf 'thread %s (%s) state %s:\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" \
		    "$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1)"
		head -n 6 "$t/stack" 2>/dev/null | sed 's/^/    /'
	done
}

sn__record() {
	local kind=$1 pid=$2 what=$3 log=$4 m
	shift 4
	SN__PIDS+=("$pid")
	SN__PID_KIND[$pid]=$kind
	SN__PID_LOG[$pid]=$log
	SN__PID_WHAT[$pid]=$what
	SN__PID_MNTS[$pid]="$*"
	for m in "$@"; do
		SN__MOUNTS+=("$m")
		SN__MNT_PID[$m]=$pid
	done
	SN_PID=$pid
	SN_LOG=$log
}

# sn__start_failed PID RC WHAT: report a daemon that did not come up.
sn__start_failed() {
	local pid=$1 rc=$2 what=$3 st='' stacks
	if [ "$rc" -eq 2 ]; then
		wait "$pid" 2>/dev/null || st=$?
		sn_bail "$what: the daemon exited (status ${st:-0}) before the mount appeared" \
		    "$(sn__log_tail "$pid")"
	fi
	stacks=$(sn__stacks "$pid")
	kill -KILL "$pid" 2>/dev/null || true
	if [ "$rc" -eq 3 ]; then
		sn_bail "$what: mounted, but a stat of the mount did not answer in ${SN_WAIT_MOUNT}s (daemon hung at startup?)" \
		    "the daemon's threads were blocked in:" "$stacks" "$(sn__log_tail "$pid")"
	fi
	sn_bail "$what: no mount after ${SN_WAIT_MOUNT}s" \
	    "the daemon's threads were blocked in:" "$stacks" "$(sn__log_tail "$pid")"
}

# sn_mount [sentinel mount options...] ROOT MNT: sentinel mount -f, in the
# background; returns when MNT is mounted.  Sets SN_PID and SN_LOG.
sn_mount() {
	[ $# -ge 2 ] || sn_bail "sn_mount: need ROOT MNT"
	[ -n "$SN_TMP" ] || sn_bail "sn_mount: call sn_tmp first"
	local mnt=${!#} pid log rc=0 wrap=()
	mnt=$(cd "$mnt" && pwd -P) || sn_bail "sn_mount: no mountpoint $mnt"
	! sn_is_mounted "$mnt" || sn_bail "sn_mount: $mnt is already mounted"
	log=$(mktemp "$SN_TMP/daemon.XXXXXX")
	if [ -n "$SN_MOUNT_CMD" ]; then
		sn__standin_args "$@"
		"${SN__STANDIN[@]}" >"$log" 2>&1 </dev/null &
		pid=$!
	else
		read -r -a wrap <<<"$SN_TEST_WRAPPER"
		"${wrap[@]}" "$SN_SENTINEL" mount -f "$@" >"$log" 2>&1 </dev/null &
		pid=$!
	fi
	sn__record mount "$pid" "sentinel mount $*" "$log" "$mnt"
	sn__wait_mounted "$pid" "$SN_WAIT_MOUNT" "$mnt" || rc=$?
	[ "$rc" -eq 0 ] || sn__start_failed "$pid" "$rc" "sentinel mount $*"
}

# sn_config_views CONFIG: "mountpoint<TAB>root<TAB>allow_other" per [view].
sn_config_views() {
	awk -v statedir="${SN_STATE_DIR:-}" '
	function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
	/^[ \t]*[#;]/ || /^[ \t]*$/ { next }
	/^[ \t]*\[/ {
		sec = $0; sub(/^[ \t]*\[/, "", sec); sub(/\][ \t]*$/, "", sec)
		kind = sec; sub(/[ \t].*/, "", kind)
		name = sec; sub(/^[^"]*"/, "", name); sub(/".*/, "", name)
		if (kind == "view") { nv++; vname[nv] = name }
		next
	}
	{
		k = $0; sub(/=.*/, "", k); k = trim(k)
		v = $0; sub(/^[^=]*=/, "", v); v = trim(v)
		if (kind == "server" && k == "state_dir" && statedir == "") statedir = v
		if (kind == "workspace" && k == "root") wroot[name] = v
		if (kind == "view" && k == "mountpoint") vmnt[nv] = v
		if (kind == "view" && k == "workspace") vws[nv] = v
		if (kind == "view" && k == "allow_other") vallow[nv] = v
	}
	END {
		for (i = 1; i <= nv; i++) {
			r = wroot[vws[i]]
			if (r == "") r = statedir "/workspaces/" vws[i] "/root"
			a = tolower(vallow[i])
			a = (a == "true" || a == "yes" || a == "on" || a == "1")
			printf "%s\t%s\t%d\n", vmnt[i], r, a
		}
	}' "$1"
}

# sn_serve CONFIG [more serve arguments]: sentinel serve --config CONFIG in
# the background; returns when every [view]'s mountpoint is mounted.
sn_serve() {
	[ -n "$SN_TMP" ] || sn_bail "sn_serve: call sn_tmp first"
	local cfg=$1 pid log rc=0 wrap=() mnts=() m r a
	shift
	while IFS=$'\t' read -r m r a; do
		mnts+=("$m")
	done < <(sn_config_views "$cfg")
	[ "${#mnts[@]}" -gt 0 ] || sn_bail "sn_serve: no [view] in $cfg"
	log=$(mktemp "$SN_TMP/daemon.XXXXXX")
	if [ -n "$SN_MOUNT_CMD" ]; then
		# a stand-in: one mount per view, one process that owns them
		(
			set +e
			trap - ERR
			pids=()
			while IFS=$'\t' read -r m r a; do
				if [ "$a" = 1 ]; then
					sn__standin_args -o allow_other "$r" "$m"
				else
					sn__standin_args "$r" "$m"
				fi
				"${SN__STANDIN[@]}" </dev/null &
				pids+=($!)
			done < <(sn_config_views "$cfg")
			trap 'for m in "${mnts[@]}"; do fusermount3 -u "$m"; done; wait; exit 0' TERM
			wait
		) >"$log" 2>&1 </dev/null &
		pid=$!
	else
		read -r -a wrap <<<"$SN_TEST_WRAPPER"
		"${wrap[@]}" "$SN_SENTINEL" serve --config "$cfg" "$@" \
		    >"$log" 2>&1 </dev/null &
		pid=$!
	fi
	sn__record serve "$pid" "sentinel serve --config $cfg $*" "$log" "${mnts[@]}"
	sn__wait_mounted "$pid" "$SN_WAIT_MOUNT" "${mnts[@]}" || rc=$?
	[ "$rc" -eq 0 ] || sn__start_failed "$pid" "$rc" "sentinel serve --config $cfg"
}

# sn__finish_daemon PID HOW: wait for a daemon to exit and report its status
# (0 wanted; under valgrind --error-exitcode=99, 99 is a memory error).
# Failures are reported (not ok), not returned.
sn__finish_daemon() {
	local pid=$1 how=$2 st=0 what=${SN__PID_WHAT[$1]:-process $1} m
	if ! sn__wait_gone "$pid" "$SN_WAIT_EXIT"; then
		fail "$what exits after $how" \
		    "still running ${SN_WAIT_EXIT}s later; killing it" \
		    "$(sn__log_tail "$pid")"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	wait "$pid" 2>/dev/null || st=$?
	for m in ${SN__PID_MNTS[$pid]:-}; do
		unset "SN__MNT_PID[$m]"
		if sn_is_mounted "$m"; then
			fail "$what: $m unmounted after $how" "still mounted"
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		fi
	done
	unset "SN__PID_MNTS[$pid]"
	if [ "$st" -eq 0 ]; then
		ok "$what: exited 0 after $how"
		return 0
	fi
	if [ "$st" -eq 99 ] && [ -n "$SN_TEST_WRAPPER" ]; then
		fail "$what: exited 0 after $how" \
		    "exit status 99: memory errors reported by $SN_TEST_WRAPPER" \
		    "$(sn__log_tail "$pid")"
	else
		fail "$what: exited 0 after $how" "exit status $st" \
		    "$(sn__log_tail "$pid")"
	fi
	return 0
}

# sn_umount MNT: fusermount3 -u; the daemon that served it must exit 0
# (for a serve daemon with several views, it keeps running).
sn_umount() {
	local mnt pid out rc=0 m left
	mnt=$(cd "$1" 2>/dev/null && pwd -P) || mnt=$1
	pid=${SN__MNT_PID[$mnt]:-}
	# a process of the test that is just exiting may still hold a file
	for _ in $(seq 50); do
		rc=0
		out=$(fusermount3 -u "$mnt" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ] || [[ $out != *busy* ]]; then
			break
		fi
		sleep 0.1
	done
	if [ "$rc" -ne 0 ]; then
		fail "fusermount3 -u $mnt" "exit $rc: $out" \
		    "$(fuser -vm "$mnt" 2>&1 | head -n 20)"
		fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	[ -n "$pid" ] || return 0
	unset "SN__MNT_PID[$mnt]"
	left=
	for m in ${SN__PID_MNTS[$pid]:-}; do
		[ "$m" = "$mnt" ] || left="$left $m"
	done
	SN__PID_MNTS[$pid]=${left# }
	if [ -n "$left" ]; then
		return 0
	fi
	sn__finish_daemon "$pid" "fusermount3 -u $mnt"
}

# sn_stop PID: SIGTERM a daemon; it must unmount everything and exit 0.
sn_stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	sn__finish_daemon "$pid" "SIGTERM"
}

# sn_procs_with_arg STRING: pids of processes with STRING as an argument.
sn_procs_with_arg() {
	local p
	for p in /proc/[0-9]*; do
		[ -r "$p/cmdline" ] || continue
		if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -xF -- "$1" >/dev/null; then
			printf '%s\n' "${p#/proc/}"
		fi
	done
	return 0
}

# ---- the end --------------------------------------------------------------------

# sn_done: stop what is still running (checking exit statuses), print the
# plan and a summary, exit 0 (pass), 1 (fail) or 77 (all skipped).
sn_done() {
	local pid
	for pid in "${!SN__PID_MNTS[@]}"; do
		if [ "${SN__PID_KIND[$pid]}" = mount ] &&
		    [ -n "${SN__PID_MNTS[$pid]}" ]; then
			sn_umount "${SN__PID_MNTS[$pid]}"
		else
			sn_stop "$pid"
		fi
	done
	printf '1..%d\n' "$SN__N"
	printf '# %s: %d passed, %d failed, %d skipped\n' "$SN_NAME" \
	    $((SN__N - SN__FAILS - SN__SKIPS)) "$SN__FAILS" "$SN__SKIPS"
	SN__FINISHED=1
	if [ "$SN__FAILS" -gt 0 ]; then
		exit 1
	fi
	if [ "$SN__N" -gt 0 ] && [ "$SN__SKIPS" -eq "$SN__N" ]; then
		exit 77
	fi
	exit 0
}

# The EXIT trap: unmount whatever is still mounted, end our processes,
# remove the temp dir.  Never lets a failed or aborted test pass.
sn__cleanup() {
	local rc=$? pid m left
	trap - ERR
	set +e
	for m in "${SN__MOUNTS[@]}"; do
		if sn_is_mounted "$m"; then
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	if [ -n "$SN_TMP" ]; then
		# anything else mounted in our temp dir (a daemonized mount)
		for m in $(sn__mounts_under "$SN_TMP" | sort -r); do
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	fi
	for pid in "${SN__PIDS[@]}"; do
		sn__alive "$pid" || continue
		sn__wait_gone "$pid" 3 || kill -TERM "$pid" 2>/dev/null
		sn__wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${SN__PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "$SN_TMP" ] && [ -d "$SN_TMP" ]; then
		left=$(sn__mounts_under "$SN_TMP")
		if [ -n "$left" ]; then
			printf '# WARNING: still mounted, not removing %s: %s\n' \
			    "$SN_TMP" "$left"
			rc=1
		elif [ "${SN_KEEP_TMP:-0}" = 1 ]; then
			printf '# keeping %s (SN_KEEP_TMP=1)\n' "$SN_TMP"
		else
			chattr -R -i "$SN_TMP" 2>/dev/null
			rm -rf --one-file-system "$SN_TMP"
		fi
	fi
	if [ "$SN__FINISHED" -ne 1 ]; then
		# killed, timed out, or aborted by set -e
		[ "$SN__N" -eq 0 ] || printf '1..%d\n' "$SN__N"
		printf '# %s: aborted (status %d) after %d checks, %d failed\n' \
		    "$SN_NAME" "$rc" "$SN__N" "$SN__FAILS"
		[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1
	fi
	exit "$rc"
}
trap sn__cleanup EXIT
trap 'printf "# %s: terminated by SIGTERM (time limit %ss?)\n" "$SN_NAME" "${SN_TEST_TIMEOUT:-300}"; exit 124' TERM
trap 'printf "# %s: interrupted\n" "$SN_NAME"; exit 130' INT HUP
