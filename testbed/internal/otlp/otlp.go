// Package otlp is the testbed's OTLP/gRPC client and server, plaintext on loopback: the client as
// an application on the collector's own host sends (the e2e tests through the harness, the shop's
// traffic, the hostile suite), the server as the next hop a collector exports to (the harness's
// sink, the hostile suite's discarding sink).
package otlp

import (
	"context"
	"fmt"
	"net"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the collector's OTLP exporter compresses with gzip by default
)

// Client exports traces, metrics and logs to one OTLP/gRPC endpoint. Its methods may be called
// from several goroutines.
type Client struct {
	// Timeout bounds each export (0: only the caller's context does).
	Timeout time.Duration

	conn    *grpc.ClientConn
	traces  ptraceotlp.GRPCClient
	metrics pmetricotlp.GRPCClient
	logs    plogotlp.GRPCClient
}

// Dial makes a client of endpoint (host:port) with opts added to the plaintext transport; nothing
// is connected before the first export.
func Dial(endpoint string, opts ...grpc.DialOption) (*Client, error) {
	conn, err := grpc.NewClient(endpoint, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("otlp client of %s: %w", endpoint, err)
	}
	return &Client{conn: conn, traces: ptraceotlp.NewGRPCClient(conn), metrics: pmetricotlp.NewGRPCClient(conn), logs: plogotlp.NewGRPCClient(conn)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Traces exports one batch of spans.
func (c *Client) Traces(ctx context.Context, td ptrace.Traces) error {
	return export(ctx, c.Timeout, c.traces.Export, ptraceotlp.NewExportRequestFromTraces(td))
}

// Metrics exports one batch of metrics.
func (c *Client) Metrics(ctx context.Context, md pmetric.Metrics) error {
	return export(ctx, c.Timeout, c.metrics.Export, pmetricotlp.NewExportRequestFromMetrics(md))
}

// Logs exports one batch of log records.
func (c *Client) Logs(ctx context.Context, ld plog.Logs) error {
	return export(ctx, c.Timeout, c.logs.Export, plogotlp.NewExportRequestFromLogs(ld))
}

// export sends one request, within timeout when it is set.
func export[Req, Resp any](ctx context.Context, timeout time.Duration, send func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err := send(ctx, req)
	return err
}

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
