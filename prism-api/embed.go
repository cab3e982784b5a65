// Package prismapi holds prism-api's embedded assets: the OpenAPI 3
// document that describes every route (kept true by a test).
package prismapi

import _ "embed"

// OpenAPI is the OpenAPI 3 document served at GET /openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
