package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"

	"libswing/chain/app"
)

// testLogger: CometBFT's logs go to stderr with SWING_TEST_LOG=1 (they are
// many, and shutdown logs benign errors), else nowhere.
func testLogger() log.Logger {
	if os.Getenv("SWING_TEST_LOG") == "" {
		return log.NewNopLogger()
	}
	return log.NewFilter(log.NewTMLogger(log.NewSyncWriter(os.Stderr)), log.AllowInfo())
}

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func height(n *Node) int64 { return n.CMT.BlockStore().Height() }

// appHashes is each height's app hash as the node's own FinalizeBlock gave it.
func appHash(t *testing.T, n *Node, h int64) []byte {
	t.Helper()
	r, err := rpclocal.New(n.CMT).BlockResults(context.Background(), &h)
	if err != nil {
		t.Fatalf("%s: block results %d: %v", n.Home, h, err)
	}
	return r.AppHash
}

// A 4-validator localnet on 127.0.0.1 with the real kernel, in one process:
// heights advance, each node's app hash agrees at every height, a
// transaction sent to one node executes on all, snapshots of one height are
// byte-identical on two nodes, and a fifth node that joins by state sync
// agrees at every height after its snapshot.
func TestLocalnet(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	st, err := app.AppStateFromSimConfig("../../examples/chain/chain.json")
	if err != nil {
		t.Fatal(err)
	}
	state, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := Testnet(TestnetOptions{Dir: t.TempDir(), Validators: 4, NonValidators: 1, AppState: state,
		// Snapshots every 4 blocks, kept for 100: a snapshot the joining node
		// picks must outlive its restore. With the default two kept it lived
		// about 8 blocks (4 s), and when pruned while the node fetched its chunks
		// every peer answered them missing and CometBFT retried them forever.
		App: AppConfig{SnapshotInterval: 4, SnapshotKeepRecent: 25, SnapshotChunkSize: 4 << 10, NoSync: true}})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*Node
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].Stop()
		}
	}()
	start := time.Now()
	for _, a := range addrs[:4] {
		n, err := Start(a.Home, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	all := func(h int64) func() bool {
		return func() bool {
			for _, n := range nodes {
				if height(n) < h {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, 30*time.Second, "height 2 on the validators", all(2))

	// A transaction through node0's RPC executes on every node.
	sendAndCheck(t, nodes[0], nodes, "[41]", "#41")

	ctx := context.Background()
	// Snapshots at 4 and 8; the light client can use the one at 8 from height 10.
	waitFor(t, 40*time.Second, "height 10 on the validators", all(10))
	s0, _ := nodes[0].App.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	s1, _ := nodes[1].App.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if len(s0.Snapshots) == 0 || len(s1.Snapshots) == 0 {
		t.Fatal("no snapshots")
	}
	snap := s0.Snapshots[0]
	if snap.Height != s1.Snapshots[0].Height || !bytes.Equal(snap.Hash, s1.Snapshots[0].Hash) || snap.Chunks < 2 {
		t.Fatalf("snapshots differ or are too small: %v / %v", snap, s1.Snapshots[0])
	}
	for i := uint32(0); i < snap.Chunks; i++ {
		req := &abci.RequestLoadSnapshotChunk{Height: snap.Height, Format: snap.Format, Chunk: i}
		a, _ := nodes[0].App.LoadSnapshotChunk(ctx, req)
		b, _ := nodes[1].App.LoadSnapshotChunk(ctx, req)
		if len(a.Chunk) == 0 || !bytes.Equal(a.Chunk, b.Chunk) {
			t.Fatalf("chunk %d of height %d differs between node0 and node1", i, snap.Height)
		}
	}

	// The fifth node joins by state sync.
	trust := int64(2)
	meta := nodes[0].CMT.BlockStore().LoadBlockMeta(trust)
	if err := EnableStateSync(addrs[4].Home, []string{addrs[0].RPCURL(), addrs[1].RPCURL()}, trust, meta.BlockID.Hash); err != nil {
		t.Fatal(err)
	}
	n4, err := Start(addrs[4].Home, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	nodes = append(nodes, n4)
	target := height(nodes[0]) + 4
	// Snapshot discovery and chunk fetching retry on CometBFT timers.
	waitFor(t, 90*time.Second, fmt.Sprintf("the state-synced node at height %d", target), func() bool { return height(n4) >= target })
	base := n4.CMT.BlockStore().Base()
	if base <= 1 {
		t.Fatalf("node4 has blocks from %d: it did not state-sync", base)
	}
	// ... and a transaction it relays executes on every node.
	sendAndCheck(t, n4, nodes, "[1]", "#42")
	tip := height(nodes[0])
	for _, n := range nodes {
		tip = min(tip, height(n))
	}
	for h := int64(1); h <= tip; h++ {
		want := appHash(t, nodes[0], h)
		for _, n := range nodes[1:] {
			if n == n4 && h < base {
				continue
			}
			if got := appHash(t, n, h); !bytes.Equal(got, want) {
				t.Fatalf("height %d: %s has app hash %X, node0 %X", h, n.Home, got, want)
			}
		}
	}
	t.Logf("localnet: %d heights agree on 5 nodes (node4 from %d, restored at %d) in %v",
		tip, base, base-1, time.Since(start).Round(time.Millisecond))
}

// sendAndCheck broadcasts counter.increment(args) through one node's RPC
// and checks its result (body) in every node's results of its block.
func sendAndCheck(t *testing.T, via *Node, nodes []*Node, args, body string) {
	t.Helper()
	ctx := context.Background()
	tx, err := (&app.Tx{Vat: "counter", Method: "increment", Args: []byte(args)}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	c := rpclocal.New(via.CMT)
	res, err := c.BroadcastTxSync(ctx, tx)
	if err != nil || res.Code != app.CodeOK {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	var txHeight int64
	var txIndex uint32
	waitFor(t, 20*time.Second, "the transaction in a block", func() bool {
		r, err := c.Tx(ctx, res.Hash, false)
		if err != nil {
			return false
		}
		txHeight, txIndex = r.Height, r.Index
		return true
	})
	waitFor(t, 20*time.Second, "every node at the transaction's height", func() bool {
		for _, n := range nodes {
			if height(n) < txHeight {
				return false
			}
		}
		return true
	})
	id := app.InboundID(uint64(txHeight), int(txIndex))
	for _, n := range nodes {
		r, err := rpclocal.New(n.CMT).BlockResults(ctx, &txHeight)
		if err != nil {
			t.Fatal(err)
		}
		x := r.TxsResults[txIndex]
		if x.Code != app.CodeOK || string(x.Data) != id || !hasResult(r.FinalizeBlockEvents, id, body) {
			t.Fatalf("%s: tx result %+v, events %v", n.Home, x, r.FinalizeBlockEvents)
		}
	}
}

func hasResult(evs []abci.Event, id, body string) bool {
	for _, e := range evs {
		if e.Type != "swing_result" {
			continue
		}
		m := map[string]string{}
		for _, a := range e.Attributes {
			m[a.Key] = a.Value
		}
		if m["id"] == id && m["rejected"] == "false" && m["body"] == body {
			return true
		}
	}
	return false
}
