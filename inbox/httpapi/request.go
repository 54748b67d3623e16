package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// invalid returns an EINVALID error answered with 400.
func invalid(format string, args ...any) error {
	return models.Errorf(models.EINVALID, format, args...)
}

// decodeJSON decodes the request body strictly into v: the Content-Type must
// be JSON (415), the body at most s.maxBody bytes (413), a single JSON object
// with no unknown fields, no repeated keys, field names in their exact case
// and the right types (400, naming the field). encoding/json alone matches
// field names case-insensitively and keeps the last of repeated keys, so a
// first pass (strictKeys) refuses both.
func (s *Server) decodeJSON(c *gin.Context, v any) error {
	if err := requireJSONContentType(c.GetHeader("Content-Type")); err != nil {
		return err
	}
	if c.Request.ContentLength > s.maxBody {
		return tooLarge(s.maxBody)
	}
	// MaxBytesReader tells the net/http server to close the connection after
	// an oversized body; it can only do that through the real ResponseWriter.
	var w http.ResponseWriter = c.Writer
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	// One pass over the body as it arrives checks the keys (and stops at
	// the first malformed byte, without waiting for the rest); the bytes
	// read are kept for the decoder.
	body := &readErr{r: http.MaxBytesReader(w, c.Request.Body, s.maxBody)}
	var buf bytes.Buffer
	tee := io.TeeReader(body, &buf)
	err := strictKeys(tee, reflect.TypeOf(v))
	if err != nil && !errors.Is(err, errMalformed) {
		return err
	}
	if err == nil {
		_, _ = io.Copy(io.Discard, tee) // the rest: trailing data, checked below
	}
	if body.err != nil {
		var mbe *http.MaxBytesError
		if errors.As(body.err, &mbe) {
			return tooLarge(s.maxBody)
		}
		// The client stopped sending (the body deadline passed) or went
		// away; writeError closes the connection.
		return withStatus(http.StatusRequestTimeout, models.EINVALID, "the request body was not received in time")
	}
	data := buf.Bytes()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return s.decodeError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return invalid("request body must contain a single JSON object")
	}
	return nil
}

// maxJSONDepth bounds the nesting of request bodies.
const maxJSONDepth = 32

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// readErr remembers the error of the reader it wraps (io.EOF aside).
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

// strictKeys walks the JSON value read from r along type t and refuses a
// key repeated in one object, and an object key that is not one of a
// struct's JSON field names exactly (case included). It returns
// errMalformed when the JSON is malformed or cannot be read, for the
// decoder to report; t nil (or a custom unmarshaler, or an interface)
// checks only for repeated keys below.
func strictKeys(r io.Reader, t reflect.Type) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return walkJSON(dec, t, "", 0)
}

var errMalformed = errors.New("malformed JSON")

