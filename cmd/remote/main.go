// Command remote is the v2e NVD API 2.0 client (contract §5 "remote"). The
// broker starts it. With remote.feed_dir set it answers from NVD 2.0 feed
// files instead of the network (air-gapped bootstrap).
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/v2e/v2e/internal/config"
	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/remote"
	"github.com/v2e/v2e/internal/service"
)

func main() {
	service.Main("remote", setup)
}

func setup(ctx context.Context, s *service.Service, cfg config.Config) (func() error, error) {
	rc := cfg.Remote
	h := remote.Handlers{Views: nvd.Views{URL: rc.ViewFetchURL, HTTPClient: &http.Client{Timeout: 2 * time.Minute}}}
	if rc.FeedDir != "" {
		paths, err := nvd.FeedFiles(rc.FeedDir)
		if err != nil {
			return nil, err
		}
		feed, err := nvd.LoadFeeds(paths...)
		if err != nil {
			return nil, err
		}
		s.Logger().Info("answering from feed files", "dir", rc.FeedDir, "cves", feed.Len())
		h.Source = feed
	} else {
		h.Source = nvd.NewClient(nvd.Config{
			BaseURL:           rc.NVDBaseURL,
			APIKey:            rc.NVDAPIKey,
			RequestsPerWindow: rc.RequestsPerWindow,
			Window:            time.Duration(rc.WindowSeconds * float64(time.Second)),
			MaxAttempts:       rc.RetryBudget,
			Logger:            s.Logger(),
		})
		s.Logger().Info("NVD client", "url", rc.NVDBaseURL, "api_key", rc.NVDAPIKey != "", "window_seconds", rc.WindowSeconds)
	}
	h.Register(s)
	return nil, nil
}
