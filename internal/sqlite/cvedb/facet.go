package cvedb

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/v2e/v2e/internal/cve"
)

// The full-text row of a record holds its descriptions and, after them,
// facet tokens: one per CPE vendor, the best severity and the year of
// publication. A search that combines words with a vendor, severity or
// date filter then intersects them inside FTS5 (walking the shorter
// doclist and skipping through the longer) instead of materialising every
// record that holds a common word.
//
// A facet token starts with facetMark, a control character that the
// tokenizer is told to treat as part of a word (tokenchars) and that is
// replaced by a space in descriptions, so no description word and no word
// of a user's query (cve.FTSQuery splits at it) can ever equal a facet token.
const facetMark = "\x01"

// ftsTokenizer is the cve_fts tokenizer (migration 3).
const ftsTokenizer = `unicode61 remove_diacritics 2 tokenchars '` + facetMark + `'`

func vendorToken(vendor string) string { return facetMark + "v" + hex.EncodeToString([]byte(vendor)) }

func severityToken(sev string) string { return facetMark + "s" + strings.ToLower(sev) }

func yearToken(year int) string { return fmt.Sprintf("%sy%04d", facetMark, year) }

// ftsText is the full-text row of a record (vendors are its distinct CPE
// vendors).
func ftsText(r *cve.Record, vendors []string) string {
	var b strings.Builder
	for i, t := range r.Texts {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.ReplaceAll(t, facetMark, " "))
	}
	for _, v := range vendors {
		b.WriteString(" " + vendorToken(v))
	}
	if best, ok := r.Best(); ok {
		b.WriteString(" " + severityToken(best.Severity))
	}
	b.WriteString(" " + yearToken(r.Published.Year()))
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
		`CREATE VIRTUAL TABLE cve_fts USING fts5 (text, content='', contentless_delete=1, detail=none, tokenize="` + ftsTokenizer + `")`,
		`INSERT INTO cve_fts (rowid, text)
		WITH vk AS MATERIALIZED (SELECT key, group_concat(' ' || char(1) || 'v' || lower(hex(vendor)), '') AS toks FROM cve_vendor GROUP BY key)
		SELECT c.key, ` + ftsFacetsSQL + `
		FROM cve AS c JOIN cve_raw AS r ON r.key = c.key LEFT JOIN vk ON vk.key = c.key`,
	}
}
