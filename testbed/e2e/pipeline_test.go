package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/harness"
	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// baseConfig is the default pipeline shape (on top of vigilBase, to outputs) with every endpoint on
// a free loopback port and the sink as the OTLP destination. Host metrics are scraped every second so
// tests stay short.
const baseConfig = `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:{{.HTTP}}}
  host_metrics:
    collection_interval: 1s
    scrapers:
      cpu: {metrics: {system.cpu.utilization: {enabled: true}}}
      memory: {metrics: {system.memory.utilization: {enabled: true}}}
      load:
  healthcheck:
    collection_interval: 1s
    timeout: 500ms
    targets:
      - name: vigil-health
        service: otelcol-vigil
        type: http
        endpoint: http://127.0.0.1:{{.Health}}/health/status
        http: {body_contains: '"healthy":true'}
      - name: nothing-listens
        type: tcp
        endpoint: 127.0.0.1:{{.Closed}}
processors:
  memory_limiter: {check_interval: 1s, limit_percentage: 80, spike_limit_percentage: 20}
  batch: {timeout: 100ms}
  resource/host:
    attributes:
      - {key: host.name, value: e2e-host, action: insert}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp_grpc]
    metrics:
      receivers: [otlp, host_metrics, healthcheck]
      processors: [memory_limiter, resource/host, batch]
      exporters: [otlp_grpc, prometheus]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp_grpc]
`

func TestTracesFlowThroughToSink(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)

	td := ptrace.NewTraces()
	span := otlp.AppendSpan(td, "checkout", "GET /cart", ptrace.SpanKindServer, time.Now(), 20*time.Millisecond)
	traceID := pcommon.TraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetTraceID(traceID)
	span.SetSpanID(pcommon.SpanID([8]byte{1, 1, 2, 3, 5, 8, 13, 21}))

	require.NoError(t, v.otlp.Traces(td))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var found bool
		for _, got := range v.sink.Traces() {
			for i := 0; i < got.ResourceSpans().Len(); i++ {
				rs := got.ResourceSpans().At(i)
				svc, _ := rs.Resource().Attributes().Get("service.name")
				spans := rs.ScopeSpans().At(0).Spans()
				for j := 0; j < spans.Len(); j++ {
					s := spans.At(j)
					if s.TraceID() == traceID && s.Name() == "GET /cart" && svc.Str() == "checkout" {
						found = true
					}
				}
			}
		}
		assert.True(c, found, "span not yet at the sink")
	}, 15*time.Second, 100*time.Millisecond)
}

func TestMetricsOverHTTPFlowThroughToSink(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)

	md := pmetric.NewMetrics()
	dp := otlp.AppendGauge(md, "vigil.e2e.queue.depth", "{item}", "service.name", "checkout", "host.name", "app-host-1").AppendEmpty()
	dp.SetIntValue(42)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))

	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post(v.url(v.ports.HTTP, "/v1/metrics"), "application/x-protobuf", strings.NewReader(string(body)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		dp, res, ok := findGauge(v.sink.Metrics(), "vigil.e2e.queue.depth")
		if assert.True(c, ok, "metric not yet at the sink") {
			assert.Equal(c, int64(42), dp.IntValue())
			host, _ := res.Attributes().Get("host.name")
			assert.Equal(c, "app-host-1", host.Str(), "a sender's host.name must not be overwritten")
		}
	}, 15*time.Second, 100*time.Millisecond)

	// The same gauge is exposed on the Prometheus endpoint.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if body, ok := v.prom(c); ok {
			assert.Contains(c, body, "vigil_e2e_queue_depth")
		}
	}, 15*time.Second, 200*time.Millisecond)
}

func TestLogsFlowThroughToSink(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("vigil e2e log line")
	require.NoError(t, v.otlp.Logs(ld))

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var found bool
		for _, got := range v.sink.Logs() {
			if got.LogRecordCount() > 0 && got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str() == "vigil e2e log line" {
				found = true
			}
		}
		assert.True(c, found, "log record not yet at the sink")
	}, 15*time.Second, 100*time.Millisecond)
}

func TestHostMetricsOnPrometheusAndSink(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		body, ok := v.prom(c)
		if !ok {
			return
		}
		for _, name := range []string{"system_cpu_time_seconds_total", "system_cpu_utilization_ratio", "system_memory_utilization_ratio", "system_cpu_load_average_1m"} {
			assert.Contains(c, body, name)
		}
	}, 20*time.Second, 250*time.Millisecond)

	// Host metrics carry the collector's host.name, the key that joins hosts to services.
	v.requireSinkGaugeHost(t, "system.memory.utilization", "e2e-host", 20*time.Second)

	// The collector's own telemetry is served too.
	assert.Contains(t, v.telemetry(t), "otelcol_process_uptime")
}

func TestSIGTERMExitsCleanly(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)
	require.Equal(t, 0, v.Stop(t), "exit code after SIGTERM; logs:\n%s", v.Logs())
	assert.Contains(t, v.Logs(), "Shutdown complete.")
}

// findGauge returns the first point of the named gauge among batches, with its resource.
func findGauge(batches []pmetric.Metrics, name string) (pmetric.NumberDataPoint, pcommon.Resource, bool) {
	for _, md := range batches {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if m := ms.At(k); m.Name() == name && m.Type() == pmetric.MetricTypeGauge && m.Gauge().DataPoints().Len() > 0 {
						return m.Gauge().DataPoints().At(0), rm.Resource(), true
					}
				}
			}
		}
	}
	return pmetric.NumberDataPoint{}, pcommon.Resource{}, false
}

// requireSinkGaugeHost waits until the sink holds the gauge, on a resource whose host.name is host.
func (v *vigil) requireSinkGaugeHost(t *testing.T, gauge, host string, within time.Duration) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, res, ok := findGauge(v.sink.Metrics(), gauge)
		if assert.True(c, ok, "%s not yet at the sink", gauge) {
			got, _ := res.Attributes().Get("host.name")
			assert.Equal(c, host, got.Str())
		}
	}, within, 250*time.Millisecond)
}

// TestHealthcheckReceiverProbes checks that the built binary's healthcheck receiver probes the
// collector's own health endpoint (up) and a closed port (down, connection_refused), and that the
// results reach Prometheus.
func TestHealthcheckReceiverProbes(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		body, ok := v.prom(c)
		if !ok {
			return
		}
		up := harness.FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "vigil-health", "healthcheck_type": "http", "job": "otelcol-vigil"})
		assert.Equal(c, []float64{1}, up)
		down := harness.FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "nothing-listens", "healthcheck_type": "tcp"})
		assert.Equal(c, []float64{0}, down)
		refused := harness.FindSample(body, "healthcheck_error_total", map[string]string{"healthcheck_target": "nothing-listens", "error_type": "connection_refused"})
		if assert.Len(c, refused, 1) {
			assert.GreaterOrEqual(c, refused[0], 1.0)
		}
	}, 20*time.Second, 250*time.Millisecond)
}
