package sim

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	swing "libswing/go-bindings"
	pb "libswing/go-bindings/swingpb"
)

func exampleConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := LoadConfig("../../examples/chain/chain.json")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func exampleActions(t *testing.T) []Action {
	t.Helper()
	a, err := LoadActions("../../examples/chain/actions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newNode(t *testing.T, dir string, cfg *Config) *Node {
	t.Helper()
	n, open, err := OpenNode(dir, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if open.CommittedHeight == 0 {
		if err := n.Genesis(); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// hashes runs heights [from, to] and returns each commit's activity hash.
func hashes(t *testing.T, n *Node, actions []Action, from, to uint64) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	for h := from; h <= to; h++ {
		res, err := n.RunBlock(h, actions, nil)
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		out[h] = res.Commit.ActivityHash
	}
	return out
}

func TestBlockLifeAndErrors(t *testing.T) {
	n := newNode(t, filepath.Join(t.TempDir(), "db"), exampleConfig(t))
	defer n.Close()
	if _, err := n.K.Commit(); !errors.Is(err, swing.ErrOutOfOrder) {
		t.Fatalf("commit outside a block: %v", err)
	}
	if _, err := n.K.BeginBlock(5, 0); !errors.Is(err, swing.ErrOutOfOrder) {
		t.Fatalf("height gap: %v", err)
	}
	if _, err := n.K.BeginBlock(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := n.K.QueueInbound("a", "nobody", "x", "[]"); !errors.Is(err, swing.ErrInvalid) {
		t.Fatalf("unknown vat: %v", err)
	}
	if err := n.K.QueueInbound("a", "counter", "increment", "[41]"); err != nil {
		t.Fatal(err)
	}
	end, err := n.K.EndBlock(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(end.Results) != 1 || end.Results[0].Id != "a" || end.Results[0].Rejected || end.Results[0].Body != "#41" {
		t.Fatalf("results: %v", end.Results)
	}
	c, err := n.K.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if c.Height != 1 || len(c.ActivityHash) != 64 || len(c.ExportData) == 0 {
		t.Fatalf("commit: height %d hash %q entries %d", c.Height, c.ActivityHash, len(c.ExportData))
	}
	st, err := n.K.Stats()
	if err != nil || st.CommittedHeight != 1 || st.Vats != 3 {
		t.Fatalf("stats %v %v", st, err)
	}
	// A second handle on the same directory is refused.
	if _, _, err := swing.Open(n.Dir, nil); !errors.Is(err, swing.ErrBusy) {
		t.Fatalf("second open: %v", err)
	}
	n.Close()
	if _, err := n.K.Commit(); !errors.Is(err, swing.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// Export after a height, import into a fresh node against the height and
// hash the source committed: both agree at every later height. An import
// against another hash or height is refused with ErrCorrupt, one without
// them with ErrInvalid, and both leave the node empty.
func TestStateSyncAgrees(t *testing.T) {
	cfg, actions := exampleConfig(t), exampleActions(t)
	dir := t.TempDir()
	a := newNode(t, filepath.Join(dir, "a"), cfg)
	defer a.Close()
	trusted := hashes(t, a, actions, 1, 6)[6]
	ex, err := a.K.Export(filepath.Join(dir, "export"), false)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Height != 6 || ex.ActivityHash != trusted {
		t.Fatalf("export of height %d hash %s, committed 6 %s", ex.Height, ex.ActivityHash, trusted)
	}
	b, _, err := OpenNode(filepath.Join(dir, "b"), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wrong := strings.Repeat("0", 64)
	if _, err := b.K.Import(filepath.Join(dir, "export"), 6, wrong); !errors.Is(err, swing.ErrCorrupt) {
		t.Fatalf("import against a wrong hash: %v", err)
	}
	if _, err := b.K.Import(filepath.Join(dir, "export"), 5, trusted); !errors.Is(err, swing.ErrCorrupt) {
		t.Fatalf("import against a wrong height: %v", err)
	}
	if _, err := b.K.Import(filepath.Join(dir, "export"), 0, ""); !errors.Is(err, swing.ErrInvalid) {
		t.Fatalf("unverified import: %v", err)
	}
	if st, err := b.K.Stats(); err != nil || st.CommittedHeight != 0 {
		t.Fatalf("after refused imports: %v %v", st, err)
	}
	imp, err := b.K.Import(filepath.Join(dir, "export"), 6, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Height != 6 || imp.ActivityHash != trusted {
		t.Fatalf("imported height %d hash %s", imp.Height, imp.ActivityHash)
	}
	ha := hashes(t, a, actions, 7, 15)
	hb := hashes(t, b, actions, 7, 15)
	for h := uint64(7); h <= 15; h++ {
		if ha[h] != hb[h] {
			t.Fatalf("height %d: %s vs %s", h, ha[h], hb[h])
		}
	}
}

// The crash child: runs the example chain up to a height and then waits to
// be killed, either after end_block (before commit) or after commit.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SWING_CRASH_DIR"); dir != "" {
		os.Exit(crashChild(dir, os.Getenv("SWING_CRASH_AT"), os.Getenv("SWING_CRASH_WHEN")))
	}
	os.Exit(m.Run())
}

func crashChild(dir, atS, when string) int {
	at, _ := strconv.ParseUint(atS, 10, 64)
	cfg, err := LoadConfig("../../examples/chain/chain.json")
	if err != nil {
		return 3
	}
	actions, err := LoadActions("../../examples/chain/actions.jsonl")
	if err != nil {
		return 3
	}
	n, _, err := OpenNode(filepath.Join(dir, "db"), cfg, false)
	if err != nil || n.Genesis() != nil {
		return 3
	}
	wait := func() {
		os.WriteFile(filepath.Join(dir, "ready"), []byte("x"), 0o644)
		for {
			time.Sleep(time.Second) // killed here
		}
	}
	for h := uint64(1); ; h++ {
		var hook func()
		if h == at && when == "mid-block" {
			hook = wait
		}
		if _, err := n.RunBlock(h, actions, hook); err != nil {
			return 4
		}
		if h == at {
			wait()
		}
	}
}

// A node killed with SIGKILL in the middle of a block (or right after its
// own commit, before the host's) restarts, re-runs that block and reaches
// the same activity hashes as a node that never crashed.
func TestCrashRestartSameHashes(t *testing.T) {
	cfg, actions := exampleConfig(t), exampleActions(t)
	ref := newNode(t, filepath.Join(t.TempDir(), "ref"), cfg)
	want := hashes(t, ref, actions, 1, 9)
	ref.Close()
	for _, when := range []string{"mid-block", "after-commit"} {
		t.Run(when, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SWING_CRASH_DIR="+dir, "SWING_CRASH_AT=5", "SWING_CRASH_WHEN="+when)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("child never reached the crash point")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			n, open, err := OpenNode(filepath.Join(dir, "db"), cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			committed := uint64(4)
			if when == "after-commit" {
				committed = 5
			}
			if open.CommittedHeight != committed {
				t.Fatalf("committed height after the crash: %d, want %d", open.CommittedHeight, committed)
			}
			// The host re-runs height 5 either way: executed or replayed.
			for h := uint64(5); h <= 9; h++ {
				res, err := n.RunBlock(h, actions, nil)
				if err != nil {
					t.Fatalf("height %d: %v", h, err)
				}
				if res.Replay != (when == "after-commit" && h == 5) {
					t.Fatalf("height %d: replay %v", h, res.Replay)
				}
				if res.Commit.ActivityHash != want[h] {
					t.Fatalf("height %d: %s, the never-crashed node has %s", h, res.Commit.ActivityHash, want[h])
				}
			}
		})
	}
}

// Garbage envelopes never crash the process; they come back as errors.
func TestGarbageRequests(t *testing.T) {
	n := newNode(t, filepath.Join(t.TempDir(), "db"), exampleConfig(t))
	defer n.Close()
	if _, err := n.K.Call(&pb.Request{}); !errors.Is(err, swing.ErrInvalid) {
		t.Fatalf("empty request: %v", err)
	}
	if _, err := n.K.Query(&pb.QueryRequest{}); !errors.Is(err, swing.ErrInvalid) {
		t.Fatalf("empty query: %v", err)
	}
}

// hostRow is one line of `swing run --json`; the Go host's block must match it.
type hostRow struct {
	Height         uint64        `json:"height"`
	Cranks         uint64        `json:"cranks"`
	Computrons     uint64        `json:"computrons"`
	GCKrefs        uint64        `json:"gc_krefs"`
	BOYDs          uint64        `json:"boyds"`
	CleanupGCKrefs uint64        `json:"cleanup_gc_krefs"`
	CleanupBOYDs   uint64        `json:"cleanup_boyds"`
	CleanupUnits   uint64        `json:"cleanup_units"`
	VatsDeleted    uint64        `json:"vats_deleted"`
	GCKrefsLeft    uint64        `json:"gc_krefs_left"`
	DirtyVats      uint64        `json:"dirty_vats"`
	TerminatedVats uint64        `json:"terminated_vats"`
	CleanupPhase   string        `json:"cleanup_phase"`
	ActivityHash   string        `json:"activity_hash"`
	VatsFailed     uint64        `json:"vats_failed"`
	Terminations   []Termination `json:"terminations"`
	Rejected       int           `json:"rejected"`
	UpgradesOK     uint64        `json:"upgrades_ok"`
	UpgradesFailed uint64        `json:"upgrades_failed"`
	UpgradesLeft   uint64        `json:"upgrades_left"`
	Upgrades       []Upgrade     `json:"upgrades"`
	WindDownItems  uint64        `json:"wind_down_items"`
	WindingDown    uint64        `json:"winding_down"`
	WindDownLeft   uint64        `json:"wind_down_left"`
	WindCounting   bool          `json:"wind_down_counting"`
}

func goRow(res *BlockResult) hostRow {
	cl := res.End.GetCleanup()
	r := hostRow{Height: res.Height, Cranks: res.End.Cranks, Computrons: res.End.Computrons,
		GCKrefs: res.End.GcKrefs, BOYDs: res.End.Boyds, CleanupGCKrefs: cl.GetGcKrefs(),
		CleanupBOYDs: cl.GetBoyds(), CleanupUnits: res.CleanupUnits(), VatsDeleted: cl.GetVatsDeleted(),
		GCKrefsLeft: cl.GetGcKrefsLeft(), DirtyVats: cl.GetDirtyVats(), TerminatedVats: cl.GetTerminatedVats(),
		CleanupPhase: cl.GetPhase(), ActivityHash: res.Commit.ActivityHash, VatsFailed: res.End.GetVatsFailed(),
		Terminations: res.Terminations(), Rejected: len(res.Rejected), UpgradesLeft: res.End.GetUpgradesLeft(),
		Upgrades: res.Upgrades(), WindDownItems: cl.GetWindDownItems(), WindingDown: cl.GetWindingDown(),
		WindDownLeft: cl.GetWindDownLeft(), WindCounting: cl.GetWindDownCounting()}
	r.UpgradesOK, r.UpgradesFailed = res.UpgradesDone()
	return r
}

// hostsAgree runs a chain through the C host (`swing run`, built by make into
// build/swing, with extra flags) and through this package with cfg, and
// requires the same row at every height: activity hash, cranks, computrons,
// the clean-up report and the vats terminated. It returns the rows.
func hostsAgree(t *testing.T, cfgPath, actionsPath string, cfg *Config, blocks int, flags ...string) []hostRow {
	t.Helper()
	bin, err := filepath.Abs("../../build/swing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the C host is missing (run make build first): %v", err)
	}
	actions, err := LoadActions(actionsPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--config", cfgPath, "--actions", actionsPath, "--db",
		filepath.Join(t.TempDir(), "c"), "--blocks", strconv.Itoa(blocks), "--json", "--no-sync"}, flags...)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("swing run: %v", err)
	}
	var rows []hostRow
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r hostRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("swing run printed %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	if len(rows) != blocks {
		t.Fatalf("swing run printed %d rows, want %d", len(rows), blocks)
	}
	n := newNode(t, filepath.Join(t.TempDir(), "go"), cfg)
	defer n.Close()
	for _, r := range rows {
		res, err := n.RunBlock(r.Height, actions, nil)
		if err != nil {
			t.Fatalf("height %d: %v", r.Height, err)
		}
		if g := goRow(res); !reflect.DeepEqual(g, r) {
			t.Fatalf("height %d: Go host %+v, C host %+v", r.Height, g, r)
		}
	}
	return rows
}

// TestCHostAgrees runs the same chain through the C host and through this
// package: two hosts, two languages, one chain. Neither gives a clean-up
// budget, so the library's defaults apply to both.
func TestCHostAgrees(t *testing.T) {
	hostsAgree(t, "../../examples/chain/chain.json", "../../examples/chain/actions.jsonl", exampleConfig(t), 12)
}

// The two hosts agree under a clean-up budget of their own: the config's
// "cleanup" object with one member overridden on the command line
// (--cleanup-units in C, OverrideCleanup in Go, as simchain's flag does),
// over a chain whose ledger is terminated at block 6. Each block's clean-up
// stays within the budget, so GC work and the ledger's deletion spread over
// several blocks.
func TestCHostAgreesCleanupBudget(t *testing.T) {
	const gc, boyds, cfgUnits, flagUnits = 25, 1, 40, 15
	dir := t.TempDir()
	ex, err := filepath.Abs("../../examples/chain")
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]json.RawMessage
	raw, err := os.ReadFile(filepath.Join(ex, "chain.json"))
	if err != nil || json.Unmarshal(raw, &base) != nil {
		t.Fatalf("examples/chain/chain.json: %v", err)
	}
	cfgJSON, _ := json.Marshal(map[string]any{
		"kernel": base["kernel"],
		"bundles": map[string]string{"boot": filepath.Join(ex, "boot.lua"), "counter": filepath.Join(ex, "counter.lua"),
			"ledger": filepath.Join(ex, "ledger.lua")},
		"cleanup": map[string]uint64{"gc_krefs": gc, "boyds": boyds, "terminated_units": cfgUnits},
	})
	cfgPath, actionsPath := filepath.Join(dir, "chain.json"), filepath.Join(dir, "actions.jsonl")
	script, err := os.ReadFile(filepath.Join(ex, "actions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	script = append(script, []byte(`{"height": 6, "type": "terminate", "vat": "ledger", "reason": "retired"}`+"\n")...)
	if os.WriteFile(cfgPath, cfgJSON, 0o644) != nil || os.WriteFile(actionsPath, script, 0o644) != nil {
		t.Fatal("cannot write the chain")
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	units := uint64(flagUnits)
	cfg.OverrideCleanup(CleanupConfig{TerminatedUnits: &units})
	want := &pb.CleanupBudget{GcKrefs: gc, Boyds: boyds, TerminatedUnits: flagUnits}
	if got := cfg.CleanupBudget(libraryDefaults(t)); !proto.Equal(got, want) {
		t.Fatalf("budget %v, want %v", got, want)
	}
	rows := hostsAgree(t, cfgPath, actionsPath, cfg, 20, "--cleanup-units", strconv.Itoa(flagUnits))
	var deleting, gcLeft, deleted int
	for _, r := range rows {
		if r.CleanupGCKrefs > gc || r.CleanupBOYDs > boyds || r.CleanupUnits > flagUnits {
			t.Fatalf("height %d: clean-up beyond the budget: %+v", r.Height, r)
		}
		if r.TerminatedVats > 0 {
			deleting++
		}
		if r.GCKrefsLeft > 0 {
			gcLeft++
		}
		deleted += int(r.VatsDeleted)
	}
	if deleting < 2 || gcLeft < 2 || deleted != 1 {
		t.Fatalf("blocks with a vat being deleted %d, with GC work left %d, vats deleted %d: want >=2, >=2, 1",
			deleting, gcLeft, deleted)
	}
}

// TestCHostAgreesUpgrades runs the example chain with upgrade actions
// through both hosts: a null upgrade, one by bundle name with new
// parameters and a message, an upgrade-all, and one of an unknown vat
// (refused, counted as rejected). The rows agree on the upgrades each block
// finished and left; with the real kernel, every upgrade but the refused
// one is reported done.
func TestCHostAgreesUpgrades(t *testing.T) {
	dir := t.TempDir()
	script := `{"every": 1, "type": "inbound", "vat": "counter", "method": "increment", "args": [1]}
{"height": 3, "type": "upgrade", "vat": "counter"}
{"height": 4, "type": "upgrade", "vat": "ledger", "bundle": "ledger", "parameters": {"limit": 1.50, "tag": "v2"}, "message": "ledger v2"}
{"height": 5, "type": "upgrade_all"}
{"height": 6, "type": "upgrade", "vat": "nobody"}
`
	actionsPath := filepath.Join(dir, "actions.jsonl")
	if err := os.WriteFile(actionsPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := hostsAgree(t, "../../examples/chain/chain.json", actionsPath, exampleConfig(t), 7)
	if rows[5].Rejected != 1 {
		t.Fatalf("height 6: %d actions rejected, want 1 (the unknown vat)", rows[5].Rejected)
	}
	var done uint64
	for _, r := range rows {
		done += r.UpgradesOK
		if r.UpgradesFailed != 0 || r.UpgradesLeft != 0 {
			t.Fatalf("height %d: %+v", r.Height, r)
		}
	}
	if rows[2].Rejected == 1 {
		t.Fatalf("height 3: the upgrade was refused: %+v", rows[2])
	}
	if done != 5 || rows[2].Upgrades[0].Incarnation != 1 || rows[4].UpgradesOK != 3 {
		t.Fatalf("upgrades done %d (want 5): %+v", done, rows)
	}
}

// A chain config's "cleanup" object: members left out take the ABI
// defaults, overrides replace single members, and anything cli/chain.c
// refuses is refused here too.
// TestTerminationsVisible runs the doomed chain of the CLI test (vats dying
// of compute, memory, a throwing buildRootObject and the host's request)
// through both hosts: the rows agree on the terminations, EndBlock reports
// each with its kind and reason, Vats() keeps the reason after deletion, and
// a message to a deleted vat is refused as terminated (ErrUser).
func TestTerminationsVisible(t *testing.T) {
	const doomed = "../../tests/cli/doomed"
	cfg, err := LoadConfig(filepath.Join(doomed, "chain.json"))
	if err != nil {
		t.Fatal(err)
	}
	rows := hostsAgree(t, filepath.Join(doomed, "chain.json"), filepath.Join(doomed, "actions.jsonl"), cfg, 4)
	want := map[uint64][]Termination{
		1: {{"thrower", "v5", "start-failed", "buildRootObject failed: main:3: no root for you"}},
		2: {{"retiree", "v3", "host", "retired by the test"}, {"spinner", "v4", "compute-limit", "compute limit"},
			{"bomber", "v1", "memory-limit", "memory limit"}},
	}
	for _, r := range rows {
		if !reflect.DeepEqual(r.Terminations, want[r.Height]) {
			t.Fatalf("height %d: terminations %+v, want %+v", r.Height, r.Terminations, want[r.Height])
		}
	}
	if rows[0].VatsFailed != 1 || rows[1].VatsFailed != 2 {
		t.Fatalf("vats_failed %d, %d; want 1, 2 (the host's termination is no failure)", rows[0].VatsFailed, rows[1].VatsFailed)
	}

	n := newNode(t, filepath.Join(t.TempDir(), "db"), cfg)
	defer n.Close()
	actions, err := LoadActions(filepath.Join(doomed, "actions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 3; h++ {
		res, err := n.RunBlock(h, actions, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range res.End.GetTerminations() {
			if e.GetKindName() != want[h][i].Kind || int(e.GetKind()) == 0 {
				t.Fatalf("height %d: termination %v", h, e)
			}
		}
	}
	vats, err := n.K.Vats()
	if err != nil {
		t.Fatal(err)
	}
	gone := 0
	for _, v := range vats {
		if v.GetName() == "boot" {
			if v.GetTerminated() || v.GetTermination() != nil {
				t.Fatalf("boot: %v", v)
			}
			continue
		}
		if !v.GetTerminated() || !v.GetDeleted() || v.GetTermination().GetReason() == "" {
			t.Fatalf("%s: %v", v.GetName(), v)
		}
		gone++
	}
	if gone != 4 {
		t.Fatalf("%d deleted vats listed, want 4: %v", gone, vats)
	}
	if _, err := n.K.BeginBlock(4, 0); err != nil {
		t.Fatal(err)
	}
	err = n.K.QueueInbound("late", "spinner", "hello", "[]")
	if !errors.Is(err, swing.ErrUser) || !strings.Contains(err.Error(), "vat spinner (v4) terminated: compute limit") {
		t.Fatalf("a message to a deleted vat: %v", err)
	}
}

// libraryDefaults is the clean-up budget a fresh node reports at open.
func libraryDefaults(t *testing.T) *pb.CleanupBudget {
	t.Helper()
	k, _, err := swing.Open(t.TempDir(), &swing.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	def := k.DefaultCleanup()
	if def.GetGcKrefs() == 0 || def.GetBoyds() == 0 || def.GetTerminatedUnits() == 0 {
		t.Fatalf("the library reports no clean-up defaults: %v", def)
	}
	return def
}

func TestCleanupConfig(t *testing.T) {
	def := libraryDefaults(t)
	load := func(body string) (*Config, error) {
		p := filepath.Join(t.TempDir(), "chain.json")
		if err := os.WriteFile(p, []byte(`{"kernel": {}`+body+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(p)
	}
	for _, body := range []string{"", `, "cleanup": null`} {
		cfg, err := load(body)
		if err != nil || cfg.CleanupBudget(def) != nil {
			t.Fatalf("%q: %v, budget %v; want none", body, err, cfg.CleanupBudget(def))
		}
	}
	cfg, err := load(`, "cleanup": {"gc_krefs": 7}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.CleanupBudget{GcKrefs: 7, Boyds: def.GetBoyds(), TerminatedUnits: def.GetTerminatedUnits()}
	if got := cfg.CleanupBudget(def); !proto.Equal(got, want) {
		t.Fatalf("partial budget %v, want %v", got, want)
	}
	zero := uint64(0)
	cfg.OverrideCleanup(CleanupConfig{BOYDs: &zero})
	want.Boyds = 0
	if got := cfg.CleanupBudget(def); !proto.Equal(got, want) {
		t.Fatalf("overridden budget %v, want %v", got, want)
	}
	for _, bad := range []string{`[1]`, `{"gc": 5}`, `{"boyds": -1}`, `{"boyds": 1.5}`, `{"boyds": null}`, `{"boyds": "2"}`} {
		if _, err := load(`, "cleanup": ` + bad); err == nil || !strings.Contains(err.Error(), "cleanup") {
			t.Fatalf("cleanup %s: %v, want a refusal naming \"cleanup\"", bad, err)
		}
	}
}

// The defaults a node reports at open are the budget end_block applies to
// a block that carries none: a chain that sends them field by field commits
// the same hashes as one that sends no budget.
func TestDefaultCleanupIsTheAbsentBudget(t *testing.T) {
	def := libraryDefaults(t)
	none := exampleConfig(t)
	none.Cleanup = nil
	explicit := exampleConfig(t)
	gc, boyds, units := def.GetGcKrefs(), def.GetBoyds(), def.GetTerminatedUnits()
	explicit.Cleanup = nil
	explicit.OverrideCleanup(CleanupConfig{GCKrefs: &gc, BOYDs: &boyds, TerminatedUnits: &units})
	if none.CleanupBudget(def) != nil || !proto.Equal(explicit.CleanupBudget(def), def) {
		t.Fatalf("budgets: %v and %v", none.CleanupBudget(def), explicit.CleanupBudget(def))
	}
	actions := exampleActions(t)
	a := newNode(t, filepath.Join(t.TempDir(), "none"), none)
	defer a.Close()
	b := newNode(t, filepath.Join(t.TempDir(), "explicit"), explicit)
	defer b.Close()
	ha, hb := hashes(t, a, actions, 1, 30), hashes(t, b, actions, 1, 30)
	for h := uint64(1); h <= 30; h++ {
		if ha[h] != hb[h] {
			t.Fatalf("height %d: %s without a budget, %s with the defaults sent", h, ha[h], hb[h])
		}
	}
}

// TestCHostAgreesWindDown winds the example chain's ledger down at block 3
// through both hosts: the rows agree on every block's wind-down report
// (items deleted, vats winding down, items left and whether they are still
// being counted), and the ledger is reported terminated (kind exit) once
// its worker has deleted its vatstore.
func TestCHostAgreesWindDown(t *testing.T) {
	dir := t.TempDir()
	script := `{"every": 1, "type": "inbound", "vat": "counter", "method": "increment", "args": [1]}
{"height": 3, "type": "wind_down", "vat": "ledger"}
`
	actionsPath := filepath.Join(dir, "actions.jsonl")
	if err := os.WriteFile(actionsPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := hostsAgree(t, "../../examples/chain/chain.json", actionsPath, exampleConfig(t), 8)
	var items uint64
	var ended bool
	for _, r := range rows {
		items += r.WindDownItems
		for _, tm := range r.Terminations {
			ended = ended || (tm.Name == "ledger" && tm.Kind == "exit" && r.Height >= 3)
		}
	}
	if items == 0 || !ended || rows[len(rows)-1].WindingDown != 0 {
		t.Fatalf("wind-down items deleted %d, ledger terminated (exit) %v: %+v", items, ended, rows)
	}
}
