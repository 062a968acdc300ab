// Command nvdserver is a loopback stand-in for NVD's CVE API 2.0: it
// serves feed files (or records generated from them) with NVD's rate limit
// and injectable failures. See internal/nvdserver and docs/nvd.md.
//
//	nvdserver -data assets/nvd -addr 127.0.0.1:0 -print-addr
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/v2e/v2e/internal/nvd"
	"github.com/v2e/v2e/internal/nvdserver"
)

type options struct {
	addr, data, faults, apiKeys string
	window                      time.Duration
	limit, keyLimit, throttle   int
	scale                       int
	seed                        uint64
	printAddr                   bool
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8089", "listen address (port 0 picks a free port)")
	flag.StringVar(&o.data, "data", "assets/nvd", "feed directory or comma-separated feed files (.json, .json.gz, .zip)")
	flag.DurationVar(&o.window, "window", 30*time.Second, "rate-limit window")
	flag.IntVar(&o.limit, "limit", 5, "requests per window without an API key")
	flag.IntVar(&o.keyLimit, "apikey-limit", 50, "requests per window with an API key")
	flag.StringVar(&o.apiKeys, "apikeys", "", "comma-separated accepted API keys (empty: any key)")
	flag.IntVar(&o.throttle, "throttle-status", 403, "status when over the limit: 403 or 429")
	flag.IntVar(&o.scale, "scale", 0, "serve this many records generated from the feeds instead of the feeds")
	flag.Uint64Var(&o.seed, "seed", 1, "seed for -scale")
	flag.StringVar(&o.faults, "fault", "", "faults to inject first: mode[:count[:arg]],... (modes: 403 429 404 502 503 504 truncate novulns short slow reset)")
	flag.BoolVar(&o.printAddr, "print-addr", false, "print the base API URL on stdout once listening")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "nvdserver")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, logger, os.Stdout)
	stop()
	if err != nil {
		logger.Error("nvdserver stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, printing the API URL on out if asked.
func run(ctx context.Context, o options, logger *slog.Logger, out io.Writer) error {
	cat, err := catalog(o)
	if err != nil {
		return err
	}
	faults, err := nvdserver.ParseFaults(o.faults)
	if err != nil {
		return err
	}
	var keys []string
	if o.apiKeys != "" {
		keys = strings.Split(o.apiKeys, ",")
	}
	srv, err := nvdserver.New(nvdserver.Config{Catalog: cat, Window: o.window, Limit: o.limit,
		KeyLimit: o.keyLimit, APIKeys: keys, Throttle: o.throttle, Faults: faults, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + nvdserver.APIPath
	if o.printAddr {
		fmt.Fprintln(out, url)
	}
	logger.Info("serving", "url", url, "records", cat.Len(), "window", o.window, "limit", o.limit, "apikey_limit", o.keyLimit)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shutCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

func catalog(o options) (nvd.Catalog, error) {
	paths := strings.Split(o.data, ",")
	if len(paths) == 1 {
		if st, err := os.Stat(paths[0]); err == nil && st.IsDir() {
			var err error
			if paths, err = nvd.FeedFiles(paths[0]); err != nil {
				return nil, err
			}
		}
	}
	feed, err := nvd.LoadFeeds(paths...)
	if err != nil {
		return nil, err
	}
	if o.scale > 0 {
		return nvdserver.NewScale(feed.Records(), o.scale, o.seed)
	}
	return feed, nil
}
