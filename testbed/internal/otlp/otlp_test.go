package otlp

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestClientToServer: what the client exports reaches the server's handler; a signal without a
// handler is not served.
func TestClientToServer(t *testing.T) {
	var spans, points atomic.Int64
	srv, err := Serve(Handlers{
		Traces:  func(td ptrace.Traces) { spans.Add(int64(td.SpanCount())) },
		Metrics: func(md pmetric.Metrics) { points.Add(int64(md.DataPointCount())) },
	})
	require.NoError(t, err)
	defer srv.Stop()
	c, err := Dial(srv.Endpoint)
	require.NoError(t, err)
	defer c.Close()
	c.Timeout = 10 * time.Second

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("op")
	require.NoError(t, c.Traces(context.Background(), td))
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	require.NoError(t, c.Metrics(context.Background(), md))
	assert.Equal(t, int64(1), spans.Load())
	assert.Equal(t, int64(1), points.Load())

	err = c.Logs(context.Background(), plogOne())
	assert.Equal(t, codes.Unimplemented, status.Code(err), "no logs handler: %v", err)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func plogOne() plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	return ld
}
