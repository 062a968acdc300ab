package meta

import (
	"encoding/json"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/urn"
)

// advance records that n more records of the run are stored, sets the
// cursor, and queues a checkpoint for every CheckpointEvery-th record of the
// run among the count records just stored (urnAt names record i of them),
// and for the last one when last is set.
func (p *provider) advance(n int64, cursor any, urnAt func(i int) (urn.URN, error), count int, last bool) error {
	raw, err := json.Marshal(cursor)
	if err != nil {
		return err
	}
	p.mu.Lock()
	before := p.rec.ProcessedCount
	p.rec.ProcessedCount += n
	p.rec.Cursor = raw
	after := p.rec.ProcessedCount
	p.mu.Unlock()
	every := int64(max(1, p.e.cfg.CheckpointEvery))
	var idx []int
	for k := (before/every + 1) * every; k <= after; k += every {
		idx = append(idx, int(k-before-1))
	}
	if last && count > 0 && (len(idx) == 0 || idx[len(idx)-1] != count-1) {
		idx = append(idx, count-1)
	}
	for _, i := range idx {
		u, err := urnAt(i)
		if err != nil {
			p.log.Warn("record without a valid id: no checkpoint", "index", i, "err", err)
			continue
		}
		if err := p.checkpoint(u, true, ""); err != nil {
			return err
		}
	}
	return nil
}

// setCursor replaces the cursor in memory; the next checkpoint or
// transition persists it.
func (p *provider) setCursor(cursor any) {
	raw, err := json.Marshal(cursor)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.rec.Cursor = raw
	p.mu.Unlock()
}

func (p *provider) setTotal(n int64) {
	p.mu.Lock()
	p.total = n
	p.mu.Unlock()
}

func (p *provider) addFetched(n int) {
	p.mu.Lock()
	p.fetched += int64(n)
	p.mu.Unlock()
}

// position is the part of every cursor that tells progress.
type position struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

func cursorPosition(rec bolt.ProviderRecord) position {
	var pos position
	if len(rec.Cursor) > 0 {
		_ = json.Unmarshal(rec.Cursor, &pos)
	}
	return pos
}

func progressDone(rec bolt.ProviderRecord) int64  { return cursorPosition(rec).Done }
func progressTotal(rec bolt.ProviderRecord) int64 { return cursorPosition(rec).Total }

// addError counts a record the run could not store.
func (p *provider) addError() {
	p.mu.Lock()
	p.rec.ErrorCount++
	p.mu.Unlock()
}
