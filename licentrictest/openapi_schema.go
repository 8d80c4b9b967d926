package licentrictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/resource"
)

// schema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), with
// the keywords the document uses.
type schema struct {
	Ref                  string    `json:"$ref,omitempty"`
	Type                 any       `json:"type,omitempty"` // a name, or a list with "null"
	Format               string    `json:"format,omitempty"`
	Description          string    `json:"description,omitempty"`
	Const                any       `json:"const,omitempty"`
	Enum                 []any     `json:"enum,omitempty"`
	Properties           *props    `json:"properties,omitempty"`
	Required             []string  `json:"required,omitempty"`
	AdditionalProperties any       `json:"additionalProperties,omitempty"`
	Items                *schema   `json:"items,omitempty"`
	PrefixItems          []any     `json:"prefixItems,omitempty"`
	AnyOf                []*schema `json:"anyOf,omitempty"`
	Minimum              *int64    `json:"minimum,omitempty"`
	Maximum              *int64    `json:"maximum,omitempty"`
	MinLength            *int      `json:"minLength,omitempty"`
	MaxLength            *int      `json:"maxLength,omitempty"`
	MinItems             *int      `json:"minItems,omitempty"`
	MaxItems             *int      `json:"maxItems,omitempty"`
	Pattern              string    `json:"pattern,omitempty"`
	Default              any       `json:"default,omitempty"`
}

// props are a schema's properties in declaration order.
type props struct {
	names   []string
	schemas map[string]*schema
}

func (p *props) set(name string, s *schema) {
	if p.schemas == nil {
		p.schemas = map[string]*schema{}
	}
	if _, ok := p.schemas[name]; !ok {
		p.names = append(p.names, name)
	}
	p.schemas[name] = s
}

func (p *props) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range p.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		v, err := json.Marshal(p.schemas[n])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

// nullable returns s that also admits null.
func nullable(s *schema) *schema {
	if s.Ref != "" || s.AnyOf != nil {
		return &schema{AnyOf: []*schema{s, {Type: "null"}}}
	}
	cp := *s
	switch t := s.Type.(type) {
	case string:
		cp.Type = []string{t, "null"}
	case []string:
		if !slices.Contains(t, "null") {
			cp.Type = append(slices.Clone(t), "null")
		}
	}
	if cp.Enum != nil {
		cp.Enum = append(slices.Clone(cp.Enum), nil)
	}
	return &cp
}

func intp64(v int64) *int64 { return &v }

