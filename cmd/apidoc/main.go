// Command apidoc renders docs/api.md from a method catalogue in JSON: the
// payload of the broker's RPCListMethods, or the whole /restful/rpc envelope
// around it. It starts nothing itself:
//
//	curl -s localhost:8080/restful/rpc -d '{"method":"RPCListMethods"}' | go run ./cmd/apidoc -out docs/api.md
//
// The end-to-end test TestAPIDoc starts the platform, renders with the same
// code and fails when the committed docs/api.md differs; with -update it
// rewrites the file: go test ./e2e -run TestAPIDoc -update
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/v2e/v2e/internal/apidoc"
)

func main() {
	in := flag.String("in", "-", "catalogue JSON file (- for standard input)")
	out := flag.String("out", "-", "markdown file to write (- for standard output)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apidoc:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	var data []byte
	var err error
	if in == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	cat, err := apidoc.Parse(data)
	if err != nil {
		return err
	}
	md := apidoc.Render(cat, apidoc.RegenCommand)
	if out == "-" {
		_, err = os.Stdout.Write(md)
		return err
	}
	return os.WriteFile(out, md, 0o644)
}
