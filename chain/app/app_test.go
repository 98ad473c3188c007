package app

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// The ABCI cycle without a network, as CometBFT's kvstore tests do it:
// CheckTx -> PrepareProposal -> ProcessProposal -> FinalizeBlock -> Commit
// -> Info -> Query.
func TestCycle(t *testing.T) {
	n := newNode(t, genesisBytes(t, nil), SnapshotOptions{})
	if i := n.info(); i.LastBlockHeight != 0 || len(i.LastBlockAppHash) != 0 || i.AppVersion != AppVersion {
		t.Fatalf("fresh Info: %v", i)
	}
	genesisHash := n.initChain()
	r1 := n.block(1, nil) // the bootstrap block
	if bytes.Equal(r1.AppHash, genesisHash) {
		t.Fatal("block 1 did not change the app hash")
	}

	good := txBytes(t, "counter", "increment", "[5]")
	check := func(tx []byte) uint32 {
		r, err := n.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
		if err != nil {
			t.Fatal(err)
		}
		return r.Code
	}
	if c := check(good); c != CodeOK {
		t.Fatalf("CheckTx good: %d", c)
	}
	if c := check([]byte("counter=1")); c != CodeMalformed {
		t.Fatalf("CheckTx malformed: %d", c)
	}
	if c := check(txBytes(t, "nobody", "x", "")); c != CodeRefused {
		t.Fatalf("CheckTx unknown vat: %d", c)
	}

	second := txBytes(t, "ledger", "receipts", "[3]")
	pp, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: 1 << 20, Height: 2,
		Txs: [][]byte{good, []byte("junk"), second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Txs) != 2 || !bytes.Equal(pp.Txs[0], good) || !bytes.Equal(pp.Txs[1], second) {
		t.Fatalf("PrepareProposal kept %q", pp.Txs)
	}
	small, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: int64(len(good) + 4),
		Txs: [][]byte{good, second}})
	if err != nil || len(small.Txs) != 1 {
		t.Fatalf("PrepareProposal within max bytes: %v %q", err, small.GetTxs())
	}
	for txs, want := range map[string]abci.ResponseProcessProposal_ProposalStatus{
		"ok": abci.ResponseProcessProposal_ACCEPT, "junk": abci.ResponseProcessProposal_REJECT} {
		list := pp.Txs
		if txs == "junk" {
			list = append([][]byte{[]byte("junk")}, pp.Txs...)
		}
		r, err := n.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: 2, Txs: list})
		if err != nil || r.Status != want {
			t.Fatalf("ProcessProposal %s: %v %v", txs, r.GetStatus(), err)
		}
	}

	r2 := n.finalize(2, pp.Txs)
	for i, x := range r2.TxResults {
		if x.Code != CodeOK || string(x.Data) != InboundID(2, i) {
			t.Fatalf("tx %d: code %d data %q log %q", i, x.Code, x.Data, x.Log)
		}
	}
	results := eventsOf(r2, "swing_result")
	if len(results) != 2 || results[0]["id"] != "h2.0" || results[0]["body"] != "#5" || results[0]["rejected"] != "false" {
		t.Fatalf("result events: %v", results)
	}
	if i := n.info(); i.LastBlockHeight != 1 {
		t.Fatalf("Info before Commit: height %d", i.LastBlockHeight)
	}
	n.commit()
	i := n.info()
	if i.LastBlockHeight != 2 || !bytes.Equal(i.LastBlockAppHash, r2.AppHash) {
		t.Fatalf("Info after Commit: %d %x, want 2 %x", i.LastBlockHeight, i.LastBlockAppHash, r2.AppHash)
	}

	var stats StatsJSON
	n.query(QueryStats, nil, &stats)
	if stats.CommittedHeight != 2 || stats.ActivityHash != hex.EncodeToString(r2.AppHash) || stats.PendingInbound != 0 {
		t.Fatalf("stats: %+v", stats)
	}
	var vats []VatJSON
	n.query(QueryVats, nil, &vats)
	if len(vats) != 3 || vats[0].Name != "boot" || vats[1].Name != "counter" || vats[2].Name != "ledger" {
		t.Fatalf("vats: %+v", vats)
	}
	var got KVEntryJSON
	n.query(QueryKVGet, []byte("vat.name.counter"), &got)
	if got.Found == nil || !*got.Found || got.Value == "" {
		t.Fatalf("kv get: %+v", got)
	}
	// Paging through a prefix gives every key once, in order.
	var all []string
	after := ""
	for pages := 0; ; pages++ {
		var page KVPageJSON
		q := `{"prefix":"v1.","limit":7,"after":"` + after + `"}`
		n.query(QueryKVPrefix, []byte(q), &page)
		for _, e := range page.Entries {
			all = append(all, e.Key)
		}
		if !page.Truncated {
			break
		}
		after = page.Entries[len(page.Entries)-1].Key
		if pages > 100 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) < 8 {
		t.Fatalf("only %d v1. keys", len(all))
	}
	for j := 1; j < len(all); j++ {
		if all[j-1] >= all[j] {
			t.Fatalf("keys out of order: %q %q", all[j-1], all[j])
		}
	}
	for path, data := range map[string]string{"/nope": "", QueryKVPrefix: "{bad"} {
		r, err := n.app.Query(ctx, &abci.RequestQuery{Path: path, Data: []byte(data)})
		if err != nil || r.Code != CodeBadQuery {
			t.Fatalf("query %s: %v %v", path, r.GetCode(), err)
		}
	}
	if r, _ := n.app.Query(ctx, &abci.RequestQuery{Path: QueryStats, Height: 1}); r.Code != CodeBadQuery {
		t.Fatalf("query at an old height: %d", r.Code)
	}
}

