package otlp

import (
	"context"
	"net"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the collector's OTLP exporter compresses with gzip by default
)

// Handlers say what a Server does with each request's data. A signal whose handler is nil is not
// served. The data is the server's to reuse once the handler returns: a handler copies what it
// keeps. Handlers are called from several goroutines.
type Handlers struct {
	Traces  func(ptrace.Traces)
	Metrics func(pmetric.Metrics)
	Logs    func(plog.Logs)
}

// Server is an OTLP/gRPC server on a free loopback port.
type Server struct {
	// Endpoint is host:port, ready to be written into an otlp_grpc exporter's config.
	Endpoint string

	server *grpc.Server
	done   chan struct{}
}

// Serve starts a server of h with opts on a free loopback port; Stop stops it.
func Serve(h Handlers, opts ...grpc.ServerOption) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: l.Addr().String(), server: grpc.NewServer(opts...), done: make(chan struct{})}
	if h.Traces != nil {
		ptraceotlp.RegisterGRPCServer(s.server, &traceServer{handle: h.Traces})
	}
	if h.Metrics != nil {
		pmetricotlp.RegisterGRPCServer(s.server, &metricServer{handle: h.Metrics})
	}
	if h.Logs != nil {
		plogotlp.RegisterGRPCServer(s.server, &logServer{handle: h.Logs})
	}
	go func() {
		defer close(s.done)
		_ = s.server.Serve(l)
	}()
	return s, nil
}

// Stop stops the server and waits for it.
func (s *Server) Stop() {
	s.server.Stop()
	<-s.done
}

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	handle func(ptrace.Traces)
}

func (t *traceServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	t.handle(req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}

type metricServer struct {
	pmetricotlp.UnimplementedGRPCServer
	handle func(pmetric.Metrics)
}

func (m *metricServer) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	m.handle(req.Metrics())
	return pmetricotlp.NewExportResponse(), nil
}

type logServer struct {
	plogotlp.UnimplementedGRPCServer
	handle func(plog.Logs)
}

func (l *logServer) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	l.handle(req.Logs())
	return plogotlp.NewExportResponse(), nil
}
