package harness

import (
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// Sink is an OTLP/gRPC server on loopback that records every request a collector exports to it.
type Sink struct {
	// Endpoint is host:port, ready to be written into an otlp_grpc exporter's config.
	Endpoint string

	mu     sync.Mutex
	traces []ptrace.Traces
	metric []pmetric.Metrics
	logs   []plog.Logs
}

// NewSink starts a sink on a free loopback port; the test's cleanup stops it.
func NewSink(tb testing.TB) *Sink {
	tb.Helper()
	s := &Sink{}
	srv, err := otlp.Serve(otlp.Handlers{
		Traces:  func(td ptrace.Traces) { keep(s, &s.traces, td, ptrace.NewTraces()) },
		Metrics: func(md pmetric.Metrics) { keep(s, &s.metric, md, pmetric.NewMetrics()) },
		Logs:    func(ld plog.Logs) { keep(s, &s.logs, ld, plog.NewLogs()) },
	})
	if err != nil {
		tb.Fatalf("sink: %v", err)
	}
	s.Endpoint = srv.Endpoint
	tb.Cleanup(srv.Stop)
	return s
}

// Traces returns a copy of the list of trace batches received so far.
func (s *Sink) Traces() []ptrace.Traces { return received(s, &s.traces) }

// Metrics returns a copy of the list of metric batches received so far.
func (s *Sink) Metrics() []pmetric.Metrics { return received(s, &s.metric) }

// Logs returns a copy of the list of log batches received so far.
func (s *Sink) Logs() []plog.Logs { return received(s, &s.logs) }

func received[T any](s *Sink, list *[]T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]T(nil), *list...)
}

// keep appends a copy of batch (into, a new one) to list: the request's data is the server's
// to reuse once Export returns.
func keep[T interface{ CopyTo(T) }](s *Sink, list *[]T, batch, into T) {
	batch.CopyTo(into)
	s.mu.Lock()
	*list = append(*list, into)
	s.mu.Unlock()
}
