// simchain runs a simulated chain over libswing: genesis from a config, one
// block per height with the action script's inbound messages, terminations
// and upgrades, a per-block
// table (or JSON lines). end_block carries the config's compute limit and
// clean-up budget, which -compute-limit and -cleanup-gc, -cleanup-boyds,
// -cleanup-units override (the same rule as `swing run`). With --export-at H
// it exports the state after block H, imports it into a fresh node, runs both
// nodes over the following blocks and fails unless they agree on the activity
// hash at every height. With --chart FILE it draws the per-block work as a PNG.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"image/color"

	"libswing/go-bindings/chart"
	"libswing/go-bindings/sim"
)

type row struct {
	Height      uint64 `json:"height"`
	Replay      bool   `json:"replay,omitempty"`
	Cranks      uint64 `json:"cranks"`
	Computrons  uint64 `json:"computrons"`
	GCKrefs     uint64 `json:"gc_krefs"`
	BOYDs       uint64 `json:"boyds"`
	Results     int    `json:"results"`
	Rejected    int    `json:"rejected"`
	WorkLeft    bool   `json:"work_left"`
	ExportItems int    `json:"export_entries"`
	ExportBytes int    `json:"export_bytes"`
	// the clean-up report: done, then left (the keys `swing run --json` prints)
	CleanupGCKrefs uint64 `json:"cleanup_gc_krefs"`
	CleanupBOYDs   uint64 `json:"cleanup_boyds"`
	CleanupUnits   uint64 `json:"cleanup_units"`
	VatsDeleted    uint64 `json:"vats_deleted"`
	GCKrefsLeft    uint64 `json:"gc_krefs_left"`
	DirtyVats      uint64 `json:"dirty_vats"`
	TerminatedVats uint64 `json:"terminated_vats"`
	CleanupPhase   string `json:"cleanup_phase"`
	ActivityHash   string `json:"activity_hash"`
	SyncedHash     string `json:"synced_hash,omitempty"`
	VatsFailed     uint64 `json:"vats_failed"`
	// the vats terminated in the block (the keys `swing run --json` prints)
	Terminations []sim.Termination `json:"terminations,omitempty"`
	// upgrades finished in the block (done, rolled back) and still queued
	UpgradesOK     uint64        `json:"upgrades_ok"`
	UpgradesFailed uint64        `json:"upgrades_failed"`
	UpgradesLeft   uint64        `json:"upgrades_left"`
	Upgrades       []sim.Upgrade `json:"upgrades,omitempty"`
	// wind-down: vatstore items deleted, vats winding down, items left (a
	// count so far while counting)
	WindDownItems    uint64 `json:"wind_down_items"`
	WindingDown      uint64 `json:"winding_down"`
	WindDownLeft     uint64 `json:"wind_down_left"`
	WindDownCounting bool   `json:"wind_down_counting"`
}

// cleanupFlags are -cleanup-gc, -cleanup-boyds and -cleanup-units: only the
// ones given override the config.
func cleanupFlags() func() sim.CleanupConfig {
	gc := flag.Uint64("cleanup-gc", 0, "clean-up budget: krefs of GC work per block (overrides the config)")
	boyds := flag.Uint64("cleanup-boyds", 0, "clean-up budget: BOYDs of dirty vats per block (overrides the config)")
	units := flag.Uint64("cleanup-units", 0, "clean-up budget: terminated-vat deletion units per block (overrides the config)")
	return func() sim.CleanupConfig {
		var o sim.CleanupConfig
		flag.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "cleanup-gc":
				o.GCKrefs = gc
			case "cleanup-boyds":
				o.BOYDs = boyds
			case "cleanup-units":
				o.TerminatedUnits = units
			}
		})
		return o
	}
}

func main() {
	cfgPath := flag.String("config", "", "chain config (JSON)")
	db := flag.String("db", "", "data directory")
	blocks := flag.Uint64("blocks", 10, "run up to this height")
	actionsPath := flag.String("actions", "", "action script (JSON lines)")
	computeLimit := flag.Uint64("compute-limit", 0, "computrons per block (overrides the config)")
	exportAt := flag.Uint64("export-at", 0, "export after this height, import into a fresh node, compare both")
	asJSON := flag.Bool("json", false, "JSON lines instead of a table")
	noSync := flag.Bool("no-sync", false, "commit without fsync")
	chartPath := flag.String("chart", "", "write a PNG chart of per-block work to this file")
	cleanup := cleanupFlags()
	flag.Parse()
	if *cfgPath == "" || *db == "" {
		fmt.Fprintln(os.Stderr, "usage: simchain --config FILE --db DIR [--blocks N] [--actions FILE] [--compute-limit C] "+
			"[--cleanup-gc N] [--cleanup-boyds N] [--cleanup-units N] [--export-at H] [--json] [--chart FILE]")
		os.Exit(2)
	}
	if err := run(*cfgPath, *db, *blocks, *actionsPath, *computeLimit, cleanup(), *exportAt, *asJSON, *noSync, *chartPath); err != nil {
		fmt.Fprintln(os.Stderr, "simchain:", err)
		os.Exit(1)
	}
}

