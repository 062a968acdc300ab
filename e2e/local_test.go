package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// feedRecords returns the cve objects of the bundled 2026 NVD feed.
func feedRecords(t *testing.T) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "assets", "nvd", "nvdcve-2.0-2026.json"))
	if err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Vulnerabilities []struct {
			CVE json.RawMessage `json:"cve"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &feed); err != nil {
		t.Fatal(err)
	}
	out := make([]json.RawMessage, len(feed.Vulnerabilities))
	for i, v := range feed.Vulnerabilities {
		out[i] = v.CVE
	}
	return out
}

func TestLocalCVEStoreThroughBroker(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	recs := feedRecords(t)
	type result struct{ Saved, Updated, Unchanged int }
	save := func() (total result) {
		for i := 0; i < len(recs); i += 100 { // bodies stay under access.max_body_bytes
			var r result
			p.MustCall("local", "RPCSaveCVEs", map[string]any{"cves": recs[i:min(i+100, len(recs))]}, &r)
			total.Saved += r.Saved
			total.Updated += r.Updated
			total.Unchanged += r.Unchanged
		}
		return total
	}
	if res := save(); res.Saved != len(recs) {
		t.Fatalf("saved %+v of %d", res, len(recs))
	}
	if res := save(); res.Unchanged != len(recs) || res.Saved != 0 || res.Updated != 0 {
		t.Fatalf("second save %+v", res)
	}
	var count struct{ Count int }
	p.MustCall("local", "RPCCountCVEs", nil, &count)
	if count.Count != 1069 {
		t.Fatalf("count %d, want 1069 (INDEX.md)", count.Count)
	}
	// Field for field equal.
	var first struct{ ID string }
	json.Unmarshal(recs[0], &first)
	var got struct {
		CVE json.RawMessage `json:"cve"`
		ID  string          `json:"id"`
	}
	p.MustCall("local", "RPCGetCVEByID", map[string]string{"cve_id": first.ID}, &got)
	if !sameJSON(t, got.CVE, recs[0]) {
		t.Fatalf("%s differs after the round trip", first.ID)
	}
	// Search narrows.
	var all, crit struct {
		Total int
		CVEs  []struct {
			ID           string
			CVSSSeverity string `json:"cvss_severity"`
		}
	}
	p.MustCall("local", "RPCSearchCVEs", map[string]any{"limit": 10}, &all)
	p.MustCall("local", "RPCSearchCVEs", map[string]any{"severity": "CRITICAL", "limit": 10}, &crit)
	if all.Total != 1069 || crit.Total == 0 || crit.Total >= all.Total {
		t.Fatalf("search totals: all %d, critical %d", all.Total, crit.Total)
	}
	// Bad input: named error, nothing lost.
	status, env := p.Post(`{"method":"RPCSaveCVEs","target":"local","params":{"cves":[{"id":"CVE-2026-0001"},{"nope":1}]}}`)
	if status != 200 || env.Retcode != 500 || env.Message == "" {
		t.Fatalf("bad batch: %d %+v", status, env)
	}
	p.MustCall("local", "RPCCountCVEs", nil, &count)
	if count.Count != 1069 {
		t.Fatalf("count after a bad batch %d", count.Count)
	}
	_, env = p.Post(`{"method":"RPCGetCVEByID","target":"local","params":{"cve_id":5}}`)
	if env.Retcode != 500 || !strings.Contains(env.Message, `field "cve_id"`) {
		t.Fatalf("wrong type: %+v", env)
	}
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestCatalogImportsThroughBroker(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	var imp struct {
		Success bool
		Count   int
		Skipped bool
	}
	p.MustCall("local", "RPCImportCWEs", nil, &imp)
	if !imp.Success || imp.Count != 964 {
		t.Fatalf("CWE import %+v, want 964 weaknesses", imp)
	}
	p.MustCall("local", "RPCImportCAPECs", nil, &imp)
	if !imp.Success || imp.Count != 615 {
		t.Fatalf("CAPEC import %+v, want 615 attack patterns", imp)
	}
	p.MustCall("local", "RPCImportCAPECs", nil, &imp)
	if !imp.Skipped {
		t.Fatalf("same CAPEC version imported again: %+v", imp)
	}
	var meta struct {
		Version    string `json:"version"`
		TotalCount int    `json:"total_count"`
	}
	p.MustCall("local", "RPCGetCAPECCatalogMeta", nil, &meta)
	if meta.Version != "3.9" || meta.TotalCount != 615 {
		t.Fatalf("meta %+v", meta)
	}
	var w struct {
		CWE struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"cwe"`
	}
	for _, id := range []string{"CWE-79", "79"} {
		p.MustCall("local", "RPCGetCWEByID", map[string]string{"cwe_id": id}, &w)
		if !strings.Contains(w.CWE.Name, "Cross-site Scripting") {
			t.Fatalf("%s: %+v", id, w)
		}
	}
	var list struct {
		CWEs  []json.RawMessage `json:"cwes"`
		Total int
	}
	p.MustCall("local", "RPCListCWEs", map[string]int{"limit": 5}, &list)
	if len(list.CWEs) != 5 || list.Total < 964 {
		t.Fatalf("list %d of %d", len(list.CWEs), list.Total)
	}
	checkCatalogFilter(t, p)
	var rels struct {
		Relationships []struct {
			Nature    string `json:"nature"`
			RelatedID string `json:"related_id"`
		}
	}
	p.MustCall("local", "RPCGetCWERelationships", map[string]string{"cwe_id": "CWE-79", "relationship_type": "ChildOf"}, &rels)
	if len(rels.Relationships) == 0 {
		t.Fatal("CWE-79 has no ChildOf edge")
	}
	var c struct {
		CAPEC struct {
			Name string `json:"name"`
		} `json:"capec"`
	}
	p.MustCall("local", "RPCGetCAPECByID", map[string]string{"capec_id": "CAPEC-66"}, &c)
	if !strings.Contains(c.CAPEC.Name, "SQL Injection") {
		t.Fatalf("CAPEC-66: %+v", c)
	}
	// Import paths stay inside the assets folder.
	for _, bad := range []string{"../go.mod", "/etc/passwd", "../../../../etc/passwd"} {
		_, env := p.Post(`{"method":"RPCImportCWEs","target":"local","params":{"path":"` + bad + `"}}`)
		if env.Retcode != 500 || !strings.Contains(env.Message, "outside") {
			t.Errorf("path %s: %+v", bad, env)
		}
	}
	// A broken file leaves the catalog whole.
	p.MustCall("local", "RPCListCWEs", map[string]int{"limit": 1}, &list)
	before := list.Total
	_, env := p.Post(`{"method":"RPCImportCWEs","target":"local","params":{"path":"capec/capec_schema_latest.xsd"}}`)
	if env.Retcode != 500 {
		t.Fatalf("importing an XSD as CWE: %+v", env)
	}
	p.MustCall("local", "RPCListCWEs", map[string]int{"limit": 1}, &list)
	if list.Total != before {
		t.Fatalf("failed import changed the catalog: %d → %d", before, list.Total)
	}
}

