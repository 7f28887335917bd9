#!/bin/bash
# t-chaos.sh - fault injection in the views ([chaos], docs/config.md):
#   - rate = 0.5, errors = timeout, disk_full, seed = 42, scope = fs: about
#     half of 200 creates fail, each with ETIMEDOUT or ENOSPC (both kinds
#     seen), and a failed create leaves nothing in the backing dir; other
#     changes (mkdir, unlink) fail the same way and change nothing;
#   - reads never fail (open/read, stat, readdir, getxattr, readlink);
#   - every injected failure is an audit event marked injected, with the
#     errno returned and the rule chaos:timeout / chaos:disk_full, and
#     nothing else is marked injected;
#   - the same seed and the same operations on a fresh state dir and a
#     fresh view fail exactly the same operations; another seed does not;
#   - rate = 0 injects nothing; rate = 1 with errors = timeout fails every
#     change with ETIMEDOUT; scope = api leaves the views alone.
# shellcheck disable=SC2010
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_is_sentinel || sn_skip_all "chaos needs sentinel itself (SN_MOUNT_CMD is set)"
command -v python3 >/dev/null 2>&1 || sn_skip_all "needs python3"
sn_tmp
# shellcheck disable=SC2034 # used by expect_errno (lib.sh)
PO=$(sn_helper posix_ops)

# setup RUN: a fresh backing dir, state dir and mountpoint for RUN
setup() {
	local r=$SN_TMP/$1/root i
	mkdir -p "$r/dir" "$SN_TMP/$1/mnt"
	echo "read me" >"$r/readme"
	echo "x" >"$r/dir/x"
	setfattr -n user.k -v v "$r/readme"
	ln -s readme "$r/link"
	for i in $(seq -w 0 49); do
		echo "u$i" >"$r/u0$i"
	done
}

# config RUN RATE ERRORS SEED SCOPE: the config file of RUN (printed)
config() {
	local d=$SN_TMP/$1
	cat >"$d/chaos.ini" <<EOF
[server]
state_dir = $d/state
[workspace "w"]
root = $d/root
[view "c"]
workspace = w
agent = chaos-agent
mountpoint = $d/mnt
[chaos]
rate = $2
errors = $3
seed = $4
scope = $5
EOF
	printf '%s\n' "$d/chaos.ini"
}

# ops.py MNT KIND N: N operations of KIND (create, mkdir, unlink) through
# MNT, one line each: "NAME ok" or "NAME ENAME"
cat >"$SN_TMP/ops.py" <<'EOF'
import errno, os, sys
mnt, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    try:
        if kind == "create":
            name = "f%03d" % i
            os.close(os.open(os.path.join(mnt, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        elif kind == "mkdir":
            name = "d%03d" % i
            os.mkdir(os.path.join(mnt, name))
        elif kind == "unlink":
            name = "u%03d" % i
            os.unlink(os.path.join(mnt, name))
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, str(e.errno)))
EOF

# reads.py MNT N: N rounds of reads; prints the failures (nothing if none)
cat >"$SN_TMP/reads.py" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
bad = []
def trying(what, f):
    try:
        f()
    except OSError as e:
        bad.append("%s: %s" % (what, e))
for i in range(n):
    def rd():
        with open(os.path.join(mnt, "readme")) as f:
            if f.read() != "read me\n":
                raise OSError(0, "wrong content")
    trying("read readme", rd)
    trying("stat readme", lambda: os.stat(os.path.join(mnt, "readme")))
    trying("stat dir/x", lambda: os.stat(os.path.join(mnt, "dir", "x")))
    trying("list /", lambda: os.listdir(mnt))
    trying("list dir", lambda: os.listdir(os.path.join(mnt, "dir")))
    trying("getxattr", lambda: os.getxattr(os.path.join(mnt, "readme"), "user.k"))
    trying("listxattr", lambda: os.listxattr(os.path.join(mnt, "readme")))
    trying("readlink", lambda: os.readlink(os.path.join(mnt, "link")))
    trying("read via link", lambda: open(os.path.join(mnt, "link")).read())
    trying("access", lambda: os.access(os.path.join(mnt, "readme"), os.R_OK) or None)
print("\n".join(bad[:10]))
EOF

# injected.py AUDIT_JSONL: "NAME ERRNO RULE" per injected event of the
# view's agent (NAME: the path), sorted
cat >"$SN_TMP/injected.py" <<'EOF'
import json, sys
out = []
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    e = json.loads(line)
    if e.get("injected") in (True, 1):
        out.append("%s %s %s %s" % (e["path"], e["errno"], e["rule"], e["agent"]))
print("\n".join(sorted(out)))
EOF

# failures FILE: the lines of FILE that are not "NAME ok"
failures() { grep -v ' ok$' "$1" || true; }
nfail() { failures "$1" | grep -c . || true; }

# expected_injected RESULTS: what the trail must say for RESULTS' failures
expected_injected() {
	failures "$1" | while read -r name e; do
		case $e in
		ETIMEDOUT) echo "$name 110 chaos:timeout chaos-agent" ;;
		ENOSPC) echo "$name 28 chaos:disk_full chaos-agent" ;;
		*) echo "$name $e (not a chaos errno)" ;;
		esac
	done | sort
}

