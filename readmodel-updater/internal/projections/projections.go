// Package projections lists the projections readmodel-updater runs; each
// lives in a package of its own (carts, orders, products) built on the
// kit's shared/projection.
package projections

import (
	"github.com/prism-es/prism/readmodel-updater/internal/projections/carts"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/orders"
	"github.com/prism-es/prism/readmodel-updater/internal/projections/products"
	"github.com/prism-es/prism/shared/projection"
)

// All returns every projection this service runs, rebuilds and serves at
// /admin/rebuilds. Registering a projection is one line here (and its
// aggregate type in config.Subscriptions' "readmodel" entry, so
// domain-service sends its events to events-readmodel).
func All() []projection.Projection {
	return []projection.Projection{
		carts.Projection(),
		orders.Projection(),
		products.Projection(),
	}
}
