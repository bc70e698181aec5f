package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the exporter's own instruments, exported with the collector's telemetry
// (on :8888 by default) as otelcol_healing_*.
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// HealingDecisions counts audited decisions by decision and reason.
	HealingDecisions metric.Int64Counter
	// HealingActions counts action runs by action and outcome (success, failure).
	HealingActions metric.Int64Counter
	// HealingPending is the number of actions queued or running.
	HealingPending metric.Int64UpDownCounter
	// HealingSkipped counts data points not evaluated, by reason.
	HealingSkipped metric.Int64Counter
	// HealingInterrupted counts intents found without outcome at start, by action.
	HealingInterrupted metric.Int64Counter
	// HealingPendingOldestAge is the age of each action's oldest queued or running run.
	HealingPendingOldestAge metric.Float64Gauge
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	tb.HealingDecisions = tb.Int64Counter("otelcol_healing_decisions", "Audited decisions by decision and reason.", "{decision}")
	tb.HealingActions = tb.Int64Counter("otelcol_healing_actions", "Action runs by action and outcome.", "{action}")
	tb.HealingPending = tb.Int64UpDownCounter("otelcol_healing_pending", "Actions queued or running, by action.", "{action}")
	tb.HealingSkipped = tb.Int64Counter("otelcol_healing_skipped", "Data points not evaluated, by reason.", "{point}")
	tb.HealingInterrupted = tb.Int64Counter("otelcol_healing_interrupted", "Intents found without outcome at start (the collector stopped between intent and outcome), by action.", "{action}")
	tb.HealingPendingOldestAge = tb.Float64Gauge("otelcol_healing_pending_oldest_age", "Age of the oldest queued or running run of each action.", "s")
	return tb, tb.Err
}
