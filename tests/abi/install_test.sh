#!/bin/sh
# install_test.sh - `make install` as a C host sees it (TAP): installed into
# a temporary PREFIX, the library comes with the libswing.so ->
# libswing.so.<ABI> -> libswing.so.<ABI>.<minor>.<patch> links and a
# pkg-config file; a tiny host (tests/abi/install_host.c) built with
# `pkg-config --cflags --libs libswing` alone, and run with LD_LIBRARY_PATH
# (no rpath), starts, opens a node and queries it; so it does against build/. Regression (issue:
# hardening, ABI edges, 2025): the SONAME was libswing.so.1 but nothing
# provided that name, so such a host could not start. Usage: install_test.sh
# (from the repository root, after `make build`).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swing-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

abi=$(sed -n 's/^#define SWING_ABI_VERSION \([0-9]*\)$/\1/p' abi/swing.h)
prefix=$tmp/prefix
lib=$prefix/lib
echo "1..9"

# A make of its own: the one running `make test` may pass jobserver flags.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install PREFIX="$prefix" \
    >"$tmp/install.log" 2>&1
rc=$?
check "make install into a temporary PREFIX succeeds" '[ $rc -eq 0 ] || { sed "s/^/# /" "$tmp/install.log"; false; }'

file=$(readlink -f "$lib/libswing.so" 2>/dev/null)
check "libswing.so -> libswing.so.$abi -> libswing.so.$abi.x.y, relative links to one file" \
    '[ "$(readlink "$lib/libswing.so")" = "libswing.so.$abi" ] &&
     [ -f "$file" ] && [ ! -L "$file" ] && [ "$(dirname "$file")" = "$(readlink -f "$lib")" ] &&
     basename "$file" | grep -Eq "^libswing\.so\.$abi\.[0-9]+\.[0-9]+$" &&
     [ "$(readlink "$lib/libswing.so.$abi")" = "$(basename "$file")" ]'

check "the library's SONAME is libswing.so.$abi" \
    'readelf -d "$file" | grep -q "(SONAME).*\[libswing\.so\.$abi\]"'

flags=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs libswing 2>"$tmp/pc.err")
rc=$?
check "pkg-config --cflags --libs libswing answers from the installed libswing.pc" \
    '[ $rc -eq 0 ] && echo "$flags" | grep -q -- "-I$prefix/include/swing" && echo "$flags" | grep -q -- "-lswing"'

hdr=$prefix/include/swing/swing.h
check "the installed swing.h is self-contained: no #include but the C library's, status codes inlined" \
    '[ -f "$hdr" ] && ! grep -E "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"" "$hdr" &&
     grep -q "SWING_ERR_PANIC = 11" "$hdr" && grep -q "swing_status_name" "$hdr" ||
     { grep -n "include" "$hdr" | sed "s/^/# /"; false; }'

# shellcheck disable=SC2086 # the flags are words
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/host" tests/abi/install_host.c $flags 2>"$tmp/cc.err"
rc=$?
check "a C host builds with pkg-config's flags alone" '[ $rc -eq 0 ] || { sed "s/^/# /" "$tmp/cc.err"; false; }'

check "the host needs libswing.so.$abi and carries no rpath" \
    'readelf -d "$tmp/host" | grep -q "(NEEDED).*\[libswing\.so\.$abi\]" &&
     ! readelf -d "$tmp/host" | grep -Eq "\((RPATH|RUNPATH)\)"'

LD_LIBRARY_PATH="$lib" "$tmp/host" "$tmp/db" >"$tmp/host.out" 2>&1
rc=$?
check "the host starts, opens a node and queries it" \
    '[ $rc -eq 0 ] && grep -q "open and query OK" "$tmp/host.out" || { sed "s/^/# /" "$tmp/host.out"; false; }'

LD_LIBRARY_PATH=build "$tmp/host" "$tmp/db2" >"$tmp/host2.out" 2>&1
rc=$?
check "build/ has the same links: the host runs against build/libswing.so.$abi" \
    '[ $rc -eq 0 ] && [ "$(readlink build/libswing.so)" = "libswing.so.$abi" ] &&
     [ "$(readlink build/libswing.so.$abi)" = "$(basename "$file")" ] ||
     { sed "s/^/# /" "$tmp/host2.out"; false; }'

[ $failed -eq 0 ]
