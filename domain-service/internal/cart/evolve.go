package cart

// Evolve returns the state after e. It never mutates s.
func Evolve(s State, e Event) State {
	s.Version++
	switch e := e.(type) {
	case Created:
		s.Exists, s.Owner, s.Status, s.Lines = true, e.Owner, StatusOpen, nil
	case ItemAdded:
		lines := append([]Line(nil), s.Lines...)
		if i := s.line(e.SKU); i >= 0 {
			lines[i].Quantity += e.Quantity
			lines[i].Name = e.Name
			lines[i].UnitPriceCents = e.UnitPriceCents // the latest price wins
		} else {
			lines = append(lines, Line{SKU: e.SKU, Name: e.Name, Quantity: e.Quantity, UnitPriceCents: e.UnitPriceCents})
		}
		s.Lines = lines
	case QuantityChanged:
		lines := append([]Line(nil), s.Lines...)
		if i := s.line(e.SKU); i >= 0 {
			lines[i].Quantity = e.Quantity
		}
		s.Lines = lines
	case ItemRemoved:
		lines := make([]Line, 0, len(s.Lines))
		for _, l := range s.Lines {
			if l.SKU != e.SKU {
				lines = append(lines, l)
			}
		}
		s.Lines = lines
	case CheckedOut:
		s.Status, s.OrderID = StatusCheckedOut, e.OrderID
	case Expired:
		s.Status = StatusExpired
	}
	return s
}
