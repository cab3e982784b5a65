package queryapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/queryapi"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// An owned row is shown to its owner only: to another user and to a
// request with no signed-in user (a route mounted without the auth
// middleware) it does not exist, even when its document names no owner.
func TestAnOwnedRowIsShownToItsOwnerOnly(t *testing.T) {
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	table := testenv.TableName("owned")
	require.NoError(t, acc.EnsureTables(ctx, table, readmodel.CatalogTable))
	store := readmodel.NewStore(acc)
	for id, owner := range map[string]string{"alices": "alice", "nobodys": ""} {
		_, err := store.Put(ctx, table, readmodel.Row{PartitionKey: id, Version: 1, Doc: json.RawMessage(`{"id":"` + id + `","userId":"` + owner + `","version":1}`)})
		require.NoError(t, err)
	}
	svc := &queryapi.Service{Store: store, Catalog: readmodel.NewCatalog(acc, 0)}
	get := func(id, user string) int {
		r := httptest.NewRequest(http.MethodGet, "/things/"+id, nil)
		if user != "" {
			r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: user}))
		}
		w := httptest.NewRecorder()
		svc.ServeRow(w, r, id, queryapi.Row{Projection: table, PartitionKey: id, Owned: true, What: "thing"})
		return w.Code
	}
	assert.Equal(t, http.StatusOK, get("alices", "alice"))
	assert.Equal(t, http.StatusNotFound, get("alices", "bob"))
	assert.Equal(t, http.StatusNotFound, get("alices", ""))
	assert.Equal(t, http.StatusNotFound, get("nobodys", ""), "no caller is nobody's owner")
	assert.Equal(t, http.StatusNotFound, get("nobodys", "bob"))
}
