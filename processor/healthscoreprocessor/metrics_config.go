package healthscoreprocessor // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor"

import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"

// MetricsConfig selects the metrics the processor emits, one switch per metric, in the layout
// of the collector's generated metrics configs. By default a component costs one series,
// health.score (the verdict: its status is the score read against the status cut-offs). The
// rest multiply a fleet's series, and with them the Prometheus exporter's CPU and memory, and
// are opt-in: health.root_cause and breaker.state (one series each per component), the
// health.status state set (four), health.signal (one per signal) and health.dependency.* (three
// per outgoing edge). The shipped configs turn on what their rules and dashboards read. The
// status extension serves statuses, root causes, breakers and the dependency graph (/v1/status,
// /v1/breakers, /v1/dependencies) whether or not they are exported.
type MetricsConfig struct {
	HealthScore          MetricConfig `mapstructure:"health.score"`
	HealthStatus         MetricConfig `mapstructure:"health.status"`
	HealthRootCause      MetricConfig `mapstructure:"health.root_cause"`
	HealthSignal         MetricConfig `mapstructure:"health.signal"`
	DependencyCallRate   MetricConfig `mapstructure:"health.dependency.call.rate"`
	DependencyErrorRatio MetricConfig `mapstructure:"health.dependency.error.ratio"`
	DependencyLatencyP95 MetricConfig `mapstructure:"health.dependency.latency.p95"`
	BreakerState         MetricConfig `mapstructure:"breaker.state"`
}

// MetricConfig switches one metric on or off.
type MetricConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

func defaultMetricsConfig() MetricsConfig {
	return MetricsConfig{
		HealthScore: MetricConfig{Enabled: true},
	}
}

// selection converts the switches to the engine's selection.
func (m MetricsConfig) selection() health.Selection {
	return health.Selection{
		Score:                m.HealthScore.Enabled,
		Status:               m.HealthStatus.Enabled,
		RootCause:            m.HealthRootCause.Enabled,
		Signal:               m.HealthSignal.Enabled,
		DependencyCallRate:   m.DependencyCallRate.Enabled,
		DependencyErrorRatio: m.DependencyErrorRatio.Enabled,
		DependencyLatencyP95: m.DependencyLatencyP95.Enabled,
		BreakerState:         m.BreakerState.Enabled,
	}
}
