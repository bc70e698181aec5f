package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the processor's own instruments (otelcol_predict_*).
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// PredictPoints counts the data points of watched series the models learnt from.
	PredictPoints metric.Int64Counter `metric:"otelcol_predict_points" unit:"{point}" desc:"Data points of watched series the predict models learnt from"`
	// PredictPointsSkipped counts watched points not learnt from, by reason.
	PredictPointsSkipped metric.Int64Counter `metric:"otelcol_predict_points_skipped" unit:"{point}" desc:"Data points of watched series skipped, by reason (nan, out_of_order, counter_reset, no_value, unsupported)"`
	// PredictSeriesEvicted counts series dropped to stay within max_series.
	PredictSeriesEvicted metric.Int64Counter `metric:"otelcol_predict_series_evicted" unit:"{series}" desc:"Series dropped (least recently seen first) to stay within max_series"`
	// PredictSeries is the number of series the processor holds state for.
	PredictSeries metric.Int64ObservableGauge `metric:"otelcol_predict_series" unit:"{series}" desc:"Series the predict processor holds a model for"`
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return b, b.Create(b)
}
