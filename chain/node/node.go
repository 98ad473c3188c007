// Package node runs a swing chain node: CometBFT v0.38 in-process with the
// ABCI application of package app over a libswing kernel, from a CometBFT
// home directory (config/config.toml, genesis.json, keys) plus
// config/swing.json, the node's own app settings.
//
//	<home>/config/config.toml     CometBFT's config
//	<home>/config/genesis.json    app_state: the chain's genesis (package app, AppState)
//	<home>/config/swing.json      AppConfig (snapshots, metrics)
//	<home>/data/swing/            the kernel's LevelDB directory
//	<home>/data/swing-snapshots/  snapshots served to peers, and a restore in progress
package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/libs/log"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/viper"

	"libswing/chain/app"
)

// AppConfig is config/swing.json: the node's own settings (not consensus data).
type AppConfig struct {
	SnapshotInterval   uint64 `json:"snapshot_interval"`    // a snapshot every this many heights; 0: none
	SnapshotKeepRecent int    `json:"snapshot_keep_recent"` // snapshots kept (0: 2)
	SnapshotChunkSize  int    `json:"snapshot_chunk_size"`  // bytes (0: app.DefaultChunkSize)
	// MetricsListenAddr serves the kernel's metrics and CometBFT's (when
	// instrumentation.prometheus is on) at /metrics, e.g. "127.0.0.1:26660"; "": none.
	MetricsListenAddr string `json:"metrics_listen_addr"`
	NoSync            bool   `json:"no_sync"` // kernel commits without fsync: tests only
}

// AppConfigFile is where a home keeps its AppConfig.
func AppConfigFile(home string) string { return filepath.Join(home, "config", "swing.json") }

// WriteAppConfig writes config/swing.json.
func WriteAppConfig(home string, c *AppConfig) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(AppConfigFile(home), append(b, '\n'), 0o644)
}

// LoadConfig reads a home's CometBFT config and AppConfig (a missing
// swing.json means the defaults).
func LoadConfig(home string) (*cmtcfg.Config, *AppConfig, error) {
	cfg := cmtcfg.DefaultConfig()
	v := viper.New()
	v.SetConfigFile(filepath.Join(home, "config", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", home, err)
	}
	if err := v.Unmarshal(cfg); err != nil {
		return nil, nil, fmt.Errorf("%s: config.toml: %w", home, err)
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, nil, fmt.Errorf("%s: config.toml: %w", home, err)
	}
	ac := &AppConfig{}
	b, err := os.ReadFile(AppConfigFile(home))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, nil, err
	default:
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(ac); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", AppConfigFile(home), err)
		}
	}
	return cfg, ac, nil
}

// Node is one running node.
type Node struct {
	Home    string
	Config  *cmtcfg.Config
	CMT     *nm.Node
	App     *app.App
	Metrics *app.Metrics
	metrics *http.Server
}

// Start opens the kernel and starts CometBFT on a home directory. CometBFT's
// handshake runs first (Info, then InitChain or the replay of the blocks the
// kernel lacks), unless the node state-syncs.
func Start(home string, logger log.Logger) (*Node, error) {
	cfg, ac, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	for _, f := range []string{cfg.GenesisFile(), cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile()} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s is not a node home (swingd init or testnet): %w", home, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.PrivValidatorStateFile()), 0o700); err != nil {
		return nil, err
	}
	gen, err := types.GenesisDocFromFile(cfg.GenesisFile())
	if err != nil {
		return nil, err
	}
	metrics := app.NewMetrics()
	a, err := app.New(app.Options{
		Dir:     filepath.Join(cfg.DBDir(), "swing"),
		Genesis: gen.AppState,
		NoSync:  ac.NoSync,
		Snapshots: app.SnapshotOptions{Dir: filepath.Join(cfg.DBDir(), "swing-snapshots"),
			Interval: ac.SnapshotInterval, KeepRecent: ac.SnapshotKeepRecent, ChunkSize: ac.SnapshotChunkSize},
		Logger:  logger.With("module", "swing"),
		Metrics: metrics,
	})
	if err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		a.Close()
		return nil, err
	}
	pv := privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	cn, err := nm.NewNode(cfg, pv, nodeKey, proxy.NewLocalClientCreator(a),
		func() (*types.GenesisDoc, error) { return gen, nil }, closeSafeDBProvider,
		nm.DefaultMetricsProvider(cfg.Instrumentation), logger)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", home, err)
	}
	if err := cn.Start(); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: start: %w", home, err)
	}
	n := &Node{Home: home, Config: cfg, CMT: cn, App: a, Metrics: metrics}
	if ac.MetricsListenAddr != "" {
		if err := n.serveMetrics(ac.MetricsListenAddr, cfg.Instrumentation.Prometheus); err != nil {
			n.Stop()
			return nil, err
		}
	}
	return n, nil
}

func (n *Node) serveMetrics(addr string, withCometBFT bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	gs := prometheus.Gatherers{n.Metrics.Registry}
	if withCometBFT {
		gs = append(gs, prometheus.DefaultGatherer)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gs, promhttp.HandlerOpts{}))
	n.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go n.metrics.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Stop
	return nil
}

// Stop stops CometBFT, then closes the kernel (an uncommitted block is dropped).
func (n *Node) Stop() error {
	if n.metrics != nil {
		n.metrics.Close()
	}
	var err error
	if n.CMT.IsRunning() {
		err = n.CMT.Stop()
		n.CMT.Wait()
	}
	if cerr := n.App.Close(); err == nil {
		err = cerr
	}
	return err
}
