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

func (in *Instruments) join(err error) { in.Err = errors.Join(in.Err, err) }

func described(desc, unit string) (metric.InstrumentOption, metric.InstrumentOption) {
	return metric.WithDescription(desc), metric.WithUnit(unit)
}

// Int64Counter creates a synchronous counter.
func (in *Instruments) Int64Counter(name, desc, unit string) metric.Int64Counter {
	d, u := described(desc, unit)
	c, err := in.Meter.Int64Counter(name, d, u)
	in.join(err)
	return c
}

// Int64ObservableCounter creates a counter read by a callback.
func (in *Instruments) Int64ObservableCounter(name, desc, unit string) metric.Int64ObservableCounter {
	d, u := described(desc, unit)
	c, err := in.Meter.Int64ObservableCounter(name, d, u)
	in.join(err)
	return c
}

// Int64ObservableGauge creates a gauge read by a callback.
func (in *Instruments) Int64ObservableGauge(name, desc, unit string) metric.Int64ObservableGauge {
	d, u := described(desc, unit)
	g, err := in.Meter.Int64ObservableGauge(name, d, u)
	in.join(err)
	return g
}

// Float64Histogram creates a histogram with explicit bucket bounds.
func (in *Instruments) Float64Histogram(name, desc, unit string, bounds ...float64) metric.Float64Histogram {
	d, u := described(desc, unit)
	h, err := in.Meter.Float64Histogram(name, d, u, metric.WithExplicitBucketBoundaries(bounds...))
	in.join(err)
	return h
}

// Int64UpDownCounter creates a synchronous counter that may go down.
func (in *Instruments) Int64UpDownCounter(name, desc, unit string) metric.Int64UpDownCounter {
	d, u := described(desc, unit)
	c, err := in.Meter.Int64UpDownCounter(name, d, u)
	in.join(err)
	return c
}
