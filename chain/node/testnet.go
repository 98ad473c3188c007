package node

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnet "github.com/cometbft/cometbft/libs/net"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"

	"libswing/chain/app"
)

// TestnetOptions describe a network of nodes on one host.
type TestnetOptions struct {
	Dir           string   // node homes go to Dir/node0, Dir/node1, ...
	Homes         []string // or to these (one per node), when given
	Validators    int      // node0 .. node<V-1>: validators of power 10
	NonValidators int      // the next ones: full nodes (e.g. to join later by state sync)
	AppState      []byte   // the genesis app_state (app.AppState)
	ChainID       string   // "" : "swing-localnet"
	Host          string   // "" : 127.0.0.1
	// BasePort: node i listens for p2p on BasePort+10i and RPC on
	// BasePort+10i+1; 0: free ports from the operating system.
	BasePort int
	// Consensus timeouts; 0: 500 ms to propose, 200 ms after a commit.
	TimeoutPropose, TimeoutCommit time.Duration
	App                           AppConfig // every node's swing.json
}

// NodeAddr is where a testnet node listens.
type NodeAddr struct {
	Home      string
	ID        p2p.ID
	P2P, RPC  string // host:port
	Validator bool
}

// RPCURL is the node's RPC endpoint, as CometBFT's clients want it.
func (a NodeAddr) RPCURL() string { return "tcp://" + a.RPC }

// Testnet writes the homes of a network: keys, one genesis, and configs
// with every validator as a persistent peer of every node (no peer
// exchange; duplicate IPs allowed, as on one host).
func Testnet(o TestnetOptions) ([]NodeAddr, error) {
	if o.Validators < 1 {
		return nil, errors.New("testnet: at least one validator")
	}
	if _, err := app.ParseAppState(o.AppState); err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ChainID == "" {
		o.ChainID = "swing-localnet"
	}
	if o.TimeoutPropose == 0 {
		o.TimeoutPropose = 500 * time.Millisecond
	}
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 200 * time.Millisecond
	}
	total := o.Validators + o.NonValidators
	if o.Homes != nil && len(o.Homes) != total {
		return nil, fmt.Errorf("testnet: %d homes for %d nodes", len(o.Homes), total)
	}
	nodes := make([]NodeAddr, total)
	gen := &types.GenesisDoc{
		ChainID:         o.ChainID,
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		AppState:        o.AppState,
	}
	gen.ConsensusParams.Version.App = app.AppVersion
	cfgs := make([]*cmtcfg.Config, total)
	used := map[int]bool{}
	for i := range nodes {
		home := filepath.Join(o.Dir, fmt.Sprintf("node%d", i))
		if o.Homes != nil {
			home = o.Homes[i]
		}
		cfg := cmtcfg.DefaultConfig()
		cfg.SetRoot(home)
		for _, d := range []string{"config", "data"} {
			if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
				return nil, err
			}
		}
		pv := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
		pv.Save()
		key, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
		if err != nil {
			return nil, err
		}
		p2pPort, rpcPort, err := ports(o.BasePort, i, used)
		if err != nil {
			return nil, err
		}
		nodes[i] = NodeAddr{Home: home, ID: key.ID(), Validator: i < o.Validators,
			P2P: fmt.Sprintf("%s:%d", o.Host, p2pPort), RPC: fmt.Sprintf("%s:%d", o.Host, rpcPort)}
		if i < o.Validators {
			pub, err := pv.GetPubKey()
			if err != nil {
				return nil, err
			}
			gen.Validators = append(gen.Validators, types.GenesisValidator{
				Address: pub.Address(), PubKey: pub, Power: 10, Name: fmt.Sprintf("node%d", i)})
		}
		cfgs[i] = cfg
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, err
	}
	var peers []string
	for _, n := range nodes[:o.Validators] {
		peers = append(peers, p2p.IDAddressString(n.ID, n.P2P))
	}
	for i, cfg := range cfgs {
		if err := gen.SaveAs(cfg.GenesisFile()); err != nil {
			return nil, err
		}
		cfg.Moniker = fmt.Sprintf("node%d", i)
		cfg.P2P.ListenAddress = "tcp://" + nodes[i].P2P
		cfg.RPC.ListenAddress = "tcp://" + nodes[i].RPC
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		cfg.P2P.AddrBookStrict = false
		cfg.P2P.AllowDuplicateIP = true
		cfg.P2P.PexReactor = false
		cfg.Consensus.TimeoutPropose = o.TimeoutPropose
		cfg.Consensus.TimeoutCommit = o.TimeoutCommit
		cfg.Instrumentation.Prometheus = false
		cmtcfg.WriteConfigFile(filepath.Join(cfg.RootDir, "config", "config.toml"), cfg)
		if err := WriteAppConfig(cfg.RootDir, &o.App); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// ports gives node i its p2p and RPC ports (free ones, none twice, when base is 0).
func ports(base, i int, used map[int]bool) (int, int, error) {
	if base > 0 {
		return base + 10*i, base + 10*i + 1, nil
	}
	var out [2]int
	for j := range out {
		for tries := 0; ; tries++ {
			p, err := cmtnet.GetFreePort()
			if err != nil {
				return 0, 0, err
			}
			if !used[p] {
				used[p], out[j] = true, p
				break
			}
			if tries > 100 {
				return 0, 0, errors.New("testnet: no free port")
			}
		}
	}
	return out[0], out[1], nil
}

// EnableStateSync rewrites a home's config so that the node, started
// fresh, restores a snapshot: rpcServers (at least two) serve the light
// client, which trusts the block of trustHeight with ID hash trustHash.
func EnableStateSync(home string, rpcServers []string, trustHeight int64, trustHash []byte) error {
	cfg, _, err := LoadConfig(home)
	if err != nil {
		return err
	}
	cfg.StateSync.Enable = true
	cfg.StateSync.RPCServers = rpcServers
	cfg.StateSync.TrustHeight = trustHeight
	cfg.StateSync.TrustHash = hex.EncodeToString(trustHash)
	cfg.StateSync.DiscoveryTime = 5 * time.Second
	if err := cfg.ValidateBasic(); err != nil {
		return err
	}
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	return nil
}
