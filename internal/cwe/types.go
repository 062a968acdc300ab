package cwe

// Weakness is one CWE weakness with everything the catalog says about it
// except its content history. XML tags follow the cwe-7 schema; JSON keys are
// the snake_case form returned over RPC.
type Weakness struct {
	Kind                  string                 `xml:"-" json:"kind"`
	ID                    string                 `xml:"ID,attr" json:"id"`
	Name                  string                 `xml:"Name,attr" json:"name"`
	Abstraction           string                 `xml:"Abstraction,attr" json:"abstraction"`
	Structure             string                 `xml:"Structure,attr" json:"structure"`
	Status                string                 `xml:"Status,attr" json:"status"`
	Description           Text                   `xml:"Description" json:"description"`
	ExtendedDescription   Text                   `xml:"Extended_Description" json:"extended_description,omitempty"`
	LikelihoodOfExploit   string                 `xml:"Likelihood_Of_Exploit" json:"likelihood_of_exploit,omitempty"`
	RelatedWeaknesses     []RelatedWeakness      `xml:"Related_Weaknesses>Related_Weakness" json:"related_weaknesses,omitempty"`
	WeaknessOrdinalities  []WeaknessOrdinality   `xml:"Weakness_Ordinalities>Weakness_Ordinality" json:"weakness_ordinalities,omitempty"`
	ApplicablePlatforms   Platforms              `xml:"Applicable_Platforms" json:"applicable_platforms,omitempty"`
	BackgroundDetails     []Text                 `xml:"Background_Details>Background_Detail" json:"background_details,omitempty"`
	AlternateTerms        []AlternateTerm        `xml:"Alternate_Terms>Alternate_Term" json:"alternate_terms,omitempty"`
	ModesOfIntroduction   []Introduction         `xml:"Modes_Of_Introduction>Introduction" json:"modes_of_introduction,omitempty"`
	CommonConsequences    []Consequence          `xml:"Common_Consequences>Consequence" json:"common_consequences,omitempty"`
	DetectionMethods      []DetectionMethod      `xml:"Detection_Methods>Detection_Method" json:"detection_methods,omitempty"`
	PotentialMitigations  []Mitigation           `xml:"Potential_Mitigations>Mitigation" json:"potential_mitigations,omitempty"`
	DemonstrativeExamples []DemonstrativeExample `xml:"Demonstrative_Examples>Demonstrative_Example" json:"demonstrative_examples,omitempty"`
	ObservedExamples      []ObservedExample      `xml:"Observed_Examples>Observed_Example" json:"observed_examples,omitempty"`
	FunctionalAreas       []string               `xml:"Functional_Areas>Functional_Area" json:"functional_areas,omitempty"`
	AffectedResources     []string               `xml:"Affected_Resources>Affected_Resource" json:"affected_resources,omitempty"`
	TaxonomyMappings      []TaxonomyMapping      `xml:"Taxonomy_Mappings>Taxonomy_Mapping" json:"taxonomy_mappings,omitempty"`
	RelatedAttackPatterns []AttackPatternRef     `xml:"Related_Attack_Patterns>Related_Attack_Pattern" json:"related_attack_patterns,omitempty"`
	References            []Reference            `xml:"References>Reference" json:"references,omitempty"`
	MappingNotes          *MappingNotes          `xml:"Mapping_Notes" json:"mapping_notes,omitempty"`
	Notes                 []Note                 `xml:"Notes>Note" json:"notes,omitempty"`
}

// RelatedWeakness is one edge of the weakness graph, valid in one view.
// Nature is ChildOf, PeerOf, CanPrecede, CanAlsoBe, Requires or StartsWith in
// the catalog; stores derive the inverse natures (ParentOf, CanFollow, ...).
type RelatedWeakness struct {
	Nature  string `xml:"Nature,attr" json:"nature"`
	CWEID   string `xml:"CWE_ID,attr" json:"cwe_id"`
	ViewID  string `xml:"View_ID,attr" json:"view_id"`
	Ordinal string `xml:"Ordinal,attr" json:"ordinal,omitempty"`
	ChainID string `xml:"Chain_ID,attr" json:"chain_id,omitempty"`
}

// WeaknessOrdinality says whether a weakness is primary, resultant or indirect.
type WeaknessOrdinality struct {
	Ordinality  string `xml:"Ordinality" json:"ordinality"`
	Description Text   `xml:"Description" json:"description,omitempty"`
}

// Platform is one applicable platform; Type is Language, Operating_System,
// Architecture or Technology.
type Platform struct {
	Type       string `json:"type"`
	Name       string `json:"name,omitempty"`
	Class      string `json:"class,omitempty"`
	Prevalence string `json:"prevalence,omitempty"`
}

// AlternateTerm is another name for a weakness.
type AlternateTerm struct {
	Term        string `xml:"Term" json:"term"`
	Description Text   `xml:"Description" json:"description,omitempty"`
}

// Introduction is a phase in which the weakness can be introduced.
type Introduction struct {
	Phase string `xml:"Phase" json:"phase"`
	Note  Text   `xml:"Note" json:"note,omitempty"`
}

