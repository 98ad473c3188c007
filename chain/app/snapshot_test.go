package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func snapOpts(t *testing.T) SnapshotOptions {
	return SnapshotOptions{Dir: filepath.Join(t.TempDir(), "snaps"), Interval: 3, KeepRecent: 2, ChunkSize: 4096}
}

func (n *node) snapshots() []*abci.Snapshot {
	n.t.Helper()
	r, err := n.app.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		n.t.Fatal(err)
	}
	return r.Snapshots
}

func (n *node) chunk(s *abci.Snapshot, i uint32) []byte {
	n.t.Helper()
	r, err := n.app.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: s.Height, Format: s.Format, Chunk: i})
	if err != nil || len(r.Chunk) == 0 {
		n.t.Fatalf("chunk %d of %d: %v", i, s.Height, err)
	}
	return r.Chunk
}

func (n *node) offer(s *abci.Snapshot, appHash []byte) abci.ResponseOfferSnapshot_Result {
	n.t.Helper()
	r, err := n.app.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: s, AppHash: appHash})
	if err != nil {
		n.t.Fatal(err)
	}
	return r.Result
}

func (n *node) apply(i uint32, chunk []byte, sender string) *abci.ResponseApplySnapshotChunk {
	n.t.Helper()
	r, err := n.app.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: chunk, Sender: sender})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

