#!/bin/bash
# t-tools.sh - real tools on a view: git, tar, gcc and make (and running the
# result from the mount), cp -a, rsync -a, mv, an editor's atomic save,
# sed -i, sqlite3 (rollback journal and WAL), and diff -r between the mount
# and its backing directory at the end.
# shellcheck disable=SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root MNT=$SN_TMP/mnt SRC=$SN_TMP/src
mkdir -p "$ROOT" "$MNT" "$SRC"
export HOME=$SN_TMP/home GIT_CONFIG_NOSYSTEM=1 LC_ALL=C TZ=UTC
mkdir -p "$HOME"
git config --global user.name "Sentinel Test"
git config --global user.email "test@example.invalid"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# A source tree to work with: the kernel headers, plus symlinks, odd modes,
# xattrs and nanosecond times.
SRC_TREE=${SN_TOOLS_TREE:-/usr/include/linux}
[ -d "$SRC_TREE" ] || sn_skip_all "no $SRC_TREE to use as a source tree"
cp -a "$SRC_TREE" "$SRC/linux"
mkdir -p "$SRC/extra/sub"
ln -s ../linux/types.h "$SRC/extra/link-to-types"
ln -s dangling "$SRC/extra/dangling"
printf '#!/bin/sh\necho script ran\n' >"$SRC/extra/run.sh"
chmod 0750 "$SRC/extra/run.sh"
chmod 0600 "$SRC/extra/sub"
chmod 0700 "$SRC/extra/sub"
echo data >"$SRC/extra/sub/file"
touch -d '2001-02-03 04:05:06.123456789' "$SRC/extra/sub/file"
setfattr -n user.note -v hello "$SRC/extra/sub/file" 2>/dev/null || true
nsrc=$(find "$SRC" | wc -l)
note "source tree: $nsrc entries"

sn_mount "$ROOT" "$MNT"
set +e  # a failing step shows in the checks that follow it

section "tar"
tar -C "$SRC" --format=posix -cf "$SN_TMP/src.tar" linux extra  # ns mtimes
check "tar x into the mount" tar -C "$MNT" -xpf "$SN_TMP/src.tar"
check "diff -r against the source" diff -r --no-dereference "$SRC/linux" "$MNT/linux"
# name type mode size (not for directories) mtime(ns) link-target
meta() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %T@ %l\n' |
	    awk '$2 == "d" { $4 = "-" } { print }' | sort)
}
expect_eq "names, types, modes, sizes, mtimes (ns) and link targets preserved" \
    "$(meta "$SRC")" "$(meta "$MNT")"
tarc() {
	tar -C "$1" --sort=name --numeric-owner --owner=0 --group=0 \
	    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	    -cf - linux extra
}
check "tar c of the mount equals tar c of the source, byte for byte" \
    cmp <(tarc "$SRC") <(tarc "$MNT")
check "tar c of the backing dir is the same too" cmp <(tarc "$SRC") <(tarc "$ROOT")

section "cp -a, rsync -a, mv"
check "cp -a into the mount" cp -a "$SRC" "$MNT/cp"
expect_eq "cp -a kept the metadata" "$(meta "$SRC")" "$(meta "$MNT/cp")"
expect_eq "cp -a kept an xattr" "$(getfattr --only-values -n user.note "$SRC/extra/sub/file" 2>&1)" \
    "$(getfattr --only-values -n user.note "$MNT/cp/extra/sub/file" 2>&1)"
check "cp -a out of the mount" cp -a "$MNT/cp" "$SN_TMP/cp-out"
expect_eq "the round trip kept the metadata" "$(meta "$SRC")" "$(meta "$SN_TMP/cp-out")"
if command -v rsync >/dev/null 2>&1; then
	check "rsync -a into the mount" rsync -a "$SRC/" "$MNT/rs/"
	expect_eq "rsync -a kept the metadata" "$(meta "$SRC")" "$(meta "$MNT/rs")"
	expect_eq "a second rsync -a finds nothing to do" "" \
	    "$(rsync -a --itemize-changes "$SRC/" "$MNT/rs/" 2>&1)"
	check "rsync --checksum finds identical content" \
	    bash -c "[ -z \"\$(rsync -a --checksum --itemize-changes --dry-run '$SRC/' '$MNT/rs/')\" ]"
	echo changed >>"$SRC/extra/sub/file"
	check "rsync -a of a change (temp file + rename)" rsync -a "$SRC/" "$MNT/rs/"
	expect_eq "the change arrived" "$(cat "$SRC/extra/sub/file")" "$(cat "$ROOT/rs/extra/sub/file")"
	check "rsync --inplace --no-whole-file of a change" \
	    bash -c "echo more >>'$SRC/extra/sub/file' && rsync -a --inplace --no-whole-file '$SRC/' '$MNT/rs/'"
	check "... and it is right" cmp "$SRC/extra/sub/file" "$MNT/rs/extra/sub/file"
