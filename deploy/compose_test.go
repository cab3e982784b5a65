package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The rule for docker-compose.yml, checked by TestComposeEnvironment:
//
//  1. Every environment variable a service reads (Settings: scanned from the
//     Go sources its binary is built from) is NAMED in that service's
//     `environment:` map. A value of "" (or ${VAR:-}) is allowed and means
//     "use the built-in default" (the JWT secret in dev mode); the point is
//     that nobody adds a setting without deciding what compose gives it.
//  2. Nothing else is set: a name no service reads is a typo or a leftover.
//  3. The settings whose local defaults are wrong inside compose (they point
//     at 127.0.0.1) are asserted by value: AZURE_STORAGE_CONNECTION_STRING
//     names the azurite host's blob (shard leases), queue and table
//     endpoints, REDIS_URL the redis
//     host, PRISM_DEV_MODE is "true" explicitly (a connection string is set,
//     which would otherwise turn dev mode off) and PRISM_HTTP_ADDR is the
//     service's own port.

// composeFile is the part of docker-compose.yml these tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Deploy struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	src := readFile(t, repoRoot(t), "docker-compose.yml")
	require.NoError(t, yaml.Unmarshal([]byte(src), &c), "docker-compose.yml is not the YAML this test expects (environment must be a map)")
	return c
}

func TestComposeServices(t *testing.T) {
	root := repoRoot(t)
	c := loadCompose(t)

	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"azurite", "mailpit", "redis", "stripe-mock"}
	for _, s := range services {
		want = append(want, s.Name)
	}
	sort.Strings(want)
	require.Equal(t, want, names, "docker-compose.yml services")

	// Azurite: the official image at the version azurite/package-lock.json
	// pins, run with azurite/start's flags, listening on every interface.
	az := c.Services["azurite"]
	assert.Equal(t, "mcr.microsoft.com/azure-storage/azurite:"+pinnedAzurite(t, root), az.Image)
	cmd := strings.Join(az.Command, " ")
	for _, flag := range []string{"--skipApiVersionCheck", "--disableTelemetry", "--location /data",
		"--blobHost 0.0.0.0", "--queueHost 0.0.0.0", "--tableHost 0.0.0.0"} {
		assert.Contains(t, cmd, flag, "azurite command")
	}
	assert.NotContains(t, cmd, "--inMemoryPersistence", "queue deletes take ~50 ms each with it (DESIGN.md)")
	assert.Subset(t, az.Ports, []string{"127.0.0.1:10000:10000", "127.0.0.1:10001:10001", "127.0.0.1:10002:10002"})
	require.Len(t, az.Volumes, 1)
	vol := strings.SplitN(az.Volumes[0], ":", 2)
	require.Len(t, vol, 2)
	assert.Equal(t, "/data", vol[1])
	assert.Contains(t, c.Volumes, vol[0], "azurite's data volume is declared")
	assert.NotNil(t, az.Healthcheck, "azurite has a health check (its image has node)")

	rd := c.Services["redis"]
	assert.Equal(t, "redis:7-alpine", rd.Image)
	if assert.NotNil(t, rd.Healthcheck, "redis has a health check") {
		assert.Contains(t, rd.Healthcheck.Test, "redis-cli")
	}
	assert.Contains(t, strings.Join(rd.Command, " "), "--maxmemory-policy noeviction", "idempotency records are never evicted")

	// stripe-mock: the version the Makefile installs for the tests, with
	// the tests' fixtures.
	sm := c.Services["stripe-mock"]
	version := regexp.MustCompile(`(?m)^STRIPE_MOCK_VERSION := (\S+)$`).FindStringSubmatch(readFile(t, root, "Makefile"))
	require.NotNil(t, version, "the Makefile pins STRIPE_MOCK_VERSION")
	assert.Equal(t, "stripe/stripe-mock:"+version[1], sm.Image)
	assert.Contains(t, strings.Join(sm.Command, " "), "-fixtures /fixtures/approving.json")
	require.Len(t, sm.Volumes, 1)
	_, err := os.Stat(filepath.Join(root, strings.TrimPrefix(strings.SplitN(sm.Volumes[0], ":", 2)[0], "./"), "approving.json"))
	assert.NoError(t, err, "the fixtures stripe-mock mounts exist")

	// A dev stack (anyone gets a token): nothing is published beyond this
	// machine.
	for name, svc := range c.Services {
		for _, p := range svc.Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %q: bind it to 127.0.0.1", name, p)
		}
	}

	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			cs := c.Services[s.Name]
			require.NotNil(t, cs.Build, "built from its Dockerfile")
			assert.Equal(t, ".", cs.Build.Context, "the build context is the repository root (the kit is ../shared)")
			assert.Equal(t, s.Name+"/Dockerfile", cs.Build.Dockerfile)
			_, err := os.Stat(filepath.Join(root, cs.Build.Dockerfile))
			assert.NoError(t, err, "Dockerfile exists")
			for _, dep := range []string{"azurite", "redis"} {
				if assert.Contains(t, cs.DependsOn, dep) {
					assert.Equal(t, "service_healthy", cs.DependsOn[dep].Condition, "%s waits for %s's health check", s.Name, dep)
				}
			}
			port := fmt.Sprint(s.Port)
			if s.Name == "domain-service" {
				assert.GreaterOrEqual(t, cs.Deploy.Replicas, 2, "domain-service runs competing replicas")
				assert.Empty(t, cs.Ports, "replicas cannot share a fixed host port")
				assert.Contains(t, cs.Expose, port)
			} else {
				assert.Contains(t, cs.Ports, "127.0.0.1:"+port+":"+port)
			}
			if s.Name == "prism-api" || s.Name == "stream-service" {
				ops := fmt.Sprint(s.Port + 1000)
				assert.Contains(t, cs.Ports, "127.0.0.1:"+ops+":"+ops, "the ops port, for a local Prometheus")
				assert.Equal(t, ":"+ops, cs.Environment["PRISM_OPS_ADDR"])
			}
		})
	}
}

