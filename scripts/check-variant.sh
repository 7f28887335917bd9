#!/bin/bash
# check-variant.sh SRCDIR NAME [CONFIGURE-ARGS...]
# Build a copy of the tracked sources in SRCDIR/build-NAME with the given
# configure arguments and run the test suite there (make check-asan).  A
# copy, because an in-tree configured source directory cannot host a
# second (VPATH) build.
set -eu
src=$(cd "$1" && pwd)
name=$2
shift 2
dst="$src/build-$name"
rm -rf "$dst"
mkdir -p "$dst"
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] || continue
			case "$f" in build-*/*) continue ;; esac
			mkdir -p "$dst/$(dirname "$f")"
			cp -p "$f" "$dst/$f"
		done
else
	tar -C "$src" --exclude='./build-*' --exclude='*.o' --exclude='*.a' \
		--exclude=autom4te.cache --exclude=.git -cf - . | tar -C "$dst" -xf -
	rm -f "$dst/config.status" "$dst/Makefile"
fi
cd "$dst"
autoreconf -fi >/dev/null 2>&1
./configure -q "$@"
make -j"$(nproc)" >/dev/null
make check
