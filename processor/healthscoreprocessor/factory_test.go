package healthscoreprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	cfg := componenttest.CheckFactory(t, f, "healthscore")
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, component.StabilityLevelDevelopment, f.TracesStability())
	assert.Equal(t, component.StabilityLevelDevelopment, f.MetricsStability())
	assert.Equal(t, component.StabilityLevelDevelopment, f.LogsStability())
	require.NoError(t, confmap.Validate(cfg), "the defaults are valid")

	lp, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err, "logs are read for the events signal")
	assert.False(t, lp.Capabilities().MutatesData, "logs are only read")
	require.NoError(t, lp.Shutdown(context.Background()))
}

func TestFactoryLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := testConfig()
	t.Run("shutdown without start", func(t *testing.T) {
		tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, tp.Shutdown(context.Background()))
	})
	t.Run("start and shutdown", func(t *testing.T) {
		set := processortest.NewNopSettings(metadata.Type)
		tp, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		mp, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, tp.Start(context.Background(), testHost{}))
		require.NoError(t, mp.Start(context.Background(), testHost{}))
		assert.False(t, tp.Capabilities().MutatesData, "spans are only read")
		assert.True(t, mp.Capabilities().MutatesData, "health.* is appended to passing batches")
		require.NoError(t, tp.Shutdown(context.Background()))
		require.NoError(t, mp.Shutdown(context.Background()))
	})
}

// TestDocumentationListsEveryMetric holds documentation.md to the metrics the processor emits
// and to its own telemetry.
func TestDocumentationListsEveryMetric(t *testing.T) {
	componenttest.AssertDocumented(t,
		health.MetricScore, health.MetricSignal, health.MetricBreakerState,
		health.MetricDependencyRate, health.MetricDependencyErr, health.MetricDependencyP95,
		"otelcol_healthscore_scoring_duration", "otelcol_healthscore_components", "otelcol_healthscore_edges",
		"otelcol_healthscore_hosts", "otelcol_healthscore_outcomes", "otelcol_healthscore_skipped",
		"otelcol_healthscore_evictions",
	)
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}
