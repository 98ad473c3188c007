package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	swing "libswing/go-bindings"
)

// Snapshots (format 1) carry the kernel's export of a committed height
// (docs/store.md "Export and import", operational mode) as one byte stream:
//
//	offset  size  field
//	0       8     magic "SWSNAP1\n"
//	8       ...   each file of the export directory, names in byte order:
//	              2  u16 big-endian name length N (1..64)
//	              N  name: "export-data.bin", "manifest.json" or "a" + 6 digits
//	              8  u64 big-endian file length L
//	              L  the file's bytes
//
// cut into chunks of ChunkSize bytes (the last may be shorter). The
// snapshot's metadata is the JSON {"chunk_size":C,"size":S,
// "chunk_hashes":[hex SHA-256 of each chunk]} and its hash the SHA-256 of
// the metadata bytes. Nodes with the same ChunkSize serve byte-identical
// snapshots of a height (the export is canonical). A restoring node checks
// each chunk against the metadata as it arrives (a bad one is fetched again
// from another peer), then the whole export against the app hash the light
// client verified (the kernel's import) before it switches anything in.
const (
	SnapshotFormat   uint32 = 1
	DefaultChunkSize        = 4 << 20
	MaxChunkSize            = 16_000_000 // CometBFT's p2p message limit
	snapshotMagic           = "SWSNAP1\n"
	maxChunkRetries         = 3
)

// SnapshotOptions are a node's snapshot settings (not consensus data).
type SnapshotOptions struct {
	Dir        string // snapshots and the restore in progress; "": Options.Dir + "-snapshots"
	Interval   uint64 // a snapshot at every multiple of this height; 0: none
	KeepRecent int    // snapshots kept (0: 2)
	ChunkSize  int    // bytes per chunk (0: DefaultChunkSize), at most MaxChunkSize
}

// snapMeta is a snapshot's metadata.
type snapMeta struct {
	ChunkSize   uint64   `json:"chunk_size"`
	Size        uint64   `json:"size"`
	ChunkHashes []string `json:"chunk_hashes"`
}

// SnapshotJSON is one entry of the /snapshots query.
type SnapshotJSON struct {
	Height uint64 `json:"height"`
	Chunks uint32 `json:"chunks"`
	Size   uint64 `json:"size"`
	Hash   string `json:"hash"`
}

type snapInfo struct {
	height   uint64
	meta     snapMeta
	metadata []byte // the bytes, as served
	hash     []byte
}

type snapshotStore struct {
	opts  SnapshotOptions
	snaps []snapInfo // ascending height
}

var snapDirRe = regexp.MustCompile(`^[0-9]{20}$`)

func openSnapshotStore(o SnapshotOptions) (*snapshotStore, error) {
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize < 0 || o.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("app: snapshot chunk size %d: 1 .. %d bytes", o.ChunkSize, MaxChunkSize)
	}
	if o.KeepRecent <= 0 {
		o.KeepRecent = 2
	}
	s := &snapshotStore{opts: o}
	ents, err := os.ReadDir(o.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents { // ReadDir sorts by name: ascending heights
		if !snapDirRe.MatchString(e.Name()) {
			continue
		}
		h, _ := strconv.ParseUint(e.Name(), 10, 64)
		md, err := os.ReadFile(filepath.Join(o.Dir, e.Name(), "metadata"))
		if err != nil {
			return nil, fmt.Errorf("app: snapshot %d: %w", h, err)
		}
		info, err := parseSnapMeta(h, md)
		if err != nil {
			return nil, fmt.Errorf("app: snapshot %d: %w", h, err)
		}
		s.snaps = append(s.snaps, *info)
	}
	return s, nil
}

func (s *snapshotStore) due(h uint64) bool {
	return s.opts.Interval > 0 && h%s.opts.Interval == 0
}

func (s *snapshotStore) snapDir(h uint64) string {
	return filepath.Join(s.opts.Dir, fmt.Sprintf("%020d", h))
}

func (s *snapshotStore) path(h uint64, name string) string {
	return filepath.Join(s.snapDir(h), name)
}

