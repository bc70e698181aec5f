package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The OTel SDK's batch span processor defaults: a batch leaves when it holds 512 spans or 5 s
// after the last one left.
const (
	sdkMaxBatch      = 512
	sdkScheduleDelay = 5 * time.Second
	spansPerTrace    = 4 // SERVER, two CLIENT calls to peers, one INTERNAL
	exportMethod     = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
)

// The shapes of the load: what one export request carries.
const (
	// shapeSDK: one service's batch per request, as every service's SDK exports straight to
	// the collector.
	shapeSDK = "sdk"
	// shapeAgent: requests of at least agentBatch spans holding the batches of consecutive
	// services, one resource each, as an agent collector on each host forwards them.
	shapeAgent = "agent"
	agentBatch = 512
)

// workload is a set of pre-encoded export requests, one SDK batch per service (and a few
// variants when there are few services), sent one per request or grouped as an agent does.
type workload struct {
	services      int
	shape         string
	spansPerBatch int      // spans in one service's SDK batch
	requests      [][]byte // in service order
	spans         []int    // spans in requests[i]
}

// spansPerRequest is the mean number of spans in a request.
func (w *workload) spansPerRequest() float64 {
	sum := 0
	for _, n := range w.spans {
		sum += n
	}
	return float64(sum) / float64(len(w.spans))
}

// batchSize is how many spans one service's SDK puts in a request at rate spans/s spread over
// n services: a full batch, or what accumulates in one schedule delay.
func batchSize(rate float64, n int) int {
	if rate <= 0 {
		return sdkMaxBatch
	}
	b := int(math.Round(rate / float64(n) * sdkScheduleDelay.Seconds()))
	b = max(spansPerTrace, min(sdkMaxBatch, b))
	return b / spansPerTrace * spansPerTrace
}

// newWorkload encodes the requests of n services in the given shape. Service i serves its own
// calls and calls services i+1 and i+2 (two edges each); 1% of calls fail.
func newWorkload(n int, spanRate float64, shape string) (*workload, error) {
	w := &workload{services: n, shape: shape, spansPerBatch: batchSize(spanRate, n)}
	perRequest := 1 // service batches per request
	switch shape {
	case shapeSDK:
	case shapeAgent:
		perRequest = (agentBatch + w.spansPerBatch - 1) / w.spansPerBatch
	default:
		return nil, fmt.Errorf("unknown load shape %q (sdk, agent)", shape)
	}
	variants := max(1, 64/n)
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	now := time.Now()
	for v := range variants {
		for first := 0; first < n; first += perRequest {
			td := ptrace.NewTraces()
			for i := first; i < min(n, first+perRequest); i++ {
				buildBatch(rng, i, n, w.spansPerBatch, now, v).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			}
			b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
			if err != nil {
				return nil, err
			}
			w.requests = append(w.requests, b)
			w.spans = append(w.spans, td.SpanCount())
		}
	}
	return w, nil
}

func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

