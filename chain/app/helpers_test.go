package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
)

var ctx = context.Background()

// genesisBytes is the example chain (examples/chain) as an app_state, with
// params changed by edit (may be nil).
func genesisBytes(t *testing.T, edit func(*Params)) []byte {
	t.Helper()
	st, err := AppStateFromSimConfig("../../examples/chain/chain.json")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&st.Params)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// node is one app over its own directory, remembering what a restart needs.
type node struct {
	t       *testing.T
	dir     string
	genesis []byte
	snaps   SnapshotOptions
	app     *App
}

func newNode(t *testing.T, genesis []byte, snaps SnapshotOptions) *node {
	t.Helper()
	n := &node{t: t, dir: filepath.Join(t.TempDir(), "kernel"), genesis: genesis, snaps: snaps}
	n.open()
	t.Cleanup(func() { n.app.Close() })
	return n
}

func (n *node) open() {
	n.t.Helper()
	a, err := New(Options{Dir: n.dir, Genesis: n.genesis, NoSync: true, Snapshots: n.snaps, Logger: testLogger(n.t)})
	if err != nil {
		n.t.Fatal(err)
	}
	n.app = a
}

// crash drops everything not committed (the kernel's open block) and opens again.
func (n *node) crash() {
	n.t.Helper()
	if err := n.app.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.open()
}

func (n *node) initChain() []byte {
	n.t.Helper()
	r, err := n.app.InitChain(ctx, &abci.RequestInitChain{ChainId: "test", AppStateBytes: n.genesis, InitialHeight: 1,
		Time: blockTime(0)})
	if err != nil {
		n.t.Fatal(err)
	}
	if len(r.AppHash) != 32 || r.ConsensusParams.GetVersion().GetApp() != AppVersion {
		n.t.Fatalf("InitChain: app hash %x, params %v", r.AppHash, r.ConsensusParams)
	}
	return r.AppHash
}

func blockTime(h int64) time.Time { return time.Unix(1700000000+5*h, 0).UTC() }

func (n *node) finalize(h int64, txs [][]byte) *abci.ResponseFinalizeBlock {
	n.t.Helper()
	r, err := n.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: blockTime(h), Txs: txs})
	if err != nil {
		n.t.Fatalf("FinalizeBlock %d: %v", h, err)
	}
	if len(r.AppHash) != 32 || len(r.TxResults) != len(txs) {
		n.t.Fatalf("FinalizeBlock %d: app hash %x, %d results for %d txs", h, r.AppHash, len(r.TxResults), len(txs))
	}
	return r
}

func (n *node) commit() {
	n.t.Helper()
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
}

// block finalizes and commits height h.
func (n *node) block(h int64, txs [][]byte) *abci.ResponseFinalizeBlock {
	n.t.Helper()
	r := n.finalize(h, txs)
	n.commit()
	return r
}

func (n *node) info() *abci.ResponseInfo {
	n.t.Helper()
	r, err := n.app.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

func (n *node) query(path string, data []byte, out any) {
	n.t.Helper()
	r, err := n.app.Query(ctx, &abci.RequestQuery{Path: path, Data: data})
	if err != nil || r.Code != CodeOK {
		n.t.Fatalf("query %s: %v %v", path, err, r.GetLog())
	}
	if err := json.Unmarshal(r.Value, out); err != nil {
		n.t.Fatalf("query %s: %v", path, err)
	}
}

func txBytes(t *testing.T, vat, method string, args string) []byte {
	t.Helper()
	tx := &Tx{Vat: vat, Method: method}
	if args != "" {
		tx.Args = json.RawMessage(args)
	}
	b, err := tx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// workload gives the transactions of height h: increments every block,
// receipts every third, a malformed one and one to an unknown vat now and
// then.
func workload(t *testing.T, h int64) [][]byte {
	txs := [][]byte{txBytes(t, "counter", "increment", fmt.Sprintf("[%d]", h))}
	if h%3 == 0 {
		txs = append(txs, txBytes(t, "ledger", "receipts", "[20]"))
	}
	if h%4 == 0 {
		txs = append(txs, []byte(`{"vat":"counter"`), txBytes(t, "nobody", "x", ""))
	}
	return txs
}

// resultCodes is the consensus part of the tx results (what LastResultsHash covers).
func resultCodes(r *abci.ResponseFinalizeBlock) string {
	var b bytes.Buffer
	for _, x := range r.TxResults {
		fmt.Fprintf(&b, "%d:%s:%d:%d;", x.Code, x.Data, x.GasWanted, x.GasUsed)
	}
	return b.String()
}

func eventsOf(r *abci.ResponseFinalizeBlock, typ string) []map[string]string {
	var out []map[string]string
	for _, e := range r.Events {
		if e.Type != typ {
			continue
		}
		m := map[string]string{}
		for _, a := range e.Attributes {
			m[a.Key] = a.Value
		}
		out = append(out, m)
	}
	return out
}

// testLogger logs errors into the test's log.
func testLogger(t *testing.T) log.Logger {
	return log.NewFilter(log.NewTMLogger(log.NewSyncWriter(testWriter{t})), log.AllowError())
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
