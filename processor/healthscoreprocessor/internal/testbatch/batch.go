// Package testbatch builds the span batches the healthscore processor's tests and benchmarks
// share: realistic ones, as an OpenTelemetry SDK exports them.
package testbatch // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/testbatch"

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Realistic builds a batch as an OTel SDK exports it: services resources (with the SDK's
// resource attributes), each with spansPer spans: half SERVER spans of HTTP routes, 40% CLIENT
// spans to one of a few peers (HTTP or gRPC), 10% INTERNAL; about 1% errors; log-normal
// latencies around 20 ms; 8 to 10 attributes per span.
func Realistic(services, spansPer int, at time.Time) ptrace.Traces {
	return Named("service", services, spansPer, at)
}

// Named is Realistic with services named prefix-00, prefix-01, ... (and their SERVER spans'
// server.address to match), so concurrent batches can hold distinct services.
func Named(prefix string, services, spansPer int, at time.Time) ptrace.Traces {
	r := rand.New(rand.NewPCG(uint64(services), uint64(spansPer)))
	td := ptrace.NewTraces()
	peers := []string{"payments", "catalog", "inventory", "redis", "postgres"}
	for s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		ra := rs.Resource().Attributes()
		name := fmt.Sprintf("%s-%02d", prefix, s)
		ra.PutStr("service.name", name)
		ra.PutStr("service.version", "1.4.2")
		ra.PutStr("service.namespace", "shop")
		ra.PutStr("deployment.environment.name", "production")
		ra.PutStr("host.name", fmt.Sprintf("node-%02d", s%4))
		ra.PutStr("telemetry.sdk.language", "go")
		ra.PutStr("telemetry.sdk.name", "opentelemetry")
		ra.PutStr("telemetry.sdk.version", "1.38.0")
		ra.PutInt("process.pid", int64(1000+s))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
		spans := ss.Spans()
		for i := range spansPer {
			sp := spans.AppendEmpty()
			sp.SetTraceID(pcommon.TraceID([16]byte{byte(s), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
			sp.SetSpanID(pcommon.SpanID([8]byte{byte(s), byte(i), 3, 4, 5, 6, 7, 8}))
			start := pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Millisecond))
			lat := time.Duration(math.Exp(math.Log(20e6) + 0.5*r.NormFloat64()))
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(start + pcommon.Timestamp(lat))
			a := sp.Attributes()
			fail := r.IntN(100) == 0
			switch x := r.IntN(10); {
			case x < 5:
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetName("GET /api/cart/{id}")
				a.PutStr("http.request.method", "GET")
				a.PutStr("url.path", "/api/cart/123")
				a.PutStr("url.scheme", "https")
				a.PutStr("http.route", "/api/cart/{id}")
				a.PutStr("server.address", name+".shop.svc")
				a.PutInt("server.port", 8080)
				a.PutStr("network.protocol.version", "1.1")
				a.PutStr("client.address", "10.1.2.3")
				a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
				code := int64(200)
				if fail {
					code = 503
				}
				a.PutInt("http.response.status_code", code)
			case x < 9:
				sp.SetKind(ptrace.SpanKindClient)
				peer := peers[r.IntN(len(peers))]
				sp.SetName("POST " + peer)
				a.PutStr("peer.service", peer)
				a.PutStr("server.address", peer+".shop.svc")
				a.PutInt("server.port", 443)
				if x < 7 {
					a.PutStr("http.request.method", "POST")
					a.PutStr("url.full", "https://"+peer+".shop.svc/api/v1/charge")
					a.PutStr("network.protocol.version", "2")
					a.PutInt("http.response.status_code", 200)
				} else {
					a.PutStr("rpc.system", "grpc")
					a.PutStr("rpc.service", "shop.v1.Inventory")
					a.PutStr("rpc.method", "Reserve")
					a.PutInt("rpc.grpc.status_code", 0)
				}
				if fail {
					sp.Status().SetCode(ptrace.StatusCodeError)
					sp.Status().SetMessage("connection refused")
				}
			default:
				sp.SetKind(ptrace.SpanKindInternal)
				sp.SetName("render")
				a.PutStr("template", "cart.html")
			}
		}
	}
	return td
}
