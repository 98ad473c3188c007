package app

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	abci "github.com/cometbft/cometbft/abci/types"

	pb "libswing/go-bindings/swingpb"
)

// Query paths (abci_query). Every answer is JSON in the response's value,
// at the latest state: height 0 or the committed height; any other height
// is CodeBadQuery (the kernel keeps no history). Between FinalizeBlock and
// Commit the kernel reads through the finalized block.
//
//	/vats        [{"name","id","terminated","deleted","termination":{"kind","reason"}}...]
//	/stats       {"committed_height","activity_hash","vats","run_queue","pending_inbound"}
//	/kv/get      data: a key -> {"key","found","value"} (value as text, or "value_base64")
//	/kv/prefix   data: {"prefix":P,"after":K,"limit":N} -> {"entries":[{"key","value"}...],"truncated"}
//	             (keys after K, at most N (0: 1000, at most 100000), in byte order;
//	             the next page starts after the last key)
//	/snapshots   the snapshots this node serves: [{"height","chunks","size","hash"}...]
const (
	QueryVats      = "/vats"
	QueryStats     = "/stats"
	QueryKVGet     = "/kv/get"
	QueryKVPrefix  = "/kv/prefix"
	QuerySnapshots = "/snapshots"
)

// VatJSON is one vat in /vats.
type VatJSON struct {
	Name        string           `json:"name"`
	ID          string           `json:"id"`
	Terminated  bool             `json:"terminated"`
	Deleted     bool             `json:"deleted"`
	Termination *TerminationJSON `json:"termination,omitempty"`
}

// TerminationJSON says why a vat was terminated.
type TerminationJSON struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// StatsJSON is /stats.
type StatsJSON struct {
	CommittedHeight uint64 `json:"committed_height"`
	ActivityHash    string `json:"activity_hash"`
	Vats            uint64 `json:"vats"`
	RunQueue        uint64 `json:"run_queue"`
	PendingInbound  uint64 `json:"pending_inbound"`
}

// KVEntryJSON is one kv entry; Value when the bytes are UTF-8, else ValueBase64.
type KVEntryJSON struct {
	Key         string `json:"key"`
	Found       *bool  `json:"found,omitempty"`
	Value       string `json:"value,omitempty"`
	ValueBase64 []byte `json:"value_base64,omitempty"`
}

// KVPrefixRequest is /kv/prefix's data.
type KVPrefixRequest struct {
	Prefix string `json:"prefix"`
	After  string `json:"after"`
	Limit  uint32 `json:"limit"`
}

// KVPageJSON is /kv/prefix's answer.
type KVPageJSON struct {
	Entries   []KVEntryJSON `json:"entries"`
	Truncated bool          `json:"truncated"`
}

func kvEntry(key string, v []byte) KVEntryJSON {
	if utf8.Valid(v) {
		return KVEntryJSON{Key: key, Value: string(v)}
	}
	return KVEntryJSON{Key: key, ValueBase64: v}
}

// Query answers the paths above.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	bad := func(format string, args ...any) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: CodeBadQuery, Codespace: Codespace, Log: fmt.Sprintf(format, args...),
			Height: int64(a.height)}, nil
	}
	if req.Height != 0 && uint64(req.Height) != a.height {
		return bad("height %d: only the latest state (%d) is kept", req.Height, a.height)
	}
	var out any
	switch req.Path {
	case QueryVats:
		vats, err := a.k.Vats()
		if err != nil {
			return bad("%v", err)
		}
		list := make([]VatJSON, 0, len(vats))
		for _, v := range vats {
			j := VatJSON{Name: v.Name, ID: v.Id, Terminated: v.Terminated, Deleted: v.Deleted}
			if t := v.GetTermination(); t != nil {
				j.Termination = &TerminationJSON{Kind: t.KindName, Reason: t.Reason}
			}
			list = append(list, j)
		}
		out = list
	case QueryStats:
		st, err := a.k.Stats()
		if err != nil {
			return bad("%v", err)
		}
		out = StatsJSON{st.CommittedHeight, st.ActivityHash, st.Vats, st.RunQueue, st.PendingInbound}
	case QueryKVGet:
		key := string(req.Data)
		r, err := a.k.Query(&pb.QueryRequest{Query: &pb.QueryRequest_KvGet{KvGet: key}})
		if err != nil {
			return bad("%v", err)
		}
		e := kvEntry(key, nil)
		if r.Found {
			e = kvEntry(key, r.Kv[0].Value)
		}
		found := r.Found
		e.Found = &found
		out = e
	case QueryKVPrefix:
		page, err := a.kvPrefix(req.Data)
		if err != nil {
			return bad("%v", err)
		}
		out = page
	case QuerySnapshots:
		out = a.snaps.list()
	default:
		return bad("unknown path %q (%s, %s, %s, %s, %s)", req.Path, QueryVats, QueryStats, QueryKVGet, QueryKVPrefix, QuerySnapshots)
	}
	v, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseQuery{Code: CodeOK, Value: v, Height: int64(a.height)}, nil
}

func (a *App) kvPrefix(data []byte) (*KVPageJSON, error) {
	var q KVPrefixRequest
	if len(data) > 0 {
		if err := json.Unmarshal(data, &q); err != nil {
			return nil, fmt.Errorf("/kv/prefix data: %w", err)
		}
	}
	r, err := a.k.Query(&pb.QueryRequest{Query: &pb.QueryRequest_KvPrefix{KvPrefix: q.Prefix},
		Limit: q.Limit, KvAfter: q.After})
	if err != nil {
		return nil, err
	}
	page := &KVPageJSON{Entries: make([]KVEntryJSON, 0, len(r.Kv)), Truncated: r.Truncated}
	for _, e := range r.Kv {
		page.Entries = append(page.Entries, kvEntry(e.Key, e.Value))
	}
	return page, nil
}
