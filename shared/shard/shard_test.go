package shard_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/shard"
)

// TestOfIsFNV1a32ModN pins the hash to published FNV-1a 32 values, so any
// other implementation (a client in another language, a script) routes alike.
func TestOfIsFNV1a32ModN(t *testing.T) {
	for _, c := range []struct {
		stream string
		hash   uint32 // FNV-1a 32 of stream
	}{
		{"", 0x811c9dc5},
		{"a", 0xe40c292c},
		{"foobar", 0xbf9cf968},
	} {
		for _, n := range []int{2, 3, 16, 1000} {
			assert.Equal(t, int(c.hash%uint32(n)), shard.Of(c.stream, n), "%q mod %d", c.stream, n)
		}
	}
	assert.Equal(t, 0, shard.Of("anything", 1))
	assert.Equal(t, 0, shard.Of("anything", 0))
}

func TestOfSpreadsStreamsEvenly(t *testing.T) {
	const n, streams = 16, 16000
	counts := make([]int, n)
	for i := range streams {
		counts[shard.Of(fmt.Sprintf("cart-%08x-4b1e-9c1f-%012d", i*7919, i), n)]++
	}
	for k, c := range counts {
		assert.InDelta(t, streams/n, c, float64(streams/n)*0.1, "shard %d holds %d of %d streams", k, c, streams)
	}
}

func TestNames(t *testing.T) {
	assert.Equal(t, "commands", shard.Name("commands", 0, 1))
	assert.Equal(t, "commands-7", shard.Name("commands", 7, 16))
	assert.Equal(t, []string{"commands"}, shard.Names("commands", 1))
	assert.Equal(t, []string{"commands-0", "commands-1", "commands-2"}, shard.Names("commands", 3))
}
