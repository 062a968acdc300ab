// Command broker starts the v2e platform: it reads config.json (argv[1],
// default ./config.json), spawns and supervises every process it lists and
// routes every message between them. See internal/broker and
// docs/architecture.md.
//
// Broker methods (target "broker"): RPCGetMessageStats, RPCGetMessageCount,
// RPCListProcesses.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/v2e/v2e/internal/broker"
	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	os.Exit(run())
}

func run() int {
	path := "config.json"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if path == "-h" || path == "--help" {
		fmt.Println("usage: broker [config.json]")
		return 0
	}
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "broker: %v\n", err)
		return 1
	}
	// Relative paths in the config (commands, logs, databases, assets) are
	// relative to the config file's folder, for the broker and its children.
	if err := os.Chdir(filepath.Dir(cfg.Path)); err != nil {
		fmt.Fprintf(os.Stderr, "broker: %v\n", err)
		return 1
	}
	var logOut io.Writer = os.Stdout
	if cfg.Broker.LogFile != "" {
		f, err := openLog(cfg.Broker.LogFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "broker: broker.log_file: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = io.MultiWriter(os.Stdout, f)
	}
	logger := service.NewLogger(cfg.Logging.Level, logOut).With("process", "broker")
	childLog := service.NewLogger(cfg.Logging.Level, logOut)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b := broker.New(cfg, logger, childLog)
	logger.Info("starting", "config", cfg.Path, "processes", len(cfg.Broker.Processes))
	b.Start(context.Background())
	<-ctx.Done()
	logger.Info("signal received; stopping processes")
	b.Stop()
	return 0
}

func openLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}
