package cwe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// DecodeView decodes one view object, in the RPC form (snake_case keys) or in
// the form of MITRE's REST API (PascalCase keys, bare numeric ids), and checks
// it with CheckView. It is how RPCSaveCWEView takes the views that remote's
// RPCFetchViews passes on untouched. Errors wrap ErrMalformed and name the field.
func DecodeView(data []byte) (*View, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: view: %w", ErrMalformed, err)
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, fmt.Errorf("%w: view is not an object", ErrMalformed)
	}
	snake, err := json.Marshal(snakeKeys(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: view: %w", ErrMalformed, err)
	}
	var v View
	if err := json.Unmarshal(snake, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: view field %s: cannot use JSON %s as %s", ErrMalformed, te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("%w: view: %w", ErrMalformed, err)
	}
	if err := CheckView(&v); err != nil {
		return nil, err
	}
	return &v, nil
}
