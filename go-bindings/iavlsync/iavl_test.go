package iavlsync

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"libswing/go-bindings/sim"
)

// readExportData parses export-data.bin (docs/store.md): "SWXD1\n", then
// per entry u32be key length, key, u32be value length, value.
func readExportData(path string) (map[string][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, []byte("SWXD1\n")) {
		return nil, fmt.Errorf("%s: bad header", path)
	}
	raw = raw[6:]
	out := map[string][]byte{}
	next := func() ([]byte, error) {
		if len(raw) < 4 {
			return nil, fmt.Errorf("%s: truncated", path)
		}
		n := binary.BigEndian.Uint32(raw)
		if uint64(len(raw)-4) < uint64(n) {
			return nil, fmt.Errorf("%s: truncated", path)
		}
		b := raw[4 : 4+n]
		raw = raw[4+n:]
		return b, nil
	}
	for len(raw) > 0 {
		k, err := next()
		if err != nil {
			return nil, err
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		out[string(k)] = append([]byte(nil), v...)
	}
	return out, nil
}

// chainActions is the example script plus a vat terminated mid-way.
func chainActions(t *testing.T) []sim.Action {
	t.Helper()
	actions, err := sim.LoadActions("../../examples/chain/actions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return append(actions, sim.Action{Height: 25, Type: "terminate", Vat: "ledger", Reason: "retired"})
}

// TestDeltasIntoIAVL runs the example chain for 40 blocks (the ledger vat is
// terminated at 25), writes every commit's export-data delta into an IAVL
// tree and reports the IAVL nodes each block wrote. Two independent nodes
// must produce the same IAVL root at every version, and after the last block
// the tree must hold exactly the export data of a full export.
func TestDeltasIntoIAVL(t *testing.T) {
	cfg, err := sim.LoadConfig("../../examples/chain/chain.json")
	if err != nil {
		t.Fatal(err)
	}
	actions := chainActions(t)
	const blocks = 40
	var roots [2][][]byte
	var stats []BlockStats
	for i := 0; i < 2; i++ {
		n, _, err := sim.OpenNode(filepath.Join(t.TempDir(), "db"), cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Genesis(); err != nil {
			t.Fatal(err)
		}
		tree := New()
		for h := uint64(1); h <= blocks; h++ {
			res, err := n.RunBlock(h, actions, nil)
			if err != nil {
				t.Fatalf("node %d height %d: %v", i, h, err)
			}
			st, err := tree.Apply(res.Commit.ExportData)
			if err != nil {
				t.Fatalf("height %d: iavl: %v", h, err)
			}
			if st.Version != int64(h) {
				t.Fatalf("IAVL version %d at height %d", st.Version, h)
			}
			if st.Entries > 0 && st.NodesWritten == 0 {
				t.Fatalf("height %d: %d entries but no IAVL node written", h, st.Entries)
			}
			roots[i] = append(roots[i], st.RootHash)
			if i == 0 {
				stats = append(stats, st)
			}
		}
		if i == 0 {
			defer n.Close()
			exp := filepath.Join(t.TempDir(), "export")
			if _, err := n.K.Export(exp, false); err != nil {
				t.Fatal(err)
			}
			want, err := readExportData(filepath.Join(exp, "export-data.bin"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tree.Contents()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("IAVL holds %d export-data entries, the export %d", len(got), len(want))
			}
			for k, v := range want {
				if g, ok := got[k]; !ok || !bytes.Equal(g, v) {
					t.Fatalf("export-data %q: IAVL %q, export %q", k, g, v)
				}
			}
		} else {
			n.Close()
		}
	}
	for h := range roots[0] {
		if !bytes.Equal(roots[0][h], roots[1][h]) {
			t.Fatalf("height %d: the two nodes' IAVL roots differ", h+1)
		}
	}
	total, max, entries := 0, 0, 0
	for _, st := range stats {
		t.Logf("height %3d: %4d export-data entries -> %5d IAVL nodes (%7d bytes), root %x",
			st.Version, st.Entries, st.NodesWritten, st.NodeBytes, st.RootHash[:8])
		total += st.NodesWritten
		entries += st.Entries
		if st.NodesWritten > max {
			max = st.NodesWritten
		}
	}
	t.Logf("IAVL: %d blocks, %d entries, %d nodes written (%.1f per block, max %d, %.2f per entry)",
		len(stats), entries, total, float64(total)/float64(len(stats)), max, float64(total)/float64(entries))
}
