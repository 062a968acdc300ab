package bolt

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/urn"
)

// killHelperEnv tells a re-executed test binary to act as the writer that
// gets killed; its value is "<db path>,<nosync 0|1>".
const killHelperEnv = "V2E_BOLT_KILL_HELPER"

// TestKillHelper is the child process of TestKillNineKeepsCheckpoints: it
// writes checkpoints, prints the sequence of each one after its commit
// returned, and kills itself with SIGKILL mid-stream.
func TestKillHelper(t *testing.T) {
	arg := os.Getenv(killHelperEnv)
	if arg == "" {
		t.Skip("helper process only")
	}
	path, mode := arg[:len(arg)-2], arg[len(arg)-1]
	s, err := Open(path, Options{NoSync: mode == '1'})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	ids := cveIDs(t, "../../testdata/nvd/pages/vunnel/full-page.json")
	out := bufio.NewWriter(os.Stdout)
	if mode == 'w' {
		writeBehind(s, ids, out)
	}
	for i := 0; ; i++ {
		u := urn.MustParse("v2e::nvd::cve::" + ids[i%len(ids)])
		cp, err := s.AddCheckpoint(u, "cve", true, "", time.Time{})
		if err != nil {
			fmt.Println("add:", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, cp.Seq)
		out.Flush()
		if i == 60 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// writeBehind adds checkpoints through a CheckpointWriter, prints how many
// are committed after each Flush, and kills the process mid-stream.
func writeBehind(s *Store, ids []string, out *bufio.Writer) {
	w := s.NewCheckpointWriter(WriterOptions{})
	for i := 1; ; i++ {
		u := urn.MustParse("v2e::nvd::cve::" + ids[i%len(ids)])
		if err := w.Add(&ProviderRecord{ID: "cve"}, Checkpoint{URN: u, Success: true}); err != nil {
			fmt.Println("add:", err)
			os.Exit(2)
		}
		if i%10 == 0 {
			if err := w.Flush(); err != nil {
				fmt.Println("flush:", err)
				os.Exit(2)
			}
			fmt.Fprintln(out, i)
			out.Flush()
		}
		if i == 205 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

func TestKillNineKeepsCheckpoints(t *testing.T) {
	for _, flag := range []string{"0", "1", "w"} {
		t.Run("mode="+flag, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "session.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), killHelperEnv+"="+path+","+flag)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var last uint64
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				n, err := strconv.ParseUint(sc.Text(), 10, 64)
				if err != nil {
					t.Fatalf("child said %q", sc.Text())
				}
				last = n
			}
			err = cmd.Wait()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die of SIGKILL: %v", err)
			}
			if last == 0 {
				t.Fatal("child committed nothing")
			}
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("reopen after kill -9: %v", err)
			}
			defer s.Close()
			total, _, err := s.CountCheckpoints("cve")
			if err != nil || uint64(total) < last {
				t.Fatalf("after kill -9: %d checkpoints, child had committed %d (%v)", total, last, err)
			}
			cs, _, err := s.ListCheckpoints("cve", 0, false)
			if err != nil || len(cs) != total {
				t.Fatalf("listed %d of %d: %v", len(cs), total, err)
			}
		})
	}
}
