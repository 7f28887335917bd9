#!/bin/bash
# t-policy.sh - path policy, roles, symlink and size rules, enforced by the
# views of one `sentinel serve` (docs/config.md "Path policy"):
#   - deny: a denied path does not exist for the agent (ENOENT, left out of
#     listings); creating, linking or renaming onto one is EACCES; it stays
#     unreadable through a symlink, through a hard link made in the backing
#     directory beforehand, and after its parent directory is renamed;
#     ls, find, grep -r and git status do not see it;
#   - readonly: every change is EROFS, reads work; `git commit` with
#     .git/** readonly fails and changes nothing;
#   - roles: Reader (every change EROFS), Audit (no read_file: open and
#     listing EACCES, stat works), custom roles; an unknown role, an
#     unknown permission or a bad pattern stops `serve` with file:line;
#   - symlinks = inside|any (EPERM for targets that leave the root);
#   - max_file_size (EFBIG at write(2) and truncate) and quota (EDQUOT,
#     per workspace across views, freed by deletes).
# Every refusal is checked for its exact errno, and the backing directory
# is compared before and after to prove that a refused change changed
# nothing.
# shellcheck disable=SC2010,SC2012,SC2015
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../lib.sh"

sn_require_fuse
sn_is_sentinel || sn_skip_all "path policy needs sentinel itself (SN_MOUNT_CMD is set)"
command -v python3 >/dev/null 2>&1 || sn_skip_all "needs python3"
sn_tmp
PO=$(sn_helper posix_ops)

ROOT=$SN_TMP/root      # workspace w: deny/readonly rules
ROOT2=$SN_TMP/root2    # workspace any: symlinks = any
ROOT3=$SN_TMP/root3    # workspace lim: max_file_size = 1M, quota = 4M
STATE=$SN_TMP/state
D=$SN_TMP/dev RD=$SN_TMP/reader AU=$SN_TMP/audit ED=$SN_TMP/editor
BL=$SN_TMP/blind ANY=$SN_TMP/any L1=$SN_TMP/lim1 L2=$SN_TMP/lim2
mkdir -p "$ROOT" "$ROOT2" "$ROOT3" "$D" "$RD" "$AU" "$ED" "$BL" "$ANY" "$L1" "$L2"

# out CMD...: stdout+stderr of CMD, whatever its status
out() { "$@" 2>&1 || true; }

# snap DIR: names, types, modes, owners, sizes, link counts, link targets,
# mtimes, ctimes, contents and xattrs of everything under DIR (not atimes)
snap() {
	(
		cd "$1" || exit 1
		find . -printf '%P|%y|%m|%u:%g|%s|%n|%l|%T@|%C@\n' | sort
		find . -type f -exec md5sum {} + | sort
		getfattr -R -h -d -m - . 2>/dev/null
	)
}

# absent DESC PATH...: none of the paths exists in a backing dir
absent() {
	local desc=$1 p left=''
	shift
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			left="$left $p"
		fi
	done
	if [ -z "$left" ]; then
		ok "$desc"
	else
		fail "$desc" "these exist in the backing dir:$left"
	fi
}

# pywrite FILE CHUNK COUNT [MODE]: write COUNT chunks of CHUNK bytes through
# one descriptor (FILE opened O_WRONLY|O_CREAT, MODE "append" adds
# O_APPEND); prints "wrote N" or "wrote N then ENAME" (the first error of
# write(2)), then "size S" (fstat before close) and "close ok|ENAME".
pywrite() {
	python3 - "$@" <<'EOF'
import errno, os, sys
path, chunk, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
flags = os.O_WRONLY | os.O_CREAT
if len(sys.argv) > 4 and sys.argv[4] == "append":
    flags |= os.O_APPEND
try:
    fd = os.open(path, flags, 0o644)
except OSError as e:
    print("open " + errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(0)
done, err = 0, ""
buf = b"q" * chunk
for i in range(count):
    try:
        n = os.write(fd, buf)
    except OSError as e:
        err = " then " + errno.errorcode.get(e.errno, str(e.errno))
        break
    done += n
    if n < chunk:   # a short write: the next one must give the error
        try:
            os.write(fd, buf[n:])
            err = " then a second short/ok write (no error)"
        except OSError as e:
            err = " then " + errno.errorcode.get(e.errno, str(e.errno))
        break
print("wrote %d%s" % (done, err))
print("size %d" % os.fstat(fd).st_size)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode.get(e.errno, str(e.errno)))
EOF
}

# ---- the backing directories ---------------------------------------------------
echo "public" >"$ROOT/public.txt"
echo "other" >"$ROOT/other.txt"
echo "TOPSECRET key.pem" >"$ROOT/key.pem"
echo "not a secret: *.pem is case-sensitive" >"$ROOT/KEY.PEM"
mkdir -p "$ROOT/sub/deep" "$ROOT/sub/secrets" "$ROOT/secrets/a" "$ROOT/certs.pem" \
    "$ROOT/conf" "$ROOT/d1" "$ROOT/hl" "$ROOT/pubdir" "$ROOT/emptydir" \
    "$ROOT/emptydir2" "$ROOT/docs/sub" "$ROOT/docs/empty.md"
