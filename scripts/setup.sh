#!/bin/sh
# setup.sh - make a fresh Debian 12 (bookworm) machine ready to build, test,
# lint and benchmark Sentinel, then build it.
#
#   ./scripts/setup.sh            install packages (apt), autoreconf, configure, make
#
# Run it as root, or as a user who may use sudo.  It is idempotent: run it
# again at any time (packages already installed are not fetched again).
#
# Environment:
#   SN_SKIP_APT=1            do not touch packages (no apt-get at all)
#   SN_CONFIGURE_FLAGS=...   extra arguments for ./configure
#                            (e.g. "--enable-werror", "--enable-debug")
#   SN_SKIP_BUILD=1          stop after the packages and /dev/fuse
set -eu

cd "$(dirname "$0")/.."
TOP=$(pwd)

say() { printf '==> %s\n' "$*"; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() {
	printf 'setup.sh: error: %s\n' "$*" >&2
	exit 1
}

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	SUDO=
fi

# Everything the project needs, by purpose.  All are Debian 12 packages.
PKGS_BUILD="build-essential autoconf automake libtool pkg-config make gcc
	libfuse3-dev libmicrohttpd-dev libssl-dev libsqlite3-dev libcjson-dev
	libcap-dev libcurl4-openssl-dev libgnutls28-dev libseccomp-dev"
PKGS_RUN="fuse3 sqlite3 ca-certificates kmod openssl"
PKGS_TEST="git curl rsync attr acl util-linux procps psmisc e2fsprogs coreutils
	python3 python3-yaml"
PKGS_QUALITY="clang libclang-rt-14-dev clang-format cppcheck valgrind
	libc6-dbg yamllint"
PKGS_BENCH="bindfs fio tar nginx-light bubblewrap"
PKGS="$PKGS_BUILD $PKGS_RUN $PKGS_TEST $PKGS_QUALITY $PKGS_BENCH"

# ---- packages -------------------------------------------------------------
missing_pkgs() {
	for p in $PKGS; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case "$st" in
		ii*) ;;
		*) printf '%s ' "$p" ;;
		esac
	done
}

if [ "${SN_SKIP_APT:-0}" = 1 ]; then
	say "SN_SKIP_APT=1: not installing packages"
else
	command -v apt-get >/dev/null 2>&1 ||
	    die "apt-get not found: this script is for Debian 12 (set SN_SKIP_APT=1 to skip packages)"
	if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
		die "not root and no sudo: run as root, or set SN_SKIP_APT=1 if the packages are already installed"
	fi
	os=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
	case "$os" in
	"Debian GNU/Linux 12"*) ;;
	*) warn "this is ${os:-an unknown system}, not Debian 12; trying anyway" ;;
	esac
	missing=$(missing_pkgs)
	if [ -z "$missing" ]; then
		say "all required packages are already installed"
	else
		say "installing packages: $missing"
		$SUDO apt-get update
		# shellcheck disable=SC2086 # word splitting of the list is wanted
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		    --no-install-recommends $missing
		missing=$(missing_pkgs)
		[ -z "$missing" ] || die "packages still missing after apt-get install: $missing"
		say "packages installed"
	fi
fi

# ---- /dev/fuse --------------------------------------------------------------
if [ ! -c /dev/fuse ]; then
	say "/dev/fuse is missing: trying to load the fuse module"
	if command -v modprobe >/dev/null 2>&1; then
		$SUDO modprobe fuse 2>/dev/null || true
	fi
	if [ ! -c /dev/fuse ]; then
		# Inside a container the module may be loaded but the node absent.
		$SUDO mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
	fi
fi
if [ -c /dev/fuse ]; then
	say "/dev/fuse is present"
else
	warn "no /dev/fuse: Sentinel cannot mount here and the FUSE tests will be skipped"
	warn "(in a container, run it with --device /dev/fuse --cap-add SYS_ADMIN)"
fi

if [ "${SN_SKIP_BUILD:-0}" = 1 ]; then
	say "SN_SKIP_BUILD=1: not building"
	exit 0
fi

# ---- build ------------------------------------------------------------------
for t in autoreconf make cc pkg-config; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (install the packages first)"
done

mkdir -p m4
say "autoreconf -fi"
autoreconf -fi

say "./configure ${SN_CONFIGURE_FLAGS:-}"
# shellcheck disable=SC2086 # SN_CONFIGURE_FLAGS is a list of arguments
./configure ${SN_CONFIGURE_FLAGS:-}

jobs=$(nproc 2>/dev/null || echo 2)
say "make -j$jobs"
make -j"$jobs"

say "done: $TOP/sentinel is built"
say "next: ./sentinel serve   (demo workspace at ./workspace)   or   make check"
