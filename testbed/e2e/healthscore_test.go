package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// healthscoreConfig places healthscore in both pipelines with a 1 s interval, feeding the breaker
// extension; the healthcheck receiver probes catalog's health endpoint (a test server). The
// Prometheus exporter forgets series after 3 s, so a service whose status changes shows one
// health_score series.
const healthscoreConfig = `
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{{.Health}}
      status: {enabled: true, path: /health/status}
  status:
    endpoint: 127.0.0.1:{{.Breaker}}
  breaker:
    status_extension: status
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:{{.GRPC}}}
  healthcheck:
    collection_interval: 1s
    timeout: 500ms
    targets:
      - name: catalog-http
        service: catalog
        type: http
        endpoint: {{.CatalogURL}}
processors:
  healthscore:
    interval: 1s
    breaker: breaker
    status_extension: status
    stale_after: 10s
    expire_after: 1m
    metrics:
      health.signal: {enabled: true}
      health.dependency.call.rate: {enabled: true}
      health.dependency.error.ratio: {enabled: true}
      health.dependency.latency.p95: {enabled: true}
  batch: {timeout: 100ms}
exporters:
  otlp_grpc:
    endpoint: {{.Sink}}
    tls: {insecure: true}
  prometheus:
    endpoint: 127.0.0.1:{{.Prom}}
    metric_expiration: 3s
    resource_constant_labels:
      included: ["service.name"]
service:
  extensions: [healthcheckv2, status, breaker]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: {{.Telemetry}}}}}
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

type healthscorePorts struct {
	GRPC, Prom, Telemetry, Health, Breaker int
	Sink, CatalogURL                       string
}

// shop sends a small shop's traffic every 100 ms: catalog (healthy, on host app-1) and checkout
// serve 20 calls each, frontend calls both 10 times. While failing, half of checkout's calls fail,
// as its own SERVER spans and as frontend's CLIENT spans see them.
type shop struct {
	t       *testing.T
	traces  ptraceotlp.GRPCClient
	metrics pmetricotlp.GRPCClient
	failing atomic.Bool
	stop    chan struct{}
	done    sync.WaitGroup
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
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "app-1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("system.cpu.utilization")
	m.SetUnit("1")
	dps := m.SetEmptyGauge().DataPoints()
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

func (s *shop) run() {
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := s.traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(s.batch()))
			if err == nil && n%10 == 0 {
				_, err = s.metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(hostMetrics()))
			}
			cancel()
			if err != nil {
				s.t.Errorf("export: %v", err)
				return
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
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
	sink := harness.NewSink(t)
	p := healthscorePorts{
		GRPC: harness.FreePort(t), Prom: harness.FreePort(t), Telemetry: harness.FreePort(t),
		Health: harness.FreePort(t), Breaker: harness.FreePort(t),
		Sink: sink.Endpoint, CatalogURL: catalog.URL,
	}
	c := harness.Start(t, harness.Render(t, healthscoreConfig, p))
	c.WaitReady(t, fmt.Sprintf("http://127.0.0.1:%d/health/status", p.Health), 30*time.Second)
	prom := fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Prom)
	api := breakerAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", p.Breaker)}

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", p.GRPC), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	s := &shop{t: t, traces: ptraceotlp.NewGRPCClient(conn), metrics: pmetricotlp.NewGRPCClient(conn),
		stop: make(chan struct{}), r: rand.New(rand.NewPCG(1, 2))}
	s.run()
	defer func() {
		close(s.stop)
		s.done.Wait()
	}()

	// Healthy shop first: both services scored healthy, catalog from four signals (its spans'
	// errors and latency, app-1's CPU, its probe).
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, err := harness.Scrape(prom)
		if !assert.NoError(ct, err) {
			return
		}
		for _, svc := range []string{"catalog", "checkout"} {
			v := harness.FindSample(body, "health_score", map[string]string{"service_name": svc})
			if assert.Len(ct, v, 1, svc) {
				assert.GreaterOrEqual(ct, v[0], 0.9, svc)
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
		body, err := harness.Scrape(prom)
		if !assert.NoError(ct, err) {
			return
		}
		catalogScores = append(catalogScores, harness.FindSample(body, "health_score", map[string]string{"service_name": "catalog"})...)
		v := harness.FindSample(body, "health_score", map[string]string{"service_name": "checkout"})
		if assert.Len(ct, v, 1) {
			assert.Less(ct, v[0], 0.5, "below the degraded cut-off")
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
	for _, v := range catalogScores {
		assert.GreaterOrEqual(t, v, 0.9, "the healthy service stays healthy while checkout fails")
	}

	// checkout recovers: its breaker closes again (through half-open) and its score is healthy.
	s.failing.Store(false)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		_, body, raw := api.do(http.MethodGet, "/v1/breakers/checkout?peek=true", "", "")
		assert.Equal(ct, "closed", body["state"], raw)
	}, 60*time.Second, 250*time.Millisecond)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, err := harness.Scrape(prom)
		if !assert.NoError(ct, err) {
			return
		}
		v := harness.FindSample(body, "health_score", map[string]string{"service_name": "checkout"})
		if assert.Len(ct, v, 1) {
			assert.GreaterOrEqual(ct, v[0], 0.9)
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
	tel, err := harness.Scrape(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Telemetry))
	require.NoError(t, err)
	assert.NotEmpty(t, harness.FindSample(tel, "otelcol_healthscore_outcomes", map[string]string{"class": "error"}))
	assert.Equal(t, []float64{3}, harness.FindSample(tel, "otelcol_healthscore_components", nil), "catalog, checkout, frontend, and no other")
	assert.NotEmpty(t, sink.Traces(), "spans pass through")
}

// TestHealthscoreMissingBreakerIsAStartError: a breaker named in healthscore's config that is not
// an extension of the service fails the start with a clear message.
func TestHealthscoreMissingBreakerIsAStartError(t *testing.T) {
	config := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
processors:
  healthscore:
    breaker: breaker
exporters:
  debug:
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [healthscore], exporters: [debug]}
`, harness.FreePort(t))
	res := harness.Run(t, 30*time.Second, "--config="+harness.WriteConfig(t, config))
	assert.NotEqual(t, 0, res.ExitCode, res.Output)
	assert.Contains(t, res.Output, `"healthscore" processor: breaker extension "breaker" not found`, "the collector names the component")
}
