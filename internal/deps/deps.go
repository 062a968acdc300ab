//go:build tools

// Package deps pins the third-party modules the platform is built on, so that
// they stay in go.mod while the packages that use them are being written.
package deps

import (
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/xuri/excelize/v2"
	_ "go.etcd.io/bbolt"
	_ "modernc.org/sqlite"
)
