package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	swing "libswing/go-bindings"
	pb "libswing/go-bindings/swingpb"
)

// maxEventBody bounds a result body repeated in an event (the kernel's
// result itself is not cut).
const maxEventBody = 4096

// InboundID names the inbound action of transaction index of block height.
func InboundID(height uint64, index int) string {
	return "h" + strconv.FormatUint(height, 10) + "." + strconv.Itoa(index)
}

// admissionLimit is what the mempool admits: half the inbound bound (at
// least one), so that the queue has room for what the mempool holds.
func (p *Params) admissionLimit() uint64 {
	return (p.MaxPendingInbound + 1) / 2
}

// CheckTx admits a transaction to the mempool: it must decode, name a vat
// the kernel knows alive (as of the last commit), and find room: fewer
// than half of MaxPendingInbound actions held by the kernel or admitted
// since the last commit (rechecks count again after each commit). It never
// touches consensus state.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return &abci.ResponseCheckTx{Code: CodeRefused, Codespace: Codespace, Log: "the chain has no genesis yet"}, nil
	}
	tx, err := DecodeTx(req.Tx, a.state.Params.MaxTxBytes)
	if err != nil {
		a.metrics.checkTx("malformed")
		return &abci.ResponseCheckTx{Code: CodeMalformed, Codespace: Codespace, Log: err.Error()}, nil
	}
	if alive, known := a.vats[tx.Vat]; !known || !alive {
		why := "no vat named " + tx.Vat
		if known {
			why = "vat " + tx.Vat + " is terminated"
		}
		a.metrics.checkTx("refused")
		return &abci.ResponseCheckTx{Code: CodeRefused, Codespace: Codespace, Log: why}, nil
	}
	if limit := a.state.Params.admissionLimit(); a.committedPending+a.admitted >= limit {
		a.metrics.checkTx("queue_full")
		return &abci.ResponseCheckTx{Code: CodeQueueFull, Codespace: Codespace,
			Log: fmt.Sprintf("inbound queue full: %d pending and %d in the mempool, limit %d",
				a.committedPending, a.admitted, limit)}, nil
	}
	a.admitted++
	a.metrics.checkTx("ok")
	return &abci.ResponseCheckTx{Code: CodeOK, GasWanted: 1}, nil
}

// PrepareProposal keeps, in order, the transactions that decode, within
// the block's max_tx_bytes and the room the inbound queue had at the last
// commit.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out [][]byte
	if a.state == nil {
		return &abci.ResponsePrepareProposal{}, nil
	}
	var room uint64
	if a.state.Params.MaxPendingInbound > a.committedPending {
		room = a.state.Params.MaxPendingInbound - a.committedPending
	}
	var size int64
	for _, tx := range req.Txs {
		if _, err := DecodeTx(tx, a.state.Params.MaxTxBytes); err != nil {
			continue
		}
		n := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{tx})
		if size+n > req.MaxTxBytes || room == 0 {
			break
		}
		out = append(out, tx)
		size += n
		room--
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal accepts a block whose transactions all decode (what an
// honest PrepareProposal gives); CometBFT has checked its size.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	for _, tx := range req.Txs {
		if _, err := DecodeTx(tx, a.state.Params.MaxTxBytes); err != nil {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the decided block in the kernel without writing
// anything: begin_block(height, time), each transaction queued (its result
// says queued, malformed, queue full or refused), end_block under the
// params' budgets; the app hash is the hash the kernel's commit will give.
// A kernel failure other than a refusal of the action is returned: the
// node halts rather than commit a state the others may not have.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t0 := time.Now()
	if a.state == nil {
		return nil, errors.New("app: FinalizeBlock without a genesis (no InitChain and no Options.Genesis)")
	}
	if a.pending != nil {
		return nil, fmt.Errorf("app: FinalizeBlock %d while block %d awaits its Commit", req.Height, a.pending.height)
	}
	h := uint64(req.Height)
	if req.Height <= 0 || h != a.height+1 {
		return nil, fmt.Errorf("app: FinalizeBlock at height %d, the kernel is committed at %d", req.Height, a.height)
	}
	if _, err := a.k.BeginBlock(h, req.Time.Unix()); err != nil {
		return nil, fmt.Errorf("app: begin_block %d: %w", h, err)
	}
	st, err := a.k.Stats()
	if err != nil {
		return nil, err
	}
	pending := st.PendingInbound
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		if results[i], err = a.queueTx(h, i, raw, &pending); err != nil {
			return nil, err
		}
	}
	budget := a.state.Params.ComputeLimit
	if h == 1 {
		budget = 0 // the bootstrap block runs to completion
	}
	end, err := a.k.EndBlock(budget, a.state.Params.cleanupBudget(a.k.DefaultCleanup()))
	if err != nil {
		return nil, fmt.Errorf("app: end_block %d: %w", h, err)
	}
	appHash, err := hashBytes(end.ActivityHash)
	if err != nil || len(appHash) == 0 {
		return nil, fmt.Errorf("app: end_block %d gave no activity hash (library too old?): %v", h, err)
	}
	a.pending = &finalized{height: h, hash: end.ActivityHash, end: end, txs: len(req.Txs),
		started: t0, kernel: time.Since(t0)}
	return &abci.ResponseFinalizeBlock{TxResults: results, Events: blockEvents(end), AppHash: appHash}, nil
}

