package capec

// AttackPattern is one CAPEC attack pattern without its content history. XML
// tags follow the capec-3 schema; JSON keys are the snake_case RPC form.
type AttackPattern struct {
	Kind                  string                 `xml:"-" json:"kind"`
	ID                    string                 `xml:"ID,attr" json:"id"`
	Name                  string                 `xml:"Name,attr" json:"name"`
	Abstraction           string                 `xml:"Abstraction,attr" json:"abstraction"`
	Status                string                 `xml:"Status,attr" json:"status"`
	Description           Text                   `xml:"Description" json:"description"`
	ExtendedDescription   Text                   `xml:"Extended_Description" json:"extended_description,omitempty"`
	AlternateTerms        []AlternateTerm        `xml:"Alternate_Terms>Alternate_Term" json:"alternate_terms,omitempty"`
	Likelihood            string                 `xml:"Likelihood_Of_Attack" json:"likelihood,omitempty"`
	Severity              string                 `xml:"Typical_Severity" json:"severity,omitempty"`
	RelatedAttackPatterns []RelatedAttackPattern `xml:"Related_Attack_Patterns>Related_Attack_Pattern" json:"related_attack_patterns,omitempty"`
	ExecutionFlow         []AttackStep           `xml:"Execution_Flow>Attack_Step" json:"execution_flow,omitempty"`
	Prerequisites         []Text                 `xml:"Prerequisites>Prerequisite" json:"prerequisites,omitempty"`
	Skills                []Skill                `xml:"Skills_Required>Skill" json:"skills,omitempty"`
	Resources             []Text                 `xml:"Resources_Required>Resource" json:"resources,omitempty"`
	Indicators            []Text                 `xml:"Indicators>Indicator" json:"indicators,omitempty"`
	Consequences          []Consequence          `xml:"Consequences>Consequence" json:"consequences,omitempty"`
	Mitigations           []Text                 `xml:"Mitigations>Mitigation" json:"mitigations,omitempty"`
	ExampleInstances      []Text                 `xml:"Example_Instances>Example" json:"example_instances,omitempty"`
	RelatedWeaknesses     []WeaknessRef          `xml:"Related_Weaknesses>Related_Weakness" json:"related_weaknesses,omitempty"`
	TaxonomyMappings      []TaxonomyMapping      `xml:"Taxonomy_Mappings>Taxonomy_Mapping" json:"taxonomy_mappings,omitempty"`
	AttackTechniques      []string               `xml:"-" json:"attack_techniques,omitempty"`
	References            []Reference            `xml:"References>Reference" json:"references,omitempty"`
	Notes                 []Note                 `xml:"Notes>Note" json:"notes,omitempty"`
}

// AlternateTerm is another name for an attack pattern.
type AlternateTerm struct {
	Term        string `xml:"Term" json:"term"`
	Description Text   `xml:"Description" json:"description,omitempty"`
}

// RelatedAttackPattern is an edge to another attack pattern.
type RelatedAttackPattern struct {
	Nature         string           `xml:"Nature,attr" json:"nature"`
	CAPECID        string           `xml:"CAPEC_ID,attr" json:"capec_id"`
	ExcludeRelated []ExcludeRelated `xml:"Exclude_Related" json:"exclude_related,omitempty"`
}

// ExcludeRelated names an attack pattern the relationship does not carry to.
type ExcludeRelated struct {
	ExcludeID string `xml:"Exclude_ID,attr" json:"exclude_id"`
}

// AttackStep is one step of an execution flow.
type AttackStep struct {
	Step        int    `xml:"Step" json:"step"`
	Phase       string `xml:"Phase" json:"phase"`
	Description Text   `xml:"Description" json:"description"`
	Techniques  []Text `xml:"Technique" json:"techniques,omitempty"`
}

// Skill is a skill an attacker needs, at a level.
type Skill struct {
	Level       string `xml:"Level,attr" json:"level"`
	Description string `json:"description,omitempty"`
}

// Consequence is one consequence of a successful attack.
type Consequence struct {
	Scope      []string `xml:"Scope" json:"scope"`
	Impact     []string `xml:"Impact" json:"impact,omitempty"`
	Likelihood string   `xml:"Likelihood" json:"likelihood,omitempty"`
	Note       Text     `xml:"Note" json:"note,omitempty"`
}

// TaxonomyMapping maps an attack pattern to another taxonomy (ATTACK, WASC,
// OWASP Attacks).
type TaxonomyMapping struct {
	TaxonomyName string `xml:"Taxonomy_Name,attr" json:"taxonomy_name"`
	EntryID      string `xml:"Entry_ID" json:"entry_id,omitempty"`
	EntryName    string `xml:"Entry_Name" json:"entry_name,omitempty"`
	MappingFit   string `xml:"Mapping_Fit" json:"mapping_fit,omitempty"`
}

// Reference points into the catalog's external references.
type Reference struct {
	ExternalReferenceID string `xml:"External_Reference_ID,attr" json:"external_reference_id"`
	Section             string `xml:"Section,attr" json:"section,omitempty"`
}

// Note is a typed free-text note.
type Note struct {
	Type string `json:"type"`
	Note string `json:"note"`
}

// Member is a Has_Member relationship of a category or view.
type Member struct {
	CAPECID string `xml:"CAPEC_ID,attr" json:"capec_id"`
}

// Category groups attack patterns.
type Category struct {
	Kind             string            `xml:"-" json:"kind"`
	ID               string            `xml:"ID,attr" json:"id"`
	Name             string            `xml:"Name,attr" json:"name"`
	Status           string            `xml:"Status,attr" json:"status"`
	Summary          Text              `xml:"Summary" json:"summary"`
	Members          []Member          `xml:"Relationships>Has_Member" json:"members,omitempty"`
	TaxonomyMappings []TaxonomyMapping `xml:"Taxonomy_Mappings>Taxonomy_Mapping" json:"taxonomy_mappings,omitempty"`
	References       []Reference       `xml:"References>Reference" json:"references,omitempty"`
	Notes            []Note            `xml:"Notes>Note" json:"notes,omitempty"`
}

// View is a slice of the catalog for one audience.
type View struct {
	Kind       string        `xml:"-" json:"kind"`
	ID         string        `xml:"ID,attr" json:"id"`
	Name       string        `xml:"Name,attr" json:"name"`
	Type       string        `xml:"Type,attr" json:"type"`
	Status     string        `xml:"Status,attr" json:"status"`
	Objective  Text          `xml:"Objective" json:"objective,omitempty"`
	Audience   []Stakeholder `xml:"Audience>Stakeholder" json:"audience,omitempty"`
	Members    []Member      `xml:"Members>Has_Member" json:"members,omitempty"`
	Filter     string        `xml:"Filter" json:"filter,omitempty"`
	References []Reference   `xml:"References>Reference" json:"references,omitempty"`
	Notes      []Note        `xml:"Notes>Note" json:"notes,omitempty"`
}

// Stakeholder is one audience of a view.
type Stakeholder struct {
	Type        string `xml:"Type" json:"type"`
	Description Text   `xml:"Description" json:"description,omitempty"`
}
