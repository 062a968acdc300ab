package capec

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// MaxViolations caps the violations Validate lists; one more entry then says
// how many were left out.
const MaxViolations = 1000

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// Violation is one place where a document breaks its schema.
type Violation struct {
	Line    int    `json:"line"`
	Element string `json:"element"`
	Message string `json:"message"`
}

func (v Violation) String() string {
	return fmt.Sprintf("line %d: <%s>: %s", v.Line, v.Element, v.Message)
}

// frame is one open element during validation.
type frame struct {
	name    string
	line    int
	el      *element
	ct      *complexType
	st      *simpleType // simple-typed element, or the text type of simple content
	skip    bool        // content not checked (xs:any, undeclared or untyped element)
	pos     int         // current particle of ct.seq
	count   int         // occurrences of ct.seq[pos] so far
	text    strings.Builder
	wantTxt bool
	uniq    []uniqueState
}

type uniqueState struct {
	u     unique
	depth int            // depth of the owning element
	seen  map[string]int // value -> line of first occurrence
}

type validator struct {
	s      *Schema
	stack  []*frame
	out    []Violation
	total  int
	closed bool
}

// Validate checks the document read from r against the schema and returns
// every violation found (capped at MaxViolations), each with its line and
// element. The error is non-nil only when the document is not well-formed
// XML (wrapping ErrMalformed); the violations found up to there are returned
// with it.
func (s *Schema) Validate(r io.Reader) ([]Violation, error) {
	v := &validator{s: s}
	d := xml.NewDecoder(r)
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF && v.closed {
			return v.result(), nil
		}
		if err != nil {
			return v.result(), syntaxErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v.start(t, line)
		case xml.EndElement:
			v.end()
		case xml.CharData:
			v.chars(t, line)
		}
	}
}

func (v *validator) result() []Violation {
	if v.total > len(v.out) {
		v.out = append(v.out, Violation{Message: fmt.Sprintf("%d more violations not listed", v.total-len(v.out))})
	}
	return v.out
}

func (v *validator) report(line int, el, format string, args ...any) {
	v.total++
	if len(v.out) < MaxViolations {
		v.out = append(v.out, Violation{Line: line, Element: el, Message: fmt.Sprintf(format, args...)})
	}
}

func (v *validator) start(t xml.StartElement, line int) {
	f := &frame{name: t.Name.Local, line: line}
	defer func() { v.stack = append(v.stack, f) }()
	if len(v.stack) == 0 {
		e := v.s.elements[t.Name.Local]
		if e == nil || t.Name.Space != v.s.TargetNamespace {
			v.report(line, f.name, "root element is not declared in namespace %q", v.s.TargetNamespace)
			f.skip = true
			return
		}
		v.enter(f, e, t)
		return
	}
	parent := v.stack[len(v.stack)-1]
	if parent.skip {
		f.skip = true
		return
	}
	p := v.match(parent, t.Name, line)
	switch {
	case p == nil || p.el == nil: // unexpected, or matched xs:any: content unchecked
		f.skip = true
	default:
		v.enter(f, p.el, t)
	}
	v.checkUnique(f, t, line)
}

// enter sets f up for an element declared by e and checks its attributes.
func (v *validator) enter(f *frame, e *element, t xml.StartElement) {
	f.el = e
	for _, u := range e.uniques {
		f.uniq = append(f.uniq, uniqueState{u: u, depth: len(v.stack), seen: map[string]int{}})
	}
	switch {
	case e.anyType:
		f.skip = true
		return
	case e.st != nil:
		f.st, f.wantTxt = e.st, true
		v.checkAttrs(f, nil, t)
		return
	}
	f.ct = e.ct
	if e.ct.simple {
		f.st, f.wantTxt = e.ct.text, true
	}
	v.checkAttrs(f, e.ct.attrs, t)
}

func (v *validator) checkAttrs(f *frame, decl map[string]*attribute, t xml.StartElement) {
	present := map[string]bool{}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == xsiNamespace {
			continue
		}
		d := decl[a.Name.Local]
		if d == nil || a.Name.Space != "" {
			v.report(f.line, f.name, "attribute %s is not allowed", a.Name.Local)
			continue
		}
		present[a.Name.Local] = true
		if p := d.st.check(a.Value); p != "" {
			v.report(f.line, f.name, "attribute %s: %s", a.Name.Local, p)
		}
	}
	for name, d := range decl {
		if d.required && !present[name] {
			v.report(f.line, f.name, "required attribute %s is missing", name)
		}
	}
}

