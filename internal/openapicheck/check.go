// Package openapicheck validates real answers of the hub against its
// OpenAPI 3.1 document, for tests. It implements the part of JSON Schema
// 2020-12 the document uses ($ref, type and type lists, properties,
// required, additionalProperties, items, enum, const, oneOf, anyOf, allOf,
// pattern, minLength, maxLength, minimum, maximum, minItems, maxItems and
// format date-time); an unknown keyword is an error, so that the document
// cannot drift into what is not checked.
package openapicheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Doc is a loaded OpenAPI document.
type Doc struct {
	raw   map[string]any
	paths map[string]any
	// prefix is the servers[0] URL that paths are relative to.
	prefix string
}

// Load parses an OpenAPI document.
func Load(data []byte) (*Doc, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	d := &Doc{raw: raw}
	d.paths, _ = raw["paths"].(map[string]any)
	if servers, _ := raw["servers"].([]any); len(servers) == 1 {
		if s, ok := servers[0].(map[string]any); ok {
			d.prefix, _ = s["url"].(string)
		}
	}
	return d, nil
}

// operation finds the operation of method on a concrete path, such as
// GET /api/v1/conversations/12.
func (d *Doc) operation(method, path string) (map[string]any, error) {
	method = strings.ToLower(method)
	path, _, _ = strings.Cut(path, "?")
	for tmpl, v := range d.paths {
		item, _ := v.(map[string]any)
		full := tmpl
		if servers, ok := item["servers"].([]any); !ok || len(servers) == 0 {
			full = d.prefix + tmpl
		}
		if !matchPath(full, path) {
			continue
		}
		op, ok := item[method].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s %s: path %s has no %s operation", method, path, tmpl, method)
		}
		return op, nil
	}
	return nil, fmt.Errorf("%s %s: no path of the document matches", method, path)
}

func matchPath(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// CheckResponse validates a JSON answer: the status must be documented for
// the operation, and the body must match its application/json schema.
func (d *Doc) CheckResponse(method, path string, status int, body []byte) error {
	op, err := d.operation(method, path)
	if err != nil {
		return err
	}
	responses, _ := op["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(status)]
	if !ok {
		if resp, ok = responses["default"]; !ok {
			return fmt.Errorf("%s %s: status %d is not documented", method, path, status)
		}
	}
	r, err := d.resolve(resp)
	if err != nil {
		return err
	}
	content, _ := r["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return nil // not a JSON answer (an event stream, a webhook's own)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, path, status, err)
	}
	if err := d.validate(media["schema"], v, "body"); err != nil {
		return fmt.Errorf("%s %s %d: %w", method, path, status, err)
	}
	return nil
}

// CheckSchema validates the JSON in data against components/schemas/name.
func (d *Doc) CheckSchema(name string, data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return d.validate(map[string]any{"$ref": "#/components/schemas/" + name}, v, name)
}

// resolve follows a $ref to its target object.
func (d *Doc) resolve(v any) (map[string]any, error) {
	m, _ := v.(map[string]any)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var cur any = d.raw
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			obj, _ := cur.(map[string]any)
			if cur, ok = obj[part]; !ok {
				return nil, fmt.Errorf("$ref %s does not resolve", ref)
			}
		}
		m, _ = cur.(map[string]any)
	}
	return nil, errors.New("$ref chain too long")
}

// annotations are keywords that do not constrain values.
var annotations = map[string]bool{"description": true, "title": true, "default": true, "example": true,
	"examples": true, "deprecated": true, "readOnly": true, "writeOnly": true, "$comment": true}

