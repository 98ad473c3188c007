// dbclose.go - the databases CometBFT opens for a node, wrapped so that a
// read after Close finds nothing instead of panicking. CometBFT v0.38's
// per-peer consensus routine (queryMaj23Routine) sleeps between its queries
// without checking that the node stopped, then reads the block store, which
// the node's OnStop has closed by then: goleveldb answers "leveldb: closed"
// and the block store panics on it, taking the whole process down after a
// clean Stop. Reads that finish before Close are unaffected; Close waits for
// them.
package node

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

type closeSafeDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func closeSafeDBProvider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	return &closeSafeDB{DB: db}, nil
}

func (d *closeSafeDB) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(key)
}

func (d *closeSafeDB) Has(key []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(key)
}

func (d *closeSafeDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}
