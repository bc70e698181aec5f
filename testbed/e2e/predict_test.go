package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// predictConfig is baseConfig with the predict processor in the metrics pipeline, after
// memory_limiter and resource/host and before batch, as in the default config, with a short
// warm-up so the test sees predictions within seconds.
var predictConfig = strings.NewReplacer(
	"  batch: {timeout: 100ms}\n", `  batch: {timeout: 100ms}
  predict:
    warm_up: 2s
    warm_up_points: 3
    watch:
      - metric: system.memory.utilization
        attributes: [{key: state, value: used}]
        threshold: 0.9
        horizons: [1m]
        min_value: 0
        max_value: 1
      - metric: vigil.e2e.disk.utilization
        threshold: 0.9
        horizons: [10m, 1h]
        max_horizon: 24h
`,
	"processors: [memory_limiter, resource/host, batch]", "processors: [memory_limiter, resource/host, predict, batch]",
).Replace(baseConfig)

func TestPredictMetricsOnPrometheus(t *testing.T) {
	require.Contains(t, predictConfig, "predict, batch]")
	v := startVigil(t, predictConfig)

	// A disk filling at 0.5 % a minute for an hour (points a minute apart, ending now): from 0.8
	// it reaches 0.9 in 20 minutes.
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", v.ports.GRPC), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := pmetricotlp.NewGRPCClient(conn)
	now := time.Now()
	// Beside it, a calm disk with 200 points (a minute apart): enough for the anomaly detector
	// to be warm (150 points), where the filling one, with 61, is not.
	for i := 0; i < 200; i++ {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", "disk-host")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("vigil.e2e.disk.utilization")
		m.SetUnit("1")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.Attributes().PutStr("mountpoint", "/calm")
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i-199) * time.Minute)))
		dp.SetDoubleValue(0.3 + 0.001*float64(i%5))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
		cancel()
		require.NoError(t, err)
	}
	for i := 0; i <= 60; i++ {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", "disk-host")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("vigil.e2e.disk.utilization")
		m.SetUnit("1")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.Attributes().PutStr("mountpoint", "/data")
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i-60) * time.Minute)))
		dp.SetDoubleValue(0.5 + 0.005*float64(i))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
		cancel()
		require.NoError(t, err)
	}

	ttt := regexp.MustCompile(`(?m)^predict_time_to_threshold_seconds\{[^}]*predict_source="vigil.e2e.disk.utilization"[^}]*\} (\S+)$`)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		body, err := harness.Scrape(v.url(v.ports.Prom, "/metrics"))
		if !assert.NoError(c, err) {
			return
		}
		// Host memory, watched from the host_metrics receiver.
		// A horizon is forecast once the series is a twelfth as old: 1 m after 5 s.
		assert.Regexp(c, `predict_value_ratio\{[^}]*predict_horizon="60"[^}]*predict_source="system.memory.utilization"[^}]*state="used"`, body)
		// An anomaly score only from a warm detector: the calm disk has one, the filling disk not.
		assert.Regexp(c, `predict_anomaly_score_ratio\{[^}]*mountpoint="/calm"[^}]*predict_source="vigil.e2e.disk.utilization"`, body)
		assert.NotRegexp(c, `predict_anomaly_score_ratio\{[^}]*mountpoint="/data"`, body)
		assert.Regexp(c, `predict_risk_ratio\{[^}]*predict_risk_type="threshold"[^}]*predict_source="system.memory.utilization"`, body)
		// The disk sent over OTLP: time to threshold with its own labels kept.
		m := ttt.FindStringSubmatch(body)
		if assert.NotNil(c, m, "no predict_time_to_threshold_seconds for the disk yet") {
			assert.Contains(c, m[0], `mountpoint="/data"`)
			got, err := strconv.ParseFloat(m[1], 64)
			assert.NoError(c, err)
			assert.InEpsilon(c, 1200, got, 0.2, "disk full in %.0f s, want about 1200", got)
		}
	}, 30*time.Second, 500*time.Millisecond)

	// Predictions ride on the source's resource: the sink sees them under host.name=disk-host.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, res, ok := findGauge(v.sink.Metrics(), "predict.time_to_threshold")
		if assert.True(c, ok, "no predict.time_to_threshold at the sink yet") {
			host, _ := res.Attributes().Get("host.name")
			assert.Equal(c, "disk-host", host.Str())
		}
	}, 15*time.Second, 200*time.Millisecond)

	// The processor's own telemetry.
	body, err := harness.Scrape(v.url(v.ports.Telemetry, "/metrics"))
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^otelcol_predict_points(_total)?(\{[^}]*\})? [1-9]`, body)
	assert.Regexp(t, `(?m)^otelcol_predict_series(\{[^}]*\})? [1-9]`, body)
}
