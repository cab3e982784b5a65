package product

import (
	"fmt"

	"github.com/prism-es/prism/shared/aggregate/codec"
)

// Command types on the wire.
const (
	CmdDefine  = "DefineProduct"
	CmdRestock = "RestockProduct"
	CmdReserve = "ReserveStock"
	CmdRelease = "ReleaseStock"
	CmdCommit  = "CommitStock"
)

// ParseCommand decodes a command envelope's type and payload.
func ParseCommand(typ string, payload []byte) (Command, error) {
	switch typ {
	case CmdDefine:
		p, err := codec.Payload[struct {
			SKU               string `json:"sku"`
			Name              string `json:"name"`
			PriceCents        int64  `json:"priceCents"`
			Stock             int    `json:"stock"`
			LowStockThreshold int    `json:"lowStockThreshold"`
		}](payload)
		return Define{Name: p.Name, PriceCents: p.PriceCents, Stock: p.Stock, LowStockThreshold: p.LowStockThreshold}, err
	case CmdRestock:
		p, err := codec.Payload[struct {
			Quantity int `json:"quantity"`
		}](payload)
		return Restock{Quantity: p.Quantity}, err
	case CmdReserve:
		p, err := codec.Payload[struct {
			OrderID  string `json:"orderId"`
			Quantity int    `json:"quantity"`
		}](payload)
		return Reserve{OrderID: p.OrderID, Quantity: p.Quantity}, err
	case CmdRelease:
		p, err := codec.Payload[struct {
			OrderID string `json:"orderId"`
		}](payload)
		return Release{OrderID: p.OrderID}, err
	case CmdCommit:
		p, err := codec.Payload[struct {
			OrderID string `json:"orderId"`
		}](payload)
		return Commit{OrderID: p.OrderID}, err
	}
	return nil, fmt.Errorf("product: unknown command type %q", typ)
}

// events are the product's event types and their current schema versions.
// ProductDefined is at 2 (it gained the optional lowStockThreshold; v1 rows
// are upcast on read by the event catalog's upcasters).
var events = codec.NewEvents[Event]("product",
	codec.Event[Event, Defined](2),
	codec.Event[Event, Restocked](1),
	codec.Event[Event, StockReserved](1),
	codec.Event[Event, StockReleased](1),
	codec.Event[Event, StockReservationFailed](1),
	codec.Event[Event, StockCommitted](1),
	codec.Event[Event, LowStockAlert](1),
)

// DecodeEvent decodes stored event data of type typ (at its current schema).
func DecodeEvent(typ string, data []byte) (Event, error) { return events.Decode(typ, data) }

// SchemaVersion is the current schema version of each event type.
func SchemaVersion(typ string) int { return events.SchemaVersion(typ) }
