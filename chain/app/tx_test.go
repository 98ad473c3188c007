package app

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeTx(t *testing.T) {
	tx, err := DecodeTx([]byte(`{"vat":"counter","method":"increment","args":[1, {"a":"b"}],"nonce":"n1"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Vat != "counter" || tx.Method != "increment" || tx.ArgsJSON() != `[1, {"a":"b"}]` || tx.Nonce != "n1" {
		t.Fatalf("decoded %+v", tx)
	}
	if tx, err := DecodeTx([]byte(` { "method" : "m" , "vat" : "v" } `), 0); err != nil || tx.ArgsJSON() != "[]" {
		t.Fatalf("whitespace, no args: %v %v", tx, err)
	}
	bad := map[string]string{
		"empty":           ``,
		"not an object":   `[1]`,
		"garbage":         `counter=1`,
		"trailing":        `{"vat":"v","method":"m"}x`,
		"two objects":     `{"vat":"v","method":"m"}{}`,
		"unterminated":    `{"vat":"v","method":"m"`,
		"duplicate":       `{"vat":"v","vat":"w","method":"m"}`,
		"unknown member":  `{"vat":"v","method":"m","to":"x"}`,
		"no vat":          `{"method":"m"}`,
		"no method":       `{"vat":"v"}`,
		"vat not string":  `{"vat":1,"method":"m"}`,
		"bad vat name":    `{"vat":"a b","method":"m"}`,
		"long vat":        `{"vat":"` + strings.Repeat("v", 129) + `","method":"m"}`,
		"NUL in method":   `{"vat":"v","method":"m\u0000"}`,
		"newline method":  `{"vat":"v","method":"m\n"}`,
		"args not array":  `{"vat":"v","method":"m","args":{"a":1}}`,
		"args bad json":   `{"vat":"v","method":"m","args":[1,]}`,
		"long nonce":      `{"vat":"v","method":"m","nonce":"` + strings.Repeat("n", 65) + `"}`,
		"not UTF-8":       "{\"vat\":\"v\",\"method\":\"m\xff\"}",
		"null args":       `{"vat":"v","method":"m","args":null}`,
		"number as value": `{"vat":"v","method":"m","nonce":5}`,
	}
	for name, s := range bad {
		if _, err := DecodeTx([]byte(s), 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %q gave %v", name, s, err)
		}
	}
	big := `{"vat":"v","method":"m","args":["` + strings.Repeat("x", 100) + `"]}`
	if _, err := DecodeTx([]byte(big), 64); !errors.Is(err, ErrMalformed) {
		t.Errorf("over the size limit: %v", err)
	}
	// Encode gives what DecodeTx reads back.
	enc, err := (&Tx{Vat: "ledger", Method: "receipts", Args: []byte("[3]"), Nonce: "x"}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeTx(enc, 0)
	if err != nil || back.Vat != "ledger" || back.ArgsJSON() != "[3]" || back.Nonce != "x" {
		t.Fatalf("round trip %s: %+v %v", enc, back, err)
	}
	if _, err := (&Tx{Vat: "v", Method: "m", Args: []byte("{}")}).Encode(); err == nil {
		t.Fatal("Encode accepted object args")
	}
}
