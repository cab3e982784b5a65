package deploy

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// There is no Bicep compiler on the machines that run these tests, so this is
// a tolerant structural reader, not a parser: it understands strings (with
// ${…} interpolation and ''' multi-line strings), comments and bracket
// nesting, and finds declarations and properties by name. That is enough to
// check what the templates declare; whether they compile is left to
// `az bicep build` (infra/README.md).

// BicepFile is one Bicep source with its comments removed.
type BicepFile struct {
	Path string
	// Src is the source with comments blanked out.
	Src string
	// masked is Src with the inside of every string literal blanked out, so
	// searches for keys and brackets never match text inside a string. It has
	// the same length as Src, so offsets carry over.
	masked string
}

// Resource is one `resource` declaration.
type Resource struct {
	Symbol   string
	Type     string // e.g. Microsoft.App/containerApps
	Version  string // e.g. 2024-03-01
	Existing bool
	// Head is the text between `=` and the body's opening brace, e.g.
	// "[for t in tableNames: " or "if (!empty(acrName)) ".
	Head string
	// Body is the declaration's object, braces included.
	Body Value
}

// Module is one `module` declaration.
type Module struct {
	Symbol string
	Path   string
	Body   Value
}

// Param is one `param` declaration.
type Param struct {
	Name       string
	Type       string
	HasDefault bool
	Secure     bool
}

// Value is a piece of a BicepFile: an expression, object or array.
type Value struct {
	f          *BicepFile
	start, end int
}

// Text is the value's source text.
func (v Value) Text() string {
	if v.f == nil {
		return ""
	}
	return v.f.Src[v.start:v.end]
}

func (v Value) masked() string { return v.f.masked[v.start:v.end] }

// OK says whether the value was found.
func (v Value) OK() bool { return v.f != nil }

// ParseBicepFile reads and prepares a Bicep file.
func ParseBicepFile(path string) (*BicepFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBicep(path, string(b)), nil
}

// ParseBicep prepares Bicep source src (path names it in messages).
func ParseBicep(path, src string) *BicepFile {
	code := stripComments(src)
	return &BicepFile{Path: path, Src: code, masked: maskStrings(code)}
}

// stripComments blanks // and /* */ comments (outside strings) with spaces,
// keeping newlines and offsets.
func stripComments(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		switch {
		case b[i] == '\'':
			i = skipString(s, i)
		case strings.HasPrefix(s[i:], "//"):
			for i < len(b) && b[i] != '\n' {
				b[i] = ' '
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			stop := len(b)
			if end >= 0 {
				stop = i + 2 + end + 2
			}
			for ; i < stop; i++ {
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
		default:
			i++
		}
	}
	return string(b)
}

// maskStrings replaces the contents of every string literal (quotes
// included, interpolations too) with '_', keeping newlines.
func maskStrings(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		if b[i] != '\'' {
			i++
			continue
		}
		end := skipString(s, i)
		for j := i; j < end; j++ {
			if b[j] != '\n' {
				b[j] = '_'
			}
		}
		i = end
	}
	return string(b)
}

// skipString returns the offset just past the string literal that starts
// with the single quote at s[i].
func skipString(s string, i int) int {
	if strings.HasPrefix(s[i:], "'''") {
		end := strings.Index(s[i+3:], "'''")
		if end < 0 {
			return len(s)
		}
		return i + 3 + end + 3
	}
	for i++; i < len(s); {
		switch {
		case s[i] == '\\':
			i += 2
		case s[i] == '\'':
			return i + 1
		case strings.HasPrefix(s[i:], "${"):
			i = skipCode(s, i+2)
		default:
			i++
		}
	}
	return len(s)
}

// skipCode scans code from i to the first unmatched closing bracket and
// returns the offset just past it.
func skipCode(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '\'':
			i = skipString(s, i)
			continue
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			if depth == 0 {
				return i + 1
			}
			depth--
		}
		i++
	}
	return len(s)
}

// closing returns the offset just past the bracket matching the one at
// masked[open].
func closing(masked string, open int) int {
	depth := 0
	for i := open; i < len(masked); i++ {
		switch masked[i] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(masked)
}

// exprEnd returns where the expression starting at start ends: the first
// newline (or, for a value inside an object or array, the first unmatched
// closing bracket) outside brackets.
func exprEnd(masked string, start int) int {
	depth := 0
	for i := start; i < len(masked); i++ {
		switch masked[i] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			if depth == 0 {
				return i
			}
			depth--
		case '\n':
			if depth == 0 {
				return i
			}
		}
	}
	return len(masked)
}