// take exports the kernel's committed state at height h (hash: its
// activity hash) into a new snapshot, then drops the oldest beyond KeepRecent.
func (s *snapshotStore) take(k *swing.Kernel, h uint64, hash string) error {
	tmp := filepath.Join(s.opts.Dir, fmt.Sprintf("tmp-%020d", h))
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	exp := filepath.Join(tmp, "export")
	r, err := k.Export(exp, false)
	if err != nil {
		return err
	}
	if r.Height != h || r.ActivityHash != hash {
		return fmt.Errorf("export is of %d/%s, expected %d/%s", r.Height, r.ActivityHash, h, hash)
	}
	meta, err := writeStream(exp, filepath.Join(tmp, "stream"), uint64(s.opts.ChunkSize))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(exp); err != nil {
		return err
	}
	md, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "metadata"), md, 0o644); err != nil {
		return err
	}
	final := s.snapDir(h)
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	info, err := parseSnapMeta(h, md)
	if err != nil {
		return err
	}
	kept := s.snaps[:0]
	for _, si := range s.snaps {
		if si.height != h {
			kept = append(kept, si)
		}
	}
	s.snaps = append(kept, *info)
	for len(s.snaps) > s.opts.KeepRecent {
		if err := os.RemoveAll(s.snapDir(s.snaps[0].height)); err != nil {
			return err
		}
		s.snaps = s.snaps[1:]
	}
	return nil
}

func (s *snapshotStore) find(h uint64) *snapInfo {
	for i := range s.snaps {
		if s.snaps[i].height == h {
			return &s.snaps[i]
		}
	}
	return nil
}

func (s *snapshotStore) list() []SnapshotJSON {
	out := make([]SnapshotJSON, 0, len(s.snaps))
	for _, si := range s.snaps {
		out = append(out, SnapshotJSON{si.height, uint32(len(si.meta.ChunkHashes)), si.meta.Size, hex.EncodeToString(si.hash)})
	}
	return out
}

func (si *snapInfo) abci() *abci.Snapshot {
	return &abci.Snapshot{Height: si.height, Format: SnapshotFormat, Chunks: uint32(len(si.meta.ChunkHashes)),
		Hash: si.hash, Metadata: si.metadata}
}

// chunk reads chunk i of snapshot h (nil if there is no such chunk).
func (s *snapshotStore) chunk(h uint64, i uint32) ([]byte, error) {
	si := s.find(h)
	if si == nil || int(i) >= len(si.meta.ChunkHashes) {
		return nil, nil
	}
	off := uint64(i) * si.meta.ChunkSize
	n := min(si.meta.ChunkSize, si.meta.Size-off)
	f, err := os.Open(s.path(h, "stream"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, int64(off)); err != nil {
		return nil, err
	}
	return buf, nil
}

// parseSnapMeta checks metadata bytes (untrusted when offered by a peer).
func parseSnapMeta(h uint64, md []byte) (*snapInfo, error) {
	var m snapMeta
	dec := json.NewDecoder(bytes.NewReader(md))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if m.ChunkSize == 0 || m.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("metadata: chunk size %d", m.ChunkSize)
	}
	if m.Size < uint64(len(snapshotMagic)) || uint64(len(m.ChunkHashes)) != (m.Size+m.ChunkSize-1)/m.ChunkSize {
		return nil, fmt.Errorf("metadata: %d chunk hashes for %d bytes in chunks of %d", len(m.ChunkHashes), m.Size, m.ChunkSize)
	}
	for _, c := range m.ChunkHashes {
		if b, err := hex.DecodeString(c); err != nil || len(b) != sha256.Size {
			return nil, errors.New("metadata: a chunk hash is not 64 hex digits")
		}
	}
	sum := sha256.Sum256(md)
	return &snapInfo{height: h, meta: m, metadata: md, hash: sum[:]}, nil
}

// chunker hashes a stream chunk by chunk as it is written.
type chunker struct {
	w      io.Writer
	size   uint64
	chunk  uint64
	cur    hash.Hash
	inCur  uint64
	hashes []string
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.cur == nil {
			c.cur = sha256.New()
		}
		take := min(uint64(len(p)), c.chunk-c.inCur)
		if _, err := c.w.Write(p[:take]); err != nil {
			return 0, err
		}
		c.cur.Write(p[:take])
		c.inCur += take
		c.size += take
		p = p[take:]
		if c.inCur == c.chunk {
			c.flush()
		}
	}
	return n, nil
}

func (c *chunker) flush() {
	if c.cur != nil && c.inCur > 0 {
		c.hashes = append(c.hashes, hex.EncodeToString(c.cur.Sum(nil)))
	}
	c.cur, c.inCur = nil, 0
}

var exportNameRe = regexp.MustCompile(`^(manifest\.json|export-data\.bin|a[0-9]{6})$`)

