package harness

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// ExportTimeout bounds one OTLP export of an OTLP client.
const ExportTimeout = 10 * time.Second

// OTLP is a plaintext OTLP/gRPC client of one collector, as an application on the same host
// sends to it. Each export waits at most ExportTimeout and returns the collector's answer.
type OTLP struct{ c *otlp.Client }

// DialOTLP makes a client of the OTLP/gRPC endpoint (host:port); the test's cleanup closes it.
// Nothing is connected before the first export.
func DialOTLP(tb testing.TB, endpoint string) *OTLP {
	tb.Helper()
	c, err := otlp.Dial(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	c.Timeout = ExportTimeout
	tb.Cleanup(func() { _ = c.Close() })
	return &OTLP{c: c}
}

// Traces exports one batch of spans.
func (o *OTLP) Traces(td ptrace.Traces) error { return o.c.Traces(context.Background(), td) }

// Metrics exports one batch of metrics.
func (o *OTLP) Metrics(md pmetric.Metrics) error { return o.c.Metrics(context.Background(), md) }

// Logs exports one batch of log records.
func (o *OTLP) Logs(ld plog.Logs) error { return o.c.Logs(context.Background(), ld) }
