// Command statuslatency measures the status API of the built otelcol-vigil binary holding
// 10,000 components, beside GET /v1/breakers/{target} of the same binary and a trivial Go
// handler, in the same run and under steady load: GET /v1/status?service=NAME (one component),
// and GET /v1/status with a status filter and limit=10000 (every component, about 5 MB).
//
//	go run ./testbed/cmd/statuslatency -binary _build/otelcol-vigil
//
// The binary scores the components every 10 s (the default interval), so the run crosses
// several passes, after each of which every component's document is encoded again on first
// read. Requests are sent on a fixed schedule (open loop, testbed/loadgen).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigil-collector/vigil/testbed/loadgen"
)

// fragment is what this command adds to the shared config (loadgen.Config): healthscore
// scoring the fleet and publishing every pass to the status extension.
const fragment = `
processors:
  healthscore:
    breaker: breaker
    status_extension: status
    max_components: 20000
service:
  telemetry:
    logs:
      level: warn
  pipelines:
    traces: {receivers: [otlp], processors: [healthscore], exporters: [debug]}
`

func main() {
	components := flag.Int("components", 10_000, "services the binary scores")
	rate := flag.Int("rate", 500, "requests per second to the small endpoints, steady")
	fullRate := flag.Int("full-rate", 10, "requests per second to the full status document, steady")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured phase")
	workers := flag.Int("workers", 8, "concurrent connections")
	rounds := flag.Int("rounds", 2, "alternating rounds over the endpoints")
	loadgen.Main("statuslatency", func(binary string) error {
		return run(binary, *components, *rate, *fullRate, *duration, *workers, *rounds)
	})
}

// fleet sends one SERVER span batch for n services, so each becomes a scored component.
func fleet(grpcAddr string, n int) error {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	now := time.Now()
	for s := 0; s < n; s += 1000 {
		td := ptrace.NewTraces()
		for i := s; i < min(s+1000, n); i++ {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%05d", i))
			spans := rs.ScopeSpans().AppendEmpty().Spans()
			for j := range 5 {
				sp := spans.AppendEmpty()
				sp.SetName("op")
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetTraceID(pcommon.TraceID([16]byte{byte(i), byte(i >> 8), byte(j), 7}))
				sp.SetSpanID(pcommon.SpanID([8]byte{byte(i), byte(i >> 8), byte(j), 7}))
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-20 * time.Millisecond)))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
				if i%100 == 0 && j < 3 {
					sp.Status().SetCode(ptrace.StatusCodeError) // a few unhealthy ones
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func run(binary string, components, rate, fullRate int, duration time.Duration, workers, rounds int) error {
	servers, err := loadgen.StartMeasured(binary, "/v1/status?limit=1", fragment)
	if err != nil {
		return err
	}
	defer servers.Stop()
	trivialAddr, base := servers.TrivialAddr, servers.API
	if err := fleet(servers.OTLP, components); err != nil {
		return fmt.Errorf("sending the fleet's spans: %w", err)
	}
	if err := waitComponents(base, components); err != nil {
		return err
	}
	one := fmt.Sprintf("svc-%05d", components/2)
	type target struct {
		name, url string
		rate      int
	}
	targets := []target{
		{"trivial handler", "http://" + trivialAddr + "/v1/breakers/" + one, rate},
		{"GET /v1/breakers/{target}", base + "/v1/breakers/" + one, rate},
		{"GET /v1/status?service={one}", base + "/v1/status?service=" + one, rate},
		{fmt.Sprintf("GET /v1/status?status=…&limit=%d (all)", components),
			fmt.Sprintf("%s/v1/status?status=healthy,degraded,unhealthy,unknown&limit=%d", base, components), fullRate},
	}
	results := make([]loadgen.Result, len(targets))
	for _, t := range targets { // warm up
		loadgen.OpenLoop(t.url, t.rate, time.Second, workers)
	}
	for r := 0; r < rounds; r++ {
		for i, t := range targets {
			results[i].Add(loadgen.OpenLoop(t.url, t.rate, duration, workers))
		}
	}
	fmt.Printf("%d components; %d connections, %d × %s per endpoint, alternating; %d req/s (all components: %d req/s)\n",
		components, workers, rounds, duration, rate, fullRate)
	for i, t := range targets {
		fmt.Println(results[i].Line(t.name))
	}
	return nil
}

// waitComponents waits until the status holds n components (after the first scoring pass).
func waitComponents(base string, n int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/v1/status?limit=1")
		if err == nil {
			var doc struct {
				Overall struct{ Components int } `json:"overall"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err == nil && doc.Overall.Components >= n {
				return nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("the status never held %d components", n)
}
