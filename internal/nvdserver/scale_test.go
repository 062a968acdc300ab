package nvdserver

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/v2e/v2e/internal/nvd"
)

func TestScaleRecordsKeepRealStructure(t *testing.T) {
	base := realFeed(t).Records()
	const n = 3000
	s, err := NewScale(base, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.tmpls) != len(base) {
		t.Errorf("%d of %d real records usable as models", len(s.tmpls), len(base))
	}
	ids := map[string]bool{}
	for i := 0; i < n; i += 7 {
		raw := s.AppendRaw(nil, i)
		rec, err := nvd.ParseRecord(raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		m := s.Meta(i)
		if rec.ID != s.ID(i) || !rec.Published.Equal(m.Published) || !rec.LastModified.Equal(m.LastModified) || rec.Rejected != m.Rejected {
			t.Fatalf("record %d: parsed %s %v %v, catalog says %s %+v", i, rec.ID, rec.Published, rec.LastModified, s.ID(i), m)
		}
		if ids[rec.ID] {
			t.Fatalf("duplicate id %s", rec.ID)
		}
		ids[rec.ID] = true
		if j, ok := s.Lookup(rec.ID); !ok || j != i {
			t.Fatalf("Lookup(%s) = %d, %v", rec.ID, j, ok)
		}
		model := base[i%len(base)]
		if d := model.Published.Sub(rec.Published); d < 0 || d > maxShift || d != model.LastModified.Sub(rec.LastModified) {
			t.Fatalf("record %d: dates moved by %v", i, d)
		}
		// Apart from the three changed fields, the record is its model.
		var got, want map[string]any
		json.Unmarshal(raw, &got)
		json.Unmarshal(model.Raw, &want)
		for _, k := range []string{"id", "published", "lastModified"} {
			delete(got, k)
			delete(want, k)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d differs from its model %s beyond id and dates", i, model.ID)
		}
	}
	for _, id := range []string{"CVE-2026-0544", "CVE-2020-999", "CVE-2020-1003000", "nonsense"} {
		if _, ok := s.Lookup(id); ok {
			t.Errorf("Lookup(%q) found a record", id)
		}
	}
}

func TestScaleIsDeterministic(t *testing.T) {
	base := realFeed(t).Records()
	a, _ := NewScale(base, 500, 1)
	b, _ := NewScale(base, 500, 1)
	c, _ := NewScale(base, 500, 2)
	same, diff := 0, 0
	for i := range 500 {
		if string(a.AppendRaw(nil, i)) == string(b.AppendRaw(nil, i)) {
			same++
		}
		if a.Meta(i).Published != c.Meta(i).Published {
			diff++
		}
	}
	if same != 500 || diff < 490 {
		t.Errorf("same seed: %d/500 equal; other seed: %d/500 differ", same, diff)
	}
	if _, err := NewScale(base, -1, 1); !errors.Is(err, ErrScale) {
		t.Errorf("n=-1: %v", err)
	}
	if _, err := NewScale(nil, 10, 1); !errors.Is(err, ErrScale) {
		t.Errorf("no models: %v", err)
	}
}

func TestScaleServesDateQueries(t *testing.T) {
	s, _ := NewScale(realFeed(t).Records(), 20000, 3)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	q := nvd.Query{LastModStart: start, LastModEnd: start.Add(nvd.MaxRange), ResultsPerPage: 2000}
	total, idx := nvd.Select(s, q, 2000)
	want := 0
	for i := range s.Len() {
		if q.Match(s.ID(i), s.Meta(i)) {
			want++
		}
	}
	if total != want || want == 0 || len(idx) != min(want, 2000) {
		t.Errorf("Select: total %d (%d indexes), direct count %d", total, len(idx), want)
	}
}

func BenchmarkScaleAppendRaw(b *testing.B) {
	s, err := NewScale(realFeed(b).Records(), 300_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	buf := make([]byte, 0, 1<<16)
	var bytes int64
	for i := 0; b.Loop(); i++ {
		buf = s.AppendRaw(buf[:0], i%300_000)
		bytes += int64(len(buf))
	}
	b.SetBytes(bytes / int64(b.N))
}
