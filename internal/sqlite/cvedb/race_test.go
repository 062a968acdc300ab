//go:build race

package cvedb

// Under the race detector SQLite (compiled to Go) runs several times slower;
// the tests that load the feeds keep the first 600 records of the 2003 feed
// beside all 1,069 of the 2026 feed, so the package stays well under a minute.
const raceEnabled = true
