package deploy

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// service is one of Prism's four services: its directory and Go module are
// named after it, its binary is built from ./<name>/cmd/<name>, and it listens
// on Port (docs/operations.md).
type service struct {
	Name string
	Port int
}

// services are the four services every deployment runs.
var services = []service{
	{"prism-api", 8080},
	{"stream-service", 8081},
	{"domain-service", 8082},
	{"readmodel-updater", 8083},
}

// Package is the service's main package, relative to the repository root.
func (s service) Package() string { return "./" + s.Name + "/cmd/" + s.Name }

// repoRoot is the repository root: the directory above this module, holding
// go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.work"))
	require.NoError(t, err, "the deploy tests run from deploy/ inside the repository (go.work one level up)")
	return root
}

var (
	settingsMu    sync.Mutex
	settingsCache = map[string][]string{}
)

// serviceSettings are the environment variables service s reads, found by
// scanning the sources of its binary (Settings). The scan must find at least
// the settings every service reads, or it has stopped working.
func serviceSettings(t *testing.T, s service) []string {
	t.Helper()
	settingsMu.Lock()
	defer settingsMu.Unlock()
	if got, ok := settingsCache[s.Name]; ok {
		return got
	}
	got, err := Settings(repoRoot(t), s.Package())
	require.NoError(t, err)
	require.Subset(t, got, []string{"AZURE_STORAGE_CONNECTION_STRING", "REDIS_URL", "PRISM_HTTP_ADDR", "PRISM_DEV_MODE", "PRISM_JWT_SECRET"},
		"%s: the settings scan no longer finds what every service reads; fix Settings", s.Name)
	settingsCache[s.Name] = got
	return got
}

func readFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	require.NoError(t, err)
	return string(b)
}
