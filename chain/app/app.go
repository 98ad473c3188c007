// Package app is an ABCI 2.0 application (CometBFT v0.38) over a libswing
// kernel: one kernel per node, driven through package swing.
//
// Block shape (chain/README.md): FinalizeBlock opens the kernel's block at
// the header's height and time, queues each transaction as an inbound
// action, ends the block (normal work under Params.ComputeLimit, then the
// clean-up budget) and returns the kernel's activity hash as the app hash,
// writing nothing; Commit is the kernel's commit, one synced LevelDB batch
// that holds the block, the height and everything the activity hash binds.
// Info reports the committed height and hash, so CometBFT's handshake
// replays exactly the blocks the kernel lacks. The app hash comes from the
// kernel alone; the only clock is the header time.
package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	swing "libswing/go-bindings"
	pb "libswing/go-bindings/swingpb"
)

// AppVersion is the application protocol version Info reports; InitChain
// sets the consensus params' version.app to it (CometBFT's state sync
// requires the two to agree).
const AppVersion uint64 = 1

// Result codes of CheckTx and of FinalizeBlock's transaction results
// (codespace "swing").
const (
	CodeOK        uint32 = 0 // queued; the result's data is the inbound id
	CodeMalformed uint32 = 1 // not a transaction (DecodeTx)
	CodeQueueFull uint32 = 2 // the inbound queue holds Params.MaxPendingInbound actions
	CodeRefused   uint32 = 3 // the kernel refused it: unknown or terminated vat, bad arguments
	CodeBadQuery  uint32 = 4 // Query: unknown path, bad data, or a height other than the latest
	Codespace            = "swing"
)

// Options configure one node's application. Only Genesis reaches
// consensus; the rest is the node's own.
type Options struct {
	// Dir is the kernel's data directory (created if missing).
	Dir string
	// Genesis is the chain's app_state (genesis.json). A node that restarts
	// or joins by state sync gets no InitChain and learns the parameters
	// from here; when set, InitChain requires the same bytes. Nil: learnt
	// at InitChain (a fresh chain's first start).
	Genesis []byte
	// NoSync skips fsync at commit: tests only.
	NoSync bool
	// Snapshots: see SnapshotOptions. Zero value: no snapshots taken.
	Snapshots SnapshotOptions
	// Logger; nil: none.
	Logger log.Logger
	// Metrics; nil: none (NewMetrics).
	Metrics *Metrics
}

// App is the ABCI application. CometBFT's local client calls it one method
// at a time; the mutex keeps it safe for any other caller too.
type App struct {
	abci.BaseApplication // ExtendVote, VerifyVoteExtension: vote extensions are off

	mu      sync.Mutex
	opts    Options
	log     log.Logger
	k       *swing.Kernel
	state   *AppState // nil until known (Options.Genesis or InitChain)
	inited  bool      // the kernel holds a genesis not yet committed
	height  uint64    // committed height
	hash    string    // committed activity hash ("" at height 0)
	pending *finalized

	// The mempool's view, refreshed at every commit (not consensus data).
	committedPending uint64          // inbound actions the kernel holds
	admitted         uint64          // CheckTx admissions since the last commit
	vats             map[string]bool // name -> alive

	snaps   *snapshotStore
	restore *restoreState
	metrics *Metrics
}

// finalized is what FinalizeBlock did, until Commit makes it durable.
type finalized struct {
	height uint64
	hash   string
	end    *pb.EndBlockResponse
	txs    int

	started time.Time     // FinalizeBlock's start (metrics only)
	kernel  time.Duration // spent in FinalizeBlock and the kernel's commit (metrics only)
}

// New opens (or creates) the node's kernel directory.
func New(opts Options) (*App, error) {
	if opts.Dir == "" {
		return nil, errors.New("app: Options.Dir is required")
	}
	if opts.Snapshots.Dir == "" {
		opts.Snapshots.Dir = filepath.Clean(opts.Dir) + "-snapshots"
	}
	a := &App{opts: opts, log: opts.Logger, metrics: opts.Metrics}
	if a.log == nil {
		a.log = log.NewNopLogger()
	}
	if opts.Genesis != nil {
		st, err := ParseAppState(opts.Genesis)
		if err != nil {
			return nil, err
		}
		a.state = st
	}
	snaps, err := openSnapshotStore(opts.Snapshots)
	if err != nil {
		return nil, err
	}
	a.snaps = snaps
	if err := a.openKernel(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) openKernel() error {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(a.opts.Dir)), 0o755); err != nil {
		return err
	}
	k, open, err := swing.Open(a.opts.Dir, &swing.Options{NoSync: a.opts.NoSync})
	if err != nil {
		return fmt.Errorf("app: open kernel %s: %w", a.opts.Dir, err)
	}
	a.k, a.height, a.hash, a.inited = k, open.CommittedHeight, open.ActivityHash, false
	if a.height > 0 {
		if err := a.refreshView(); err != nil {
			return err
		}
	}
	return nil
}

