package attackdb

import (
	"context"
	"slices"
	"testing"

	"github.com/v2e/v2e/internal/attack"
)

// expectLinks collects from a catalog's relationships the ids of kind
// linked to id (either direction), as the store should report them.
func expectLinks(c *attack.Catalog, id string, kind attack.Kind) []string {
	out := []string{}
	for _, r := range c.Relationships {
		switch {
		case r.SourceID == id && attack.Kind(r.TargetType) == kind:
			out = append(out, r.TargetID)
		case r.TargetID == id && attack.Kind(r.SourceType) == kind:
			out = append(out, r.SourceID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func linkIDs(links []attack.Link) []string {
	out := []string{}
	for _, l := range links {
		out = append(out, l.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func techniqueLinks(t *testing.T, s *Store) {
	ctx := context.Background()
	ent := catalog(t, enterprise18)
	tl, err := s.TechniqueLinks(ctx, "T1059", "")
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, te := range ent.Techniques {
		if te.Parent == "T1059" {
			subs = append(subs, te.ID)
		}
	}
	slices.Sort(subs)
	var got []string
	for _, r := range tl.SubTechniques {
		got = append(got, r.ID)
	}
	if len(subs) == 0 || !slices.Equal(got, subs) || tl.Parent != nil {
		t.Errorf("T1059 sub-techniques %v parent %v, want %v", got, tl.Parent, subs)
	}
	for kind, links := range map[attack.Kind][]attack.Link{
		attack.KindMitigation: tl.Mitigations, attack.KindGroup: tl.Groups,
		attack.KindSoftware: tl.Software, attack.KindCampaign: tl.Campaigns,
	} {
		want := expectLinks(ent, "T1059", kind)
		if g := linkIDs(links); len(want) == 0 || !slices.Equal(g, want) {
			t.Errorf("T1059 %s: %d links, want %d", kind, len(g), len(want))
		}
	}
	if len(tl.Tactics) != 1 || tl.Tactics[0].ID != "TA0002" || tl.Tactics[0].Name != "Execution" {
		t.Errorf("T1059 tactics %+v", tl.Tactics)
	}

	sub, err := s.TechniqueLinks(ctx, "T1059.001", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Parent == nil || sub.Parent.ID != "T1059" || sub.Parent.Name == "" || len(sub.SubTechniques) != 0 {
		t.Errorf("T1059.001 parent %+v subs %v", sub.Parent, sub.SubTechniques)
	}
	ics := catalog(t, ics18)
	id := ics.Techniques[0].ID
	il, err := s.TechniqueLinks(ctx, id, "ics")
	if err != nil {
		t.Fatal(err)
	}
	if want := expectLinks(ics, id, attack.KindAsset); !slices.Equal(linkIDs(il.Assets), want) {
		t.Errorf("ICS %s assets %v, want %v", id, linkIDs(il.Assets), want)
	}
}

func techniquesOf(t *testing.T, s *Store) {
	ctx := context.Background()
	ent, mob := catalog(t, enterprise18), catalog(t, mobile18)
	for _, tt := range []struct {
		c      *attack.Catalog
		id     string
		domain string
	}{
		{ent, "G0007", ""}, {ent, "S0154", "enterprise"}, {ent, "M1036", ""}, {ent, "C0028", ""},
		{mob, "G1028", "mobile"},
	} {
		links, err := s.TechniquesOf(ctx, tt.id, tt.domain)
		if err != nil {
			t.Fatal(err)
		}
		want := expectLinks(tt.c, tt.id, attack.KindTechnique)
		if got := linkIDs(links); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s in %s: %d techniques, want %d", tt.id, tt.c.Domain, len(got), len(want))
		}
		for _, l := range links {
			if l.Name == "" || l.Relationship == "" || l.Domain != tt.c.Domain {
				t.Errorf("%s: incomplete link %+v", tt.id, l)
				break
			}
		}
	}
	all, err := s.Links(ctx, "G0007", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(expectLinks(ent, "G0007", attack.KindSoftware)); len(linkIDs(filter(all, attack.KindSoftware))) != want {
		t.Errorf("G0007 software links %d, want %d", len(filter(all, attack.KindSoftware)), want)
	}
}

func filter(links []attack.Link, k attack.Kind) []attack.Link {
	var out []attack.Link
	for _, l := range links {
		if l.Kind == k {
			out = append(out, l)
		}
	}
	return out
}

func matrix(t *testing.T, s *Store) {
	for _, p := range []string{enterprise18, mobile18, ics18} {
		c := catalog(t, p)
		cols, err := s.Matrix(context.Background(), string(c.Domain))
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) != len(c.Tactics) {
			t.Fatalf("%s: %d columns, want %d", c.Domain, len(cols), len(c.Tactics))
		}
		placed, want := 0, 0
		for _, te := range c.Techniques {
			want += len(te.TacticIDs)
		}
		for i, col := range cols {
			if i > 0 {
				prev, _ := s.GetTactic(context.Background(), cols[i-1].Tactic.ID, string(c.Domain))
				cur, _ := s.GetTactic(context.Background(), col.Tactic.ID, string(c.Domain))
				if prev.MatrixOrder >= cur.MatrixOrder {
					t.Errorf("%s: %s before %s", c.Domain, prev.Name, cur.Name)
				}
			}
			for _, mt := range col.Techniques {
				placed += 1 + len(mt.SubTechniques)
			}
		}
		if placed != want {
			t.Errorf("%s: %d technique placements, want %d", c.Domain, placed, want)
		}
	}
	cols, _ := s.Matrix(context.Background(), "")
	if cols[0].Tactic.Name != "Reconnaissance" || cols[len(cols)-1].Tactic.Name != "Impact" {
		t.Errorf("enterprise matrix runs %s … %s", cols[0].Tactic.Name, cols[len(cols)-1].Tactic.Name)
	}
}
