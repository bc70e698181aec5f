package healthscoreprocessor

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
)

// allMetrics enables every metric, the opt-in ones included.
func allMetrics() MetricsConfig {
	on := MetricConfig{Enabled: true}
	return MetricsConfig{on, on, on, on, on, on, on, on}
}

// emitted returns the names of the metrics a scoring pass writes with m, for a service that
// serves calls and calls a peer.
func emitted(t *testing.T, m MetricsConfig) []string {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	e := health.New(cfg.engineSettings())
	now := time.Now()
	e.ObserveTraces(spans("frontend", 20, 1, ptrace.SpanKindServer, nil), now)
	e.ObserveTraces(spans("frontend", 10, 0, ptrace.SpanKindClient, map[string]any{"peer.service": "catalog"}), now)
	md := e.Score(now).MetricsOf("scope", m.selection())
	var names []string
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		ms := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			if !slices.Contains(names, ms.At(j).Name()) {
				names = append(names, ms.At(j).Name())
			}
		}
	}
	slices.Sort(names)
	return names
}

func TestDefaultMetricsAreOneSeriesAComponent(t *testing.T) {
	assert.Equal(t, []string{"health.score"}, emitted(t, defaultMetricsConfig()))
	assert.Equal(t, []string{
		"health.dependency.call.rate", "health.dependency.error.ratio", "health.dependency.latency.p95",
		"health.root_cause", "health.score", "health.signal", "health.status",
	}, emitted(t, allMetrics()))
	only := MetricsConfig{HealthSignal: MetricConfig{Enabled: true}}
	assert.Equal(t, []string{"health.signal"}, emitted(t, only))
}

func TestLoadMetricsConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cm := confmap.NewFromStringMap(map[string]any{"metrics": map[string]any{
		"health.signal":                 map[string]any{"enabled": true},
		"health.dependency.call.rate":   map[string]any{"enabled": true},
		"health.dependency.latency.p95": map[string]any{"enabled": true},
		"breaker.state":                 map[string]any{"enabled": true},
	}})
	require.NoError(t, cm.Unmarshal(cfg))
	assert.Equal(t, MetricsConfig{
		HealthScore:          MetricConfig{Enabled: true}, // left at its default
		HealthSignal:         MetricConfig{Enabled: true},
		DependencyCallRate:   MetricConfig{Enabled: true},
		DependencyLatencyP95: MetricConfig{Enabled: true},
		BreakerState:         MetricConfig{Enabled: true},
	}, cfg.Metrics)

	bad := confmap.NewFromStringMap(map[string]any{"metrics": map[string]any{"health.signals": map[string]any{"enabled": true}}})
	err := bad.Unmarshal(createDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "health.signals")
}