echo "TOPSECRET cert.pem" >"$ROOT/sub/deep/cert.pem"
echo "visible" >"$ROOT/sub/deep/visible.txt"
echo "TOPSECRET b.txt" >"$ROOT/secrets/a/b.txt"
echo "anchored: sub/secrets is not secrets/**" >"$ROOT/sub/secrets/x"
echo "TOPSECRET private" >"$ROOT/private"
echo "anchored: /private is only the top one" >"$ROOT/sub/private"
echo "TOPSECRET inner of certs.pem" >"$ROOT/certs.pem/inner.txt"
echo "TOPSECRET id_rsa" >"$ROOT/conf/id_rsa"
echo "app config" >"$ROOT/conf/app.cfg"
echo "TOPSECRET d1 k.pem" >"$ROOT/d1/k.pem"
echo "d1 ok" >"$ROOT/d1/ok.txt"
ln "$ROOT/key.pem" "$ROOT/hl/innocent.txt"     # a hard link made beforehand
ln -s key.pem "$ROOT/lnk-key"                  # allowed name -> denied file
ln -s secrets "$ROOT/lnk-secrets"              # allowed name -> denied dir
ln -s public.txt "$ROOT/lnk-pub"
echo "in pubdir" >"$ROOT/pubdir/f"
echo "all: make it" >"$ROOT/Makefile"
echo "readme" >"$ROOT/docs/readme.md"
# rl/: nothing looks into it before the section that tests it (find and
# grep skip it, git ignores it), so which name is looked up first is known
mkdir -p "$ROOT/rl"
for k in 1 2; do
	echo "readonly, two names" >"$ROOT/rl/ro$k.txt"
	ln "$ROOT/rl/ro$k.txt" "$ROOT/rl/link$k.txt"   # a hard link to a readonly file
done
echo "not direct in docs" >"$ROOT/docs/sub/x.md"
echo "untracked" >"$ROOT/untracked.txt"
for f in public.txt other.txt Makefile docs/readme.md; do
	setfattr -n user.k -v v "$ROOT/$f"
done
git -C "$ROOT" init -q
git -C "$ROOT" config user.email t@example.com
git -C "$ROOT" config user.name t
git -C "$ROOT" add public.txt Makefile docs/readme.md
git -C "$ROOT" commit -q -m initial
echo "rl/" >>"$ROOT/.git/info/exclude"
mkdir "$ROOT/.git/emptyx"
HEAD0=$(git -C "$ROOT" rev-parse HEAD)
mkdir -p "$ROOT2/sub"

cat >"$SN_TMP/policy.ini" <<EOF
[server]
state_dir = $STATE

