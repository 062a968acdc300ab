package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to which the process writes a CPU profile of
// its whole run (pprof format), stopped when the service stops; the
// services expose no net/http/pprof. e2e.BenchmarkMetaIngest sets it with
// V2E_BENCH_CPUPROFILE.
const cpuProfileEnv = "V2E_CPUPROFILE"

// startCPUProfile starts the profile V2E_CPUPROFILE asks for and returns
// what stops it (nil when the variable is not set).
func startCPUProfile() (stop func() error, err error) {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
