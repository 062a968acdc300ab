// Package cwe holds the Common Weakness Enumeration domain types and reads the
// two forms MITRE publishes them in: the official XML catalog (plain or zipped,
// namespace http://cwe.mitre.org/cwe-7) and the JSON array of Weakness objects
// that MITRE's REST API returns (PascalCase keys, the "cwe-raw.json" form).
//
// Readers stream the input (encoding/xml Token + DecodeElement per entry,
// encoding/json Token + Decode per array item), check every entry as it is
// read and return errors that name the file, the line and the bad field, so a
// caller can refuse a broken file before it touches any stored catalog.
//
// Identifiers are normalised on the way in: weaknesses, categories and views
// carry "CWE-<n>", related attack patterns "CAPEC-<n>". ParseID accepts both
// "CWE-79" and "79". The package imports only the standard library.
package cwe
