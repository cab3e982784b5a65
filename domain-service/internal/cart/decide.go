package cart

// Decide applies the cart's rules to c and returns the events it causes.
// Errors are apperr.Rejected (a rule said no) or apperr.NotFound (no such
// cart for this user).
func Decide(s State, c Command) ([]Event, error) {
	if create, ok := c.(CreateCart); ok {
		if s.Exists {
			if s.Owner != create.By {
				return nil, reject("cart id is taken")
			}
			return nil, reject("cart already exists")
		}
		return []Event{Created{Owner: create.By}}, nil
	}
	if x, ok := c.(Expire); ok {
		// A deadline that finds the cart changed since, closed, or gone
		// decides nothing: it is late, and a later one is on its way.
		if !s.Exists || s.Status != StatusOpen || s.Version != x.AfterVersion || x.AfterVersion < 1 {
			return nil, nil
		}
		return []Event{Expired{IdleSeconds: x.IdleSeconds}}, nil
	}
	if !s.Exists || s.Owner != c.actor() {
		return nil, notFound()
	}
	switch s.Status {
	case StatusCheckedOut:
		return nil, reject("cart is checked out")
	case StatusExpired:
		return nil, reject("cart has expired")
	}
	switch c := c.(type) {
	case AddItem:
		return decideAdd(s, c)
	case ChangeQuantity:
		i := s.line(c.SKU)
		switch {
		case i < 0:
			return nil, reject("%s is not in the cart", c.SKU)
		case c.Quantity == 0:
			return []Event{ItemRemoved{SKU: c.SKU}}, nil
		case c.Quantity < MinQuantity || c.Quantity > MaxQuantity:
			return nil, reject("quantity must be between %d and %d", MinQuantity, MaxQuantity)
		case c.Quantity == s.Lines[i].Quantity:
			return nil, nil
		}
		return []Event{QuantityChanged{SKU: c.SKU, Quantity: c.Quantity}}, nil
	case RemoveItem:
		if s.line(c.SKU) < 0 {
			return nil, reject("%s is not in the cart", c.SKU)
		}
		return []Event{ItemRemoved{SKU: c.SKU}}, nil
	case Checkout:
		if len(s.Lines) == 0 {
			return nil, reject("cart is empty")
		}
		if c.OrderID == "" {
			return nil, reject("checkout needs an order id")
		}
		lines := append([]Line(nil), s.Lines...)
		return []Event{CheckedOut{OrderID: c.OrderID, Owner: s.Owner, Lines: lines, TotalCents: s.TotalCents(), PaymentToken: c.PaymentToken}}, nil
	}
	return nil, reject("unknown cart command %T", c)
}

func decideAdd(s State, c AddItem) ([]Event, error) {
	if c.Quantity < MinQuantity || c.Quantity > MaxQuantity {
		return nil, reject("quantity must be between %d and %d", MinQuantity, MaxQuantity)
	}
	if !c.Product.Exists {
		return nil, reject("unknown product %s", c.SKU)
	}
	i := s.line(c.SKU)
	if i < 0 && len(s.Lines) >= MaxLines {
		return nil, reject("a cart holds at most %d different products", MaxLines)
	}
	if i >= 0 && s.Lines[i].Quantity+c.Quantity > MaxQuantity {
		return nil, reject("at most %d of %s per cart (it holds %d)", MaxQuantity, c.SKU, s.Lines[i].Quantity)
	}
	return []Event{ItemAdded{SKU: c.SKU, Name: c.Product.Name, Quantity: c.Quantity, UnitPriceCents: c.Product.PriceCents}}, nil
}