# audit_injected RUN WANT: wait (3 s) until the trail of RUN has WANT lines of
# injected events; print them
audit_injected() {
	local d=$SN_TMP/$1 want=$2 i got
	for i in $(seq 1 15); do
		"$SN_SENTINEL" audit list --state-dir "$d/state" -o json >"$d/audit.jsonl" 2>&1 || true
		got=$(python3 "$SN_TMP/injected.py" "$d/audit.jsonl" 2>&1)
		[ "$(printf '%s' "$got" | grep -c .)" -lt "$want" ] || break
		sleep 0.2
	done
	printf '%s\n' "$got"
}

# in_root RUN RESULTS: "NAME yes|no" for each name of RESULTS
in_root() {
	local name rest
	while read -r name rest; do
		if [ -e "$SN_TMP/$1/root/$name" ]; then echo "$name yes"; else echo "$name no"; fi
	done <"$2"
}
# want_in_root RESULTS [INVERT]: the "NAME yes|no" a correct run gives
want_in_root() {
	awk -v inv="${2:-0}" '{ ok = ($2 == "ok"); if (inv) ok = !ok; print $1, (ok ? "yes" : "no") }' "$1"
}

# sequence RUN: the same operations, in the same order, for every run
sequence() {
	local m=$SN_TMP/$1/mnt
	python3 "$SN_TMP/ops.py" "$m" create 200 >"$SN_TMP/$1/creates"
	python3 "$SN_TMP/reads.py" "$m" 30 >"$SN_TMP/$1/reads"
	python3 "$SN_TMP/ops.py" "$m" mkdir 100 >"$SN_TMP/$1/mkdirs"
	python3 "$SN_TMP/ops.py" "$m" unlink 50 >"$SN_TMP/$1/unlinks"
}

# ---- rate 0.5 --------------------------------------------------------------------
section "rate = 0.5, errors = timeout, disk_full, seed = 42: about half the changes fail"
setup run1
sn_serve "$(config run1 0.5 "timeout, disk_full" 42 fs)"
sequence run1
R1=$SN_TMP/run1
n=$(nfail "$R1/creates")
note "$n of 200 creates failed"
check "between 60 and 140 of 200 creates fail ($n)" test "$n" -ge 60 -a "$n" -le 140
expect_eq "every failure is ETIMEDOUT or ENOSPC" "" \
    "$(failures "$R1/creates" | grep -vE ' (ETIMEDOUT|ENOSPC)$' | head -n 5)"
nt=$(grep -c ' ETIMEDOUT$' "$R1/creates" || true)
ns=$(grep -c ' ENOSPC$' "$R1/creates" || true)
check "both kinds are injected (ETIMEDOUT $nt, ENOSPC $ns; at least 15 each)" \
    test "$nt" -ge 15 -a "$ns" -ge 15
expect_eq "a failed create left nothing in ROOT, a good one made its file" \
    "$(want_in_root "$R1/creates")" "$(in_root run1 "$R1/creates")"
check "a failed create is not there through the view either" \
    bash -c "! ls -A '$R1/mnt' | grep -qxF '$(failures "$R1/creates" | head -n 1 | cut -d' ' -f1)'"
expect_eq "reads never fail (30 rounds of read, stat, readdir, xattrs, readlink)" "" \
    "$(cat "$R1/reads")"
n=$(nfail "$R1/mkdirs")
check "between 20 and 80 of 100 mkdirs fail ($n)" test "$n" -ge 20 -a "$n" -le 80
expect_eq "... each with ETIMEDOUT or ENOSPC" "" \
    "$(failures "$R1/mkdirs" | grep -vE ' (ETIMEDOUT|ENOSPC)$' | head -n 5)"
expect_eq "... a failed mkdir made no directory" \
    "$(want_in_root "$R1/mkdirs")" "$(in_root run1 "$R1/mkdirs")"
n=$(nfail "$R1/unlinks")
check "between 8 and 42 of 50 unlinks fail ($n)" test "$n" -ge 8 -a "$n" -le 42
expect_eq "... each with ETIMEDOUT or ENOSPC" "" \
    "$(failures "$R1/unlinks" | grep -vE ' (ETIMEDOUT|ENOSPC)$' | head -n 5)"
