// Command remote is the v2e NVD API 2.0 client (contract §5 "remote"). The
// broker starts it.
package main

import (
	"context"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	service.Main("remote", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	return nil, nil
}