func (d *Doc) validate(schema, v any, at string) error {
	s, err := d.resolve(schema)
	if err != nil {
		return err
	}
	if s == nil {
		return nil // {} or absent: anything
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if annotations[k] || strings.HasPrefix(k, "x-") {
			continue
		}
		if err := d.keyword(s, k, v, at); err != nil {
			return err
		}
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func (d *Doc) keyword(s map[string]any, k string, v any, at string) error {
	val := s[k]
	switch k {
	case "type":
		var types []string
		switch t := val.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, fmt.Sprint(x))
			}
		}
		got := jsonType(v)
		for _, t := range types {
			if t == got || (t == "number" && got == "integer") {
				return nil
			}
		}
		return fmt.Errorf("%s: %s is not of type %v", at, got, types)
	case "properties":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		props, _ := val.(map[string]any)
		for name, ps := range props {
			if x, ok := obj[name]; ok {
				if err := d.validate(ps, x, at+"."+name); err != nil {
					return err
				}
			}
		}
	case "required":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, r := range val.([]any) {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: required property %q is missing", at, r)
			}
		}
	case "additionalProperties":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		props, _ := s["properties"].(map[string]any)
		for name, x := range obj {
			if _, known := props[name]; known {
				continue
			}
			if b, ok := val.(bool); ok {
				if !b {
					return fmt.Errorf("%s: property %q is not allowed", at, name)
				}
				continue
			}
			if err := d.validate(val, x, at+"."+name); err != nil {
				return err
			}
		}
	case "items":
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, x := range arr {
			if err := d.validate(val, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "enum":
		for _, e := range val.([]any) {
			if fmt.Sprint(e) == fmt.Sprint(v) && jsonType(e) == jsonType(v) {
				return nil
			}
		}
		return fmt.Errorf("%s: %v is not one of %v", at, v, val)
	case "const":
		if fmt.Sprint(val) != fmt.Sprint(v) {
			return fmt.Errorf("%s: %v is not %v", at, v, val)
		}
	case "oneOf", "anyOf", "allOf":
		var errs []string
		n := 0
		for _, sub := range val.([]any) {
			if err := d.validate(sub, v, at); err != nil {
				errs = append(errs, err.Error())
			} else {
				n++
			}
		}
		switch {
		case k == "oneOf" && n != 1:
			return fmt.Errorf("%s: matches %d of oneOf, want exactly 1 (%s)", at, n, strings.Join(errs, "; "))
		case k == "anyOf" && n == 0:
			return fmt.Errorf("%s: matches none of anyOf (%s)", at, strings.Join(errs, "; "))
		case k == "allOf" && len(errs) > 0:
			return fmt.Errorf("%s: allOf: %s", at, strings.Join(errs, "; "))
		}
	case "pattern":
		str, ok := v.(string)
		if !ok {
			return nil
		}
		rx, err := regexp.Compile(val.(string))
		if err != nil {
			return fmt.Errorf("%s: pattern %q: %v", at, val, err)
		}
		if !rx.MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, val)
		}
	case "minLength", "maxLength":
		str, ok := v.(string)
		if !ok {
			return nil
		}
		n, limit := utf8.RuneCountInString(str), int(val.(float64))
		if (k == "minLength" && n < limit) || (k == "maxLength" && n > limit) {
			return fmt.Errorf("%s: %d characters, %s %d", at, n, k, limit)
		}
	case "minItems", "maxItems":
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		if limit := int(val.(float64)); (k == "minItems" && len(arr) < limit) || (k == "maxItems" && len(arr) > limit) {
			return fmt.Errorf("%s: %d items, %s %d", at, len(arr), k, limit)
		}
	case "minimum", "maximum":
		num, ok := v.(float64)
		if !ok {
			return nil
		}
		if limit := val.(float64); (k == "minimum" && num < limit) || (k == "maximum" && num > limit) {
			return fmt.Errorf("%s: %v, %s %v", at, num, k, limit)
		}
	case "format":
		str, ok := v.(string)
		if !ok || val != "date-time" {
			return nil
		}
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			return fmt.Errorf("%s: %q is not a date-time", at, str)
		}
	default:
		return fmt.Errorf("%s: schema keyword %q is not checked by openapicheck", at, k)
	}
	return nil
}
