package sim

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	pb "libswing/go-bindings/swingpb"
)

// TestPendingInboundAcrossStateSync: inbound messages still pending at the
// exported height settle after it on both nodes alike. Regression (2026-12,
// issue 17): the host's record of a pending result (id -> kpid) was a host.
// key, neither exported nor hashed, so a node restored by state sync never
// reported nor released those results, and its activity hash diverged at
// the first block that settled one.
func TestPendingInboundAcrossStateSync(t *testing.T) {
	cfg := exampleConfig(t)
	dir := t.TempDir()
	a := newNode(t, filepath.Join(dir, "a"), cfg)
	defer a.Close()
	block := func(n *Node, h, budget uint64, inbound int) (*pb.EndBlockResponse, string) {
		t.Helper()
		if _, err := n.K.BeginBlock(h, 1700000000+int64(h)*5); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < inbound; i++ {
			if err := n.K.QueueInbound(fmt.Sprintf("h%d.%d", h, i), "ledger", "receipts", "[50]"); err != nil {
				t.Fatal(err)
			}
		}
		end, err := n.K.EndBlock(budget, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := n.K.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if end.ActivityHash != c.ActivityHash {
			t.Fatalf("height %d: end_block said %s, commit gave %s", h, end.ActivityHash, c.ActivityHash)
		}
		return end, c.ActivityHash
	}
	block(a, 1, 0, 0)
	_, h2 := block(a, 2, 1, 5) // a budget of one crank: most results stay pending
	st, err := a.K.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingInbound == 0 {
		t.Fatal("nothing pending at the export height: the test proves nothing")
	}
	exp := filepath.Join(dir, "export")
	if _, err := a.K.Export(exp, false); err != nil {
		t.Fatal(err)
	}
	b, _, err := OpenNode(filepath.Join(dir, "b"), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.K.Import(exp, 2, h2); err != nil {
		t.Fatal(err)
	}
	if sb, err := b.K.Stats(); err != nil || sb.PendingInbound != st.PendingInbound {
		t.Fatalf("imported node: %v pending, %v; want %d", sb.GetPendingInbound(), err, st.PendingInbound)
	}
	settled := 0
	for h := uint64(3); h <= 5; h++ {
		ea, ha := block(a, h, 0, 0)
		eb, hb := block(b, h, 0, 0)
		if ha != hb {
			t.Fatalf("height %d: hashes differ: %s / %s", h, ha, hb)
		}
		if !reflect.DeepEqual(resultIDs(ea), resultIDs(eb)) {
			t.Fatalf("height %d: results %v / %v", h, resultIDs(ea), resultIDs(eb))
		}
		settled += len(ea.Results)
	}
	if uint64(settled) != st.PendingInbound {
		t.Fatalf("%d results settled after the export, %d were pending", settled, st.PendingInbound)
	}
}

func resultIDs(e *pb.EndBlockResponse) []string {
	var out []string
	for _, r := range e.Results {
		out = append(out, r.Id)
	}
	return out
}
