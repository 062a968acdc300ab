package capec

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// XSDNamespace is the namespace of XML Schema itself.
const XSDNamespace = "http://www.w3.org/2001/XMLSchema"

const unbounded = -1

// Schema is an XSD loaded by LoadSchema, ready to validate documents.
// It is read-only after loading and safe for concurrent use.
type Schema struct {
	TargetNamespace string
	Version         string
	elements        map[string]*element
	complexTypes    map[string]*complexType
	simpleTypes     map[string]*simpleType
	prefixes        map[string]string // prefix -> namespace, from the schema root
}

type element struct {
	name     string
	min, max int
	typeRef  string
	ct       *complexType
	st       *simpleType
	anyType  bool // no type at all: content is not checked
	uniques  []unique
	line     int
}

type complexType struct {
	name      string
	mixed     bool
	seq       []*particle
	attrs     map[string]*attribute
	simple    bool        // simple content: text of type text
	text      *simpleType // nil with simple = xs:string
	base      string      // extension base, until resolved
	resolved  bool        // extension folded in (or none to fold)
	extending bool        // extension being folded in, to catch cycles
	line      int
}

type particle struct {
	el       *element
	anyNS    []string // for xs:any: allowed namespaces, or "##any" / "##other"
	min, max int
}

type attribute struct {
	name     string
	typeRef  string
	st       *simpleType
	required bool
}

type simpleType struct {
	name     string
	builtin  string      // local name of a built-in XSD type ("integer"), or ""
	base     string      // QName of the restriction base, until resolved
	parent   *simpleType // the resolved base
	enums    []string
	patterns []*regexp.Regexp
}

type unique struct {
	name     string
	selector []string // local names below the owning element
	field    string   // attribute name
}

// node is one element of the schema document.
type node struct {
	name  xml.Name
	attrs map[string]string
	kids  []*node
	line  int
}

func (n *node) attr(k string) string { return n.attrs[k] }

// LoadSchema reads an XSD. It fails with ErrBadSchema when the schema is not
// well-formed or uses a construct this package does not implement, naming the
// line and the construct.
func LoadSchema(r io.Reader) (*Schema, error) {
	root, prefixes, err := readTree(r)
	if err != nil {
		return nil, err
	}
	if root.name.Space != XSDNamespace || root.name.Local != "schema" {
		return nil, fmt.Errorf("%w: line %d: root is <%s>, want xs:schema", ErrBadSchema, root.line, root.name.Local)
	}
	s := &Schema{TargetNamespace: root.attr("targetNamespace"), Version: root.attr("version"), prefixes: prefixes,
		elements: map[string]*element{}, complexTypes: map[string]*complexType{}, simpleTypes: map[string]*simpleType{}}
	for _, k := range root.kids {
		if err := s.topLevel(k); err != nil {
			return nil, err
		}
	}
	if err := s.resolve(); err != nil {
		return nil, err
	}
	return s, nil
}

