package predictprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

func TestThresholdOutsideTheRangeWarns(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	watch := []WatchRule{
		{Metric: "system.filesystem.utilization", Threshold: f(90)},                    // 90% on a 0–1 metric
		{Metric: "system.filesystem.utilization", Threshold: f(0.9)},                   // fine
		{Metric: "queue.depth", Threshold: f(5000)},                                    // no declared range
		{Metric: "queue.depth", Threshold: f(5000), MinValue: f(0), MaxValue: f(1000)}, // outside its own bounds
		{Metric: "health.score", Threshold: f(-0.5), Direction: directionBelow},        // below the range
		{Metric: "latency", Threshold: f(2), MinValue: f(0)},                           // only a lower bound: fine
		{Metric: "health.score", Threshold: nil},                                       // no threshold
	}
	got := thresholdWarnings(watch)
	if assert.Len(t, got, 3) {
		assert.Contains(t, got[0], "watch[0] (system.filesystem.utilization): threshold 90 is outside the metric's range [0, 1]")
		assert.Contains(t, got[1], "watch[3] (queue.depth): threshold 5000 is outside the metric's range [0, 1000]")
		assert.Contains(t, got[2], "watch[4] (health.score): threshold -0.5")
	}
}

func TestThresholdWarningLoggedAtStart(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	ninety := 90.0
	cfg.Watch = []WatchRule{{Metric: "system.memory.utilization", Threshold: &ninety}}
	require.NoError(t, cfg.Validate(), "accepted: the start warns")
	core, logs := observer.New(zapcore.WarnLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	p, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.Shutdown(context.Background()))
	warned := logs.FilterMessageSnippet("outside the metric's range").All()
	require.Len(t, warned, 1)
	assert.Contains(t, warned[0].Message, "threshold 90 is outside the metric's range [0, 1]")
}
