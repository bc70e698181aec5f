// Package shop makes the traces of a small shop: services that call each other, each call seen as
// the caller's CLIENT span (peer.service = the callee) and the callee's SERVER span, with
// HTTP status codes, some calls failing on demand. The README's walk-through (testbed/cmd/shopgen)
// and the multi-node tests send it to a collector over OTLP/gRPC.
package shop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// Edge is one dependency: every tick Caller makes Calls calls to Callee.
type Edge struct {
	Caller, Callee string
	Calls          int
}

// DefaultEdges is the shop of the walk-through: frontend calls catalog and checkout, checkout
// calls payments.
var DefaultEdges = []Edge{
	{Caller: "frontend", Callee: "catalog", Calls: 10},
	{Caller: "frontend", Callee: "checkout", Calls: 5},
	{Caller: "checkout", Callee: "payments", Calls: 5},
}

// Shop makes the batches. Fail holds, per callee, the share of its calls that fail (HTTP 503);
// it may be changed while the shop runs with SetFail.
type Shop struct {
	Edges []Edge
	// Host is put as host.name on every span of the shop (empty: none).
	Host string
	// ServerSpans, when false, leaves the callees' SERVER spans out (the callee runs elsewhere).
	ServerSpans bool
	// Latency is the typical duration of a call (default 20 ms); each call takes 0.5 to 1.5 times it.
	Latency time.Duration

	fail map[string]*atomic.Uint64 // float64 bits
	r    *rand.Rand
	seq  atomic.Uint64
}

// New returns a shop over edges with a fixed random seed (the same batches every run).
func New(edges []Edge) *Shop {
	s := &Shop{Edges: edges, ServerSpans: true, Latency: 20 * time.Millisecond, fail: map[string]*atomic.Uint64{}, r: rand.New(rand.NewPCG(1, 2))}
	for _, e := range edges {
		s.fail[e.Callee] = &atomic.Uint64{}
	}
	return s
}

// SetFail makes ratio (0..1) of callee's calls fail from now on.
func (s *Shop) SetFail(callee string, ratio float64) error {
	f, ok := s.fail[callee]
	if !ok {
		return fmt.Errorf("shop: %q is not called by any edge", callee)
	}
	if ratio < 0 || ratio > 1 {
		return fmt.Errorf("shop: failure ratio of %q must be in [0,1], got %v", callee, ratio)
	}
	f.Store(uint64(ratio * 1e6))
	return nil
}

// ParseFail reads "callee=ratio" (as the --fail flag takes it).
func ParseFail(s string) (string, float64, error) {
	name, v, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", 0, fmt.Errorf("want service=ratio, got %q", s)
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return "", 0, fmt.Errorf("ratio of %q: %w", name, err)
	}
	return name, r, nil
}

// Batch returns one tick's calls, ending at now. It is not safe for concurrent use.
func (s *Shop) Batch(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, e := range s.Edges {
		ratio := float64(s.fail[e.Callee].Load()) / 1e6
		client := s.resource(td, e.Caller)
		var server ptrace.SpanSlice
		if s.ServerSpans {
			server = s.resource(td, e.Callee)
		}
		for range e.Calls {
			failed := s.r.Float64() < ratio
			lat := time.Duration(float64(s.Latency) * (0.5 + s.r.Float64()))
			n := s.seq.Add(1)
			var trace pcommon.TraceID
			putUint(trace[:8], n)
			putUint(trace[8:], uint64(s.r.Int64()))
			s.span(client.AppendEmpty(), trace, n*2, ptrace.SpanKindClient, "POST /"+e.Callee, now, lat, failed).
				Attributes().PutStr("peer.service", e.Callee)
			if s.ServerSpans {
				s.span(server.AppendEmpty(), trace, n*2+1, ptrace.SpanKindServer, "POST /"+e.Callee, now, lat, failed)
			}
		}
	}
	return td
}

func (s *Shop) resource(td ptrace.Traces, service string) ptrace.SpanSlice {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	if s.Host != "" {
		rs.Resource().Attributes().PutStr("host.name", s.Host)
	}
	return rs.ScopeSpans().AppendEmpty().Spans()
}

func (s *Shop) span(sp ptrace.Span, trace pcommon.TraceID, id uint64, kind ptrace.SpanKind, name string, now time.Time, lat time.Duration, failed bool) ptrace.Span {
	sp.SetTraceID(trace)
	var sid pcommon.SpanID
	putUint(sid[:], id)
	sp.SetSpanID(sid)
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-lat)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	code := int64(200)
	if failed {
		code = 503
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
	sp.Attributes().PutInt("http.response.status_code", code)
	return sp
}

func putUint(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * (7 - i)))
	}
}

// Sender exports a shop's batches to an OTLP/gRPC endpoint (plaintext, as an application does to
// the collector on its own host).
type Sender struct {
	client *otlp.Client
	// Spans counts the spans the endpoint accepted.
	Spans atomic.Int64
}

// Dial connects to endpoint (host:port).
func Dial(endpoint string) (*Sender, error) {
	c, err := otlp.Dial(endpoint)
	if err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	c.Timeout = 5 * time.Second
	return &Sender{client: c}, nil
}

// Send exports one batch.
func (s *Sender) Send(ctx context.Context, td ptrace.Traces) error {
	if err := s.client.Traces(ctx, td); err != nil {
		return fmt.Errorf("shop: export: %w", err)
	}
	s.Spans.Add(int64(td.SpanCount()))
	return nil
}

// Run sends shop's batches every tick until ctx ends or duration passes (at most 1e6 ticks).
func (s *Sender) Run(ctx context.Context, shop *Shop, tick, duration time.Duration) error {
	end := time.Now().Add(duration)
	t := time.NewTicker(tick)
	defer t.Stop()
	for range 1_000_000 {
		if err := s.Send(ctx, shop.Batch(time.Now())); err != nil {
			return err
		}
		if !time.Now().Add(tick).Before(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

// Close closes the connection.
func (s *Sender) Close() error { return s.client.Close() }
