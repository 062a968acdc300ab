// Command benchreport turns `go test -bench` output into docs/benchmarks.md:
// the machine, the command, every goal of docs/bench-goals.json beside the
// measured figure (and its baseline from the same run), and every benchmark.
//
//	go run ./cmd/benchreport -in .build/bench.txt -goals docs/bench-goals.json -out docs/benchmarks.md
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Goal is one figure an issue names.
type Goal struct {
	Issue     string  `json:"issue"`
	What      string  `json:"what"`
	Benchmark string  `json:"benchmark"` // "<package>.<name>" without the -N suffix, e.g. "internal/rpc.BenchmarkDecode"
	Metric    string  `json:"metric"`    // "ns/op", "allocs/op", or a custom unit
	Op        string  `json:"op"`        // "<=" or ">="
	Target    float64 `json:"target"`
	// Baseline, when set, makes the figure a ratio: Benchmark's Metric divided
	// by Baseline's BaselineMetric (default: the same metric).
	Baseline       string `json:"baseline,omitempty"`
	BaselineMetric string `json:"baseline_metric,omitempty"`
}

// result is one benchmark line; repeated runs (-count) are averaged.
type result struct {
	name    string
	pkg     string
	runs    int
	metrics map[string]float64
}

func main() {
	in := flag.String("in", ".build/bench.txt", "go test -bench output")
	goalsPath := flag.String("goals", "docs/bench-goals.json", "goals file")
	out := flag.String("out", "docs/benchmarks.md", "report to write")
	cmdline := flag.String("cmd", "./build.sh -m", "command that produced the figures")
	readme := flag.String("readme", "", "also put the goals table in this file, between "+markStart+" and "+markEnd)
	flag.Parse()
	if err := run(*in, *goalsPath, *out, *cmdline, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(in, goalsPath, out, cmdline, readme string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	results, cpu, err := parse(f)
	if err != nil {
		return err
	}
	var goals []Goal
	data, err := os.ReadFile(goalsPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &goals); err != nil {
		return fmt.Errorf("%s: %w", goalsPath, err)
	}
	var b strings.Builder
	write(&b, results, goals, cpu, cmdline)
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if readme == "" {
		return nil
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Measured by `%s` on %s (%s, %d cores):\n\n", cmdline, time.Now().UTC().Format("2006-01-02"), cpu, runtime.NumCPU())
	goalsTable(&t, results, goals)
	spliced, err := splice(string(text), t.String())
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	return os.WriteFile(readme, []byte(spliced), 0o644)
}

// The goals table goes between these lines of the README.
const (
	markStart = "<!-- benchmarks:start -->"
	markEnd   = "<!-- benchmarks:end -->"
)

// splice replaces what lies between the markers in text with table.
func splice(text, table string) (string, error) {
	i := strings.Index(text, markStart)
	j := strings.Index(text, markEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s … %s section to put the goals table in", markStart, markEnd)
	}
	return text[:i+len(markStart)] + "\n" + table + "\n" + text[j:], nil
}

// modulePrefix is cut from package paths in benchmark keys.
const modulePrefix = "github.com/v2e/v2e/"

func parse(r io.Reader) (map[string]*result, string, error) {
	results := map[string]*result{}
	cpu, pkg := "", ""
	var load []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "cpu: "):
			cpu = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "load: "):
			load = append(load, strings.TrimPrefix(line, "load: "))
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			if _, err := strconv.Atoi(f[1]); err != nil {
				continue
			}
			name := f[0]
			if i := strings.LastIndexByte(name, '-'); i > 0 {
				if _, err := strconv.Atoi(name[i+1:]); err == nil {
					name = name[:i]
				}
			}
			key := strings.TrimPrefix(pkg, modulePrefix) + "." + name
			r := results[key]
			if r == nil {
				r = &result{name: name, pkg: pkg, metrics: map[string]float64{}}
				results[key] = r
			}
			r.runs++
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				unit := f[i+1]
				r.metrics[unit] += (v - r.metrics[unit]) / float64(r.runs)
			}
		}
	}
	if len(load) > 0 {
		cpu += "; load average " + strings.Join(load, ", ")
	}
	return results, cpu, sc.Err()
}

func write(b *strings.Builder, results map[string]*result, goals []Goal, cpu, cmdline string) {
	host, _ := os.Hostname()
	fmt.Fprintf(b, "# Benchmarks\n\nGenerated by `%s` on %s.\n\n", cmdline, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(b, "Machine: %s, %d cores (GOMAXPROCS), %s/%s, %s, host %q.\n\n", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
	b.WriteString("## Goals\n\n")
	goalsTable(b, results, goals)
	b.WriteString("\n## Every benchmark\n\n| package | benchmark | figures |\n|---|---|---|\n")
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := results[names[i]], results[names[j]]
		if ri.pkg != rj.pkg {
			return ri.pkg < rj.pkg
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		r := results[n]
		units := make([]string, 0, len(r.metrics))
		for u := range r.metrics {
			units = append(units, u)
		}
		sort.Strings(units)
		var parts []string
		for _, u := range units {
			parts = append(parts, format(r.metrics[u])+" "+u)
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", strings.TrimPrefix(r.pkg, modulePrefix), r.name, strings.Join(parts, ", "))
	}
}

// goalsTable writes each goal beside its measured figure.
func goalsTable(b *strings.Builder, results map[string]*result, goals []Goal) {
	b.WriteString("| issue | what | measured | goal | met |\n|---|---|---|---|---|\n")
	for _, g := range goals {
		v, detail, ok := measure(results, g)
		met := "not measured"
		val := "—"
		if ok {
			val = format(v) + " " + g.Metric + detail
			if g.Baseline != "" {
				val = format(v) + "×" + detail
			}
			met = "no"
			if (g.Op == "<=" && v <= g.Target) || (g.Op == ">=" && v >= g.Target) {
				met = "yes"
			}
		}
		unit := g.Metric
		if g.Baseline != "" {
			unit = "× " + g.Baseline
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s %s %s | %s |\n", g.Issue, g.What, val, g.Op, format(g.Target), unit, met)
	}
}

func measure(results map[string]*result, g Goal) (float64, string, bool) {
	r, ok := results[g.Benchmark]
	if !ok {
		return 0, "", false
	}
	v, ok := r.metrics[g.Metric]
	if !ok {
		return 0, "", false
	}
	if g.Baseline == "" {
		return v, "", true
	}
	base, ok := results[g.Baseline]
	if !ok {
		return 0, "", false
	}
	bm := g.BaselineMetric
	if bm == "" {
		bm = g.Metric
	}
	bv, ok := base.metrics[bm]
	if !ok || bv == 0 {
		return 0, "", false
	}
	return v / bv, fmt.Sprintf(" (%s %s vs %s %s)", format(v), g.Metric, format(bv), bm), true
}

func format(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
