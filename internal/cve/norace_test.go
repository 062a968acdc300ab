//go:build !race

package cve

const raceStride = 1
