package xlsx

import (
	"github.com/v2e/v2e/internal/attack"
)

func (l *loader) mitigations() error {
	dup := seen()
	return readSheet(l.f, l.file, "mitigations", objectHeaders, func(r *row) error {
		o, err := l.object(r, "M")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		l.cat.Mitigations = append(l.cat.Mitigations, attack.Mitigation{Object: o})
		return nil
	})
}

func (l *loader) software() error {
	required := append(append([]string{}, objectHeaders...), "type", "platforms", "aliases")
	dup := seen()
	return readSheet(l.f, l.file, "software", required, func(r *row) error {
		o, err := l.object(r, "S")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		typ, err := r.need("type")
		if err != nil {
			return err
		}
		if typ != "malware" && typ != "tool" {
			return r.errorf("type", "%q is neither malware nor tool", typ)
		}
		l.cat.Software = append(l.cat.Software, attack.Software{
			Object: o, Type: typ, Platforms: r.list("platforms", ","), Aliases: r.list("aliases", ","),
			Contributors: r.list("contributors", ","),
		})
		return nil
	})
}

func (l *loader) groups() error {
	dup := seen()
	return readSheet(l.f, l.file, "groups", objectHeaders, func(r *row) error {
		o, err := l.object(r, "G")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		l.cat.Groups = append(l.cat.Groups, attack.Group{
			Object: o, Aliases: r.list("associated groups", ","), Contributors: r.list("contributors", ","),
		})
		return nil
	})
}

// campaigns reads the campaigns sheet when the workbook has one (ATT&CK
// added campaigns in v12).
func (l *loader) campaigns() error {
	if !hasSheet(l.f, "campaigns") {
		return nil
	}
	dup := seen()
	return readSheet(l.f, l.file, "campaigns", objectHeaders, func(r *row) error {
		o, err := l.object(r, "C")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		c := attack.Campaign{Object: o, Aliases: r.list("associated campaigns", ",")}
		if c.FirstSeen, err = r.date("first seen"); err != nil {
			return err
		}
		if c.LastSeen, err = r.date("last seen"); err != nil {
			return err
		}
		l.cat.Campaigns = append(l.cat.Campaigns, c)
		return nil
	})
}

// assets reads the ICS workbook's assets sheet when there is one.
func (l *loader) assets() error {
	if !hasSheet(l.f, "assets") {
		return nil
	}
	dup := seen()
	return readSheet(l.f, l.file, "assets", objectHeaders, func(r *row) error {
		o, err := l.object(r, "A")
		if err != nil {
			return err
		}
		if err := dup(r, o.ID); err != nil {
			return err
		}
		l.cat.Assets = append(l.cat.Assets, attack.Asset{
			Object: o, Platforms: r.list("platforms", ","), Sectors: r.list("sectors", ","),
			RelatedAssets: r.list("related assets", ";"),
		})
		return nil
	})
}

var relationshipHeaders = []string{
	"source ID", "source ref", "source type", "mapping type",
	"target ID", "target ref", "target type", "STIX ID",
}

// relationships reads the relationships sheet and sends its rows on out in
// batches of relBatch. It runs on its own goroutine and touches no field of
// l.cat (load fills Relationships from the batches).
func (l *loader) relationships(out chan<- []attack.Relationship) error {
	ids := map[string]int{}
	batch := make([]attack.Relationship, 0, relBatch)
	err := readSheet(l.f, l.file, "relationships", relationshipHeaders, func(r *row) error {
		rel := attack.Relationship{ // Domain is set by load once the techniques fixed it
			SourceID: r.get("source ID"), SourceName: r.get("source name"),
			TargetID: r.get("target ID"), TargetName: r.get("target name"), Description: r.get("mapping description"),
		}
		var err error
		for _, c := range []struct {
			dst *string
			h   string
		}{
			{&rel.STIXID, "STIX ID"}, {&rel.Type, "mapping type"}, {&rel.SourceRef, "source ref"},
			{&rel.SourceType, "source type"}, {&rel.TargetRef, "target ref"}, {&rel.TargetType, "target type"},
		} {
			if *c.dst, err = r.need(c.h); err != nil {
				return err
			}
		}
		if prev, ok := ids[rel.STIXID]; ok {
			return r.errorf("STIX ID", "%q repeats row %d", rel.STIXID, prev)
		}
		ids[rel.STIXID] = r.num
		if rel.Created, err = r.date("created"); err != nil {
			return err
		}
		if rel.Modified, err = r.date("last modified"); err != nil {
			return err
		}
		if batch = append(batch, rel); len(batch) == relBatch {
			out <- batch
			batch = make([]attack.Relationship, 0, relBatch)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		out <- batch
	}
	return err
}
