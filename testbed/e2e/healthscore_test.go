package e2e

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/harness"
	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// healthscoreConfig adds to scoring (which probes catalog's health endpoint, a test server) the
// dependency metrics and both pipelines through healthscore to outputs, with statusAPI's breakers. The
// Prometheus exporter forgets series after 3 s, so a service whose status changes shows one
// health_score series.
const healthscoreConfig = `
processors:
  healthscore:
    metrics:
      breaker.state: {enabled: true}
      health.signal: {enabled: true}
      health.dependency.call.rate: {enabled: true}
      health.dependency.error.ratio: {enabled: true}
      health.dependency.latency.p95: {enabled: true}
exporters:
  prometheus:
    metric_expiration: 3s
    resource_constant_labels:
      included: ["service.name"]
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [healthscore, batch]
      exporters: [otlp_grpc]
    metrics:
      receivers: [otlp, healthcheck]
      processors: [healthscore, batch]
      exporters: [prometheus]
`

// shop sends a small shop's traffic every 100 ms: catalog (healthy, on host app-1) and checkout
// serve 20 calls each, frontend calls both 10 times. While failing, half of checkout's calls fail,
// as its own SERVER spans and as frontend's CLIENT spans see them.
type shop struct {
	t       *testing.T
	otlp    *harness.OTLP
	failing atomic.Bool
	r       *rand.Rand
}

func (s *shop) batch() ptrace.Traces {
	td := ptrace.NewTraces()
	now := time.Now()
	add := func(svc, host string, kind ptrace.SpanKind, peer string, n int, fail bool) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		if host != "" {
			rs.Resource().Attributes().PutStr("host.name", host)
		}
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range n {
			sp := spans.AppendEmpty()
			sp.SetName("call")
			sp.SetKind(kind)
			sp.SetTraceID(pcommon.TraceID([16]byte{byte(s.r.IntN(256)), byte(i), 1}))
			sp.SetSpanID(pcommon.SpanID([8]byte{byte(s.r.IntN(256)), byte(i), 2}))
			lat := time.Duration(10+s.r.IntN(20)) * time.Millisecond
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-lat)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			if peer != "" {
				sp.Attributes().PutStr("peer.service", peer)
			}
			code := int64(200)
			if fail && i%2 == 0 {
				code = 503
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
			sp.Attributes().PutInt("http.response.status_code", code)
		}
	}
	failing := s.failing.Load()
	add("catalog", "app-1", ptrace.SpanKindServer, "", 20, false)
	add("checkout", "", ptrace.SpanKindServer, "", 20, failing)
	add("frontend", "", ptrace.SpanKindClient, "catalog", 10, false)
	add("frontend", "", ptrace.SpanKindClient, "checkout", 10, failing)
	return td
}

// hostMetrics says app-1's CPUs are 30% busy.
func hostMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	dps := otlp.AppendGauge(md, "system.cpu.utilization", "1", "host.name", "app-1")
	for _, cpu := range []string{"cpu0", "cpu1"} {
		for state, v := range map[string]float64{"idle": 0.7, "user": 0.3} {
			dp := dps.AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			dp.SetDoubleValue(v)
			dp.Attributes().PutStr("cpu", cpu)
			dp.Attributes().PutStr("state", state)
		}
	}
	return md
}

// run sends the shop's spans every 100 ms, and app-1's CPU every second, until stopped.
func (s *shop) run() (stop func()) {
	n := 0
	return harness.Repeat(100*time.Millisecond, func() bool {
		err := s.otlp.Traces(s.batch())
		if err == nil && n%10 == 0 {
			err = s.otlp.Metrics(hostMetrics())
		}
		n++
		if err != nil {
			s.t.Errorf("export: %v", err)
		}
		return err == nil
	})
}

