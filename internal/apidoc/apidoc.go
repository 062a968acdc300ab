// Package apidoc renders the platform's method catalogue (the result of the
// broker's RPCListMethods) as the markdown of docs/api.md. Rendering is
// deterministic: processes and methods are sorted by name, so the same
// catalogue always gives the same bytes and a stale docs/api.md shows up as
// a difference.
package apidoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Method is one entry of a service's catalogue, as announced in its
// subprocess_ready event.
type Method struct {
	Name   string `json:"name"`
	Params string `json:"params,omitempty"`
	Result string `json:"result,omitempty"`
	Doc    string `json:"doc,omitempty"`
}

// Catalogue is the payload of RPCListMethods: the methods each service
// announced, and the broker's own methods.
type Catalogue struct {
	Processes map[string][]Method `json:"processes"`
	Broker    []Method            `json:"broker"`
}

// ErrEmpty is returned by Parse when the input holds no method at all.
var ErrEmpty = errors.New("apidoc: the catalogue lists no method")

// Parse decodes a catalogue from data: either the RPCListMethods payload or a
// whole /restful/rpc envelope around it ({"retcode":0,"payload":{...}}).
func Parse(data []byte) (Catalogue, error) {
	var env struct {
		Retcode *int            `json:"retcode"`
		Message string          `json:"message"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return Catalogue{}, fmt.Errorf("apidoc: catalogue is not a JSON object: %w", err)
	}
	if env.Retcode != nil {
		if *env.Retcode != 0 {
			return Catalogue{}, fmt.Errorf("apidoc: envelope has retcode %d: %s", *env.Retcode, env.Message)
		}
		data = env.Payload
	}
	var c Catalogue
	if err := json.Unmarshal(data, &c); err != nil {
		return Catalogue{}, fmt.Errorf("apidoc: decode catalogue: %w", err)
	}
	n := len(c.Broker)
	for _, ms := range c.Processes {
		n += len(ms)
	}
	if n == 0 {
		return Catalogue{}, ErrEmpty
	}
	return c, nil
}

// RegenCommand regenerates docs/api.md from a freshly started platform
// (run from the repository root).
const RegenCommand = "go test ./e2e -run TestAPIDoc -update"

// Header is the first line of the rendered document.
const Header = "# v2e API: method catalogue"

// Render returns the markdown of docs/api.md for c. regen is the command
// that regenerates the file; it is printed in the preamble.
func Render(c Catalogue, regen string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\n", Header)
	b.WriteString("<!-- Generated from the broker's RPCListMethods; do not edit by hand. -->\n\n")
	fmt.Fprintf(&b, "Every method below is called with `POST /restful/rpc` and the body "+
		"`{\"method\": \"<name>\", \"target\": \"<process>\", \"params\": {...}}` (see docs/access.md and the "+
		"contract §3, §5). Each service announces these entries in its `subprocess_ready` event; the broker "+
		"returns them all from `RPCListMethods`. Regenerate this file with `%s`.\n\n", regen)

	ids := make([]string, 0, len(c.Processes))
	for id := range c.Processes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	b.WriteString("## Processes\n\n| process | methods |\n|---|---|\n")
	if len(c.Broker) > 0 {
		fmt.Fprintf(&b, "| [broker](#broker) | %d |\n", len(c.Broker))
	}
	for _, id := range ids {
		fmt.Fprintf(&b, "| [%s](#%s) | %d |\n", id, anchor(id), len(c.Processes[id]))
	}
	b.WriteString("\n")
	if len(c.Broker) > 0 {
		renderBroker(&b, c.Broker)
	}
	for _, id := range ids {
		renderProcess(&b, id, c.Processes[id])
	}
	return b.Bytes()
}

func renderBroker(b *bytes.Buffer, ms []Method) {
	b.WriteString("## broker\n\nThe broker's own methods (`\"target\": \"broker\"`, the default; contract §5).\n\n")
	methodTable(b, ms)
}

func renderProcess(b *bytes.Buffer, id string, ms []Method) {
	fmt.Fprintf(b, "## %s\n\n`\"target\": %q`\n\n", id, id)
	if len(ms) == 0 {
		b.WriteString("No method announced.\n\n")
		return
	}
	methodTable(b, ms)
}

// methodTable writes ms, sorted by name, as a table.
func methodTable(b *bytes.Buffer, ms []Method) {
	ms = append([]Method(nil), ms...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	b.WriteString("| method | params | result | doc |\n|---|---|---|---|\n")
	for _, m := range ms {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", cell(m.Name), code(m.Params), code(m.Result), cell(m.Doc))
	}
	b.WriteString("\n")
}

// code renders s as inline code in a table cell, or a dash when empty.
func code(s string) string {
	s = cell(s)
	if s == "" {
		return "—"
	}
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// cell makes s safe in one markdown table cell: one line, pipes escaped.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// anchor is GitHub's heading anchor for a plain lower-case heading.
func anchor(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", "-"))
}
