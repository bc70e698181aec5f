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
	PredictPoints metric.Int64Counter
	// PredictPointsSkipped counts watched points not learnt from, by reason.
	PredictPointsSkipped metric.Int64Counter
	// PredictSeriesEvicted counts series dropped to stay within max_series.
	PredictSeriesEvicted metric.Int64Counter
	// PredictSeries is the number of series the processor holds state for.
	PredictSeries metric.Int64ObservableGauge
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	b.PredictPoints = b.Int64Counter("otelcol_predict_points",
		"Data points of watched series the predict models learnt from", "{point}")
	b.PredictPointsSkipped = b.Int64Counter("otelcol_predict_points_skipped",
		"Data points of watched series skipped, by reason (nan, out_of_order, counter_reset, no_value, unsupported)", "{point}")
	b.PredictSeriesEvicted = b.Int64Counter("otelcol_predict_series_evicted",
		"Series dropped (least recently seen first) to stay within max_series", "{series}")
	b.PredictSeries = b.Int64ObservableGauge("otelcol_predict_series",
		"Series the predict processor holds a model for", "{series}")
	return b, b.Err
}

// RegisterPredictSeriesCallback reports the series count through cb on every collection, until
// the embedded Builder's Shutdown.
func (b *TelemetryBuilder) RegisterPredictSeriesCallback(cb func() int64) error {
	return b.ObserveInt64(b.PredictSeries, cb)
}
