#!/bin/sh
# Installs the Debian packages libswing builds against, only those missing.
# Called by `make deps`; every target that needs a package depends on it.
set -eu
PKGS="build-essential clang libclang-rt-14-dev pkg-config libleveldb-dev libprotobuf-c-dev protobuf-c-compiler
liblua5.4-dev libcmocka-dev nettle-dev libsodium-dev libjansson-dev perl
protobuf-compiler valgrind locales"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
