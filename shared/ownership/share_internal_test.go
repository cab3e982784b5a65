package ownership

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestShare(t *testing.T) {
	for _, c := range []struct {
		name       string
		n          int
		counts     map[string]int
		shed, take int
	}{
		{"alone takes everything", 16, map[string]int{"me": 0}, 0, 16},
		{"alone and full", 16, map[string]int{"me": 16}, 0, 0},
		{"a newcomer makes the owner shed half", 16, map[string]int{"me": 16, "b": 0}, 8, 0},
		{"the newcomer takes its half once free", 16, map[string]int{"me": 0, "b": 8}, 0, 8},
		{"a third: over the share sheds", 16, map[string]int{"me": 8, "b": 8, "c": 0}, 2, 0},
		{"a third takes up to one more than n/R when none starves", 16, map[string]int{"me": 0, "a": 6, "b": 6}, 0, 6},
		{"at n/R+1 with someone starving: the highest name sheds", 16, map[string]int{"me": 6, "a": 6, "b": 4}, 1, 0},
		{"at n/R+1 with someone starving: a lower name keeps", 16, map[string]int{"z": 6, "me": 6, "b": 4}, 0, 0},
		{"keeps when it is not among the surplus", 16, map[string]int{"a": 6, "z": 6, "me": 6}, 0, 0},
		{"fair split of 16 over 3 is stable", 16, map[string]int{"a": 5, "b": 5, "me": 6}, 0, 0},
		{"below n/R takes only to n/R while another starves", 16, map[string]int{"me": 2, "a": 2, "b": 6}, 0, 3},
		{"more replicas than resources: would take one (if any were free)", 2, map[string]int{"me": 0, "a": 1, "b": 1}, 0, 1},
		{"more replicas than resources: two is one too many", 2, map[string]int{"me": 2, "a": 0, "b": 0}, 1, 0},
		{"a departed replica's share goes to the others", 12, map[string]int{"me": 4, "a": 4}, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			shed, take := share(c.n, c.counts, "me")
			assert.Equal(t, c.shed, shed, "shed")
			assert.Equal(t, c.take, take, "take")
		})
	}
}
