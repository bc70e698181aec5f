// Package probe holds the active health probes (HTTP, TCP, gRPC) and the classification of their
// failures into the stable error.type values the receiver emits.
package probe

import (
	"context"
	"crypto/x509"
	"time"
)

// The error.type values a probe reports. They are part of the receiver's output contract.
const (
	ErrTimeout            = "timeout"
	ErrConnectionRefused  = "connection_refused"
	ErrConnectionReset    = "connection_reset"
	ErrDNS                = "dns"
	ErrTLS                = "tls"
	ErrNetwork            = "network"
	ErrStatusCode         = "status_code"
	ErrBodyMismatch       = "body_mismatch"
	ErrBodyRead           = "body_read"
	ErrRedirect           = "redirect"
	ErrGRPCNotServing     = "grpc_not_serving"
	ErrGRPCUnknown        = "grpc_unknown"
	ErrGRPCServiceUnknown = "grpc_service_unknown"
	ErrGRPCUnimplemented  = "grpc_unimplemented"
	ErrGRPCStatus         = "grpc_error"
	// ErrConfig: the target's own configuration cannot be used (a TLS file that cannot be
	// loaded, an unknown auth extension); it is never probed.
	ErrConfig = "config"
)

// Phase names of an HTTP probe's timings.
const (
	PhaseDNS       = "dns"
	PhaseConnect   = "connect"
	PhaseTLS       = "tls"
	PhaseFirstByte = "first_byte"
)

// Result is the outcome of one probe.
type Result struct {
	// Duration is the wall time of the whole probe.
	Duration time.Duration
	// ErrorType is empty on success, else one of the Err* constants.
	ErrorType string
	// Err is the underlying error, for logs; nil on success.
	Err error
	// CertNotAfter is the earliest NotAfter in the certificate chain the peer presented; zero
	// when no TLS handshake completed.
	CertNotAfter time.Time
	// Phases holds per-phase HTTP timings when asked for; nil otherwise.
	Phases map[string]time.Duration
}

// OK reports whether the probe passed.
func (r Result) OK() bool { return r.ErrorType == "" }

// Prober checks one target. Probe must return by the deadline of ctx.
type Prober interface {
	Probe(ctx context.Context) Result
	// Close releases connections and clients the prober holds.
	Close() error
}

// earliestExpiry returns the earliest NotAfter among certs, zero when certs is empty.
func earliestExpiry(certs []*x509.Certificate) time.Time {
	var earliest time.Time
	for _, c := range certs {
		if earliest.IsZero() || c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	return earliest
}

// failed builds the Result of a failed probe.
func failed(start time.Time, errType string, err error) Result {
	return Result{Duration: time.Since(start), ErrorType: errType, Err: err}
}

// Broken is the prober of a target whose client could not be built: every probe fails at once
// with ErrConfig, so only that target is reported down.
type Broken struct{ Err error }

// Probe implements Prober.
func (b Broken) Probe(context.Context) Result { return Result{ErrorType: ErrConfig, Err: b.Err} }

// Close implements Prober.
func (Broken) Close() error { return nil }
