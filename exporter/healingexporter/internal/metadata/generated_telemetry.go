package metadata

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// TelemetryBuilder holds the exporter's own instruments, exported with the collector's telemetry
// (on :8888 by default) as otelcol_healing_*.
type TelemetryBuilder struct {
	// HealingDecisions counts audited decisions by decision and reason.
	HealingDecisions metric.Int64Counter
	// HealingActions counts action runs by action and outcome (success, failure).
	HealingActions metric.Int64Counter
	// HealingPending is the number of actions queued or running.
	HealingPending metric.Int64UpDownCounter
	// HealingSkipped counts data points not evaluated, by reason.
	HealingSkipped metric.Int64Counter
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	m := settings.MeterProvider.Meter(ScopeName)
	tb := &TelemetryBuilder{}
	var e [4]error
	tb.HealingDecisions, e[0] = m.Int64Counter("otelcol_healing_decisions", metric.WithDescription("Audited decisions by decision and reason."), metric.WithUnit("{decision}"))
	tb.HealingActions, e[1] = m.Int64Counter("otelcol_healing_actions", metric.WithDescription("Action runs by action and outcome."), metric.WithUnit("{action}"))
	tb.HealingPending, e[2] = m.Int64UpDownCounter("otelcol_healing_pending", metric.WithDescription("Actions queued or running."), metric.WithUnit("{action}"))
	tb.HealingSkipped, e[3] = m.Int64Counter("otelcol_healing_skipped", metric.WithDescription("Data points not evaluated, by reason."), metric.WithUnit("{point}"))
	return tb, errors.Join(e[:]...)
}
