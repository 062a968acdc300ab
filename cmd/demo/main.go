// Command demo follows the platform that ./build.sh -r started: it waits for
// the gateway, waits for meta's startup imports, starts a CVE sync when
// nothing is stored yet (a sync left running by an earlier run resumes by
// itself), and prints progress — items, rate, ETA — until the sync ends.
//
//	demo -url http://127.0.0.1:8080
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the platform's gateway")
	every := flag.Duration("every", 2*time.Second, "how often to print progress")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &client{url: *url + "/restful/rpc"}
	if err := run(ctx, c, *url, *every); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type client struct{ url string }

// call posts one RPC and decodes its payload into out.
func (c *client) call(ctx context.Context, target, method string, params, out any) error {
	body, _ := json.Marshal(map[string]any{"method": method, "target": target, "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Retcode int             `json:"retcode"`
		Message string          `json:"message"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return err
	}
	if env.Retcode != 0 {
		return fmt.Errorf("%s on %s: %s", method, target, env.Message)
	}
	if out != nil {
		return json.Unmarshal(env.Payload, out)
	}
	return nil
}

type provider struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	ProcessedCount int    `json:"processed_count"`
	LastError      string `json:"last_error"`
}

type status struct {
	HasSession   bool   `json:"has_session"`
	SessionID    string `json:"session_id"`
	State        string `json:"state"`
	StoredCount  int    `json:"stored_count"`
	ErrorCount   int    `json:"error_count"`
	ErrorMessage string `json:"error_message"`
	Progress     *struct {
		Done    int     `json:"done"`
		Total   int     `json:"total"`
		Rate    float64 `json:"rate_per_second"`
		ETA     float64 `json:"eta_seconds"`
		Percent float64 `json:"percent"`
	} `json:"progress"`
}

func run(ctx context.Context, c *client, url string, every time.Duration) error {
	if err := waitFor(ctx, every, func() bool { return c.call(ctx, "broker", "RPCListProcesses", nil, nil) == nil }); err != nil {
		return err
	}
	fmt.Printf("v2e is up: open %s\n", url)
	// Startup imports: wait until no catalog provider is still working.
	var last string
	err := waitFor(ctx, every, func() bool {
		var tree struct {
			Providers []provider `json:"providers"`
		}
		if err := c.call(ctx, "meta", "RPCGetEtlTree", nil, &tree); err != nil {
			return false
		}
		busy, line := false, "imports:"
		for _, p := range tree.Providers {
			if p.ID == "cve" {
				continue
			}
			line += fmt.Sprintf(" %s %s (%d)", p.ID, p.State, p.ProcessedCount)
			busy = busy || (p.State != "TERMINATED" && p.State != "IDLE" && p.State != "PAUSED")
		}
		if line != last {
			fmt.Println(line)
			last = line
		}
		return !busy
	})
	if err != nil {
		return err
	}
	var st status
	if err := c.call(ctx, "meta", "RPCGetSessionStatus", nil, &st); err != nil {
		return err
	}
	if !st.HasSession {
		var count struct{ Count int }
		if err := c.call(ctx, "local", "RPCCountCVEs", nil, &count); err != nil {
			return err
		}
		if count.Count > 0 {
			fmt.Printf("%d CVEs stored; start another sync from the Jobs tab or with RPCStartSession.\n", count.Count)
			return nil
		}
		id := "demo-" + time.Now().UTC().Format("20060102-150405")
		if err := c.call(ctx, "meta", "RPCStartSession", map[string]any{"session_id": id}, nil); err != nil {
			return err
		}
		fmt.Printf("CVE sync %s started from the loopback NVD server\n", id)
	} else {
		fmt.Printf("CVE sync %s is %s: following it\n", st.SessionID, st.State)
	}
	return follow(ctx, c, every)
}

func follow(ctx context.Context, c *client, every time.Duration) error {
	for {
		var st status
		if err := c.call(ctx, "meta", "RPCGetSessionStatus", nil, &st); err != nil {
			fmt.Println("status:", err)
		} else if !st.HasSession {
			fmt.Println("no active sync")
			return nil
		} else {
			line := fmt.Sprintf("sync %s: %s, %d stored", st.SessionID, st.State, st.StoredCount)
			if p := st.Progress; p != nil && p.Total > 0 {
				line += fmt.Sprintf(" — %d/%d (%.0f%%), %.0f CVE/s, ETA %s", p.Done, p.Total, p.Percent, p.Rate,
					(time.Duration(p.ETA) * time.Second).String())
			}
			if st.ErrorCount > 0 {
				line += fmt.Sprintf(", %d errors (%s)", st.ErrorCount, st.ErrorMessage)
			}
			fmt.Println(line)
			switch st.State {
			case "completed", "failed", "stopped":
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

func waitFor(ctx context.Context, every time.Duration, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every / 4):
		}
	}
	return nil
}
