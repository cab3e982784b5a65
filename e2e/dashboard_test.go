package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/prism-es/prism/e2e/stack"
)

// TestDashboardAndAlertsUseRealMetrics checks infra/grafana/prism-overview.json
// and infra/prometheus/alerts.yml against what the services really export: it
// runs a little traffic on a real stack (a product, carts, a checkout through
// the saga, an SSE client, a command that ends in its shard's poison queue) so every
// labelled series exists, scrapes every process's /metrics, and asserts that
// every metric name in a PromQL expression of the dashboard or the rules is
// among the scraped ones. A renamed metric, or a typo in a query, fails here
// instead of showing an empty panel or an alert that can never fire.
func TestDashboardAndAlertsUseRealMetrics(t *testing.T) {
	root, err := stack.RepoRoot()
	require.NoError(t, err)
	queries := dashboardQueries(t, filepath.Join(root, "infra", "grafana", "prism-overview.json"))
	queries = append(queries, alertQueries(t, filepath.Join(root, "infra", "prometheus", "alerts.yml"))...)
	checkPrometheusConfig(t, filepath.Join(root, "infra", "prometheus", "prometheus.yml"))

	// Every expression must name at least one series, and nothing we cannot
	// check: an unknown identifier is a typo or a metric from elsewhere.
	for _, q := range queries {
		names, unknown := promqlMetricNames(q.expr)
		assert.NotEmpty(t, names, "%s: names no metric: %s", q.where, q.expr)
		assert.Empty(t, unknown, "%s: identifiers that are neither PromQL nor a metric we export: %s", q.where, q.expr)
	}
	if t.Failed() {
		return // no point starting a stack
	}

	s := startStack(t, stack.Options{Replicas: 2})
	ctx := ctxFor(t, 3*time.Minute)
	targets := map[string]string{"prism-api": s.APIOps, "stream-service": s.StreamsOps, "readmodel-updater": s.Updater}
	for _, p := range s.Replicas() {
		targets[p.Name] = p.OpsURL()
	}
	// What each process exports before any traffic (a fresh stack).
	fresh := map[string]map[string]bool{}
	for name, base := range targets {
		got, err := scrapeMetricNames(ctx, base)
		require.NoError(t, err, name)
		fresh[name] = got
	}
	driveTrafficForMetrics(ctx, t, s)

	missing := func() []string {
		scraped := map[string]bool{}
		var out []string
		for name, base := range targets {
			got, err := scrapeMetricNames(ctx, base)
			if err != nil {
				out = append(out, fmt.Sprintf("(scrape of %s failed: %v)", name, err))
			}
			for n := range got {
				scraped[n] = true
			}
		}
		for _, q := range queries {
			names, _ := promqlMetricNames(q.expr)
			for _, n := range names {
				if strings.HasPrefix(n, "prism_") || strings.HasPrefix(n, "go_") || strings.HasPrefix(n, "process_") {
					if !scraped[n] {
						out = append(out, fmt.Sprintf("%s (%s)", n, q.where))
					}
				}
			}
		}
		sort.Strings(out)
		return out
	}
	// Some series appear a moment after the traffic (projections, SSE
	// fan-out, the poison hook): scrape until nothing is missing.
	var last []string
	ok := assert.Eventually(t, func() bool { last = missing(); return len(last) == 0 }, 30*time.Second, 500*time.Millisecond)
	if !ok {
		t.Errorf("metrics used by the dashboard or the alerts that no service exports:\n  %s", strings.Join(last, "\n  "))
	}

	// Labelled series start at zero for their known label values: every
	// metric a process exports once traffic ran, and that a panel or a rule
	// uses, was already there on the fresh stack (no "No data" panels).
	used := map[string]bool{}
	for _, q := range queries {
		names, _ := promqlMetricNames(q.expr)
		for _, n := range names {
			used[n] = true
		}
	}
	for name, base := range targets {
		after, err := scrapeMetricNames(ctx, base)
		require.NoError(t, err, name)
		var late []string
		for n := range after {
			if used[n] && strings.HasPrefix(n, "prism_") && !fresh[name][n] {
				late = append(late, n)
			}
		}
		sort.Strings(late)
		assert.Empty(t, late, "%s exported these only after traffic: a fresh stack's panels show No data", name)
	}
}

