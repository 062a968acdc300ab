package cwe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes weaknesses as a JSON array in the form of MITRE's CWE REST
// API (PascalCase keys, bare numeric ids): the "cwe-raw.json" form that
// ParseJSON reads back. It lets a deployment derive that file from the
// official XML catalog.
func WriteJSON(w io.Writer, ws []Weakness) error {
	out := make([]any, 0, len(ws))
	for i := range ws {
		b, err := json.Marshal(&ws[i])
		if err != nil {
			return fmt.Errorf("cwe: encode %s: %w", ws[i].ID, err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("cwe: encode %s: %w", ws[i].ID, err)
		}
		delete(v, "kind")
		out = append(out, pascalKeys(v, ""))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// pascalKeys is the inverse of snakeKeys, also stripping the "CWE-" and
// "CAPEC-" prefixes the REST API does not use.
func pascalKeys(v any, key string) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			m[pascal(k)] = pascalKeys(val, k)
		}
		return m
	case []any:
		for i := range t {
			t[i] = pascalKeys(t[i], key)
		}
		return t
	case string:
		switch key {
		case "id", "cwe_id", "view_id":
			return strings.TrimPrefix(t, "CWE-")
		case "related_attack_patterns":
			return strings.TrimPrefix(t, "CAPEC-")
		}
	}
	return v
}

// pascal converts "cwe_id" to "CweID" and "url_date" to "URLDate".
func pascal(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		switch part {
		case "id", "url":
			b.WriteString(strings.ToUpper(part))
		case "":
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