// exportOf is the kernel's export of its committed state, file by file.
func exportOf(t *testing.T, n *node) map[string][]byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := n.app.Kernel().Export(dir, false); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// Two apps fed the same blocks give the same app hashes, the same
// transaction results and the same exported state.
func TestTwoAppsAgree(t *testing.T) {
	g := genesisBytes(t, func(p *Params) { p.ComputeLimit = 20000 })
	a, b := newNode(t, g, SnapshotOptions{}), newNode(t, g, SnapshotOptions{})
	if ha, hb := a.initChain(), b.initChain(); !bytes.Equal(ha, hb) {
		t.Fatalf("genesis hashes differ: %x %x", ha, hb)
	}
	for h := int64(1); h <= 12; h++ {
		txs := workload(t, h)
		ra, rb := a.block(h, txs), b.block(h, txs)
		if !bytes.Equal(ra.AppHash, rb.AppHash) || resultCodes(ra) != resultCodes(rb) {
			t.Fatalf("height %d: %x %s / %x %s", h, ra.AppHash, resultCodes(ra), rb.AppHash, resultCodes(rb))
		}
		if h%4 == 0 && !strings.Contains(resultCodes(ra), "1::") {
			t.Fatalf("height %d: no malformed result in %s", h, resultCodes(ra))
		}
	}
	ea, eb := exportOf(t, a), exportOf(t, b)
	if len(ea) < 3 || len(ea) != len(eb) {
		t.Fatalf("exports: %d and %d files", len(ea), len(eb))
	}
	for name, data := range ea {
		if !bytes.Equal(data, eb[name]) {
			t.Fatalf("export file %s differs", name)
		}
	}
}

