package swing

// Vat upgrade through the bindings: UpgradeVat and UpgradeAllVats refuse
// bad requests with ErrInvalid (and outside a block ErrOutOfOrder), EndBlock
// carries Upgrades and UpgradesLeft, Vats() each vat's Incarnation.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func incarnations(t *testing.T, k *Kernel) map[string]uint64 {
	t.Helper()
	vats, err := k.Vats()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, v := range vats {
		out[v.GetName()] = v.GetIncarnation()
	}
	return out
}

func TestUpgradeRefusals(t *testing.T) {
	k := openTemp(t)
	genesisAndBlock(t, k)
	for _, c := range []struct {
		vat  string
		opts UpgradeOptions
		want string
	}{
		{"nobody", UpgradeOptions{}, "no vat named nobody"},
		{"counter", UpgradeOptions{BundleName: "nope"}, "no bundle named nope"},
		{"counter", UpgradeOptions{BundleName: "counter", BundleID: "b1-00"}, "not both"},
		{"counter", UpgradeOptions{BundleID: "b1-xyz"}, "bad bundle_id"},
		{"counter", UpgradeOptions{VatParameters: json.RawMessage(`{"!x":1}`)}, "not plain data"},
	} {
		_, err := k.UpgradeVat(c.vat, c.opts)
		wantInvalid(t, err, c.want)
	}
	if _, err := k.UpgradeVat("counter", UpgradeOptions{VatParameters: func() {}}); err == nil ||
		!strings.Contains(err.Error(), "vat parameters") {
		t.Fatalf("unmarshallable parameters: %v", err)
	}
	_, err := k.UpgradeAllVats(map[string]string{"nobody": ""})
	wantInvalid(t, err, "no vat named nobody")
	_, err = k.UpgradeAllVats(map[string]string{"counter": "nope"})
	wantInvalid(t, err, "no bundle named nope")
	if _, err := k.InstallNamedBundle("a.b", []byte(counterBundle)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bundle name with '.': %v", err)
	}
	res, err := k.EndBlock(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetUpgrades()) != 0 || res.GetUpgradesLeft() != 0 {
		t.Fatalf("upgrades %v, left %d: want none", res.GetUpgrades(), res.GetUpgradesLeft())
	}
	if _, err := k.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.UpgradeVat("counter", UpgradeOptions{}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("upgrade outside a block: %v", err)
	}
	if _, err := k.UpgradeAllVats(nil); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("upgrade-all outside a block: %v", err)
	}
	for name, inc := range incarnations(t, k) {
		if inc != 0 {
			t.Fatalf("vat %s: incarnation %d before any upgrade", name, inc)
		}
	}
}

// Needs the real kernel: an upgrade by bundle name with new parameters is
// reported done with its ID and incarnation 1, and the vat runs the new
// code; then upgrade-all plans every live vat.
func TestUpgradeVatAndAll(t *testing.T) {
	k := openTemp(t)
	genesisAndBlock(t, k)
	const v2 = "function buildRootObject(vatPowers, params)\n" +
		"  return Far('counter', { increment = function(k) return params.base + k end })\n" +
		"end\n"
	if _, err := k.InstallNamedBundle("counter2", []byte(v2)); err != nil {
		t.Fatal(err)
	}
	id, err := k.UpgradeVat("counter", UpgradeOptions{BundleName: "counter2",
		VatParameters: map[string]int{"base": 40}, Message: "to v2"})
	if err != nil || id != 1 {
		t.Fatalf("upgrade: id %d, %v", id, err)
	}
	res, err := k.EndBlock(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u := res.GetUpgrades(); len(u) != 1 || u[0].GetUpgradeId() != 1 || !u[0].GetOk() || u[0].GetIncarnation() != 1 ||
		u[0].GetName() != "counter" || res.GetUpgradesLeft() != 0 {
		t.Fatalf("upgrades %v, left %d", u, res.GetUpgradesLeft())
	}
	if _, err := k.Commit(); err != nil {
		t.Fatal(err)
	}
	if inc := incarnations(t, k); inc["counter"] != 1 || inc["boot"] != 0 {
		t.Fatalf("incarnations %v", inc)
	}
	if _, err := k.BeginBlock(3, 0); err != nil {
		t.Fatal(err)
	}
	if err := k.QueueInbound("x", "counter", "increment", "[2]"); err != nil {
		t.Fatal(err)
	}
	plan, err := k.UpgradeAllVats(map[string]string{"counter": "counter2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 || !plan[0].GetQueued() || !plan[1].GetQueued() || plan[0].GetName() != "boot" {
		t.Fatalf("plan %v", plan)
	}
	if res, err = k.EndBlock(0, nil); err != nil {
		t.Fatal(err)
	}
	if len(res.GetUpgrades()) != 2 || len(res.GetResults()) != 1 || res.GetResults()[0].GetBody() != "#42" {
		t.Fatalf("upgrades %v, results %v", res.GetUpgrades(), res.GetResults())
	}
	if _, err := k.Commit(); err != nil {
		t.Fatal(err)
	}
	if inc := incarnations(t, k); inc["counter"] != 2 || inc["boot"] != 1 {
		t.Fatalf("incarnations %v", inc)
	}
}
