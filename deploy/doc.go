// Package deploy keeps Prism's deployment files true to the code: its tests
// parse docker-compose.yml, every <service>/Dockerfile and the Bicep under
// infra/, and check them against the settings the services actually read
// (found by scanning the Go sources each service binary is built from), so a
// new setting, service or queue fails `make test` until the deployment names
// it too.
//
// The package's non-test code is the small toolkit those tests use: a scanner
// for the environment variables a binary reads (Settings) and a tolerant
// structural reader for Bicep (ParseBicep).
package deploy
