package client

import (
	"context"
	"net/http"
	"time"
)

// IdempotencyHeader is the header every command carries.
const IdempotencyHeader = "Idempotency-Key"

// Command is one command request. Build it with the functions below.
type Command struct {
	// Name is the command type, for messages (e.g. "AddItem").
	Name   string
	Method string
	Path   string
	Body   any
	// Key is the Idempotency-Key; empty: Send makes one.
	Key string
}

// Accepted is the 202 answer to a command.
type Accepted struct {
	CommandID     string `json:"commandId"`
	CorrelationID string `json:"correlationId,omitempty"`
	AggregateID   string `json:"aggregateId"`
	Status        string `json:"status"`
	StatusURL     string `json:"statusUrl,omitempty"`
	// OrderID is set for a checkout.
	OrderID string `json:"orderId,omitempty"`
	// Key is the Idempotency-Key the command went with.
	Key string `json:"-"`
	// Replayed is true when the server answered an earlier request with the
	// same key and body (nothing new was queued).
	Replayed bool `json:"-"`
}

// Send sends a command and returns its 202. The same Idempotency-Key is
// used on every attempt: a 409 (the key is in flight) or 503 that carries
// Retry-After is retried (at most 3 attempts in all), which is safe because
// the server queues a key's command once.
func (c *Client) Send(ctx context.Context, cmd Command) (Accepted, error) {
	if cmd.Key == "" {
		cmd.Key = c.newKey()
	}
	maxWait := c.MaxRetryAfter
	if maxWait <= 0 {
		maxWait = MaxRetryAfter
	}
	var body any = cmd.Body
	if body == nil && cmd.Method != http.MethodDelete {
		body = struct{}{}
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.do(ctx, request{method: cmd.Method, path: cmd.Path, body: body,
			header: http.Header{IdempotencyHeader: {cmd.Key}}})
		if p, ok := AsProblem(err); ok && attempt < 3 && p.RetryAfter > 0 &&
			(p.Status == http.StatusConflict || p.Status == http.StatusServiceUnavailable) {
			if err := sleep(ctx, min(p.RetryAfter, maxWait)); err != nil {
				return Accepted{}, err
			}
			continue
		}
		if err != nil {
			return Accepted{}, err
		}
		var a Accepted
		if err := decode(resp, cmd.Method+" "+cmd.Path, &a); err != nil {
			return Accepted{}, err
		}
		a.Key = cmd.Key
		a.Replayed = resp.header.Get("Idempotent-Replayed") == "true"
		return a, nil
	}
}

// MaxRetryAfter is the default cap on a Retry-After wait.
const MaxRetryAfter = 5 * time.Second

// CreateCart creates a cart; cartID "" lets the API choose the id.
func CreateCart(cartID string) Command {
	body := map[string]any{}
	if cartID != "" {
		body["cartId"] = cartID
	}
	return Command{Name: "CreateCart", Method: http.MethodPost, Path: "/api/carts", Body: body}
}

// AddItem adds quantity of sku to a cart.
func AddItem(cartID, sku string, quantity int64) Command {
	return Command{Name: "AddItem", Method: http.MethodPost, Path: "/api/carts/" + seg(cartID) + "/items",
		Body: map[string]any{"sku": sku, "quantity": quantity}}
}

// ChangeQuantity sets the quantity of sku in a cart (0 removes it).
func ChangeQuantity(cartID, sku string, quantity int64) Command {
	return Command{Name: "ChangeQuantity", Method: http.MethodPut, Path: "/api/carts/" + seg(cartID) + "/items/" + seg(sku),
		Body: map[string]any{"quantity": quantity}}
}

// RemoveItem removes sku from a cart.
func RemoveItem(cartID, sku string) Command {
	return Command{Name: "RemoveItem", Method: http.MethodDelete, Path: "/api/carts/" + seg(cartID) + "/items/" + seg(sku)}
}

// Checkout checks a cart out; paymentToken "" uses the API's default (pm_ok).
func Checkout(cartID, paymentToken string) Command {
	body := map[string]any{}
	if paymentToken != "" {
		body["paymentToken"] = paymentToken
	}
	return Command{Name: "CheckoutCart", Method: http.MethodPost, Path: "/api/carts/" + seg(cartID) + "/checkout", Body: body}
}

// CancelOrder cancels an order.
func CancelOrder(orderID string) Command {
	return Command{Name: "CancelOrder", Method: http.MethodPost, Path: "/api/orders/" + seg(orderID) + "/cancel"}
}

// ShipOrder ships a confirmed order (admin), with the carrier's tracking
// number unless it is "".
func ShipOrder(orderID, trackingNumber string) Command {
	c := Command{Name: "ShipOrder", Method: http.MethodPost, Path: "/api/orders/" + seg(orderID) + "/ship"}
	if trackingNumber != "" {
		c.Body = map[string]any{"trackingNumber": trackingNumber}
	}
	return c
}

// DeliverOrder marks a shipped order delivered (admin).
func DeliverOrder(orderID string) Command {
	return Command{Name: "DeliverOrder", Method: http.MethodPost, Path: "/api/orders/" + seg(orderID) + "/deliver"}
}

// DefineProduct defines a product (admin).
func DefineProduct(sku, name string, priceCents, stock int64) Command {
	return Command{Name: "DefineProduct", Method: http.MethodPost, Path: "/api/products",
		Body: map[string]any{"sku": sku, "name": name, "priceCents": priceCents, "stock": stock}}
}

// RestockProduct adds quantity to a product's stock (admin).
func RestockProduct(sku string, quantity int64) Command {
	return Command{Name: "RestockProduct", Method: http.MethodPost, Path: "/api/products/" + seg(sku) + "/restock",
		Body: map[string]any{"quantity": quantity}}
}
