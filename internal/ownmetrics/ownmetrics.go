// Package ownmetrics holds what the components' telemetry builders share: the meter of the
// component's scope on the collector's MeterProvider, the instruments created on it with their
// errors joined, and the callbacks observing the observable instruments, registered at start and
// unregistered at shutdown. A component's internal/metadata then only declares its own metrics.
package ownmetrics

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Builder is embedded by every component's TelemetryBuilder. Its Instruments create the
// component's instruments on the meter of its scope; Register, RegisterObservables and
// ObserveInt64 register the callbacks that observe its observable instruments, and Shutdown
// unregisters them all. They are safe for concurrent use.
type Builder struct {
	Instruments

	observables   []metric.Observable // every observable instrument Create made
	mu            sync.Mutex
	registrations []metric.Registration
}

// NewBuilder returns a builder on the meter named scope of the component's MeterProvider.
func NewBuilder(settings component.TelemetrySettings, scope string) *Builder {
	return &Builder{Instruments: Instruments{Meter: settings.MeterProvider.Meter(scope)}}
}

// Register registers cb on the builder's meter for instruments, until Shutdown.
func (b *Builder) Register(cb metric.Callback, instruments ...metric.Observable) error {
	reg, err := b.Meter.RegisterCallback(cb, instruments...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.registrations = append(b.registrations, reg)
	return nil
}

// RegisterObservables registers cb for every observable instrument Create made, until Shutdown:
// one callback that observes them all, with no second list of them to keep in step.
func (b *Builder) RegisterObservables(cb metric.Callback) error {
	return b.Register(cb, b.observables...)
}

// ObserveInt64 registers a callback that observes value() (with opts, e.g. an attribute) on
// instrument at every collection, until Shutdown.
func (b *Builder) ObserveInt64(instrument metric.Int64Observable, value func() int64, opts ...metric.ObserveOption) error {
	return b.Register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(instrument, value(), opts...)
		return nil
	}, instrument)
}

// Shutdown unregisters every callback registered so far; a second call does nothing.
func (b *Builder) Shutdown() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs error
	for _, reg := range b.registrations {
		errs = errors.Join(errs, reg.Unregister())
	}
	b.registrations = nil
	return errs
}