func TestComposeEnvironment(t *testing.T) {
	c := loadCompose(t)
	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			env := c.Services[s.Name].Environment
			reads := serviceSettings(t, s)

			// 1. every setting the service reads is named.
			for _, name := range reads {
				_, ok := env[name]
				assert.True(t, ok, "%s reads %s but docker-compose.yml does not set it: add it to the service's environment (\"\" keeps the built-in default)", s.Name, name)
			}
			// 2. nothing it does not read.
			for name := range env {
				assert.Contains(t, reads, name, "docker-compose.yml sets %s on %s, which does not read it", name, s.Name)
			}
			// 3. the settings whose local defaults are wrong in compose.
			conn := env["AZURE_STORAGE_CONNECTION_STRING"]
			assert.Contains(t, conn, "QueueEndpoint=http://azurite:10001/devstoreaccount1")
			assert.Contains(t, conn, "TableEndpoint=http://azurite:10002/devstoreaccount1")
			assert.Contains(t, conn, "BlobEndpoint=http://azurite:10000/devstoreaccount1", "the shard leases are blobs")
			assert.Contains(t, conn, "AccountName=devstoreaccount1")
			assert.NotContains(t, conn, "127.0.0.1")
			assert.NotContains(t, strings.ToLower(conn), "usedevelopmentstorage", "the Go SDK does not understand it")
			assert.Regexp(t, `^redis://redis:6379(/\d+)?$`, env["REDIS_URL"])
			assert.Equal(t, "true", env["PRISM_DEV_MODE"], "dev mode must be explicit: a connection string is set")
			assert.Equal(t, fmt.Sprintf(":%d", s.Port), env["PRISM_HTTP_ADDR"])
		})
	}
}

// TestComposeConfig asks docker-compose itself whether the file is valid.
func TestComposeConfig(t *testing.T) {
	root := repoRoot(t)
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed, so docker-compose.yml cannot be validated: run `make test-deps` (it installs the Debian package docker-compose)")
	}
	cmd := exec.Command(bin, "config", "-q")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	require.NoError(t, err, "docker-compose config -q:\n%s", out.String())
	assert.NotContains(t, strings.ToUpper(out.String()), "ERROR", "docker-compose config -q:\n%s", out.String())
}

func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			src := readFile(t, root, s.Name, "Dockerfile")
			var froms []string
			for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(src, -1) {
				froms = append(froms, m[1])
			}
			require.Equal(t, []string{"golang:1.26", "gcr.io/distroless/static-debian12:nonroot"}, froms, "a golang:1.26 builder and a distroless nonroot final stage")
			assert.Contains(t, src, "CGO_ENABLED=0")
			assert.Regexp(t, `go build -trimpath -ldflags "-s -w" .*\./cmd/`+regexp.QuoteMeta(s.Name)+`\b`, src)
			assert.Contains(t, src, "COPY shared/", "the kit comes from the repository root context")
			assert.Regexp(t, `(?m)^USER nonroot`, src)
			assert.Regexp(t, fmt.Sprintf(`(?m)^EXPOSE %d$`, s.Port), src)
			assert.Regexp(t, `(?m)^ENTRYPOINT \["/`+regexp.QuoteMeta(s.Name)+`"\]$`, src)
		})
	}
	ignore := strings.Fields(readFile(t, root, ".dockerignore"))
	assert.Subset(t, ignore, []string{".git", "bin", ".run", "node_modules", "azurite/node_modules"}, ".dockerignore")
	for _, kept := range []string{"shared", "prism-api", "stream-service", "domain-service", "readmodel-updater"} {
		assert.NotContains(t, ignore, kept, ".dockerignore must not drop a directory the images build from")
	}
}

// TestServicesBuild builds every service compose names the way its
// Dockerfile does (static, trimmed), from the repository root with go.work in
// effect, so a service that stops compiling fails here and not in a
// container build.
func TestServicesBuild(t *testing.T) {
	root := repoRoot(t)
	c := loadCompose(t)
	out := t.TempDir()
	for _, s := range services {
		if c.Services[s.Name].Build == nil {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(out, s.Name), s.Package())
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK="+filepath.Join(root, "go.work"))
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "go build %s:\n%s", s.Package(), b)
			fi, err := os.Stat(filepath.Join(out, s.Name))
			require.NoError(t, err)
			assert.NotZero(t, fi.Size())
		})
	}
}

// pinnedAzurite is the Azurite version azurite/package-lock.json pins.
func pinnedAzurite(t *testing.T, root string) string {
	t.Helper()
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, root, "azurite", "package-lock.json")), &lock))
	v := lock.Packages["node_modules/azurite"].Version
	require.NotEmpty(t, v, "azurite/package-lock.json pins azurite")
	return v
}
