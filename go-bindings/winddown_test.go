package swing

// winddown_test.go: WindDownVat through the bindings: refusals, and a
// bundle vat wound down over blocks until end_block reports it terminated
// with kind exit.

import (
	"errors"
	"testing"

	pb "libswing/go-bindings/swingpb"
)

func TestWindDownVat(t *testing.T) {
	k := openTemp(t)
	genesisAndBlock(t, k)
	if err := k.WindDownVat("nobody"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown vat: %v", err)
	}
	if err := k.WindDownVat("counter"); err != nil {
		t.Fatal(err)
	}
	exited := false
	for h := uint64(2); h < 40 && !exited; h++ {
		if h > 2 {
			if _, err := k.BeginBlock(h, 0); err != nil {
				t.Fatal(err)
			}
		}
		res, err := k.EndBlock(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, term := range res.GetTerminations() {
			if term.GetName() == "counter" {
				if term.GetKind() != pb.TerminationKind_TERMINATION_EXIT {
					t.Fatalf("counter ended %v: %s", term.GetKind(), term.GetReason())
				}
				exited = true
			}
		}
		if _, err := k.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if !exited {
		t.Fatal("counter did not wind down within 40 blocks")
	}
}
