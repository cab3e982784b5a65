package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// promtool finds Debian's promtool (package prometheus; `make test-deps`
// installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool not found: run `make test-deps` (installs Debian's prometheus package, which has it)")
	return p
}

// runPromtool runs promtool in infra/prometheus and fails with its output.
func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = filepath.Join(repoRoot(t), "infra", "prometheus")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %v:\n%s", args, out)
}

// TestPrometheusConfigAndRules checks infra/prometheus with promtool: the
// scrape config (which loads the rules), the rules themselves, and their unit
// tests in alerts_test.yml.
func TestPrometheusConfigAndRules(t *testing.T) {
	runPromtool(t, "check", "config", "prometheus.yml")
	runPromtool(t, "check", "rules", "alerts.yml")
	runPromtool(t, "test", "rules", "alerts_test.yml")
}

// TestEveryAlertHasUnitTests fails when an alert in alerts.yml has no
// promtool test that fires it, or none where it stays silent.
func TestEveryAlertHasUnitTests(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "infra", "prometheus")
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(dir, "alerts.yml"), &rules)
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name  string `yaml:"name"`
			Cases []struct {
				Alert     string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, filepath.Join(dir, "alerts_test.yml"), &tests)
	assert.Equal(t, []string{"alerts.yml"}, tests.RuleFiles)

	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, c := range tc.Cases {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alert] = true
			} else {
				silent[c.Alert] = true
			}
		}
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
		}
	}
	sort.Strings(alerts)
	require.NotEmpty(t, alerts)
	for _, a := range alerts {
		assert.True(t, fires[a], "alerts_test.yml has no case where %s fires", a)
		assert.True(t, silent[a], "alerts_test.yml has no case where %s stays silent", a)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}