// enumOf lists a set's members, sorted.
func enumOf(set map[string]bool) []any {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

func enumList(values ...string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// schemas builds the components.schemas of the document by reflecting over
// the Go types the server encodes and decodes, with encoding/json's rules:
// a field's JSON name from its tag, embedded structs flattened (outer names
// win), omitempty/omitzero members optional and every other member
// required, pointers and resource.Nullable nullable.
type schemas struct {
	defs  map[string]*schema
	order []string
	// building guards against recursion while a type's schema is made.
	building map[reflect.Type]bool
	// docs refine members (fieldDocs).
	docs map[string]annot
}

var (
	typeTimestamp = reflect.TypeFor[resource.Timestamp]()
	typeMetadata  = reflect.TypeFor[resource.Metadata]()
	typeRawJSON   = reflect.TypeFor[json.RawMessage]()
	wirePkg       = reflect.TypeFor[wire.Pagination]().PkgPath()
	resourcePkg   = reflect.TypeFor[resource.License]().PkgPath()
)

// componentNames renames Go types whose own name is not the schema's.
var componentNames = map[reflect.Type]string{
	reflect.TypeFor[errorBody]():           "Error",
	reflect.TypeFor[licenseWithMachines](): "LicenseWithMachines",
	reflect.TypeFor[issue]():               "Issue",
}

func componentName(t reflect.Type) string {
	if n, ok := componentNames[t]; ok {
		return n
	}
	n := t.Name()
	return strings.ToUpper(n[:1]) + n[1:]
}

// isGeneric reports a generic instance (Data[...], Nullable[...]).
func isGeneric(t reflect.Type) bool { return strings.Contains(t.Name(), "[") }

// of returns the schema of values of t: a reference to a component for a
// named struct type, an inline schema otherwise.
func (g *schemas) of(t reflect.Type) *schema {
	switch {
	case t == typeTimestamp:
		return &schema{Type: "string", Format: "date-time"}
	case t == typeMetadata:
		return &schema{Type: "object", Description: "Free-form JSON object, stored as given (at most 64 KiB serialized)."}
	case t == typeRawJSON:
		return &schema{}
	case t.Kind() == reflect.Pointer:
		return nullable(g.of(t.Elem()))
	case isGeneric(t) && t.PkgPath() == resourcePkg && strings.HasPrefix(t.Name(), "Nullable["):
		m, _ := t.MethodByName("Get")
		return nullable(g.of(m.Type.Out(0)))
	case isGeneric(t) && t.PkgPath() == wirePkg && strings.HasPrefix(t.Name(), "Data["):
		f, _ := t.FieldByName("Data")
		return g.envelope(f.Type)
	case isGeneric(t) && t.PkgPath() == wirePkg && strings.HasPrefix(t.Name(), "List["):
		f, _ := t.FieldByName("Data")
		p := &props{}
		p.set("data", &schema{Type: "array", Items: g.of(f.Type.Elem())})
		p.set("pagination", g.of(reflect.TypeFor[wire.Pagination]()))
		return &schema{Type: "object", Properties: p, Required: []string{"data", "pagination"}}
	}
	switch t.Kind() {
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return &schema{Type: "integer"}
	case reflect.Float64, reflect.Float32:
		return &schema{Type: "number"}
	case reflect.Slice:
		return &schema{Type: "array", Items: g.of(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return &schema{Type: "object"}
		}
		return &schema{Type: "object", AdditionalProperties: g.of(t.Elem())}
	case reflect.Interface:
		return &schema{}
	case reflect.Struct:
		name := componentName(t)
		if _, ok := g.defs[name]; !ok && !g.building[t] {
			g.building[t] = true
			s := g.object(t, name)
			delete(g.building, t)
			g.add(name, s)
		}
		return ref(name)
	}
	panic(fmt.Sprintf("licentrictest: no schema for %v", t))
}

// envelope is {"data": T}, where a pointer T is never null.
func (g *schemas) envelope(t reflect.Type) *schema {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	p := &props{}
	p.set("data", g.of(t))
	return &schema{Type: "object", Properties: p, Required: []string{"data"}}
}

func (g *schemas) add(name string, s *schema) {
	if _, ok := g.defs[name]; !ok {
		g.order = append(g.order, name)
	}
	g.defs[name] = s
}

// field is one JSON member of a struct.
type field struct {
	name     string
	typ      reflect.Type
	optional bool
	depth    int
}

// fields lists t's JSON members as encoding/json sees them: tagged names,
// embedded structs flattened, a shallower field hiding a deeper one of the
// same name.
func fields(t reflect.Type, depth int) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, fields(ft, depth+1)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		out = append(out, field{name: name, typ: ft, optional: optional, depth: depth})
	}
	// Keep the shallowest field of each name, in first-seen order.
	var kept []field
	seen := map[string]int{}
	for _, f := range out {
		if i, ok := seen[f.name]; ok {
			if f.depth < kept[i].depth {
				kept[i] = f
			}
			continue
		}
		seen[f.name] = len(kept)
		kept = append(kept, f)
	}
	return kept
}

// object is the schema of struct t, named name, with its annotations.
func (g *schemas) object(t reflect.Type, name string) *schema {
	s := &schema{Type: "object", Properties: &props{}, Description: typeDocs[name]}
	for _, f := range fields(t, 0) {
		fs := g.of(f.typ)
		if f.typ.Kind() == reflect.Pointer && f.optional {
			// An optional request member: leave it out rather than send
			// null (the server reads null as absent).
			fs = g.of(f.typ.Elem())
		}
		if a, ok := g.docs[name+"."+f.name]; ok {
			fs = a(g, fs)
		}
		s.Properties.set(f.name, fs)
		if !f.optional {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

// variant registers name as a copy of the component of t with required
// members added (a create request whose Go type also serves updates).
func (g *schemas) variant(t reflect.Type, name string, required []string) *schema {
	base := g.of(t)
	src := g.defs[strings.TrimPrefix(base.Ref, "#/components/schemas/")]
	cp := *src
	cp.Required = append(slices.Clone(src.Required), required...)
	if d, ok := typeDocs[name]; ok {
		cp.Description = d
	}
	g.add(name, &cp)
	return ref(name)
}
