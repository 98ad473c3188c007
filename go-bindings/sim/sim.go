// Package sim runs a simulated chain over libswing: a genesis config with
// bundles, an action script of inbound messages, vat terminations and vat
// upgrades, and
// one BeginBlock/EndBlock/Commit per height, EndBlock under the config's compute
// limit and clean-up budget. cmd/simchain and the tests use it.
package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	swing "libswing/go-bindings"
	pb "libswing/go-bindings/swingpb"
)

// Config is a chain: the kernel's genesis config and the bundle files it names.
type Config struct {
	Kernel        json.RawMessage   `json:"kernel"`         // genesis config (docs/kernel.md); vats may say "bundleName"
	Bundles       map[string]string `json:"bundles"`        // name -> Lua file, relative to the config file
	ComputeLimit  uint64            `json:"compute_limit"`  // computrons per block, 0: none
	GenesisTime   int64             `json:"genesis_time"`   // unix seconds of block 1
	BlockInterval int64             `json:"block_interval"` // seconds between blocks
	Cleanup       *CleanupConfig    `json:"cleanup"`        // block-end clean-up budget, nil: the ABI defaults
	bundles       []swing.Bundle
}

// CleanupConfig is a chain config's "cleanup" object. A member left out
// (nil) takes the ABI default; 0 means none of that work.
type CleanupConfig struct {
	GCKrefs         *uint64 `json:"gc_krefs"`
	BOYDs           *uint64 `json:"boyds"`
	TerminatedUnits *uint64 `json:"terminated_units"`
}

// UnmarshalJSON accepts exactly what the C host (cli/chain.c) accepts: an
// object whose members, all optional, are gc_krefs, boyds and
// terminated_units, each a non-negative integer.
func (c *CleanupConfig) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return errors.New(`"cleanup" must be an object of gc_krefs, boyds, terminated_units`)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	*c = CleanupConfig{}
	for _, k := range keys {
		var dst **uint64
		switch k {
		case "gc_krefs":
			dst = &c.GCKrefs
		case "boyds":
			dst = &c.BOYDs
		case "terminated_units":
			dst = &c.TerminatedUnits
		default:
			return fmt.Errorf(`"cleanup": unknown member %q (gc_krefs, boyds, terminated_units)`, k)
		}
		var v uint64
		if string(m[k]) == "null" || json.Unmarshal(m[k], &v) != nil {
			return fmt.Errorf(`"cleanup": %q must be a non-negative integer`, k)
		}
		*dst = &v
	}
	return nil
}

// CleanupBudget is the budget end_block carries: nil when the config gave
// none (the library applies its defaults), else every field, the ones not
// given taken from defaults (the library's: Kernel.DefaultCleanup), exactly
// as `swing run` sends it.
func (c *Config) CleanupBudget(defaults *pb.CleanupBudget) *pb.CleanupBudget {
	if c.Cleanup == nil {
		return nil
	}
	pick := func(v *uint64, def uint64) uint64 {
		if v != nil {
			return *v
		}
		return def
	}
	return &pb.CleanupBudget{
		GcKrefs:         pick(c.Cleanup.GCKrefs, defaults.GetGcKrefs()),
		Boyds:           pick(c.Cleanup.BOYDs, defaults.GetBoyds()),
		TerminatedUnits: pick(c.Cleanup.TerminatedUnits, defaults.GetTerminatedUnits()),
	}
}

// OverrideCleanup sets the members given (non-nil) over the config's
// clean-up budget: command-line flags over the config file.
func (c *Config) OverrideCleanup(o CleanupConfig) {
	if o.GCKrefs == nil && o.BOYDs == nil && o.TerminatedUnits == nil {
		return
	}
	if c.Cleanup == nil {
		c.Cleanup = &CleanupConfig{}
	}
	if o.GCKrefs != nil {
		c.Cleanup.GCKrefs = o.GCKrefs
	}
	if o.BOYDs != nil {
		c.Cleanup.BOYDs = o.BOYDs
	}
	if o.TerminatedUnits != nil {
		c.Cleanup.TerminatedUnits = o.TerminatedUnits
	}
}

