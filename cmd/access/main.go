// Command access is the v2e HTTP gateway (contract §3). The broker starts it;
// it serves GET /restful/health, POST /restful/rpc (forwarded through the
// broker as a request from "access"), GET /metrics and the static website
// on server.address.
//
// Stopping: on SIGTERM access first shuts its HTTP server down gracefully
// (no new connections; requests in flight finish through the broker pipes,
// which stay open) within access.shutdown_timeout_seconds, and only then
// leaves the broker connection. When its input ends first (the broker is
// gone) it stops the HTTP server the same way. This is why access runs its
// own main rather than service.Main, which would close the pipes before the
// HTTP server could drain.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/httpapi"
	"github.com/v2e/v2e/internal/service"
)

const id = "access"

// HTTP server limits that config.json does not set.
const (
	readHeaderTimeout = 5 * time.Second   // slow-loris headers are cut here
	readTimeout       = 10 * time.Second  // the whole request, body included (≤ max_body_bytes): slow-loris bodies get 408
	writeMargin       = 5 * time.Second   // added to rpc_timeout for the write deadline
	idleTimeout       = 120 * time.Second // keep-alive connections
	maxHeaderBytes    = 64 << 10
	scrapeTimeout     = 2 * time.Second // per broker/meta call made by /metrics
)

func main() {
	os.Exit(run())
}

func run() int {
	if os.Getenv("RPC_INPUT_FD") == "" && os.Getenv("RPC_OUTPUT_FD") == "" {
		fmt.Fprintf(os.Stderr, service.Usage, id)
		return 2
	}
	cfgPath := os.Getenv(service.ConfigEnv)
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
	logger := service.NewLogger(cfg.Logging.Level, os.Stderr)
	slog.SetDefault(logger)
	sig, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	s := service.New(id, service.Options{MaxMessageSize: cfg.Broker.MaxMessageSizeBytes, Logger: logger})
	srv, ln, err := newServer(s, cfg)
	if err != nil {
		logger.Error("setup failed", "process", id, "err", err)
		return 1
	}
	conn, leave := context.WithCancel(context.Background())
	defer leave()
	ran := make(chan error, 1)
	go func() { ran <- s.RunFromEnv(conn) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.Logger().Info("listening", "address", ln.Addr().String(), "static_dir", cfg.Access.StaticDir)

	var runErr error
	select {
	case <-sig.Done():
		s.Logger().Info("SIGTERM: draining HTTP requests before leaving the broker")
	case runErr = <-ran:
		ran <- runErr
	case err := <-served:
		served <- err
		runErr = fmt.Errorf("http server: %w", err)
	}
	code := 0
	if err := shutdown(srv, served, cfg.Access.ShutdownTimeoutSeconds); err != nil {
		s.Logger().Error("http shutdown", "err", err)
		code = 1
	}
	leave()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		s.Logger().Error("service stopped with error", "err", err)
		code = 1
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		s.Logger().Error("stopped", "err", runErr)
		code = 1
	}
	return code
}

// newServer builds the gateway's handler and server and binds the listener.
func newServer(s *service.Service, cfg config.Config) (*http.Server, net.Listener, error) {
	tokens := make(map[string]httpapi.Token, len(cfg.Broker.Authentication.Tokens))
	for k, t := range cfg.Broker.Authentication.Tokens {
		tokens[k] = httpapi.Token{Endpoints: t.Endpoints, Processes: t.Processes}
	}
	rpcTimeout := seconds(cfg.Access.RPCTimeoutSeconds)
	h := httpapi.New(s, httpapi.Config{
		RPCTimeout:   rpcTimeout,
		MaxBodyBytes: cfg.Access.MaxBodyBytes,
		StaticDir:    cfg.Access.StaticDir,
		CORSOrigins:  cfg.Access.CORSOrigins,
		AuthEnabled:  cfg.Broker.Authentication.Enabled,
		Tokens:       tokens,
		Logger:       s.Logger(),
		Collectors:   []prometheus.Collector{&httpapi.PlatformCollector{Caller: s, Timeout: scrapeTimeout, Logger: s.Logger()}},
	})
	ln, err := net.Listen("tcp", cfg.Server.Address)
	if err != nil {
		return nil, nil, err
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      rpcTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger().Handler(), slog.LevelDebug),
	}, ln, nil
}

// shutdown stops accepting connections and waits up to timeout seconds for
// the requests in flight, then closes what is left.
func shutdown(srv *http.Server, served <-chan error, timeout float64) error {
	ctx, cancel := context.WithTimeout(context.Background(), seconds(timeout))
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
