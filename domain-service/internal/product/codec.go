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

var decoders = codec.Decoders[Event]{
	Defined{}.EventType():                codec.As[Event, Defined](),
	Restocked{}.EventType():              codec.As[Event, Restocked](),
	StockReserved{}.EventType():          codec.As[Event, StockReserved](),
	StockReleased{}.EventType():          codec.As[Event, StockReleased](),
	StockReservationFailed{}.EventType(): codec.As[Event, StockReservationFailed](),
	StockCommitted{}.EventType():         codec.As[Event, StockCommitted](),
	LowStockAlert{}.EventType():          codec.As[Event, LowStockAlert](),
}

// DecodeEvent decodes stored event data of type typ.
func DecodeEvent(typ string, data []byte) (Event, error) {
	return decoders.Decode("product", typ, data)
}

// SchemaVersion is the current schema version of each event type.
// ProductDefined is at 2 (it gained the optional lowStockThreshold; v1 rows
// are upcast on read by the event catalog's upcasters).
func SchemaVersion(typ string) int {
	if typ == (Defined{}).EventType() {
		return 2
	}
	return 1
}
