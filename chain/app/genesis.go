package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	swing "libswing/go-bindings"
	"libswing/go-bindings/sim"
	pb "libswing/go-bindings/swingpb"
)

// AppState is the genesis document's app_state: the kernel's genesis
// config, the bundles it names, and the chain's parameters. Every node of a
// chain must be started with the same one (they all read it from the same
// genesis.json).
//
//	{
//	  "kernel":  {"bootstrap": "boot", "vats": {"boot": {"bundleName": "boot"}, ...}},
//	  "bundles": {"boot": "<Lua source>", ...},
//	  "params":  {"compute_limit": 0, "max_pending_inbound": 1000, "max_tx_bytes": 16384,
//	              "cleanup": {"gc_krefs": 5000, "boyds": 2, "terminated_units": 5000}}
//	}
//
// "kernel" is docs/kernel.md's genesis config (a vat may name a bundle by
// "bundleName"); "bundles" maps names to Lua bundle source text. "params"
// and each of its members are optional (defaults below).
type AppState struct {
	Kernel  json.RawMessage   `json:"kernel"`
	Bundles map[string]string `json:"bundles"`
	Params  Params            `json:"params"`
}

// Params are the chain's consensus parameters for the kernel.
type Params struct {
	// ComputeLimit is the compute budget of a block's normal work, in
	// computrons; 0 means no limit. The first block (the bootstrap block)
	// always runs without a limit.
	ComputeLimit uint64 `json:"compute_limit"`
	// Cleanup is the block-end clean-up budget; nil or a member left out
	// takes the library's default (as simchain's "cleanup").
	Cleanup *Cleanup `json:"cleanup,omitempty"`
	// MaxPendingInbound bounds the inbound actions the kernel holds (queued
	// or running, result not yet settled): a transaction that finds the
	// bound reached is rejected (CodeQueueFull), and the mempool admits new
	// ones only while fewer than half of it are pending or in the mempool.
	MaxPendingInbound uint64 `json:"max_pending_inbound"`
	// MaxTxBytes bounds a transaction's size.
	MaxTxBytes uint64 `json:"max_tx_bytes"`
}

// Cleanup is the params' "cleanup": each member, when given, a
// non-negative integer; 0 means none of that work.
type Cleanup struct {
	GCKrefs         *uint64 `json:"gc_krefs,omitempty"`
	BOYDs           *uint64 `json:"boyds,omitempty"`
	TerminatedUnits *uint64 `json:"terminated_units,omitempty"`
}

// Defaults of Params members left out (or 0).
const (
	DefaultMaxPendingInbound = 1000
	DefaultMaxTxBytes        = 16384
)

// ParseAppState decodes and checks an app_state. Unknown members anywhere
// in it are errors, as are a missing kernel config or bundle names that are
// empty.
func ParseAppState(b []byte) (*AppState, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("app_state is empty: it must hold the kernel's genesis config")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	st := &AppState{}
	if err := dec.Decode(st); err != nil {
		return nil, fmt.Errorf("app_state: %w", err)
	}
	if dec.More() {
		return nil, errors.New("app_state: bytes after the object")
	}
	if len(st.Kernel) == 0 || st.Kernel[0] != '{' {
		return nil, errors.New(`app_state: "kernel" must be the kernel's genesis config (an object)`)
	}
	for name := range st.Bundles {
		if name == "" {
			return nil, errors.New("app_state: a bundle has an empty name")
		}
	}
	if st.Params.MaxPendingInbound == 0 {
		st.Params.MaxPendingInbound = DefaultMaxPendingInbound
	}
	if st.Params.MaxTxBytes == 0 {
		st.Params.MaxTxBytes = DefaultMaxTxBytes
	}
	return st, nil
}

// bundles lists the bundles in name order (a map's order must not reach the kernel).
func (st *AppState) bundles() []swing.Bundle {
	names := make([]string, 0, len(st.Bundles))
	for n := range st.Bundles {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]swing.Bundle, 0, len(names))
	for _, n := range names {
		out = append(out, swing.Bundle{Name: n, Source: []byte(st.Bundles[n])})
	}
	return out
}

// cleanupBudget is the end_block clean-up budget the params give.
func (p *Params) cleanupBudget(defaults *pb.CleanupBudget) *pb.CleanupBudget {
	if p.Cleanup == nil {
		return nil
	}
	c := &sim.CleanupConfig{GCKrefs: p.Cleanup.GCKrefs, BOYDs: p.Cleanup.BOYDs, TerminatedUnits: p.Cleanup.TerminatedUnits}
	return (&sim.Config{Cleanup: c}).CleanupBudget(defaults)
}

// simConfig is the file format of simchain's chain configs
// (docs/abi.md "Simulated chains"), which AppStateFromSimConfig reads.
type simConfig struct {
	Kernel       json.RawMessage    `json:"kernel"`
	Bundles      map[string]string  `json:"bundles"`
	ComputeLimit uint64             `json:"compute_limit"`
	Cleanup      *sim.CleanupConfig `json:"cleanup"`
	GenesisTime  int64              `json:"genesis_time"`
	Interval     int64              `json:"block_interval"`
}

// AppStateFromSimConfig builds an app_state from a simchain chain config
// (examples/chain/chain.json): its kernel config, compute limit and
// clean-up budget, and the bundle files it names read into the bundles.
func AppStateFromSimConfig(path string) (*AppState, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c simConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st := &AppState{Kernel: c.Kernel, Bundles: map[string]string{}, Params: Params{ComputeLimit: c.ComputeLimit}}
	if c.Cleanup != nil {
		st.Params.Cleanup = &Cleanup{GCKrefs: c.Cleanup.GCKrefs, BOYDs: c.Cleanup.BOYDs, TerminatedUnits: c.Cleanup.TerminatedUnits}
	}
	for name, file := range c.Bundles {
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", name, err)
		}
		st.Bundles[name] = string(src)
	}
	return st, nil
}

// Marshal encodes the app_state for a genesis document.
func (st *AppState) Marshal() ([]byte, error) {
	return json.Marshal(st)
}
