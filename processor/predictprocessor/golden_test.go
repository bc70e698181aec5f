package predictprocessor

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// goldenBatch is one minute of a host: a filling disk and a service's error ratio.
func goldenBatch(i int) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Minute))
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "db-1")
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("hostmetrics")
	m := sm.Metrics().AppendEmpty()
	m.SetName("system.filesystem.utilization")
	m.SetUnit("1")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("mountpoint", "/")
	dp.Attributes().PutStr("state", "used")
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(0.5 + 0.002*float64(i) + 0.0005*math.Sin(float64(i)))
	m = sm.Metrics().AppendEmpty()
	m.SetName("checkout.error_ratio")
	m.SetUnit("1")
	dp = m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(0.0144 + 0.001*math.Sin(float64(i)/3))
	return md
}

// TestGoldenOutput pins the whole output batch (source metrics untouched, predict.* appended)
// after two hours of a disk filling towards 0.9 at 0.2 % a minute and an error ratio burning its
// budget at about 14x. Regenerate with UPDATE_GOLDEN=1 after a deliberate model change.
func TestGoldenOutput(t *testing.T) {
	cfg := testConfig()
	cfg.Watch = []WatchRule{
		{Metric: "system.filesystem.utilization", Threshold: ptr(0.9), Horizons: []time.Duration{time.Hour, 6 * time.Hour}, MinValue: ptr(0), MaxValue: ptr(1)},
		{Metric: "checkout.error_ratio", Horizons: []time.Duration{time.Hour}, ErrorBudget: &ErrorBudgetConfig{Objective: 0.999}},
	}
	h := newHarness(t, cfg)
	for i := 0; i <= 120; i++ {
		h.consume(t, goldenBatch(i))
	}
	all := h.sink.AllMetrics()
	actual := all[len(all)-1]
	path := filepath.Join("testdata", "golden", "disk_fill_and_burn.yaml")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		cp := pmetric.NewMetrics()
		actual.CopyTo(cp)
		require.NoError(t, golden.WriteMetricsToFile(path, cp, golden.SkipMetricTimestampNormalization()))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreMetricsOrder(),
		pmetrictest.IgnoreMetricDataPointsOrder(),
		pmetrictest.IgnoreMetricFloatPrecision(9),
	))
}
