package capec

import (
	"fmt"
	"maps"
	"slices"
)

// builtins are the XSD built-in types a schema may name.
var builtins = []string{"string", "normalizedString", "token", "anyURI", "integer", "nonNegativeInteger",
	"positiveInteger", "int", "decimal", "boolean", "date", "dateTime", "gYear", "gMonth", "gDay", "anySimpleType"}

// resolve links every type reference to its definition and folds extensions
// into the types that extend them.
func (s *Schema) resolve() error {
	for _, st := range s.simpleTypes {
		if err := s.resolveSimple(st); err != nil {
			return err
		}
	}
	for _, ct := range s.complexTypes {
		if err := s.resolveComplex(ct, map[*complexType]bool{}); err != nil {
			return err
		}
	}
	for _, e := range s.elements {
		if err := s.resolveElement(e, map[*complexType]bool{}); err != nil {
			return err
		}
	}
	return nil
}

// lookupSimple returns the simple type a QName names: a built-in or a named one.
func (s *Schema) lookupSimple(qname string) (*simpleType, bool) {
	prefix, local, _ := cutPrefix(qname)
	if s.prefixes[prefix] == XSDNamespace {
		if slices.Contains(builtins, local) {
			return &simpleType{name: local, builtin: local}, true
		}
		return nil, false
	}
	st, ok := s.simpleTypes[local]
	return st, ok
}

// resolveSimple links st to its base, down to a built-in type, refusing a
// derivation cycle.
func (s *Schema) resolveSimple(st *simpleType) error {
	var chain []*simpleType
	for t := st; t.builtin == ""; t = t.parent {
		if slices.Contains(chain, t) {
			return fmt.Errorf("%w: simple type %q derives from itself", ErrBadSchema, st.name)
		}
		chain = append(chain, t)
		if t.parent == nil {
			p, ok := s.lookupSimple(t.base)
			if !ok {
				return fmt.Errorf("%w: simple type %q: base %q is not a supported simple type", ErrBadSchema, t.name, t.base)
			}
			t.parent = p
		}
	}
	return nil
}

func (s *Schema) resolveAttrs(ct *complexType) error {
	for _, a := range ct.attrs {
		if a.st != nil {
			if err := s.resolveSimple(a.st); err != nil {
				return err
			}
			continue
		}
		ref := a.typeRef
		if ref == "" {
			a.st = &simpleType{name: "anySimpleType", builtin: "anySimpleType"}
			continue
		}
		st, ok := s.lookupSimple(ref)
		if !ok {
			return fmt.Errorf("%w: attribute %q: type %q is not a supported simple type", ErrBadSchema, a.name, ref)
		}
		if err := s.resolveSimple(st); err != nil {
			return err
		}
		a.st = st
	}
	return nil
}

func (s *Schema) resolveComplex(ct *complexType, seen map[*complexType]bool) error {
	if seen[ct] {
		return nil
	}
	seen[ct] = true
	if err := s.resolveAttrs(ct); err != nil {
		return err
	}
	if err := s.ensureExtended(ct); err != nil {
		return err
	}
	for _, p := range ct.seq {
		if p.el != nil {
			if err := s.resolveElement(p.el, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureExtended folds ct's extension base (and its base, ...) into ct,
// refusing a type that extends itself.
func (s *Schema) ensureExtended(ct *complexType) error {
	if ct.resolved {
		return nil
	}
	if ct.extending {
		return fmt.Errorf("%w: line %d: complex type %q extends itself", ErrBadSchema, ct.line, ct.name)
	}
	ct.extending = true
	defer func() { ct.extending = false }()
	if err := s.extend(ct); err != nil {
		return err
	}
	ct.resolved = true
	return nil
}

// extend folds the extension base into ct.
func (s *Schema) extend(ct *complexType) error {
	_, local, _ := cutPrefix(ct.base)
	if ct.simple {
		st, ok := s.lookupSimple(ct.base)
		if !ok {
			return fmt.Errorf("%w: line %d: simpleContent base %q is not a supported simple type", ErrBadSchema, ct.line, ct.base)
		}
		ct.text = st
		return s.resolveSimple(st)
	}
	base, ok := s.complexTypes[local]
	if !ok {
		return fmt.Errorf("%w: line %d: complexContent base %q is not a defined complex type", ErrBadSchema, ct.line, ct.base)
	}
	if err := s.ensureExtended(base); err != nil {
		return err
	}
	if err := s.resolveAttrs(base); err != nil {
		return err
	}
	ct.seq = append(slices.Clone(base.seq), ct.seq...)
	attrs := maps.Clone(base.attrs)
	maps.Copy(attrs, ct.attrs)
	ct.attrs = attrs
	ct.mixed = ct.mixed || base.mixed
	return nil
}

func (s *Schema) resolveElement(e *element, seen map[*complexType]bool) error {
	switch {
	case e.ct != nil:
		return s.resolveComplex(e.ct, seen)
	case e.st != nil:
		return s.resolveSimple(e.st)
	case e.typeRef == "":
		return nil
	}
	if st, ok := s.lookupSimple(e.typeRef); ok {
		e.st = st
		return s.resolveSimple(st)
	}
	_, local, _ := cutPrefix(e.typeRef)
	ct, ok := s.complexTypes[local]
	if !ok {
		return fmt.Errorf("%w: line %d: element %q: type %q is not defined", ErrBadSchema, e.line, e.name, e.typeRef)
	}
	e.ct = ct
	return s.resolveComplex(ct, seen)
}
