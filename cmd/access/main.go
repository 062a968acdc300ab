// Command access is the v2e HTTP gateway (contract §3). The broker starts it;
// it serves GET /restful/health, POST /restful/rpc (forwarded through the
// broker as a request from "access"), GET /metrics and the static website
// on server.address.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/httpapi"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	service.Main("access", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	tokens := make(map[string]httpapi.Token, len(cfg.Broker.Authentication.Tokens))
	for k, t := range cfg.Broker.Authentication.Tokens {
		tokens[k] = httpapi.Token{Endpoints: t.Endpoints, Processes: t.Processes}
	}
	h := httpapi.New(s, httpapi.Config{
		RPCTimeout:   time.Duration(cfg.Access.RPCTimeoutSeconds * float64(time.Second)),
		MaxBodyBytes: cfg.Access.MaxBodyBytes,
		StaticDir:    cfg.Access.StaticDir,
		CORSOrigins:  cfg.Access.CORSOrigins,
		AuthEnabled:  cfg.Broker.Authentication.Enabled,
		Tokens:       tokens,
		Logger:       s.Logger(),
	})
	ln, err := net.Listen("tcp", cfg.Server.Address)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      time.Duration(cfg.Access.RPCTimeoutSeconds*float64(time.Second)) + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.Logger().Info("listening", "address", ln.Addr().String(), "static_dir", cfg.Access.StaticDir)
	return func() error {
		sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Access.ShutdownTimeoutSeconds*float64(time.Second)))
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}
