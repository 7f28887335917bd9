#!/bin/bash
# t-posix.sh - POSIX conformance of a Sentinel view: each operation through
# the mount behaves as it does on the backing filesystem (compared with the
# same operation on a native directory where that is useful): results,
# errnos, owners, permissions, hard links, long paths, O_DIRECT, O_TMPFILE,
# xattrs, fallocate/holes, copy_file_range, locks, special files, mmap.
# shellcheck disable=SC2012,SC2011,SC2016
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_tmp
chmod 0755 "$SN_TMP"            # other users must reach the mount
PO=$(sn_helper posix_ops)
ROOT=$SN_TMP/root MNT=$SN_TMP/mnt NAT=$SN_TMP/native
mkdir -p "$ROOT" "$MNT" "$NAT"
chmod 0755 "$ROOT" "$NAT"
NOBODY=65534
OTHER=65533

sn_mount -o allow_other "$ROOT" "$MNT"
note "mounted $ROOT on $MNT (pid $SN_PID)"

# po_result OP ARGS...: "ok", an errno name, or "WRONG" (scenario failed)
po_result() {
	local out rc=0
	out=$("$PO" "$@" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo ok
	elif [[ $out =~ \((E[A-Z0-9]+)\)$ ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo "WRONG(rc=$rc: ${out//$'\n'/ })"
	fi
}

# conf [-u UID] WANT OP ARGS...: '@' in ARGS stands for the tree's top; the
# operation runs on the native tree and through the mount; the native result
# must be WANT (else the test itself is wrong) and the mount's must equal it.
conf() {
	local uid='' want a x rn rm nat=() mnt=()
	if [ "$1" = -u ]; then
		uid=$2
		shift 2
	fi
	want=$1
	shift
	for a in "$@"; do
		nat+=("${a//@/$NAT}")
		mnt+=("${a//@/$MNT}")
	done
	if [ -n "$uid" ]; then
		rn=$(po_result_as "$uid" "${nat[@]}")
		rm=$(po_result_as "$uid" "${mnt[@]}")
		x="as uid $uid: "
	else
		rn=$(po_result "${nat[@]}")
		rm=$(po_result "${mnt[@]}")
		x=''
	fi
	if [ "$rn" != "$want" ]; then
		fail "${x}$* -> $want" "TEST BUG: on the native directory it gives $rn"
	elif [ "$rm" = "$rn" ]; then
		ok "${x}$* -> $want"
	else
		fail "${x}$* -> $want (as natively)" "through the mount: $rm"
	fi
}

po_result_as() {
	local uid=$1
	shift
	as_user "$uid" bash -c '
	    out=$("$0" "$@" 2>&1 >/dev/null); rc=$?
	    if [ $rc -eq 0 ]; then echo ok
	    elif [[ $out =~ \((E[A-Z0-9]+)\)$ ]]; then echo "${BASH_REMATCH[1]}"
	    else echo "WRONG(rc=$rc: $out)"; fi' "$PO" "$@"
}

# st PATH FIELD: a field of posix_ops lstat output (ino, nlink, mode, ...)
st() {
	"$PO" lstat "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---- the same tree natively and through the mount -----------------------------
# (built through the mount: creating it is the first test)
mk_tree() {
	local t=$1
	printf 'content of f\n' >"$t/f"
	printf 'content of g\n' >"$t/g"
	mkdir "$t/d" "$t/e" "$t/d/sub"
	printf x >"$t/d/x"
	ln -s f "$t/l"
	ln -s nowhere "$t/dl"
	mkdir -m 0700 "$t/priv"
	printf secret >"$t/priv/s"
	printf 'read only\n' >"$t/ro"
	chmod 0644 "$t/ro"
	mkdir -m 0777 "$t/pub"
	mkdir -m 1777 "$t/sticky"
	printf 'root file in sticky\n' >"$t/sticky/rootfile"
	chmod 0666 "$t/sticky/rootfile"
	mkdir -m 2777 "$t/sgid"
	chgrp 4242 "$t/sgid"
	chmod 2777 "$t/sgid"
	printf '' >"$t/zero"
	chmod 0000 "$t/zero"
}

section "creating a tree through the mount"
check "mkdir, create, write, symlink, chmod, chgrp through the mount" mk_tree "$MNT"
mk_tree "$NAT"
expect_eq "the backing tree matches the native one (names, types, modes)" \
    "$(cd "$NAT" && find . -printf '%p %y %m %g %s\n' | sort)" \
    "$(cd "$ROOT" && find . -printf '%p %y %m %g %s\n' | sort)"
expect_eq "the mount lists the same" \
    "$(cd "$NAT" && find . -printf '%p %y %m %g %s\n' | sort)" \
    "$(cd "$MNT" && find . -printf '%p %y %m %g %s\n' | sort)"
expect_eq "content written through the mount is in the backing file" \
    "content of f" "$(cat "$ROOT/f")"
expect_eq "readdir d_type through the mount" \
    "$("$PO" ls-types "$NAT")" "$("$PO" ls-types "$MNT")"

section "data: odd-sized writes, reads, sparse files"
check "write 3 MiB in odd chunks (1, 4095, 4097, 128K+1 ...)" \
    "$PO" pattern-write "$MNT/big" 3145728 42
check "the backing file holds exactly that" "$PO" pattern-check "$ROOT/big" 3145728 42
check "reading it back through the mount" "$PO" pattern-check "$MNT/big" 3145728 42
check "overwrite 100000 bytes in the middle (offset 1000001)" \
    "$PO" pattern-write "$MNT/big" 100000 43 1000001
check "the middle changed in the backing file" \
    "$PO" pattern-check "$ROOT/big" 100000 43 1000001
check "... and the bytes around it did not" \
    "$PO" pattern-check "$ROOT/big" 1000001 42 0
check "write at 10 MiB makes a sparse file" "$PO" pattern-write "$MNT/sparse" 10 1 10485760
expect_eq "its size" 10485770 "$(stat -c %s "$MNT/sparse")"
expect_eq "the hole reads as zeros" 0 "$(head -c 10485760 "$MNT/sparse" | tr -d '\0' | wc -c)"
check "mmap: write through a shared mapping, read() sees it" "$PO" mmap-rw "$MNT/mm"
check "an open file keeps working after unlink (write, read, fstat, ftruncate, fchmod)" \
    "$PO" unlinked-rw "$MNT/d"
check "O_APPEND from two processes: no record lost or torn" "$PO" append "$MNT/ap" 2000
check "fsync and fdatasync of a file" "$PO" fsync "$MNT/big"
check "fsync of a directory" "$PO" fsync "$MNT/d"
echo hello >"$MNT/t1"
echo " world" >>"$MNT/t1"
expect_eq "shell > and >>" "hello
 world" "$(cat "$ROOT/t1")"
: >"$MNT/t1"
expect_eq "truncate by > (O_TRUNC)" 0 "$(stat -c %s "$ROOT/t1")"

section "errnos: the same as on the backing filesystem"
long255=$(printf 'n%.0s' $(seq 255))
long256=$(printf 'n%.0s' $(seq 256))
conf ENOENT open @/nope rdonly
conf ENOENT open @/nope/x rdonly
conf ENOENT stat "@/$long255"
conf ENAMETOOLONG open "@/$long256" wronly,creat
conf ENAMETOOLONG mkdir "@/$long256"
conf ENAMETOOLONG stat "@/$long256"
conf ENAMETOOLONG symlink x "@/$long256"
conf EEXIST open @/f wronly,creat,excl
conf EEXIST mkdir @/d
conf EEXIST mkdir @/f
conf EEXIST symlink x @/f
conf EEXIST link @/f @/g
conf EEXIST mknod-fifo @/f
conf EEXIST open @/dl wronly,creat,excl
conf ENOTDIR open @/f/x rdonly
conf ENOTDIR mkdir @/f/x
conf ENOTDIR open @/f rdonly,directory
conf ENOTDIR rmdir @/f
conf ENOTDIR rename @/d @/f
conf EISDIR open @/d wronly
conf EISDIR open @/d rdwr
conf EISDIR unlink @/d
conf EISDIR rename @/f @/e
conf EISDIR truncate @/d 0
conf ENOTEMPTY rmdir @/d
conf ENOTEMPTY rename @/e @/d
conf EINVAL rename @/d @/d/sub/x
conf EINVAL readlink @/f
conf EPERM link @/d @/d2
conf ELOOP open @/l rdonly,nofollow
conf EEXIST rename-noreplace @/f @/g
conf ENOENT rename-exchange @/f @/nope
conf ENODATA getxattr @/f user.nope
conf ENODATA removexattr @/f user.nope
conf ENODATA setxattr @/f user.new v replace
conf ok setxattr @/f user.once v create
conf EEXIST setxattr @/f user.once v create
conf ENOTSUP setxattr @/f bogusns.x v
conf EACCES access @/f x
conf ENXIO seek-data @/f 1000
conf ENXIO seek-hole @/f 1000
conf EINVAL rmdir @/d/.
conf ENOENT unlink @/nope
conf ENOENT rmdir @/nope
conf ENOENT link @/nope @/n2
conf ENOENT rename @/nope @/n2
conf ENOENT chmod @/nope 644
conf ENOENT truncate @/nope 0
conf ENOENT readlink @/nope
conf ENOENT getxattr @/nope user.x
conf ENOENT open @/dl rdonly
conf ok open @/dl wronly,creat
expect_eq "O_CREAT through a dangling symlink created its target inside ROOT" \
    "reg" "$(st "$ROOT/nowhere" type)"

section "a non-root caller (uid $NOBODY) with allow_other"
conf -u $NOBODY EACCES open @/priv/s rdonly
conf -u $NOBODY EACCES stat @/priv/s
conf -u $NOBODY EACCES open @/priv/new wronly,creat
conf -u $NOBODY EACCES mkdir @/priv/new
conf -u $NOBODY EACCES open @/ro wronly
conf -u $NOBODY EACCES open @/ro rdwr
conf -u $NOBODY EACCES truncate @/ro 0
conf -u $NOBODY EACCES unlink @/ro
conf -u $NOBODY EACCES rename @/ro @/pub/ro
conf -u $NOBODY EACCES open @/zero rdonly
conf -u $NOBODY EPERM chmod @/ro 777
conf -u $NOBODY EPERM chown @/ro $NOBODY $NOBODY
conf -u $NOBODY EACCES utimens @/ro now now
conf -u $NOBODY EPERM utimens @/ro 1000 1000
conf -u $NOBODY EACCES setxattr @/ro user.x v
conf -u $NOBODY EPERM unlink @/sticky/rootfile
conf -u $NOBODY ok open @/sticky/rootfile wronly
conf -u $NOBODY EACCES symlink x @/d/nolink
conf -u $NOBODY EACCES rmdir @/d/sub
conf -u $NOBODY ok open @/ro rdonly
conf -u $NOBODY ok stat @/priv
conf ok open @/zero rdonly
check "root reads a mode-0000 file through the mount" cat "$MNT/zero"

conf -u $NOBODY ok open @/pub/mine wronly,creat 0640
expect_eq "a file created by uid $NOBODY belongs to it (backing file)" \
    "$NOBODY:$NOBODY 640" "$(stat -c '%u:%g %a' "$ROOT/pub/mine")"
expect_eq "... and through the mount" \
    "$NOBODY:$NOBODY 640" "$(stat -c '%u:%g %a' "$MNT/pub/mine")"
conf -u $NOBODY ok mkdir @/pub/mydir 0751
expect_eq "a directory made by uid $NOBODY belongs to it" \
    "$NOBODY:$NOBODY 751" "$(stat -c '%u:%g %a' "$ROOT/pub/mydir")"
conf -u $NOBODY ok symlink target @/pub/mylink
expect_eq "a symlink made by uid $NOBODY belongs to it" \
    "$NOBODY:$NOBODY" "$(stat -c '%u:%g' "$ROOT/pub/mylink")"
conf -u $NOBODY ok mknod-fifo @/pub/myfifo 0600
expect_eq "a fifo made by uid $NOBODY belongs to it" \
    "$NOBODY:$NOBODY fifo" "$(stat -c '%u:%g' "$ROOT/pub/myfifo") $(st "$ROOT/pub/myfifo" type)"
conf -u $NOBODY ok tmpfile @/pub @/pub/mytmp
expect_eq "an O_TMPFILE file linked in by uid $NOBODY belongs to it" \
    "$NOBODY:$NOBODY" "$(stat -c '%u:%g' "$ROOT/pub/mytmp" 2>&1)"
conf -u $NOBODY ok rename @/pub/mine @/pub/mine2
conf -u $NOBODY ok chmod @/pub/mine2 600
conf -u $NOBODY ok utimens @/pub/mine2 1000 2000
conf -u $NOBODY ok setxattr @/pub/mine2 user.mine v
conf -u $NOBODY EPERM chown @/pub/mine2 0 0
conf -u $NOBODY ok chown @/pub/mine2 -1 $NOBODY
conf -u $NOBODY ok open @/sgid/f wronly,creat
expect_eq "a file created in a setgid directory gets the directory's group" \
    "$NOBODY:4242" "$(stat -c '%u:%g' "$ROOT/sgid/f")"
conf -u $NOBODY ok mkdir @/sgid/sub
expect_eq "a directory created in a setgid directory: its group and setgid bit" \
    "$NOBODY:4242 2755" "$(stat -c '%u:%g %a' "$ROOT/sgid/sub")"
check "umask 077 applies to a file created by uid $NOBODY" \
    as_user $NOBODY bash -c "umask 077; : >'$MNT/pub/masked'"
expect_eq "its mode" "600" "$(stat -c %a "$ROOT/pub/masked")"
printf 'group readable\n' >"$MNT/sgid/f"
chmod 0640 "$MNT/sgid/f"
check "a supplementary group grants access (mode 0640, group 4242)" \
    setpriv --reuid=$OTHER --regid=$OTHER --groups=4242 -- cat "$MNT/sgid/f"
expect_cmd_errno EACCES as_user $OTHER cat "$MNT/sgid/f"

section "chmod, chown, truncate, utimens"
: >"$MNT/attr"
for m in 0640 4755 2711 1777 0000 0644; do
	check "chmod $m" chmod "$m" "$MNT/attr"
	expect_eq "chmod $m: mount and backing" "$m $m" \
	    "$(stat -c %04a "$MNT/attr") $(stat -c %04a "$ROOT/attr")"
done
check "chown 1234:5678" chown 1234:5678 "$MNT/attr"
expect_eq "chown 1234:5678: mount and backing" "1234:5678 1234:5678" \
    "$(stat -c %u:%g "$MNT/attr") $(stat -c %u:%g "$ROOT/attr")"
check "chown -1 99" "$PO" chown "$MNT/attr" -1 99
expect_eq "chown -1:99 keeps the owner" "1234:99 1234:99" \
    "$(stat -c %u:%g "$MNT/attr") $(stat -c %u:%g "$ROOT/attr")"
: >"$NAT/attr"
for t in "$NAT" "$MNT"; do
	chmod 6755 "$t/attr"
	chown 1234:99 "$t/attr"
done
expect_eq "chown clears setuid/setgid as natively" \
    "$(stat -c %04a "$NAT/attr")" "$(stat -c %04a "$MNT/attr")"
printf 'abcdefghij' >"$MNT/tr"
check "truncate to 4" "$PO" truncate "$MNT/tr" 4
expect_eq "truncate shrinks" "abcd" "$(cat "$MNT/tr")"
check "ftruncate to 6" "$PO" ftruncate "$MNT/tr" 6
expect_eq "ftruncate grows with zeros" "61 62 63 64 00 00" \
    "$(od -An -tx1 "$MNT/tr" | xargs)"
expect_eq "... in the backing file" "6" "$(stat -c %s "$ROOT/tr")"
check "utimens with nanoseconds" \
    "$PO" utimens "$MNT/tr" 1000000000.123456789 1200000000.987654321
expect_eq "utimens with nanoseconds: atime" "1000000000.123456789" "$(st "$MNT/tr" atime)"
expect_eq "utimens with nanoseconds: mtime" "1200000000.987654321" "$(st "$MNT/tr" mtime)"
expect_eq "... in the backing file" "1200000000.987654321" "$(st "$ROOT/tr" mtime)"
ctime0=$(st "$MNT/tr" ctime || true)
check "utimens omit 1300000000" "$PO" utimens "$MNT/tr" omit 1300000000
expect_eq "UTIME_OMIT keeps atime" "1000000000.123456789" "$(st "$MNT/tr" atime)"
expect_eq "... and sets mtime" "1300000000.000000000" "$(st "$MNT/tr" mtime)"
check "utimens now omit" "$PO" utimens "$MNT/tr" now omit
now=$(date +%s)
at=$(st "$MNT/tr" atime || true)
if [ "${at%.*}" -ge $((now - 5)) ] && [ "${at%.*}" -le $((now + 1)) ]; then
	ok "UTIME_NOW sets atime to now"
else
	fail "UTIME_NOW sets atime to now" "atime $at, now $now"
fi
expect_eq "... and UTIME_OMIT keeps mtime" "1300000000.000000000" "$(st "$MNT/tr" mtime)"
expect_ne "ctime changed" "$ctime0" "$(st "$MNT/tr" ctime)"
check "futimens 5 6" "$PO" futimens "$MNT/tr" 5 6
expect_eq "futimens through a descriptor" "6.000000000" "$(st "$MNT/tr" mtime)"
check "symlink" ln -s tr "$MNT/trlink"
check "utimens nofollow on a symlink" "$PO" utimens "$MNT/trlink" 7 8 nofollow
expect_eq "utimens AT_SYMLINK_NOFOLLOW changes the symlink" "8.000000000" "$(st "$ROOT/trlink" mtime)"
expect_eq "... not its target" "6.000000000" "$(st "$ROOT/tr" mtime)"
check "lchown of a symlink" "$PO" lchown "$MNT/trlink" 77 88
expect_eq "lchown changes the symlink" "77:88" "$(stat -c %u:%g "$ROOT/trlink")"
expect_ne "... not its target" "77:88" "$(stat -c %u:%g "$ROOT/tr")"
expect_eq "readlink" "tr" "$(readlink "$MNT/trlink")"

section "hard links: one inode under every name"
printf 'linked\n' >"$MNT/h1"
check "link h1 h2" ln "$MNT/h1" "$MNT/h2"
mkdir "$MNT/hd"
check "link h1 hd/h3" ln "$MNT/h1" "$MNT/hd/h3"
stat -c %i "$MNT/h1" >/dev/null  # look all names up before the change
stat -c %i "$MNT/h2" "$MNT/hd/h3" >/dev/null
check "chmod 0604 through h2" chmod 0604 "$MNT/h2"
sig() { stat -c '%i %h %a %Z %s' "$1"; }
expect_eq "h1 and h2: same ino, nlink, mode, ctime, size" "$(sig "$MNT/h1")" "$(sig "$MNT/h2")"
expect_eq "h1 and hd/h3 too" "$(sig "$MNT/h1")" "$(sig "$MNT/hd/h3")"
expect_eq "nlink is 3 and the chmod through h2 shows on h1" "3 604" \
    "$(stat -c '%h %a' "$MNT/h1")"
expect_eq "ctime (ns) equal under every name" "$(st "$MNT/h1" ctime)" "$(st "$MNT/hd/h3" ctime)"
check "append through h2" bash -c "printf 'changed\n' >>'$MNT/h2'"
expect_eq "written through h2, read through h3" "linked
changed" "$(cat "$MNT/hd/h3")"
check "unlink h1" rm "$MNT/h1"
expect_eq "after unlinking h1, nlink 2 under h2 and hd/h3" "2 2" \
    "$(stat -c %h "$MNT/h2") $(stat -c %h "$MNT/hd/h3")"
check "rename h2 onto hd/h3 (the same inode)" "$PO" rename "$MNT/h2" "$MNT/hd/h3"
expect_eq "rename onto another name of the same inode does nothing (POSIX)" \
    "yes yes" "$([ -e "$MNT/h2" ] && echo yes) $([ -e "$MNT/hd/h3" ] && echo yes)"
check "link /proc/self/fd/N of h2 to h4" "$PO" link-procfd "$MNT/h2" "$MNT/h4"
expect_eq "linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW) adds a name" "3" "$(stat -c %h "$MNT/h4")"
expect_eq "the backing inode's link count" "3" "$(stat -c %h "$ROOT/h2")"
mkdir -p "$MNT/nl/a" "$MNT/nl/b"
expect_eq "a directory's nlink counts its subdirectories" \
    "$(stat -c %h "$ROOT/nl")" "$(stat -c %h "$MNT/nl")"

section "renames"
printf one >"$MNT/r1"
printf two >"$MNT/r2"
check "RENAME_NOREPLACE r1 r3" "$PO" rename-noreplace "$MNT/r1" "$MNT/r3"
expect_eq "RENAME_NOREPLACE to a free name moves" "-one" \
    "$([ -e "$MNT/r1" ] || printf -- -)$(cat "$MNT/r3")"
check "RENAME_EXCHANGE r2 r3" "$PO" rename-exchange "$MNT/r2" "$MNT/r3"
expect_eq "RENAME_EXCHANGE swaps contents" "one two" "$(cat "$ROOT/r2") $(cat "$ROOT/r3")"
expect_eq "... and the mount sees it" "one two" "$(cat "$MNT/r2") $(cat "$MNT/r3")"
mkdir "$MNT/rdir"
printf in-dir >"$MNT/rdir/x"
check "RENAME_EXCHANGE r2 rdir" "$PO" rename-exchange "$MNT/r2" "$MNT/rdir"
expect_eq "RENAME_EXCHANGE of a file and a directory" "dir reg in-dir" \
    "$(st "$MNT/r2" type) $(st "$MNT/rdir" type) $(cat "$MNT/r2/x")"
ino=$(stat -c %i "$MNT/r3" || true)
check "rename r3 over rdir" "$PO" rename "$MNT/r3" "$MNT/rdir"
expect_eq "rename over an existing file replaces it" "two $ino" \
    "$(cat "$MNT/rdir") $(stat -c %i "$MNT/rdir")"
mkdir -p "$MNT/m1/deep/er" "$MNT/m2"
printf deep >"$MNT/m1/deep/er/f"
check "mv m1/deep m2/" mv "$MNT/m1/deep" "$MNT/m2/"
expect_eq "a directory moved across directories keeps its subtree" "deep" \
    "$(cat "$MNT/m2/deep/er/f")"
check_fails "the old path is gone" test -e "$MNT/m1/deep/er/f"
expect_eq "... in the backing dir too" "deep" "$(cat "$ROOT/m2/deep/er/f")"

section "long paths"
comp=$(printf 'p%.0s' $(seq 200))
deep=$MNT
while [ $((${#deep} + 202)) -lt 4000 ]; do
	deep=$deep/$comp
done
check "mkdir -p of a ${#deep}-byte path through the mount" mkdir -p "$deep"
check "create a file at the bottom" "$PO" write "$deep/leaf" leafdata
expect_eq "read it back through the mount" leafdata "$(cat "$deep/leaf")"
expect_eq "it is in the backing dir" leafdata "$(cat "${deep/#"$MNT"/"$ROOT"}/leaf")"
expect_eq "stat of the ${#deep}-byte path" "reg" "$(st "$deep/leaf" type)"
expect_errno ENAMETOOLONG open "$deep/$comp/$comp/x" wronly,creat
# deeper than PATH_MAX, by relative paths: the kernel allows it
rc=0
(
	cd "$deep" || exit 1
	for _ in $(seq 30); do
		mkdir "$comp" && cd "$comp" || exit 1
	done
	printf verydeep >leaf2 && [ "$(cat leaf2)" = verydeep ]
) 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "nesting 30 more levels by relative paths (~$((${#deep} + 30 * 201)) bytes deep)"
else
	fail "nesting 30 more levels by relative paths (beyond PATH_MAX)" "exit $rc"
fi
check "rm -rf of the long path" rm -rf "$MNT/$comp"
check_fails "it is gone from the backing dir" test -e "$ROOT/$comp"

section "O_DIRECT"
check "O_DIRECT write and read of 1 MiB (aligned)" "$PO" odirect-rw "$MNT/od" 1048576
check "the backing file has the data" "$PO" pattern-check "$ROOT/od" 1048576 7
"$PO" odirect-rw "$NAT/od" 1048576
conf ok open @/od rdonly,direct

section "O_TMPFILE"
check "O_TMPFILE in a directory of the mount: write, read, nlink 0" "$PO" tmpfile "$MNT/d"
check "O_TMPFILE then linkat(AT_EMPTY_PATH) gives it a name" \
    "$PO" tmpfile "$MNT/d" "$MNT/d/from-tmpfile"
expect_eq "its content in the backing dir" "anonymous tmpfile content" \
    "$(cat "$ROOT/d/from-tmpfile")"
expect_eq "no stray entry left in the directory" "from-tmpfile sub x" \
    "$(ls -A "$ROOT/d" | xargs)"

section "extended attributes"
check "setxattr user.color" "$PO" setxattr "$MNT/f" user.color blue
expect_eq "setxattr/getxattr" blue "$("$PO" getxattr "$MNT/f" user.color)"
expect_eq "it is on the backing file" blue "$("$PO" getxattr "$ROOT/f" user.color)"
big=$(printf 'v%.0s' $(seq 3000))
check "setxattr of 3000 bytes" "$PO" setxattr "$MNT/f" user.big "$big"
expect_eq "a 3000-byte value" 3000 "$("$PO" getxattr-size "$MNT/f" user.big)"
expect_eq "listxattr" "user.big user.color user.once" "$("$PO" listxattr "$MNT/f" | xargs)"
check "setxattr replace" "$PO" setxattr "$MNT/f" user.color red replace
expect_eq "XATTR_REPLACE" red "$("$PO" getxattr "$MNT/f" user.color)"
check "removexattr" "$PO" removexattr "$MNT/f" user.color
expect_eq "removexattr" "user.big user.once" "$("$PO" listxattr "$MNT/f" | xargs)"
check "setxattr on a directory" "$PO" setxattr "$MNT/d" user.dirattr yes
expect_eq "xattr on a directory" yes "$("$PO" getxattr "$ROOT/d" user.dirattr)"
check "setxattr with an empty value" "$PO" setxattr "$MNT/f" user.empty ""
expect_eq "an empty value" 0 "$("$PO" getxattr-size "$MNT/f" user.empty)"

section "fallocate, holes, copy_file_range"
check "fallocate 1 MiB" "$PO" fallocate "$MNT/fa" 0 1048576
expect_eq "size after fallocate" 1048576 "$(stat -c %s "$MNT/fa")"
blocks=$(stat -c %b "$MNT/fa" || echo 0)
if [ "$blocks" -ge 2048 ]; then ok "blocks are allocated ($blocks)"; else fail "blocks are allocated" "st_blocks $blocks"; fi
check "fallocate KEEP_SIZE beyond EOF" "$PO" fallocate "$MNT/fa" 1048576 65536 keep
expect_eq "size kept" 1048576 "$(stat -c %s "$MNT/fa")"
check "write 256K" "$PO" pattern-write "$MNT/holes" 262144 9
check "punch a hole at 64K..128K" "$PO" punch-hole "$MNT/holes" 65536 65536
expect_eq "SEEK_HOLE from 0" 65536 "$("$PO" seek-hole "$MNT/holes" 0)"
expect_eq "SEEK_DATA from 65536" 131072 "$("$PO" seek-data "$MNT/holes" 65536)"
expect_eq "SEEK_DATA from 0" 0 "$("$PO" seek-data "$MNT/holes" 0)"
expect_eq "SEEK_HOLE in the last extent gives EOF" 262144 "$("$PO" seek-hole "$MNT/holes" 200000)"
expect_eq "the hole reads as zeros" "0" "$(dd if="$MNT/holes" bs=65536 skip=1 count=1 2>/dev/null | tr -d '\0' | wc -c)"
check "the data around it is intact" "$PO" pattern-check "$MNT/holes" 65536 9 0
check "zero-range" "$PO" zero-range "$MNT/holes" 0 4096
expect_eq "zeroed" "0" "$(head -c 4096 "$MNT/holes" | tr -d '\0' | wc -c)"
check "write 2.5M" "$PO" pattern-write "$MNT/cfr-src" 2500000 17
expect_eq "copy_file_range copies every byte" 2500000 \
    "$("$PO" copy-range "$MNT/cfr-src" "$MNT/cfr-dst")"
check "the copy is right (backing file)" "$PO" pattern-check "$ROOT/cfr-dst" 2500000 17
check "cp --reflink=auto within the mount" cp --reflink=auto "$MNT/cfr-src" "$MNT/cfr-cp"
check "... is right" cmp "$MNT/cfr-src" "$ROOT/cfr-cp"

section "locks"
check "flock: exclusive excludes, unlock releases, shared coexist" "$PO" flock "$MNT/lk"
check "POSIX locks: a conflicting F_SETLK fails, F_GETLK names the holder" "$PO" posix-lock "$MNT/lk"
check "OFD locks conflict between two open file descriptions" "$PO" ofd-lock "$MNT/lk"
check "flock(1) -n against a held lock fails" bash -c "
	( exec 8>>'$MNT/lk'; flock -x 8; exec sleep 30 ) & h=\$!
	for i in \$(seq 500); do flock -n -x '$MNT/lk' true || { kill \$h; wait; exit 0; }; sleep 0.02; done
	kill \$h; wait; exit 1"

section "special files"
check "mknod a FIFO" "$PO" mknod-fifo "$MNT/fifo"
expect_eq "it is a FIFO, through the mount and in the backing dir" "fifo fifo" \
    "$(st "$MNT/fifo" type) $(st "$ROOT/fifo" type)"
check "a FIFO in the mount carries data between processes" "$PO" fifo-rw "$MNT/fifo"
check "mknod a socket" "$PO" mknod-sock "$MNT/sock"
expect_eq "it is a socket" "sock sock" "$(st "$MNT/sock" type) $(st "$ROOT/sock" type)"
check "bind a unix socket in the mount and connect to it by path" "$PO" sock-bind "$MNT/srv.sock"
check "mknod S_IFREG" "$PO" mknod-reg "$MNT/plain"
expect_eq "its type" reg "$(st "$ROOT/plain" type)"

section "directories"
mkdir "$MNT/many"
for i in $(seq 1 600); do : >"$MNT/many/file-$i-$(printf 'x%.0s' $(seq $((i % 50))))"; done
expect_eq "600 entries listed" 600 "$(ls -A "$MNT/many" | wc -l)"
expect_eq "the same names as the backing dir" "$(ls -A "$ROOT/many" | md5sum)" \
    "$(ls -A "$MNT/many" | md5sum)"
expect_eq "unlink each entry while reading the directory (rm -r pattern)" 600 \
    "$("$PO" readdir-unlink "$MNT/many")"
expect_eq "nothing left in the backing dir" 0 "$(ls -A "$ROOT/many" | wc -l)"
check "rmdir" rmdir "$MNT/many"
check "rm -r of a mixed tree" rm -r "$MNT/d"
check_fails "gone from the backing dir" test -e "$ROOT/d"

section "statfs"
expect_eq "statfs block size and blocks match the backing fs" \
    "$(stat -f -c '%S %b' "$ROOT")" "$(stat -f -c '%S %b' "$MNT")"
expect_eq "statfs name length" 255 "$(stat -f -c %l "$MNT")"

sn_umount "$MNT"
sn_done
