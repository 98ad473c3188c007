package node

import (
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

// A read after Close finds nothing (CometBFT's stray consensus routine then
// skips its query) instead of the "leveldb: closed" error its block store
// panics on; reads before Close are the database's.
func TestCloseSafeDBReadAfterClose(t *testing.T) {
	inner, err := dbm.NewGoLevelDB("blockstore", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := &closeSafeDB{DB: inner}
	if err := db.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("before Close: %q, %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Get([]byte("k")); err == nil {
		t.Fatal("the inner database should refuse reads once closed")
	}
	if v, err := db.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("after Close: %q, %v", v, err)
	}
	if ok, err := db.Has([]byte("k")); err != nil || ok {
		t.Fatalf("Has after Close: %v, %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