// writeStream serializes an export directory into the snapshot stream.
func writeStream(dir, out string, chunkSize uint64) (*snapMeta, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() || !exportNameRe.MatchString(e.Name()) {
			return nil, fmt.Errorf("export holds an unexpected entry %q", e.Name())
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	c := &chunker{w: bw, chunk: chunkSize}
	if _, err := c.Write([]byte(snapshotMagic)); err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := writeEntry(c, filepath.Join(dir, name), name); err != nil {
			return nil, err
		}
	}
	c.flush()
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &snapMeta{ChunkSize: chunkSize, Size: c.size, ChunkHashes: c.hashes}, f.Close()
}

func writeEntry(w io.Writer, path, name string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	var hdr [2 + 64 + 8]byte
	binary.BigEndian.PutUint16(hdr[:2], uint16(len(name)))
	n := 2 + copy(hdr[2:], name)
	binary.BigEndian.PutUint64(hdr[n:], uint64(st.Size()))
	if _, err := w.Write(hdr[:n+8]); err != nil {
		return err
	}
	got, err := io.Copy(w, in)
	if err != nil {
		return err
	}
	if got != st.Size() {
		return fmt.Errorf("%s changed while it was read", name)
	}
	return nil
}

// readStream unpacks a snapshot stream into dir, refusing anything but
// the layout above: bad magic, names out of order or not of an export,
// lengths past the end, trailing bytes.
func readStream(stream, dir string) error {
	f, err := os.Open(stream)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return errors.New("snapshot stream: bad magic")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	prev := ""
	for {
		var nl [2]byte
		if _, err := io.ReadFull(br, nl[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("snapshot stream: %w", err)
		}
		n := binary.BigEndian.Uint16(nl[:])
		if n == 0 || n > 64 {
			return fmt.Errorf("snapshot stream: name length %d", n)
		}
		name := make([]byte, n)
		var ln [8]byte
		if _, err := io.ReadFull(br, name); err != nil {
			return fmt.Errorf("snapshot stream: %w", err)
		}
		if _, err := io.ReadFull(br, ln[:]); err != nil {
			return fmt.Errorf("snapshot stream: %w", err)
		}
		if !exportNameRe.Match(name) || string(name) <= prev {
			return fmt.Errorf("snapshot stream: entry %q is not an export file in order", name)
		}
		prev = string(name)
		out, err := os.Create(filepath.Join(dir, string(name)))
		if err != nil {
			return err
		}
		size := int64(binary.BigEndian.Uint64(ln[:]))
		got, err := io.CopyN(out, br, size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil || got != size {
			return fmt.Errorf("snapshot stream: entry %s: %d of %d bytes: %v", name, got, size, err)
		}
	}
}

// restoreState is a state sync in progress.
type restoreState struct {
	info    *snapInfo
	appHash string // hex: the light client's, the only trusted input
	dir     string
	f       *os.File
	have    []bool
	left    int
	bad     []int
}

func (r *restoreState) cleanup() {
	if r.f != nil {
		r.f.Close()
	}
	os.RemoveAll(r.dir)
}

func (a *App) restoreDir() string {
	return filepath.Join(a.snaps.opts.Dir, "restore")
}

// ListSnapshots lists the snapshots this node serves, newest first (at most 10).
func (a *App) ListSnapshots(_ context.Context, _ *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := &abci.ResponseListSnapshots{}
	for i := len(a.snaps.snaps) - 1; i >= 0 && len(resp.Snapshots) < 10; i-- {
		resp.Snapshots = append(resp.Snapshots, a.snaps.snaps[i].abci())
	}
	return resp, nil
}

// LoadSnapshotChunk serves one chunk (empty if this node has no such chunk).
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if req.Format != SnapshotFormat {
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	c, err := a.snaps.chunk(req.Height, req.Chunk)
	if err != nil {
		a.log.Error("snapshot chunk", "height", req.Height, "chunk", req.Chunk, "err", err)
		return &abci.ResponseLoadSnapshotChunk{}, nil
	}
	return &abci.ResponseLoadSnapshotChunk{Chunk: c}, nil
}

// OfferSnapshot accepts a snapshot of format 1 whose metadata is
// consistent, for a node that has committed nothing; appHash (verified by
// the light client) is what the restored state must give.
func (a *App) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	result := func(r abci.ResponseOfferSnapshot_Result) (*abci.ResponseOfferSnapshot, error) {
		return &abci.ResponseOfferSnapshot{Result: r}, nil
	}
	if a.height != 0 {
		a.log.Error("snapshot offered to a node that has state", "height", a.height)
		return result(abci.ResponseOfferSnapshot_ABORT)
	}
	s := req.Snapshot
	if s == nil {
		return result(abci.ResponseOfferSnapshot_REJECT)
	}
	if s.Format != SnapshotFormat {
		return result(abci.ResponseOfferSnapshot_REJECT_FORMAT)
	}
	info, err := parseSnapMeta(s.Height, s.Metadata)
	if err != nil || !bytes.Equal(info.hash, s.Hash) || uint32(len(info.meta.ChunkHashes)) != s.Chunks ||
		s.Height == 0 || len(req.AppHash) != sha256.Size {
		a.log.Info("snapshot refused", "height", s.Height, "err", err)
		return result(abci.ResponseOfferSnapshot_REJECT)
	}
	if a.restore != nil {
		a.restore.cleanup()
		a.restore = nil
	}
	r := &restoreState{info: info, appHash: hex.EncodeToString(req.AppHash), dir: a.restoreDir(),
		have: make([]bool, s.Chunks), left: int(s.Chunks), bad: make([]int, s.Chunks)}
	if err := os.RemoveAll(r.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	if r.f, err = os.Create(filepath.Join(r.dir, "stream")); err != nil {
		return nil, err
	}
	a.restore = r
	a.log.Info("restoring snapshot", "height", s.Height, "chunks", s.Chunks, "app_hash", r.appHash)
	return result(abci.ResponseOfferSnapshot_ACCEPT)
}

// ApplySnapshotChunk checks a chunk against the metadata (a bad chunk is
// fetched again, from another sender); after the last one the kernel
// imports the export, verified against the trusted app hash before
// anything is written.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	result := func(res abci.ResponseApplySnapshotChunk_Result) (*abci.ResponseApplySnapshotChunk, error) {
		if res == abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT || res == abci.ResponseApplySnapshotChunk_ABORT {
			if a.restore != nil {
				a.restore.cleanup()
				a.restore = nil
			}
		}
		return &abci.ResponseApplySnapshotChunk{Result: res}, nil
	}
	r := a.restore
	if r == nil {
		return result(abci.ResponseApplySnapshotChunk_ABORT)
	}
	i := int(req.Index)
	if i >= len(r.have) {
		return result(abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT)
	}
	m := r.info.meta
	want := min(m.ChunkSize, m.Size-uint64(i)*m.ChunkSize)
	sum := sha256.Sum256(req.Chunk)
	if uint64(len(req.Chunk)) != want || hex.EncodeToString(sum[:]) != m.ChunkHashes[i] {
		r.bad[i]++
		a.metrics.badChunk()
		a.log.Info("snapshot chunk refused", "height", r.info.height, "chunk", i, "sender", req.Sender)
		if r.bad[i] > maxChunkRetries {
			return result(abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT)
		}
		resp := &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			resp.RejectSenders = []string{req.Sender}
		}
		return resp, nil
	}
	if _, err := r.f.WriteAt(req.Chunk, int64(uint64(i)*m.ChunkSize)); err != nil {
		return nil, err
	}
	if !r.have[i] {
		r.have[i] = true
		r.left--
	}
	if r.left > 0 {
		return result(abci.ResponseApplySnapshotChunk_ACCEPT)
	}
	return result(a.finishRestore(r))
}

