#!/bin/sh
# layout_test.sh - the source tree's layout rules, as TAP (run by prove in
# `make test-unit`): which folder may include which, file and function
# sizes, and that every non-static library function's prefix names its
# file (STYLE.md section 2). POSIX sh and awk; never reads build/ or
# generated code. Offenders are `# ` diagnostics under the failing rule;
# known offenders are listed below and reported as `# TODO`, not failures.
#
# Exceptions, one a line: <rule> <file> <what> # why. Delete a line once
# the offence is fixed (a stale line is reported too).
EXCEPTIONS='
include cli/demo.c store/store.h # TODO: the store demo command drives the store directly, not the ABI
'
# Short prefixes a file owns instead of its name (as luaH_ is ltable.c's),
# one a line: <file> <prefix>. KEEP IN SYNC: the folder READMEs.
ALIASES='
kernel/capdata.c kern_cd_
kernel/objects.c kern_obj_
kernel/promises.c kern_kp_
kernel/termination.c kern_term_
kernel/translate.c kern_tr_
store/export.c store_exporter_
store/overlay.c store_ov_
store/import_check.c store_import_
'

MAX_FILE=800
MAX_FN=80
cd "$(dirname "$0")/../.." || exit 1

LIB_DIRS='base store vatproto kernel liveslots abi cli'
lib_files() { find $LIB_DIRS -type f \( -name '*.c' -o -name '*.h' \) | sort; }
test_files() { find tests -mindepth 2 -maxdepth 2 -type f \( -name '*.c' -o -name '*.h' \) | sort; }

n=0
failed=0
# report <ok> <name> <diagnostics file>: one TAP line, offenders as "# "
report() {
    n=$((n + 1))
    if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
    sed 's/^/# /' "$3"
}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
printf '%s\n' "$EXCEPTIONS" | sed -n 's/^\([a-z]*\) \([^ ]*\) \([^ ]*\) *# *\(.*\)/\1 \2 \3 \4/p' >"$tmp/exc"

# judge <rule> <name>: offenders in $tmp/<rule>.raw ("file what detail"),
# split into excepted (TODO) and failing; stale exceptions fail too.
judge() {
    awk -v rule="$1" -v todo="$tmp/$1.todo" -v bad="$tmp/$1.bad" '
        FNR == NR { if ($1 == rule) { r = $0; sub(/^[^ ]* [^ ]* [^ ]* /, "", r); sub(/^TODO: */, "", r); exc[$2 " " $3] = r }; next }
        { key = $1 " " $2; d = $0; sub(/^[^ ]* [^ ]* /, "", d)
          if (key in exc) { print "TODO " $1 ": " d " (" exc[key] ")" > todo; seen[key] = 1 }
          else print $1 ": " d > bad }
        END { for (k in exc) if (!(k in seen)) print "stale exception: " k > bad }
    ' "$tmp/exc" "$tmp/$1.raw"
    touch "$tmp/$1.todo" "$tmp/$1.bad"
    cat "$tmp/$1.bad" "$tmp/$1.todo" >"$tmp/$1.out"
    if [ -s "$tmp/$1.bad" ]; then report fail "$2" "$tmp/$1.out"; else report ok "$2" "$tmp/$1.out"; fi
}

# Rule 1: include direction. A folder may include only the folders listed;
# swing/ is the generated protobuf-c code (abi/ and cli/ only).
lib_files | xargs awk '
    FNR == 1 { split(FILENAME, p, "/"); dir = p[1] }
    /^#include "/ {
        inc = $2; gsub(/"/, "", inc); split(inc, q, "/"); to = q[1]
        ok = 0
        if (dir == "base") ok = to == "base"
        else if (dir == "store") ok = to == "base" || to == "store"
        else if (dir == "vatproto") ok = to == "base" || to == "vatproto"
        else if (dir == "kernel") ok = to == "base" || to == "store" || to == "vatproto" || to == "kernel"
        else if (dir == "liveslots") ok = to == "base" || to == "vatproto" || to == "liveslots"
        else if (dir == "abi") ok = to != "cli"
        else if (dir == "cli") ok = inc == "abi/swing.h" || to == "base" || to == "cli" || to == "swing"
        if (!ok) print FILENAME, inc, "includes " inc
    }' >"$tmp/include.raw"
judge include "include direction (base < store, vatproto < kernel, liveslots < abi < cli)"

