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

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
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
	c, err := otlp.Dial(grpcAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Timeout = 10 * time.Second
	now := time.Now()
	for s := 0; s < n; s += 1000 {
		td := ptrace.NewTraces()
		for i := s; i < min(s+1000, n); i++ {
			spans := otlp.AppendServerSpans(td, fmt.Sprintf("svc-%05d", i), i, 5, 7, now, 20*time.Millisecond)
			if i%100 == 0 {
				for j := range 3 {
					spans.At(j).Status().SetCode(ptrace.StatusCodeError) // a few unhealthy ones
				}
			}
		}
		if err := c.Traces(context.Background(), td); err != nil {
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