expect_eq "... a failed unlink left its file, a good one removed it" \
    "$(want_in_root "$R1/unlinks" 1)" "$(in_root run1 "$R1/unlinks")"

section "the audit trail marks every injected failure, and nothing else"
cat "$R1/creates" "$R1/mkdirs" "$R1/unlinks" >"$R1/all"
want=$(expected_injected "$R1/all")
expect_eq "injected events: the failed operations, their errno, rule chaos:..." \
    "$want" "$(audit_injected run1 "$(printf '%s\n' "$want" | grep -c .)")"
sn_stop "$SN_PID"

# ---- the same seed again ---------------------------------------------------------
section "the same seed and the same operations, on a fresh state dir and view"
setup run2
sn_serve "$(config run2 0.5 "timeout, disk_full" 42 fs)"
sequence run2
R2=$SN_TMP/run2
expect_eq "the same creates fail, with the same errors" "$(cat "$R1/creates")" "$(cat "$R2/creates")"
expect_eq "the same mkdirs fail" "$(cat "$R1/mkdirs")" "$(cat "$R2/mkdirs")"
expect_eq "the same unlinks fail" "$(cat "$R1/unlinks")" "$(cat "$R2/unlinks")"
expect_eq "reads never fail" "" "$(cat "$R2/reads")"
sn_stop "$SN_PID"

section "another seed: other failures"
setup run3
sn_serve "$(config run3 0.5 "timeout, disk_full" 43 fs)"
python3 "$SN_TMP/ops.py" "$SN_TMP/run3/mnt" create 200 >"$SN_TMP/run3/creates"
expect_ne "seed 43 fails other creates than seed 42" "$(cat "$R1/creates")" \
    "$(cat "$SN_TMP/run3/creates")"
sn_stop "$SN_PID"

# ---- rate 0, rate 1, scope api ------------------------------------------------------
section "rate = 0: nothing is injected"
setup run4
sn_serve "$(config run4 0 "timeout, disk_full" 42 fs)"
sequence run4
expect_eq "no create fails" "" "$(failures "$SN_TMP/run4/creates")"
expect_eq "no mkdir fails" "" "$(failures "$SN_TMP/run4/mkdirs")"
expect_eq "no unlink fails" "" "$(failures "$SN_TMP/run4/unlinks")"
expect_eq "reads never fail" "" "$(cat "$SN_TMP/run4/reads")"
sleep 0.5
expect_eq "no injected event in the trail" "" "$(audit_injected run4 0)"
check "the trail has the changes, though (at least 350 events)" \
    test "$(grep -c . "$SN_TMP/run4/audit.jsonl")" -ge 350
sn_stop "$SN_PID"

section "rate = 1, errors = timeout: every change fails with ETIMEDOUT"
setup run5
sn_serve "$(config run5 1 timeout 7 fs)"
python3 "$SN_TMP/ops.py" "$SN_TMP/run5/mnt" create 50 >"$SN_TMP/run5/creates"
python3 "$SN_TMP/reads.py" "$SN_TMP/run5/mnt" 10 >"$SN_TMP/run5/reads"
expect_eq "all 50 creates fail with ETIMEDOUT" 50 "$(grep -c ' ETIMEDOUT$' "$SN_TMP/run5/creates" || true)"
expect_eq "no file was made" "" "$(ls "$SN_TMP/run5/root" | grep '^f' || true)"
expect_eq "reads never fail" "" "$(cat "$SN_TMP/run5/reads")"
expect_errno ETIMEDOUT mkdir "$SN_TMP/run5/mnt/newdir"
expect_errno ETIMEDOUT open "$SN_TMP/run5/mnt/readme" wronly
expect_errno ETIMEDOUT chmod "$SN_TMP/run5/mnt/readme" 600
expect_errno ETIMEDOUT rename "$SN_TMP/run5/mnt/readme" "$SN_TMP/run5/mnt/moved"
expect_errno ETIMEDOUT setxattr "$SN_TMP/run5/mnt/readme" user.x y
expect_cmd_errno ETIMEDOUT touch "$SN_TMP/run5/mnt/touched"
expect_eq "readme is untouched" "644 read me" \
    "$(stat -c %a "$SN_TMP/run5/root/readme") $(cat "$SN_TMP/run5/root/readme")"
sn_stop "$SN_PID"

section "scope = api: the views are left alone"
setup run6
sn_serve "$(config run6 1 "timeout, disk_full" 42 api)"
python3 "$SN_TMP/ops.py" "$SN_TMP/run6/mnt" create 50 >"$SN_TMP/run6/creates"
expect_eq "no create fails" "" "$(failures "$SN_TMP/run6/creates")"
sn_stop "$SN_PID"

sn_done
