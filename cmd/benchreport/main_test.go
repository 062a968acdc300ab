package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
cpu: AMD EPYC
pkg: github.com/v2e/v2e/internal/broker
BenchmarkRoutedRoundTrip-2   	   20000	     51255 ns/op	        30.00 p50-µs	       165.2 p99-µs
BenchmarkRawPipeRoundTrip-2  	   20000	     18281 ns/op	        10.00 p50-µs
BenchmarkRoutedPipelined-2   	   20000	     10456 ns/op	    193126 routed-msgs/s
`

func TestReportAndReadme(t *testing.T) {
	dir := t.TempDir()
	in, goals, out, readme := filepath.Join(dir, "bench.txt"), filepath.Join(dir, "goals.json"), filepath.Join(dir, "b.md"), filepath.Join(dir, "README.md")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(in, sample)
	write(goals, `[
 {"issue":"#2","what":"ratio","benchmark":"internal/broker.BenchmarkRoutedRoundTrip","metric":"p50-µs","op":"<=","target":2.5,"baseline":"internal/broker.BenchmarkRawPipeRoundTrip"},
 {"issue":"#2","what":"pipelined","benchmark":"internal/broker.BenchmarkRoutedPipelined","metric":"routed-msgs/s","op":">=","target":300000},
 {"issue":"#3","what":"absent","benchmark":"internal/x.BenchmarkNone","metric":"cve/s","op":">=","target":1}
]`)
	write(readme, "# v2e\n\nintro\n\n<!-- benchmarks:start -->\nold table\n<!-- benchmarks:end -->\n\nafter\n")
	if err := run(in, goals, out, "./build.sh -m", readme); err != nil {
		t.Fatal(err)
	}
	report, _ := os.ReadFile(out)
	for _, want := range []string{
		"| #2 | ratio | 3× (30.0 p50-µs vs 10.0 p50-µs) | <= 2.5 × internal/broker.BenchmarkRawPipeRoundTrip | no |",
		"| #2 | pipelined | 193126 routed-msgs/s | >= 300000 routed-msgs/s | no |",
		"| #3 | absent | — | >= 1 cve/s | not measured |",
		"| internal/broker | BenchmarkRoutedPipelined |",
	} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	got, _ := os.ReadFile(readme)
	text := string(got)
	if strings.Contains(text, "old table") || !strings.Contains(text, "| #2 | pipelined | 193126 routed-msgs/s") ||
		!strings.HasPrefix(text, "# v2e\n\nintro\n\n<!-- benchmarks:start -->\n") || !strings.HasSuffix(text, "<!-- benchmarks:end -->\n\nafter\n") {
		t.Fatalf("README after the report:\n%s", text)
	}

	write(readme, "# v2e without markers\n")
	if err := run(in, goals, out, "./build.sh -m", readme); err == nil || !strings.Contains(err.Error(), "no <!-- benchmarks:start -->") {
		t.Fatalf("README without markers: %v", err)
	}
}
