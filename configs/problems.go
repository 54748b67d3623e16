package configs

import (
	"errors"
	"regexp"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is and what is
// wrong. Messages never contain the value of a secret.
type Problem struct {
	// File is the configuration file, empty for a configuration built in code.
	File string
	// Line is the 1-based line in File where the problem is, 0 when unknown.
	// It is meant for tools; Error does not print it.
	Line int
	// Path is the key path, such as "connectors[1].settings.token"; empty for
	// a problem with the file as a whole (a YAML syntax error).
	Path string
	// Message says what is wrong, in plain words.
	Message string
}

// Error formats the problem as "FILE: PATH: MESSAGE", leaving out the empty
// parts.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a configuration. Load and Validate
// return all of them at once, so that a user can fix a file in one pass.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// problemsOf flattens err into problems. Problems and Problem values found in
// err (through errors.Join trees and %w wrapping) keep their own paths; any
// other error becomes a problem at path.
func problemsOf(err error, path string) Problems {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out Problems
		for _, e := range joined.Unwrap() {
			out = append(out, problemsOf(e, path)...)
		}
		return out
	}
	var ps Problems
	if errors.As(err, &ps) {
		return append(Problems(nil), ps...)
	}
	var p Problem
	if errors.As(err, &p) {
		return Problems{p}
	}
	msg := err.Error()
	// By convention a factory names the key first ("token: required"); the
	// key then joins the path.
	if m := keyedMessage.FindStringSubmatch(msg); m != nil && path != "" {
		sep := "."
		if m[1][0] == '[' {
			sep = ""
		}
		return Problems{{Path: path + sep + m[1], Message: m[2]}}
	}
	return Problems{{Path: path, Message: msg}}
}

// keyedMessage matches "key.sub[0]: message", a message that names its key.
var keyedMessage = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*|\[\d+\])*): (.+)$`)

// finish fills the file name where missing, masks secret values that a
// message might carry (factories' own messages are not ours to trust) and
// drops exact repeats, keeping the first occurrence's order.
func (ps Problems) finish(file string, secrets []string) Problems {
	seen := make(map[string]bool, len(ps))
	out := make(Problems, 0, len(ps))
	for _, p := range ps {
		if p.File == "" {
			p.File = file
		}
		p.Message = maskSecrets(p.Message, secrets)
		key := p.File + "\x00" + p.Path + "\x00" + p.Message
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// under reports whether path is base or lies below it.
func under(path, base string) bool {
	if !strings.HasPrefix(path, base) {
		return false
	}
	rest := path[len(base):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}