# Rule 2: file size.
{ lib_files; test_files; } | xargs wc -l | awk -v max=$MAX_FILE '
    $2 != "total" && $1 > max { print $2, "lines", $1 " lines (max " max ")" }' >"$tmp/size.raw"
judge size "every source file at most $MAX_FILE lines"

# Functions: a definition starts at a column-0 line that opens with a type
# (not static-asserts, typedefs, preprocessor lines or prototypes) and
# holds "(", its body opens at a column-0 "{" and ends at a column-0 "}".
# Prints "file line length static name".
FUNCS_AWK='
    !infn && !pending && /^[A-Za-z_].*\(/ && !/;[ \t]*$/ && !/^(typedef|_Static_assert|#)/ {
        start = FNR; sig = $0; pending = 1
    }
    pending && /^\{/ { infn = 1; pending = 0; next }
    pending && /;[ \t]*$/ { pending = 0 }
    pending && /\{[ \t]*$/ && FNR == start { pending = 0 }
    infn && /^\}/ {
        name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
        st = sig ~ /^static / ? "static" : "extern"
        print FILENAME, start, FNR - start - 1, st, name
        infn = 0
    }'
lib_files | grep '\.c$' | xargs awk "$FUNCS_AWK" >"$tmp/funcs"

# Rule 3: function size.
awk -v max=$MAX_FN '$3 > max { print $1, $5, $5 " (line " $2 ") " $3 " lines (max " max ")" }' \
    "$tmp/funcs" >"$tmp/function.raw"
judge function "every library function body at most $MAX_FN lines"

# Rule 4: prefixes. A non-static function in <dir>/<file>.c is named
# <prefix><file> or <prefix><file>_..., the prefix by folder: base/ and
# abi/ swing_ (the public ABI, and base/'s vocabulary), abi/ also host_
# (abi/host.h), store/ store_, kernel/ kern_, liveslots/lua/ ls_lua_,
# cli/ cli_; or a short prefix from ALIASES. The namesake file of a folder
# (store/store.c, kernel/kernel.c) owns the bare folder prefix. Also accepted: names declared in the folder's contract header
# that several files implement (kernel/kernel.h, store/store.h, cli/cli.h,
# abi/host.h), and main.
for h in kernel/kernel.h store/store.h cli/cli.h abi/host.h; do
    sed -n 's/^[A-Za-z_][^(]*[ *]\([a-z_0-9]*\)(.*/\1/p' "$h"
done | sort -u >"$tmp/declared"
printf '%s\n' "$ALIASES" | awk 'NF == 2' >"$tmp/aliases"
awk '
    FILENAME == ARGV[1] { declared[$1] = 1; next }
    FILENAME == ARGV[2] { alias[$1] = $2; next }
    $4 == "static" || $5 ~ /^[A-Z_0-9]+$/ { next } # file-local, or a macro such as RB_GENERATE
    {
        file = $1; name = $5; base = file; sub(/.*\//, "", base); sub(/\.c$/, "", base)
        split(file, p, "/"); dir = p[1]
        if (name == "main" || name in declared) next
        n = 0
        if (dir == "base") pre[++n] = "swing_"
        else if (dir == "abi") { pre[++n] = "swing_"; pre[++n] = "host_" }
        else if (dir == "store") pre[++n] = "store_" base
        else if (dir == "kernel") pre[++n] = "kern_" base
        else if (dir == "liveslots") pre[++n] = "ls_lua_" base
        else if (dir == "cli") pre[++n] = "cli_" base
        else if (dir == "vatproto") pre[++n] = "vp_" base
        if (file in alias) pre[++n] = alias[file]
        if (base == dir && pre[1] ~ ("_" base "$")) pre[1] = substr(pre[1], 1, length(pre[1]) - length(base))
        ok = 0
        for (i = 1; i <= n; i++) {
            l = length(pre[i])
            if (substr(pre[i], l) == "_") { if (substr(name, 1, l) == pre[i]) ok = 1 }
            else if (name == pre[i] || substr(name, 1, l + 1) == pre[i] "_") ok = 1
        }
        if (!ok) print file, name, name " (line " $2 ") does not start with " pre[1] (pre[1] ~ /_$/ ? "" : "_")
    }' "$tmp/declared" "$tmp/aliases" "$tmp/funcs" >"$tmp/prefix.raw"
judge prefix "every non-static library function has its file's prefix"

echo "1..$n"
[ "$failed" -eq 0 ]
