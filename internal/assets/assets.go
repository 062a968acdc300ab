// Package assets confines file paths given over RPC to the configured assets
// folder, so that an import request cannot read files elsewhere on the host.
package assets

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrOutsideRoot is wrapped by ConfinePath when a path resolves outside the
// assets folder (through "..", an absolute path or a symbolic link).
var ErrOutsideRoot = errors.New("path is outside the assets folder")

// ConfinePath resolves p against root and returns the absolute, symlink-free
// path of the file it names, or an error wrapping ErrOutsideRoot when that file
// lies outside root. A relative p is taken relative to root; an absolute p is
// accepted only when it lies inside root. Both root and the file must exist, so
// that symbolic links can be resolved.
func ConfinePath(root, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("assets: empty path")
	}
	realRoot, err := realPath(root)
	if err != nil {
		return "", fmt.Errorf("assets: root %q: %w", root, err)
	}
	joined := p
	if !filepath.IsAbs(p) {
		joined = filepath.Join(realRoot, p)
		// A lexical check first, so that "../x" is refused even when it does not exist.
		if !within(realRoot, joined) {
			return "", fmt.Errorf("assets: %q: %w %q", p, ErrOutsideRoot, root)
		}
	}
	real, err := realPath(joined)
	if err != nil {
		return "", fmt.Errorf("assets: %q: %w", p, err)
	}
	if !within(realRoot, real) {
		return "", fmt.Errorf("assets: %q: %w %q", p, ErrOutsideRoot, root)
	}
	return real, nil
}

func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether p is root or lies below it; both must be clean and absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
