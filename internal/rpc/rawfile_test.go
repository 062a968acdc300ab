package rpc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func rawPipe(t *testing.T) (*RawFile, *RawFile) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rr, err := NewRawFile(r)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := NewRawFile(w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rr.Close(); rw.Close() })
	return rr, rw
}

// TestRawFileLargeWrite writes far more than a pipe holds (64 KiB on Linux)
// while the other end reads slowly: every byte arrives once, in order.
func TestRawFileLargeWrite(t *testing.T) {
	r, w := rawPipe(t)
	want := make([]byte, 3<<20+17)
	for i := range want {
		want[i] = byte(i * 7)
	}
	done := make(chan error, 1)
	go func() {
		n, err := w.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		if err == nil {
			err = w.Close()
		}
		done <- err
	}()
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.Len()%(1<<20) < 4096 {
			time.Sleep(time.Millisecond) // let the writer find the pipe full
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}
}

// TestRawFileWithFraming: lines written through Writer come out of Reader.
func TestRawFileWithFraming(t *testing.T) {
	r, w := rawPipe(t)
	lines := []string{`{"type":"event","id":"a"}`, `{"type":"event","id":"b"}`}
	go func() {
		wr := NewWriter(w)
		for _, l := range lines {
			_ = wr.WriteLine([]byte(l + "\n"))
		}
		w.Close()
	}()
	rd := NewReader(r, 0)
	for _, want := range lines {
		got, err := rd.ReadLine()
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := rd.ReadLine(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v, want EOF", err)
	}
}

// TestRawFileWriteDeadline: a writer whose reader never reads fails at the
// deadline instead of blocking.
func TestRawFileWriteDeadline(t *testing.T) {
	_, w := rawPipe(t)
	if err := w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := w.Write(make([]byte, 1<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write into a full pipe: %d, %v; want a deadline error", n, err)
	}
	if n == 0 || n >= 1<<20 {
		t.Fatalf("wrote %d bytes before the deadline; want what the pipe holds", n)
	}
}

// TestRawFileCloseWakesReader: closing the file ends a waiting Read.
func TestRawFileCloseWakesReader(t *testing.T) {
	r, _ := rawPipe(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("read after close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting after Close")
	}
}

func TestRawFileBrokenPipe(t *testing.T) {
	r, w := rawPipe(t)
	r.Close()
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write with no reader: %v, want EPIPE", err)
	}
}

func TestNewRawFileRefusesBlockingDescriptors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "regular"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := NewRawFile(f); !errors.Is(err, ErrNotPollable) {
		t.Fatalf("regular file: %v, want ErrNotPollable", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_ = r.Fd() // puts the descriptor in blocking mode
	defer r.Close()
	if _, err := NewRawFile(r); !errors.Is(err, ErrNotPollable) {
		t.Fatalf("blocking pipe: %v, want ErrNotPollable", err)
	}
}

// TestRawFileWriteTimeout: a write into a full pipe fails after the timeout;
// once the reader drains it, writes succeed again with no deadline left over.
func TestRawFileWriteTimeout(t *testing.T) {
	r, w := rawPipe(t)
	start := time.Now()
	n, err := w.WriteTimeout(make([]byte, 1<<20), 50*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("write into a full pipe: %d, %v after %s; want a deadline error after 50ms", n, err, time.Since(start))
	}
	if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // past the old deadline
	done := make(chan error, 1)
	go func() {
		_, err := w.WriteTimeout(make([]byte, 256<<10), time.Minute) // more than the pipe holds
		done <- err
	}()
	if _, err := io.CopyN(io.Discard, r, 256<<10); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after draining: %v", err)
	}
}
