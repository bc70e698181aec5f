package ownmetrics

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// Instruments creates a builder's instruments on one meter, each from its name, description and
// unit, and collects their errors in Err: a TelemetryBuilder is then one line per instrument.
type Instruments struct {
	Meter metric.Meter
	Err   error
}

// keep returns the instrument and joins its error to in.Err.
func keep[T any](in *Instruments, instrument T, err error) T {
	in.Err = errors.Join(in.Err, err)
	return instrument
}

// Int64Counter creates a synchronous counter.
func (in *Instruments) Int64Counter(name, desc, unit string) metric.Int64Counter {
	i, err := in.Meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
	return keep(in, i, err)
}

// Int64UpDownCounter creates a synchronous counter that may go down.
func (in *Instruments) Int64UpDownCounter(name, desc, unit string) metric.Int64UpDownCounter {
	i, err := in.Meter.Int64UpDownCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
	return keep(in, i, err)
}

// Int64ObservableCounter creates a counter read by a callback.
func (in *Instruments) Int64ObservableCounter(name, desc, unit string) metric.Int64ObservableCounter {
	i, err := in.Meter.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
	return keep(in, i, err)
}

// Int64ObservableGauge creates a gauge read by a callback.
func (in *Instruments) Int64ObservableGauge(name, desc, unit string) metric.Int64ObservableGauge {
	i, err := in.Meter.Int64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
	return keep(in, i, err)
}

// Float64Histogram creates a histogram with explicit bucket bounds.
func (in *Instruments) Float64Histogram(name, desc, unit string, bounds ...float64) metric.Float64Histogram {
	h, err := in.Meter.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit(unit),
		metric.WithExplicitBucketBoundaries(bounds...))
	return keep(in, h, err)
}

// Float64Gauge creates a synchronous gauge (the value recorded last is reported).
func (in *Instruments) Float64Gauge(name, desc, unit string) metric.Float64Gauge {
	g, err := in.Meter.Float64Gauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
	return keep(in, g, err)
}
