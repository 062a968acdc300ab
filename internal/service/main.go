package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/v2e/v2e/internal/config"
)

// ConfigEnv names the environment variable in which the broker passes the
// absolute path of config.json to the services it starts.
const ConfigEnv = "V2E_CONFIG"

// SetupFunc registers a process's handlers on s. The returned function, if
// not nil, is called after the service stops serving requests but before its
// connection to the broker closes, to release what setup opened; calls
// through s still work while it runs.
type SetupFunc func(ctx context.Context, s *Service, cfg config.Config) (closer func() error, err error)

// Main is the whole main function of a service process: it refuses to run
// without the broker's descriptors, loads the config the broker names, sets
// up logging, runs setup, serves until end of input or SIGTERM, and exits.
func Main(id string, setup SetupFunc) {
	os.Exit(run(id, setup))
}

func run(id string, setup SetupFunc) int {
	if os.Getenv("RPC_INPUT_FD") == "" && os.Getenv("RPC_OUTPUT_FD") == "" {
		fmt.Fprintf(os.Stderr, Usage, id)
		return 2
	}
	cfgPath := os.Getenv(ConfigEnv)
	if cfgPath == "" {
		if _, err := os.Stat("config.json"); err == nil {
			cfgPath = "config.json"
		}
	}
	cfg, err := config.Load(cfgPath, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", id, err)
		return 1
	}
	logger := NewLogger(cfg.Logging.Level, os.Stderr)
	slog.SetDefault(logger)
	FloorGC(HeapFloor(os.Getenv))
	stopProfile, err := startProfile(id, os.Getenv)
	if err != nil {
		logger.Error("cannot profile", "process", id, "err", err)
		return 1
	}
	if stopProfile != nil {
		defer func() {
			if err := stopProfile(); err != nil {
				logger.Error("cannot write the CPU profile", "process", id, "err", err)
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	s := New(id, Options{MaxMessageSize: cfg.Broker.MaxMessageSizeBytes, Logger: logger})
	closer, err := setup(ctx, s, cfg)
	if err != nil {
		logger.Error("setup failed", "process", id, "err", err)
		return 1
	}
	runErr := runAndClose(ctx, s, closer, logger)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		logger.Error("service stopped with error", "process", id, "err", runErr)
		return 1
	}
	return 0
}

// runAndClose serves on the broker's descriptors until end of input or
// ctx, then calls closer while the descriptors are still open — so that what
// closer waits for (access's HTTP requests in flight) can still reach other
// services through the broker — and only then closes them.
func runAndClose(ctx context.Context, s *Service, closer func() error, logger *slog.Logger) error {
	in, out, err := openFDs()
	if err != nil {
		return err
	}
	defer in.Close()
	defer out.Close()
	r, w := rawIO(in, out)
	runErr := s.Run(ctx, r, w)
	if closer != nil {
		if err := closer(); err != nil {
			logger.Error("close failed", "process", s.ID(), "err", err)
		}
	}
	return runErr
}

// LimitProcs sets GOMAXPROCS to n unless the environment sets GOMAXPROCS
// (a process's "env" in config.json does). An I/O-bound service answers
// sooner on one P: with a second, idle P, every hand-over between goroutines
// (a request to its worker, an answer to its caller) wakes another thread,
// which on the 2-core machine doubles a routed round trip (docs/benchmarks.md:
// BenchmarkRoutedRoundTrip against BenchmarkRoutedRoundTripDefaultProcs).
func LimitProcs(n int) {
	if os.Getenv("GOMAXPROCS") == "" && n > 0 && n < runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
}

// NewLogger returns a text logger at level ("debug", "info", "warn", "error").
func NewLogger(level string, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)}))
}

// ParseLevel maps a config level name to a slog level (info when unknown).
func ParseLevel(level string) slog.Level {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
