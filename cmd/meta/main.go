// Command meta runs v2e jobs (contract §5 "meta"): sessions, the Unified ETL
// Engine and the startup imports. The broker starts it.
package main

import (
	"context"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	service.Main("meta", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	return nil, nil
}
