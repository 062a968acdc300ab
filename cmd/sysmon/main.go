// Command sysmon reports host and per-process metrics of the v2e platform
// (contract §5 "sysmon": RPCGetSysMetrics). The broker starts it.
package main

import (
	"context"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/sysmon"
)

func main() {
	service.LimitProcs(1) // I/O-bound: see service.LimitProcs
	service.Main("sysmon", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	m := &sysmon.Monitor{Reader: &sysmon.Reader{DiskPath: "."}, History: sysmon.NewHistory(120)}
	m.Register(s)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.Sample(ctx, 5*time.Second) }()
	return func() error { cancel(); <-done; return nil }, nil
}
