// Package predictprocessor is a metrics processor that learns from the series it is told to watch
// and appends the predict.* metrics: forecasts at horizons, time to a threshold, the risk of
// crossing it, an anomaly score, and error-budget burn risk.
package predictprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// Defaults.
const (
	defaultMaxSeries    = 50_000
	defaultWarmUp       = 10 * time.Minute
	defaultWarmUpPoints = 10
	defaultFast         = time.Hour
	defaultSlow         = 24 * time.Hour
	defaultDamping      = 7 * 24 * time.Hour
	defaultMaxHorizon   = 24 * time.Hour
	defaultLinearWindow = time.Hour
	// defaultLinearMaxPoints bounds the points a linear model keeps (its window's samples).
	defaultLinearMaxPoints = 4096
	// utilizationThreshold is the default threshold of the utilisation rules: 90 % used.
	utilizationThreshold = 0.9
	// healthThreshold is the health score below which a component counts as unhealthy.
	healthThreshold = 0.5
)

// defaultHorizons are the lead times predict.value is emitted for when a rule names none.
var defaultHorizons = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour}

// Rule vocabulary.
const (
	directionAbove    = "above"
	directionBelow    = "below"
	modelDampedTrend  = "damped_trend"
	modelLinear       = "linear"
	statisticMean     = "mean"
	statisticQuantile = "quantile"
)

var processorCapabilities = consumer.Capabilities{MutatesData: true}

// NewFactory returns the predict processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	util, health, lo, hi := utilizationThreshold, healthThreshold, 0.0, 1.0
	return &Config{
		MaxSeries:    defaultMaxSeries,
		WarmUp:       defaultWarmUp,
		WarmUpPoints: defaultWarmUpPoints,
		Model:        ModelConfig{Fast: defaultFast, Slow: defaultSlow, Damping: defaultDamping},
		Watch: []WatchRule{
			{Metric: "system.filesystem.utilization", Threshold: &util, MinValue: &lo, MaxValue: &hi},
			{
				Metric:     "system.memory.utilization",
				Attributes: []AttributeMatcher{{Key: "state", Value: "used"}}, // not free, cached, ...
				Threshold:  &util, MinValue: &lo, MaxValue: &hi,
			},
			{Metric: "health.score", Threshold: &health, Direction: directionBelow, MinValue: &lo, MaxValue: &hi},
		},
	}
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p, err := newPredictProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorhelper.WithCapabilities(processorCapabilities),
		processorhelper.WithStart(p.start),
		processorhelper.WithShutdown(p.shutdown))
}
