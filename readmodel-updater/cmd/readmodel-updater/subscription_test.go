package main

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/config"
)

// TestSubscriptionMatchesTheProjections keeps config.Subscriptions'
// "readmodel" entry true: every aggregate type a projection handles, no more.
func TestSubscriptionMatchesTheProjections(t *testing.T) {
	var projected []string
	for _, p := range allProjections() {
		projected = append(projected, p.AggregateType)
	}
	sub := config.SubscriptionNamed(Subscriber)
	want := append([]string(nil), sub.AggregateTypes...)
	sort.Strings(projected)
	sort.Strings(want)
	assert.Equal(t, want, projected)
	assert.Empty(t, sub.EventTypes)
}