else
	skip "rsync" "not installed"
fi
mkdir -p "$MNT/mv/a" "$MNT/mv/b"
check "mv a tree across directories" mv "$MNT/cp" "$MNT/mv/a/tree"
check "mv it again" mv "$MNT/mv/a/tree" "$MNT/mv/b/"
expect_eq "the moved tree is intact" "$(meta "$SN_TMP/cp-out")" "$(meta "$MNT/mv/b/tree")"
check "the backing dir has it at the new place only" \
    bash -c "[ -d '$ROOT/mv/b/tree/linux' ] && [ ! -e '$ROOT/mv/a/tree' ] && [ ! -e '$ROOT/cp' ]"

section "an editor's save"
printf 'line one\nline two\n' >"$MNT/edit.txt"
ino0=$(stat -c %i "$MNT/edit.txt")
check "atomic save: write a temp file, fsync, rename over, fsync the dir" \
    "$PO" atomic-save "$MNT/edit.txt" $'line one\nline 2\n'
expect_eq "the backing file has the new content" $'line one\nline 2' "$(cat "$ROOT/edit.txt")"
expect_eq "the mount too" $'line one\nline 2' "$(cat "$MNT/edit.txt")"
expect_ne "it is a new inode" "$ino0" "$(stat -c %i "$MNT/edit.txt")"
check_fails "no temp file left" test -e "$MNT/edit.txt.tmp~"
check "sed -i" sed -i 's/line 2/line two, again/' "$MNT/edit.txt"
expect_eq "sed -i's result in the backing file" $'line one\nline two, again' "$(cat "$ROOT/edit.txt")"
check "echo > through a symlink" bash -c "ln -s edit.txt '$MNT/edit.lnk' && echo replaced >'$MNT/edit.lnk'"
expect_eq "the target changed" replaced "$(cat "$ROOT/edit.txt")"

section "gcc, make, and running the result from the mount"
mkdir -p "$MNT/prog"
cat >"$MNT/prog/main.c" <<'EOF'
#include <stdio.h>
int add(int, int);
int main(void) { printf("sum=%d\n", add(40, 2)); return 0; }
EOF
cat >"$MNT/prog/add.c" <<'EOF'
int add(int a, int b) { return a + b; }
EOF
printf 'prog: main.o add.o\n\t$(CC) -o $@ main.o add.o\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\nclean:\n\trm -f prog *.o\n' >"$MNT/prog/Makefile"
check "gcc compiles in the mount" gcc -O2 -o "$MNT/prog/direct" "$MNT/prog/main.c" "$MNT/prog/add.c"
expect_eq "and the binary runs from the mount" "sum=42" "$("$MNT/prog/direct" 2>&1)"
check "make -j4 in the mount" make -s -C "$MNT/prog" -j4
expect_eq "make's result runs" "sum=42" "$("$MNT/prog/prog" 2>&1)"
touch "$MNT/prog/add.c"
check "make sees a touched source (mtimes)" bash -c "make -C '$MNT/prog' -q; [ \$? -eq 1 ]"
check "make rebuilds" make -s -C "$MNT/prog"
check "make is then up to date" make -C "$MNT/prog" -q
expect_eq "a script runs from the mount" "script ran" "$("$MNT/linux/../extra/run.sh" 2>&1)"

