package service

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// ProfileDirEnv names a folder in which every service started through Main
// writes a CPU profile of its whole run, as <folder>/<process id>.pprof
// (pprof format, `go tool pprof`): the services expose no net/http/pprof,
// and the broker passes its environment on to them, so one variable set
// for a benchmark profiles every process of the platform.
const ProfileDirEnv = "V2E_CPUPROFILE_DIR"

// startProfile starts the CPU profile ProfileDirEnv asks for and returns
// what stops it and closes its file (nil when the variable is not set).
func startProfile(id string, getenv func(string) string) (stop func() error, err error) {
	dir := getenv(ProfileDirEnv)
	if dir == "" {
		return nil, nil
	}
	f, err := os.Create(filepath.Join(dir, id+".pprof"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ProfileDirEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", ProfileDirEnv, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
