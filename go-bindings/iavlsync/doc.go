// Package iavlsync checks libswing's export-data deltas against a real IAVL
// tree (github.com/cosmos/iavl over its in-memory DB), the way a Cosmos
// chain stores them: each block's delta is applied under a prefix and the
// version saved. It is its own module so that the bindings do not pull
// IAVL's dependencies into every host.
package iavlsync
