// Command local is the v2e store (contract §5 "local"): SQLite databases of
// CVE, CWE (and views), CAPEC and ATT&CK, and their importers. The broker
// starts it.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/local"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/sqlite/attackdb"
	"github.com/v2e/v2e/internal/sqlite/capecdb"
	"github.com/v2e/v2e/internal/sqlite/cvedb"
	"github.com/v2e/v2e/internal/sqlite/cwedb"
)

func main() {
	service.Main("local", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	for _, p := range []string{cfg.Local.CVEDBPath, cfg.Local.CWEDBPath, cfg.Local.CAPECDBPath, cfg.Local.AttackDBPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
	}
	// The CVE store opens in the background: migrating a large store's
	// schema can take longer than the broker waits for a service to be
	// ready (migration 6 rebuilds the full-text index: 19 s for 300,000
	// records). CVE calls wait for it; the other catalogues answer at once.
	var cveStore *cvedb.Store
	cves := cve.OpenInBackground(func() (cve.Store, error) {
		st, err := cvedb.Open(ctx, cfg.Local.CVEDBPath)
		if err != nil {
			slog.Error("cannot open the CVE store; CVE methods answer with this error", "path", cfg.Local.CVEDBPath, "err", err)
			return nil, err
		}
		cveStore = st
		return st, nil
	})
	closers = append(closers, func() error {
		if _, err := cves.Wait(context.Background()); err != nil {
			return nil // logged when opening failed
		}
		return cveStore.Close()
	})
	local.CVE{Store: cves}.Register(s)

	cwes, err := cwedb.Open(ctx, cfg.Local.CWEDBPath)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, cwes.Close)
	capecs, err := capecdb.Open(ctx, cfg.Local.CAPECDBPath)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, capecs.Close)
	local.Catalogs{CWE: cwes, CAPEC: capecs, Assets: assetsOf(cfg)}.Register(s)
	attacks, err := attackdb.Open(ctx, cfg.Local.AttackDBPath)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, attacks.Close)
	local.Attack{Store: attacks, Assets: assetsOf(cfg)}.Register(s)
	local.Related{CVE: cves, CWE: cwes, CAPEC: capecs, Attack: attacks}.Register(s)
	return closeAll, nil
}

func assetsOf(cfg config.Config) local.Assets {
	return local.Assets{
		Dir: cfg.Assets.Dir, CWEPath: cfg.Assets.CWERawPath, CAPECPath: cfg.Assets.CAPECXMLPath,
		CAPECXSDPath: cfg.Assets.CAPECXSDPath, AttackDir: cfg.Assets.AttackDir,
		CAPECStrictXSD: cfg.CAPEC.StrictXSDValidation,
	}
}
