package sim

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// Export after a height, import into a fresh node: both agree at every later height.
func TestStateSyncAgrees(t *testing.T) {
	cfg, actions := exampleConfig(t), exampleActions(t)
	dir := t.TempDir()
	a := newNode(t, filepath.Join(dir, "a"), cfg)
	defer a.Close()
	hashes(t, a, actions, 1, 6)
	if _, err := a.K.Export(filepath.Join(dir, "export"), false); err != nil {
		t.Fatal(err)
	}
	b, _, err := OpenNode(filepath.Join(dir, "b"), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	imp, err := b.K.Import(filepath.Join(dir, "export"))
	if err != nil {
		t.Fatal(err)
	}
	if imp.Height != 6 {
		t.Fatalf("imported height %d", imp.Height)
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

// TestCHostAgrees runs the same chain through the C host (`swing run`, built
// by make into build/swing) and through this package: two hosts, two
// languages, one chain. Every height must agree on the activity hash, the
// cranks and the computrons.
func TestCHostAgrees(t *testing.T) {
	bin, err := filepath.Abs("../../build/swing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the C host is missing (run make build first): %v", err)
	}
	cfg, actions := exampleConfig(t), exampleActions(t)
	const blocks = 12
	out, err := exec.Command(bin, "run", "--config", "../../examples/chain/chain.json",
		"--actions", "../../examples/chain/actions.jsonl", "--db", filepath.Join(t.TempDir(), "c"),
		"--blocks", strconv.Itoa(blocks), "--json", "--no-sync").Output()
	if err != nil {
		t.Fatalf("swing run: %v", err)
	}
	type row struct {
		Height       uint64 `json:"height"`
		Cranks       uint64 `json:"cranks"`
		Computrons   uint64 `json:"computrons"`
		ActivityHash string `json:"activity_hash"`
	}
	var rows []row
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r row
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
		if res.Commit.ActivityHash != r.ActivityHash || res.End.Cranks != r.Cranks || res.End.Computrons != r.Computrons {
			t.Fatalf("height %d: Go host %s/%d cranks/%d computrons, C host %s/%d/%d", r.Height,
				res.Commit.ActivityHash, res.End.Cranks, res.End.Computrons, r.ActivityHash, r.Cranks, r.Computrons)
		}
	}
}
