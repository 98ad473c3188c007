// Command localnet runs a swing chain of separate swingd processes on
// 127.0.0.1 (make localnet): 4 validators, a load generator sending
// transactions through CometBFT's RPC (broadcast_tx_sync) for a bounded
// number of blocks, a fifth node that joins later by state sync, and one
// validator killed with SIGKILL mid-run and restarted. It prints a row per
// block (height, txs, cranks, computrons, app hash, whether all nodes that
// have the height agree) and fails unless every node ends at the same
// height with the same app hash at every height it holds. With --bench it
// measures throughput instead (bench.go).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"libswing/chain/app"
	"libswing/chain/node"
)

type proc struct {
	name   string
	home   string
	rpc    string
	cmd    *exec.Cmd
	client *rpchttp.HTTP
	down   atomic.Bool // killed, not yet restarted (read by the load generator)
}

type run struct {
	swingd string
	dir    string
	procs  []*proc
}

func main() {
	swingd := flag.String("swingd", "build/swingd", "the node binary")
	config := flag.String("config", "examples/chain/chain.json", "chain config (simchain format)")
	dir := flag.String("dir", "", "work directory (default: a new temporary one)")
	blocks := flag.Int64("blocks", 40, "blocks to run under load")
	killAt := flag.Int64("kill-at", 12, "height at which node3 gets SIGKILL (0: never)")
	downFor := flag.Int64("down-for", 6, "blocks node3 stays down")
	joinAt := flag.Int64("join-at", 16, "height at which node4 starts and state-syncs (0: never)")
	rate := flag.Duration("tx-every", 40*time.Millisecond, "the load generator's interval between transactions")
	bench := flag.Bool("bench", false, "benchmark instead (bench.go): 4 validators, no kill or join, a JSON line")
	blockTime := flag.Duration("timeout-commit", 500*time.Millisecond, "--bench: consensus timeout_commit")
	warm := flag.Int64("warm", 3, "--bench: blocks of load before the measured ones")
	senders := flag.Int("senders", 4, "--bench: concurrent senders")
	maxPending := flag.Int("max-pending", 20000, "--bench: the chain's max_pending_inbound")
	alone := flag.Int("alone", 0, "--bench: only the kernel-alone part, blocks of this many transactions")
	flag.Parse()
	if *bench && *alone > 0 {
		tps, err := kernelAlone(*config, *maxPending, *alone, *blocks)
		if err != nil {
			fmt.Fprintln(os.Stderr, "localnet --bench --alone:", err)
			os.Exit(1)
		}
		fmt.Printf("{\"bench\":\"localnet_kernel_alone\",\"txs_per_block\":%d,\"blocks\":%d,\"tps\":%.1f}\n", *alone, *blocks, tps)
		return
	}
	if *bench {
		if err := benchMain(benchOpts{swingd: *swingd, config: *config, blockTime: *blockTime, warm: *warm,
			blocks: *blocks, senders: *senders, maxPending: *maxPending}); err != nil {
			fmt.Fprintln(os.Stderr, "localnet --bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := mainErr(*swingd, *config, *dir, *blocks, *killAt, *downFor, *joinAt, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "localnet:", err)
		os.Exit(1)
	}
}

func mainErr(swingd, config, dir string, blocks, killAt, downFor, joinAt int64, rate time.Duration) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "swing-localnet-")
		if err != nil {
			return err
		}
		dir = d
	}
	abs, err := filepath.Abs(swingd)
	if err != nil {
		return err
	}
	r := &run{swingd: abs, dir: dir}
	defer r.stopAll()
	out, err := exec.Command(abs, "testnet", "--o", dir, "--config", config, "--v", "4", "--n", "1",
		"--snapshot-interval", "10", "--chunk-size", "65536", "--timeout-commit", "300ms").CombinedOutput()
	if err != nil {
		return fmt.Errorf("swingd testnet: %v\n%s", err, out)
	}
	fmt.Printf("localnet in %s (logs: <node>.log)\n%s", dir, out)
	for i := 0; i < 5; i++ {
		p, err := newProc(dir, i)
		if err != nil {
			return err
		}
		r.procs = append(r.procs, p)
	}
	for _, p := range r.procs[:4] {
		if err := r.start(p); err != nil {
			return err
		}
	}
	ctx := context.Background()
	if err := r.waitHeight(ctx, r.procs[0], 1, 60*time.Second); err != nil {
		return err
	}
	var sent, accepted atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go r.load(ctx, rate, stop, done, &sent, &accepted)
	start := time.Now()
	last := int64(0)
	end := blocks
	for last < end {
		h, err := r.height(ctx, r.procs[0])
		if err != nil {
			return err
		}
		for ; last < h-1 && last < end; last++ {
			r.row(ctx, last+1)
		}
		if killAt > 0 && h >= killAt && r.procs[3].cmd != nil && !r.procs[3].down.Load() && h < killAt+downFor {
			fmt.Printf("-- height %d: SIGKILL node3 (pid %d)\n", h, r.procs[3].cmd.Process.Pid)
			r.kill(r.procs[3])
		}
		if r.procs[3].down.Load() && h >= killAt+downFor {
			fmt.Printf("-- height %d: restart node3\n", h)
			if err := r.start(r.procs[3]); err != nil {
				return err
			}
		}
		if joinAt > 0 && h >= joinAt && r.procs[4].cmd == nil {
			if err := r.join(ctx, r.procs[4], h); err != nil {
				return err
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-done
	elapsed := time.Since(start)
	return r.finish(ctx, end, elapsed, sent.Load(), accepted.Load())
}

func newProc(dir string, i int) (*proc, error) {
	home := filepath.Join(dir, "node"+strconv.Itoa(i))
	cfg, _, err := node.LoadConfig(home)
	if err != nil {
		return nil, err
	}
	rpc := cfg.RPC.ListenAddress
	c, err := rpchttp.New(rpc, "/websocket")
	if err != nil {
		return nil, err
	}
	return &proc{name: "node" + strconv.Itoa(i), home: home, rpc: rpc, client: c}, nil
}

func (r *run) start(p *proc) error {
	logf, err := os.OpenFile(filepath.Join(r.dir, p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(r.swingd, "start", "--home", p.home, "--log-level", "info")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func(c *exec.Cmd, f *os.File) { c.Wait(); f.Close() }(p.cmd, logf) //nolint:errcheck // the exit status is the log's
	p.down.Store(false)
	return nil
}

func (r *run) kill(p *proc) {
	p.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // already gone is fine
	p.down.Store(true)
	time.Sleep(200 * time.Millisecond)
}

// stopAll ends every process this run started (SIGTERM, then SIGKILL after 10 s).
func (r *run) stopAll() {
	for i := len(r.procs) - 1; i >= 0; i-- {
		p := r.procs[i]
		if p.cmd == nil || p.cmd.Process == nil || p.down.Load() {
			continue
		}
		p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if p.cmd.Process.Signal(syscall.Signal(0)) != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if p.cmd.Process.Signal(syscall.Signal(0)) == nil {
			p.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck
		}
	}
}

func (r *run) height(ctx context.Context, p *proc) (int64, error) {
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := p.client.Status(c)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

func (r *run) waitHeight(ctx context.Context, p *proc, h int64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		got, err := r.height(ctx, p)
		if err == nil && got >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not reach height %d in %v (at %d, %v); see %s.log", p.name, h, d, got, err, p.name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// load sends counter increments (and now and then ledger receipts) to the
// validators in turn until stop.
func (r *run) load(ctx context.Context, every time.Duration, stop, done chan struct{}, sent, accepted *atomic.Int64) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		tx := &app.Tx{Vat: "counter", Method: "increment", Args: []byte("[1]"), Nonce: strconv.Itoa(i)}
		if i%10 == 9 {
			tx = &app.Tx{Vat: "ledger", Method: "receipts", Args: []byte("[20]"), Nonce: strconv.Itoa(i)}
		}
		b, err := tx.Encode()
		if err != nil {
			continue
		}
		p := r.procs[i%4]
		if p.down.Load() {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := p.client.BroadcastTxSync(c, b)
		cancel()
		sent.Add(1)
		if err == nil && res.Code == app.CodeOK {
			accepted.Add(1)
		}
	}
}

// join points node4 at two validators' RPC, trusting a recent block, and starts it.
func (r *run) join(ctx context.Context, p *proc, h int64) error {
	trust := h - 2
	b, err := r.procs[0].client.Block(ctx, &trust)
	if err != nil {
		return err
	}
	if err := node.EnableStateSync(p.home, []string{r.procs[0].rpc, r.procs[1].rpc}, trust, b.BlockID.Hash); err != nil {
		return err
	}
	fmt.Printf("-- height %d: start node4, state sync (trusting height %d)\n", h, trust)
	return r.start(p)
}

type blockInfo struct {
	txs               int
	cranks, computons string
	hash              []byte
}

func (r *run) results(ctx context.Context, p *proc, h int64) (*ctypes.ResultBlockResults, error) {
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return p.client.BlockResults(c, &h)
}

func info(res *ctypes.ResultBlockResults) blockInfo {
	bi := blockInfo{txs: len(res.TxsResults), hash: res.AppHash}
	for _, e := range res.FinalizeBlockEvents {
		if e.Type != "swing_block" {
			continue
		}
		for _, a := range e.Attributes {
			switch a.Key {
			case "cranks":
				bi.cranks = a.Value
			case "computrons":
				bi.computons = a.Value
			}
		}
	}
	return bi
}

// agree says how many of the running nodes holding height h agree with node0.
func (r *run) agree(ctx context.Context, h int64, want []byte) (agree, have int) {
	for _, p := range r.procs {
		if p.cmd == nil || p.down.Load() {
			continue
		}
		res, err := r.results(ctx, p, h)
		if err != nil {
			continue // not there yet, or before its state-synced base
		}
		have++
		if bytes.Equal(res.AppHash, want) {
			agree++
		}
	}
	return agree, have
}

func (r *run) row(ctx context.Context, h int64) {
	if h == 1 {
		fmt.Printf("%7s %5s %7s %11s  %-16s  %s\n", "height", "txs", "cranks", "computrons", "app hash", "agree")
	}
	res, err := r.results(ctx, r.procs[0], h)
	if err != nil {
		fmt.Printf("%7d  (node0: %v)\n", h, err)
		return
	}
	bi := info(res)
	a, n := r.agree(ctx, h, bi.hash)
	mark := "yes"
	if a != n {
		mark = "NO"
	}
	fmt.Printf("%7d %5d %7s %11s  %X  %s %d/%d\n", h, bi.txs, bi.cranks, bi.computons, bi.hash[:8], mark, a, n)
}

// finish waits for every node to reach the last height, then checks every
// height each node holds against node0.
func (r *run) finish(ctx context.Context, end int64, elapsed time.Duration, sent, accepted int64) error {
	final, err := r.height(ctx, r.procs[0])
	if err != nil {
		return err
	}
	for _, p := range r.procs {
		if p.cmd == nil {
			continue
		}
		if err := r.waitHeight(ctx, p, final, 60*time.Second); err != nil {
			return err
		}
	}
	bad := 0
	for _, p := range r.procs[1:] {
		if p.cmd == nil {
			continue
		}
		checked := 0
		for h := int64(1); h <= final; h++ {
			want, err := r.results(ctx, r.procs[0], h)
			if err != nil {
				return err
			}
			got, err := r.results(ctx, p, h)
			if err != nil {
				continue // below a state-synced node's base
			}
			checked++
			if !bytes.Equal(got.AppHash, want.AppHash) {
				fmt.Printf("%s disagrees at height %d: %X / %X\n", p.name, h, got.AppHash, want.AppHash)
				bad++
			}
		}
		fmt.Printf("%s: %d heights checked against node0\n", p.name, checked)
		if checked == 0 {
			bad++
		}
	}
	res, err := r.results(ctx, r.procs[0], final)
	if err != nil {
		return err
	}
	fmt.Printf("localnet: %d blocks under load in %v (%.2f s a block), %d txs sent, %d admitted; all nodes at height %d, app hash %X\n",
		end, elapsed.Round(time.Millisecond), elapsed.Seconds()/float64(end), sent, accepted, final, res.AppHash)
	if bad > 0 {
		return errors.New("nodes disagree")
	}
	return nil
}