// match finds the particle of parent's content model that the child name
// fills, reporting required particles skipped over. It returns nil (after
// reporting) when the child is not allowed here.
func (v *validator) match(parent *frame, name xml.Name, line int) *particle {
	if parent.ct == nil || parent.ct.simple || parent.st != nil {
		v.report(line, name.Local, "element not allowed in the simple content of <%s>", parent.name)
		return nil
	}
	seq := parent.ct.seq
	for j := parent.pos; j < len(seq); j++ {
		p := seq[j]
		if !v.fills(p, name) {
			continue
		}
		if j == parent.pos && p.max != unbounded && parent.count >= p.max {
			continue // this particle is full; a later one may take the element
		}
		for k := parent.pos; k < j; k++ {
			v.missing(parent, k, line)
		}
		if j != parent.pos {
			parent.pos, parent.count = j, 0
		}
		parent.count++
		return p
	}
	if parent.pos < len(seq) && v.fills(seq[parent.pos], name) {
		v.report(line, name.Local, "more than %d allowed in <%s>", seq[parent.pos].max, parent.name)
	} else {
		v.report(line, name.Local, "element not allowed here in <%s>", parent.name)
	}
	return nil
}

func (v *validator) fills(p *particle, name xml.Name) bool {
	if p.el != nil {
		return p.el.name == name.Local && name.Space == v.s.TargetNamespace
	}
	for _, ns := range p.anyNS {
		switch {
		case ns == "##any", ns == name.Space,
			ns == "##other" && name.Space != v.s.TargetNamespace && name.Space != "",
			ns == "##targetNamespace" && name.Space == v.s.TargetNamespace,
			ns == "##local" && name.Space == "":
			return true
		}
	}
	return false
}

// missing reports particle k of f's content model if it has fewer
// occurrences than required.
func (v *validator) missing(f *frame, k int, line int) {
	p := f.ct.seq[k]
	n := 0
	if k == f.pos {
		n = f.count
	}
	if n >= p.min {
		return
	}
	what := "an element from " + strings.Join(p.anyNS, " ")
	if p.el != nil {
		what = "<" + p.el.name + ">"
	}
	v.report(line, f.name, "required child %s is missing (element starts at line %d)", what, f.line)
}

func (v *validator) chars(c xml.CharData, line int) {
	if len(v.stack) == 0 {
		return
	}
	f := v.stack[len(v.stack)-1]
	switch {
	case f.skip:
	case f.wantTxt:
		f.text.Write(c)
	case f.ct != nil && !f.ct.mixed && len(strings.TrimSpace(string(c))) > 0:
		v.report(line, f.name, "text is not allowed in element-only content")
	}
}

func (v *validator) end() {
	f := v.stack[len(v.stack)-1]
	v.stack = v.stack[:len(v.stack)-1]
	if len(v.stack) == 0 {
		v.closed = true
	}
	if f.skip {
		return
	}
	if f.wantTxt && f.st != nil {
		if p := f.st.check(f.text.String()); p != "" {
			v.report(f.line, f.name, "%s", p)
		}
	}
	if f.ct != nil && !f.ct.simple {
		for k := f.pos; k < len(f.ct.seq); k++ {
			v.missing(f, k, f.line)
		}
	}
}

// checkUnique records f's key for every xs:unique of an ancestor whose
// selector path leads to f.
func (v *validator) checkUnique(f *frame, t xml.StartElement, line int) {
	depth := len(v.stack) // f's depth once pushed
	for _, anc := range v.stack {
		for i := range anc.uniq {
			u := &anc.uniq[i]
			if depth-u.depth != len(u.u.selector) || !v.pathMatches(u, f.name) {
				continue
			}
			key := attr(t, u.u.field)
			if first, dup := u.seen[key]; dup {
				v.report(line, f.name, "%s %q is not unique (%s; first at line %d)", u.u.field, key, u.u.name, first)
			} else {
				u.seen[key] = line
			}
		}
	}
}

func (v *validator) pathMatches(u *uniqueState, name string) bool {
	steps := u.u.selector
	for i, step := range steps[:len(steps)-1] {
		if v.stack[u.depth+1+i].name != step {
			return false
		}
	}
	return steps[len(steps)-1] == name
}

// errViolations builds the error of a strict validation.
func errViolations(vs []Violation) error {
	var b strings.Builder
	for i, x := range vs {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(vs)-10)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x.String())
	}
	return fmt.Errorf("%w: %d violations: %s", ErrSchema, len(vs), b.String())
}
