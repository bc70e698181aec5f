package healingexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
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
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/action"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hookServer is a webhook peer that checks signatures and records what it got.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []string
	paths    []string
	badSig   int
}

func newHookServer(t *testing.T, secret string) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.paths = append(h.paths, r.URL.RequestURI())
		if r.Header.Get(action.HeaderSignature) != action.Sign([]byte(secret), r.Header.Get(action.HeaderTimestamp), body) {
			h.badSig++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		switch {
		case strings.Contains(string(body), `"status":"resolved"`):
			h.statuses = append(h.statuses, "resolved")
		default:
			h.statuses = append(h.statuses, "firing")
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.statuses...)
}

func testConfig(t *testing.T, hookURL string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Audit.Path = filepath.Join(t.TempDir(), "state", "audit.jsonl")
	cfg.Actions = map[string]ActionConfig{
		"notify": {Type: ActionWebhook, Webhook: WebhookConfig{URL: hookURL + "/hook", Secret: "s3cr3t", Timeout: 2 * time.Second, MaxRetries: 1}},
		"log":    {Type: ActionLog},
	}
	cfg.Rules = []RuleConfig{{
		Name: "service-down", When: WhenConfig{Metric: "healthcheck.status", Op: "<", Threshold: 1, Match: map[string]string{"healthcheck.type": "http"}},
		Target: "service.name", Actions: []string{"notify", "log"}, EscalateAfter: 1, Cooldown: time.Minute, Severity: "critical",
	}}
	require.NoError(t, validate(cfg))
	return cfg
}

// gaugePoint appends a resource of service holding one gauge metric and returns its point.
func gaugePoint(md pmetric.Metrics, service, metric string) pmetric.NumberDataPoint {
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(metric)
	return m.SetEmptyGauge().DataPoints().AppendEmpty()
}

func statusMetrics(points map[string]int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for svc, v := range points {
		dp := gaugePoint(md, svc, "healthcheck.status")
		dp.SetIntValue(v)
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		dp.Attributes().PutStr("healthcheck.type", "http")
	}
	return md
}

func startExporter(t *testing.T, cfg *Config) exporter.Metrics {
	t.Helper()
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return exp
}

func auditRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = audit.Verify(bytes.NewReader(data))
	require.NoError(t, err, "the audit chain verifies")
	var out []audit.Record
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var r audit.Record
		require.NoError(t, dec.Decode(&r))
		out = append(out, r)
	}
	return out
}

func auditDecisions(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, r := range auditRecords(t, path) {
		d := r.Decision
		if r.Reason != "" {
			d += "(" + r.Reason + ")"
		}
		out = append(out, d)
	}
	return out
}

// waitSettled waits until every action intent in the audit file has its outcome.
func waitSettled(t *testing.T, path string) {
	t.Helper()
	require.Eventually(t, func() bool {
		open := 0
		for _, r := range auditRecords(t, path) {
			switch {
			case r.Decision == audit.DecisionExecuting:
				open++
			case (r.Decision == audit.DecisionExecuted || r.Decision == audit.DecisionFailed) && r.Reason == "":
				open--
			}
		}
		return open == 0
	}, 20*time.Second, 10*time.Millisecond)
}

func TestExporterActsOnceAndSurvivesRestart(t *testing.T) {
	hook := newHookServer(t, "s3cr3t")
	cfg := testConfig(t, hook.URL)
	exp := startExporter(t, cfg)
	ctx := context.Background()

	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 0, "search": 1})))
	require.Eventually(t, func() bool { return len(hook.got()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 0})))
	require.NoError(t, exp.Shutdown(ctx))

	// A restarted exporter remembers the incident acted: no second firing webhook.
	exp = startExporter(t, cfg)
	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 0})))
	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 1})))
	require.Eventually(t, func() bool { return len(hook.got()) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.Shutdown(ctx))

	assert.Equal(t, []string{"firing", "resolved"}, hook.got())
	assert.Zero(t, hook.badSig)
	assert.Equal(t, []string{"fired", "executing", "executed", "suppressed(dedup)", "suppressed(dedup)",
		"resolved(cleared)", "executed(resolve)"}, auditDecisions(t, cfg.Audit.Path))
}

func TestGlobalDryRunRunsNothing(t *testing.T) {
	hook := newHookServer(t, "s3cr3t")
	cfg := testConfig(t, hook.URL)
	cfg.DryRun = true
	exp := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), statusMetrics(map[string]int64{"a": 0, "b": 0})))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Empty(t, hook.got())
	assert.Equal(t, []string{"fired", "dry_run", "fired", "dry_run"}, auditDecisions(t, cfg.Audit.Path))
}

func TestUnreachableWebhookReportsRecoverable(t *testing.T) {
	hook := newHookServer(t, "s3cr3t")
	url := hook.URL
	hook.Close()
	cfg := testConfig(t, url)
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	host := &statusHost{}
	require.NoError(t, exp.Start(context.Background(), host))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), statusMetrics(map[string]int64{"a": 0})))
	require.Eventually(t, func() bool { return host.last() == "StatusRecoverableError" }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Contains(t, auditDecisions(t, cfg.Audit.Path), "failed")
}

func TestWebhookOverTLSWithConfiguredCA(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caPath, pemOf(srv.Certificate().Raw), 0o600))

	cfg := testConfig(t, srv.URL)
	a := cfg.Actions["notify"]
	a.Webhook.TLS.CAFile = caPath
	cfg.Actions["notify"] = a
	exp := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), statusMetrics(map[string]int64{"a": 0})))
	waitSettled(t, cfg.Audit.Path)
	require.NoError(t, exp.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"/hook"}, got)
	assert.Contains(t, auditDecisions(t, cfg.Audit.Path), "executed")

	// A CA file that cannot be read fails the start with the action's name.
	a.Webhook.TLS.CAFile = "/nonexistent/ca.pem"
	cfg.Actions["notify"] = a
	_, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "actions::notify: tls:")
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