func (f *BicepFile) value(start, end int) Value {
	for start < end && (f.Src[start] == ' ' || f.Src[start] == '\t') {
		start++
	}
	for end > start && strings.ContainsRune(" \t\r\n", rune(f.Src[end-1])) {
		end--
	}
	return Value{f: f, start: start, end: end}
}

var (
	resourceRE = regexp.MustCompile(`(?m)^[ \t]*resource[ \t]+([A-Za-z_]\w*)[ \t]+_+[ \t]*(existing[ \t]*)?=`)
	moduleRE   = regexp.MustCompile(`(?m)^[ \t]*module[ \t]+([A-Za-z_]\w*)[ \t]+_+[ \t]*=`)
	paramRE    = regexp.MustCompile(`(?m)^[ \t]*param[ \t]+([A-Za-z_]\w*)[ \t]+([A-Za-z_]\w*)[ \t]*(=)?`)
	secureRE   = regexp.MustCompile(`@secure\(\)`)
	typeRE     = regexp.MustCompile(`^'([^'@]+)@([^']+)'`)
)

// Resources lists the file's resource declarations in order.
func (f *BicepFile) Resources() []Resource {
	var out []Resource
	for _, m := range resourceRE.FindAllStringSubmatchIndex(f.masked, -1) {
		// The type string sits where the masked text has underscores.
		decl := f.Src[m[0]:m[1]]
		q := strings.IndexByte(decl, '\'')
		tm := typeRE.FindStringSubmatch(decl[q:])
		if tm == nil {
			continue
		}
		open := strings.IndexByte(f.masked[m[1]:], '{')
		if open < 0 {
			continue
		}
		open += m[1]
		out = append(out, Resource{
			Symbol:   f.Src[m[2]:m[3]],
			Type:     tm[1],
			Version:  tm[2],
			Existing: m[4] >= 0,
			Head:     strings.TrimSpace(f.Src[m[1]:open]),
			Body:     Value{f: f, start: open, end: closing(f.masked, open)},
		})
	}
	return out
}

// ResourcesOfType returns the resources of type typ (without version).
func (f *BicepFile) ResourcesOfType(typ string) []Resource {
	var out []Resource
	for _, r := range f.Resources() {
		if strings.EqualFold(r.Type, typ) {
			out = append(out, r)
		}
	}
	return out
}

// Modules lists the file's module declarations.
func (f *BicepFile) Modules() []Module {
	var out []Module
	for _, m := range moduleRE.FindAllStringSubmatchIndex(f.masked, -1) {
		decl := f.Src[m[0]:m[1]]
		q := strings.IndexByte(decl, '\'')
		r := strings.IndexByte(decl[q+1:], '\'')
		open := strings.IndexByte(f.masked[m[1]:], '{')
		if q < 0 || r < 0 || open < 0 {
			continue
		}
		open += m[1]
		out = append(out, Module{
			Symbol: f.Src[m[2]:m[3]],
			Path:   decl[q+1 : q+1+r],
			Body:   Value{f: f, start: open, end: closing(f.masked, open)},
		})
	}
	return out
}

// Params lists the file's parameters.
func (f *BicepFile) Params() []Param {
	secureAt := secureRE.FindAllStringIndex(f.masked, -1)
	var out []Param
	prev := 0
	for _, m := range paramRE.FindAllStringSubmatchIndex(f.masked, -1) {
		p := Param{Name: f.Src[m[2]:m[3]], Type: f.Src[m[4]:m[5]], HasDefault: m[6] >= 0}
		for _, s := range secureAt {
			if s[0] >= prev && s[0] < m[0] {
				p.Secure = true
			}
		}
		prev = m[1]
		out = append(out, p)
	}
	return out
}

// Var returns the value of `var name = …`.
func (f *BicepFile) Var(name string) Value {
	re := regexp.MustCompile(`(?m)^[ \t]*var[ \t]+` + regexp.QuoteMeta(name) + `[ \t]*=[ \t]*`)
	m := re.FindStringIndex(f.masked)
	if m == nil {
		return Value{}
	}
	return f.value(m[1], exprEnd(f.masked, m[1]))
}

