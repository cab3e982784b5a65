package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	prismapi "github.com/prism-es/prism/prism-api"
	"github.com/prism-es/prism/prism-api/internal/tickets"
	"github.com/prism-es/prism/prism-api/internal/web"
	"github.com/prism-es/prism/prism-api/internal/web/console"
	"github.com/prism-es/prism/prism-api/internal/web/storefront"
	"github.com/prism-es/prism/shared/auth"
)

// nonAPIRoutes are the storefront's routes: pages and static files for
// browsers, which openapi.json (a document about the API) leaves out. Only
// these exact templates are exempt; every other route must be documented.
var nonAPIRoutes = map[string]bool{
	storefront.IndexPath:         true, // index.html
	storefront.ConfigPath:        true, // {"streamsUrl", "devMode", …}
	storefront.AssetsPrefix:      true, // CSS, JS modules, icons
	storefront.ManifestPath:      true, // the web app manifest
	storefront.ServiceWorkerPath: true, // the service worker
	console.PagePath:             true, // the operations console's page
	console.AssetsPrefix:         true, // its CSS and JS modules
}

// TestOpenAPIDocumentsEveryRoute keeps openapi.json true: every registered
// route and method is in it (except nonAPIRoutes), and it documents no
// route that does not exist.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(prismapi.OpenAPI, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	keys, err := auth.NewKeys(secret)
	require.NoError(t, err)
	router := web.NewRouter(web.Deps{Tokens: keys, Keys: keys, DevMode: true, Tickets: &tickets.Service{}})
	registered := map[string]bool{}
	require.NoError(t, router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a path prefix, not an endpoint
		}
		if nonAPIRoutes[path] {
			return nil
		}
		for _, m := range methods {
			key := strings.ToLower(m) + " " + path
			registered[key] = true
			_, ok := doc.Paths[path][strings.ToLower(m)]
			assert.True(t, ok, "route %s %s is missing from openapi.json", m, path)
		}
		return nil
	}))
	require.NotEmpty(t, registered)
	for path, ops := range doc.Paths {
		assert.False(t, nonAPIRoutes[path], "openapi.json documents the storefront route %s", path)
		for m := range ops {
			assert.True(t, registered[m+" "+path], "openapi.json documents %s %s, which is not a route", m, path)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	a := newAPI(t, env.ConnString, env.RedisURL)
	res := a.do(t, "GET", "/openapi.json", "", "")
	require.Equal(t, 200, res.status)
	assert.JSONEq(t, string(prismapi.OpenAPI), string(res.body))
}
