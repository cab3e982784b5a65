package eventcatalog

import (
	"encoding/json"

	"github.com/prism-es/prism/shared/eventstore"
)

// Upcasters returns the registry of every upcaster, for every event store
// that reads events (domain-service, readmodel-updater, tools).
func Upcasters() *eventstore.Upcasters {
	u := eventstore.NewUpcasters()
	u.Register("ItemAdded", 1, itemAddedV1toV2)
	// v2 only added optional fields, absent from v1 rows: the data stands.
	u.Register("OrderShipped", 1, unchanged)
	u.Register("ProductDefined", 1, unchanged)
	return u
}

// unchanged lifts a version whose successor only added optional fields.
func unchanged(data json.RawMessage) (json.RawMessage, error) { return data, nil }

// itemAddedV1toV2 lifts ItemAdded {sku, quantity, priceCents} (written
// before carts recorded product names) to {sku, name, quantity,
// unitPriceCents}; the unknown name becomes the SKU.
func itemAddedV1toV2(data json.RawMessage) (json.RawMessage, error) {
	var v1 struct {
		SKU        string `json:"sku"`
		Quantity   int    `json:"quantity"`
		PriceCents int64  `json:"priceCents"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		SKU            string `json:"sku"`
		Name           string `json:"name"`
		Quantity       int    `json:"quantity"`
		UnitPriceCents int64  `json:"unitPriceCents"`
	}{v1.SKU, v1.SKU, v1.Quantity, v1.PriceCents})
}
