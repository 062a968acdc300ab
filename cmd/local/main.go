// Command local is the v2e store (contract §5 "local"): SQLite databases of
// CVE, CWE (and views), CAPEC and ATT&CK, and their importers. The broker
// starts it.
package main

import (
	"context"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	service.Main("local", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	return nil, nil
}