// Consequence is one common consequence of a weakness.
type Consequence struct {
	Scope      []string `xml:"Scope" json:"scope"`
	Impact     []string `xml:"Impact" json:"impact,omitempty"`
	Likelihood []string `xml:"Likelihood" json:"likelihood,omitempty"`
	Note       Text     `xml:"Note" json:"note,omitempty"`
}

// DetectionMethod is one way to detect a weakness.
type DetectionMethod struct {
	DetectionMethodID  string `xml:"Detection_Method_ID,attr" json:"detection_method_id,omitempty"`
	Method             string `xml:"Method" json:"method"`
	Description        Text   `xml:"Description" json:"description"`
	Effectiveness      string `xml:"Effectiveness" json:"effectiveness,omitempty"`
	EffectivenessNotes Text   `xml:"Effectiveness_Notes" json:"effectiveness_notes,omitempty"`
}

// Mitigation is one potential mitigation of a weakness.
type Mitigation struct {
	MitigationID       string   `xml:"Mitigation_ID,attr" json:"mitigation_id,omitempty"`
	Phase              []string `xml:"Phase" json:"phase,omitempty"`
	Strategy           string   `xml:"Strategy" json:"strategy,omitempty"`
	Description        Text     `xml:"Description" json:"description"`
	Effectiveness      string   `xml:"Effectiveness" json:"effectiveness,omitempty"`
	EffectivenessNotes Text     `xml:"Effectiveness_Notes" json:"effectiveness_notes,omitempty"`
}

// DemonstrativeExample is an ordered list of text and code entries.
type DemonstrativeExample struct {
	ID      string         `json:"id,omitempty"`
	Entries []ExampleEntry `json:"entries"`
}

// ExampleEntry is one part of a demonstrative example; exactly one of the
// text fields is set.
type ExampleEntry struct {
	IntroText   string `json:"intro_text,omitempty"`
	BodyText    string `json:"body_text,omitempty"`
	Nature      string `json:"nature,omitempty"`
	Language    string `json:"language,omitempty"`
	ExampleCode string `json:"example_code,omitempty"`
	Reference   string `json:"reference,omitempty"`
}

// ObservedExample is a real vulnerability (usually a CVE) showing the weakness.
type ObservedExample struct {
	Reference   string `xml:"Reference" json:"reference"`
	Description Text   `xml:"Description" json:"description"`
	Link        string `xml:"Link" json:"link,omitempty"`
}

// TaxonomyMapping maps an entry to another taxonomy.
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

// MappingNotes says whether the entry may be used to map vulnerabilities.
type MappingNotes struct {
	Usage     string   `xml:"Usage" json:"usage"`
	Rationale Text     `xml:"Rationale" json:"rationale,omitempty"`
	Comments  Text     `xml:"Comments" json:"comments,omitempty"`
	Reasons   []Reason `xml:"Reasons>Reason" json:"reasons,omitempty"`
}

// Note is a typed free-text note.
type Note struct {
	Type string `json:"type"`
	Note string `json:"note"`
}

// Category groups weaknesses that share a characteristic.
type Category struct {
	Kind             string            `xml:"-" json:"kind"`
	ID               string            `xml:"ID,attr" json:"id"`
	Name             string            `xml:"Name,attr" json:"name"`
	Status           string            `xml:"Status,attr" json:"status"`
	Summary          Text              `xml:"Summary" json:"summary"`
	Members          []Member          `xml:"Relationships>Has_Member" json:"members,omitempty"`
	TaxonomyMappings []TaxonomyMapping `xml:"Taxonomy_Mappings>Taxonomy_Mapping" json:"taxonomy_mappings,omitempty"`
	References       []Reference       `xml:"References>Reference" json:"references,omitempty"`
	MappingNotes     *MappingNotes     `xml:"Mapping_Notes" json:"mapping_notes,omitempty"`
	Notes            []Note            `xml:"Notes>Note" json:"notes,omitempty"`
}

// Member is a Has_Member relationship of a category or view.
type Member struct {
	CWEID  string `xml:"CWE_ID,attr" json:"cwe_id"`
	ViewID string `xml:"View_ID,attr" json:"view_id,omitempty"`
}

// View is a CWE view: a slice of the catalog for one audience. Views come from
// the catalog or are saved through the store (RPCSaveCWEView).
type View struct {
	ID           string        `xml:"ID,attr" json:"id"`
	Name         string        `xml:"Name,attr" json:"name"`
	Type         string        `xml:"Type,attr" json:"type"`
	Status       string        `xml:"Status,attr" json:"status"`
	Objective    Text          `xml:"Objective" json:"objective,omitempty"`
	Audience     []Stakeholder `xml:"Audience>Stakeholder" json:"audience,omitempty"`
	Members      []Member      `xml:"Members>Has_Member" json:"members,omitempty"`
	Filter       string        `xml:"Filter" json:"filter,omitempty"`
	References   []Reference   `xml:"References>Reference" json:"references,omitempty"`
	MappingNotes *MappingNotes `xml:"Mapping_Notes" json:"mapping_notes,omitempty"`
	Notes        []Note        `xml:"Notes>Note" json:"notes,omitempty"`
}

// Stakeholder is one audience of a view.
type Stakeholder struct {
	Type        string `xml:"Type" json:"type"`
	Description Text   `xml:"Description" json:"description,omitempty"`
}
