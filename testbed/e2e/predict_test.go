package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// predictConfig adds the predict processor to baseConfig's metrics pipeline, after
// memory_limiter and resource/host and before batch, as in the default config, with a short
// warm-up so the test sees predictions within seconds.
const predictConfig = `
processors:
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
service:
  pipelines:
    metrics:
      processors: [memory_limiter, resource/host, predict, batch]
`

func TestPredictMetricsOnPrometheus(t *testing.T) {
	v := startVigil(t, nil, outputs, baseConfig, predictConfig)

	// A disk filling at 0.5 % a minute for an hour (points a minute apart, ending now): from 0.8
	// it reaches 0.9 in 20 minutes. Beside it, a calm disk with 200 points (a minute apart):
	// enough for the anomaly detector to be warm (150 points), where the filling one, with 61, is
	// not.
	now := time.Now()
	for i := 0; i < 200; i++ {
		require.NoError(t, v.otlp.Metrics(diskPoint("/calm", now.Add(time.Duration(i-199)*time.Minute), 0.3+0.001*float64(i%5))))
	}
	for i := 0; i <= 60; i++ {
		require.NoError(t, v.otlp.Metrics(diskPoint("/data", now.Add(time.Duration(i-60)*time.Minute), 0.5+0.005*float64(i))))
	}

	ttt := regexp.MustCompile(`(?m)^predict_time_to_threshold_seconds\{[^}]*predict_source="vigil.e2e.disk.utilization"[^}]*\} (\S+)$`)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		body, ok := v.prom(c)
		if !ok {
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
	v.requireSinkGaugeHost(t, "predict.time_to_threshold", "disk-host", 15*time.Second)

	// The processor's own telemetry.
	body := v.telemetry(t)
	assert.Regexp(t, `(?m)^otelcol_predict_points(_total)?(\{[^}]*\})? [1-9]`, body)
	assert.Regexp(t, `(?m)^otelcol_predict_series(\{[^}]*\})? [1-9]`, body)
}

// diskPoint is one point of vigil.e2e.disk.utilization of a mountpoint of disk-host.
func diskPoint(mountpoint string, at time.Time, value float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	dp := otlp.AppendGauge(md, "vigil.e2e.disk.utilization", "1", "host.name", "disk-host").AppendEmpty()
	dp.Attributes().PutStr("mountpoint", mountpoint)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.SetDoubleValue(value)
	return md
}