section "git"
G=$MNT/repo
mkdir -p "$G"
check "git init" git -C "$G" init -q
check "copy a tree in" cp -a "$SRC/linux" "$G/linux"
check "git add -A" git -C "$G" add -A
check "git commit" git -C "$G" commit -q -m "initial"
expect_eq "git status is clean" "" "$(git -C "$G" status --porcelain 2>&1)"
echo "// changed" >>"$G/linux/types.h"
expect_eq "git status sees a change" " M linux/types.h" "$(git -C "$G" status --porcelain 2>&1)"
check "git commit -a" git -C "$G" commit -q -a -m "change"
check "git checkout -b, rm, mv, commit" bash -c "
	git -C '$G' checkout -q -b topic &&
	git -C '$G' rm -q -r linux/netfilter &&
	git -C '$G' mv linux/types.h linux/types-renamed.h &&
	git -C '$G' commit -q -m topic"
expect_eq "git log" $'topic\nchange\ninitial' "$(git -C "$G" log --format=%s 2>&1)"
check "git checkout main restores the files" git -C "$G" checkout -q main
check "... as they were" diff -r "$SRC/linux/netfilter" "$G/linux/netfilter"
expect_eq "git status still clean" "" "$(git -C "$G" status --porcelain 2>&1)"
check "git gc" git -C "$G" gc -q
check "git fsck" git -C "$G" fsck --no-progress
check "git clone within the mount (hard links)" git clone -q "$G" "$MNT/clone"
check "git clone out of the mount" git clone -q "$G" "$SN_TMP/clone-out"
check "the clone matches" diff -r "$SRC/linux/netfilter" "$SN_TMP/clone-out/linux/netfilter"
check "git log in the clone" git -C "$MNT/clone" log --oneline -1
check "git worktree add" git -C "$G" worktree add -q "$MNT/wt" topic
check "git stash" bash -c "echo x >>'$G/linux/kernel.h' && git -C '$G' stash -q && git -C '$G' stash pop -q"

section "sqlite3"
if command -v sqlite3 >/dev/null 2>&1; then
	DB=$MNT/db/test.db
	mkdir -p "$MNT/db"
	check "sqlite3: create a table and insert 2000 rows in one transaction" \
	    sqlite3 "$DB" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
		BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<2000)
		INSERT INTO t(v) SELECT printf('row %d', x) FROM c; COMMIT;"
	expect_eq "count" 2000 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;' 2>&1)"
	check "a rolled back transaction leaves nothing" sqlite3 "$DB" \
	    "BEGIN; DELETE FROM t; ROLLBACK;"
	expect_eq "count after rollback" 2000 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;' 2>&1)"
	expect_eq "integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)"
	expect_eq "WAL mode" wal "$(sqlite3 "$DB" 'PRAGMA journal_mode=WAL;' 2>&1)"
	# a busy timeout, as any application has: the first connection to
	# open a WAL database (the reader's, or a writer's) rebuilds its index
	# under an exclusive lock, and the last to close checkpoints, and a
	# connection that meets either gets SQLITE_BUSY at once without one
	# (on any filesystem; CI met it once)
	check "WAL: writes with a concurrent reader" bash -c "
		sqlite3 -cmd '.timeout 10000' '$DB' 'BEGIN; SELECT count(*) FROM t; SELECT 1 FROM t WHERE id=1;' >/dev/null &
		for i in \$(seq 50); do sqlite3 -cmd '.timeout 10000' '$DB' \"INSERT INTO t(v) VALUES('wal \$i');\" || exit 1; done
		wait"
	expect_eq "count in WAL mode" 2050 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;' 2>&1)"
	check "two writers contend through locks (busy_timeout)" bash -c "
		for w in 1 2; do
			( for i in \$(seq 100); do sqlite3 -cmd '.timeout 10000' '$DB' \"INSERT INTO t(v) VALUES('w\$w \$i');\" || exit 1; done ) &
		done
		wait -n && wait -n"
	expect_eq "count after contention" 2250 "$(sqlite3 "$DB" 'SELECT count(*) FROM t;' 2>&1)"
	check "checkpoint" sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);'
	expect_eq "the backing db agrees" 2250 "$(sqlite3 "file:$ROOT/db/test.db?mode=ro" 'SELECT count(*) FROM t;' 2>&1)"
	expect_eq "integrity_check after all that" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)"
else
	skip "sqlite3" "not installed"
fi

section "the mount and its backing directory agree"
check "diff -r between the mount and the backing dir" \
    diff -r --no-dereference "$MNT" "$ROOT"
expect_eq "and their metadata" "$(meta "$ROOT")" "$(meta "$MNT")"
set -e

sn_umount "$MNT"
sn_done
