package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// A transaction is one inbound action: method(args) sent to the root object
// of a named vat. Its bytes are a JSON object (UTF-8, at most the genesis
// max_tx_bytes) with these members and no others, each at most once:
//
//	"vat"    string, required: 1-128 characters of [A-Za-z0-9_.:-]
//	"method" string, required: 1-128 bytes, no control characters
//	"args"   array, optional (default []): plain JSON data, no references
//	"nonce"  string, optional, at most 64 bytes: ignored by the kernel; makes
//	         otherwise equal actions distinct transactions (CometBFT's
//	         mempool refuses bytes it has seen recently)
//
// For example {"vat":"counter","method":"increment","args":[1]}.
// Transactions are not signed: the chain admits any well-formed action and
// bounds them only by the inbound queue (Params.MaxPendingInbound). The
// kernel names the action's result after the block and the transaction's
// place in it ("h<height>.<index>"), which the transaction's result data
// carries and the result event repeats.
type Tx struct {
	Vat    string          `json:"vat"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args,omitempty"`
	Nonce  string          `json:"nonce,omitempty"`
}

// ErrMalformed is returned (wrapped) by DecodeTx for bytes that are not a transaction.
var ErrMalformed = errors.New("malformed transaction")

const (
	maxNameLen   = 128 // vat names and inbound ids (abi/host.h HOST_ID_MAX)
	maxMethodLen = 128
	maxNonceLen  = 64
)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// DecodeTx parses and checks a transaction; maxBytes 0 means no size limit.
// Every error wraps ErrMalformed. It is a pure function of its inputs, so
// every node decides alike.
func DecodeTx(b []byte, maxBytes uint64) (*Tx, error) {
	if len(b) == 0 {
		return nil, malformed("empty")
	}
	if maxBytes > 0 && uint64(len(b)) > maxBytes {
		return nil, malformed("%d bytes, more than the limit of %d", len(b), maxBytes)
	}
	if !utf8.Valid(b) {
		return nil, malformed("not UTF-8")
	}
	members, err := objectMembers(b)
	if err != nil {
		return nil, err
	}
	tx := &Tx{}
	for _, m := range members {
		switch m.key {
		case "vat":
			err = jsonString(m.val, &tx.Vat)
		case "method":
			err = jsonString(m.val, &tx.Method)
		case "nonce":
			err = jsonString(m.val, &tx.Nonce)
		case "args":
			if len(m.val) == 0 || m.val[0] != '[' {
				err = malformed(`"args" must be an array`)
			}
			tx.Args = m.val
		default:
			err = malformed("unknown member %q", m.key)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := tx.check(); err != nil {
		return nil, err
	}
	return tx, nil
}

func (tx *Tx) check() error {
	if !validName(tx.Vat) {
		return malformed(`"vat" must be 1-%d characters of [A-Za-z0-9_.:-]`, maxNameLen)
	}
	if tx.Method == "" || len(tx.Method) > maxMethodLen || hasControl(tx.Method) {
		return malformed(`"method" must be 1-%d bytes without control characters`, maxMethodLen)
	}
	if len(tx.Nonce) > maxNonceLen || hasControl(tx.Nonce) {
		return malformed(`"nonce" must be at most %d bytes without control characters`, maxNonceLen)
	}
	return nil
}

// ArgsJSON is the JSON array the kernel receives ("[]" when absent).
func (tx *Tx) ArgsJSON() string {
	if len(tx.Args) == 0 {
		return "[]"
	}
	return string(tx.Args)
}

// Encode gives the transaction's bytes (Go's encoding: members in the
// order above). It checks the fields as DecodeTx does.
func (tx *Tx) Encode() ([]byte, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	if len(tx.Args) > 0 && (!json.Valid(tx.Args) || bytes.TrimSpace(tx.Args)[0] != '[') {
		return nil, malformed(`"args" must be an array`)
	}
	return json.Marshal(tx)
}

type member struct {
	key string
	val json.RawMessage
}

// objectMembers splits one JSON object into its members, in order; a
// repeated member, trailing bytes or anything but an object is malformed.
func objectMembers(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, malformed("not a JSON object")
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, malformed("%v", err)
		}
		key, ok := t.(string)
		if !ok {
			return nil, malformed("bad member name")
		}
		if seen[key] {
			return nil, malformed("member %q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed("member %q: %v", key, err)
		}
		out = append(out, member{key, raw})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, malformed("unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("bytes after the object")
	}
	return out, nil
}

func jsonString(raw json.RawMessage, dst *string) error {
	if len(raw) == 0 || raw[0] != '"' {
		return malformed("expected a string")
	}
	return json.Unmarshal(raw, dst)
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
