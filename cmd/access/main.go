// Command access is the v2e HTTP gateway (contract §3). The broker starts it;
// it serves GET /restful/health, POST /restful/rpc (forwarded through the
// broker as a request from "access"), GET /metrics and the static website
// on server.address.
//
// Stopping: on SIGTERM access shuts its HTTP server down gracefully (no new
// connections; requests in flight finish through the broker pipes, which
// service.Main keeps open until the closer returns) within
// access.shutdown_timeout_seconds, and only then leaves the broker. When its
// input ends first (the broker is gone) it stops the HTTP server the same way.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
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
	service.Main(id, setup)
}

// setup starts the HTTP server; its closer drains it (service.Main calls it
// while the broker pipes are still open, so requests in flight finish).
func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	srv, ln, err := newServer(s, cfg)
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.Logger().Error("http server stopped", "err", err)
		}
		served <- err
	}()
	s.Logger().Info("listening", "address", ln.Addr().String(), "static_dir", cfg.Access.StaticDir)
	return func() error {
		s.Logger().Info("draining HTTP requests before leaving the broker")
		return shutdown(srv, served, cfg.Access.ShutdownTimeoutSeconds)
	}, nil
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
