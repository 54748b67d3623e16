package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the YAML tree after aliases are expanded, so that a small
// file of nested aliases ("billion laughs") cannot exhaust memory.
const maxNodes = 100_000

// Load reads, expands and validates the configuration file at path. env
// looks up environment variables (os.LookupEnv when nil).
//
// Loading parses the YAML, expands aliases and merge keys, expands ${ENV}
// references in scalar values, reads *_file secrets, checks every key
// against the schema, applies defaults and runs Validate. Any failure is
// returned as Problems holding every problem found, not only the first.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Message: "cannot read the file: " + fsReason(err)}}
	}
	return parse(path, data, env, os.ReadFile)
}

// fsReason is the reason of a file system error without the operation and
// path the caller already shows.
func fsReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

var syntaxLine = regexp.MustCompile(`^line (\d+): `)

// parse is Load on bytes; readFile reads *_file secrets.
func parse(file string, data []byte, env func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		p := Problem{File: file, Message: msg}
		if m := syntaxLine.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
		}
		return nil, Problems{p}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problems{{File: file, Line: extra.Line, Message: "the file holds more than one YAML document; only one is allowed"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, Problems{{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}

	info := &loadInfo{origKey: map[*yaml.Node]string{}, secretNode: map[*yaml.Node]bool{}}
	cfg := &Config{file: file, info: info}
	var structural Problems
	var echoes []string
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	isEmpty := root.Kind == 0 || root.Kind == yaml.DocumentNode ||
		(root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null")
	if !isEmpty {
		if root.Kind != yaml.MappingNode {
			return nil, Problems{{File: file, Line: root.Line, Message: "expected a mapping with the keys server, database, connectors"}}
		}
		p := &preparer{env: env, readFile: readFile, info: info, budget: maxNodes}
		root = p.node(root, "", 0)
		structural = p.problems
		echoes = p.echoes
		ch := checker{info: info}
		ch.check(root, reflect.TypeFor[Config](), "", 0)
		structural = append(structural, ch.problems...)
		if err := root.Decode(cfg); err != nil && len(structural) == 0 {
			structural = append(structural, decodeProblems(err, "", root.Line)...)
		}
	}
	for i := range cfg.Connectors {
		cfg.Connectors[i].info = info
	}
	applyDefaults(cfg)

	// Semantic problems at or below a structural one are echoes of it (an
	// unset variable leaves a value empty that is then "required").
	var problems Problems
	problems = append(problems, structural...)
	var vps Problems
	if err := Validate(cfg); err != nil {
		vps = problemsOf(err, "")
	}
	for _, sp := range structural {
		if sp.Path != "" {
			echoes = append(echoes, sp.Path)
		}
	}
	for _, vp := range vps {
		echo := false
		for _, e := range echoes {
			if under(vp.Path, e) {
				echo = true
				break
			}
		}
		if !echo {
			problems = append(problems, vp)
		}
	}
	if len(problems) > 0 {
		return nil, problems.finish(file, secretValues(cfg))
	}
	return cfg, nil
}

// preparer rewrites a parsed tree before it is checked: aliases become
// copies, merge keys are merged, repeated keys are reported and dropped,
// ${ENV} references in scalar values are expanded and *_file keys are read.
// The result shares no node with the input, so a value used twice through
// an alias is expanded once per use.
type preparer struct {
	env      func(string) (string, bool)
	readFile func(string) ([]byte, error)
	info     *loadInfo
	budget   int
	problems Problems
	// echoes are paths whose value is missing because of a problem
	// reported elsewhere (an unreadable X_file leaves X unset).
	echoes   []string
	tooLarge bool
}

func (p *preparer) add(n *yaml.Node, path, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: n.Line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// node returns a prepared copy of n, found at path; values are not expanded
// here (keys are never expanded), the mapping and sequence cases do it.
func (p *preparer) node(n *yaml.Node, path string, depth int) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil && depth <= maxDepth {
		n = n.Alias
		depth++
	}
	p.budget--
	if depth > maxDepth || p.budget < 0 {
		if !p.tooLarge {
			p.tooLarge = true
			p.add(n, path, "nested too deeply or too large after expanding aliases")
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	cp := *n
	cp.Anchor = ""
	switch n.Kind {
	case yaml.SequenceNode:
		cp.Content = make([]*yaml.Node, len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			cp.Content[i] = p.value(item, ip, depth+1)
		}
	case yaml.MappingNode:
		cp.Content = p.mapping(n, path, depth)
	}
	return &cp
}

// value prepares n as a value: a scalar has its ${ENV} references expanded.
func (p *preparer) value(n *yaml.Node, path string, depth int) *yaml.Node {
	c := p.node(n, path, depth)
	if c.Kind == yaml.ScalarNode && strings.Contains(c.Value, "$") {
		out, problems := expand(c.Value, p.env)
		for _, msg := range problems {
			p.add(c, path, "%s", msg)
		}
		if out != c.Value {
			c.Value = out
			const literal = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
			if c.Style&literal == 0 {
				// Let the expanded text resolve as it would have been
				// written (`port: ${PORT}` is an integer). Only the scalar's
				// type can change this way, never the document's structure.
				c.Tag = ""
			}
		}
	}
	return c
}

type pair struct{ k, v *yaml.Node }

// mapping prepares the pairs of mapping n.
func (p *preparer) mapping(n *yaml.Node, path string, depth int) []*yaml.Node {
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, p.merge(v, path, depth)...)
			continue
		}
		kc := p.node(k, path, depth+1)
		kpath := path
		if kc.Kind == yaml.ScalarNode {
			kpath = joinKey(path, kc.Value)
		}
		explicit = append(explicit, pair{kc, p.value(v, kpath, depth+1)})
	}
	// Explicit keys win over merged ones; earlier merges over later ones.
	pairs := explicit
	have := map[string]int{}
	for _, pr := range explicit {
		if pr.k.Kind != yaml.ScalarNode {
			continue
		}
		if line, dup := have[pr.k.Value]; dup {
			p.add(pr.k, joinKey(path, pr.k.Value), "duplicate key (first given at line %d)", line)
			continue
		}
		have[pr.k.Value] = pr.k.Line
	}
	pairs = dropRepeats(pairs)
	for _, pr := range merged {
		if _, dup := have[pr.k.Value]; pr.k.Kind == yaml.ScalarNode && dup {
			continue
		}
		have[pr.k.Value] = pr.k.Line
		pairs = append(pairs, pr)
	}
	pairs = p.readFiles(pairs, path)
	out := make([]*yaml.Node, 0, 2*len(pairs))
	for _, pr := range pairs {
		out = append(out, pr.k, pr.v)
	}
	return out
}

// dropRepeats keeps the first pair of each key (the repeats are reported).
func dropRepeats(pairs []pair) []pair {
	seen := map[string]bool{}
	out := pairs[:0:0]
	for _, pr := range pairs {
		if pr.k.Kind == yaml.ScalarNode {
			if seen[pr.k.Value] {
				continue
			}
			seen[pr.k.Value] = true
		}
		out = append(out, pr)
	}
	return out
}

// merge returns the prepared pairs that a merge key's value brings: a
// mapping, or a list of mappings.
func (p *preparer) merge(v *yaml.Node, path string, depth int) []pair {
	mpath := joinKey(path, "<<")
	vc := p.node(v, mpath, depth+1)
	var maps []*yaml.Node
	switch vc.Kind {
	case yaml.MappingNode:
		maps = []*yaml.Node{vc}
	case yaml.SequenceNode:
		maps = vc.Content
	}
	var out []pair
	seen := map[string]bool{}
	for _, m := range maps {
		if m.Kind != yaml.MappingNode {
			p.add(vc, mpath, "a merge key (<<) takes a mapping or a list of mappings")
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind == yaml.ScalarNode {
				if seen[k.Value] {
					continue
				}
				seen[k.Value] = true
			}
			out = append(out, pair{k, m.Content[i+1]})
		}
	}
	if len(maps) == 0 {
		p.add(vc, mpath, "a merge key (<<) takes a mapping or a list of mappings")
	}
	return out
}

// fileSuffix marks a key whose value names a file holding the secret.
const fileSuffix = "_file"

// plainFileKeys are keys ending in _file that name an ordinary file the
// hub reads itself (not a secret): bot.faq_file.
var plainFileKeys = map[string]bool{"bot.faq_file": true}

// readFiles replaces each X_file key by X, with the file's content as value.
func (p *preparer) readFiles(pairs []pair, path string) []pair {
	names := map[string]bool{}
	for _, pr := range pairs {
		names[pr.k.Value] = true
	}
	out := pairs[:0:0]
	for _, pr := range pairs {
		k, v := pr.k, pr.v
		target, ok := strings.CutSuffix(k.Value, fileSuffix)
		if k.Kind != yaml.ScalarNode || !ok || target == "" || plainFileKeys[joinKey(path, k.Value)] {
			out = append(out, pr)
			continue
		}
		kpath := joinKey(path, k.Value)
		if names[target] {
			p.add(k, kpath, "both %s and %s are set; keep only one", target, k.Value)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || v.Value == "" {
			p.add(v, kpath, "expected the path of a file holding the secret")
			p.echoes = append(p.echoes, joinKey(path, target))
			continue
		}
		data, err := p.readFile(v.Value)
		if err != nil {
			// The reason only: never the content, whatever went wrong.
			p.add(v, kpath, "cannot read secret file %q: %s", v.Value, fsReason(err))
			p.echoes = append(p.echoes, joinKey(path, target))
			continue
		}
		secret := string(data)
		if s, cut := strings.CutSuffix(secret, "\n"); cut {
			secret = strings.TrimSuffix(s, "\r")
		}
		nk := *k
		nk.Value = target
		nv := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: secret, Line: v.Line, Column: v.Column}
		p.info.origKey[&nk] = k.Value
		p.info.secretNode[nv] = true
		out = append(out, pair{&nk, nv})
	}
	return out
}

// envName is a valid environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} and ${NAME:-default} in s and turns $$ into $. A
// "$" followed by anything else stays as it is. It returns the problems
// found (unset variables, malformed references); messages name variables,
// never their values.
func expand(s string, env func(string) (string, bool)) (string, []string) {
	var b strings.Builder
	var problems []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				problems = append(problems, "unterminated ${ (write $$ for a literal $)")
				b.WriteString(s[i:])
				return b.String(), problems
			}
			ref := s[i+2 : i+2+end]
			i += 2 + end
			name, def, hasDef := strings.Cut(ref, ":-")
			if !envName.MatchString(name) {
				problems = append(problems, "invalid ${...} reference: expected ${NAME} or ${NAME:-default} (write $$ for a literal $)")
				continue
			}
			val, set := env(name)
			switch {
			case set && (val != "" || !hasDef):
				b.WriteString(val)
			case hasDef:
				b.WriteString(def)
			default:
				problems = append(problems, fmt.Sprintf("environment variable %s is not set (give a default with ${%s:-default})", name, name))
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), problems
}
