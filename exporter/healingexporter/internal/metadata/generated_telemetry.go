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
	HealingDecisions metric.Int64Counter `metric:"otelcol_healing_decisions" unit:"{decision}" desc:"Audited decisions by decision and reason."`
	// HealingActions counts action runs by action and outcome (success, failure).
	HealingActions metric.Int64Counter `metric:"otelcol_healing_actions" unit:"{action}" desc:"Action runs by action and outcome."`
	// HealingPending is the number of actions queued or running.
	HealingPending metric.Int64UpDownCounter `metric:"otelcol_healing_pending" unit:"{action}" desc:"Actions queued or running, by action."`
	// HealingSkipped counts data points not evaluated, by reason.
	HealingSkipped metric.Int64Counter `metric:"otelcol_healing_skipped" unit:"{point}" desc:"Data points not evaluated, by reason."`
	// HealingInterrupted counts intents found without outcome at start, by action.
	HealingInterrupted metric.Int64Counter `metric:"otelcol_healing_interrupted" unit:"{action}" desc:"Intents found without outcome at start (the collector stopped between intent and outcome), by action."`
	// HealingPendingOldestAge is the age of each action's oldest queued or running run.
	HealingPendingOldestAge metric.Float64Gauge `metric:"otelcol_healing_pending_oldest_age" unit:"s" desc:"Age of the oldest queued or running run of each action."`
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return tb, tb.Create(tb)
}