func walkJSON(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxJSONDepth {
		return invalid("request body is nested more than %d levels deep", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return errMalformed
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = jsonTarget(t)
	switch d {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = jsonFieldTypes(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errMalformed
			}
			key, _ := kt.(string)
			name := path + key
			if seen[key] {
				return invalid("field %q is given more than once", truncate(name, 80))
			}
			seen[key] = true
			ft := elem
			if fields != nil {
				var known bool
				if ft, known = fields[key]; !known {
					for f := range fields {
						if strings.EqualFold(f, key) {
							return invalid("unknown field %q (field names are case-sensitive: %q)", truncate(name, 80), path+f)
						}
					}
					return invalid("unknown field %q", truncate(name, 80))
				}
			}
			if err := walkJSON(dec, ft, name+".", depth+1); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		base := strings.TrimSuffix(path, ".")
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, elem, fmt.Sprintf("%s[%d].", base, i), depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return errMalformed
	}
	return nil
}

// jsonTarget is the type whose fields a JSON value fills: pointers are
// followed; custom unmarshalers and interfaces are opaque (nil).
func jsonTarget(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

// jsonFieldTypes maps a struct's JSON field names to their types, with
// untagged embedded structs flattened as encoding/json does.
func jsonFieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.HasPrefix(tag, "-,") {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFieldTypes(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// requireJSONContentType accepts application/json and any +json media type,
// with no charset or charset=utf-8.
func requireJSONContentType(header string) error {
	if header == "" {
		return withStatus(http.StatusUnsupportedMediaType, models.EINVALID,
			"Content-Type must be application/json")
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || (mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return withStatus(http.StatusUnsupportedMediaType, models.EINVALID,
			fmt.Sprintf("Content-Type must be application/json, not %q", header))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return withStatus(http.StatusUnsupportedMediaType, models.EINVALID,
			fmt.Sprintf("JSON must be UTF-8, not charset %q", cs))
	}
	return nil
}

func tooLarge(limit int64) error {
	return withStatus(http.StatusRequestEntityTooLarge, models.EINVALID,
		fmt.Sprintf("request body is larger than %d bytes", limit))
}

// decodeError turns a json.Decoder error into a clear EINVALID message.
func (s *Server) decodeError(err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(s.maxBody)
	case errors.Is(err, io.EOF):
		return invalid("request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("request body is truncated JSON")
	case errors.As(err, &syntaxErr):
		return invalid("request body is malformed JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("request body must be a JSON object, not %s", jsonKind(typeErr.Value))
		}
		return invalid("field %q must be %s, not %s", typeErr.Field, describeType(typeErr.Type), jsonKind(typeErr.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid("unknown field %s", name)
	}
	return invalid("request body is not valid JSON")
}

// jsonKind names a JSON value kind as json.UnmarshalTypeError reports it
// ("string", "number 1.5", "array", ...).
func jsonKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "bool":
		return "a boolean"
	case "array", "object":
		return "an " + kind
	case "number", "string":
		return "a " + kind
	}
	return "a " + kind + " value"
}

// describeType names a Go type as a JSON kind, for error messages.
func describeType(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a valid value"
}

// optionalString is a JSON field that distinguishes absent (Set false) from
// null (Set true, Value nil) and a string (Set true, Value set).
type optionalString struct {
	Set   bool
	Value *string
}

// UnmarshalJSON implements json.Unmarshaler; it is only called when the field
// is present.
func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		kind := "value"
		if len(b) > 0 {
			switch b[0] {
			case '{':
				kind = "object"
			case '[':
				kind = "array"
			case 't', 'f':
				kind = "bool"
			default:
				kind = "number"
			}
		}
		// The decoder adds the field name to an UnmarshalTypeError.
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	}
	o.Value = &v
	return nil
}

// pathID parses the decimal id in path parameter param; what names the
// resource in the error message. A malformed id is answered with 400; a
// well-formed one beyond the int64 range names nothing: 404.
func pathID(c *gin.Context, param, what string) (int64, error) {
	raw := c.Param(param)
	id, ok := parseID(raw)
	if !ok {
		if wellFormedID(raw) {
			return 0, models.Errorf(models.ENOTFOUND, "%s %s not found", what, raw)
		}
		return 0, invalid("%s id must be a positive decimal integer, not %q", what, truncate(raw, 40))
	}
	return id, nil
}

// wellFormedID reports whether raw has the API's id syntax,
// ^[1-9][0-9]{0,18}$, whether or not it fits in an int64.
func wellFormedID(raw string) bool {
	if raw == "" || len(raw) > 19 || raw[0] == '0' {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return false
		}
	}
	return true
}

// parseID parses a positive decimal int64 with no sign, spaces or leading
// zeros beyond a single digit.
func parseID(raw string) (int64, bool) {
	if !wellFormedID(raw) {
		return 0, false
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// queryParams returns the request's query parameters after checking that
// each is one of allowed and given at most once. Unknown parameters are
// errors so that a typo (?stauts=open) does not silently widen a list.
func queryParams(c *gin.Context, allowed ...string) (url.Values, error) {
	q := c.Request.URL.Query()
	for name, vals := range q {
		known := false
		for _, a := range allowed {
			if a == name {
				known = true
				break
			}
		}
		if !known {
			return nil, invalid("unknown query parameter %q (known: %s)", truncate(name, 40), strings.Join(allowed, ", "))
		}
		if len(vals) > 1 {
			return nil, invalid("query parameter %q is given more than once", name)
		}
		if vals[0] == "" {
			return nil, invalid("query parameter %q is empty: leave it out instead", name)
		}
	}
	return q, nil
}

// parseLimit parses a page size: empty means def; otherwise an integer in
// [1, limitMax].
func parseLimit(raw string, def, limitMax int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > limitMax {
		return 0, invalid("limit must be an integer between 1 and %d, not %q", limitMax, truncate(raw, 20))
	}
	return n, nil
}

// checkCursor validates an opaque pagination cursor as given by a previous
// page: printable ASCII of bounded length. Its meaning is the inbox's.
func checkCursor(raw string) error {
	if len(raw) > maxCursorLen {
		return invalid("cursor is too long")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x21 || raw[i] > 0x7e {
			return invalid("cursor is malformed")
		}
	}
	return nil
}

// oneOf validates an enumerated parameter; empty is allowed (no filter).
func oneOf(param, value string, allowed ...string) error {
	if value == "" {
		return nil
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return invalid("invalid %s %q: must be one of %s", param, truncate(value, 40), strings.Join(allowed, ", "))
}

// truncate shortens s to about n bytes (on a rune boundary) for error
// messages that echo user input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
