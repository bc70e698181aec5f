package guardprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

// createMetricsWith wires a guard the test made (with its own clock) as the factory does.
func createMetricsWith(t *testing.T, set processor.Settings, cfg *Config, next consumer.Metrics, g *guard) (processor.Metrics, error) {
	t.Helper()
	return processorhelper.NewMetrics(context.Background(), set, cfg, next, g.processMetrics, g.options()...)
}
