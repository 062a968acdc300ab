package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/service"
)

// CVE serves the CVE methods of local over a cve.Store.
type CVE struct{ Store cve.Store }

type cveIDParams struct {
	CVEID string `json:"cve_id"`
}

// Register adds the CVE methods to s.
func (h CVE) Register(s *service.Service) {
	reg := func(name, params, result, doc string, fn service.Handler) {
		s.Register(service.Method{Name: name, Params: params, Result: result, Doc: doc}, fn)
	}
	reg("RPCSaveCVEByID", "{cve}", "{success, cve_id, outcome}", "Store one NVD 2.0 cve object (newer lastModified wins).", h.saveOne)
	reg("RPCSaveCVEs", "{cves:[cve]}", "{saved, updated, unchanged, stale}", "Store a batch in one transaction; all or nothing.", h.saveBatch)
	// A sync sends pages of megabytes: they arrive in reused buffers.
	// saveBatch keeps nothing of them once it returns (Store.Save binds the
	// records inside its transaction and waits for its decoders).
	s.LendParams("RPCSaveCVEs")
	reg("RPCIsCVEStoredByID", "{cve_id}", "{stored, cve_id}", "", h.isStored)
	reg("RPCGetCVEByID", "{cve_id}", "{cve, id}", "The stored cve object, field for field as saved.", h.get)
	reg("RPCDeleteCVEByID", "{cve_id}", "{success, cve_id}", "", h.delete)
	reg("RPCListCVEs", "{offset?, limit?}", "{cves, total, offset, limit}", "Whole records in id order.", h.list)
	reg("RPCCountCVEs", "", "{count}", "", h.count)
	reg("RPCSearchCVEs", "{query?, severity?, cvss_min?, cvss_max?, cwe_id?, vendor?, product?, published_from?, published_to?, modified_from?, modified_to?, status?, kev?, sort?, cursor?, limit?}",
		"{cves:[summary], next_cursor, total}", "Filtered search with stable cursor paging.", h.search)
	reg("RPCGetCVECWEs", "{cve_id}", "{cve_id, cwe_ids}", "The weakness ids of a stored CVE.", h.cwes)
}

func (h CVE) id(params json.RawMessage) (string, error) {
	p, err := service.Decode[cveIDParams](params)
	if err != nil {
		return "", err
	}
	if err := service.Required("cve_id", p.CVEID); err != nil {
		return "", err
	}
	id, err := cve.NormalizeID(p.CVEID)
	return id, wireError(err)
}

func (h CVE) saveOne(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		CVE json.RawMessage `json:"cve"`
	}](params)
	if err != nil {
		return nil, err
	}
	if len(p.CVE) == 0 || string(p.CVE) == "null" {
		return nil, invalidf("cve is required")
	}
	id, outcome, err := h.Store.SaveOne(ctx, p.CVE)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true, "cve_id": id, "outcome": outcome}, nil
}

func (h CVE) saveBatch(ctx context.Context, params json.RawMessage) (any, error) {
	recs, err := batchRecords(params)
	if err != nil {
		return nil, err
	}
	res, err := h.Store.Save(ctx, recs)
	return res, wireError(err)
}

// errOtherSpelling stops batchRecords' scan at a key that encoding/json
// would take for "cves" too.
var errOtherSpelling = errors.New("cves spelt otherwise")

// batchRecords reads RPCSaveCVEs's {cves: [...]}. A batch runs to
// megabytes: the records are found with nvd.ScanObject and nvd.ScanArray
// (one reading, no copy: they stay sub-slices of params) instead of
// encoding/json. Anything else — no "cves" key spelt exactly so, or another
// key that encoding/json would match to it, not an
// array, malformed JSON — goes through service.Decode, which gives the
// same result encoding/json did and an error naming the field.
func batchRecords(params json.RawMessage) ([]json.RawMessage, error) {
	var recs []json.RawMessage
	found := false
	err := nvd.ScanObject(params, func(key, value []byte) error {
		if string(key) != "cves" {
			if bytes.EqualFold(key, []byte("cves")) || bytes.IndexByte(key, '\\') >= 0 {
				// encoding/json matches keys case-insensitively and
				// unescaped ("Cves", "\u0063ves"): let it decide.
				return errOtherSpelling
			}
			return nil
		}
		found, recs = true, make([]json.RawMessage, 0, 256)
		if string(value) == "null" {
			recs = nil
			return nil
		}
		return nvd.ScanArray(value, func(rec []byte) error {
			recs = append(recs, rec)
			return nil
		})
	})
	if err == nil && found {
		return recs, nil
	}
	p, err := service.Decode[struct {
		CVEs []json.RawMessage `json:"cves"`
	}](params)
	return p.CVEs, err
}

func (h CVE) isStored(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.id(params)
	if err != nil {
		return nil, err
	}
	ok, err := h.Store.IsStored(ctx, id)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"stored": ok, "cve_id": id}, nil
}

func (h CVE) get(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.id(params)
	if err != nil {
		return nil, err
	}
	raw, err := h.Store.Get(ctx, id)
	if err != nil {
		return nil, wireError(err)
	}
	return getResult(raw, id), nil
}

// getResult is RPCGetCVEByID's {cve, id}. The stored record is already
// compact JSON, so the answer is put together as bytes: marshalling it in a
// map had encoding/json scan and copy the whole record again (a fifth of
// local's CPU per request under load). A record stored with line breaks (by
// an older version) still goes through encoding/json, which compacts it: a
// payload must not break the message's line.
func getResult(raw json.RawMessage, id string) any {
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		return map[string]any{"cve": raw, "id": id}
	}
	quoted, _ := json.Marshal(id)
	out := make([]byte, 0, len(raw)+len(quoted)+14)
	out = append(out, `{"cve":`...)
	out = append(out, raw...)
	out = append(out, `,"id":`...)
	out = append(out, quoted...)
	return json.RawMessage(append(out, '}'))
}

func (h CVE) delete(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.id(params)
	if err != nil {
		return nil, err
	}
	if err := h.Store.Delete(ctx, id); err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"success": true, "cve_id": id}, nil
}

func (h CVE) list(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := page(params)
	if err != nil {
		return nil, err
	}
	res, err := h.Store.List(ctx, p.Offset, p.Limit)
	return res, wireError(err)
}

func (h CVE) count(ctx context.Context, _ json.RawMessage) (any, error) {
	n, err := h.Store.Count(ctx)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]int{"count": n}, nil
}

func (h CVE) search(ctx context.Context, params json.RawMessage) (any, error) {
	q, err := cve.ParseSearchQuery(params)
	if err != nil {
		return nil, wireError(err)
	}
	res, err := h.Store.Search(ctx, q)
	return res, wireError(err)
}

func (h CVE) cwes(ctx context.Context, params json.RawMessage) (any, error) {
	id, err := h.id(params)
	if err != nil {
		return nil, err
	}
	ids, err := h.Store.CWEs(ctx, id)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"cve_id": id, "cwe_ids": ids}, nil
}

// page decodes and normalizes offset/limit.
func page(params json.RawMessage) (service.Page, error) {
	p, err := service.Decode[service.Page](params)
	if err != nil {
		return p, err
	}
	return p.Normalize()
}