func buildBatch(rng *rand.Rand, i, n, spans int, now time.Time, variant int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	name := serviceName(i)
	res.PutStr("service.name", name)
	res.PutStr("service.instance.id", fmt.Sprintf("%s-%d", name, variant))
	res.PutStr("service.version", "1.4.2")
	res.PutStr("host.name", fmt.Sprintf("host-%03d", i%50))
	res.PutStr("deployment.environment.name", "load")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	res.PutStr("telemetry.sdk.language", "go")
	res.PutStr("telemetry.sdk.version", "1.47.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("example.com/shop/http")
	ss.Scope().SetVersion("0.1.0")
	peers := [2]string{serviceName((i + 1) % n), serviceName((i + 2) % n)}
	for t := 0; t < spans/spansPerTrace; t++ {
		var tid pcommon.TraceID
		binary.LittleEndian.PutUint64(tid[:8], rng.Uint64())
		binary.LittleEndian.PutUint64(tid[8:], rng.Uint64())
		failed := rng.IntN(100) == 0
		total := time.Duration(5e6 + rng.ExpFloat64()*20e6) // 5 ms + exp(20 ms)
		start := now.Add(-total)
		server := ss.Spans().AppendEmpty()
		fill(server, tid, rng, ptrace.SpanKindServer, "GET /api/items/{id}", start, total)
		a := server.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/items/{id}")
		a.PutStr("url.path", fmt.Sprintf("/api/items/%d", rng.IntN(1000)))
		a.PutStr("url.scheme", "http")
		a.PutStr("server.address", name)
		a.PutInt("server.port", 8080)
		a.PutStr("user_agent.original", "shop-client/1.0")
		status := int64(200)
		if failed {
			status = 500
			server.Status().SetCode(ptrace.StatusCodeError)
		}
		a.PutInt("http.response.status_code", status)
		for k, peer := range peers {
			d := total / 4
			c := ss.Spans().AppendEmpty()
			fill(c, tid, rng, ptrace.SpanKindClient, "GET", start.Add(time.Duration(k+1)*d/2), d)
			c.SetParentSpanID(server.SpanID())
			ca := c.Attributes()
			ca.PutStr("http.request.method", "GET")
			ca.PutStr("server.address", peer)
			ca.PutInt("server.port", 8080)
			ca.PutStr("peer.service", peer)
			ca.PutStr("url.full", "http://"+peer+":8080/api/stock")
			code := int64(200)
			if failed && k == 0 {
				code = 503
				c.Status().SetCode(ptrace.StatusCodeError)
			}
			ca.PutInt("http.response.status_code", code)
		}
		in := ss.Spans().AppendEmpty()
		fill(in, tid, rng, ptrace.SpanKindInternal, "render", start.Add(3*total/4), total/5)
		in.SetParentSpanID(server.SpanID())
		in.Attributes().PutInt("items", int64(rng.IntN(50)))
	}
	return td
}

func fill(s ptrace.Span, tid pcommon.TraceID, rng *rand.Rand, kind ptrace.SpanKind, name string, start time.Time, d time.Duration) {
	var sid pcommon.SpanID
	binary.LittleEndian.PutUint64(sid[:], rng.Uint64())
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetKind(kind)
	s.SetName(name)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
}

// rawCodec sends pre-encoded protobuf bytes as they are, so the generator spends its CPU on
// sending rather than on encoding.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case *[]byte:
		return *x, nil
	}
	return nil, fmt.Errorf("rawCodec: %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*[]byte); ok {
		*p = append((*p)[:0], data...)
		return nil
	}
	return fmt.Errorf("rawCodec: %T", v)
}

func (rawCodec) Name() string { return "proto" }

// generator sends a workload to one OTLP gRPC endpoint, paced at a fixed span rate (0: as fast
// as the collector takes them), over a few connections as many SDKs would.
type generator struct {
	conns   []*grpc.ClientConn
	w       *workload
	limiter *rate.Limiter
	next    atomic.Uint64
	sent    atomic.Uint64 // spans in requests the collector answered OK
	failed  atomic.Uint64 // spans in requests that failed
	paused  atomic.Bool   // while set, nothing is sent
}

func newGenerator(addr string, w *workload, spanRate float64, conns int) (*generator, error) {
	g := &generator{w: w}
	if spanRate > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(spanRate), 2*slices.Max(w.spans))
	}
	for range conns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			g.close()
			return nil, err
		}
		g.conns = append(g.conns, c)
	}
	return g, nil
}

func (g *generator) close() {
	for _, c := range g.conns {
		_ = c.Close()
	}
}

// run sends until ctx ends, with workers concurrent requests in flight.
func (g *generator) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for k := range workers {
		conn := g.conns[k%len(g.conns)]
		wg.Go(func() {
			var reply []byte
			for ctx.Err() == nil {
				if g.paused.Load() {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				i := (g.next.Add(1) - 1) % uint64(len(g.w.requests))
				req, spans := g.w.requests[i], uint64(g.w.spans[i])
				if g.limiter != nil {
					if err := g.limiter.WaitN(ctx, int(spans)); err != nil {
						return
					}
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := conn.Invoke(cctx, exportMethod, req, &reply)
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						g.failed.Add(spans)
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				g.sent.Add(spans)
			}
		})
	}
	wg.Wait()
}