// Snapshots: taken every Interval heights, the last KeepRecent kept,
// byte-identical on two nodes; a new node restores one (a corrupted chunk
// is refused and fetched again; a snapshot that does not give the trusted
// app hash is refused and leaves the node empty) and then agrees at every
// later height.
func TestSnapshots(t *testing.T) {
	// A compute limit leaves inbound results pending across snapshot heights.
	g := genesisBytes(t, func(p *Params) { p.ComputeLimit = 1 })
	a, b := newNode(t, g, snapOpts(t)), newNode(t, g, snapOpts(t))
	a.initChain()
	b.initChain()
	hashes := map[int64][]byte{}
	for h := int64(1); h <= 9; h++ {
		txs := workload(t, h)
		hashes[h] = a.block(h, txs).AppHash
		b.block(h, txs)
	}
	sa, sb := a.snapshots(), b.snapshots()
	if len(sa) != 2 || sa[0].Height != 9 || sa[1].Height != 6 {
		t.Fatalf("snapshots: %v", sa)
	}
	s := sa[0]
	if s.Chunks < 3 || s.Format != SnapshotFormat {
		t.Fatalf("snapshot of %d chunks, format %d: make the state larger or the chunks smaller", s.Chunks, s.Format)
	}
	if !bytes.Equal(s.Hash, sb[0].Hash) || !bytes.Equal(s.Metadata, sb[0].Metadata) || s.Chunks != sb[0].Chunks {
		t.Fatal("the two nodes' snapshots of height 9 differ")
	}
	for i := uint32(0); i < s.Chunks; i++ {
		if !bytes.Equal(a.chunk(s, i), b.chunk(s, i)) {
			t.Fatalf("chunk %d differs between the nodes", i)
		}
	}
	var st StatsJSON
	a.query(QueryStats, nil, &st)
	if st.PendingInbound == 0 {
		t.Fatal("no inbound result pending at the snapshot height: the restore would prove less")
	}
	// The node reopens with its snapshots.
	a.crash()
	if got := a.snapshots(); len(got) != 2 || !bytes.Equal(got[0].Hash, s.Hash) {
		t.Fatalf("after reopening: %v", got)
	}

	c := newNode(t, g, snapOpts(t))
	// Offers that must be refused.
	if r := c.offer(&abci.Snapshot{Height: 9, Format: 2, Chunks: s.Chunks, Hash: s.Hash, Metadata: s.Metadata}, hashes[9]); r != abci.ResponseOfferSnapshot_REJECT_FORMAT {
		t.Fatalf("format 2: %v", r)
	}
	forged := *s
	forged.Metadata = append([]byte{}, s.Metadata...)
	forged.Metadata[len(forged.Metadata)-3] ^= 1
	if r := c.offer(&forged, hashes[9]); r != abci.ResponseOfferSnapshot_REJECT {
		t.Fatalf("metadata not matching the hash: %v", r)
	}
	// A snapshot of height 9 offered with another height's app hash is
	// fetched, then refused by the import: the node stays empty.
	if r := c.offer(s, hashes[8]); r != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	for i := uint32(0); i < s.Chunks; i++ {
		r := c.apply(i, a.chunk(s, i), "peer-a")
		want := abci.ResponseApplySnapshotChunk_ACCEPT
		if i == s.Chunks-1 {
			want = abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT
		}
		if r.Result != want {
			t.Fatalf("chunk %d with a wrong app hash: %v", i, r.Result)
		}
	}
	if i := c.info(); i.LastBlockHeight != 0 || len(i.LastBlockAppHash) != 0 {
		t.Fatalf("after a refused import: %v", i)
	}

	// The real restore, with a corrupted chunk on the way.
	if r := c.offer(s, hashes[9]); r != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	for i := uint32(0); i < s.Chunks; i++ {
		chunk := a.chunk(s, i)
		if i == 1 {
			bad := append([]byte{}, chunk...)
			bad[10] ^= 0x40
			r := c.apply(i, bad, "peer-bad")
			if r.Result != abci.ResponseApplySnapshotChunk_RETRY || len(r.RefetchChunks) != 1 || r.RefetchChunks[0] != 1 ||
				len(r.RejectSenders) != 1 || r.RejectSenders[0] != "peer-bad" {
				t.Fatalf("corrupted chunk: %v", r)
			}
			if r := c.apply(i, chunk[:len(chunk)-1], "peer-short"); r.Result != abci.ResponseApplySnapshotChunk_RETRY {
				t.Fatalf("short chunk: %v", r)
			}
		}
		if r := c.apply(i, chunk, "peer-a"); r.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	i := c.info()
	if i.LastBlockHeight != 9 || !bytes.Equal(i.LastBlockAppHash, hashes[9]) {
		t.Fatalf("restored node: %v", i)
	}
	for h := int64(10); h <= 14; h++ {
		txs := workload(t, h)
		ra, rc := a.block(h, txs), c.block(h, txs)
		if !bytes.Equal(ra.AppHash, rc.AppHash) || resultCodes(ra) != resultCodes(rc) {
			t.Fatalf("height %d: the restored node differs", h)
		}
		if len(eventsOf(ra, "swing_result")) != len(eventsOf(rc, "swing_result")) {
			t.Fatalf("height %d: results %v / %v", h, eventsOf(ra, "swing_result"), eventsOf(rc, "swing_result"))
		}
	}
	// The restore left no staging files behind.
	if _, err := os.Stat(filepath.Join(c.snaps.Dir, "restore")); !os.IsNotExist(err) {
		t.Fatalf("restore directory left: %v", err)
	}
	// A node with state refuses offers.
	if r := c.offer(s, hashes[9]); r != abci.ResponseOfferSnapshot_ABORT {
		t.Fatalf("offer to a node with state: %v", r)
	}
}

// Too many bad copies of one chunk reject the snapshot.
func TestSnapshotChunkRetriesEnd(t *testing.T) {
	g := genesisBytes(t, nil)
	a := newNode(t, g, snapOpts(t))
	hashes := map[int64][]byte{}
	a.initChain()
	for h := int64(1); h <= 3; h++ {
		hashes[h] = a.block(h, workload(t, h)).AppHash
	}
	s := a.snapshots()[0]
	c := newNode(t, g, snapOpts(t))
	if r := c.offer(s, hashes[3]); r != abci.ResponseOfferSnapshot_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	bad := append([]byte{}, a.chunk(s, 0)...)
	bad[0] ^= 1
	var last abci.ResponseApplySnapshotChunk_Result
	for try := 0; try <= maxChunkRetries; try++ {
		last = c.apply(0, bad, "p").Result
	}
	if last != abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT {
		t.Fatalf("after %d bad copies: %v", maxChunkRetries+1, last)
	}
	if r := c.apply(0, a.chunk(s, 0), "p"); r.Result != abci.ResponseApplySnapshotChunk_ABORT {
		t.Fatalf("a chunk with no restore under way: %v", r.Result)
	}
}

// The stream parser refuses what is not an export.
func TestReadStreamRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(b []byte) string {
		p := filepath.Join(dir, "s")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	entry := func(name string, n uint64, data string) []byte {
		b := []byte{byte(len(name) >> 8), byte(len(name))}
		b = append(b, name...)
		for i := 7; i >= 0; i-- {
			b = append(b, byte(n>>(8*i)))
		}
		return append(b, data...)
	}
	m := []byte(snapshotMagic)
	cases := map[string][]byte{
		"bad magic":  []byte("SWSNAP2\n"),
		"path":       append(append([]byte{}, m...), entry("../x", 1, "x")...),
		"order":      append(append(append([]byte{}, m...), entry("manifest.json", 1, "x")...), entry("a000001", 1, "x")...),
		"short":      append(append([]byte{}, m...), entry("a000001", 10, "x")...),
		"half entry": append(append([]byte{}, m...), 0),
	}
	for name, b := range cases {
		if err := readStream(write(b), filepath.Join(dir, "out-"+name)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := append(append(append([]byte{}, m...), entry("a000001", 1, "x")...), entry("manifest.json", 2, "{}")...)
	if err := readStream(write(ok), filepath.Join(dir, "ok")); err != nil {
		t.Fatal(err)
	}
}
