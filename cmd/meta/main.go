// Command meta runs v2e jobs (contract §5 "meta"): sessions, the Unified ETL
// Engine and the startup imports. The broker starts it.
//
// The CWE, CAPEC and ATT&CK imports at start run when meta.startup_imports
// is true (the default) and the flag -startup-imports is not false.
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"time"

	"github.com/v2e/v2e/internal/bolt"
	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/meta"
	"github.com/v2e/v2e/internal/service"
)

var startupImports = flag.Bool("startup-imports", true, "import CWE, CAPEC and ATT&CK at start when absent or older")

func main() {
	flag.Parse()
	service.Main("meta", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	path := cfg.Meta.SessionDBPath
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	store, err := bolt.Open(path, bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	eng, err := meta.New(meta.Config{
		Store:           store,
		Caller:          s,
		CheckpointEvery: cfg.Meta.CheckpointEvery,
		Assets: meta.Assets{CWEPath: cfg.Assets.CWERawPath, CAPECPath: cfg.Assets.CAPECXMLPath,
			CAPECXSD: cfg.Assets.CAPECXSDPath, AttackDir: cfg.Assets.AttackDir},
		StartupImports: *startupImports && cfg.Meta.StartupImports,
		Logger:         s.Logger(),
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	eng.Register(s)
	// At SIGTERM stop the providers before the connection closes, so that
	// no run mistakes the closing connection for a failure.
	go func() {
		<-ctx.Done()
		_ = eng.Close()
	}()
	started := make(chan struct{})
	go func() {
		defer close(started)
		// Calls work once Run has connected the service.
		for {
			err := s.Call(ctx, "broker", "RPCGetMessageCount", nil, nil)
			if !errors.Is(err, service.ErrNotConnected) || ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if ctx.Err() != nil {
			return
		}
		if err := eng.Start(ctx); err != nil {
			s.Logger().Error("engine start failed", "err", err)
		}
	}()
	return func() error {
		<-started
		return errors.Join(eng.Close(), store.Close())
	}, nil
}
