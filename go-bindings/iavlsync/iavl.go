package iavlsync

import (
	"fmt"

	"github.com/cosmos/iavl"
	idb "github.com/cosmos/iavl/db"

	pb "libswing/go-bindings/swingpb"
)

// Prefix is where a chain keeps the kernel's export data in its own store.
const Prefix = "swingset/"

// countingDB is IAVL's in-memory DB with its write batches counted.
type countingDB struct {
	*idb.MemDB
	nodes, bytes int // node records written (keys 's...') and their bytes
}

type countingBatch struct {
	idb.Batch
	db *countingDB
}

func (d *countingDB) NewBatch() idb.Batch { return &countingBatch{d.MemDB.NewBatch(), d} }

func (d *countingDB) NewBatchWithSize(n int) idb.Batch {
	return &countingBatch{d.MemDB.NewBatchWithSize(n), d}
}

func (b *countingBatch) Set(key, value []byte) error {
	if len(key) > 0 && key[0] == 's' {
		b.db.nodes++
		b.db.bytes += len(key) + len(value)
	}
	return b.Batch.Set(key, value)
}

// Tree is a chain's IAVL store holding export data under Prefix.
type Tree struct {
	db   *countingDB
	tree *iavl.MutableTree
}

// BlockStats is what writing one block's delta cost IAVL.
type BlockStats struct {
	Version      int64
	Entries      int // export-data entries in the delta
	NodesWritten int // IAVL node records written by SaveVersion
	NodeBytes    int
	RootHash     []byte
}

// New opens an empty tree.
func New() *Tree {
	db := &countingDB{MemDB: idb.NewMemDB()}
	return &Tree{db: db, tree: iavl.NewMutableTree(db, 10000, true, iavl.NewNopLogger())}
}

// Apply writes one commit's delta and saves a version.
func (t *Tree) Apply(delta []*pb.ExportDataEntry) (BlockStats, error) {
	for _, e := range delta {
		k := []byte(Prefix + e.Key)
		if e.Deleted {
			if _, _, err := t.tree.Remove(k); err != nil {
				return BlockStats{}, err
			}
			continue
		}
		v := e.Value
		if v == nil {
			v = []byte{} // IAVL refuses nil values; an empty one is a value
		}
		if _, err := t.tree.Set(k, v); err != nil {
			return BlockStats{}, err
		}
	}
	n0, b0 := t.db.nodes, t.db.bytes
	hash, version, err := t.tree.SaveVersion()
	if err != nil {
		return BlockStats{}, err
	}
	return BlockStats{Version: version, Entries: len(delta), NodesWritten: t.db.nodes - n0,
		NodeBytes: t.db.bytes - b0, RootHash: hash}, nil
}

// Contents lists every export-data entry the tree holds, in key order.
func (t *Tree) Contents() (map[string][]byte, error) {
	out := map[string][]byte{}
	it, err := t.tree.Iterator([]byte(Prefix), nil, true)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		k := string(it.Key())
		if len(k) < len(Prefix) || k[:len(Prefix)] != Prefix {
			return nil, fmt.Errorf("key %q outside %q", k, Prefix)
		}
		out[k[len(Prefix):]] = append([]byte(nil), it.Value()...)
	}
	return out, it.Error()
}
