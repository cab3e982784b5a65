package eventstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// newAccount connects to the private Azurite and creates fresh tables.
func newAccount(t *testing.T, tables ...string) *storage.Account {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	require.NoError(t, acc.EnsureTables(context.Background(), tables...))
	return acc
}
