package cvedb

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/v2e/v2e/internal/cve"
)

// The full-text row of a record holds its descriptions and, after them,
// facet tokens: one per CWE id, CPE vendor, CPE product and vendor/product
// pair, the best severity and the year and month of publication. The CWE, vendor and
// product filters of a search are facet tokens of its full-text query
// (since migration 6 there are no link tables): a search that combines
// them, or them with words, intersects them inside FTS5 (walking the
// shorter doclist and skipping through the longer), and a sync writes
// them into FTS5's append-only segments instead of into B-tree leaves
// scattered over three link tables.
//
// A facet token starts with facetMark, a control character that the
// tokenizer is told to treat as part of a word (tokenchars) and that is
// replaced by a space in descriptions, so no description word and no word
// of a user's query (cve.FTSQuery splits at it) can ever equal a facet token.
const facetMark = "\x01"

// ftsTokenizer is the cve_fts tokenizer (migration 3).
const ftsTokenizer = `unicode61 remove_diacritics 2 tokenchars '` + facetMark + `'`

// createFTS creates cve_fts as migrations 3 and 6 do.
const createFTS = `CREATE VIRTUAL TABLE cve_fts USING fts5 (text, content='', contentless_delete=1, detail=none, tokenize="` + ftsTokenizer + `")`

// Vendors, products and CWE ids are hex-encoded in their tokens: the
// tokenizer would split them at punctuation and fold their case.
func vendorToken(vendor string) string { return facetMark + "v" + hex.EncodeToString([]byte(vendor)) }

func productToken(product string) string {
	return facetMark + "p" + hex.EncodeToString([]byte(product))
}

// pairToken is the token of a vendor/product pair; "x" is no hex digit.
func pairToken(vendor, product string) string {
	return facetMark + "q" + hex.EncodeToString([]byte(vendor)) + "x" + hex.EncodeToString([]byte(product))
}

func cweToken(cwe string) string { return facetMark + "c" + hex.EncodeToString([]byte(cwe)) }

func severityToken(sev string) string { return facetMark + "s" + strings.ToLower(sev) }

func yearToken(year int) string { return fmt.Sprintf("%sy%04d", facetMark, year) }

// monthToken is the token of a month of publication, numbered from year 0
// (year*12 + month-1), since migration 6.
func monthToken(month int) string { return fmt.Sprintf("%sm%04d%02d", facetMark, month/12, month%12+1) }

// monthOf numbers the UTC month of unix microseconds t as monthToken does.
func monthOf(t int64) int {
	u := time.UnixMicro(t).UTC()
	return u.Year()*12 + int(u.Month()) - 1
}

// ftsText is the full-text row of a record (pairs are its distinct CPE
// vendor/product pairs, vendorProducts).
func ftsText(r *cve.Record, pairs [][2]string) string {
	var b strings.Builder
	for i, t := range r.Texts {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.ReplaceAll(t, facetMark, " "))
	}
	for _, c := range r.CWEs {
		b.WriteString(" " + cweToken(c))
	}
	var products []string
	for _, vp := range pairs {
		b.WriteString(" " + pairToken(vp[0], vp[1]))
		if !slices.Contains(products, vp[1]) {
			products = append(products, vp[1])
			b.WriteString(" " + productToken(vp[1]))
		}
	}
	for _, v := range vendors(pairs) {
		b.WriteString(" " + vendorToken(v))
	}
	if best, ok := r.Best(); ok {
		b.WriteString(" " + severityToken(best.Severity))
	}
	b.WriteString(" " + yearToken(r.Published.Year()))
	b.WriteString(" " + monthToken(monthOf(r.Published.UnixMicro())))
	return b.String()
}

// ftsFacetsSQL is ftsText in SQL over the stored rows (c is cve, r is
// cve_raw, vk.toks the vendor tokens of c), for the migration that adds facets.
const ftsFacetsSQL = `coalesce((SELECT group_concat(replace(d.value ->> '$.value', char(1), ' '), char(10))
		FROM json_each(CAST(r.raw AS TEXT), '$.descriptions') AS d), '')
	|| coalesce(vk.toks, '')
	|| CASE WHEN c.best_severity != '' THEN ' ' || char(1) || 's' || lower(c.best_severity) ELSE '' END
	|| ' ' || char(1) || 'y' || strftime('%Y', (c.published - (c.published % 1000000 + 1000000) % 1000000) / 1000000, 'unixepoch')`

// migrate3Stmts are the statements of migrate3: they rebuild cve_fts with
// the facet tokens (see facetMark).
func migrate3Stmts() []string {
	return []string{
		`DROP TABLE cve_fts`,
		createFTS,
		`INSERT INTO cve_fts (rowid, text)
		WITH vk AS MATERIALIZED (SELECT key, group_concat(' ' || char(1) || 'v' || lower(hex(vendor)), '') AS toks FROM cve_vendor GROUP BY key)
		SELECT c.key, ` + ftsFacetsSQL + `
		FROM cve AS c JOIN cve_raw AS r ON r.key = c.key LEFT JOIN vk ON vk.key = c.key`,
	}
}