// resetKernel replaces a kernel that has committed nothing with an empty
// one (a genesis run but never committed, before a state sync restore).
func (a *App) resetKernel() error {
	if a.height != 0 {
		return fmt.Errorf("app: refusing to reset a kernel committed at height %d", a.height)
	}
	if err := a.k.Close(); err != nil {
		return err
	}
	if err := os.RemoveAll(a.opts.Dir); err != nil {
		return err
	}
	return a.openKernel()
}

// Close closes the kernel; an uncommitted block is dropped.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.k.Close()
}

// refreshView reloads the mempool's view of the kernel after a commit.
func (a *App) refreshView() error {
	st, err := a.k.Stats()
	if err != nil {
		return err
	}
	vats, err := a.k.Vats()
	if err != nil {
		return err
	}
	a.committedPending, a.admitted = st.PendingInbound, 0
	a.vats = make(map[string]bool, len(vats))
	for _, v := range vats {
		a.vats[v.Name] = !v.Terminated
	}
	a.metrics.observeStats(st)
	return nil
}

// hashBytes is an activity hash as app hash bytes ("" -> empty).
func hashBytes(h string) ([]byte, error) {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 0 && len(b) != 32) {
		return nil, fmt.Errorf("app: activity hash %q is not 64 hex digits", h)
	}
	return b, nil
}

// Info reports the last committed height and app hash.
func (a *App) Info(_ context.Context, _ *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, err := hashBytes(a.hash)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseInfo{
		Data:             "libswing",
		Version:          swing.LibraryVersion(),
		AppVersion:       AppVersion,
		LastBlockHeight:  int64(a.height),
		LastBlockAppHash: h,
	}, nil
}

// InitChain runs the kernel's genesis from app_state: installs the bundles
// and initializes the vats (the bootstrap vat's bootstrap message runs in
// the first block, without a compute limit). The app hash is the genesis
// state's (InitResponse.activity_hash). Nothing is durable before the first
// Commit: a node that dies before it gets InitChain again.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.height != 0 {
		return nil, fmt.Errorf("app: InitChain, but the kernel is committed at height %d", a.height)
	}
	if req.InitialHeight > 1 {
		return nil, fmt.Errorf("app: initial_height %d: the kernel's chain starts at height 1", req.InitialHeight)
	}
	st, err := ParseAppState(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if a.opts.Genesis != nil && string(a.opts.Genesis) != string(req.AppStateBytes) {
		return nil, errors.New("app: InitChain's app_state differs from the genesis the node was started with")
	}
	if a.inited {
		if err := a.resetKernel(); err != nil {
			return nil, err
		}
	}
	init, err := a.k.Init(st.Kernel, st.bundles())
	if err != nil {
		return nil, fmt.Errorf("app: genesis: %w", err)
	}
	a.state, a.inited = st, true
	hash, err := hashBytes(init.GetActivityHash())
	if err != nil {
		return nil, err
	}
	if err := a.refreshView(); err != nil {
		return nil, err
	}
	a.log.Info("genesis", "bundles", len(init.GetBundles()), "app_hash", init.GetActivityHash())
	return &abci.ResponseInitChain{
		AppHash:         hash,
		ConsensusParams: &cmtproto.ConsensusParams{Version: &cmtproto.VersionParams{App: AppVersion}},
	}, nil
}

// Commit makes the finalized block durable: the kernel's commit, one
// synced LevelDB batch with the block's state, its height and (through the
// state digest and crank chain) its app hash. Then, at a snapshot height,
// it takes a snapshot.
func (a *App) Commit(_ context.Context, _ *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending
	if p == nil {
		return nil, errors.New("app: Commit without FinalizeBlock")
	}
	t0 := time.Now()
	c, err := a.k.Commit()
	p.kernel += time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("app: commit %d: %w", p.height, err)
	}
	if c.Height != p.height || c.ActivityHash != p.hash {
		return nil, fmt.Errorf("app: committed %d/%s, but FinalizeBlock gave %d/%s", c.Height, c.ActivityHash, p.height, p.hash)
	}
	a.height, a.hash, a.pending, a.inited = c.Height, c.ActivityHash, nil, false
	if err := a.refreshView(); err != nil {
		return nil, err
	}
	a.metrics.observeCommit(p, len(c.ExportData))
	if a.snaps.due(a.height) {
		// A snapshot that fails costs this node its snapshot, not the chain.
		if err := a.snaps.take(a.k, a.height, a.hash); err != nil {
			a.log.Error("snapshot failed", "height", a.height, "err", err)
		}
	}
	return &abci.ResponseCommit{}, nil
}

// Height is the committed height (tests and tools).
func (a *App) Height() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.height
}

// Kernel gives the node's kernel handle (read-only use: queries, export).
func (a *App) Kernel() *swing.Kernel {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.k
}
