package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ModulePrefix is the import path prefix of Prism's own packages.
const ModulePrefix = "github.com/prism-es/prism/"

// settingRE matches a setting read through the kit's config.Reader
// (r.String("PRISM_X", …), r.Int, r.Bool, r.Duration, r.Durations, r.List, …) or straight
// from the environment (os.Getenv / os.LookupEnv). The key must be a string
// literal in capitals: that is how every Prism setting is read today.
// A limit read with ratelimit.Setting(r, "PRISM_X", …) counts too.
var settingRE = regexp.MustCompile(`(?:\.(?:String|Int|Int64|Float64|Bool|Duration|Durations|List|Getenv|LookupEnv)\(|\bSetting\(\s*\w+,)\s*"([A-Z][A-Z0-9_]*)"`)

// Settings returns, sorted, the environment variables read by the binary
// built from pkg (a package pattern such as ./prism-api/cmd/prism-api,
// resolved in the workspace at root). It scans the non-test Go files of every
// Prism package the binary links (go list -deps), so settings read in the kit
// (shared/config, shared/auth) and in a service's internal packages
// (stream-service/internal/streams) are all found, and test-only helpers
// (shared/testenv) are not.
func Settings(root, pkg string) ([]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \"\\t\"}}", pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %v: %s", pkg, err, stderr.String())
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) < 2 || !strings.HasPrefix(fields[0], ModulePrefix) {
			continue
		}
		for _, f := range fields[2:] {
			if f == "" {
				continue
			}
			src, err := os.ReadFile(filepath.Join(fields[1], f))
			if err != nil {
				return nil, err
			}
			for _, m := range settingRE.FindAllStringSubmatch(string(src), -1) {
				seen[m[1]] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