// Prop returns the value of the first property key found anywhere inside v
// (at any depth, outside strings): `key: value`.
func (v Value) Prop(key string) Value {
	if !v.OK() {
		return Value{}
	}
	re := regexp.MustCompile(`(^|[\s{,])` + regexp.QuoteMeta(key) + `[ \t]*:`)
	inner := v.masked()
	m := re.FindStringIndex(inner)
	if m == nil {
		return Value{}
	}
	start := v.start + m[1]
	return v.f.value(start, exprEnd(v.f.masked, start))
}

// Keys returns the property names of object v at its own level.
func (v Value) Keys() []string {
	if !v.OK() {
		return nil
	}
	s := v.masked()
	var keys []string
	depth := 0
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			lineStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			continue
		case c == '{' || c == '(' || c == '[':
			depth++
		case c == '}' || c == ')' || c == ']':
			depth--
		case lineStart && depth == 1 && (c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z') {
				j++
			}
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			if k < len(s) && s[k] == ':' {
				keys = append(keys, v.f.Src[v.start+i:v.start+j])
			}
			i = j - 1
		}
		lineStart = false
	}
	return keys
}

// Objects returns the outermost { } objects inside v (for an array of
// objects: its elements).
func (v Value) Objects() []Value {
	if !v.OK() {
		return nil
	}
	s := v.masked()
	var out []Value
	// Skip v's own brace when v is itself an object.
	from := 0
	if strings.HasPrefix(s, "{") {
		from = 1
	}
	for i := from; i < len(s); i++ {
		if s[i] == '{' {
			end := closing(v.f.masked, v.start+i)
			out = append(out, Value{f: v.f, start: v.start + i, end: end})
			i = end - v.start - 1
		}
	}
	return out
}

// Identifiers returns the bare identifiers that appear in v outside strings
// and property keys (e.g. the variables an expression refers to).
func (v Value) Identifiers() []string {
	if !v.OK() {
		return nil
	}
	re := regexp.MustCompile(`[A-Za-z_]\w*`)
	s := v.masked()
	var out []string
	for _, m := range re.FindAllStringIndex(s, -1) {
		rest := strings.TrimLeft(s[m[1]:], " \t")
		if strings.HasPrefix(rest, ":") || (m[0] > 0 && s[m[0]-1] == '.') {
			continue
		}
		out = append(out, s[m[0]:m[1]])
	}
	return out
}

// String returns v's value when it is a plain string literal, with ok
// false otherwise (an interpolated string or an expression).
func (v Value) String() (string, bool) {
	t := v.Text()
	if len(t) < 2 || t[0] != '\'' || t[len(t)-1] != '\'' || strings.Contains(t, "${") {
		return "", false
	}
	if skipString(t, 0) != len(t) {
		return "", false
	}
	return strings.ReplaceAll(t[1:len(t)-1], `\'`, `'`), true
}

// Strings returns the plain string literals of an array value, in order.
func (v Value) Strings() []string {
	if !v.OK() {
		return nil
	}
	var out []string
	for i := v.start; i < v.end; i++ {
		if v.f.Src[i] == '\'' {
			end := skipString(v.f.Src, i)
			if s, ok := (Value{f: v.f, start: i, end: end}).String(); ok {
				out = append(out, s)
			}
			i = end - 1
		}
	}
	return out
}

// EnvVar is one entry of a container's env list.
type EnvVar struct {
	Name string
	// Value is the literal value, or the expression's text when it is not a
	// plain string.
	Value string
	// Literal says whether Value is a plain string literal.
	Literal bool
	// SecretRef names the Container Apps secret the value comes from.
	SecretRef string
}

// EnvList resolves an env expression: an array of {name, value|secretRef}
// objects, a variable holding one, or concat(…) of those.
func (f *BicepFile) EnvList(expr Value) ([]EnvVar, error) {
	if !expr.OK() {
		return nil, fmt.Errorf("%s: no env", f.Path)
	}
	var out []EnvVar
	var objs []Value
	objs = append(objs, expr.Objects()...)
	for _, id := range expr.Identifiers() {
		if v := f.Var(id); v.OK() && strings.HasPrefix(v.Text(), "[") {
			objs = append(objs, v.Objects()...)
		}
	}
	for _, o := range objs {
		name, ok := o.Prop("name").String()
		if !ok {
			return nil, fmt.Errorf("%s: env entry without a literal name: %s", f.Path, o.Text())
		}
		e := EnvVar{Name: name}
		if sr := o.Prop("secretRef"); sr.OK() {
			e.SecretRef, _ = sr.String()
		}
		if val := o.Prop("value"); val.OK() {
			e.Value, e.Literal = val.String()
			if !e.Literal {
				e.Value = val.Text()
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
