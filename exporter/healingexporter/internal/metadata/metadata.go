// Package metadata holds the exporter's type, stability and its own telemetry instruments
// (written by hand: mdatagen is not available at our collector release).
package metadata

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Type is the exporter's component type.
var Type = component.MustNewType("healing")

// ScopeName is the instrumentation scope of the exporter's own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/exporter/healingexporter"

// MetricsStability is the stability of the metrics signal.
const MetricsStability = component.StabilityLevelAlpha

// Telemetry holds the exporter's own instruments (otelcol_healing_* on :8888).
type Telemetry struct {
	// Decisions counts audited decisions by decision and reason.
	Decisions metric.Int64Counter
	// Actions counts action runs by action and outcome (success, failure).
	Actions metric.Int64Counter
	// Pending is the number of actions queued or running.
	Pending metric.Int64UpDownCounter
	// Skipped counts data points not evaluated, by reason.
	Skipped metric.Int64Counter
	// Interrupted counts intents found without outcome at start (the collector stopped between
	// intent and outcome), by action.
	Interrupted metric.Int64Counter
	// OldestPendingAge is the age of the oldest queued or running run of each action, in seconds.
	OldestPendingAge metric.Float64Gauge
}

// NewTelemetry creates the instruments from the component's meter provider.
func NewTelemetry(set component.TelemetrySettings) (*Telemetry, error) {
	m := set.MeterProvider.Meter(ScopeName)
	var t Telemetry
	var e1, e2, e3, e4, e5, e6 error
	t.Decisions, e1 = m.Int64Counter("otelcol_healing_decisions", metric.WithDescription("Audited decisions by decision and reason."), metric.WithUnit("{decision}"))
	t.Actions, e2 = m.Int64Counter("otelcol_healing_actions", metric.WithDescription("Action runs by action and outcome."), metric.WithUnit("{action}"))
	t.Pending, e3 = m.Int64UpDownCounter("otelcol_healing_pending", metric.WithDescription("Actions queued or running."), metric.WithUnit("{action}"))
	t.Skipped, e4 = m.Int64Counter("otelcol_healing_skipped", metric.WithDescription("Data points not evaluated, by reason."), metric.WithUnit("{point}"))
	t.Interrupted, e5 = m.Int64Counter("otelcol_healing_interrupted", metric.WithDescription("Intents found without outcome at start (the collector stopped between intent and outcome), by action."), metric.WithUnit("{action}"))
	t.OldestPendingAge, e6 = m.Float64Gauge("otelcol_healing_pending_oldest_age", metric.WithDescription("Age of the oldest queued or running run of each action."), metric.WithUnit("s"))
	return &t, errors.Join(e1, e2, e3, e4, e5, e6)
}
