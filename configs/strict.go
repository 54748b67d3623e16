package configs

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds recursion over YAML trees and Go types.
const maxDepth = 100

var (
	nodeType        = reflect.TypeFor[yaml.Node]()
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	// quotedValue matches the values yaml quotes in its error messages.
	quotedValue = regexp.MustCompile("`[^`]*`")
	plainKey    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// checker walks a YAML tree against a Go type, as yaml.v3 would decode it,
// and collects every problem with its full key path: unknown keys (with the
// known ones), repeated keys, and values of the wrong kind. yaml.v3's own
// KnownFields stops at the first error and does not name the path.
type checker struct {
	info     *loadInfo
	problems Problems
}

func (ch *checker) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	ch.problems = append(ch.problems, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ch *checker) check(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n == nil || n.Kind == 0 {
		return
	}
	if depth > maxDepth {
		ch.add(n, path, "nested too deeply")
		return
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			ch.check(n.Content[0], t, path, depth+1)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		ch.check(n.Alias, t, path, depth+1)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null leaves the zero value, as yaml.v3 does
	}
	if t == nodeType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return // decoded by its own rules
	}
	if t == durationType {
		if n.Kind != yaml.ScalarNode {
			ch.add(n, path, "expected a duration such as 30s or 5m")
		} else if _, err := time.ParseDuration(n.Value); err != nil {
			ch.add(n, path, "expected a duration such as 30s or 5m")
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		ch.check(n, t.Elem(), path, depth+1)
	case reflect.Struct:
		ch.checkStruct(n, t, path, depth)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			ch.add(n, path, "expected a mapping")
			return
		}
		ch.eachPair(n, path, func(key string, k, v *yaml.Node) {
			ch.check(v, t.Elem(), joinKey(path, key), depth+1)
		})
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && n.Kind == yaml.ScalarNode {
			return // []byte from a string or !!binary
		}
		if n.Kind != yaml.SequenceNode {
			ch.add(n, path, "expected a list")
			return
		}
		if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
			ch.add(n, path, "expected a list of %d items", t.Len())
		}
		for i, item := range n.Content {
			ch.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			ch.add(n, path, "expected a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			ch.add(n, path, "expected a boolean (true or false)")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !ch.isInt(n, t, false) {
			ch.add(n, path, "expected an integer")
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !ch.isInt(n, t, true) {
			ch.add(n, path, "expected a non-negative integer")
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			ch.add(n, path, "expected a number")
		}
	}
}

// isInt reports whether n is an integer that fits t.
func (ch *checker) isInt(n *yaml.Node, t reflect.Type, unsigned bool) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		// Too large for int64: fine only for a uint64 that decodes.
		var u uint64
		return unsigned && n.Decode(&u) == nil && t.Bits() == 64
	}
	if unsigned {
		return v >= 0 && (t.Bits() == 64 || uint64(v) < 1<<t.Bits())
	}
	return !reflect.Zero(t).OverflowInt(v)
}

// field is one YAML key of a struct.
type field struct {
	name string
	typ  reflect.Type
}

// structFields lists the YAML keys of t in declaration order, flattening
// inline structs. extra is the value type of an inline map, which takes
// every other key; nil when there is none.
func structFields(t reflect.Type, depth int) (fields []field, extra reflect.Type) {
	if depth > maxDepth {
		return nil, nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := false
		for _, o := range strings.Split(opts, ",") {
			if o == "inline" {
				inline = true
			}
		}
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				sub, subExtra := structFields(ft, depth+1)
				fields = append(fields, sub...)
				if subExtra != nil {
					extra = subExtra
				}
			case reflect.Map:
				extra = ft.Elem()
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default key
		}
		fields = append(fields, field{name: name, typ: f.Type})
	}
	return fields, extra
}

func (ch *checker) checkStruct(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		ch.add(n, path, "expected a mapping")
		return
	}
	fields, extra := structFields(t, depth)
	byName := make(map[string]reflect.Type, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		byName[f.name] = f.typ
		names[i] = f.name
	}
	ch.eachPair(n, path, func(key string, k, v *yaml.Node) {
		ft, ok := byName[key]
		if !ok && extra != nil {
			ft, ok = extra, true
		}
		if !ok {
			shown := key
			if orig, renamed := ch.info.orig(k); renamed {
				shown = orig
			}
			known := "none"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			ch.add(k, joinKey(path, shown), "unknown key (known: %s)", known)
			return
		}
		ch.check(v, ft, joinKey(path, key), depth+1)
	})
}

// eachPair calls fn for every key of mapping n, reporting keys that are not
// strings and keys given twice.
func (ch *checker) eachPair(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ch.add(k, path, "a key must be a string")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			ch.add(k, joinKey(path, k.Value), "duplicate key (first given at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

func (info *loadInfo) orig(k *yaml.Node) (string, bool) {
	if info == nil {
		return "", false
	}
	s, ok := info.origKey[k]
	return s, ok
}

// joinKey appends a mapping key to a path: "server.listen", or
// `texts["a.b"]` for keys that are not plain words.
func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
