package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/nvd"
)

func TestRunServesAndStops(t *testing.T) {
	o := options{addr: "127.0.0.1:0", data: "../../assets/nvd/nvdcve-2.0-2026.json", window: time.Second,
		limit: 5, keyLimit: 50, throttle: 403, scale: 5000, seed: 1, faults: "503:1", printAddr: true}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, slog.New(slog.NewTextHandler(io.Discard, nil)), pw) }()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSpace(url)
	statuses := []int{}
	var page nvd.Page
	for range 2 {
		resp, err := http.Get(url + "?resultsPerPage=3&startIndex=4990")
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 200 {
			json.NewDecoder(resp.Body).Decode(&page)
		}
		resp.Body.Close()
	}
	if statuses[0] != 503 || statuses[1] != 200 || page.TotalResults != 5000 || len(page.Vulnerabilities) != 3 {
		t.Errorf("statuses %v, page total %d with %d items; want the -fault 503 first, then 3 of 5000 generated records",
			statuses, page.TotalResults, len(page.Vulnerabilities))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, o := range []options{
		{addr: "127.0.0.1:0", data: "no/such/feed.json"},
		{addr: "127.0.0.1:0", data: "../../assets/nvd/nvdcve-2.0-2026.json", faults: "boom"},
		{addr: "127.0.0.1:0", data: "../../assets/nvd/nvdcve-2.0-2026.json", throttle: 500},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a run that starts ends with nil
		if err := run(ctx, o, quiet, io.Discard); err == nil {
			t.Errorf("run(%+v) started", o)
		}
		cancel()
	}
}
