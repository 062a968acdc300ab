// Package cvedb stores NVD CVE records in SQLite (internal/sqlite: WAL, one
// writer connection, a pool of readers) and implements cve.Store.
//
// Each record is kept whole, compacted, in cve_raw, beside a row of indexed
// columns in cve (dates, status, per-version and best CVSS score and
// severity, CWE ids, KEV fields, English description) and the contentless
// FTS5 table cve_fts over all descriptions and the facet tokens of its CWE
// ids, CPE vendors and products, severity and year (facet.go), through
// which the CWE, vendor and product filters search. Every table is keyed by
// cve.IDKey, so an id is found without a text index and ids sort
// numerically.
//
// Save applies a batch in one write transaction: a record is inserted when
// its id is new, replaces the stored one when its lastModified is newer (or
// equal with different content), and is counted unchanged when it is the
// same or older. A batch with one invalid record stores nothing; the error
// names the record. Readers never wait for the writer (WAL).
package cvedb
