package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// segment is one stretch of a phase: how the service behaves until the segment ends.
type segment struct {
	until   time.Duration // from the phase's start
	errProb float64       // share of calls answered 503 after the latency
	latency time.Duration
	down    bool // every call answered 503 at once
}

// phase is one scenario the service plays out, from the run's start.
type phase struct {
	name     string
	segments []segment
	// changeAt is when the trouble starts (outage, slowness); recoverAt when it ends (0: it
	// does not); measureFrom is where the noise phases' count starts (after a warm-up).
	changeAt, recoverAt, measureFrom time.Duration
	group                            int // phases of a group run side by side
	// started is when the phase started (set before its calls; read by the health endpoint,
	// which probes reach before and during the phase).
	started atomic.Pointer[time.Time]
}

func (p *phase) end() time.Duration { return p.segments[len(p.segments)-1].until }

func (p *phase) setStart(t time.Time) { p.started.Store(&t) }

// t0 is when the phase started (the zero time before).
func (p *phase) t0() time.Time {
	if t := p.started.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// now is how far into the phase it is: past its end before it starts, so a probe then finds
// the service as it is after the phase (healthy).
func (p *phase) now() time.Duration {
	t := p.started.Load()
	if t == nil {
		return p.end()
	}
	return time.Since(*t)
}

func (p *phase) at(d time.Duration) segment {
	for _, s := range p.segments {
		if d < s.until {
			return s
		}
	}
	return p.segments[len(p.segments)-1]
}

// tracing is one service's OpenTelemetry SDK: a TracerProvider with the SDK's default batch
// span processor exporting OTLP/gRPC to the collector, as an instrumented application has.
type tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

func newTracing(ctx context.Context, service, otlp string) (*tracing, error) {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(otlp), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	res := sdkresource.NewSchemaless(attribute.String("service.name", service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &tracing{tp: tp, tracer: tp.Tracer("vigil/testbed/breakerscenario")}, nil
}

// server is the callee: one HTTP server on loopback; each target path plays its phase, and an
// instrumented target records a SERVER span per request in its own service's SDK.
type server struct {
	mu      sync.RWMutex
	targets map[string]*serverTarget
}

type serverTarget struct {
	phase   *phase
	tracing *tracing // nil: not instrumented
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("target")
	s.mu.RLock()
	st := s.targets[name]
	s.mu.RUnlock()
	if st == nil {
		http.NotFound(w, r)
		return
	}
	var span trace.Span
	if st.tracing != nil {
		_, span = st.tracing.tracer.Start(r.Context(), "GET /svc/{target}", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
	}
	seg := st.phase.at(st.phase.now())
	code := http.StatusOK
	switch {
	case seg.down:
		code = http.StatusServiceUnavailable
	default:
		select {
		case <-time.After(seg.latency):
		case <-r.Context().Done():
			return
		}
		if rand.Float64() < seg.errProb {
			code = http.StatusServiceUnavailable
		}
	}
	if span != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", code))
		if code >= 500 {
			span.SetStatus(codes.Error, "")
		}
	}
	w.WriteHeader(code)
}

// health is the target's health endpoint, as a service has one for its probes: 503 while the
// service is down, 200 otherwise (a slow or noisy service still answers it).
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	st := s.targets[r.PathValue("target")]
	s.mu.RUnlock()
	switch {
	case st == nil:
		http.NotFound(w, r)
	case st.phase.at(st.phase.now()).down:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusOK)
	}
}