// A node killed between FinalizeBlock and Commit loses the block (nothing
// was written); CometBFT's handshake asks Info, finds height H-1 and
// replays block H: the same app hash as a node that never crashed.
func TestCrashBetweenFinalizeAndCommit(t *testing.T) {
	g := genesisBytes(t, nil)
	ref, n := newNode(t, g, SnapshotOptions{}), newNode(t, g, SnapshotOptions{})
	ref.initChain()
	n.initChain()
	for h := int64(1); h <= 3; h++ {
		ref.block(h, workload(t, h))
		n.block(h, workload(t, h))
	}
	want := ref.block(4, workload(t, 4))
	lost := n.finalize(4, workload(t, 4))
	if !bytes.Equal(lost.AppHash, want.AppHash) {
		t.Fatal("FinalizeBlock 4 differs before the crash")
	}
	n.crash()
	i := n.info()
	if i.LastBlockHeight != 3 {
		t.Fatalf("after the crash: height %d, want 3", i.LastBlockHeight)
	}
	if i3 := ref.app.Height(); i3 != 4 {
		t.Fatalf("reference at %d", i3)
	}
	again := n.block(4, workload(t, 4)) // the handshake's replay
	if !bytes.Equal(again.AppHash, want.AppHash) || resultCodes(again) != resultCodes(want) {
		t.Fatalf("replayed block 4: %x, want %x", again.AppHash, want.AppHash)
	}
	if i := n.info(); i.LastBlockHeight != 4 || !bytes.Equal(i.LastBlockAppHash, want.AppHash) {
		t.Fatalf("Info after replay: %v", i)
	}
	for h := int64(5); h <= 6; h++ {
		if x, y := ref.block(h, workload(t, h)), n.block(h, workload(t, h)); !bytes.Equal(x.AppHash, y.AppHash) {
			t.Fatalf("height %d differs after the replay", h)
		}
	}
}

// A node that dies after InitChain, before its first Commit, reports height
// 0, gets InitChain again and reaches the same hashes.
func TestCrashBeforeFirstCommit(t *testing.T) {
	g := genesisBytes(t, nil)
	ref, n := newNode(t, g, SnapshotOptions{}), newNode(t, g, SnapshotOptions{})
	want0 := ref.initChain()
	want1 := ref.block(1, nil)
	if h := n.initChain(); !bytes.Equal(h, want0) {
		t.Fatal("genesis hash differs")
	}
	n.crash() // after InitChain
	if i := n.info(); i.LastBlockHeight != 0 || len(i.LastBlockAppHash) != 0 {
		t.Fatalf("Info after a crash before the first commit: %v", i)
	}
	if h := n.initChain(); !bytes.Equal(h, want0) {
		t.Fatal("second InitChain: another hash")
	}
	n.finalize(1, nil)
	n.crash() // after FinalizeBlock 1
	if i := n.info(); i.LastBlockHeight != 0 {
		t.Fatalf("Info: %v", i)
	}
	n.initChain()
	if got := n.block(1, nil); !bytes.Equal(got.AppHash, want1.AppHash) {
		t.Fatal("block 1 after two crashes differs")
	}
	// InitChain on a committed chain is refused, not obeyed.
	if _, err := n.app.InitChain(ctx, &abci.RequestInitChain{AppStateBytes: g}); err == nil {
		t.Fatal("InitChain on a committed kernel accepted")
	}
}

// The inbound queue bound: CheckTx admits up to half of it; FinalizeBlock
// rejects what finds it full; PrepareProposal keeps only what fits.
func TestQueueAdmission(t *testing.T) {
	g := genesisBytes(t, func(p *Params) { p.MaxPendingInbound = 4; p.ComputeLimit = 1 })
	n := newNode(t, g, SnapshotOptions{})
	n.initChain()
	n.block(1, nil)
	var codes []uint32
	for i := 0; i < 4; i++ {
		tx := txBytes(t, "ledger", "receipts", "[1]")
		r, err := n.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, r.Code)
	}
	if codes[0] != CodeOK || codes[1] != CodeOK || codes[2] != CodeQueueFull || codes[3] != CodeQueueFull {
		t.Fatalf("CheckTx codes with room for 2: %v", codes)
	}
	var txs [][]byte
	for i := 0; i < 6; i++ {
		txs = append(txs, txBytes(t, "ledger", "receipts", "[1]"))
	}
	pp, err := n.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: 1 << 20, Txs: txs})
	if err != nil || len(pp.Txs) != 4 {
		t.Fatalf("PrepareProposal kept %d of 6 with room for 4: %v", len(pp.GetTxs()), err)
	}
	r := n.block(2, txs) // a proposer may ignore the room; the block still decides alike
	got := ""
	for _, x := range r.TxResults {
		got += string(rune('0' + x.Code))
	}
	if got != "000022" {
		t.Fatalf("codes %s, want 000022", got)
	}
	var st StatsJSON
	n.query(QueryStats, nil, &st)
	if st.PendingInbound == 0 {
		t.Fatal("a compute budget of 1 left nothing pending")
	}
	if c, _ := n.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[0]}); c.Code != CodeQueueFull {
		t.Fatalf("CheckTx with %d pending: %d", st.PendingInbound, c.Code)
	}
}

