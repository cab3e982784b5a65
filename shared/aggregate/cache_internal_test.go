package aggregate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestForgetWhereDropsOnlyTheChosenStreams(t *testing.T) {
	c := newStateCache(10)
	for _, s := range []string{"cart-a", "cart-b", "product-x"} {
		c.put(s, cached{version: 1})
	}
	assert.Equal(t, 2, c.forgetWhere(func(s string) bool { return strings.HasPrefix(s, "cart-") }))
	_, ok := c.get("cart-a")
	assert.False(t, ok)
	_, ok = c.get("product-x")
	assert.True(t, ok)
	assert.Zero(t, newStateCache(-1).forgetWhere(func(string) bool { return true }), "a disabled cache has nothing to drop")
}
