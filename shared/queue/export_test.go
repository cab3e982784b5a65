package queue

// Groups is how many delays b keeps send groups for (tests only).
func (b *Batcher) Groups() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.groups)
}
