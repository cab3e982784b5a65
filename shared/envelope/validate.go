package envelope

import (
	"bytes"
	"encoding/json"
	"regexp"

	"github.com/prism-es/prism/shared/apperr"
)

var (
	idPattern            = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	typePattern          = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{0,63}$`)
	aggregateTypePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)
)

// ValidID reports whether s may be used as a command, event, aggregate or user
// id: 1–128 characters of letters, digits and ". _ : -", starting with a letter
// or digit. Such ids are safe in Table keys, queue bodies, Redis keys and URLs.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ValidType reports whether s is a valid command or event type (PascalCase).
func ValidType(s string) bool { return typePattern.MatchString(s) }

// ValidAggregateType reports whether s is a valid aggregate type (lowercase).
func ValidAggregateType(s string) bool { return aggregateTypePattern.MatchString(s) }

// checker checks an envelope's fields.
type checker struct{ apperr.FieldErrors }

func (c *checker) id(field, v string) {
	c.Check(ValidID(v), field, "must be 1-128 characters of letters, digits and . _ : -")
}

func (c *checker) object(field string, raw json.RawMessage) {
	t := bytes.TrimSpace(raw)
	c.Check(len(t) > 0 && t[0] == '{' && json.Valid(t), field, "must be a JSON object")
}

func (c *checker) err(what string) error { return c.Err("invalid " + what) }

// Validate checks the command's ids, types, payload and encoded size.
func (c Command) Validate() error {
	var k checker
	k.id("commandId", c.CommandID)
	k.Check(ValidType(c.Type), "type", "must be a PascalCase name")
	k.Check(ValidAggregateType(c.AggregateType), "aggregateType", "must be a lowercase name")
	k.id("aggregateId", c.AggregateID)
	k.object("payload", c.Payload)
	k.id("metadata.correlationId", c.Metadata.CorrelationID)
	k.id("metadata.userId", c.Metadata.UserID)
	k.Check(!c.Metadata.IssuedAt.IsZero(), "metadata.issuedAt", "is required")
	if err := k.err("command"); err != nil {
		return err
	}
	return checkSize(c)
}

// Validate checks the event's ids, type, version, data and encoded size.
func (e Event) Validate() error {
	var k checker
	k.id("eventId", e.EventID)
	k.Check(ValidType(e.Type), "type", "must be a PascalCase name")
	k.Check(e.SchemaVersion >= 1, "schemaVersion", "must be 1 or more")
	k.Check(ValidAggregateType(e.AggregateType), "aggregateType", "must be a lowercase name")
	k.id("aggregateId", e.AggregateID)
	k.Check(e.Version >= 1, "version", "must be 1 or more")
	k.Check(!e.OccurredAt.IsZero(), "occurredAt", "is required")
	k.object("data", e.Data)
	k.id("metadata.commandId", e.Metadata.CommandID)
	if err := k.err("event"); err != nil {
		return err
	}
	return checkSize(e)
}

func checkSize(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "envelope does not encode as JSON")
	}
	if len(b) > MaxBytes {
		return apperr.New(apperr.TooLarge, "envelope is %d bytes; the limit is %d", len(b), MaxBytes)
	}
	return nil
}

// DecodeCommand parses and validates a command envelope.
func DecodeCommand(body []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(body, &c); err != nil {
		return Command{}, apperr.Wrap(apperr.Invalid, err, "command envelope is not valid JSON")
	}
	return c, c.Validate()
}

// DecodeEvent parses and validates an event envelope.
func DecodeEvent(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, apperr.Wrap(apperr.Invalid, err, "event envelope is not valid JSON")
	}
	return e, e.Validate()
}
