// Command swingd is a swing chain node: CometBFT v0.38 with the libswing
// kernel as its ABCI application, in one process (chain/README.md).
//
//	swingd init     --home DIR --config CHAIN.json [--chain-id ID]
//	swingd start    --home DIR [--log-level error|info|debug]
//	swingd testnet  --o DIR --config CHAIN.json [--v 4] [--n 0] [--base-port P]
//	                [--snapshot-interval N] [--chunk-size B] [--timeout-commit D]
//	swingd statesync --home DIR --rpc URL,URL --trust-height H --trust-hash HEX
//	swingd version
//
// CHAIN.json is a simchain chain config (examples/chain/chain.json): the
// kernel's genesis config, its bundle files, compute limit and clean-up
// budget become the genesis app_state.
package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/version"

	"libswing/chain/app"
	"libswing/chain/node"
	swing "libswing/go-bindings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "swingd:", err)
		os.Exit(1)
	}
}

const usage = `usage: swingd init|start|testnet|statesync|version [flags] (swingd <command> -h for its flags)`

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "init":
		return cmdInit(args)
	case "start":
		return cmdStart(args)
	case "testnet":
		return cmdTestnet(args)
	case "statesync":
		return cmdStateSync(args)
	case "version":
		fmt.Printf("swingd: libswing %s (ABI %d), CometBFT %s, ABCI %s\n", swing.LibraryVersion(),
			swing.LibraryABIVersion(), version.TMCoreSemVer, version.ABCIVersion)
		return nil
	default:
		return errors.New(usage)
	}
}

// appState reads a chain config (and its bundles) into a genesis app_state,
// with a compute limit from the command line when given (>= 0).
func appState(config string, computeLimit int64) ([]byte, error) {
	return appStateWith(config, computeLimit, 0)
}

// appStateWith is appState with max_pending_inbound set (0: the default).
func appStateWith(config string, computeLimit int64, maxPending uint64) ([]byte, error) {
	if config == "" {
		return nil, errors.New("--config CHAIN.json is required")
	}
	st, err := app.AppStateFromSimConfig(config)
	if err != nil {
		return nil, err
	}
	if computeLimit >= 0 {
		st.Params.ComputeLimit = uint64(computeLimit)
	}
	if maxPending > 0 {
		st.Params.MaxPendingInbound = maxPending
	}
	return st.Marshal()
}

func cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	home := fs.String("home", "", "node home directory (created)")
	config := fs.String("config", "", "chain config (simchain format)")
	chainID := fs.String("chain-id", "swing-1", "chain ID")
	compute := fs.Int64("compute-limit", -1, "computrons per block (default: the config's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *home == "" {
		return errors.New("init: --home is required")
	}
	if _, err := os.Stat(*home); err == nil {
		return fmt.Errorf("init: %s exists", *home)
	}
	st, err := appState(*config, *compute)
	if err != nil {
		return err
	}
	nodes, err := node.Testnet(node.TestnetOptions{Homes: []string{*home}, Validators: 1, AppState: st,
		ChainID: *chainID, BasePort: 26656, TimeoutPropose: 3 * time.Second, TimeoutCommit: time.Second,
		App: node.AppConfig{SnapshotInterval: 100}})
	if err != nil {
		return err
	}
	fmt.Printf("initialized %s: one validator, p2p %s, RPC %s\n", *home, nodes[0].P2P, nodes[0].RPC)
	return nil
}

func cmdTestnet(args []string) error {
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	out := fs.String("o", "", "output directory: node homes <o>/node0, <o>/node1, ...")
	config := fs.String("config", "", "chain config (simchain format)")
	v := fs.Int("v", 4, "validators")
	n := fs.Int("n", 0, "non-validators (e.g. to join later by state sync)")
	base := fs.Int("base-port", 0, "node i: p2p on base+10i, RPC on base+10i+1 (0: free ports)")
	chainID := fs.String("chain-id", "swing-localnet", "chain ID")
	interval := fs.Uint64("snapshot-interval", 10, "a snapshot every this many heights (0: none)")
	chunk := fs.Int("chunk-size", 0, "snapshot chunk bytes (0: 4 MiB)")
	propose := fs.Duration("timeout-propose", 500*time.Millisecond, "consensus timeout_propose")
	commit := fs.Duration("timeout-commit", 200*time.Millisecond, "consensus timeout_commit (about the block time)")
	compute := fs.Int64("compute-limit", -1, "computrons per block (default: the config's)")
	noSync := fs.Bool("no-sync", false, "kernel commits without fsync (throwaway networks only)")
	maxPending := fs.Uint64("max-pending", 0, "the chain's max_pending_inbound (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("testnet: --o is required")
	}
	st, err := appStateWith(*config, *compute, *maxPending)
	if err != nil {
		return err
	}
	nodes, err := node.Testnet(node.TestnetOptions{Dir: *out, Validators: *v, NonValidators: *n, AppState: st,
		ChainID: *chainID, BasePort: *base, TimeoutPropose: *propose, TimeoutCommit: *commit,
		App: node.AppConfig{SnapshotInterval: *interval, SnapshotChunkSize: *chunk, NoSync: *noSync}})
	if err != nil {
		return err
	}
	for _, a := range nodes {
		kind := "validator"
		if !a.Validator {
			kind = "full node"
		}
		fmt.Printf("%s  %-9s  p2p %s  rpc %s  id %s\n", a.Home, kind, a.P2P, a.RPC, a.ID)
	}
	return nil
}

func cmdStateSync(args []string) error {
	fs := flag.NewFlagSet("statesync", flag.ContinueOnError)
	home := fs.String("home", "", "node home (not started yet)")
	rpc := fs.String("rpc", "", "two or more RPC servers, comma-separated (tcp://host:port)")
	th := fs.Int64("trust-height", 0, "a height the light client trusts")
	hash := fs.String("trust-hash", "", "the block ID hash at that height (hex)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := hex.DecodeString(*hash)
	if err != nil || len(h) != 32 {
		return errors.New("statesync: --trust-hash must be 64 hex digits")
	}
	return node.EnableStateSync(*home, strings.Split(*rpc, ","), *th, h)
}

func cmdStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	home := fs.String("home", "", "node home directory")
	level := fs.String("log-level", "info", "error, info or debug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *home == "" {
		return errors.New("start: --home is required")
	}
	allow, err := log.AllowLevel(*level)
	if err != nil {
		return err
	}
	logger := log.NewFilter(log.NewTMLogger(log.NewSyncWriter(os.Stdout)), allow)
	n, err := node.Start(*home, logger)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		logger.Info("stopping", "signal", s.String())
	case <-n.CMT.Quit():
	}
	return n.Stop()
}
