// Package sqlitetest holds what the tests and benchmarks of the catalog
// stores (cwedb, capecdb, attackdb) share: one store per test binary filled
// from the real bundled catalog, and a plain-Go statement of the q filter's
// meaning to check the full-text index against.
package sqlitetest

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/v2e/v2e/internal/sqlite"
)

// Shared is a store opened in a temporary folder and filled once, for the
// tests of a package that only read it.
type Shared[S io.Closer] struct {
	once   sync.Once
	dir    string
	store  S
	opened bool
	err    error
}

// Get opens the store (file name in a new temporary folder) with open, fills
// it with fill, and returns it; later calls return the same store. A failure
// fails t, at every call.
func (s *Shared[S]) Get(t testing.TB, name string, open func(path string) (S, error), fill func(S) error) S {
	t.Helper()
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "sqlitetest"); s.err != nil {
			return
		}
		if s.store, s.err = open(filepath.Join(s.dir, name)); s.err != nil {
			return
		}
		s.opened = true
		s.err = fill(s.store)
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.store
}

// Close closes the store and removes its folder; call it from TestMain
// after m.Run.
func (s *Shared[S]) Close() {
	if s.dir == "" {
		return
	}
	if s.opened {
		s.store.Close()
	}
	os.RemoveAll(s.dir)
}

// Words splits text as the index's unicode61 tokenizer does, lower-cased,
// for Matches.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// Matches reports whether a text, split by Words, satisfies the text filter
// q as sqlite.Match defines it, without SQLite: every whitespace-separated
// word of q, split into letter-and-digit parts, occurs in the text as
// consecutive words, case-insensitively, the last part as a word prefix. A
// q without any letter or digit matches every text.
func Matches(words []string, q string) bool {
	for _, w := range strings.Fields(q) {
		p := Words(w)
		if len(p) > 0 && !phrase(words, p) {
			return false
		}
	}
	return true
}

func phrase(words, p []string) bool {
	last := len(p) - 1
	for i := 0; i+last < len(words); i++ {
		ok := strings.HasPrefix(words[i+last], p[last])
		for j := 0; ok && j < last; j++ {
			ok = words[i+j] == p[j]
		}
		if ok {
			return true
		}
	}
	return false
}

// Entry is one catalog entry as the q filter sees it.
type Entry struct {
	ID    string
	Words []string // of its searched text, by Words
}

// Want lists, in the order of entries, the ids of those that q keeps: isID
// tells whether an entry's id is what q names (in any accepted form), or
// else its words must match.
func Want(entries []Entry, q string, isID func(id string) bool) []string {
	out := []string{}
	for _, e := range entries {
		if isID(e.ID) || Matches(e.Words, q) {
			out = append(out, e.ID)
		}
	}
	return out
}

// List is a list method under test: the ids of one page for q, and the total.
type List func(q string, offset, limit int) (ids []string, total int, err error)

// FilterCase is one q, an id its answer must hold ("" for none) and bounds
// on its total: they keep an oracle from agreeing by being empty.
type FilterCase struct {
	Q        string
	Must     string
	Min, Max int
}

// CheckFilter asks list for every case, whole (limit 1000), and compares the
// answer and its total with want(q), computed without SQLite.
func CheckFilter(t *testing.T, list List, want func(q string) []string, cases []FilterCase) {
	t.Helper()
	for _, tc := range cases {
		w := want(tc.Q)
		got, total, err := list(tc.Q, 0, 1000)
		if err != nil {
			t.Errorf("q %q: %v", tc.Q, err)
			continue
		}
		if total != len(w) || !slices.Equal(got, w) {
			t.Errorf("q %q: total %d, %v\nwant %d, %v", tc.Q, total, got, len(w), w)
		}
		if total < tc.Min || total > tc.Max || (tc.Must != "" && !slices.Contains(got, tc.Must)) {
			t.Errorf("q %q: total %d (want %d..%d), %v lacks %s", tc.Q, total, tc.Min, tc.Max, got, tc.Must)
		}
	}
}

// CheckPages asks list for pages of q's answer and checks that each is the
// slice of whole at its offset, with the same total.
func CheckPages(t *testing.T, list List, q string, whole []string, limit int) {
	t.Helper()
	for _, off := range []int{0, limit, len(whole) - limit/2, len(whole)} {
		off = max(0, off)
		got, total, err := list(q, off, limit)
		if err != nil || total != len(whole) || !slices.Equal(got, whole[off:min(len(whole), off+limit)]) {
			t.Errorf("q %q offset %d limit %d: total %d %v, %v; want total %d", q, off, limit, total, got, err, len(whole))
		}
	}
}

// CheckBadQ checks that list refuses a q over 200 characters or with a
// control character, with an error that bad accepts and that names q.
func CheckBadQ(t *testing.T, list List, bad func(error) bool) {
	t.Helper()
	for _, q := range []string{strings.Repeat("a", 201), "sql\x00", "ab\x1b[0m"} {
		if _, _, err := list(q, 0, 10); !bad(err) || !strings.Contains(err.Error(), "q ") {
			t.Errorf("q %.20q: %v, want a bad request naming q", q, err)
		}
	}
	if _, _, err := list(strings.Repeat("é", 200), 0, 10); err != nil {
		t.Errorf("200 characters (400 bytes): %v", err)
	}
}

// IDs returns the "id" of each JSON entry.
func IDs(items []json.RawMessage) ([]string, error) {
	ids := []string{}
	for _, it := range items {
		var e struct{ ID string }
		if err := json.Unmarshal(it, &e); err != nil {
			return nil, err
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// PageList adapts a store's list method (cwedb, capecdb) to List.
func PageList(list func(context.Context, sqlite.ListQuery) (sqlite.Page, error)) List {
	return func(q string, offset, limit int) ([]string, int, error) {
		p, err := list(context.Background(), sqlite.ListQuery{Q: q, Offset: offset, Limit: limit})
		if err != nil {
			return nil, 0, err
		}
		ids, err := IDs(p.Items)
		return ids, p.Total, err
	}
}
