package harness

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ExportTimeout bounds one OTLP export of an OTLP client.
const ExportTimeout = 10 * time.Second

// OTLP is a plaintext OTLP/gRPC client of one collector, as an application on the same host
// sends to it. Each export waits at most ExportTimeout and returns the collector's answer.
type OTLP struct {
	conn    *grpc.ClientConn
	traces  ptraceotlp.GRPCClient
	metrics pmetricotlp.GRPCClient
	logs    plogotlp.GRPCClient
}

// DialOTLP makes a client of the OTLP/gRPC endpoint (host:port); the test's cleanup closes it.
// Nothing is connected before the first export.
func DialOTLP(tb testing.TB, endpoint string) *OTLP {
	tb.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("otlp client of %s: %v", endpoint, err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &OTLP{conn: conn, traces: ptraceotlp.NewGRPCClient(conn), metrics: pmetricotlp.NewGRPCClient(conn), logs: plogotlp.NewGRPCClient(conn)}
}

// Traces exports one batch of spans.
func (o *OTLP) Traces(td ptrace.Traces) error {
	return export(o.traces.Export, ptraceotlp.NewExportRequestFromTraces(td))
}

// Metrics exports one batch of metrics.
func (o *OTLP) Metrics(md pmetric.Metrics) error {
	return export(o.metrics.Export, pmetricotlp.NewExportRequestFromMetrics(md))
}

// Logs exports one batch of log records.
func (o *OTLP) Logs(ld plog.Logs) error {
	return export(o.logs.Export, plogotlp.NewExportRequestFromLogs(ld))
}

// export sends one request within ExportTimeout.
func export[Req, Resp any](send func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) error {
	ctx, cancel := context.WithTimeout(context.Background(), ExportTimeout)
	defer cancel()
	_, err := send(ctx, req)
	return err
}