[workspace "w"]
root = $ROOT
deny = *.pem, secrets/**
deny = /private, conf/id_rsa
readonly = .git/**, /Makefile
readonly = docs/*.md, rl/ro*.txt

[workspace "any"]
root = $ROOT2
symlinks = any

[workspace "lim"]
root = $ROOT3
max_file_size = 1M
quota = 4M

[role "Editor"]
permissions = read_file, edit_file

[role "Blind"]
permissions = edit_file

[view "dev"]
workspace = w
agent = alice
role = Dev
mountpoint = $D

[view "reader"]
workspace = w
agent = rita
role = Reader
mountpoint = $RD

[view "audit"]
workspace = w
agent = audrey
role = Audit
mountpoint = $AU

[view "editor"]
workspace = w
agent = ed
role = Editor
mountpoint = $ED

[view "blind"]
workspace = w
agent = blindy
role = Blind
mountpoint = $BL

[view "any"]
workspace = any
agent = alice
mountpoint = $ANY

[view "lim1"]
workspace = lim
agent = alice
mountpoint = $L1

[view "lim2"]
workspace = lim
agent = bob
mountpoint = $L2
EOF

# ---- configuration errors ----------------------------------------------------------
section "configuration errors stop 'sentinel serve' (exit 1, FILE:LINE: naming the problem)"
mkdir -p "$SN_TMP/badmnt"
# bad_config NAME ERE BODY: serve --config NAME must exit 1, print ERE, mount nothing
bad_config() {
	local name=$1 ere=$2 body=$3 f rc=0 msg
	f=$SN_TMP/$name
	printf '%s\n' "$body" >"$f"
	msg=$(timeout 5 "$SN_SENTINEL" serve --config "$f" 2>&1 </dev/null) || rc=$?
	expect_eq "$name: sentinel serve exits 1" 1 "$rc"
	expect_match "$name: the message names the file, the line and the problem" "$ere" "$msg"
	if sn_is_mounted "$SN_TMP/badmnt"; then
		fail "$name: nothing is mounted" "$SN_TMP/badmnt is mounted"
		fusermount3 -u -z "$SN_TMP/badmnt" || true
	else
		ok "$name: nothing is mounted"
	fi
}
HDR="[server]
state_dir = $SN_TMP/badstate
[workspace \"w\"]
root = $ROOT"
bad_config bad-role.ini 'bad-role\.ini:8:.*Nope' "$HDR
[view \"v\"]
workspace = w
agent = alice
role = Nope
mountpoint = $SN_TMP/badmnt"
bad_config bad-perm.ini 'bad-perm\.ini:6:.*root' "$HDR
[role \"Ops\"]
permissions = read_file, root
[view \"v\"]
workspace = w
agent = alice
role = Ops
mountpoint = $SN_TMP/badmnt"
bad_config bad-pattern.ini 'bad-pattern\.ini:5:.*secrets/\.\./x' "$HDR
deny = secrets/../x
[view \"v\"]
workspace = w
agent = alice
mountpoint = $SN_TMP/badmnt"
bad_config bad-negation.ini 'bad-negation\.ini:5:.*!keep' "$HDR
readonly = !keep
[view \"v\"]
workspace = w
agent = alice
mountpoint = $SN_TMP/badmnt"
bad_config bad-symlinks.ini 'bad-symlinks\.ini:5:.*outside' "$HDR
symlinks = outside
[view \"v\"]
workspace = w
agent = alice
mountpoint = $SN_TMP/badmnt"
bad_config bad-size.ini 'bad-size\.ini:5:.*10 mb' "$HDR
max_file_size = 10 mb
[view \"v\"]
workspace = w
agent = alice
mountpoint = $SN_TMP/badmnt"

sn_serve "$SN_TMP/policy.ini"

# ---- deny -------------------------------------------------------------------------
section "deny: a denied path does not exist (ENOENT)"
for p in key.pem sub/deep/cert.pem secrets secrets/a secrets/a/b.txt private \
    certs.pem certs.pem/inner.txt conf/id_rsa d1/k.pem ./key.pem sub/../key.pem; do
	expect_errno ENOENT stat "$D/$p"
done
expect_errno ENOENT lstat "$D/key.pem"
expect_errno ENOENT open "$D/key.pem" rdonly
expect_errno ENOENT open "$D/key.pem" wronly
expect_errno ENOENT open "$D/key.pem" rdwr,trunc
expect_errno ENOENT readlink "$D/key.pem"
expect_errno ENOENT getxattr "$D/key.pem" user.k
expect_errno ENOENT listxattr "$D/key.pem"
expect_errno ENOENT access "$D/key.pem" f
expect_errno ENOENT unlink "$D/key.pem"
expect_errno ENOENT chmod "$D/key.pem" 777
expect_errno ENOENT chown "$D/key.pem" 1 1
expect_errno ENOENT truncate "$D/key.pem" 0
expect_errno ENOENT utimens "$D/key.pem" 1000 1000
expect_errno ENOENT setxattr "$D/key.pem" user.x v
expect_errno ENOENT rename "$D/key.pem" "$D/stolen.txt"
expect_errno ENOENT link "$D/key.pem" "$D/stolen2.txt"
expect_errno ENOENT rmdir "$D/secrets"
expect_errno ENOENT ls-types "$D/secrets"
expect_errno ENOENT ls-types "$D/certs.pem"
expect_cmd_errno ENOENT cat "$D/key.pem"
expect_cmd_errno ENOENT ls "$D/secrets"
expect_cmd_errno ENOENT stat "$D/private"

section "deny: not over-matching (anchoring, case, neighbours)"
expect_eq "KEY.PEM is not *.pem (case-sensitive)" "not a secret: *.pem is case-sensitive" \
    "$(out cat "$D/KEY.PEM")"
expect_eq "sub/private is not /private (anchored)" "anchored: /private is only the top one" \
    "$(out cat "$D/sub/private")"
expect_eq "sub/secrets/x is not secrets/** (anchored)" "anchored: sub/secrets is not secrets/**" \
    "$(out cat "$D/sub/secrets/x")"
expect_eq "conf/app.cfg beside the denied conf/id_rsa" "app config" "$(out cat "$D/conf/app.cfg")"
expect_eq "sub/deep/visible.txt beside the denied cert.pem" visible "$(out cat "$D/sub/deep/visible.txt")"

section "deny: left out of listings, find, grep -r, git status"
want_top=$(cd "$ROOT" && ls -A | grep -vxE 'key\.pem|secrets|private|certs\.pem' | sort)
expect_eq "ls -A of the root lists everything but the denied names" "$want_top" \
    "$(out ls -A "$D" | sort)"
expect_eq "ls of sub/deep" "visible.txt" "$(out ls -A "$D/sub/deep")"
expect_eq "ls of conf" "app.cfg" "$(out ls -A "$D/conf")"
expect_eq "ls of d1" "ok.txt" "$(out ls -A "$D/d1")"
expect_eq "readdir (d_type) of sub/deep" "visible.txt reg" "$(out "$PO" ls-types "$D/sub/deep")"
got=$(cd "$D" && find . -path ./rl -prune -o -print 2>&1 | grep -E '\.pem$|\.pem/|^\./secrets|^\./private$|id_rsa' || true)
expect_eq "find lists no denied path" "" "$got"
got=$(cd "$D" && find . -path ./rl -prune -o -name '*.pem' -print 2>&1 || true)
expect_eq "find -name '*.pem' finds nothing" "" "$got"
rc=0
got=$(grep -r --exclude-dir=hl --exclude-dir=rl TOPSECRET "$D" 2>&1) || rc=$?
expect_eq "grep -r TOPSECRET (but hl/) finds nothing, no error: exit 1" 1 "$rc"
expect_eq "... and prints nothing" "" "$got"
expect_eq "git status in ROOT itself shows the untracked secrets (sanity)" "yes" \
    "$(git -C "$ROOT" status --porcelain | grep -q 'key.pem' && echo yes || echo no)"
rc=0
gs=$(git -C "$D" status --porcelain 2>&1) || rc=$?
expect_eq "git status through the view succeeds" 0 "$rc"
expect_match "git status through the view sees an untracked file" '\?\? untracked\.txt' "$gs"
got=$(printf '%s\n' "$gs" | grep -E 'key\.pem|secrets/|\?\? private$|cert\.pem|certs\.pem|id_rsa' || true)
expect_eq "git status through the view shows no denied path" "" "$got"

section "deny: creating, linking or renaming onto a denied name is EACCES"
expect_errno EACCES open "$D/new.pem" wronly,creat
expect_errno EACCES open "$D/new2.pem" wronly,creat,excl
expect_errno EACCES open "$D/key.pem" wronly,creat          # exists, hidden: not EEXIST, no truncate
expect_errno EACCES open "$D/key.pem" wronly,creat,excl
expect_errno EACCES mkdir "$D/newdir.pem"
expect_errno EACCES mkdir "$D/secrets"                      # exists, hidden: not EEXIST
expect_errno EACCES mkdir "$D/private"
expect_errno EACCES mknod-fifo "$D/fifo.pem"
expect_errno EACCES mknod-reg "$D/reg.pem"
expect_errno EACCES symlink public.txt "$D/sym.pem"
expect_errno EACCES link "$D/public.txt" "$D/hard.pem"
expect_errno EACCES link "$D/public.txt" "$D/conf/id_rsa"
expect_errno EACCES rename "$D/other.txt" "$D/renamed.pem"
expect_errno EACCES rename "$D/other.txt" "$D/key.pem"       # onto the hidden file
expect_errno EACCES rename "$D/emptydir2" "$D/secrets"
expect_errno EACCES rename "$D/emptydir2" "$D/sub/x.pem"
expect_errno ENOENT,EACCES open "$D/secrets/new" wronly,creat  # inside a denied dir
expect_errno ENOENT,EACCES mkdir "$D/secrets/newdir"
expect_cmd_errno EACCES bash -c "echo x >'$D/shell.pem'"
expect_cmd_errno EACCES cp "$D/public.txt" "$D/copy.pem"
absent "nothing of that reached the backing dir" "$ROOT/new.pem" "$ROOT/new2.pem" \
    "$ROOT/newdir.pem" "$ROOT/fifo.pem" "$ROOT/reg.pem" "$ROOT/sym.pem" "$ROOT/hard.pem" \
    "$ROOT/renamed.pem" "$ROOT/secrets/new" "$ROOT/secrets/newdir" "$ROOT/shell.pem" \
    "$ROOT/copy.pem" "$ROOT/sub/x.pem"
expect_eq "the hidden key.pem is untouched" "TOPSECRET key.pem" "$(cat "$ROOT/key.pem")"
expect_eq "the hidden conf/id_rsa is untouched" "TOPSECRET id_rsa" "$(cat "$ROOT/conf/id_rsa")"
expect_eq "other.txt was not renamed away" other "$(out cat "$D/other.txt")"
check "emptydir2 was not renamed away" test -d "$ROOT/emptydir2"

section "deny: no way around it (symlinks, hard links, renames)"
expect_eq "a symlink made beforehand to key.pem reads as a symlink" key.pem "$(out readlink "$D/lnk-key")"
expect_errno ENOENT open "$D/lnk-key" rdonly
expect_cmd_errno ENOENT cat "$D/lnk-key"
expect_errno ENOENT stat "$D/lnk-secrets/a/b.txt"
check "a symlink to key.pem may be made through the view (target inside)" \
    "$PO" symlink key.pem "$D/lnk-key2"
expect_errno ENOENT open "$D/lnk-key2" rdonly
check "a symlink to ../secrets/a/b.txt may be made in sub" \
    "$PO" symlink ../secrets/a/b.txt "$D/sub/lnk-b"
expect_errno ENOENT open "$D/sub/lnk-b" rdonly
rc=0
got=$(cat "$D/hl/innocent.txt" 2>&1) || rc=$?
if [ "$rc" -ne 0 ] && [[ $got != *TOPSECRET* ]]; then
	ok "a hard link made in ROOT beforehand to key.pem is unreadable ($got)"
else
	fail "a hard link made in ROOT beforehand to key.pem is unreadable" \
	    "cat hl/innocent.txt: exit $rc" "output: $got"
fi
got=$(out grep -r TOPSECRET "$D/hl")
expect_eq "grep -r on hl/ shows no secret content" "" "$(printf '%s\n' "$got" | grep TOPSECRET || true)"
check "rename of d1 (holding the denied k.pem) to d2: *.pem follows the name" \
    "$PO" rename "$D/d1" "$D/d2"
expect_errno ENOENT stat "$D/d2/k.pem"
expect_errno ENOENT open "$D/d2/k.pem" rdonly
expect_eq "ls of d2" ok.txt "$(out ls -A "$D/d2")"
check "k.pem moved with its directory in ROOT (sanity)" test -f "$ROOT/d2/k.pem"
expect_errno EACCES rename "$D/conf" "$D/conf-moved"      # would uncover conf/id_rsa
check "conf is still there in ROOT" test -f "$ROOT/conf/id_rsa"
expect_errno ENOENT stat "$D/conf/id_rsa"
expect_errno ENOENT stat "$D/conf-moved/id_rsa"
check "a new file under an allowed name works in the dev view" "$PO" write "$D/sub/new.txt" fine
expect_eq "... and is in ROOT" fine "$(out cat "$ROOT/sub/new.txt")"
check "a file created after start under a denied glob in ROOT stays hidden" \
    bash -c "echo 'TOPSECRET late' >'$ROOT/sub/late.pem'"
expect_errno ENOENT stat "$D/sub/late.pem"
expect_eq "... and out of the listing" "" "$(out ls -A "$D/sub" | grep -x late.pem || true)"

section "deny: the same in the other roles' views"
for v in "$RD" "$AU" "$ED"; do
	expect_errno ENOENT stat "$v/key.pem"
	expect_errno ENOENT stat "$v/secrets/a/b.txt"
done
expect_errno EACCES open "$ED/ed.pem" wronly,creat
expect_eq "Reader's listing lacks the denied names" "" \
    "$(out ls -A "$RD" | grep -xE 'key\.pem|secrets|private|certs\.pem' || true)"

# ---- readonly ---------------------------------------------------------------------
# refuse ERR M FILE OTHER DIR EMPTY [NEWPAT]: every kind of change through
# view M fails with ERR.  FILE: an existing file with the xattr user.k;
# OTHER: an existing file that may be changed; DIR: a directory whose
# rename is refused; EMPTY: an empty directory; NEWPAT: a new name with a
# '%' (new-%.md) that the rule covers, for the creating operations.
refuse() {
	local e=$1 m=$2
	local f=$m/$3 o=$m/$4 d=$m/$5 em=$m/$6 np=${7:-} k n
	expect_errno "$e" open "$f" wronly
	expect_errno "$e" open "$f" rdwr
	expect_errno "$e" open "$f" wronly,trunc
	expect_errno "$e" open "$f" wronly,append
	expect_errno "$e" truncate "$f" 0
	expect_errno "$e" chmod "$f" 600
	expect_errno "$e" chown "$f" 1 1
	expect_errno "$e" utimens "$f" 1000 1000
	expect_errno "$e" utimens "$f" now now
	expect_errno "$e" setxattr "$f" user.new v
	expect_errno "$e" setxattr "$f" user.k changed replace
	expect_errno "$e" removexattr "$f" user.k
	expect_errno "$e" unlink "$f"
	expect_errno "$e" rename "$f" "$m/free-dest"
	expect_errno "$e" rename "$o" "$f"
	expect_errno "$e" rename-exchange "$f" "$o"
	expect_errno "$e" link "$f" "$m/free-link"
	expect_errno "$e" rmdir "$em"
	expect_errno "$e" rename "$d" "$m/free-dir"
	if [ -n "$np" ]; then
		for k in created excl dir fifo reg symlink hardlink renamed; do
			n=$m/${np//%/$k}
			case $k in
			created) expect_errno "$e" open "$n" wronly,creat ;;
			excl) expect_errno "$e" open "$n" wronly,creat,excl ;;
			dir) expect_errno "$e" mkdir "$n" ;;
			fifo) expect_errno "$e" mknod-fifo "$n" ;;
			reg) expect_errno "$e" mknod-reg "$n" ;;
			symlink) expect_errno "$e" symlink target "$n" ;;
			hardlink) expect_errno "$e" link "$o" "$n" ;;
			renamed) expect_errno "$e" rename "$o" "$n" ;;
			esac
		done
	fi
	expect_cmd_errno "$e" bash -c "echo x >'$f'"
	expect_cmd_errno "$e" touch "$f"
	expect_cmd_errno "$e" rm -f "$f"
	expect_cmd_errno "$e" setfattr -n user.z -v 1 "$f"
}

section "readonly (.git/**, /Makefile, docs/*.md): every change is EROFS"
S0=$(snap "$ROOT")
# (renaming docs would take docs/readme.md out of its rule: EROFS too)
refuse EROFS "$D" Makefile other.txt docs .git/emptyx
refuse EROFS "$D" .git/config other.txt .git/refs .git/emptyx .git/new-%
refuse EROFS "$D" docs/readme.md other.txt .git docs/empty.md docs/new-%.md
expect_errno EROFS open "$D/Makefile" rdonly,trunc
expect_errno EROFS rename "$D/.git" "$D/git-moved"
expect_errno EROFS rename "$D/other.txt" "$D/Makefile"
expect_cmd_errno EROFS rm -rf "$D/.git"
expect_errno EROFS rename-exchange "$D/docs" "$D/pubdir"     # moves docs/readme.md
expect_errno EACCES rename-exchange "$D/conf" "$D/pubdir"    # would uncover conf/id_rsa
expect_eq "nothing changed in ROOT" "$S0" "$(snap "$ROOT")"
section "readonly: a file with a second name (a hard link made beforehand)"
# each name is looked up once (the kernel keeps the entries): in both orders
check "look up rl/link1.txt, then rl/ro1.txt" bash -c "stat '$D/rl/link1.txt' && stat '$D/rl/ro1.txt'"
check "look up rl/ro2.txt, then rl/link2.txt" bash -c "stat '$D/rl/ro2.txt' && stat '$D/rl/link2.txt'"
for k in 1 2; do
	expect_errno EROFS open "$D/rl/ro$k.txt" wronly     # by its own, readonly name
	expect_errno EROFS chmod "$D/rl/ro$k.txt" 600
	expect_errno EROFS setxattr "$D/rl/ro$k.txt" user.x y
	expect_errno EROFS open "$D/rl/link$k.txt" wronly   # by the other name: the same file
	expect_errno EROFS truncate "$D/rl/link$k.txt" 0
	expect_eq "rl/ro$k.txt is unchanged" "644 readonly, two names" \
	    "$(stat -c %a "$ROOT/rl/ro$k.txt") $(cat "$ROOT/rl/ro$k.txt")"
done
section "readonly: reads work"
expect_eq "read Makefile" "all: make it" "$(out cat "$D/Makefile")"
expect_eq "getxattr on Makefile" v "$(out "$PO" getxattr "$D/Makefile" user.k)"
expect_eq "read docs/readme.md" readme "$(out cat "$D/docs/readme.md")"
check "list .git" ls "$D/.git/refs"
check "open .git/HEAD read-only" "$PO" open "$D/.git/HEAD" rdonly
section "readonly: not over-matching"
check "docs/sub/x.md is not docs/*.md: writable" "$PO" write "$D/docs/sub/x.md" changed
check "a Makefile below the root is not /Makefile" "$PO" write "$D/sub/Makefile" ok
check "a new file in docs that is not .md" "$PO" write "$D/docs/notes.txt" ok

section "readonly: git through the view"
rc=0
got=$(git -C "$D" commit -q --allow-empty -m "through the view" 2>&1) || rc=$?
expect_ne "git commit through the view fails" 0 "$rc"
expect_match "... with 'Read-only file system'" 'Read-only file system' "$got"
rc=0
got=$(git -C "$D" add untracked.txt 2>&1) || rc=$?
expect_ne "git add through the view fails" 0 "$rc"
expect_eq "HEAD is unchanged" "$HEAD0" "$(git -C "$ROOT" rev-parse HEAD)"
absent "no index.lock left behind" "$ROOT/.git/index.lock"
check "git log through the view works" git -C "$D" log --oneline -1

# ---- roles ------------------------------------------------------------------------
section "role Reader: every change is EROFS, reads work"
S0=$(snap "$ROOT")
refuse EROFS "$RD" public.txt other.txt pubdir emptydir rd-%
expect_errno EROFS open "$RD/public.txt" rdonly,trunc
expect_eq "nothing changed in ROOT" "$S0" "$(snap "$ROOT")"
expect_eq "Reader reads" public "$(out cat "$RD/public.txt")"
expect_eq "Reader lists" f "$(out ls "$RD/pubdir")"
expect_eq "Reader reads an xattr" v "$(out "$PO" getxattr "$RD/public.txt" user.k)"
check "Reader stats" "$PO" stat "$RD/public.txt"

section "role Audit (read_logs only): no content, no listing; stat works; changes EROFS"
S0=$(snap "$ROOT")
expect_errno EACCES open "$AU/public.txt" rdonly
expect_cmd_errno EACCES cat "$AU/public.txt"
expect_errno EACCES ls-types "$AU"
expect_errno EACCES ls-types "$AU/pubdir"
expect_cmd_errno EACCES ls "$AU/"
expect_cmd_errno EACCES ls "$AU/pubdir"
expect_errno EACCES getxattr "$AU/public.txt" user.k
expect_errno EACCES listxattr "$AU/public.txt"
check "Audit stats a file" "$PO" stat "$AU/public.txt"
check "Audit stats the root" "$PO" stat "$AU"
check "Audit stats a nested file" "$PO" stat "$AU/pubdir/f"
expect_eq "Audit reads a symlink" public.txt "$(out readlink "$AU/lnk-pub")"
expect_errno EACCES open "$AU/lnk-pub" rdonly
refuse EROFS "$AU" public.txt other.txt pubdir emptydir au-%
expect_eq "nothing changed in ROOT" "$S0" "$(snap "$ROOT")"

section "custom roles"
check "Editor (read_file, edit_file) creates a file" "$PO" write "$ED/by-editor" e
expect_eq "... it is in ROOT" e "$(out cat "$ROOT/by-editor")"
check "Editor removes it" "$PO" unlink "$ED/by-editor"
expect_errno EACCES open "$BL/public.txt" rdonly
expect_errno EACCES open "$BL/public.txt" wronly
expect_errno EACCES open "$BL/blind-new" wronly,creat
expect_errno EACCES ls-types "$BL"
check "Blind (edit_file only) may mkdir" "$PO" mkdir "$BL/blind-dir"
check "... and rmdir" "$PO" rmdir "$BL/blind-dir"
absent "Blind created no file" "$ROOT/blind-new" "$ROOT/blind-dir"

# ---- symlinks ---------------------------------------------------------------------
section "symlinks = inside (default): targets that leave the root are EPERM"
expect_errno EPERM symlink /etc/passwd "$D/abs"
expect_errno EPERM symlink / "$D/slash"
expect_errno EPERM symlink "$ROOT/public.txt" "$D/abs-into-root"   # absolute, even into ROOT
expect_errno EPERM symlink .. "$D/up"
expect_errno EPERM symlink ../x "$D/upx"
expect_errno EPERM symlink ../../../x "$D/sub/climb"
expect_errno EPERM symlink ../../../x "$D/sub/deep/climb"
expect_errno EPERM symlink sub/../../x "$D/sneaky"
expect_errno EPERM symlink sub/deep/../../../x "$D/sneaky2"
expect_cmd_errno EPERM ln -s /etc/passwd "$D/x"
absent "no refused symlink reached ROOT" "$ROOT/abs" "$ROOT/slash" "$ROOT/abs-into-root" \
    "$ROOT/up" "$ROOT/upx" "$ROOT/sub/climb" "$ROOT/sub/deep/climb" "$ROOT/sneaky" \
    "$ROOT/sneaky2" "$ROOT/x"
check "ln -s sub/deep/visible.txt z" ln -s sub/deep/visible.txt "$D/z"
expect_eq "... reads through" visible "$(out cat "$D/z")"
check "ln -s ../public.txt sub/up-ok" ln -s ../public.txt "$D/sub/up-ok"
expect_eq "... reads through" public "$(out cat "$D/sub/up-ok")"
check "ln -s ../../x sub/deep/edge (lands on the root's x)" ln -s ../../x "$D/sub/deep/edge"
check "ln -s a/../../b sub/edge2 (lexically b at the root)" ln -s a/../../b "$D/sub/edge2"
check "ln -s . dot" ln -s . "$D/dot"
check "ln -s a-name-that-does-not-exist dangling" ln -s nowhere "$D/dangling"
expect_eq "readlink gives the target as written" ../public.txt "$(out readlink "$D/sub/up-ok")"

section "symlinks = inside: moving or linking a symlink where its target leaves the root"
mkdir -p "$ROOT/sub/other"
for k in 1 2 3 4; do
	ln -s ../../public.txt "$D/sub/deep/mv$k" || fail "ln -s ../../public.txt sub/deep/mv$k"
done
expect_errno EPERM rename "$D/sub/deep/mv1" "$D/mv-top"       # ../../public.txt from the root
expect_errno EPERM rename "$D/sub/deep/mv2" "$D/sub/mv-sub"   # one level too high
check "renaming one to another directory of the same depth is fine" \
    "$PO" rename "$D/sub/deep/mv3" "$D/sub/other/mv3"
expect_eq "... and it reads through" public "$(out cat "$D/sub/other/mv3")"
expect_errno EPERM link "$D/sub/deep/mv4" "$D/mv-hardlink"    # a hard link of the symlink itself
absent "no escaping symlink reached ROOT" "$ROOT/mv-top" "$ROOT/sub/mv-sub" "$ROOT/mv-hardlink"
check "ln -s ../../x sub/other/deeplink (inside)" ln -s ../../x "$D/sub/other/deeplink"
if "$PO" rename "$D/sub/other" "$D/other-top" 2>/dev/null; then
	note "renaming a directory whose relative symlinks then leave the root is allowed (other-top/deeplink -> ../../x)"
	"$PO" rename "$D/other-top" "$D/sub/other" || true
else
	note "renaming a directory whose relative symlinks would leave the root is refused"
fi

section "symlinks = any: every target"
check "ln -s /etc/passwd" ln -s /etc/passwd "$ANY/abs"
check "ln -s ../../../x sub/climb" ln -s ../../../x "$ANY/sub/climb"
check "ln -s .. up" ln -s .. "$ANY/up"
expect_eq "readlink of the absolute one" /etc/passwd "$(out readlink "$ANY/abs")"
expect_eq "... in ROOT2" ../../../x "$(out readlink "$ROOT2/sub/climb")"

# ---- sizes ------------------------------------------------------------------------
section "max_file_size = 1M: EFBIG at write(2) and truncate"
check "a file of exactly 1 MiB" "$PO" pattern-write "$L1/exact" 1048576 1
expect_eq "... its size" 1048576 "$(out stat -c %s "$ROOT3/exact")"
expect_eq "writing 1 MiB in 64 KiB writes, then one more byte" \
    "wrote 1048576 then EFBIG
size 1048576
close ok" "$(pywrite "$L1/grow" 65536 17)"
expect_eq "... the backing file stays 1 MiB" 1048576 "$(out stat -c %s "$ROOT3/grow")"
rm -f "$L1/grow"       # (stay below the 4M quota: not what is tested here)
expect_eq "appending 1 byte to the 1 MiB file" "wrote 0 then EFBIG
size 1048576
close ok" "$(pywrite "$L1/exact" 1 1 append)"
expect_errno EFBIG pattern-write "$L1/straddle" 10 2 1048570
check "the straddling file is at most 1 MiB" test "$(stat -c %s "$ROOT3/straddle")" -le 1048576
rm -f "$L1/straddle"
expect_errno EFBIG pattern-write "$L1/far" 1 3 5000000
check "a write far beyond it made nothing big" test "$(stat -c %s "$ROOT3/far" 2>/dev/null || echo 0)" -le 1048576
expect_errno EFBIG truncate "$L1/exact" 1048577
expect_errno EFBIG truncate "$L1/exact" 2097152
expect_cmd_errno EFBIG truncate -s 2M "$L1/t2m"
expect_cmd_errno EFBIG dd if=/dev/zero of="$L1/dd" bs=64K count=32 status=none
expect_eq "... dd's file stops at 1 MiB" 1048576 "$(out stat -c %s "$ROOT3/dd")"
expect_errno EFBIG,EOPNOTSUPP fallocate "$L1/fa" 0 2097152
expect_eq "the 1 MiB file is still whole" 1048576 "$(out stat -c %s "$ROOT3/exact")"
check "truncating down is fine" "$PO" truncate "$L1/exact" 1000
check "removing them all" bash -c "rm -f '$L1'/*"
expect_eq "lim is empty" "" "$(ls -A "$ROOT3")"

section "quota = 4M for the workspace, across its views: EDQUOT, freed by deletes"
check "alice: q1 of 1 MiB" "$PO" pattern-write "$L1/q1" 1048576 1
check "alice: q2 of 1 MiB" "$PO" pattern-write "$L1/q2" 1048576 2
check "alice: q3 of 1 MiB" "$PO" pattern-write "$L1/q3" 1048576 3
check "bob: q4 of 512 KiB (3.5 MiB in all)" "$PO" pattern-write "$L2/q4" 524288 4
got=$(pywrite "$L2/q5" 65536 16)
expect_match "bob: writing 1 MiB more stops with EDQUOT" '^wrote [0-9]+ then EDQUOT' "$got"
n=$(printf '%s\n' "$got" | sed -n 's/^wrote \([0-9]*\).*/\1/p')
expect_le "... after at most 512 KiB" 524288 "${n:-999999999}"
total=$(find "$ROOT3" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
expect_le "the workspace holds at most 4 MiB" 4194304 "$total"
expect_cmd_errno EDQUOT dd if=/dev/zero of="$L1/q6" bs=64K count=16 status=none
check "overwriting q2 in place (no growth) is allowed at the quota" \
    "$PO" pattern-write "$L1/q2" 1048576 7
check "... with its new content" "$PO" pattern-check "$ROOT3/q2" 1048576 7
if "$PO" link "$L1/q2" "$L1/q2-link" 2>/dev/null; then
	ok "a hard link at the quota (no new bytes)"
	check "removing the first name frees nothing (the data stays)" rm "$L2/q2"
	got=$(pywrite "$L2/q-over" 65536 16)
	expect_match "... so 1 MiB more still stops with EDQUOT" '^wrote [0-9]+ then EDQUOT' "$got"
	rm -f "$L2/q-over"
	check "the data is still there under the link" "$PO" pattern-check "$L1/q2-link" 1048576 7
	check "removing the last name frees it" rm "$L1/q2-link"
	check "... and 512 KiB fit again" "$PO" pattern-write "$L2/q2" 524288 7
else
	note "a hard link at the quota is refused: $(out "$PO" link "$L1/q2" "$L1/q2-link")"
fi
check "alice deletes q1 (always allowed)" rm "$L1/q1"
check "bob can write 512 KiB again" "$PO" pattern-write "$L2/q7" 524288 8
check "truncating down frees too" "$PO" truncate "$L1/q3" 0
check "... and bob writes 512 KiB more" "$PO" pattern-write "$L2/q8" 524288 9

sn_stop "$SN_PID"
sn_done