// TestHealthScoresAndBreakers is the healthscore processor's end-to-end check on the built
// binary: one service failing half its calls falls below the degraded cut-off on the Prometheus
// endpoint while a healthy one stays at or above 0.9, the failing service's breaker opens (breaker
// API), and closes again once the service recovers, its score healthy again.
func TestHealthScoresAndBreakers(t *testing.T) {
	catalog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer catalog.Close()
	v := startVigil(t, map[string]any{"Probed": "catalog", "ProbeURL": catalog.URL}, statusAPI, scoring, outputs, healthscoreConfig)
	api := v.api(t)
	s := &shop{t: t, otlp: v.otlp, r: rand.New(rand.NewPCG(1, 2))}
	defer s.run()()

	// Healthy shop first: both services scored healthy, catalog from four signals (its spans'
	// errors and latency, app-1's CPU, its probe).
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, ok := v.prom(ct)
		if !ok {
			return
		}
		for _, svc := range []string{"catalog", "checkout"} {
			score := harness.FindSample(body, "health_score", map[string]string{"service_name": svc})
			if assert.Len(ct, score, 1, svc) {
				assert.GreaterOrEqual(ct, score[0], 0.9, svc)
			}
		}
		for _, sig := range []string{"errors", "latency", "saturation", "probe"} {
			assert.NotEmpty(ct, harness.FindSample(body, "health_signal", map[string]string{"service_name": "catalog", "health_signal_name": sig}), sig)
		}
	}, 30*time.Second, 250*time.Millisecond)

	// checkout fails half its calls.
	s.failing.Store(true)
	var catalogScores []float64
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, ok := v.prom(ct)
		if !ok {
			return
		}
		catalogScores = append(catalogScores, harness.FindSample(body, "health_score", map[string]string{"service_name": "catalog"})...)
		score := harness.FindSample(body, "health_score", map[string]string{"service_name": "checkout"})
		if assert.Len(ct, score, 1) {
			assert.Less(ct, score[0], 0.5, "below the degraded cut-off")
		}
		assert.Equal(ct, []float64{2}, harness.FindSample(body, "breaker_state", map[string]string{"breaker_target": "checkout"}), "open, as Prometheus sees it")
		ratio := harness.FindSample(body, "health_dependency_error_ratio", map[string]string{"service_name": "frontend", "peer_service": "checkout"})
		if assert.Len(ct, ratio, 1) {
			assert.InDelta(ct, 0.5, ratio[0], 0.01)
		}
	}, 30*time.Second, 250*time.Millisecond)
	code, body, raw := api.do(http.MethodGet, "/v1/breakers/checkout?peek=true", "", "")
	require.Equal(t, http.StatusOK, code, raw)
	assert.Equal(t, "open", body["state"], raw)
	assert.Equal(t, false, body["allow"], raw)
	code, body, raw = api.do(http.MethodGet, "/v1/breakers/catalog?peek=true", "", "")
	require.Equal(t, http.StatusOK, code, raw)
	assert.Equal(t, "closed", body["state"], raw)
	// The service graph healthscore learnt is served by the status extension: who calls checkout.
	code, body, raw = api.do(http.MethodGet, "/v1/dependencies?service=checkout", "", "")
	require.Equal(t, http.StatusOK, code, raw)
	edges, _ := body["edges"].([]any)
	if assert.Len(t, edges, 1, raw) {
		edge := edges[0].(map[string]any)
		assert.Equal(t, "frontend", edge["caller"], raw)
		assert.Equal(t, "checkout", edge["callee"], raw)
		assert.InDelta(t, 0.5, edge["error_ratio"], 0.05, raw)
	}
	require.NotEmpty(t, catalogScores)
	for _, score := range catalogScores {
		assert.GreaterOrEqual(t, score, 0.9, "the healthy service stays healthy while checkout fails")
	}

	// checkout recovers: its breaker closes again (through half-open) and its score is healthy.
	s.failing.Store(false)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		_, body, raw := api.do(http.MethodGet, "/v1/breakers/checkout?peek=true", "", "")
		assert.Equal(ct, "closed", body["state"], raw)
	}, 60*time.Second, 250*time.Millisecond)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, ok := v.prom(ct)
		if !ok {
			return
		}
		score := harness.FindSample(body, "health_score", map[string]string{"service_name": "checkout"})
		if assert.Len(ct, score, 1) {
			assert.GreaterOrEqual(ct, score[0], 0.9)
		}
		assert.Equal(ct, []float64{0}, harness.FindSample(body, "breaker_state", map[string]string{"breaker_target": "checkout"}))
	}, 30*time.Second, 250*time.Millisecond)
	_, body, raw = api.do(http.MethodGet, "/v1/breakers/checkout?peek=true", "", "")
	var tos []string
	for _, tr := range body["transitions"].([]any) {
		tos = append(tos, tr.(map[string]any)["to"].(string))
	}
	assert.Contains(t, tos, "open", raw)
	assert.Contains(t, tos, "half_open", raw)
	assert.Equal(t, "closed", tos[len(tos)-1], raw)

	// The processor's own telemetry counted the outcomes, and the spans reached the sink.
	tel := v.telemetry(t)
	assert.NotEmpty(t, harness.FindSample(tel, "otelcol_healthscore_outcomes", map[string]string{"class": "error"}))
	assert.Equal(t, []float64{3}, harness.FindSample(tel, "otelcol_healthscore_components", nil), "catalog, checkout, frontend, and no other")
	assert.NotEmpty(t, v.sink.Traces(), "spans pass through")
}

// TestHealthscoreMissingBreakerIsAStartError: a breaker named in healthscore's config that is not
// an extension of the service fails the start with a clear message.
func TestHealthscoreMissingBreakerIsAStartError(t *testing.T) {
	config := harness.Compose(t, newPorts(t).vars(), vigilBase, noTelemetry, tracesToDebug, `
processors:
  healthscore:
    breaker: breaker
service:
  pipelines:
    traces: {processors: [healthscore]}
`)
	res := harness.Run(t, 30*time.Second, "--config="+harness.WriteConfig(t, config))
	assert.NotEqual(t, 0, res.ExitCode, res.Output)
	assert.Contains(t, res.Output, `"healthscore" processor: breaker extension "breaker" not found`, "the collector names the component")
}
