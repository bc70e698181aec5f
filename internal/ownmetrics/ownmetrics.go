// Package ownmetrics holds what the components' telemetry builders share: the one callback
// that observes their observable instruments, registered on the collector's meter at start and
// unregistered at shutdown.
package ownmetrics

import "go.opentelemetry.io/otel/metric"

// Registration is a callback registered for a builder's observable instruments. The zero value
// is unregistered; it is not safe for concurrent use (a component registers at start and
// unregisters at shutdown).
type Registration struct {
	reg metric.Registration
}

// Register registers cb on meter for instruments.
func (r *Registration) Register(meter metric.Meter, cb metric.Callback, instruments ...metric.Observable) error {
	reg, err := meter.RegisterCallback(cb, instruments...)
	if err != nil {
		return err
	}
	r.reg = reg
	return nil
}

// Unregister unregisters the callback; a second call, or one without Register, does nothing.
func (r *Registration) Unregister() error {
	if r.reg == nil {
		return nil
	}
	err := r.reg.Unregister()
	r.reg = nil
	return err
}