// LoadConfig reads a chain config and its bundle files.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make([]string, 0, len(c.Bundles))
	for n := range c.Bundles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		file := c.Bundles[n]
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", n, err)
		}
		c.bundles = append(c.bundles, swing.Bundle{Name: n, Source: src})
	}
	if c.BlockInterval == 0 {
		c.BlockInterval = 5
	}
	if c.GenesisTime == 0 {
		c.GenesisTime = 1700000000
	}
	return c, nil
}

// NewConfig builds a config in memory (tests).
func NewConfig(kernel string, bundles []swing.Bundle, computeLimit uint64) *Config {
	return &Config{Kernel: json.RawMessage(kernel), bundles: bundles, ComputeLimit: computeLimit,
		GenesisTime: 1700000000, BlockInterval: 5}
}

// Action is one line of an action script (JSON lines).
type Action struct {
	Height uint64          `json:"height"` // the block it enters; 0 with Every set: repeating
	Every  uint64          `json:"every"`  // repeat at heights that are multiples of Every
	Type   string          `json:"type"`   // "inbound", "terminate", "upgrade", "upgrade_all" or "wind_down"
	ID     string          `json:"id"`     // inbound id (generated when empty)
	Vat    string          `json:"vat"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"` // JSON array
	Reason string          `json:"reason"`
	// upgrade: the bundle name (a config bundle; none: the vat's current
	// bundle), the new vatParameters (absent: the retained ones) and the
	// upgrade message
	Bundle     string          `json:"bundle"`
	Parameters json.RawMessage `json:"parameters"`
	Message    string          `json:"message"`
}

// LoadActions reads an action script.
func LoadActions(path string) ([]Action, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Action
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		var a Action
		if err := json.Unmarshal([]byte(t), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// ActionsAt lists the actions of one height, in script order.
func ActionsAt(actions []Action, h uint64) []Action {
	var out []Action
	for i, a := range actions {
		if a.Height == h || (a.Every > 0 && h%a.Every == 0 && (a.Height == 0 || h >= a.Height)) {
			if a.ID == "" {
				a.ID = fmt.Sprintf("h%d-a%d", h, i)
			}
			out = append(out, a)
		}
	}
	return out
}

// Node is one chain node: a kernel over its own data directory.
type Node struct {
	Dir string
	K   *swing.Kernel
	cfg *Config
}

// OpenNode opens (or creates) a node directory.
func OpenNode(dir string, cfg *Config, noSync bool) (*Node, *pb.OpenResponse, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, nil, err
	}
	k, resp, err := swing.Open(dir, &swing.Options{NoSync: noSync})
	if err != nil {
		return nil, resp, err
	}
	return &Node{Dir: dir, K: k, cfg: cfg}, resp, nil
}

// Genesis runs init (bundles and config) on a fresh node.
func (n *Node) Genesis() error {
	_, err := n.K.Init(n.cfg.Kernel, n.cfg.bundles)
	return err
}

// BlockResult is what one height did.
type BlockResult struct {
	Height   uint64
	Replay   bool
	End      *pb.EndBlockResponse // End.Cleanup: the block-end clean-up's report
	Commit   *pb.CommitResponse
	Rejected []string // actions the kernel refused (e.g. to a terminated vat)
}

// Termination is one vat terminated in a block, as hosts print it.
type Termination struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Kind   string `json:"kind"` // "host", "compute-limit", ... (VatTermination.kind_name)
	Reason string `json:"reason"`
}

// Terminations lists the vats terminated in the block, in order (nil if none).
func (r *BlockResult) Terminations() []Termination {
	var out []Termination
	for _, t := range r.End.GetTerminations() {
		out = append(out, Termination{Name: t.GetName(), ID: t.GetVatId(), Kind: t.GetKindName(), Reason: t.GetReason()})
	}
	return out
}

