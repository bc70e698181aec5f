package predictprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/extension/statusextension/statustest"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// TestPredictionsReachTheStatusExtension: a falling health score of a service is predicted, and
// the prediction (risk, time to threshold, anomaly) shows on the service in the real status
// extension's /v1/status.
func TestPredictionsReachTheStatusExtension(t *testing.T) {
	st, base := statustest.Start(t, nil)
	st.(statusfeed.Publisher).PublishScores(&statusfeed.Pass{At: t0, Components: []statusfeed.Component{
		{Name: "checkout", Known: true, Score: 0.8, Status: "degraded"}}})

	statusID := statustest.ID
	cfg := createDefaultConfig().(*Config)
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	thr := 0.5
	cfg.Watch = []WatchRule{{Metric: "health.score", Threshold: &thr, Direction: "below", Horizons: []time.Duration{time.Hour},
		MaxHorizon: time.Hour, MinValue: new(float64), MaxValue: ptr(1.0)}}
	cfg.StatusExtension = statusID
	require.NoError(t, cfg.Validate())
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, new(consumertest.MetricsSink))
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), statustest.NewHost(map[component.ID]component.Component{statusID: st})))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	for i := range 120 {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "checkout")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("health.score")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * 10 * time.Second)))
		dp.SetDoubleValue(0.95 - 0.002*float64(i))
		require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	}

	var doc struct {
		Components []struct {
			Predictions []struct {
				Source          string   `json:"source"`
				Risk            float64  `json:"risk"`
				TimeToThreshold *float64 `json:"time_to_threshold_seconds"`
				Threshold       *float64 `json:"threshold"`
			} `json:"predictions"`
		} `json:"components"`
	}
	raw := statustest.GetJSON(t, base+"/v1/status?service=checkout", &doc)
	require.Len(t, doc.Components, 1)
	require.Len(t, doc.Components[0].Predictions, 1, "%s", raw)
	pred := doc.Components[0].Predictions[0]
	assert.Equal(t, "health.score", pred.Source)
	require.NotNil(t, pred.Threshold)
	assert.Equal(t, 0.5, *pred.Threshold)
	require.NotNil(t, pred.TimeToThreshold, "%s", raw)
	// Falling 0.002 per 10 s from 0.712: below 0.5 in about 1060 s.
	assert.InEpsilon(t, 1060, *pred.TimeToThreshold, 0.3)
	assert.Greater(t, pred.Risk, 0.5)
}
