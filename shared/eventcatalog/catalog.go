// Package eventcatalog is Prism's event catalog: one JSON Schema per event
// type and schema version (schemas/<Type>.v<N>.schema.json), validation of
// events against them, the upcasters that lift old schema versions, and the
// generator of docs/events.md (`make catalog`).
package eventcatalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
)

//go:embed schemas/*.schema.json
var files embed.FS

// Entry describes one event type at one schema version.
type Entry struct {
	AggregateType string
	EventType     string
	SchemaVersion int
	Description   string
	File          string
	raw           map[string]any
	schema        *jsonschema.Schema
}

type key struct {
	typ     string
	version int
}

// Catalog holds the compiled schemas.
type Catalog struct {
	entries map[key]*Entry
}

// Load compiles every schema in the catalog.
func Load() (*Catalog, error) {
	c := &Catalog{entries: map[key]*Entry{}}
	compiler := jsonschema.NewCompiler()
	names, err := fs.Glob(files, "schemas/*.schema.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var meta struct {
			Description   string `json:"description"`
			AggregateType string `json:"x-aggregateType"`
			EventType     string `json:"x-eventType"`
			SchemaVersion int    `json:"x-schemaVersion"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		want := fmt.Sprintf("schemas/%s.v%d.schema.json", meta.EventType, meta.SchemaVersion)
		if name != want {
			return nil, fmt.Errorf("%s: names %s v%d, so it must be %s", name, meta.EventType, meta.SchemaVersion, want)
		}
		if err := compiler.AddResource(name, doc); err != nil {
			return nil, err
		}
		sch, err := compiler.Compile(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var raw map[string]any
		_ = json.Unmarshal(b, &raw)
		c.entries[key{meta.EventType, meta.SchemaVersion}] = &Entry{
			AggregateType: meta.AggregateType, EventType: meta.EventType, SchemaVersion: meta.SchemaVersion,
			Description: meta.Description, File: strings.TrimPrefix(name, "schemas/"), raw: raw, schema: sch,
		}
	}
	return c, nil
}

var defaultCatalog = func() *Catalog {
	c, err := Load()
	if err != nil {
		panic("eventcatalog: " + err.Error())
	}
	return c
}()

// Default is the catalog compiled into this binary.
func Default() *Catalog { return defaultCatalog }

// Validate checks e's envelope and its data against the schema of its type
// and schema version. An event type or version without a schema is invalid.
func Validate(e envelope.Event) error { return defaultCatalog.Validate(e) }

// Validate checks e against the catalog.
func (c *Catalog) Validate(e envelope.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	entry, ok := c.entries[key{e.Type, e.SchemaVersion}]
	if !ok {
		return apperr.New(apperr.Internal, "event %s v%d is not in the event catalog", e.Type, e.SchemaVersion)
	}
	if entry.AggregateType != e.AggregateType {
		return apperr.New(apperr.Internal, "event %s belongs to %s, not %s", e.Type, entry.AggregateType, e.AggregateType)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Data))
	if err != nil {
		return apperr.Wrap(apperr.Internal, err, "event %s data is not JSON", e.Type)
	}
	if err := entry.schema.Validate(inst); err != nil {
		return apperr.Wrap(apperr.Internal, err, "event %s v%d does not match its schema", e.Type, e.SchemaVersion)
	}
	return nil
}

// Entries lists the catalog by aggregate type, event type and version.
func (c *Catalog) Entries() []*Entry {
	out := make([]*Entry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.AggregateType != b.AggregateType {
			return aggregateOrder(a.AggregateType) < aggregateOrder(b.AggregateType)
		}
		if a.EventType != b.EventType {
			return a.EventType < b.EventType
		}
		return a.SchemaVersion < b.SchemaVersion
	})
	return out
}

// Latest is the newest schema version of an event type (0 if unknown).
func (c *Catalog) Latest(eventType string) int {
	v := 0
	for k := range c.entries {
		if k.typ == eventType && k.version > v {
			v = k.version
		}
	}
	return v
}

func aggregateOrder(t string) int {
	for i, a := range []string{"cart", "product", "order", "payment", "checkout"} {
		if a == t {
			return i
		}
	}
	return 99
}