// finishRestore unpacks the stream and imports it into the empty kernel.
func (a *App) finishRestore(r *restoreState) abci.ResponseApplySnapshotChunk_Result {
	if err := r.f.Close(); err != nil {
		a.log.Error("snapshot stream", "err", err)
		return abci.ResponseApplySnapshotChunk_ABORT
	}
	r.f = nil
	exp := filepath.Join(r.dir, "export")
	if err := readStream(filepath.Join(r.dir, "stream"), exp); err != nil {
		a.log.Info("snapshot refused", "height", r.info.height, "err", err)
		return abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT
	}
	if a.inited {
		if err := a.resetKernel(); err != nil {
			a.log.Error("reset before import", "err", err)
			return abci.ResponseApplySnapshotChunk_ABORT
		}
	}
	if _, err := a.k.Import(exp, r.info.height, r.appHash); err != nil {
		a.log.Info("snapshot import refused", "height", r.info.height, "err", err)
		if errors.Is(err, swing.ErrCorrupt) || errors.Is(err, swing.ErrInvalid) {
			return abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT
		}
		return abci.ResponseApplySnapshotChunk_ABORT
	}
	a.height, a.hash, a.inited, a.pending = r.info.height, r.appHash, false, nil
	if err := a.refreshView(); err != nil {
		a.log.Error("after import", "err", err)
		return abci.ResponseApplySnapshotChunk_ABORT
	}
	r.cleanup()
	a.restore = nil
	a.log.Info("snapshot restored", "height", a.height, "app_hash", a.hash)
	return abci.ResponseApplySnapshotChunk_ACCEPT
}