// TestPromQLMetricNames pins the tokenizer the test above relies on.
func TestPromQLMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (projection, le) (rate(prism_projection_lag_seconds_bucket{job="x",le!="+Inf"}[5m]))) > 5`:                      {"prism_projection_lag_seconds_bucket"},
		`sum by (route) (rate(prism_http_requests_total{code=~"5.."}[1m])) / on (route) group_left sum by (route) (rate(prism_http_requests_total[1m]))`: {"prism_http_requests_total"},
		`prism_queue_poison_moves_total unless prism_queue_poison_moves_total offset 5m`:                                                                 {"prism_queue_poison_moves_total"},
		`label_replace(rate(go_gc_duration_seconds_count[1m]), "x", "${1}", "job", "prism_(.*)") * 1e3 + process_open_fds`:                               {"go_gc_duration_seconds_count", "process_open_fds"},
		`{__name__="prism_queue_depth"} or vector(0)`:       nil,
		`max without (instance) (up{job="prism-api"}) == 0`: {"up"},
	} {
		got, unknown := promqlMetricNames(expr)
		assert.Equal(t, want, got, expr)
		assert.Empty(t, unknown, expr)
	}
	_, unknown := promqlMetricNames(`rate(prsim_queue_depth[5m]) + sum(kube_pod_info)`)
	assert.Equal(t, []string{"kube_pod_info", "prsim_queue_depth"}, unknown)
}

// driveTrafficForMetrics makes every labelled series the dashboard and the
// rules use exist: commands of each outcome but duplicate, the checkout saga
// (commands, events-saga, events-notifications), projections, an SSE client
// that receives an event, and a command that is retried and then poisoned.
func driveTrafficForMetrics(ctx context.Context, t *testing.T, s *stack.Stack) {
	t.Helper()
	c := s.Client()
	admin, err := c.Token(ctx, "boss", true)
	require.NoError(t, err)
	alice, err := c.Token(ctx, "alice", false)
	require.NoError(t, err)

	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	products, err := s.Subscribe(sctx, "/streams/products", "", "")
	require.NoError(t, err)

	tea := sku("DASH")
	_, st, err := c.Run(ctx, http.MethodPost, "/api/products", admin, map[string]any{"sku": tea, "name": "Dashboard tea", "priceCents": 450, "stock": 20})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	created, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	cart := created.AggregateID
	_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": tea, "quantity": 2})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/items", alice, map[string]any{"sku": "NOPE-" + tea, "quantity": 1})
	require.NoError(t, err)
	require.Equal(t, "rejected", st.Status)
	res, err := c.Do(ctx, http.MethodGet, "/api/carts/"+cart+"?minVersion=2&wait=5", alice, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	co, st, err := c.Run(ctx, http.MethodPost, "/api/carts/"+cart+"/checkout", alice, map[string]any{"paymentToken": "pm_ok"})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	require.Eventually(t, func() bool {
		var order struct{ Status string }
		r, err := c.Do(ctx, http.MethodGet, "/api/orders/"+co.OrderID, alice, nil)
		return err == nil && r.Status == http.StatusOK && r.JSON(&order) == nil && order.Status == "confirmed"
	}, 30*time.Second, 50*time.Millisecond, "order never confirmed")

	select {
	case _, ok := <-products:
		require.True(t, ok, "the products stream closed before its first event")
	case <-time.After(20 * time.Second):
		t.Fatal("no SSE event on /streams/products")
	}

	// A command that cannot be processed: its cart's stream holds a corrupt
	// row, so it is retried with back-off and poisoned after 5 deliveries.
	broken, st, err := c.Run(ctx, http.MethodPost, "/api/carts", alice, map[string]any{})
	require.NoError(t, err)
	require.Equal(t, "succeeded", st.Status)
	corruptCart(t, s, broken.AggregateID)
	_, st, err = c.Run(ctx, http.MethodPost, "/api/carts/"+broken.AggregateID+"/items", alice, map[string]any{"sku": tea, "quantity": 1})
	require.NoError(t, err)
	require.Equal(t, "failed", st.Status)
}

// scrapeMetricNames reads one /metrics page and returns every metric name on
// it: each family (from its # TYPE line), a histogram's _bucket, _sum and
// _count, a summary's _sum and _count, and every sample's name.
func scrapeMetricNames(ctx context.Context, base string) (map[string]bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: HTTP %d", base, res.StatusCode)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			names[f[2]] = true
			switch f[3] {
			case "histogram":
				names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
			case "summary":
				names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
			}
		case strings.HasPrefix(line, "#"):
		default:
			if i := strings.IndexAny(line, "{ "); i > 0 {
				names[line[:i]] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s/metrics: no metrics", base)
	}
	return names, nil
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlRanges   = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlToken    = regexp.MustCompile(`[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*`)

	// promqlWords are PromQL's functions, aggregations and keywords.
	promqlWords = wordSet(`abs absent absent_over_time acos acosh and asin asinh atan atan2 atanh
		avg avg_over_time bool bottomk by ceil changes clamp clamp_max clamp_min cos cosh count
		count_over_time count_values day_of_month day_of_week day_of_year days_in_month deg delta
		deriv end exp floor group group_left group_right histogram_avg histogram_count
		histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum
		holt_winters double_exponential_smoothing hour idelta ignoring increase inf irate
		label_join label_replace last_over_time limitk limit_ratio ln log10 log2 mad_over_time max
		max_over_time min min_over_time minute month nan offset on or pi predict_linear
		present_over_time quantile quantile_over_time rad rate resets round scalar sgn sin sinh
		sort sort_by_label sort_by_label_desc sort_desc sqrt start stddev stddev_over_time stdvar
		stdvar_over_time sum sum_over_time tan tanh time timestamp topk unless vector without year
		le`)

	// promqlSynthetic are series Prometheus makes itself for every target.
	promqlSynthetic = wordSet(`up scrape_duration_seconds scrape_samples_scraped
		scrape_samples_post_metric_relabeling scrape_series_added`)
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// promqlMetricNames is a tolerant tokenizer, not a parser: it drops string
// literals, label matchers ({…}), grouping label lists (by (…), on (…), …) and
// range/offset durations, then takes the identifiers that are not PromQL words.
// names are the metric names an expression reads (sorted, unique); unknown
// are identifiers that are neither ours (prism_, go_, process_), nor series
// Prometheus makes itself (up, scrape_*), nor PromQL.
func promqlMetricNames(expr string) (names, unknown []string) {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	seen := map[string]bool{}
	for _, tok := range promqlToken.FindAllString(e, -1) {
		if tok[0] >= '0' && tok[0] <= '9' || promqlWords[strings.ToLower(tok)] || seen[tok] {
			continue
		}
		seen[tok] = true
		switch {
		case strings.HasPrefix(tok, "prism_"), strings.HasPrefix(tok, "go_"), strings.HasPrefix(tok, "process_"), promqlSynthetic[tok]:
			names = append(names, tok)
		default:
			unknown = append(unknown, tok)
		}
	}
	sort.Strings(names)
	sort.Strings(unknown)
	return names, unknown
}

// query is one PromQL expression and where it was found.
type query struct{ where, expr string }

// grafanaPanel is the part of a dashboard panel the test reads.
type grafanaPanel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Datasource  json.RawMessage `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

// dashboardQueries checks the dashboard's shape and returns every target's expr.
func dashboardQueries(t *testing.T, path string) []query {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, json.Valid(b), "%s is not valid JSON", path)
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			} `json:"list"`
		} `json:"templating"`
		Panels []grafanaPanel `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	require.NoError(t, dec.Decode(&d), path)
	assert.Equal(t, "Prism pipeline overview", d.Title)
	assert.Equal(t, 39, d.SchemaVersion)
	assert.NotEmpty(t, d.UID)
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "datasource" {
			hasDS = v.Type == "datasource" && v.Query == "prometheus"
		}
	}
	assert.True(t, hasDS, "the dashboard needs a variable `datasource` of type datasource, query prometheus")

	var all []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	ids := map[int]string{}
	var out []query
	for _, p := range all {
		if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
			t.Errorf("panel %q: id %d is not unique and positive (also %q)", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		assert.NotEmpty(t, p.Title, "panel %d has no title", p.ID)
		assert.NotEmpty(t, p.FieldConfig.Defaults.Unit, "panel %q has no unit", p.Title)
		assert.Contains(t, string(p.Datasource), `${datasource}`, "panel %q: datasource", p.Title)
		if assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title) {
			for _, tg := range p.Targets {
				where := fmt.Sprintf("dashboard panel %d %q target %s", p.ID, p.Title, tg.RefID)
				assert.Contains(t, string(tg.Datasource), `${datasource}`, "%s: datasource", where)
				if assert.NotEmpty(t, strings.TrimSpace(tg.Expr), "%s: no expr", where) {
					out = append(out, query{where, tg.Expr})
				}
			}
		}
	}
	require.NotEmpty(t, out, "no queries in %s", path)
	return out
}

// alertRules is a Prometheus rule file.
type alertRules struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// alertQueries checks the rule file's shape and returns every rule's expr.
func alertQueries(t *testing.T, path string) []query {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var f alertRules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&f), "%s does not parse as a rule file", path)

	var groups []string
	type rule struct{ group, expr, forDur, severity, runbook string }
	rules := map[string]rule{}
	var out []query
	for _, g := range f.Groups {
		groups = append(groups, g.Name)
		require.NotEmpty(t, g.Rules, "group %s has no rules", g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without an alert name", g.Name)
			_, dup := rules[r.Alert]
			assert.False(t, dup, "alert %s defined twice", r.Alert)
			assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], "alert %s: severity", r.Alert)
			for _, a := range []string{"summary", "description", "runbook"} {
				assert.NotEmpty(t, r.Annotations[a], "alert %s: annotation %s", r.Alert, a)
			}
			rules[r.Alert] = rule{g.Name, r.Expr, r.For, r.Labels["severity"], r.Annotations["runbook"]}
			out = append(out, query{fmt.Sprintf("alert %s (group %s)", r.Alert, g.Name), r.Expr})
		}
	}
	assert.Equal(t, []string{"prism-queues", "prism-commands", "prism-read-side", "prism-http"}, groups)

	want := map[string]struct{ metric, forDur string }{
		"PrismPoisonMessages":    {"prism_queue_poison_moves_total", ""},
		"PrismQueueBacklog":      {"prism_queue_depth", "10m"},
		"PrismCommandsFailing":   {"prism_commands_handled_total", "5m"},
		"PrismProjectionLagHigh": {"prism_projection_lag_seconds_bucket", "5m"},
		"PrismSSEClientsDropped": {"prism_sse_clients_dropped_total", "10m"},
		"PrismHTTP5xxRatioHigh":  {"prism_http_requests_total", "5m"},
		"PrismTargetDown":        {"up", "2m"},
	}
	for name, w := range want {
		r, ok := rules[name]
		if !assert.True(t, ok, "alert %s is missing", name) {
			continue
		}
		names, _ := promqlMetricNames(r.expr)
		assert.Contains(t, names, w.metric, "alert %s", name)
		assert.Equal(t, w.forDur, r.forDur, "alert %s: for", name)
	}
	poison := rules["PrismPoisonMessages"]
	assert.Equal(t, "warning", poison.severity)
	assert.Contains(t, poison.expr, "increase(prism_queue_poison_moves_total[5m])")
	for _, s := range []string{"prismctl poison list", "prismctl poison redrive", "docs/prismctl.md"} {
		assert.Contains(t, poison.runbook, s, "the poison runbook")
	}
	assert.Contains(t, rules["PrismProjectionLagHigh"].expr, "histogram_quantile(0.99")
	assert.Contains(t, rules["PrismProjectionLagHigh"].expr, "> 5")
	assert.Contains(t, rules["PrismQueueBacklog"].expr, "> 500")
	assert.Contains(t, rules["PrismHTTP5xxRatioHigh"].expr, "> 0.01")
	return out
}

// checkPrometheusConfig checks the local scrape config: the four services on
// their local ports, and the rule file.
func checkPrometheusConfig(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg), path)
	assert.Equal(t, []string{"alerts.yml"}, cfg.RuleFiles)
	jobs := map[string][]string{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], st.Targets...)
		}
	}
	assert.Equal(t, map[string][]string{
		"prism-api":         {"localhost:9080"},
		"stream-service":    {"localhost:9081"},
		"domain-service":    {"localhost:8082", "localhost:8182"},
		"readmodel-updater": {"localhost:8083"},
	}, jobs)
}
