package local

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/v2e/v2e/internal/attack"
	"github.com/v2e/v2e/internal/cve"
	"github.com/v2e/v2e/internal/rpc"
	"github.com/v2e/v2e/internal/service"
	"github.com/v2e/v2e/internal/sqlite/capecdb"
	"github.com/v2e/v2e/internal/sqlite/cwedb"
	"github.com/v2e/v2e/internal/urn"
)

// Related answers RPCGetRelated: the neighbours of any stored object across
// kinds, along the chain CVE → CWE → CAPEC → ATT&CK technique → mitigations,
// groups and software, in either direction.
type Related struct {
	CVE    cve.Store
	CWE    *cwedb.Store
	CAPEC  *capecdb.Store
	Attack attack.Service
}

// Node is one related object. Via names the object it was reached from.
type Node struct {
	URN  string `json:"urn"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Via  string `json:"via,omitempty"`
}

// RelatedResult lists the neighbours by kind; the starting object's own
// kind is empty.
type RelatedResult struct {
	URN         string `json:"urn"`
	CVEs        []Node `json:"cves"`
	CWEs        []Node `json:"cwes"`
	CAPECs      []Node `json:"capecs"`
	Techniques  []Node `json:"techniques"`
	Mitigations []Node `json:"mitigations"`
	Groups      []Node `json:"groups"`
	Software    []Node `json:"software"`
}

// maxCVEsPerWeakness bounds the CVEs listed for each weakness reached.
const maxCVEsPerWeakness = 25

// Register adds RPCGetRelated to s.
func (h Related) Register(s *service.Service) {
	s.Register(service.Method{Name: "RPCGetRelated", Params: "{urn}",
		Result: "{urn, cves, cwes, capecs, techniques, mitigations, groups, software}: each [{urn, id, name, via}]",
		Doc:    "Neighbours across kinds: v2e::nvd::cve::CVE-…, v2e::mitre::cwe::CWE-…, v2e::mitre::capec::CAPEC-…, v2e::mitre::attack::T…"}, h.related)
}

type collector struct {
	h    Related
	ctx  context.Context
	seen map[string]bool
	res  RelatedResult
}

func (c *collector) add(list *[]Node, u urn.URN, id, name, via string) bool {
	key := u.String()
	if c.seen[key] {
		return false
	}
	c.seen[key] = true
	*list = append(*list, Node{URN: key, ID: id, Name: name, Via: via})
	return true
}

func (h Related) related(ctx context.Context, params json.RawMessage) (any, error) {
	p, err := service.Decode[struct {
		URN string `json:"urn"`
	}](params)
	if err != nil {
		return nil, err
	}
	if err := service.Required("urn", p.URN); err != nil {
		return nil, err
	}
	u, err := urn.Parse(p.URN)
	if err != nil {
		return nil, &rpc.Error{Code: rpc.CodeInvalid, Message: "invalid params: urn: " + err.Error()}
	}
	c := &collector{h: h, ctx: ctx, seen: map[string]bool{u.String(): true}}
	c.res.URN = u.String()
	switch u.Type() {
	case urn.CVE:
		err = c.fromCVE(u.ID())
	case urn.CWE:
		err = c.fromCWEs([]string{u.ID()}, "", true)
	case urn.CAPEC:
		err = c.fromCAPEC(u.ID())
	case urn.ATTACK:
		err = c.fromAttack(u.ID())
	default:
		return nil, invalidf("urn: type %q has no relations", u.Type())
	}
	if err != nil {
		return nil, wireError(err)
	}
	c.normalize()
	return c.res, nil
}

func (c *collector) fromCVE(id string) error {
	cwes, err := c.h.CVE.CWEs(c.ctx, id)
	if err != nil {
		return err
	}
	var ids []string
	for _, w := range cwes {
		if strings.HasPrefix(w, "CWE-") {
			ids = append(ids, w)
		}
	}
	return c.fromCWEs(ids, id, false)
}

// fromCWEs adds the weaknesses (unless they are the start), the CVEs that
// have them (when listCVEs), and everything past them.
func (c *collector) fromCWEs(ids []string, via string, listCVEs bool) error {
	var capecs []Node
	for _, id := range ids {
		if via != "" {
			c.addCWE(id, via)
		}
		if listCVEs {
			if err := c.cvesOf(id); err != nil {
				return err
			}
		}
		linked, err := c.capecsOfCWE(id)
		if err != nil {
			return err
		}
		for _, cp := range linked {
			capecs = append(capecs, Node{ID: cp, Via: id})
		}
	}
	for _, n := range capecs {
		if err := c.capec(n.ID, n.Via, true); err != nil {
			return err
		}
	}
	return nil
}

func (c *collector) cvesOf(cweID string) error {
	res, err := c.h.CVE.Search(c.ctx, cve.SearchQuery{CWEID: cweID, Limit: maxCVEsPerWeakness})
	if err != nil {
		return err
	}
	for _, s := range res.CVEs {
		u, err := urn.New(urn.NVD, urn.CVE, s.ID)
		if err != nil {
			continue
		}
		c.add(&c.res.CVEs, u, s.ID, "", cweID)
	}
	return nil
}

// addCWE adds a weakness with its name; false when it was already listed.
func (c *collector) addCWE(id, via string) bool {
	wu, err := urn.New(urn.MITRE, urn.CWE, id)
	if err != nil {
		return false
	}
	name := ""
	if w, err := c.h.CWE.Weakness(c.ctx, id); err == nil {
		name = w.Name
	}
	return c.add(&c.res.CWEs, wu, id, name, via)
}

// cwesOfCAPEC is the union of what both catalogs say.
func (c *collector) cwesOfCAPEC(capecID string) ([]string, error) {
	a, err := c.h.CAPEC.CWEsForCAPEC(c.ctx, capecID)
	if err != nil {
		return nil, err
	}
	b, err := c.h.CWE.CWEsForCAPEC(c.ctx, capecID)
	if err != nil {
		return nil, err
	}
	return union(a, b), nil
}

// techniquesOfCAPEC adds the techniques an attack pattern maps to.
func (c *collector) techniquesOfCAPEC(capecID string) error {
	techs, err := c.h.CAPEC.AttackTechniquesForCAPEC(c.ctx, capecID)
	if err != nil {
		return err
	}
	for _, t := range techs {
		if err := c.technique(t, capecID); err != nil {
			return err
		}
	}
	return nil
}

// capecsOfCWE is the union of what both catalogs say.
func (c *collector) capecsOfCWE(cweID string) ([]string, error) {
	a, err := c.h.CWE.CAPECsForCWE(c.ctx, cweID)
	if err != nil {
		return nil, err
	}
	b, err := c.h.CAPEC.CAPECsForCWE(c.ctx, cweID)
	if err != nil {
		return nil, err
	}
	return union(a, b), nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(a, b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// capec adds one attack pattern and, when forward, the techniques it maps to.
func (c *collector) capec(id, via string, forward bool) error {
	cu, err := urn.New(urn.MITRE, urn.CAPEC, id)
	if err != nil {
		return err
	}
	name := ""
	if ap, err := c.h.CAPEC.AttackPattern(c.ctx, id); err == nil {
		name = ap.Name
	}
	if !c.add(&c.res.CAPECs, cu, id, name, via) || !forward {
		return nil
	}
	return c.techniquesOfCAPEC(id)
}

// technique adds a technique with its mitigations, groups and software.
func (c *collector) technique(id, via string) error {
	tu, err := urn.New(urn.MITRE, urn.ATTACK, id)
	if err != nil {
		return err
	}
	links, err := c.h.Attack.TechniqueLinks(c.ctx, id, "")
	if errors.Is(err, attack.ErrNotFound) {
		c.add(&c.res.Techniques, tu, id, "", via) // mapped by CAPEC, not in the imported ATT&CK
		return nil
	}
	if err != nil {
		return err
	}
	if !c.add(&c.res.Techniques, tu, id, links.Technique.Name, via) && via != "" {
		return nil
	}
	for _, group := range []struct {
		list  *[]Node
		links []attack.Link
	}{{&c.res.Mitigations, links.Mitigations}, {&c.res.Groups, links.Groups}, {&c.res.Software, links.Software}} {
		for _, l := range group.links {
			if lu, err := urn.New(urn.MITRE, urn.ATTACK, l.ID); err == nil {
				c.add(group.list, lu, l.ID, l.Name, id)
			}
		}
	}
	return nil
}

func (c *collector) fromCAPEC(id string) error {
	cwes, err := c.cwesOfCAPEC(id)
	if err != nil {
		return err
	}
	for _, w := range cwes {
		c.addCWE(w, id)
		if err := c.cvesOf(w); err != nil {
			return err
		}
	}
	return c.techniquesOfCAPEC(id)
}

func (c *collector) fromAttack(id string) error {
	id, err := attack.NormalizeID(id)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(id, "T") {
		// A mitigation, group or software: its techniques, then onwards.
		links, err := c.h.Attack.TechniquesOf(c.ctx, id, "")
		if err != nil {
			return err
		}
		for _, l := range links {
			if lu, err := urn.New(urn.MITRE, urn.ATTACK, l.ID); err == nil {
				c.add(&c.res.Techniques, lu, l.ID, l.Name, id)
			}
		}
		return nil
	}
	if err := c.technique(id, ""); err != nil {
		return err
	}
	capecs, err := c.h.CAPEC.CAPECsForAttackTechnique(c.ctx, id)
	if err != nil {
		return err
	}
	var cwes []string
	for _, cp := range capecs {
		if err := c.capec(cp, id, false); err != nil {
			return err
		}
		linked, err := c.cwesOfCAPEC(cp)
		if err != nil {
			return err
		}
		for _, w := range linked {
			if c.addCWE(w, cp) {
				cwes = append(cwes, w)
			}
		}
	}
	for _, w := range cwes {
		if err := c.cvesOf(w); err != nil {
			return err
		}
	}
	return nil
}

// normalize turns nil lists into empty ones for the wire.
func (c *collector) normalize() {
	for _, l := range []*[]Node{&c.res.CVEs, &c.res.CWEs, &c.res.CAPECs, &c.res.Techniques, &c.res.Mitigations, &c.res.Groups, &c.res.Software} {
		if *l == nil {
			*l = []Node{}
		}
	}
}
