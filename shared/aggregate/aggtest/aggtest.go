// Package aggtest holds the test helpers every aggregate's table tests
// share: folding events and running command scripts through a pure
// Decide/Evolve pair.
package aggtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Fold applies events to s, in order, with evolve.
func Fold[S, E any](evolve func(S, E) S, s S, events ...E) S {
	for _, e := range events {
		s = evolve(s, e)
	}
	return s
}

// Run decides each command on the state so far and folds its events in,
// failing the test on the first error. It returns the final state and every
// event decided.
func Run[S, C, E any](t testing.TB, decide func(S, C) ([]E, error), evolve func(S, E) S, s S, cmds ...C) (S, []E) {
	t.Helper()
	var all []E
	for i, c := range cmds {
		events, err := decide(s, c)
		require.NoError(t, err, "command %d (%T)", i, c)
		s = Fold(evolve, s, events...)
		all = append(all, events...)
	}
	return s, all
}
