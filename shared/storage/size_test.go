package storage_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/storage"
)

func TestUTF16LenCountsCodeUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},  // 2 UTF-8 bytes, 1 code unit
		{"日本", 2}, // 6 UTF-8 bytes, 2 code units
		{"😀", 2},  // 4 UTF-8 bytes, a surrogate pair
		{strings.Repeat("a", 32768), 32768},
		{"\xff", 1}, // not UTF-8: one unit per byte
	} {
		assert.Equal(t, c.want, storage.UTF16Len(c.in), "%q", c.in)
	}
}
