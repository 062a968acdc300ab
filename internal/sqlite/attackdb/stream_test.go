package attackdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/attack/xlsx"
)

// TestImportStream stores the assets folder while it loads and checks that
// the store ends up as Import of the loaded catalogs leaves it; then that a
// streamed import whose second workbook is truncated keeps nothing.
func TestImportStream(t *testing.T) {
	ctx := context.Background()
	day := func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) }
	want := open(t)
	want.Now = day
	// LoadPath's file-name order: enterprise, ics, mobile.
	wantRes, err := want.Import(ctx, catalog(t, enterprise18), catalog(t, ics18), catalog(t, mobile18))
	if err != nil {
		t.Fatal(err)
	}
	s := open(t)
	s.Now = day
	res, err := s.ImportStream(ctx, func(st attack.Sink) error {
		_, err := xlsx.LoadPathTo(assetsDir, st)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, wantRes) {
		t.Errorf("streamed import result = %+v\nwant %+v", res, wantRes)
	}
	for d, c := range v18Counts {
		wantCounts(t, s, d, c)
	}
	for _, q := range []string{
		`SELECT domain, kind, id, name, parent_id, data, present, added_in, removed_in FROM objects ORDER BY domain, kind, id`,
		`SELECT domain, stix_id, type, source_id, source_ref, source_type, source_name, target_id, target_ref, target_type,
			target_name, description, created, modified, present, added_in, removed_in FROM relationships ORDER BY domain, stix_id`,
		`SELECT domain, tactic_id, technique_id FROM technique_tactics ORDER BY domain, technique_id, tactic_id`,
		`SELECT domain, version, source, imported_at, counts, removed FROM imports ORDER BY domain`,
	} {
		got, want := dump(t, s, q), dump(t, want, q)
		if want == "" {
			t.Fatalf("%.40s…: Import stored nothing", q)
		}
		if got != want {
			t.Errorf("%.40s…: streamed store differs (%d vs %d bytes)", q, len(got), len(want))
		}
	}

	t.Run("failing workbook", func(t *testing.T) {
		dir := t.TempDir()
		for _, f := range []struct {
			src, dst string
			frac     int // thirds kept
		}{{mobile18, "a-mobile-attack-v18.1.xlsx", 3}, {ics18, "b-ics-attack-v18.1.xlsx", 2}} {
			data, err := os.ReadFile(f.src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.dst), data[:len(data)*f.frac/3], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		before := dump(t, s, `SELECT gen, domain, version FROM imports ORDER BY gen`)
		s.Now = func() time.Time { return day().Add(time.Hour) }
		_, err := s.ImportStream(ctx, func(st attack.Sink) error {
			_, err := xlsx.LoadPathTo(dir, st)
			return err
		})
		var werr *xlsx.Error
		if !errors.Is(err, attack.ErrWorkbook) || !errors.As(err, &werr) || werr.File != "b-ics-attack-v18.1.xlsx" {
			t.Fatalf("streamed import of a truncated workbook: %v", err)
		}
		if after := dump(t, s, `SELECT gen, domain, version FROM imports ORDER BY gen`); after != before {
			t.Errorf("imports after a failed streamed import:\n%s\nwant\n%s", after, before)
		}
		for d, c := range v18Counts {
			wantCounts(t, s, d, c)
		}
	})

	t.Run("domain twice", func(t *testing.T) {
		_, err := s.ImportStream(ctx, func(st attack.Sink) error {
			c := catalog(t, ics18)
			if err := st.Objects(0, c); err != nil {
				return err
			}
			return st.Objects(1, c)
		})
		if !errors.Is(err, attack.ErrInvalidArgument) {
			t.Fatalf("two ICS catalogs in one stream: %v", err)
		}
	})

	t.Run("not done", func(t *testing.T) {
		_, err := s.ImportStream(ctx, func(st attack.Sink) error { return st.Objects(0, catalog(t, ics18)) })
		if err == nil || !strings.Contains(err.Error(), "not done") {
			t.Fatalf("a stream that never calls Done: %v", err)
		}
		wantCounts(t, s, attack.ICS, v18Counts[attack.ICS])
	})
}

// dump returns the rows of q, one line each.
func dump(t *testing.T, s *Store, q string) string {
	t.Helper()
	rows, err := s.db.Reader().QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			b.WriteString(strings.ReplaceAll(fmtVal(v), "\t", " "))
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func fmtVal(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}