// Upgrade is one upgrade finished in a block, as hosts print it.
type Upgrade struct {
	UpgradeID   uint64 `json:"upgrade_id"`
	Name        string `json:"name"`
	ID          string `json:"id"` // the vat's ID
	OK          bool   `json:"ok"`
	Incarnation uint64 `json:"incarnation"` // ok: the new one; else the one that goes on
	Reason      string `json:"reason"`      // why it failed
}

// Upgrades lists the upgrades finished in the block, in order (nil if none).
func (r *BlockResult) Upgrades() []Upgrade {
	var out []Upgrade
	for _, u := range r.End.GetUpgrades() {
		out = append(out, Upgrade{UpgradeID: u.GetUpgradeId(), Name: u.GetName(), ID: u.GetVatId(), OK: u.GetOk(),
			Incarnation: u.GetIncarnation(), Reason: u.GetReason()})
	}
	return out
}

// UpgradesDone counts the block's finished upgrades: done, and rolled back.
func (r *BlockResult) UpgradesDone() (ok, failed uint64) {
	for _, u := range r.End.GetUpgrades() {
		if u.GetOk() {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// CleanupUnits is the terminated-vat deletion units of the block's clean-up, all phases.
func (r *BlockResult) CleanupUnits() uint64 {
	c := r.End.GetCleanup()
	return c.GetExports() + c.GetImports() + c.GetPromises() + c.GetKv() + c.GetTranscripts()
}

// ExportBytes is the size of the block's export-data delta (keys and values).
func (r *BlockResult) ExportBytes() int {
	n := 0
	for _, e := range r.Commit.ExportData {
		n += len(e.Key) + len(e.Value)
	}
	return n
}

// RunBlock runs one height with its actions. hook (may be nil) is called
// after end_block and before commit: the crash test kills the process there.
func (n *Node) RunBlock(h uint64, actions []Action, hook func()) (*BlockResult, error) {
	res := &BlockResult{Height: h}
	replay, err := n.K.BeginBlock(h, n.cfg.GenesisTime+int64(h-1)*n.cfg.BlockInterval)
	if err != nil {
		return nil, err
	}
	res.Replay = replay
	for _, a := range ActionsAt(actions, h) {
		switch a.Type {
		case "inbound":
			args := string(a.Args)
			if args == "" {
				args = "[]"
			}
			err = n.K.QueueInbound(a.ID, a.Vat, a.Method, args)
		case "terminate":
			err = n.K.TerminateVat(a.Vat, a.Reason)
		case "upgrade":
			opts := swing.UpgradeOptions{BundleName: a.Bundle, Message: a.Message}
			if len(a.Parameters) > 0 {
				opts.VatParameters = a.Parameters
			}
			_, err = n.K.UpgradeVat(a.Vat, opts)
		case "upgrade_all":
			_, err = n.K.UpgradeAllVats(nil)
		case "wind_down":
			err = n.K.WindDownVat(a.Vat)
		default:
			return nil, fmt.Errorf("height %d: unknown action type %q", h, a.Type)
		}
		if err != nil {
			// Refusals of user actions are part of the chain's life (a dead vat, a vat
			// that cannot be upgraded); others stop it.
			if errors.Is(err, swing.ErrUser) || errors.Is(err, swing.ErrInvalid) {
				res.Rejected = append(res.Rejected, a.ID+": "+err.Error())
				continue
			}
			return nil, err
		}
	}
	if res.End, err = n.K.EndBlock(n.cfg.ComputeLimit, n.cfg.CleanupBudget(n.K.DefaultCleanup())); err != nil {
		return nil, err
	}
	if hook != nil {
		hook()
	}
	if res.Commit, err = n.K.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// Close closes the node.
func (n *Node) Close() error { return n.K.Close() }
