package eventcatalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Markdown renders the catalog as docs/events.md.
func (c *Catalog) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Event catalog\n\n")
	b.WriteString("Generated from `shared/eventcatalog/schemas/` by `make catalog`; do not edit by hand\n")
	b.WriteString("(a test fails when this page and the schemas disagree).\n\n")
	b.WriteString("Every event travels in the envelope of [design.md](design.md#envelopes-json-camelcase)\n")
	b.WriteString("(`eventId, type, schemaVersion, aggregateType, aggregateId, version, occurredAt, data,\n")
	b.WriteString("metadata`); the tables below describe `data`. Old schema versions are upcast when\n")
	b.WriteString("read, so code only ever sees the latest. domain-service validates every event against\n")
	b.WriteString("its schema before it is appended.\n\n")
	agg := ""
	for _, e := range c.Entries() {
		if e.AggregateType != agg {
			agg = e.AggregateType
			fmt.Fprintf(&b, "## %s (stream `%s-<id>`)\n\n", agg, agg)
		}
		latest := ""
		if e.SchemaVersion < c.Latest(e.EventType) {
			latest = fmt.Sprintf(" — superseded by v%d, upcast on read", c.Latest(e.EventType))
		}
		fmt.Fprintf(&b, "### %s v%d%s\n\n%s\n\n", e.EventType, e.SchemaVersion, latest, e.Description)
		props, _ := e.raw["properties"].(map[string]any)
		if len(props) == 0 {
			fmt.Fprintf(&b, "No data: `{}`. Schema: `%s`.\n\n", e.File)
			continue
		}
		required := map[string]bool{}
		if req, ok := e.raw["required"].([]any); ok {
			for _, r := range req {
				required[fmt.Sprint(r)] = true
			}
		}
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("| field | type | required | meaning |\n|---|---|---|---|\n")
		for _, n := range names {
			p, _ := props[n].(map[string]any)
			req := ""
			if required[n] {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", n, typeOf(p), req, describe(p))
		}
		fmt.Fprintf(&b, "\nSchema: `%s`.\n\n", e.File)
	}
	return b.Bytes()
}

func typeOf(p map[string]any) string {
	t := p["type"]
	switch v := t.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		t = strings.Join(parts, " or ")
	}
	s := fmt.Sprint(t)
	if s == "array" || strings.HasPrefix(s, "array") {
		if items, ok := p["items"].(map[string]any); ok {
			if it, ok := items["type"].(string); ok {
				s += " of " + it
			}
		}
	}
	return s
}

func describe(p map[string]any) string {
	d, _ := p["description"].(string)
	var extra []string
	if enum, ok := p["enum"].([]any); ok {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = "`" + fmt.Sprint(v) + "`"
		}
		extra = append(extra, "one of "+strings.Join(vals, ", "))
	}
	if mn, ok := p["minimum"]; ok {
		if mx, ok := p["maximum"]; ok {
			extra = append(extra, fmt.Sprintf("%v–%v", num(mn), num(mx)))
		} else {
			extra = append(extra, fmt.Sprintf("≥ %v", num(mn)))
		}
	}
	if pat, ok := p["pattern"].(string); ok {
		extra = append(extra, "pattern `"+strings.ReplaceAll(pat, "|", `\|`)+"`")
	}
	if len(extra) > 0 {
		d += " (" + strings.Join(extra, "; ") + ")"
	}
	return d
}

func num(v any) string {
	if f, ok := v.(float64); ok {
		return json.Number(fmt.Sprintf("%g", f)).String()
	}
	return fmt.Sprint(v)
}
