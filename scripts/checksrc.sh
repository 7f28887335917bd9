#!/bin/sh
# checksrc.sh - refuse calls to C functions that Sentinel does not use.
#
#   scripts/checksrc.sh [FILE|DIR]...      (default: src tests)
#
# Each banned function has a bounded or checked replacement (below).  Calls
# are searched in code only: comments and string literals are ignored.  A
# line that really needs one says so with the marker  checksrc: allow  in a
# comment on that line, e.g.  n = atoi(s); /* checksrc: allow */
# Exit: 0 clean, 1 findings, 2 usage error.
set -eu

if [ $# -eq 0 ]; then
	set -- src tests
fi

files=$(find "$@" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
[ -n "$files" ] || exit 0

# shellcheck disable=SC2086 # $files is a newline-separated list of paths
# without blanks (enforced below)
for f in $files; do
	case "$f" in
	*[[:space:]]*)
		echo "checksrc.sh: file name with blanks not supported: $f" >&2
		exit 2
		;;
	esac
done

# shellcheck disable=SC2086
awk '
BEGIN {
	alt["sprintf"] = "snprintf"
	alt["vsprintf"] = "vsnprintf"
	alt["strcpy"] = "a length-checked copy (snprintf, memcpy with a checked size)"
	alt["strcat"] = "a length-checked append (snprintf into the rest of the buffer)"
	alt["strncpy"] = "a length-checked copy (it does not NUL-terminate)"
	alt["gets"] = "fgets"
	alt["atoi"] = "strtol with error checks (config_parse_uint)"
	alt["atol"] = "strtol with error checks (config_parse_uint)"
	alt["atoll"] = "strtoll with error checks (config_parse_uint)"
	alt["system"] = "fork/exec with an argv (no shell)"
	alt["strtok"] = "strtok_r or strsep"
	alt["popen"] = "fork/exec with pipes (no shell)"
	alt["tmpnam"] = "mkstemp or mkdtemp"
	alt["mktemp"] = "mkstemp or mkdtemp"
	re = "(^|[^A-Za-z0-9_.>])(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|atoll|system|strtok|popen|tmpnam|mktemp)[ \t]*\\("
	found = 0
}
FNR == 1 { incomment = 0 }
{
	raw = $0
	# Strip comments and string/char literals, keeping code.
	out = ""
	line = raw
	while (length(line) > 0) {
		if (incomment) {
			p = index(line, "*/")
			if (p == 0) { line = ""; break }
			line = substr(line, p + 2)
			incomment = 0
			continue
		}
		c = substr(line, 1, 1)
		two = substr(line, 1, 2)
		if (two == "/*") { incomment = 1; line = substr(line, 3); out = out " "; continue }
		if (two == "//") { line = ""; break }
		if (c == "\"" || c == "\047") {
			q = c
			i = 2
			while (i <= length(line)) {
				d = substr(line, i, 1)
				if (d == "\\") { i += 2; continue }
				if (d == q) break
				i++
			}
			out = out q q
			line = substr(line, i + 1)
			continue
		}
		out = out c
		line = substr(line, 2)
	}
	if (raw ~ /checksrc: allow/)
		next
	code = out
	while (match(code, re)) {
		m = substr(code, RSTART, RLENGTH)
		sub(/^[^A-Za-z_]/, "", m)
		sub(/[ \t]*\($/, "", m)
		printf "%s:%d: banned function %s(): use %s\n", FILENAME, FNR, m, alt[m]
		found++
		code = substr(code, RSTART + RLENGTH)
	}
}
END {
	if (found > 0) {
		printf "checksrc: %d banned call(s); mark a justified one with /* checksrc: allow */\n", found
		exit 1
	}
}
' $files
