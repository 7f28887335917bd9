#!/bin/sh
# lint.sh - Sentinel's style and static checks (`make lint`).
#
#   scripts/lint.sh [SRCDIR]        (default: the tree this script is in)
#
# Runs, on src/ and tests/:
#   1. clang-format --dry-run --Werror   (the style in .clang-format)
#   2. cppcheck                          (warning and portability checks)
#   3. scripts/checksrc.sh               (banned functions)
# Every check runs even when an earlier one fails; the exit status is 1 if
# any of them found something, 2 if a tool is missing.
set -eu

SRCDIR=${1:-$(dirname "$0")/..}
cd "$SRCDIR"

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
CPPCHECK=${CPPCHECK:-cppcheck}

for t in "$CLANG_FORMAT" "$CPPCHECK"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "lint.sh: $t not found (run scripts/setup.sh)" >&2
		exit 2
	fi
done

dirs=
for d in src tests; do
	[ -d "$d" ] && dirs="$dirs $d"
done
# shellcheck disable=SC2086 # $dirs is a list of plain directory names
files=$(find $dirs -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
if [ -z "$files" ]; then
	echo "lint.sh: no C sources under src/ or tests/"
	exit 0
fi
nfiles=$(printf '%s\n' "$files" | wc -l)

status=0

echo "== clang-format ($nfiles files)"
# One line per file that differs from the style, with its first findings;
# LINT_VERBOSE=1 shows them all.
bad=0
for f in $files; do
	if ! out=$("$CLANG_FORMAT" --dry-run --Werror "$f" 2>&1); then
		bad=$((bad + 1))
		n=$(printf '%s\n' "$out" | grep -c 'clang-format-violations' || true)
		echo "$f: $n place(s) differ from .clang-format"
		if [ "${LINT_VERBOSE:-0}" = 1 ]; then
			printf '%s\n' "$out"
		else
			printf '%s\n' "$out" | head -n 6 | sed 's/^/    /'
		fi
	fi
done
if [ "$bad" -eq 0 ]; then
	echo "   ok"
else
	echo "   FAILED: $bad file(s); fix with: clang-format -i FILE..." >&2
	status=1
fi

echo "== cppcheck"
jobs=$(nproc 2>/dev/null || echo 2)
# -D__linux__ and -D__GNUC__: the platform Sentinel is built on.
# --inline-suppr: a justified finding can be silenced on its line with
#   // cppcheck-suppress ID
# readdirCalled is off: readdir_r() is deprecated, and glibc's readdir() is
# safe when each thread uses its own DIR stream.
# shellcheck disable=SC2086 # $dirs is a list of plain directory names
if "$CPPCHECK" --quiet --error-exitcode=1 --enable=warning,portability \
    --inline-suppr --std=c11 --language=c --library=posix \
    -j "$jobs" -D__linux__ -D__GNUC__ -D__x86_64__ -I src \
    --suppress=missingIncludeSystem --suppress=readdirCalled $dirs; then
	echo "   ok"
else
	echo "   FAILED" >&2
	status=1
fi

echo "== checksrc (banned functions)"
# shellcheck disable=SC2086 # $dirs is a list of plain directory names
if sh scripts/checksrc.sh $dirs; then
	echo "   ok"
else
	status=1
fi

if [ "$status" -ne 0 ]; then
	echo "lint: FAILED" >&2
else
	echo "lint: ok"
fi
exit "$status"
