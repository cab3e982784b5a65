package codec_test

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

type shipped struct {
	TrackingNumber string `json:"trackingNumber"`
}

func (shipped) EventType() string { return "OrderShipped" }

type orderEvent interface{ EventType() string }

// NewEvents declares an aggregate's event types once: the decoder and the
// current schema version of each, for its Definition's DecodeEvent and
// SchemaVersion.
func ExampleNewEvents() {
	events := codec.NewEvents[orderEvent]("order", codec.Event[orderEvent, shipped](2))
	e, err := events.Decode("OrderShipped", []byte(`{"trackingNumber":"T1"}`))
	fmt.Printf("%#v %v %d\n", e, err, events.SchemaVersion("OrderShipped"))
	_, err = events.Decode("OrderLost", []byte(`{}`))
	fmt.Println(err)
	// Output:
	// codec_test.shipped{TrackingNumber:"T1"} <nil> 2
	// order: unknown event type "OrderLost"
}

// Payload decodes a command payload strictly: an unknown field is refused.
func ExamplePayload() {
	_, err := codec.Payload[struct {
		Quantity int `json:"quantity"`
	}]([]byte(`{"quantity":1,"price":0}`))
	fmt.Println(err)
	// Output: rejected: malformed command payload: json: unknown field "price"
}
