package harness

import (
	"context"
	"net"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the collector's OTLP exporter compresses with gzip by default
)

// Sink is an OTLP/gRPC server on loopback that records every request a collector exports to it.
type Sink struct {
	// Endpoint is host:port, ready to be written into an otlp_grpc exporter's config.
	Endpoint string

	server *grpc.Server
	mu     sync.Mutex
	traces []ptrace.Traces
	metric []pmetric.Metrics
	logs   []plog.Logs
}

// NewSink starts a sink on a free loopback port; the test's cleanup stops it.
func NewSink(tb testing.TB) *Sink {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("sink listen: %v", err)
	}
	s := &Sink{Endpoint: l.Addr().String(), server: grpc.NewServer()}
	ptraceotlp.RegisterGRPCServer(s.server, &traceSink{s: s})
	pmetricotlp.RegisterGRPCServer(s.server, &metricSink{s: s})
	plogotlp.RegisterGRPCServer(s.server, &logSink{s: s})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.server.Serve(l)
	}()
	tb.Cleanup(func() {
		s.server.Stop()
		<-done
	})
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

type traceSink struct {
	ptraceotlp.UnimplementedGRPCServer
	s *Sink
}

func (t *traceSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	keep(t.s, &t.s.traces, req.Traces(), ptrace.NewTraces())
	return ptraceotlp.NewExportResponse(), nil
}

type metricSink struct {
	pmetricotlp.UnimplementedGRPCServer
	s *Sink
}

func (m *metricSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	keep(m.s, &m.s.metric, req.Metrics(), pmetric.NewMetrics())
	return pmetricotlp.NewExportResponse(), nil
}

type logSink struct {
	plogotlp.UnimplementedGRPCServer
	s *Sink
}

func (l *logSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	keep(l.s, &l.s.logs, req.Logs(), plog.NewLogs())
	return plogotlp.NewExportResponse(), nil
}
