// Package healthscoreprocessor scores every component (service) the collector hears about in
// [0,1], from its spans, RED metrics, host metrics and probes, and appends the health.* metrics
// (and breaker.state) to the metrics pipeline. One component ID is placed in both a traces and
// a metrics pipeline; both halves share one state. It feeds every span outcome and probe result
// to the breaker extension named in its config.
package healthscoreprocessor // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

// Defaults of the configuration.
const (
	defaultInterval      = 10 * time.Second
	defaultMaxComponents = 10_000
	defaultMaxEdges      = 50_000
	defaultMaxHosts      = 10_000
	defaultMaxNameLength = registry.DefaultMaxNameLength
	defaultStaleAfter    = 5 * time.Minute
	defaultExpireAfter   = time.Hour

	defaultWeightErrors       = 0.35
	defaultWeightLatency      = 0.25
	defaultWeightSaturation   = 0.15
	defaultWeightProbe        = 0.15
	defaultWeightDependencies = 0.10

	defaultHealthy  = 0.9
	defaultDegraded = 0.5

	defaultSLOTarget  = 0.999
	defaultPriorCalls = 10

	defaultLatencyQuantile  = 0.95
	defaultBaselineHalfLife = time.Hour
	defaultBaselineMinCalls = 100

	defaultSaturationThreshold = 0.8
	defaultSaturationFloor     = 0.1

	defaultDamping = 0.5

	defaultWeightEvents  = 0.15
	defaultEventsMinRate = 0.1
	defaultEventsWarmUp  = 10 * time.Minute
)

// NewFactory returns the healthscore processor's factory.
func NewFactory() processor.Factory {
	return newFactory().processorFactory()
}

func newFactory() *factory {
	return &factory{instances: map[component.ID]*healthScore{}}
}

func (f *factory) processorFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(f.createTraces, metadata.TracesStability),
		processor.WithMetrics(f.createMetrics, metadata.MetricsStability),
		processor.WithLogs(f.createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Interval:      defaultInterval,
		MaxComponents: defaultMaxComponents,
		MaxEdges:      defaultMaxEdges,
		MaxHosts:      defaultMaxHosts,
		MaxNameLength: defaultMaxNameLength,
		StaleAfter:    defaultStaleAfter,
		ExpireAfter:   defaultExpireAfter,
		Weights: WeightsConfig{
			Errors:       defaultWeightErrors,
			Latency:      defaultWeightLatency,
			Saturation:   defaultWeightSaturation,
			Probe:        defaultWeightProbe,
			Dependencies: defaultWeightDependencies,
			Events:       defaultWeightEvents,
		},
		Status: StatusConfig{Healthy: defaultHealthy, Degraded: defaultDegraded},
		Errors: ErrorsConfig{SLOTarget: defaultSLOTarget, PriorCalls: defaultPriorCalls},
		Latency: LatencyConfig{
			Quantile:         defaultLatencyQuantile,
			BaselineHalfLife: defaultBaselineHalfLife,
			BaselineMinCalls: defaultBaselineMinCalls,
		},
		Saturation:   SaturationConfig{Threshold: defaultSaturationThreshold, Floor: defaultSaturationFloor},
		Dependencies: DependenciesConfig{Damping: defaultDamping},
		Events:       EventsConfig{MinRate: defaultEventsMinRate, WarmUp: defaultEventsWarmUp},
		Metrics:      defaultMetricsConfig(),
	}
}

// factory shares one healthScore per component ID between the traces and the metrics halves
// (as memorylimiterprocessor shares its limiter), and forgets it when both have shut down.
type factory struct {
	mu        sync.Mutex
	instances map[component.ID]*healthScore
}

// instance returns the healthScore of set.ID, creating it on first use. An instance left by a
// pipeline build that never started (another config) is replaced.
func (f *factory) instance(set processor.Settings, cfg *Config) (*healthScore, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hs, ok := f.instances[set.ID]; ok && hs.cfg == cfg {
		return hs, nil
	}
	id := set.ID
	var hs *healthScore
	hs, err := newHealthScore(set, cfg, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.instances[id] == hs {
			delete(f.instances, id)
		}
	})
	if err != nil {
		return nil, err
	}
	f.instances[id] = hs
	return hs, nil
}

func (f *factory) createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	hs, err := f.instance(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, hs.processTraces, options(false, hs.start, hs.shutdown)...)
}

// createLogs places the processor in a logs pipeline: it counts each service's ERROR and FATAL
// records (the events signal) and passes the logs on unchanged.
func (f *factory) createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	hs, err := f.instance(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, hs.processLogs, options(false, hs.start, hs.shutdown)...)
}

func (f *factory) createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	hs, err := f.instance(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	half := hs.metricsHalf(next)
	// It appends health.* to the batches passing through.
	return processorhelper.NewMetrics(ctx, set, cfg, next, half.processMetrics, options(true, half.start, half.shutdown)...)
}

// options are the processorhelper options of one signal's half: whether it mutates the data
// passing through, and its start and shutdown.
func options(mutates bool, start component.StartFunc, shutdown component.ShutdownFunc) []processorhelper.Option {
	return []processorhelper.Option{
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: mutates}),
		processorhelper.WithStart(start),
		processorhelper.WithShutdown(shutdown),
	}
}
