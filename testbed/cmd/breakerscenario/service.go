package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
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
	group                            int       // phases of a group run side by side
	t0                               time.Time // when the phase started (set before its calls)
}

func (p *phase) end() time.Duration { return p.segments[len(p.segments)-1].until }

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
	seg := st.phase.at(time.Since(st.phase.t0))
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