// TestChainFromCVEToAttack imports every catalog, stores a real CVE and
// follows it to its weakness, attack patterns and ATT&CK techniques, then
// back from a technique.
func TestChainFromCVEToAttack(t *testing.T) {
	p := Start(t, DefaultConfig(t))
	var imp struct {
		Success bool
		Count   int
	}
	p.MustCall("local", "RPCImportCWEs", nil, &imp)
	p.MustCall("local", "RPCImportCAPECs", nil, &imp)
	p.MustCall("local", "RPCImportATTACKs", nil, &imp)
	if !imp.Success || imp.Count == 0 {
		t.Fatalf("ATT&CK import %+v", imp)
	}
	var meta struct {
		TotalTechniques int `json:"total_techniques"`
		TotalGroups     int `json:"total_groups"`
	}
	p.MustCall("local", "RPCGetAttackImportMetadata", nil, &meta)
	if meta.TotalTechniques < 691 {
		t.Fatalf("metadata %+v", meta)
	}
	var tech struct {
		Technique struct{ ID, Name string } `json:"technique"`
	}
	p.MustCall("local", "RPCGetAttackTechniqueByID", map[string]string{"id": "T1059"}, &tech)
	if tech.Technique.Name != "Command and Scripting Interpreter" {
		t.Fatalf("T1059: %+v", tech)
	}
	var tactics struct {
		Tactics []json.RawMessage `json:"tactics"`
		Total   int
	}
	p.MustCall("local", "RPCListAttackTactics", map[string]string{"domain": "enterprise"}, &tactics)
	if tactics.Total != 14 {
		t.Fatalf("enterprise tactics %d", tactics.Total)
	}

	// Real 2026 CVEs, one per weakness that commonly maps through CAPEC to
	// ATT&CK: at least one must reach a technique.
	type node struct{ URN, ID, Name, Via string }
	var rel struct {
		CWEs, CAPECs, Techniques, Mitigations []node
	}
	var saved struct {
		CVEID string `json:"cve_id"`
	}
	for _, cweID := range []string{"CWE-78", "CWE-22", "CWE-89", "CWE-94", "CWE-77", "CWE-287", "CWE-306", "CWE-502", "CWE-20", "CWE-79"} {
		var chosen json.RawMessage
		for _, rec := range feedRecords(t) {
			if strings.Contains(string(rec), `"`+cweID+`"`) {
				chosen = rec
				break
			}
		}
		if chosen == nil {
			continue
		}
		p.MustCall("local", "RPCSaveCVEByID", map[string]any{"cve": chosen}, &saved)
		p.MustCall("local", "RPCGetRelated", map[string]string{"urn": "v2e::nvd::cve::" + saved.CVEID}, &rel)
		if len(rel.CWEs) == 0 || len(rel.CAPECs) == 0 {
			t.Fatalf("chain from %s (%s): %+v", saved.CVEID, cweID, rel)
		}
		if len(rel.Techniques) > 0 {
			break
		}
	}
	if len(rel.Techniques) == 0 {
		t.Fatalf("no stored CVE reached an ATT&CK technique: %+v", rel)
	}
	// And back: from a technique to its attack patterns, weaknesses and that CVE.
	var back struct {
		CVEs, CWEs, CAPECs []node
	}
	p.MustCall("local", "RPCGetRelated", map[string]string{"urn": "v2e::mitre::attack::" + rel.Techniques[0].ID}, &back)
	found := false
	for _, c := range back.CVEs {
		found = found || c.ID == saved.CVEID
	}
	if len(back.CAPECs) == 0 || len(back.CWEs) == 0 || !found {
		t.Fatalf("chain back from %s: %+v", rel.Techniques[0].ID, back)
	}
	checkAttackFilter(t, p)
	_, env := p.Post(`{"method":"RPCGetRelated","target":"local","params":{"urn":"v2e::nvd::bogus::x"}}`)
	if env.Retcode != 500 || !strings.Contains(env.Message, "urn") {
		t.Fatalf("bad urn: %+v", env)
	}
}