// queueTx queues one transaction of block h; *pending counts the actions
// the kernel holds. Only a kernel failure that is not a refusal of this
// action is an error.
func (a *App) queueTx(h uint64, i int, raw []byte, pending *uint64) (*abci.ExecTxResult, error) {
	res := func(code uint32, outcome, log string, attrs ...abci.EventAttribute) *abci.ExecTxResult {
		attrs = append(attrs, abci.EventAttribute{Key: "outcome", Value: outcome, Index: true})
		r := &abci.ExecTxResult{Code: code, Log: log, Events: []abci.Event{{Type: "swing_tx", Attributes: attrs}}}
		if code != CodeOK {
			r.Codespace = Codespace
		}
		return r
	}
	tx, err := DecodeTx(raw, a.state.Params.MaxTxBytes)
	if err != nil {
		a.metrics.tx("malformed")
		return res(CodeMalformed, "malformed", err.Error()), nil
	}
	id := InboundID(h, i)
	attrs := []abci.EventAttribute{
		{Key: "id", Value: id, Index: true},
		{Key: "vat", Value: tx.Vat, Index: true},
		{Key: "method", Value: tx.Method},
	}
	if *pending >= a.state.Params.MaxPendingInbound {
		a.metrics.tx("queue_full")
		return res(CodeQueueFull, "queue_full",
			fmt.Sprintf("inbound queue full: %d actions pending", *pending), attrs...), nil
	}
	if err := a.k.QueueInbound(id, tx.Vat, tx.Method, tx.ArgsJSON()); err != nil {
		if errors.Is(err, swing.ErrUser) || errors.Is(err, swing.ErrInvalid) {
			a.metrics.tx("refused")
			return res(CodeRefused, "refused", err.Error(), attrs...), nil
		}
		return nil, fmt.Errorf("app: queue_inbound %s: %w", id, err)
	}
	*pending++
	a.metrics.tx("queued")
	r := res(CodeOK, "queued", "", attrs...)
	r.Data = []byte(id)
	return r, nil
}

// blockEvents: the kernel's work, each settled inbound result, each vat
// terminated in the block.
func blockEvents(end *pb.EndBlockResponse) []abci.Event {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	c := end.GetCleanup()
	evs := []abci.Event{{Type: "swing_block", Attributes: []abci.EventAttribute{
		{Key: "cranks", Value: u(end.Cranks)},
		{Key: "computrons", Value: u(end.Computrons)},
		{Key: "work_left", Value: strconv.FormatBool(end.WorkLeft)},
		{Key: "gc_krefs", Value: u(end.GcKrefs)},
		{Key: "boyds", Value: u(end.Boyds)},
		{Key: "vats_failed", Value: u(end.VatsFailed)},
		{Key: "gc_krefs_left", Value: u(c.GetGcKrefsLeft())},
		{Key: "dirty_vats", Value: u(c.GetDirtyVats())},
		{Key: "terminated_vats", Value: u(c.GetTerminatedVats())},
	}}}
	for _, r := range end.Results {
		body, cut := r.Body, false
		if len(body) > maxEventBody {
			body, cut = cutUTF8(body, maxEventBody), true
		}
		evs = append(evs, abci.Event{Type: "swing_result", Attributes: []abci.EventAttribute{
			{Key: "id", Value: r.Id, Index: true},
			{Key: "rejected", Value: strconv.FormatBool(r.Rejected)},
			{Key: "body", Value: body},
			{Key: "body_truncated", Value: strconv.FormatBool(cut)},
		}})
	}
	for _, t := range end.Terminations {
		evs = append(evs, abci.Event{Type: "swing_termination", Attributes: []abci.EventAttribute{
			{Key: "vat", Value: t.Name, Index: true},
			{Key: "vat_id", Value: t.VatId},
			{Key: "kind", Value: t.KindName},
			{Key: "reason", Value: t.Reason},
		}})
	}
	return evs
}

// cutUTF8 cuts s to at most n bytes at a character boundary.
func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
