package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/exporter/healingexporter/auditverify"
	"github.com/vigil-collector/vigil/testbed/harness"
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
	v := startVigil(t, map[string]any{"Audit": auditPath}, baseConfig, healing)
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