type filterEntry struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// filtered calls a list method with q through the broker and returns the
// page's entries (under key) and the total.
func filtered(t *testing.T, p *Platform, method, key string, params map[string]any) ([]filterEntry, int) {
	t.Helper()
	var page map[string]json.RawMessage
	p.MustCall("local", method, params, &page)
	var items []filterEntry
	var total int
	if err := errors.Join(json.Unmarshal(page[key], &items), json.Unmarshal(page["total"], &total)); err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	return items, total
}

func filterIDs(items []filterEntry) []string {
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// checkCatalogFilter checks the q filter of the CWE and CAPEC lists through
// the broker and HTTP: what it keeps, its total, paging over the matches,
// ids in either form, and bad q refused with an error naming it.
func checkCatalogFilter(t *testing.T, p *Platform) {
	t.Helper()
	all, total := filtered(t, p, "RPCListCWEs", "cwes", map[string]any{"q": "injection", "limit": 1000})
	if total == 0 || total >= 964 || total != len(all) || !slices.Contains(filterIDs(all), "CWE-89") {
		t.Fatalf("RPCListCWEs q injection: %d of %d %v", len(all), total, filterIDs(all))
	}
	for _, it := range all {
		if !strings.Contains(strings.ToLower(it.Name+" "+it.Description), "injection") {
			t.Errorf("%s matches q injection without the word: %s", it.ID, it.Name)
		}
	}
	var paged []filterEntry
	for off := 0; off < total; off += 4 {
		items, n := filtered(t, p, "RPCListCWEs", "cwes", map[string]any{"q": "INJECTION", "offset": off, "limit": 4})
		if n != total {
			t.Fatalf("offset %d: total %d, want %d", off, n, total)
		}
		paged = append(paged, items...)
	}
	if !slices.Equal(filterIDs(paged), filterIDs(all)) {
		t.Errorf("pages of 4 %v differ from the whole answer %v", filterIDs(paged), filterIDs(all))
	}
	for _, tc := range []struct{ method, key, q, want string }{
		{"RPCListCWEs", "cwes", "CWE-79", "CWE-79"}, {"RPCListCWEs", "cwes", "79", "CWE-79"},
		{"RPCListCWEs", "cwes", "sql command", "CWE-89"}, {"RPCListCWEViews", "views", "simplified mapping", "CWE-1003"},
		{"RPCListCAPECs", "capecs", "CAPEC-66", "CAPEC-66"}, {"RPCListCAPECs", "capecs", "sql injection", "CAPEC-66"},
	} {
		if items, n := filtered(t, p, tc.method, tc.key, map[string]any{"q": tc.q}); n == 0 || !slices.Contains(filterIDs(items), tc.want) {
			t.Errorf("%s q %q: %d, %v lacks %s", tc.method, tc.q, n, filterIDs(items), tc.want)
		}
	}
	for _, bad := range []struct{ params, want string }{
		{`{"q": 79}`, `"q"`}, {`{"q": ["sql"]}`, `"q"`}, {`{"q": "` + strings.Repeat("x", 201) + `"}`, "q is 201 characters"},
		{`{"q": "a\u0000b"}`, "q has a control character"},
	} {
		for _, m := range []string{"RPCListCWEs", "RPCListCAPECs", "RPCListCWEViews"} {
			status, env := p.Post(`{"method":"` + m + `","target":"local","params":` + bad.params + `}`)
			if status != 200 || env.Retcode != 500 || !strings.Contains(env.Message, bad.want) {
				t.Errorf("%s %s: HTTP %d %+v, want an error naming %s", m, bad.params, status, env, bad.want)
			}
		}
	}
	if _, n := filtered(t, p, "RPCListCWEs", "cwes", map[string]any{"q": "injection"}); n != total {
		t.Errorf("after bad calls q injection counts %d, before %d", n, total)
	}
}

// checkAttackFilter checks the q filter of the ATT&CK lists.
func checkAttackFilter(t *testing.T, p *Platform) {
	t.Helper()
	for _, tc := range []struct {
		method, key string
		params      map[string]any
		want        []string
	}{
		{"RPCListAttackTechniques", "techniques", map[string]any{"q": "T1059", "domain": "enterprise", "limit": 1000}, []string{"T1059", "T1059.001"}},
		{"RPCListAttackTechniques", "techniques", map[string]any{"q": "phishing", "limit": 1000}, []string{"T1566", "T1566.001"}},
		{"RPCListAttackTechniques", "techniques", map[string]any{"q": "t1059", "tactic": "TA0002", "domain": "enterprise"}, []string{"T1059.004"}},
		{"RPCListAttackGroups", "groups", map[string]any{"q": "fancy bear"}, []string{"G0007"}},
		{"RPCListAttackSoftware", "software", map[string]any{"q": "mimikatz"}, []string{"S0002"}},
		{"RPCListAttackMitigations", "mitigations", map[string]any{"q": "M1049"}, []string{"M1049"}},
		{"RPCListAttackTactics", "tactics", map[string]any{"q": "execution", "domain": "ics"}, []string{"TA0104"}},
		{"RPCListAttackCampaigns", "campaigns", map[string]any{"q": "C0001"}, []string{"C0001"}},
	} {
		items, n := filtered(t, p, tc.method, tc.key, tc.params)
		ids := filterIDs(items)
		for _, w := range tc.want {
			if !slices.Contains(ids, w) {
				t.Errorf("%s %v: %d %v lacks %s", tc.method, tc.params, n, ids, w)
			}
		}
	}
	_, all := filtered(t, p, "RPCListAttackTechniques", "techniques", map[string]any{"limit": 1})
	if _, n := filtered(t, p, "RPCListAttackTechniques", "techniques", map[string]any{"q": "credential"}); n == 0 || n >= all {
		t.Errorf("q credential keeps %d of %d techniques", n, all)
	}
	status, env := p.Post(`{"method":"RPCListAttackGroups","target":"local","params":{"q":{"x":1}}}`)
	if status != 200 || env.Retcode != 500 || !strings.Contains(env.Message, `"q"`) {
		t.Errorf("q as an object: HTTP %d %+v", status, env)
	}
}
