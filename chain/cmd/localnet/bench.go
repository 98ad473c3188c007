// bench.go - `localnet --bench` (the `localnet` line of make bench): 4
// validator processes on 127.0.0.1 at a fixed block time under a load of
// concurrent senders through broadcast_tx_sync, measured over a window of
// blocks after a warm-up: committed transactions per second, the block
// interval, the kernel's share of it (from the nodes' Prometheus metrics),
// and the same transactions in blocks of the same size fed to the same app
// and kernel directly, without consensus or network ("kernel alone"). One
// JSON line on stdout; progress on stderr.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"libswing/chain/app"
	"libswing/chain/node"
)

type benchOpts struct {
	swingd, config      string
	blockTime           time.Duration
	warm, blocks        int64
	senders, maxPending int
}

type benchResult struct {
	Bench              string  `json:"bench"`
	Validators         int     `json:"validators"`
	TimeoutCommitMs    int64   `json:"timeout_commit_ms"`
	Senders            int     `json:"senders"`
	Blocks             int64   `json:"blocks"`
	Txs                int64   `json:"txs"`
	TPS                float64 `json:"tps"`
	MeanBlockSeconds   float64 `json:"mean_block_seconds"`
	TxsPerBlock        float64 `json:"txs_per_block"`
	KernelShare        float64 `json:"kernel_share"`
	KernelSecondsBlock float64 `json:"kernel_seconds_per_block"`
	KernelAloneTPS     float64 `json:"kernel_alone_tps"`
	RatioVsAlone       float64 `json:"ratio_vs_kernel_alone"`
	Refused            int64   `json:"txs_refused_queue_full"`
	Agree              bool    `json:"agree"`
	Note               string  `json:"note"`
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

func benchMain(o benchOpts) error {
	dir, err := os.MkdirTemp("", "swing-localnet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	abs, err := filepath.Abs(o.swingd)
	if err != nil {
		return err
	}
	r := &run{swingd: abs, dir: dir}
	defer r.stopAll()
	out, err := exec.Command(abs, "testnet", "--o", dir, "--config", o.config, "--v", "4", "--n", "0",
		"--snapshot-interval", "0", "--timeout-commit", o.blockTime.String(),
		"--max-pending", strconv.Itoa(o.maxPending)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("swingd testnet: %v\n%s", err, out)
	}
	metrics := make([]string, 4)
	for i := 0; i < 4; i++ {
		p, err := newProc(dir, i)
		if err != nil {
			return err
		}
		if metrics[i], err = enableMetrics(p.home); err != nil {
			return err
		}
		r.procs = append(r.procs, p)
		if err := r.start(p); err != nil {
			return err
		}
	}
	ctx := context.Background()
	if err := r.waitHeight(ctx, r.procs[0], 2, 60*time.Second); err != nil {
		return err
	}
	var refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < o.senders; g++ {
		wg.Add(1)
		go func(g int) { defer wg.Done(); r.send(ctx, g, stop, &refused) }(g)
	}
	res, err := r.window(ctx, o, metrics)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	res.Refused = refused.Load()
	r.stopAll() // the nodes' idle consensus would share the CPU with the kernel alone
	alone, err := kernelAlone(o.config, o.maxPending, int(res.TxsPerBlock+0.5), o.blocks)
	if err != nil {
		return err
	}
	res.KernelAloneTPS = round(alone, 1)
	if alone > 0 {
		res.RatioVsAlone = round(res.TPS/alone, 3)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	if !res.Agree {
		return fmt.Errorf("nodes disagree")
	}
	return nil
}

func round(x float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// enableMetrics gives a node its own metrics port; returns the /metrics URL.
func enableMetrics(home string) (string, error) {
	_, ac, err := node.LoadConfig(home)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	ac.MetricsListenAddr = addr
	if err := node.WriteAppConfig(home, ac); err != nil {
		return "", err
	}
	return "http://" + addr + "/metrics", nil
}

// benchTx is the load's transaction number i of sender g: counter
// increments, every tenth a ledger receipts(20), as make localnet sends.
func benchTx(g, i int) ([]byte, error) {
	nonce := strconv.Itoa(g) + "." + strconv.Itoa(i)
	tx := &app.Tx{Vat: "counter", Method: "increment", Args: []byte("[1]"), Nonce: nonce}
	if i%10 == 9 {
		tx = &app.Tx{Vat: "ledger", Method: "receipts", Args: []byte("[20]"), Nonce: nonce}
	}
	return tx.Encode()
}

// send is one sender: back to back to validator g%4, pausing a little
// when the mempool's admission refuses (queue full).
func (r *run) send(ctx context.Context, g int, stop chan struct{}, refused *atomic.Int64) {
	p := r.procs[g%4]
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		b, err := benchTx(g, i)
		if err != nil {
			return
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := p.client.BroadcastTxSync(c, b)
		cancel()
		if err != nil || res.Code != app.CodeOK {
			if err == nil && res.Code == app.CodeQueueFull {
				refused.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// window measures the blocks (h0, h0+blocks] after o.warm blocks of load.
func (r *run) window(ctx context.Context, o benchOpts, metrics []string) (*benchResult, error) {
	h, err := r.height(ctx, r.procs[0])
	if err != nil {
		return nil, err
	}
	h0 := h + o.warm
	if err := r.waitHeight(ctx, r.procs[0], h0, 120*time.Second); err != nil {
		return nil, err
	}
	k0, err := scrape(metrics[0], "swing_kernel_seconds_sum")
	if err != nil {
		return nil, err
	}
	h1 := h0 + o.blocks
	logf("localnet bench: warm-up to height %d, measuring to %d", h0, h1)
	if err := r.waitHeight(ctx, r.procs[0], h1, 300*time.Second); err != nil {
		return nil, err
	}
	k1, err := scrape(metrics[0], "swing_kernel_seconds_sum")
	if err != nil {
		return nil, err
	}
	t0, err := r.blockTime(ctx, h0)
	if err != nil {
		return nil, err
	}
	t1, err := r.blockTime(ctx, h1)
	if err != nil {
		return nil, err
	}
	var txs int64
	for x := h0 + 1; x <= h1; x++ {
		res, err := r.results(ctx, r.procs[0], x)
		if err != nil {
			return nil, err
		}
		txs += int64(len(res.TxsResults))
	}
	span := t1.Sub(t0).Seconds()
	res := &benchResult{Bench: "localnet", Validators: 4, TimeoutCommitMs: o.blockTime.Milliseconds(),
		Senders: o.senders, Blocks: o.blocks, Txs: txs, TPS: round(float64(txs)/span, 1),
		MeanBlockSeconds: round(span/float64(o.blocks), 3), TxsPerBlock: round(float64(txs)/float64(o.blocks), 1),
		KernelShare: round((k1-k0)/span, 3), KernelSecondsBlock: round((k1-k0)/float64(o.blocks), 4),
		Note: "tps over header times of the window; kernel_share: node0's time in FinalizeBlock and Commit " +
			"over the block interval; kernel alone: the same app and kernel fed blocks of the same size directly"}
	res.Agree, err = r.agreeAt(ctx, h1)
	return res, err
}

func (r *run) blockTime(ctx context.Context, h int64) (time.Time, error) {
	b, err := r.procs[0].client.Block(ctx, &h)
	if err != nil {
		return time.Time{}, err
	}
	return b.Block.Time, nil
}

// agreeAt: every validator has height h with node0's app hash.
func (r *run) agreeAt(ctx context.Context, h int64) (bool, error) {
	want, err := r.results(ctx, r.procs[0], h)
	if err != nil {
		return false, err
	}
	for _, p := range r.procs[1:] {
		if err := r.waitHeight(ctx, p, h, 60*time.Second); err != nil {
			return false, err
		}
		got, err := r.results(ctx, p, h)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(got.AppHash, want.AppHash) {
			return false, nil
		}
	}
	return true, nil
}

// scrape reads one metric's value from a Prometheus text page.
func scrape(url, name string) (float64, error) {
	resp, err := http.Get(url) //nolint:gosec // a loopback URL we made
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", url, name)
}

// kernelAlone feeds blocks of perBlock transactions (the same mix) to the
// app over a fresh kernel, committing each (synced, as the nodes do), and
// returns transactions per second over them.
func kernelAlone(config string, maxPending, perBlock int, blocks int64) (float64, error) {
	if perBlock < 1 {
		perBlock = 1
	}
	st, err := app.AppStateFromSimConfig(config)
	if err != nil {
		return 0, err
	}
	st.Params.MaxPendingInbound = uint64(maxPending)
	genesis, err := st.Marshal()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "swing-kernel-alone-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	a, err := app.New(app.Options{Dir: dir, Genesis: genesis})
	if err != nil {
		return 0, err
	}
	defer a.Close()
	ctx := context.Background()
	t := time.Unix(1700000000, 0)
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: "alone", AppStateBytes: genesis,
		InitialHeight: 1, Time: t}); err != nil {
		return 0, err
	}
	var start time.Time
	n := 0
	for h := int64(1); h <= blocks+1; h++ {
		if h == 2 {
			start = time.Now() // block 1 is the bootstrap block
		}
		var txs [][]byte
		for i := 0; h > 1 && i < perBlock; i++ {
			b, err := benchTx(int(h), i)
			if err != nil {
				return 0, err
			}
			txs = append(txs, b)
		}
		n += len(txs)
		if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: t.Add(time.Duration(h) * time.Second),
			Txs: txs}); err != nil {
			return 0, err
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
