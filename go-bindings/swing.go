// Package swing drives a libswing kernel from a Go chain node through cgo.
//
// The library is linked statically (build/libswing.a, built by `make`), so a
// stale shared object can never be picked up. Every operation is one
// protobuf envelope through swing_call; request bytes are Go memory borrowed
// for the call only (they hold no Go pointers), and every response buffer is
// copied into Go memory and released with swing_free exactly once.
//
// A Kernel serializes its calls with a mutex: the library requires that calls
// on one handle never run concurrently. Different Kernels share nothing.
package swing

/*
#cgo CFLAGS: -I${SRCDIR}/..
#cgo LDFLAGS: ${SRCDIR}/../build/libswing.a -lleveldb -lnettle -ljansson -llua5.4 -lprotobuf-c -lm
#include <stdlib.h>
#include "abi/swing.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"

	pb "libswing/go-bindings/swingpb"
)

// ABIVersion is the ABI these bindings were written against. Open refuses a
// library that reports another one.
const ABIVersion = 1

// Error is a non-OK response: its status and the library's message.
type Error struct {
	Status pb.Status
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("swing: %s: %s", statusName(e.Status), e.Msg) }

// Is lets errors.Is(err, swing.ErrOutOfOrder) and friends match on the status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Status == e.Status
}

// Sentinels for errors.Is.
var (
	ErrInvalid    = &Error{Status: pb.Status_STATUS_INVALID}
	ErrOutOfOrder = &Error{Status: pb.Status_STATUS_OUT_OF_ORDER}
	ErrUser       = &Error{Status: pb.Status_STATUS_USER}
	ErrVat        = &Error{Status: pb.Status_STATUS_VAT}
	ErrCorrupt    = &Error{Status: pb.Status_STATUS_CORRUPT}
	ErrIO         = &Error{Status: pb.Status_STATUS_IO}
	ErrBusy       = &Error{Status: pb.Status_STATUS_BUSY}
	ErrPanic      = &Error{Status: pb.Status_STATUS_PANIC}
	ErrClosed     = errors.New("swing: kernel is closed")
)

func statusName(s pb.Status) string {
	return C.GoString(C.swing_status_name(C.swing_status(s)))
}

// LibraryABIVersion is the ABI version of the linked library.
func LibraryABIVersion() uint32 { return uint32(C.swing_abi_version()) }

// LibraryVersion is the linked library's version string.
func LibraryVersion() string { return C.GoString(C.swing_version()) }

// Kernel is one open data directory.
type Kernel struct {
	mu             sync.Mutex
	h              *C.swing_handle
	defaultCleanup *pb.CleanupBudget // the library's, from the open response
}

// Options for Open.
type Options struct {
	// NoSync skips fsync at commit: tests and benchmarks only.
	NoSync bool
}

// bytesArg returns a C view of b (nil for empty: &b[0] would panic).
func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// takeOutput copies a library-owned buffer into Go memory and frees it.
func takeOutput(p *C.uint8_t, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	out := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.swing_free(unsafe.Pointer(p))
	return out
}

// Open opens (creating if needed) a data directory. The returned response
// says the committed height and activity hash.
func Open(dir string, opts *Options) (*Kernel, *pb.OpenResponse, error) {
	if lib := LibraryABIVersion(); lib != ABIVersion {
		return nil, nil, fmt.Errorf("swing: library ABI version %d, bindings expect %d", lib, ABIVersion)
	}
	req := &pb.OpenRequest{AbiVersion: ABIVersion, DataDir: dir}
	if opts != nil {
		req.NoSync = opts.NoSync
	}
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	var h *C.swing_handle
	var out *C.uint8_t
	var outLen C.size_t
	p, n := bytesArg(in)
	C.swing_open(p, n, &h, &out, &outLen)
	raw := takeOutput(out, outLen)
	if raw == nil {
		if h != nil {
			C.swing_close(h)
		}
		return nil, nil, errors.New("swing: open returned no response (out of memory)")
	}
	resp := &pb.OpenResponse{}
	if err := proto.Unmarshal(raw, resp); err != nil {
		if h != nil {
			C.swing_close(h)
		}
		return nil, nil, fmt.Errorf("swing: undecodable open response: %w", err)
	}
	if resp.Status != pb.Status_STATUS_OK {
		return nil, resp, &Error{Status: resp.Status, Msg: resp.Error}
	}
	if resp.AbiVersion != ABIVersion {
		C.swing_close(h)
		return nil, resp, fmt.Errorf("swing: library ABI version %d, bindings expect %d", resp.AbiVersion, ABIVersion)
	}
	return &Kernel{h: h, defaultCleanup: resp.GetDefaultCleanup()}, resp, nil
}

// DefaultCleanup is the clean-up budget EndBlock applies when cleanup is
// nil, as the library reported it at Open (a copy). A host that overrides
// only some fields takes the others from here.
func (k *Kernel) DefaultCleanup() *pb.CleanupBudget {
	if k.defaultCleanup == nil {
		return &pb.CleanupBudget{}
	}
	return proto.Clone(k.defaultCleanup).(*pb.CleanupBudget)
}

// Close releases the handle; uncommitted block work is discarded. Safe to call twice.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h != nil {
		C.swing_close(k.h)
		k.h = nil
	}
	return nil
}

// Call sends one envelope and returns the decoded response; a non-OK status
// becomes an *Error (the response is returned too).
func (k *Kernel) Call(req *pb.Request) (*pb.Response, error) {
	req.AbiVersion = ABIVersion
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h == nil {
		return nil, ErrClosed
	}
	var out *C.uint8_t
	var outLen C.size_t
	p, n := bytesArg(in)
	C.swing_call(k.h, p, n, &out, &outLen)
	raw := takeOutput(out, outLen)
	if raw == nil {
		return nil, errors.New("swing: call returned no response (out of memory)")
	}
	resp := &pb.Response{}
	if err := proto.Unmarshal(raw, resp); err != nil {
		return nil, fmt.Errorf("swing: undecodable response: %w", err)
	}
	if resp.Status != pb.Status_STATUS_OK {
		return resp, &Error{Status: resp.Status, Msg: resp.Error}
	}
	return resp, nil
}

// Bundle is a named bundle for Init.
type Bundle struct {
	Name   string
	Source []byte
}

// Init runs genesis: installs the bundles, then initializes the kernel from
// the JSON config, whose vats may name a bundle with "bundleName".
func (k *Kernel) Init(configJSON []byte, bundles []Bundle) (*pb.InitResponse, error) {
	req := &pb.InitRequest{ConfigJson: configJSON}
	for _, b := range bundles {
		req.Bundles = append(req.Bundles, &pb.Bundle{Name: b.Name, Source: b.Source})
	}
	resp, err := k.Call(&pb.Request{Op: &pb.Request_Init{Init: req}})
	if err != nil {
		return nil, err
	}
	return resp.GetInit(), nil
}

// BeginBlock opens block height (the committed height + 1, or the committed
// height itself to replay it; replay reports which).
func (k *Kernel) BeginBlock(height uint64, timeUnix int64) (replay bool, err error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_BeginBlock{BeginBlock: &pb.BeginBlockRequest{Height: height, TimeUnix: timeUnix}}})
	if err != nil {
		return false, err
	}
	return resp.GetBeginBlock().GetReplay(), nil
}

// QueueInbound delivers method(args) to a named vat's root; argsJSON is a JSON
// array of plain data. The result arrives in a later EndBlock under id.
func (k *Kernel) QueueInbound(id, vat, method, argsJSON string) error {
	_, err := k.Call(&pb.Request{Op: &pb.Request_QueueInbound{QueueInbound: &pb.QueueInboundRequest{
		Id: id, Vat: vat, Method: method, ArgsJson: argsJSON}}})
	return err
}

// EndBlock runs the block's normal work within computeBudget computrons (0:
// no limit), then the block-end clean-up (terminated-vat deletion, BOYDs of
// dirty vats, GC work) within cleanup; nil means the library's defaults (DefaultCleanup), and 0
// in a field means none of that work. The response's Cleanup reports what
// the clean-up did and what it left; Upgrades lists the upgrades that
// finished in the block and UpgradesLeft the ones still queued.
func (k *Kernel) EndBlock(computeBudget uint64, cleanup *pb.CleanupBudget) (*pb.EndBlockResponse, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_EndBlock{EndBlock: &pb.EndBlockRequest{ComputeBudget: computeBudget, Cleanup: cleanup}}})
	if err != nil {
		return nil, err
	}
	return resp.GetEndBlock(), nil
}

// Commit makes the block durable (one synced LevelDB batch) and returns its
// export-data delta and activity hash.
func (k *Kernel) Commit() (*pb.CommitResponse, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_Commit{Commit: &pb.CommitRequest{}}})
	if err != nil {
		return nil, err
	}
	return resp.GetCommit(), nil
}

// Export writes the committed state into outDir (between blocks).
func (k *Kernel) Export(outDir string, archival bool) (*pb.ExportResponse, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_Export{Export: &pb.ExportRequest{OutDir: outDir, Archival: archival}}})
	if err != nil {
		return nil, err
	}
	return resp.GetExport(), nil
}

// Import replaces this empty, never initialized node's state with an export,
// after proving that the export is the state at height: its data must give
// activityHash, the hash the chain committed at that height (from a light
// client or block header, never from the export). A mismatch is ErrCorrupt
// and leaves the node empty; a missing height or hash is ErrInvalid.
func (k *Kernel) Import(inDir string, height uint64, activityHash string) (*pb.ImportResponse, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_Import{Import: &pb.ImportRequest{
		InDir: inDir, ExpectedHeight: height, ExpectedActivityHash: activityHash}}})
	if err != nil {
		return nil, err
	}
	return resp.GetImport(), nil
}

// InstallBundle stores a bundle (inside a block) and returns its ID.
func (k *Kernel) InstallBundle(source []byte) (string, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_InstallBundle{InstallBundle: &pb.InstallBundleRequest{Source: source}}})
	if err != nil {
		return "", err
	}
	return resp.GetInstallBundle().GetId(), nil
}

// InstallNamedBundle stores a bundle (inside a block), registers name for
// it (1-64 bytes without '.'; a name already registered moves to this
// bundle), and returns its ID. UpgradeVat and UpgradeAllVats can then name
// it, as they can the bundles of Init.
func (k *Kernel) InstallNamedBundle(name string, source []byte) (string, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_InstallBundle{InstallBundle: &pb.InstallBundleRequest{Source: source, Name: name}}})
	if err != nil {
		return "", err
	}
	return resp.GetInstallBundle().GetId(), nil
}

// CreateVat creates a dynamic vat from an installed bundle (inside a block).
func (k *Kernel) CreateVat(name, bundleID, parametersJSON, optionsJSON string) (string, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_CreateVat{CreateVat: &pb.CreateVatRequest{
		Name: name, BundleId: bundleID, ParametersJson: parametersJSON, OptionsJson: optionsJSON}}})
	if err != nil {
		return "", err
	}
	return resp.GetCreateVat().GetVatId(), nil
}

// TerminateVat terminates a vat (inside a block).
func (k *Kernel) TerminateVat(name, reason string) error {
	_, err := k.Call(&pb.Request{Op: &pb.Request_TerminateVat{TerminateVat: &pb.TerminateVatRequest{Name: name, Reason: reason}}})
	return err
}

// WindDownVat winds a vat down (inside a block; docs/winddown.md): it sheds
// its state over the following blocks' clean-up and exits. EndBlock's
// Cleanup.WindDownItems and Cleanup.WindingDown show the progress.
func (k *Kernel) WindDownVat(name string) error {
	_, err := k.Call(&pb.Request{Op: &pb.Request_WindDownVat{WindDownVat: &pb.WindDownVatRequest{Name: name}}})
	return err
}

// UpgradeOptions says what an upgrade installs. With neither BundleName nor
// BundleID the vat restarts on its current bundle (a null upgrade); both
// is ErrInvalid.
type UpgradeOptions struct {
	BundleName string // a bundle name given at Init or by InstallNamedBundle
	BundleID   string // an installed bundle's ID
	// VatParameters, when not nil, become the vat's vatParameters: any
	// value encoding/json marshals to plain data (no references), e.g. a
	// map or a json.RawMessage ("null" for a JSON null). nil keeps the
	// vatParameters the kernel retained.
	VatParameters any
	Message       string // the upgrade message the disconnection carries; "": "vat upgraded"
}

// UpgradeVat queues an upgrade of a named vat (inside a block) and returns
// its upgrade ID. The upgrade runs as normal work of this block or a later
// one; the EndBlock of the block in which it finishes lists it in Upgrades
// (ok, or rolled back with its reason). A vat that cannot be upgraded, an
// unknown bundle or bad parameters are ErrInvalid and change nothing.
func (k *Kernel) UpgradeVat(vat string, opts UpgradeOptions) (uint64, error) {
	req := &pb.UpgradeVatRequest{Vat: vat, BundleName: opts.BundleName, BundleId: opts.BundleID,
		UpgradeMessage: opts.Message}
	if opts.VatParameters != nil {
		b, err := json.Marshal(opts.VatParameters)
		if err != nil {
			return 0, fmt.Errorf("swing: vat parameters: %w", err)
		}
		req.VatParametersJson, req.HasVatParameters = string(b), true
	}
	resp, err := k.Call(&pb.Request{Op: &pb.Request_UpgradeVat{UpgradeVat: req}})
	if err != nil {
		return 0, err
	}
	return resp.GetUpgradeVat().GetUpgradeId(), nil
}

// UpgradeAllVats queues a null upgrade of every live vat (inside a block),
// each keeping its retained vatParameters; bundles maps a vat name to the
// bundle name it gets instead of its current bundle. The plan lists every
// live vat in vat-ID order: queued with its upgrade ID, or skipped with the
// rule it fails. The request lists bundles in name order, so the same map
// is the same request on every node.
func (k *Kernel) UpgradeAllVats(bundles map[string]string) ([]*pb.UpgradePlan, error) {
	req := &pb.UpgradeAllVatsRequest{}
	vats := make([]string, 0, len(bundles))
	for v := range bundles {
		vats = append(vats, v)
	}
	sort.Strings(vats)
	for _, v := range vats {
		req.Bundles = append(req.Bundles, &pb.VatBundle{Vat: v, BundleName: bundles[v]})
	}
	resp, err := k.Call(&pb.Request{Op: &pb.Request_UpgradeAllVats{UpgradeAllVats: req}})
	if err != nil {
		return nil, err
	}
	return resp.GetUpgradeAllVats().GetVats(), nil
}

// Query asks a read-only question.
func (k *Kernel) Query(q *pb.QueryRequest) (*pb.QueryResponse, error) {
	resp, err := k.Call(&pb.Request{Op: &pb.Request_Query{Query: q}})
	if err != nil {
		return nil, err
	}
	return resp.GetQuery(), nil
}

// Vats is a shortcut for Query(vats): every vat in name order, terminated
// and deleted ones included, each terminated one with its Termination (kind
// and reason), each live one with its Incarnation (0 before any upgrade).
func (k *Kernel) Vats() ([]*pb.VatInfo, error) {
	r, err := k.Query(&pb.QueryRequest{Query: &pb.QueryRequest_Vats{Vats: true}})
	if err != nil {
		return nil, err
	}
	return r.GetVats(), nil
}

// Stats is a shortcut for Query(stats).
func (k *Kernel) Stats() (*pb.Stats, error) {
	r, err := k.Query(&pb.QueryRequest{Query: &pb.QueryRequest_Stats{Stats: true}})
	if err != nil {
		return nil, err
	}
	return r.GetStats(), nil
}