// Bad input gives an error, never a panic.
func TestBadGenesisAndBlocks(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Options{Dir: filepath.Join(dir, "x"), Genesis: []byte("{")}); err == nil {
		t.Fatal("a bad Options.Genesis was accepted")
	}
	a, err := New(Options{Dir: filepath.Join(dir, "k"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for name, state := range map[string]string{
		"empty":        "",
		"not json":     "{",
		"no kernel":    `{"bundles":{}}`,
		"unknown":      `{"kernel":{},"extra":1}`,
		"bad cleanup":  `{"kernel":{},"params":{"cleanup":{"gc":1}}}`,
		"kernel error": `{"kernel":{"vats":{"x":{"bundleName":"none"}}}}`,
	} {
		if _, err := a.InitChain(ctx, &abci.RequestInitChain{AppStateBytes: []byte(state)}); err == nil {
			t.Errorf("InitChain with %s app_state accepted", name)
		}
	}
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err == nil {
		t.Fatal("FinalizeBlock before genesis accepted")
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err == nil {
		t.Fatal("Commit without a block accepted")
	}
	g := genesisBytes(t, nil)
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{AppStateBytes: g, InitialHeight: 7}); err == nil {
		t.Fatal("initial height 7 accepted")
	}
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{AppStateBytes: g, InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 3}); err == nil {
		t.Fatal("FinalizeBlock at a gap accepted")
	}
	// A node started with one genesis refuses InitChain with another.
	b, err := New(Options{Dir: filepath.Join(dir, "b"), Genesis: g, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.InitChain(ctx, &abci.RequestInitChain{AppStateBytes: genesisBytes(t, func(p *Params) { p.ComputeLimit = 9 })}); err == nil {
		t.Fatal("InitChain with another app_state accepted")
	}
}

// The metrics follow the blocks.
func TestMetrics(t *testing.T) {
	m := NewMetrics()
	a, err := New(Options{Dir: filepath.Join(t.TempDir(), "k"), NoSync: true, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	n := &node{t: t, genesis: genesisBytes(t, nil), app: a}
	n.initChain()
	n.block(1, nil)
	n.block(2, [][]byte{txBytes(t, "counter", "increment", "[1]"), []byte("junk")})
	if _, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("junk")}); err != nil {
		t.Fatal(err)
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, x := range f.Metric {
			name := f.GetName()
			for _, l := range x.Label {
				name += "{" + l.GetValue() + "}"
			}
			switch {
			case x.Gauge != nil:
				got[name] = x.Gauge.GetValue()
			case x.Counter != nil:
				got[name] = x.Counter.GetValue()
			case x.Histogram != nil:
				got[name] = float64(x.Histogram.GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{"swing_height": 2, "swing_txs_total{queued}": 1,
		"swing_txs_total{malformed}": 1, "swing_checktx_total{malformed}": 1, "swing_block_seconds": 2,
		"swing_kernel_seconds": 2} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if got["swing_cranks_total"] == 0 || got["swing_computrons_total"] == 0 {
		t.Errorf("no cranks or computrons counted: %v", got)
	}
}
