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
	meter := settings.MeterProvider.Meter(ScopeName)
	var errs, err error
	tb := &TelemetryBuilder{}
	tb.HealingDecisions, err = meter.Int64Counter("otelcol_healing_decisions",
		metric.WithDescription("Audited decisions by decision and reason."),
		metric.WithUnit("{decision}"))
	errs = errors.Join(errs, err)
	tb.HealingActions, err = meter.Int64Counter("otelcol_healing_actions",
		metric.WithDescription("Action runs by action and outcome."),
		metric.WithUnit("{action}"))
	errs = errors.Join(errs, err)
	tb.HealingPending, err = meter.Int64UpDownCounter("otelcol_healing_pending",
		metric.WithDescription("Actions queued or running."),
		metric.WithUnit("{action}"))
	errs = errors.Join(errs, err)
	tb.HealingSkipped, err = meter.Int64Counter("otelcol_healing_skipped",
		metric.WithDescription("Data points not evaluated, by reason."),
		metric.WithUnit("{point}"))
	errs = errors.Join(errs, err)
	return tb, errs
}
