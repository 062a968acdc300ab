package urn

import "fmt"

// Key returns the compact byte key of u: one byte for the provider, one for
// the type, then the id. Keys of one provider and type sort together and, in
// bytes.Compare order, by id. The zero URN has a nil key.
func (u URN) Key() []byte {
	if u.IsZero() {
		return nil
	}
	id := u.ID()
	return u.AppendKey(make([]byte, 0, 2+len(id)))
}

// AppendKey appends u's Key to dst and returns the extended slice; it does
// not allocate when dst has room.
func (u URN) AppendKey(dst []byte) []byte {
	if u.IsZero() {
		return dst
	}
	return append(append(dst, byte(u.provider), byte(u.typ)), u.ID()...)
}

// ParseKey decodes a key produced by Key. It returns an error wrapping ErrKey
// when the key is malformed.
func ParseKey(k []byte) (URN, error) {
	if len(k) < 3 {
		return URN{}, fmt.Errorf("%w: %q is %d bytes long (min 3)", ErrKey, k, len(k))
	}
	u, err := New(Provider(k[0]), Type(k[1]), string(k[2:]))
	if err != nil {
		return URN{}, fmt.Errorf("%w %q: %w", ErrKey, k, err)
	}
	return u, nil
}

// MarshalText returns the canonical text form, so a URN is a JSON string.
func (u URN) MarshalText() ([]byte, error) { return []byte(u.s), nil }

// UnmarshalText parses text with Parse; empty text gives the zero URN.
func (u *URN) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*u = URN{}
		return nil
	}
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
