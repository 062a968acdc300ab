package cwe

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ReadFile reads a catalog from path, which holds the XML catalog, the JSON
// form, or a zip archive with one of them inside (the first .xml or .json
// member). The format is recognised from the content, not the name. Errors
// name the file: "cwe: cwec_v4.15.xml: line 3: ...".
func ReadFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cwe: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(4)
	if bytes.Equal(head, []byte("PK\x03\x04")) {
		return readZip(path)
	}
	c, err := Parse(br)
	if err != nil {
		return nil, fmt.Errorf("cwe: %s: %w", filepath.Base(path), err)
	}
	return c, nil
}

// Parse reads the XML or JSON form from r, telling them apart by the first
// non-blank byte ('<' or '[' / '{').
func Parse(r io.Reader) (*Catalog, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, fmt.Errorf("%w: empty input", ErrMalformed)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF: // blanks and a UTF-8 byte-order mark
			br.Discard(1)
			continue
		case '<':
			return ParseXML(br)
		case '[', '{':
			return ParseJSON(br)
		}
		return nil, fmt.Errorf("%w: line 1: neither XML nor JSON (starts with %q)", ErrMalformed, b[0])
	}
}

func readZip(path string) (*Catalog, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("cwe: %s: %w: %w", filepath.Base(path), ErrMalformed, err)
	}
	defer zr.Close()
	for _, m := range zr.File {
		ext := strings.ToLower(filepath.Ext(m.Name))
		if ext != ".xml" && ext != ".json" {
			continue
		}
		name := filepath.Base(path) + "!" + m.Name
		rc, err := m.Open()
		if err != nil {
			return nil, fmt.Errorf("cwe: %s: %w: %w", name, ErrMalformed, err)
		}
		defer rc.Close()
		c, err := Parse(rc)
		if err != nil {
			return nil, fmt.Errorf("cwe: %s: %w", name, err)
		}
		// Read to the end so that the archive's checksum is verified.
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return nil, fmt.Errorf("cwe: %s: %w: %w", name, ErrMalformed, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("cwe: %s: %w: no .xml or .json member in the archive", filepath.Base(path), ErrMalformed)
}
