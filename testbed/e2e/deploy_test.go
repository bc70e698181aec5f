package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// vigilMetrics are the Prometheus names of Vigil's metrics that the dashboard and rules may use.
var vigilMetrics = []string{
	"health_score", "health_status", "health_root_cause", "health_signal", "health_dependency_call_rate_per_second", "health_dependency_error_ratio",
	"health_dependency_latency_p95_seconds", "breaker_state", "healthcheck_status", "healthcheck_duration_seconds",
	"healthcheck_error_total", "healthcheck_tls_cert_remaining_seconds", "predict_value_ratio",
	"predict_time_to_threshold_seconds", "predict_risk_ratio", "predict_anomaly_score_ratio",
	"otelcol_healing_decisions", "otelcol_healing_actions", "otelcol_healing_pending",
}

// vigilName matches identifiers that look like one of Vigil's metric names.
var vigilName = regexp.MustCompile(`\b(health_[a-z0-9_]+|healthcheck_[a-z0-9_]+|breaker_state[a-z0-9_]*|predict_[a-z0-9_]+|otelcol_healing_[a-z0-9_]+)\b`)

// labelNames are identifiers of label names that share those prefixes.
var labelNames = map[string]bool{"health_status": true, "health_signal_name": true, "healthcheck_target": true, "healthcheck_type": true,
	"predict_source": true, "predict_risk_type": true, "predict_window": true, "predict_horizon": true, "predict_threshold": true}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus); .ci/run installs it")
	}
	return p
}

func TestPrometheusRules(t *testing.T) {
	tool := promtool(t)
	dir := filepath.Join(harness.RepoRoot(), "deploy", "prometheus")
	out, err := exec.Command(tool, "check", "rules", filepath.Join(dir, "vigil-rules.yaml")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	cmd := exec.Command(tool, "test", "rules", "vigil-rules.test.yaml")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SUCCESS")

	rules, err := os.ReadFile(filepath.Join(dir, "vigil-rules.yaml"))
	require.NoError(t, err)
	checkNames(t, "vigil-rules.yaml", string(rules))
}

// checkNames fails on an identifier shaped like a Vigil metric that is not one (a typo).
func checkNames(t *testing.T, where, text string) {
	t.Helper()
	for _, m := range vigilName.FindAllString(text, -1) {
		if labelNames[m] {
			continue
		}
		assert.Contains(t, vigilMetrics, m, "%s: unknown metric name", where)
	}
}

func TestGrafanaDashboard(t *testing.T) {
	path := filepath.Join(harness.RepoRoot(), "deploy", "grafana", "vigil-overview.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var dash struct {
		UID        string
		Title      string
		Templating struct{ List []struct{ Name string } }
		Panels     []struct {
			ID         int
			Title      string
			Datasource struct{ UID string }
			GridPos    struct{ X, Y, W, H int }
			Targets    []struct {
				Expr  string
				RefID string `json:"refId"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	require.NotEmpty(t, dash.UID)
	require.GreaterOrEqual(t, len(dash.Panels), 10)
	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
	}
	assert.True(t, vars["datasource"] && vars["service"], "datasource and service variables")

	// Every expression must be valid PromQL: promtool checks them as recording rules, with the
	// dashboard's variables replaced by values.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		assert.False(t, ids[p.ID], "panel id %d repeats", p.ID)
		ids[p.ID] = true
		assert.Equal(t, "${datasource}", p.Datasource.UID, p.Title)
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, p.Title)
			checkNames(t, p.Title, tg.Expr)
			expr := strings.NewReplacer("$service", ".*", "$__rate_interval", "1m").Replace(tg.Expr)
			fmt.Fprintf(&rules, "      - record: dashboard:panel%d:%s\n        expr: %q\n", p.ID, tg.RefID, expr)
		}
	}
	tool := promtool(t)
	f := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	require.NoError(t, os.WriteFile(f, []byte(rules.String()), 0o600))
	out, err := exec.Command(tool, "check", "rules", f).CombinedOutput()
	require.NoError(t, err, "%s\n%s", out, rules.String())
}