func readTree(r io.Reader) (*node, map[string]string, error) {
	d := xml.NewDecoder(r)
	var stack []*node
	var root *node
	prefixes := map[string]string{}
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF && root != nil && len(stack) == 0 {
			return root, prefixes, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %w", ErrBadSchema, line, err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			n := &node{name: v.Name, attrs: map[string]string{}, line: line}
			for _, a := range v.Attr {
				if a.Name.Space == "xmlns" && root == nil {
					prefixes[a.Name.Local] = a.Value
				}
				if a.Name.Space == "" {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func unsupported(n *node) error {
	return fmt.Errorf("%w: line %d: xs:%s is not supported", ErrBadSchema, n.line, n.name.Local)
}

// kids returns the schema children of n, without annotations.
func kids(n *node) []*node {
	out := make([]*node, 0, len(n.kids))
	for _, k := range n.kids {
		if k.name.Space == XSDNamespace && k.name.Local != "annotation" {
			out = append(out, k)
		}
	}
	return out
}

func (s *Schema) topLevel(n *node) error {
	if n.name.Space != XSDNamespace {
		return nil
	}
	switch n.name.Local {
	case "annotation", "import":
		return nil // imported schemas are not loaded: xs:any into them is checked by namespace only
	case "element":
		e, err := s.element(n)
		if err != nil {
			return err
		}
		s.elements[e.name] = e
	case "complexType":
		ct, err := s.complexType(n)
		if err != nil {
			return err
		}
		s.complexTypes[ct.name] = ct
	case "simpleType":
		st, err := s.simpleType(n)
		if err != nil {
			return err
		}
		s.simpleTypes[st.name] = st
	default:
		return unsupported(n)
	}
	return nil
}

func occurs(n *node) (int, int, error) {
	min, max := 1, 1
	var err error
	if v := n.attr("minOccurs"); v != "" {
		if min, err = strconv.Atoi(v); err != nil {
			return 0, 0, fmt.Errorf("%w: line %d: minOccurs %q", ErrBadSchema, n.line, v)
		}
	}
	if v := n.attr("maxOccurs"); v == "unbounded" {
		max = unbounded
	} else if v != "" {
		if max, err = strconv.Atoi(v); err != nil {
			return 0, 0, fmt.Errorf("%w: line %d: maxOccurs %q", ErrBadSchema, n.line, v)
		}
	}
	return min, max, nil
}

func (s *Schema) element(n *node) (*element, error) {
	if n.attr("ref") != "" || n.attr("name") == "" {
		return nil, fmt.Errorf("%w: line %d: xs:element without a name (ref= is not supported)", ErrBadSchema, n.line)
	}
	e := &element{name: n.attr("name"), typeRef: n.attr("type"), line: n.line}
	var err error
	if e.min, e.max, err = occurs(n); err != nil {
		return nil, err
	}
	for _, k := range kids(n) {
		switch k.name.Local {
		case "complexType":
			e.ct, err = s.complexType(k)
		case "simpleType":
			e.st, err = s.simpleType(k)
		case "unique":
			var u unique
			u, err = s.unique(k)
			e.uniques = append(e.uniques, u)
		default:
			return nil, unsupported(k)
		}
		if err != nil {
			return nil, err
		}
	}
	e.anyType = e.typeRef == "" && e.ct == nil && e.st == nil
	return e, nil
}

func (s *Schema) unique(n *node) (unique, error) {
	u := unique{name: n.attr("name")}
	for _, k := range kids(n) {
		x := k.attr("xpath")
		switch k.name.Local {
		case "selector":
			for _, step := range strings.Split(strings.TrimPrefix(x, "./"), "/") {
				if step == "" || step == "." || strings.ContainsAny(step, "*@[(") {
					return u, fmt.Errorf("%w: line %d: selector xpath %q is not supported", ErrBadSchema, k.line, x)
				}
				_, local, _ := cutPrefix(step)
				u.selector = append(u.selector, local)
			}
		case "field":
			if !strings.HasPrefix(x, "@") || strings.ContainsAny(x[1:], "/:[") {
				return u, fmt.Errorf("%w: line %d: field xpath %q is not supported", ErrBadSchema, k.line, x)
			}
			u.field = x[1:]
		default:
			return u, unsupported(k)
		}
	}
	if len(u.selector) == 0 || u.field == "" {
		return u, fmt.Errorf("%w: line %d: xs:unique %q lacks selector or field", ErrBadSchema, n.line, u.name)
	}
	return u, nil
}

func cutPrefix(qname string) (prefix, local string, ok bool) {
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[:i], qname[i+1:], true
	}
	return "", qname, false
}

func (s *Schema) complexType(n *node) (*complexType, error) {
	ct := &complexType{name: n.attr("name"), mixed: n.attr("mixed") == "true", attrs: map[string]*attribute{}, line: n.line, resolved: true}
	for _, k := range kids(n) {
		var err error
		switch k.name.Local {
		case "sequence":
			ct.seq, err = s.sequence(k)
		case "attribute":
			err = s.attribute(ct, k)
		case "complexContent", "simpleContent":
			err = s.content(ct, k)
		default:
			return nil, unsupported(k)
		}
		if err != nil {
			return nil, err
		}
	}
	return ct, nil
}

func (s *Schema) sequence(n *node) ([]*particle, error) {
	var seq []*particle
	if n.attr("minOccurs") != "" || n.attr("maxOccurs") != "" {
		return nil, fmt.Errorf("%w: line %d: occurrence bounds on xs:sequence are not supported", ErrBadSchema, n.line)
	}
	for _, k := range kids(n) {
		switch k.name.Local {
		case "element":
			e, err := s.element(k)
			if err != nil {
				return nil, err
			}
			seq = append(seq, &particle{el: e, min: e.min, max: e.max})
		case "any":
			min, max, err := occurs(k)
			if err != nil {
				return nil, err
			}
			ns := strings.Fields(k.attr("namespace"))
			if len(ns) == 0 {
				ns = []string{"##any"}
			}
			seq = append(seq, &particle{anyNS: ns, min: min, max: max})
		default:
			return nil, unsupported(k)
		}
	}
	return seq, nil
}

func (s *Schema) attribute(ct *complexType, n *node) error {
	if n.attr("ref") != "" || n.attr("name") == "" {
		return fmt.Errorf("%w: line %d: xs:attribute without a name (ref= is not supported)", ErrBadSchema, n.line)
	}
	a := &attribute{name: n.attr("name"), typeRef: n.attr("type"), required: n.attr("use") == "required"}
	for _, k := range kids(n) {
		if k.name.Local != "simpleType" {
			return unsupported(k)
		}
		st, err := s.simpleType(k)
		if err != nil {
			return err
		}
		a.st = st
	}
	ct.attrs[a.name] = a
	return nil
}

// content reads complexContent/simpleContent with one xs:extension.
func (s *Schema) content(ct *complexType, n *node) error {
	ks := kids(n)
	if len(ks) != 1 || ks[0].name.Local != "extension" {
		return fmt.Errorf("%w: line %d: xs:%s supports exactly one xs:extension", ErrBadSchema, n.line, n.name.Local)
	}
	ext := ks[0]
	if n.attr("mixed") == "true" {
		ct.mixed = true
	}
	if n.name.Local == "simpleContent" {
		ct.simple = true
	}
	ct.base = ext.attr("base")
	ct.resolved = false
	for _, k := range kids(ext) {
		var err error
		switch k.name.Local {
		case "sequence":
			ct.seq, err = s.sequence(k)
		case "attribute":
			err = s.attribute(ct, k)
		default:
			return unsupported(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema) simpleType(n *node) (*simpleType, error) {
	st := &simpleType{name: n.attr("name")}
	ks := kids(n)
	if len(ks) != 1 || ks[0].name.Local != "restriction" {
		return nil, fmt.Errorf("%w: line %d: xs:simpleType supports only xs:restriction", ErrBadSchema, n.line)
	}
	r := ks[0]
	st.base = r.attr("base")
	for _, f := range kids(r) {
		switch f.name.Local {
		case "enumeration":
			st.enums = append(st.enums, f.attr("value"))
		case "pattern":
			re, err := regexp.Compile(`^(?:` + f.attr("value") + `)$`)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: pattern %q: %w", ErrBadSchema, f.line, f.attr("value"), err)
			}
			st.patterns = append(st.patterns, re)
		default:
			return nil, unsupported(f)
		}
	}
	return st, nil
}
