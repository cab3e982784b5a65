package e2e_test

import "os"

// full reports whether the chaos suite runs at full size (`make chaos` sets
// PRISM_CHAOS=full); inside `make test` the same tests run smaller.
func full() bool { return os.Getenv("PRISM_CHAOS") == "full" }

// size picks the fast or the full figure.
func size(fast, whole int) int {
	if full() {
		return whole
	}
	return fast
}
