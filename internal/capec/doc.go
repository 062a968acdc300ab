// Package capec holds the Common Attack Pattern Enumeration and Classification
// domain types, reads MITRE's CAPEC XML catalog (namespace
// http://capec.mitre.org/capec-3) and checks it against the catalog's XSD.
//
// Parse streams the catalog (encoding/xml Token + DecodeElement per entry),
// normalises identifiers ("CAPEC-66", "CWE-89", ATT&CK "T1574.010" from the
// catalog's Entry_ID "1574.010") and returns errors naming line and entry.
//
// No XSD library works in pure Go, so Schema implements the part of XML Schema
// the CAPEC schema uses: global elements, named and anonymous complex types
// with xs:sequence content (minOccurs/maxOccurs), xs:any by namespace, mixed
// content, simple content, complexContent/simpleContent extensions, required
// attributes, simple types restricted by enumeration or pattern, the built-in
// types xs:string, xs:integer, xs:date, xs:gYear, xs:gMonth, xs:gDay,
// xs:anyURI, and xs:unique constraints on attributes. LoadSchema refuses a
// schema using anything else (xs:choice, xs:all, xs:group, ...), so a
// validation never silently passes what it did not check. XHTML content
// allowed by xs:any is checked for its namespace only: the XHTML schema is not
// loaded. The package imports only the standard library.
package capec
