package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pb "libswing/go-bindings/swingpb"
)

// Metrics are the node's kernel metrics (Prometheus, namespace "swing"),
// in a registry of their own. They are local observations, never consensus
// data: the block timings are wall-clock time. A nil *Metrics records nothing.
type Metrics struct {
	Registry *prometheus.Registry

	height         prometheus.Gauge
	cranks         prometheus.Counter
	computrons     prometheus.Counter
	blockCranks    prometheus.Gauge
	blockComputron prometheus.Gauge
	workLeft       prometheus.Gauge
	gcKrefsLeft    prometheus.Gauge
	dirtyVats      prometheus.Gauge
	terminatedVats prometheus.Gauge
	runQueue       prometheus.Gauge
	pendingInbound prometheus.Gauge
	exportEntries  prometheus.Counter
	txs            *prometheus.CounterVec
	checkTxs       *prometheus.CounterVec
	badChunks      prometheus.Counter
	blockSeconds   prometheus.Histogram
	kernelSeconds  prometheus.Histogram
}

// NewMetrics makes the metrics and their registry.
func NewMetrics() *Metrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "swing", Name: name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "swing", Name: name, Help: help})
	}
	buckets := prometheus.ExponentialBuckets(0.001, 2, 14) // 1 ms .. 8 s
	m := &Metrics{
		Registry:       prometheus.NewRegistry(),
		height:         g("height", "Committed height."),
		cranks:         c("cranks_total", "Kernel cranks, normal work and clean-up."),
		computrons:     c("computrons_total", "Computrons of normal work."),
		blockCranks:    g("block_cranks", "Cranks of the last committed block."),
		blockComputron: g("block_computrons", "Computrons of the last committed block's normal work."),
		workLeft:       g("work_left", "1 if the last block's compute budget ran out with work queued."),
		gcKrefsLeft:    g("gc_krefs_left", "GC work left: maybe-free entries and GC actions waiting."),
		dirtyVats:      g("dirty_vats", "Vats on the dirty list."),
		terminatedVats: g("terminated_vats_left", "Terminated vats not yet deleted."),
		runQueue:       g("run_queue", "Run-queue length after the last commit."),
		pendingInbound: g("pending_inbound", "Inbound actions held by the kernel after the last commit."),
		exportEntries:  c("export_data_entries_total", "Export-data entries committed."),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "swing", Name: "txs_total",
			Help: "Transactions of finalized blocks, by outcome."}, []string{"outcome"}),
		checkTxs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "swing", Name: "checktx_total",
			Help: "CheckTx answers, by result."}, []string{"result"}),
		badChunks: c("snapshot_bad_chunks_total", "Snapshot chunks refused while restoring."),
		blockSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "swing", Name: "block_seconds",
			Help: "Wall time from FinalizeBlock's start to Commit's end.", Buckets: buckets}),
		kernelSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "swing", Name: "kernel_seconds",
			Help: "Wall time spent in the kernel per block (FinalizeBlock and Commit).", Buckets: buckets}),
	}
	m.Registry.MustRegister(m.height, m.cranks, m.computrons, m.blockCranks, m.blockComputron, m.workLeft,
		m.gcKrefsLeft, m.dirtyVats, m.terminatedVats, m.runQueue, m.pendingInbound, m.exportEntries,
		m.txs, m.checkTxs, m.badChunks, m.blockSeconds, m.kernelSeconds)
	return m
}

func (m *Metrics) observeStats(st *pb.Stats) {
	if m == nil {
		return
	}
	m.height.Set(float64(st.CommittedHeight))
	m.runQueue.Set(float64(st.RunQueue))
	m.pendingInbound.Set(float64(st.PendingInbound))
}

func (m *Metrics) observeCommit(p *finalized, exportEntries int) {
	if m == nil {
		return
	}
	e := p.end
	m.cranks.Add(float64(e.Cranks))
	m.computrons.Add(float64(e.Computrons))
	m.blockCranks.Set(float64(e.Cranks))
	m.blockComputron.Set(float64(e.Computrons))
	left := 0.0
	if e.WorkLeft {
		left = 1
	}
	m.workLeft.Set(left)
	m.gcKrefsLeft.Set(float64(e.GetCleanup().GetGcKrefsLeft()))
	m.dirtyVats.Set(float64(e.GetCleanup().GetDirtyVats()))
	m.terminatedVats.Set(float64(e.GetCleanup().GetTerminatedVats()))
	m.exportEntries.Add(float64(exportEntries))
	m.blockSeconds.Observe(time.Since(p.started).Seconds())
	m.kernelSeconds.Observe(p.kernel.Seconds())
}

func (m *Metrics) tx(outcome string) {
	if m != nil {
		m.txs.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) checkTx(result string) {
	if m != nil {
		m.checkTxs.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) badChunk() {
	if m != nil {
		m.badChunks.Inc()
	}
}
