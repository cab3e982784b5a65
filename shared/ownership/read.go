package ownership

import (
	"context"
	"sort"

	"github.com/prism-es/prism/shared/storage"
)

// Read returns the claim of each resource in names, in that order, and every
// replica's last sign of life, most recent first, as the ownership container
// of acc shows them now. prismctl shards uses it.
func Read(ctx context.Context, acc *storage.Account, names []string) ([]Claim, []Replica, error) {
	return ReadContainer(ctx, acc, Container, names)
}

// ReadContainer is Read on another container than Container.
func ReadContainer(ctx context.Context, acc *storage.Account, container string, names []string) ([]Claim, []Replica, error) {
	b, err := newBlobs(acc, container)
	if err != nil {
		return nil, nil, err
	}
	snap, err := b.list(ctx)
	if err != nil {
		return nil, nil, err
	}
	claims := make([]Claim, len(names))
	for i, n := range names {
		claims[i] = snap.claim(n)
	}
	sort.Slice(snap.replicas, func(i, j int) bool { return snap.replicas[i].LastSeen.After(snap.replicas[j].LastSeen) })
	return claims, snap.replicas, nil
}
