package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/auditverify"
	"github.com/vigil-collector/vigil/testbed/harness"
	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// readAudit parses an audit file (the chain is checked by auditverify).
func readAudit(t *testing.T, path string) []auditverify.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = auditverify.Verify(bytes.NewReader(data))
	require.NoError(t, err, "audit chain")
	var out []auditverify.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r auditverify.Record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r)
	}
	return out
}

// TestHealingActsOnAFailingService runs the built binary with a healing rule on the healthcheck
// receiver's view of a service that does not answer, and finds the decisions in the audit file.
func TestHealingActsOnAFailingService(t *testing.T) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.jsonl")
	// Both rules act on the same target, so the per-target limits are loosened: with the defaults
	// (one action per target every 30 s, 10 s backoff) the second rule would wait its turn.
	healing := `
exporters:
  healing:
    audit: {path: "{{.Audit}}"}
    limits: {per_target: {per_minute: 60, burst: 5}}
    backoff: {initial: 100ms, max: 1s}
    actions:
      log: {type: log}
      notify:
        type: webhook
        dry_run: true
        webhook: {url: "http://127.0.0.1:9/never-called"}
    rules:
      - name: probe-failing
        when: {metric: healthcheck.status, op: "<", threshold: 1}
        for: 2s
        target: healthcheck.target
        actions: [log]
      - name: probe-failing-page
        when: {metric: healthcheck.status, op: "<", threshold: 1}
        target: healthcheck.target
        actions: [notify]
service:
  pipelines:
    metrics:
      exporters: [otlp_grpc, prometheus, healing]
`
	v := startVigil(t, map[string]any{"Audit": auditPath}, outputs, baseConfig, healing)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if _, err := os.Stat(auditPath); !assert.NoError(c, err) {
			return
		}
		got := map[string]bool{}
		for _, r := range readAudit(t, auditPath) {
			if r.Target == "nothing-listens" {
				got[r.Rule+"/"+r.Decision] = true
			}
			assert.NotEqual(c, "vigil-health", r.Target, "the healthy target never fires")
		}
		assert.True(c, got["probe-failing/fired"], "fired")
		assert.True(c, got["probe-failing/executing"], "intent written")
		assert.True(c, got["probe-failing/executed"], "log action ran")
		assert.True(c, got["probe-failing-page/dry_run"], "the webhook only in dry run")
	}, 30*time.Second, 250*time.Millisecond)
	assert.Contains(t, v.Logs(), `"rule": "probe-failing"`, "the log action's record")

	// The exporter's own telemetry counts its decisions.
	body := v.telemetry(t)
	assert.NotEmpty(t, harness.FindSample(body, "otelcol_healing_decisions", map[string]string{"decision": "executed"}), "%s", grepLines(body, "healing"))
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// stormConfig: healing alone behind the OTLP receiver, with tight limits and a 1 h cooldown, its
// webhook a test server.
const stormConfig = `
exporters:
  healing:
    audit: {path: "{{.Audit}}"}
    limits:
      global: {per_minute: 600, burst: 50}
      per_action: {per_minute: 600, burst: 50}
      per_target: {per_minute: 60, burst: 1}
      max_per_target_per_hour: 2
    backoff: {initial: 1s, max: 10s}
    workers: 8
    actions:
      notify:
        type: webhook
        webhook: {url: "{{.Hook}}/storm", secret: storm-secret, timeout: 2s, max_retries: 0}
    rules:
      - name: storm
        when: {metric: storm.failing, op: ">", threshold: 0.5}
        target: service.name
        actions: [notify]
        cooldown: 1h
service:
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [healing]
`

