package predictprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

func TestFactoryType(t *testing.T) {
	f := NewFactory()
	componenttest.CheckFactory(t, f, "predict")
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.MetricsStability, f.MetricsStability())
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	p, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	assert.True(t, p.Capabilities().MutatesData, "predict appends metrics to the batch")
	require.NoError(t, p.Start(context.Background(), componenttest.NopHost()))
	require.NoError(t, p.ConsumeMetrics(context.Background(), pmetric.NewMetrics()))
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	componenttest.ShutdownWithoutStart(t, func() (processor.Metrics, error) {
		return f.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	})
}

func TestTracesAndLogsAreNotSupported(t *testing.T) {
	f := NewFactory()
	_, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	assert.Error(t, err)
	_, err = f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	assert.Error(t, err)
}

// TestDocumentationListsEveryMetric holds documentation.md to the processor's own telemetry.
func TestDocumentationListsEveryMetric(t *testing.T) {
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}
