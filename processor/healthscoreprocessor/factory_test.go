package healthscoreprocessor

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, "healthscore", f.Type().String())
	assert.Equal(t, component.StabilityLevelDevelopment, f.TracesStability())
	assert.Equal(t, component.StabilityLevelDevelopment, f.MetricsStability())
	assert.Equal(t, component.StabilityLevelDevelopment, f.LogsStability())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
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
	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	for _, name := range []string{
		health.MetricScore, health.MetricSignal, health.MetricBreakerState,
		health.MetricDependencyRate, health.MetricDependencyErr, health.MetricDependencyP95,
		"otelcol_healthscore_scoring_duration", "otelcol_healthscore_components", "otelcol_healthscore_edges",
		"otelcol_healthscore_hosts", "otelcol_healthscore_outcomes", "otelcol_healthscore_skipped",
		"otelcol_healthscore_evictions",
	} {
		assert.Contains(t, string(doc), "| `"+name+"` |", "documentation.md lists %s", name)
	}
}