// TestHealingStormWithKill sends 10,000 firing alerts over 10 s across 1,000 targets, kills the
// collector with SIGKILL half-way and restarts it on the same audit file, then checks that no
// limit was exceeded, no incident executed twice, the audit chain verifies and every
// acknowledged alert has its decision in the audit file.
func TestHealingStormWithKill(t *testing.T) {
	if testing.Short() {
		t.Skip("storm test: 10 s of load")
	}
	var (
		mu         sync.Mutex
		deliveries = map[string]int{} // by target
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Alerts []struct{ Labels map[string]string }
		}
		if json.Unmarshal(body, &p) != nil || len(p.Alerts) != 1 {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		mu.Lock()
		deliveries[p.Alerts[0].Labels["target"]]++
		mu.Unlock()
	}))
	defer hook.Close()
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")

	start := func() *vigil {
		return startVigil(t, map[string]any{"Audit": auditPath, "Hook": hook.URL}, stormConfig, noTelemetry)
	}
	v := start()

	const batches, perBatch, targets = 100, 100, 1000
	acked := map[string]bool{} // "target/timestamp" of every acknowledged alert
	base := time.Now()
	seq := 0
	for b := 0; b < batches; b++ {
		if b == batches/2 {
			v.Kill()
			v = start()
		}
		md := pmetric.NewMetrics()
		var keys []string
		for i := 0; i < perBatch; i++ {
			target := fmt.Sprintf("svc-%04d", seq%targets)
			ts := pcommon.Timestamp(base.UnixNano() + int64(seq))
			seq++
			dp := otlp.AppendGauge(md, "storm.failing", "", "service.name", target).AppendEmpty()
			dp.SetIntValue(1)
			dp.SetTimestamp(ts)
			keys = append(keys, fmt.Sprintf("%s/%d", target, ts))
		}
		if err := v.otlp.Metrics(md); err == nil {
			for _, k := range keys {
				acked[k] = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Greater(t, len(acked), 9000, "most alerts acknowledged")

	// Let every dispatched action finish, then stop cleanly.
	require.Eventually(t, func() bool {
		open := map[string]bool{}
		for _, r := range readAudit(t, auditPath) {
			switch r.Decision {
			case "executing":
				open[r.Incident] = true
			case "executed", "failed", "interrupted":
				delete(open, r.Incident)
			}
		}
		return len(open) == 0
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, 0, v.Stop(t))

	recs := readAudit(t, auditPath) // the chain verifies
	seen := map[string]bool{}
	executingByIncident := map[string]int{}
	executingByTarget := map[string]int{}
	var first, last time.Time
	interrupted := 0
	for _, r := range recs {
		if r.ObservedAt != 0 {
			seen[fmt.Sprintf("%s/%d", r.Target, r.ObservedAt)] = true
		}
		switch r.Decision {
		case "executing":
			executingByIncident[r.Incident]++
			executingByTarget[r.Target]++
			if first.IsZero() {
				first = r.Time
			}
			last = r.Time
		case "interrupted":
			interrupted++
		}
	}
	missing := 0
	for k := range acked {
		if !seen[k] {
			missing++
		}
	}
	assert.Zero(t, missing, "acknowledged alerts without a decision in the audit file")
	for inc, n := range executingByIncident {
		assert.LessOrEqual(t, n, 1, "incident %s executed more than once", inc)
	}
	for target, n := range executingByTarget {
		assert.LessOrEqual(t, n, 1, "target %s acted on twice within its 1 h cooldown", target)
	}
	total := len(executingByIncident)
	bound := 50 + int(last.Sub(first).Seconds()*10) + 1 // global burst + 10/s
	assert.LessOrEqual(t, total, bound, "global rate limit")
	mu.Lock()
	delivered := 0
	for target, n := range deliveries {
		assert.LessOrEqual(t, n, 1, "target %s received twice", target)
		delivered += n
	}
	mu.Unlock()
	assert.LessOrEqual(t, delivered, total, "every delivery had its intent written first")
	assert.GreaterOrEqual(t, delivered, total-interrupted, "every intent not interrupted was delivered")
	t.Logf("alerts acknowledged %d of %d; audit records %d; actions executed %d (bound %d over %.1f s); deliveries %d; interrupted by the kill %d",
		len(acked), batches*perBatch, len(recs), total, bound, last.Sub(first).Seconds(), delivered, interrupted)
}
