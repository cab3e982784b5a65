package commandapi

import (
	"bytes"
	"encoding/json"
)

// Accepted is the body of every 202 (docs/api.md): the command's id, its
// correlation id, its aggregate's id, "pending" and the status URL, then
// any ids the route named for the client.
type Accepted struct {
	CommandID     string `json:"commandId"`
	CorrelationID string `json:"correlationId"`
	AggregateID   string `json:"aggregateId"`
	Status        string `json:"status"`
	StatusURL     string `json:"statusUrl"`
	// Also are further fields, in order after the others (a checkout's
	// "orderId").
	Also []Field `json:"-"`
}

// Field is a further string field of a 202 body.
type Field struct {
	// Name is the JSON name ("orderId").
	Name string
	// Value is its value.
	Value string
}

type acceptedFields struct {
	CommandID     string `json:"commandId"`
	CorrelationID string `json:"correlationId"`
	AggregateID   string `json:"aggregateId"`
	Status        string `json:"status"`
	StatusURL     string `json:"statusUrl"`
}

// MarshalJSON encodes the fixed fields, then Also in order.
func (a Accepted) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(acceptedFields{a.CommandID, a.CorrelationID, a.AggregateID, a.Status, a.StatusURL})
	if err != nil || len(a.Also) == 0 {
		return b, err
	}
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	for _, f := range a.Also {
		name, _ := json.Marshal(f.Name)
		value, _ := json.Marshal(f.Value)
		buf.WriteByte(',')
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
