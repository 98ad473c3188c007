#!/bin/sh
# Installs the anchor benchmark into DEST (default: build/anchor under the
# repository root): copies the harness, the vats and the pinned
# package.json/package-lock.json there and runs `npm ci` (from the npm
# registry; native builds of @agoric/xsnap, better-sqlite3 and microtime
# happen here). npm ci is skipped when DEST already holds an install of the
# same package-lock.json. Then run:  node DEST/run.js all
set -eu
SRC=$(cd "$(dirname "$0")" && pwd)
DEST=${1:-$SRC/../../../build/anchor}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

if [ "$DEST" != "$SRC" ]; then
  cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/run.js" "$SRC/README.md" "$DEST/"
  rm -rf "$DEST/lib" "$DEST/vats"
  cp -R "$SRC/lib" "$SRC/vats" "$DEST/"
fi

stamp="$DEST/node_modules/.anchor-installed"
if [ -f "$stamp" ] && cmp -s "$stamp" "$DEST/package-lock.json"; then
  echo "anchor: $DEST/node_modules is up to date"
  exit 0
fi

# node-gyp (better-sqlite3, microtime) would download node's headers from
# the internet unless told where they are: use the running node's own.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  if [ -f "$prefix/include/node/node.h" ]; then
    npm_config_nodedir=$prefix
    export npm_config_nodedir
  fi
fi

cd "$DEST"
npm ci --no-audit --no-fund
# the native parts must be there
test -x node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker
test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node
cp package-lock.json "$stamp"
echo "anchor: installed into $DEST"
