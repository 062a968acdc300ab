//go:build !race

package cvedb

const raceEnabled = false
