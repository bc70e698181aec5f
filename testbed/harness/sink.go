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
func (s *Sink) Traces() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.traces...)
}

// Metrics returns a copy of the list of metric batches received so far.
func (s *Sink) Metrics() []pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pmetric.Metrics(nil), s.metric...)
}

// Logs returns a copy of the list of log batches received so far.
func (s *Sink) Logs() []plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.Logs(nil), s.logs...)
}

type traceSink struct {
	ptraceotlp.UnimplementedGRPCServer
	s *Sink
}

func (t *traceSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	t.s.mu.Lock()
	t.s.traces = append(t.s.traces, td)
	t.s.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

type metricSink struct {
	pmetricotlp.UnimplementedGRPCServer
	s *Sink
}

func (m *metricSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := pmetric.NewMetrics()
	req.Metrics().CopyTo(md)
	m.s.mu.Lock()
	m.s.metric = append(m.s.metric, md)
	m.s.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

type logSink struct {
	plogotlp.UnimplementedGRPCServer
	s *Sink
}

func (l *logSink) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ld := plog.NewLogs()
	req.Logs().CopyTo(ld)
	l.s.mu.Lock()
	l.s.logs = append(l.s.logs, ld)
	l.s.mu.Unlock()
	return plogotlp.NewExportResponse(), nil
}
