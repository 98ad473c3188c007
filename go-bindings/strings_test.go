package swing

// Strings at the ABI, decoded by google.golang.org/protobuf, which refuses a
// response whose string fields are not UTF-8 (issue: hardening, ABI edges,
// 2025): long error messages used to be cut inside a character and text from
// vats was passed on raw, so Call failed with "undecodable response" instead
// of returning the library's error; names with a NUL byte were cut at it.

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

const bootBundle = "function buildRootObject()\n" +
	"  return Far('boot', { bootstrap = function() return 'booted' end })\n" +
	"end\n"

const counterBundle = "function buildRootObject()\n" +
	"  local n = 0\n" +
	"  return Far('counter', { increment = function(k) n = n + k return n end })\n" +
	"end\n"

func openTemp(t *testing.T) *Kernel {
	t.Helper()
	k, _, err := Open(filepath.Join(t.TempDir(), "db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// genesisAndBlock runs init and block 1, then opens block 2.
func genesisAndBlock(t *testing.T, k *Kernel) {
	t.Helper()
	cfg := `{"bootstrap":"boot","vats":{"boot":{"bundleName":"boot"},"counter":{"bundleName":"counter"}}}`
	if _, err := k.Init([]byte(cfg), []Bundle{{"boot", []byte(bootBundle)}, {"counter", []byte(counterBundle)}}); err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 2; h++ {
		if _, err := k.BeginBlock(h, 0); err != nil {
			t.Fatal(err)
		}
		if h == 2 {
			return
		}
		if _, err := k.EndBlock(0, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// wantInvalid requires a decoded INVALID response whose message is valid
// UTF-8 and contains want.
func wantInvalid(t *testing.T, err error, want string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("want an INVALID response, got %v", err)
	}
	if !utf8.ValidString(e.Msg) {
		t.Fatalf("message is not UTF-8: %q", e.Msg)
	}
	if !strings.Contains(e.Msg, want) {
		t.Fatalf("message %q does not contain %q", e.Msg, want)
	}
	return e
}

func TestLongErrorMessageDecodes(t *testing.T) {
	k := openTemp(t)
	name := strings.Repeat("€", 300) // 900 bytes of 3-byte characters
	for lead := 1; lead <= 4; lead++ {
		cfg := `{"vats":{"` + strings.Repeat("v", lead) + `":{"bundleName":"` + name + `"}}}`
		_, err := k.Init([]byte(cfg), []Bundle{{"boot", []byte(bootBundle)}})
		e := wantInvalid(t, err, "no bundle named €€€")
		if len(e.Msg) > 511 {
			t.Fatalf("message of %d bytes", len(e.Msg))
		}
	}
}

func TestVatTextDecodes(t *testing.T) {
	k := openTemp(t)
	genesisAndBlock(t, k)
	// A Lua syntax error quotes the source, here bytes that are not UTF-8.
	_, err := k.InstallBundle([]byte("local x = \"caf\xe9 \xff\n"))
	wantInvalid(t, err, "unfinished string")
}

func TestNULInNamesRefused(t *testing.T) {
	k := openTemp(t)
	genesisAndBlock(t, k)
	wantInvalid(t, k.QueueInbound("t1", "counter\x00x", "increment", "[1]"), "QueueInboundRequest.vat holds a NUL byte")
	wantInvalid(t, k.TerminateVat("counter\x00x", "gone"), "TerminateVatRequest.name holds a NUL byte")
	if err := k.QueueInbound("t2", "counter", "increment", "[1]"); err != nil {
		t.Fatal(err)
	}
	res, err := k.EndBlock(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || res.Results[0].Id != "t2" {
		t.Fatalf("results %v: only t2 should have run", res.Results)
	}
}
