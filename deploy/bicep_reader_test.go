package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Bicep reader on the cases that trip naive regexps: a key-like word
// inside a string ('http://…'), quotes inside an interpolation, comments
// holding braces, and concat() of a variable and a literal array.
const sample = `
// a comment with { a brace and 'a quote
param location string = resourceGroup().location
@secure()
param secret string
@allowed([
  'a'
  'b'
])
param pick string = 'a'

var common = [
  {
    name: 'URL'
    value: 'http://example:80/x' /* http: inside a string, not a key */
  }
  {
    name: 'SECRET'
    secretRef: 'the-secret'
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'app-${pick == 'a' ? 'x' : 'y'}'
  properties: {
    template: {
      containers: [
        {
          name: 'svc'
          env: concat(common, [
            {
              name: 'PORT'
              value: ':8080'
            }
            {
              name: 'LEVEL'
              value: location
            }
          ])
        }
      ]
      scale: {
        rules: [
          {
            name: 'web'
            http: {
              metadata: {
                concurrentRequests: '10'
              }
            }
          }
        ]
      }
    }
  }
}

resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'st'
}

var names = [
  'q1' // the first
  'q-2'
]

resource qs 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in names: {
  name: q
}]
`

func TestBicepReader(t *testing.T) {
	f := ParseBicep("sample.bicep", sample)

	res := f.Resources()
	require.Len(t, res, 3)
	assert.Equal(t, Resource{Symbol: "app", Type: "Microsoft.App/containerApps", Version: "2024-03-01"}, Resource{Symbol: res[0].Symbol, Type: res[0].Type, Version: res[0].Version, Existing: res[0].Existing})
	assert.True(t, res[1].Existing)
	assert.Equal(t, "[for q in names:", res[2].Head)

	params := f.Params()
	require.Len(t, params, 3)
	assert.Equal(t, Param{Name: "location", Type: "string", HasDefault: true}, params[0])
	assert.Equal(t, Param{Name: "secret", Type: "string", Secure: true}, params[1])
	assert.Equal(t, Param{Name: "pick", Type: "string", HasDefault: true}, params[2])

	app := res[0].Body
	assert.Equal(t, "'10'", app.Prop("http").Prop("concurrentRequests").Text())
	name, ok := app.Prop("containers").Objects()[0].Prop("name").String()
	assert.True(t, ok)
	assert.Equal(t, "svc", name)
	_, ok = app.Prop("name").String()
	assert.False(t, ok, "an interpolated string is not a literal")

	env, err := f.EnvList(app.Prop("env"))
	require.NoError(t, err)
	assert.Equal(t, []EnvVar{
		{Name: "LEVEL", Value: "location"},
		{Name: "PORT", Value: ":8080", Literal: true},
		{Name: "SECRET", SecretRef: "the-secret"},
		{Name: "URL", Value: "http://example:80/x", Literal: true},
	}, env)

	assert.Equal(t, []string{"q1", "q-2"}, f.Var("names").Strings())
	assert.False(t, f.Var("missing").OK())
}

func TestBicepKeys(t *testing.T) {
	f := ParseBicep("k.bicep", "module m 'x.bicep' = {\n  name: 'm'\n  params: {\n    a: 1\n    b: {\n      c: 2\n    }\n    d: 'e:f'\n  }\n}\n")
	mods := f.Modules()
	require.Len(t, mods, 1)
	assert.Equal(t, "x.bicep", mods[0].Path)
	assert.Equal(t, []string{"a", "b", "d"}, mods[0].Body.Prop("params").Keys())
}
