// Package guardprocessor bounds what hostile or careless telemetry can cost the collector: it cuts
// long values, replaces control characters, and caps the series (and the rate of new series) that
// reach the stateful components after it (span_metrics, the Prometheus exporter).
package guardprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/vigil-collector/vigil/processor/guardprocessor/internal/metadata"
)

// Defaults.
const (
	defaultMaxValueLength    = 256
	defaultMaxSeries         = 20_000
	defaultMaxNewPerInterval = 5_000
	defaultInterval          = time.Minute
	defaultExpiration        = 5 * time.Minute
)

var processorCapabilities = consumer.Capabilities{MutatesData: true}

// options are the processorhelper options of every guard: it mutates the data, and shuts its
// telemetry down.
func (g *guard) options() []processorhelper.Option {
	return []processorhelper.Option{
		processorhelper.WithCapabilities(processorCapabilities),
		processorhelper.WithShutdown(g.shutdown),
	}
}

// NewFactory returns the guard processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		MaxValueLength: defaultMaxValueLength,
		Series: SeriesConfig{
			MaxSeries:         defaultMaxSeries,
			MaxNewPerInterval: defaultMaxNewPerInterval,
			Interval:          defaultInterval,
			Expiration:        defaultExpiration,
		},
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	g, err := newGuard(set, cfg.(*Config), signalTraces)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, g.processTraces, g.options()...)
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	g, err := newGuard(set, cfg.(*Config), signalMetrics)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, g.processMetrics, g.options()...)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	g, err := newGuard(set, cfg.(*Config), signalLogs)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, g.processLogs, g.options()...)
}