func run(cfgPath, db string, blocks uint64, actionsPath string, computeLimit uint64, cleanup sim.CleanupConfig,
	exportAt uint64, asJSON, noSync bool, chartPath string) error {
	cfg, err := sim.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	if computeLimit > 0 {
		cfg.ComputeLimit = computeLimit
	}
	cfg.OverrideCleanup(cleanup)
	var actions []sim.Action
	if actionsPath != "" {
		if actions, err = sim.LoadActions(actionsPath); err != nil {
			return err
		}
	}
	node, open, err := sim.OpenNode(db, cfg, noSync)
	if err != nil {
		return err
	}
	defer node.Close()
	start := open.CommittedHeight + 1
	if open.CommittedHeight == 0 {
		if err := node.Genesis(); err != nil {
			return err
		}
	}
	var synced *sim.Node
	defer func() {
		if synced != nil {
			synced.Close()
		}
	}()
	if !asJSON {
		fmt.Printf("%7s %7s %11s %8s %5s %7s %8s %8s %9s %7s %5s %4s %5s %8s  %s\n", "height", "cranks", "computrons", "gc_krefs", "boyds",
			"results", "rejected", "exp_keys", "exp_bytes", "gc_left", "dirty", "term", "upg", "upg_left", "activity hash")
	}
	var rows []row
	for h := start; h <= blocks; h++ {
		res, err := node.RunBlock(h, actions, nil)
		if err != nil {
			return fmt.Errorf("height %d: %w", h, err)
		}
		cl := res.End.GetCleanup()
		r := row{Height: h, Replay: res.Replay, Cranks: res.End.Cranks, Computrons: res.End.Computrons,
			GCKrefs: res.End.GcKrefs, BOYDs: res.End.Boyds, Results: len(res.End.Results), Rejected: len(res.Rejected), WorkLeft: res.End.WorkLeft,
			ExportItems: len(res.Commit.ExportData), ExportBytes: res.ExportBytes(),
			CleanupGCKrefs: cl.GetGcKrefs(), CleanupBOYDs: cl.GetBoyds(), CleanupUnits: res.CleanupUnits(),
			VatsDeleted: cl.GetVatsDeleted(), GCKrefsLeft: cl.GetGcKrefsLeft(), DirtyVats: cl.GetDirtyVats(),
			TerminatedVats: cl.GetTerminatedVats(), CleanupPhase: cl.GetPhase(), ActivityHash: res.Commit.ActivityHash,
			VatsFailed: res.End.GetVatsFailed(), Terminations: res.Terminations(),
			UpgradesLeft: res.End.GetUpgradesLeft(), Upgrades: res.Upgrades(),
			WindDownItems: cl.GetWindDownItems(), WindingDown: cl.GetWindingDown(), WindDownLeft: cl.GetWindDownLeft(),
			WindDownCounting: cl.GetWindDownCounting()}
		r.UpgradesOK, r.UpgradesFailed = res.UpgradesDone()
		if synced != nil {
			sres, err := synced.RunBlock(h, actions, nil)
			if err != nil {
				return fmt.Errorf("synced node, height %d: %w", h, err)
			}
			r.SyncedHash = sres.Commit.ActivityHash
			if r.SyncedHash != r.ActivityHash {
				return fmt.Errorf("height %d: the synced node's activity hash %s differs from %s", h, r.SyncedHash, r.ActivityHash)
			}
		}
		if asJSON {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
		} else {
			fmt.Printf("%7d %7d %11d %8d %5d %7d %8d %8d %9d %7d %5d %4d %5s %8d  %.16s%s%s\n", r.Height, r.Cranks, r.Computrons, r.GCKrefs, r.BOYDs,
				r.Results, r.Rejected, r.ExportItems, r.ExportBytes, r.GCKrefsLeft, r.DirtyVats, r.TerminatedVats,
				fmt.Sprintf("%d/%d", r.UpgradesOK, r.UpgradesFailed), r.UpgradesLeft, r.ActivityHash,
				map[bool]string{true: "  (work left)", false: ""}[r.WorkLeft],
				map[bool]string{true: "  (synced node agrees)", false: ""}[synced != nil])
			for _, t := range r.Terminations {
				fmt.Printf("        vat %s (%s) terminated: %s: %s\n", t.Name, t.ID, t.Kind, t.Reason)
			}
			for _, u := range r.Upgrades {
				if u.OK {
					fmt.Printf("        vat %s (%s) upgraded: incarnation %d (upgrade %d)\n", u.Name, u.ID, u.Incarnation, u.UpgradeID)
				} else {
					fmt.Printf("        vat %s (%s) upgrade %d failed: %s (incarnation %d goes on)\n", u.Name, u.ID, u.UpgradeID,
						u.Reason, u.Incarnation)
				}
			}
		}
		rows = append(rows, r)
		if exportAt > 0 && h == exportAt {
			if synced, err = stateSync(node, db, cfg, noSync, h, r.ActivityHash); err != nil {
				return err
			}
			if !asJSON {
				fmt.Printf("-- exported at %d, imported into %s-synced\n", h, db)
			}
		}
	}
	if chartPath != "" && len(rows) > 0 {
		if err := drawChart(chartPath, cfgPath, rows, actions, cfg.ComputeLimit, exportAt); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		if !asJSON {
			fmt.Printf("-- chart of per-block work: %s\n", chartPath)
		}
	}
	return nil
}

