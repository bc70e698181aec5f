package ownmetrics

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/metric"
)

// Create creates every instrument field of the struct target points to from the field's tag,
// so that a component declares each of its metrics once, where its field is:
//
//	Probes metric.Int64Counter `metric:"otelcol_healthcheck_probes" unit:"{probe}" desc:"Completed probes by outcome."`
//
// A histogram's explicit bucket bounds are in bounds (comma-separated). Fields without a metric
// tag are left alone. It returns the errors of every instrument joined with b.Err, and an error
// naming a tagged field whose type is not an instrument Instruments creates.
func (b *Builder) Create(target any) error {
	v := reflect.ValueOf(target).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, ok := f.Tag.Lookup("metric")
		if !ok {
			continue
		}
		inst, err := b.create(f, name)
		if err != nil {
			b.Err = errors.Join(b.Err, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		if rv := reflect.ValueOf(inst); rv.IsValid() {
			v.Field(i).Set(rv)
		}
		if o, ok := inst.(metric.Observable); ok {
			b.observables = append(b.observables, o)
		}
	}
	return b.Err
}

// create creates the instrument of field f, named name.
func (b *Builder) create(f reflect.StructField, name string) (any, error) {
	desc, unit := f.Tag.Get("desc"), f.Tag.Get("unit")
	switch f.Type {
	case reflect.TypeFor[metric.Int64Counter]():
		return b.Int64Counter(name, desc, unit), nil
	case reflect.TypeFor[metric.Int64UpDownCounter]():
		return b.Int64UpDownCounter(name, desc, unit), nil
	case reflect.TypeFor[metric.Int64ObservableCounter]():
		return b.Int64ObservableCounter(name, desc, unit), nil
	case reflect.TypeFor[metric.Int64ObservableGauge]():
		return b.Int64ObservableGauge(name, desc, unit), nil
	case reflect.TypeFor[metric.Float64Gauge]():
		return b.Float64Gauge(name, desc, unit), nil
	case reflect.TypeFor[metric.Float64Histogram]():
		bounds, err := parseBounds(f.Tag.Get("bounds"))
		if err != nil {
			return nil, err
		}
		return b.Float64Histogram(name, desc, unit, bounds...), nil
	}
	return nil, fmt.Errorf("%s is not an instrument type Instruments creates", f.Type)
}

// parseBounds reads comma-separated bucket bounds; empty: none (the SDK's defaults).
func parseBounds(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var bounds []float64
	for _, part := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil {
			return nil, fmt.Errorf("bounds: %w", err)
		}
		bounds = append(bounds, x)
	}
	return bounds, nil
}

// Names returns the metric names the tags of the struct target points to declare, in field
// order: what a component's documentation.md must list.
func Names(target any) []string {
	t := reflect.TypeOf(target).Elem()
	var names []string
	for i := range t.NumField() {
		if name, ok := t.Field(i).Tag.Lookup("metric"); ok {
			names = append(names, name)
		}
	}
	return names
}
