package hostile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// Transport is how batches reach the collector.
type Transport string

// The OTLP transports.
const (
	GRPC Transport = "grpc"
	HTTP Transport = "http"
)

// Sender sends OTLP traces and metrics to one collector over one transport.
type Sender struct {
	transport Transport
	otlp      *otlp.Client // over gRPC
	httpBase  string
	client    *http.Client

	// Sent and Failed count requests.
	Sent, Failed atomic.Int64
}

// NewSender connects to grpcAddr or httpBase (http://host:port) depending on transport.
func NewSender(transport Transport, grpcAddr, httpBase string) (*Sender, error) {
	s := &Sender{transport: transport, httpBase: httpBase, client: &http.Client{Timeout: 30 * time.Second}}
	if transport == GRPC {
		c, err := otlp.Dial(grpcAddr, grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return nil, err
		}
		s.otlp = c
	}
	return s, nil
}

// Close releases the connection.
func (s *Sender) Close() error {
	if s.otlp != nil {
		return s.otlp.Close()
	}
	return nil
}

// Send sends both batches; a refused request counts as failed (the collector may refuse under
// its memory limit: that is the bound working).
func (s *Sender) Send(ctx context.Context, td ptrace.Traces, md pmetric.Metrics) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, err := range []error{s.sendTraces(ctx, td), s.sendMetrics(ctx, md)} {
		if err != nil {
			s.Failed.Add(1)
		} else {
			s.Sent.Add(1)
		}
	}
}

func (s *Sender) sendTraces(ctx context.Context, td ptrace.Traces) error {
	if s.transport == GRPC {
		return s.otlp.Traces(ctx, td)
	}
	return s.post(ctx, "/v1/traces", ptraceotlp.NewExportRequestFromTraces(td))
}

func (s *Sender) sendMetrics(ctx context.Context, md pmetric.Metrics) error {
	if s.transport == GRPC {
		return s.otlp.Metrics(ctx, md)
	}
	return s.post(ctx, "/v1/metrics", pmetricotlp.NewExportRequestFromMetrics(md))
}

// post sends req as protobuf to path of the OTLP/HTTP receiver.
func (s *Sender) post(ctx context.Context, path string, msg interface{ MarshalProto() ([]byte, error) }) error {
	body, err := msg.MarshalProto()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.httpBase+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// Batch builds one traces and one metrics batch with a resource per service name: a SERVER
// span (what span_metrics turns into RED series) and a gauge.
func Batch(names []string) (ptrace.Traces, pmetric.Metrics) {
	td, md := ptrace.NewTraces(), pmetric.NewMetrics()
	now := time.Now()
	for _, n := range names {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", n)
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("GET /api")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetTraceID(pcommon.TraceID([16]byte{1, 2, 3}))
		sp.SetSpanID(pcommon.SpanID([8]byte{4, 5, 6}))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-20 * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))

		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", n)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("app.queue.depth")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
		dp.SetDoubleValue(1)
	}
	return td, md
}

// parallel runs n jobs over workers goroutines until done or ctx ends.
func parallel(ctx context.Context, workers, n int, job func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				job(i)
			}
		}()
	}
	wg.Wait()
}

// SendManyNames sends total distinct service names (prefix-NNNNNNN), perBatch to a request.
func SendManyNames(ctx context.Context, s *Sender, prefix string, total, perBatch, workers int) {
	batches := (total + perBatch - 1) / perBatch
	parallel(ctx, workers, batches, func(b int) {
		names := make([]string, 0, perBatch)
		for i := b * perBatch; i < min(total, (b+1)*perBatch); i++ {
			names = append(names, fmt.Sprintf("%s-%07d", prefix, i))
		}
		td, md := Batch(names)
		s.Send(ctx, td, md)
	})
}

// SendHugeNames sends count requests each carrying one distinct service name of size bytes.
func SendHugeNames(ctx context.Context, s *Sender, count, size, workers int) {
	parallel(ctx, workers, count, func(int) {
		td, md := Batch([]string{randomName(size)})
		s.Send(ctx, td, md)
	})
}

// ControlNames are names carrying characters that must never reach a page raw.
var ControlNames = []string{
	"nul\x00name", "esc\x1b[2Jclear", "bell\x07", "new\nline", "rtl\u202Eevil", "del\x7fname", "bad\xffutf8",
}

// SendControlNames sends ControlNames once.
func SendControlNames(ctx context.Context, s *Sender) {
	td, md := Batch(ControlNames)
	s.Send(ctx, td, md)
}

func randomName(size int) string {
	b := make([]byte, (size+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:size]
}
