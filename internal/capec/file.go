package capec

import (
	"fmt"
	"os"
	"path/filepath"
)

// LoadSchemaFile reads the XSD at path.
func LoadSchemaFile(path string) (*Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capec: %w", err)
	}
	defer f.Close()
	s, err := LoadSchema(f)
	if err != nil {
		return nil, fmt.Errorf("capec: %s: %w", filepath.Base(path), err)
	}
	return s, nil
}

// ReadHeaderFile reads the root attributes of the catalog at path.
func ReadHeaderFile(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, fmt.Errorf("capec: %w", err)
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		return h, fmt.Errorf("capec: %s: %w", filepath.Base(path), err)
	}
	return h, nil
}

// ReadFile validates the catalog at path against schema (unless schema is
// nil) and parses it. With strict set, any violation fails the read with an
// error wrapping ErrSchema that lists the first violations; otherwise the
// violations are returned beside the catalog as warnings. A document that is
// not well-formed fails either way (ErrMalformed). Errors name the file.
func ReadFile(path string, schema *Schema, strict bool) (*Catalog, []Violation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("capec: %w", err)
	}
	defer f.Close()
	name := filepath.Base(path)
	var vs []Violation
	if schema != nil {
		if vs, err = schema.Validate(f); err != nil {
			return nil, vs, fmt.Errorf("capec: %s: %w", name, err)
		}
		if strict && len(vs) > 0 {
			return nil, vs, fmt.Errorf("capec: %s: %w", name, errViolations(vs))
		}
		if _, err := f.Seek(0, 0); err != nil {
			return nil, vs, fmt.Errorf("capec: %s: %w", name, err)
		}
	}
	c, err := Parse(f)
	if err != nil {
		return nil, vs, fmt.Errorf("capec: %s: %w", name, err)
	}
	return c, vs, nil
}
