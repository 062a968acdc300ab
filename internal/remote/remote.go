// Package remote serves the remote process's methods (contract §5
// "remote") over an nvd.Source: NVD's CVE API through nvd.Client, or feed
// files through nvd.Feed when the platform runs air-gapped, and CWE views
// through nvd.Views. Handlers keep each `cve` object as NVD sent it.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
)

// Handlers answers the remote methods. Source is required; Views may be
// zero (RPCFetchViews then answers "view_fetch_url is not configured").
type Handlers struct {
	Source nvd.Source
	Views  nvd.Views
}

// Register adds the remote methods to s.
func (h Handlers) Register(s *service.Service) {
	reg := func(name, params, result, doc string, fn service.Handler) {
		s.Register(service.Method{Name: name, Params: params, Result: result, Doc: doc}, fn)
	}
	reg("RPCGetCVEByID", "{cve_id}", "{vulnerabilities}", "NVD's answer to ?cveId=: [{cve}], empty when NVD has no such CVE.", h.getCVE)
	reg("RPCGetCVECnt", "", "{total_results}", "How many CVEs NVD holds.", h.count)
	reg("RPCFetchCVEs", "{start_index?, results_per_page?, last_mod_start_date?, last_mod_end_date?}",
		"{vulnerabilities, total_results, result_count, start_index}",
		"One whole page (retried until complete). result_count may be below results_per_page while the client has shrunk its page size: advance by result_count. Date ranges over 120 days are refused.", h.fetch)
	reg("RPCFetchViews", "{start_index?, results_per_page?}", "{views}", "CWE view objects from remote.view_fetch_url.", h.views)
}

// emptyList makes an absent vulnerabilities list encode as [].
func vulns(p nvd.Page) []nvd.Vulnerability {
	if p.Vulnerabilities == nil {
		return []nvd.Vulnerability{}
	}
	return p.Vulnerabilities
}

func (h Handlers) getCVE(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		CVEID string `json:"cve_id"`
	}](params)
	if err != nil {
		return nil, err
	}
	id := strings.ToUpper(strings.TrimSpace(p.CVEID))
	if err := service.Required("cve_id", id); err != nil {
		return nil, err
	}
	page, err := h.Source.FetchPage(ctx, nvd.Query{CVEID: id})
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"vulnerabilities": vulns(page)}, nil
}

func (h Handlers) count(ctx context.Context, _ json.RawMessage) (any, error) {
	n, err := h.Source.Count(ctx)
	if err != nil {
		return nil, wireError(err)
	}
	return map[string]any{"total_results": n}, nil
}

type fetchParams struct {
	StartIndex       int    `json:"start_index"`
	ResultsPerPage   int    `json:"results_per_page"`
	LastModStartDate string `json:"last_mod_start_date"`
	LastModEndDate   string `json:"last_mod_end_date"`
}

func (h Handlers) fetch(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[fetchParams](params)
	if err != nil {
		return nil, err
	}
	q := nvd.Query{StartIndex: p.StartIndex, ResultsPerPage: p.ResultsPerPage}
	if q.LastModStart, err = date("last_mod_start_date", p.LastModStartDate); err != nil {
		return nil, err
	}
	if q.LastModEnd, err = date("last_mod_end_date", p.LastModEndDate); err != nil {
		return nil, err
	}
	if q.LastModStart.IsZero() != q.LastModEnd.IsZero() {
		return nil, service.Errorf("last_mod_start_date and last_mod_end_date go together")
	}
	page, err := h.Source.FetchPage(ctx, q)
	if err != nil {
		return nil, wireError(err)
	}
	return fetchAnswer(page)
}

// fetchAnswer writes RPCFetchCVEs's result {result_count, start_index,
// total_results, vulnerabilities: [{cve}]} by hand. A page runs to
// megabytes, and encoding/json would validate and compact every record
// again although the source already did (nvd.Source returns well-formed
// records). A record holding a line break (a source that kept the
// indentation) is compacted, since a message is one line on the wire.
func fetchAnswer(p nvd.Page) (json.RawMessage, error) {
	n := 96
	for _, v := range p.Vulnerabilities {
		n += len(v.CVE) + 10
	}
	b := make([]byte, 0, n)
	b = append(b, `{"result_count":`...)
	b = strconv.AppendInt(b, int64(len(p.Vulnerabilities)), 10)
	b = append(b, `,"start_index":`...)
	b = strconv.AppendInt(b, int64(p.StartIndex), 10)
	b = append(b, `,"total_results":`...)
	b = strconv.AppendInt(b, int64(p.TotalResults), 10)
	b = append(b, `,"vulnerabilities":[`...)
	for i, v := range p.Vulnerabilities {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"cve":`...)
		switch {
		case len(v.CVE) == 0:
			b = append(b, "null"...) // as encoding/json writes an empty RawMessage
		case bytes.IndexByte(v.CVE, '\n') >= 0:
			var c bytes.Buffer
			if err := json.Compact(&c, v.CVE); err != nil {
				return nil, &rpc.Error{Code: rpc.CodeInternal, Message: fmt.Sprintf("RPCFetchCVEs: vulnerabilities[%d]: %v", i, err)}
			}
			b = append(b, c.Bytes()...)
		default:
			b = append(b, v.CVE...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// date reads an ISO-8601 date; without a zone it means UTC, as in NVD.
func date(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := nvd.ParseTime(s)
	if err != nil {
		return time.Time{}, service.Errorf("%s %q is not an ISO-8601 date", field, s)
	}
	return t, nil
}

func (h Handlers) views(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		StartIndex     int `json:"start_index"`
		ResultsPerPage int `json:"results_per_page"`
	}](params)
	if err != nil {
		return nil, err
	}
	views, err := h.Views.Fetch(ctx, p.StartIndex, p.ResultsPerPage)
	if err != nil {
		return nil, wireError(err)
	}
	if views == nil {
		views = []json.RawMessage{}
	}
	return map[string]any{"views": views}, nil
}

// wireError maps nvd errors to the one error type that crosses processes.
func wireError(err error) error {
	code := rpc.CodeInternal
	switch {
	case errors.Is(err, nvd.ErrInvalidQuery), errors.Is(err, nvd.ErrRejected):
		code = rpc.CodeInvalid
	case errors.Is(err, nvd.ErrNotFound):
		code = rpc.CodeNotFound
	case errors.Is(err, nvd.ErrGaveUp), errors.Is(err, nvd.ErrViewsNotConfigured), errors.Is(err, nvd.ErrBadPage):
		code = rpc.CodeUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		code = rpc.CodeTimeout
	}
	return &rpc.Error{Code: code, Message: err.Error()}
}