// drawChart plots computrons (with the block budget), cranks, GC krefs and
// export-data entries per block, marking terminations, upgrades, wind-downs and the state sync.
func drawChart(path, cfgPath string, rows []row, actions []sim.Action, budget, exportAt uint64) error {
	series := []chart.Series{
		{Name: "computrons", Limit: budget, Color: color.RGBA{60, 110, 200, 255}},
		{Name: "cranks", Color: color.RGBA{60, 160, 90, 255}},
		{Name: "GC krefs", Color: color.RGBA{150, 80, 170, 255}},
		{Name: "export-data", Color: color.RGBA{200, 120, 40, 255}},
	}
	for _, r := range rows {
		series[0].Values = append(series[0].Values, r.Computrons)
		series[1].Values = append(series[1].Values, r.Cranks)
		series[2].Values = append(series[2].Values, r.GCKrefs)
		series[3].Values = append(series[3].Values, uint64(r.ExportItems))
	}
	var markers []chart.Marker
	for _, a := range actions {
		if a.Type == "terminate" && a.Height > 0 {
			markers = append(markers, chart.Marker{Block: a.Height, Label: a.Vat + " terminated"})
		}
		if a.Type == "upgrade" && a.Height > 0 {
			markers = append(markers, chart.Marker{Block: a.Height, Label: a.Vat + " upgraded"})
		}
		if a.Type == "wind_down" && a.Height > 0 {
			markers = append(markers, chart.Marker{Block: a.Height, Label: a.Vat + " winds down"})
		}
		if a.Type == "upgrade_all" && a.Height > 0 {
			markers = append(markers, chart.Marker{Block: a.Height, Label: "upgrade-all"})
		}
	}
	if exportAt > 0 {
		markers = append(markers, chart.Marker{Block: exportAt, Label: "state sync"})
	}
	return chart.WritePNG(path, chart.Chart{Title: fmt.Sprintf("libswing: per-block work of %s, blocks %d-%d",
		filepath.Base(cfgPath), rows[0].Height, rows[len(rows)-1].Height), First: rows[0].Height,
		Series: series, Markers: markers})
}

// stateSync exports node's committed state and imports it into a fresh node
// beside it, verified against the height and activity hash node committed
// (what a chain has from its block header).
func stateSync(node *sim.Node, db string, cfg *sim.Config, noSync bool, height uint64, activityHash string) (*sim.Node, error) {
	exp := filepath.Clean(db) + "-export"
	dir2 := filepath.Clean(db) + "-synced"
	os.RemoveAll(exp)
	os.RemoveAll(dir2)
	if _, err := node.K.Export(exp, false); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	n2, _, err := sim.OpenNode(dir2, cfg, noSync)
	if err != nil {
		return nil, err
	}
	if _, err := n2.K.Import(exp, height, activityHash); err != nil {
		n2.Close()
		return nil, fmt.Errorf("import: %w", err)
	}
	return n2, nil
}
