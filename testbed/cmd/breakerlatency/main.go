// Command breakerlatency measures the latency of the breaker API's GET /v1/breakers/{target}
// on the built otelcol-vigil binary, beside a trivial Go HTTP handler, in the same run and under
// the same steady load. Both servers run as child processes; this process is the client.
//
//	go run ./testbed/cmd/breakerlatency -rate 1000 -duration 10s
//
// Requests are sent on a fixed schedule (open loop, testbed/loadgen).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-collector/vigil/testbed/loadgen"
)

// pipeline is what this command adds to the shared config (loadgen.Config): one traces pipeline.
const pipeline = `
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`

func main() {
	rate := flag.Int("rate", 1000, "requests per second, steady")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured phase")
	workers := flag.Int("workers", 8, "concurrent connections")
	rounds := flag.Int("rounds", 2, "alternating rounds of (trivial, breaker)")
	loadgen.Main("breakerlatency", func(binary string) error {
		return run(binary, *rate, *duration, *workers, *rounds)
	})
}

func run(binary string, rate int, duration time.Duration, workers, rounds int) error {
	servers, err := loadgen.StartMeasured(binary, "/v1/breakers", pipeline)
	if err != nil {
		return err
	}
	defer servers.Stop()
	trivialAddr, breakerBase := servers.TrivialAddr, servers.API
	// A known target in auto mode: the decision path, closed.
	req, _ := http.NewRequest(http.MethodPut, breakerBase+"/v1/breakers/checkout/override", strings.NewReader(`{"mode":"auto"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		return err
	} else {
		resp.Body.Close()
	}
	targets := map[string]string{
		"trivial handler":           "http://" + trivialAddr + "/v1/breakers/checkout",
		"GET /v1/breakers/{target}": breakerBase + "/v1/breakers/checkout",
	}
	results := map[string]*loadgen.Result{}
	order := []string{"trivial handler", "GET /v1/breakers/{target}"}
	for _, name := range order { // warm both up
		loadgen.OpenLoop(targets[name], rate, time.Second, workers)
		results[name] = &loadgen.Result{}
	}
	for r := 0; r < rounds; r++ {
		for _, name := range order {
			results[name].Add(loadgen.OpenLoop(targets[name], rate, duration, workers))
		}
	}
	fmt.Printf("steady %d req/s, %d connections, %d × %s per server, alternating\n", rate, workers, rounds, duration)
	for _, name := range order {
		fmt.Println(results[name].Line(name))
	}
	return nil
}
