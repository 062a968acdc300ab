// Package cve is the domain of NVD CVE records: the fields of an NVD API 2.0
// `cve` object that v2e indexes, their validation, and the Store interface the
// local service offers over them.
//
// A record is kept whole as the JSON the NVD sent (compacted, otherwise byte
// for byte), so what Get returns decodes to exactly what was saved. Extract
// reads the fields users filter on (id, dates, status, CVSS v2/v3.0/v3.1/v4.0
// scores, CWE ids, CPE vendor/product, CISA KEV fields, descriptions) and
// rejects a record whose id or dates are missing or malformed with an error
// that names the field.
//
// Times in NVD records carry no zone and are UTC ("2024-03-29T17:15:21.150").
//
// The package imports only the standard library; storage adapters such as
// internal/sqlite/cvedb implement Store.
package cve
