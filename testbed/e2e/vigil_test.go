// Package e2e runs the built otelcol-vigil binary end to end: real OTLP in, real OTLP and
// Prometheus out, clean shutdown. Each Vigil component adds its checks here: write the config
// fragment its test adds to vigilBase (or to baseConfig, the default pipeline shape), start it
// with startVigil, and assert on the sink, the Prometheus endpoint or the component's own API.
package e2e

import (
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// ports are the loopback ports one collector under test listens on.
type ports struct {
	GRPC, HTTP, Prom, Telemetry, Health int
	API, BreakerGRPC                    int // the status extension's API, the breaker's gRPC health
	Closed                              int // a port nothing listens on
}

func newPorts(t *testing.T) ports {
	f := func() int { return harness.FreePort(t) }
	return ports{GRPC: f(), HTTP: f(), Prom: f(), Telemetry: f(), Health: f(), API: f(), BreakerGRPC: f(), Closed: f()}
}

// vars are the template values of the ports ({{.GRPC}}, {{.API}}, ...).
func (p ports) vars() map[string]any {
	return map[string]any{
		"GRPC": p.GRPC, "HTTP": p.HTTP, "Prom": p.Prom, "Telemetry": p.Telemetry, "Health": p.Health,
		"API": p.API, "BreakerGRPC": p.BreakerGRPC, "Closed": p.Closed,
	}
}

// vigilBase is in every config startVigil runs: the health endpoint it waits on, OTLP/gRPC in,
// and the collector's own telemetry on a Prometheus page.
const vigilBase = `
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{{.Health}}
      status: {enabled: true, path: /health/status}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:{{.GRPC}}}
service:
  extensions: [healthcheckv2]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: {{.Telemetry}}}}}
`

// statusAPI adds the status extension (Vigil's one API server, on the API port) and the breaker
// extension, which publishes into it.
const statusAPI = `
extensions:
  status:
    endpoint: 127.0.0.1:{{.API}}
  breaker:
    status_extension: status
service:
  extensions: [healthcheckv2, status, breaker]
`

// breakerToken is the bearer token the API requires behind tokenAuth.
const breakerToken = "e2e-breaker-token"

// tokenAuth puts statusAPI behind the bearertokenauth extension.
const tokenAuth = `
extensions:
  bearertokenauth:
    token: ` + breakerToken + `
  status:
    auth: {authenticator: bearertokenauth}
service:
  extensions: [healthcheckv2, bearertokenauth, status, breaker]
`

// scoring adds healthscore scoring every second, feeding the breakers and the status extension,
// and the healthcheck receiver probing the health endpoint of one service ({{.Probed}}, at
// {{.ProbeURL}}). The test adds the pipelines.
const scoring = `
receivers:
  healthcheck:
    collection_interval: 1s
    timeout: 500ms
    targets:
      - name: {{.Probed}}-http
        service: {{.Probed}}
        type: http
        endpoint: {{.ProbeURL}}
processors:
  healthscore:
    interval: 1s
    breaker: breaker
    status_extension: status
    stale_after: 10s
    expire_after: 1m
  batch: {timeout: 100ms}
`

// outputs are where baseConfig and healthscoreConfig send data: OTLP/gRPC to the sink, and the
// Prometheus exporter's page; the test's pipelines name them.
const outputs = `
exporters:
  otlp_grpc:
    endpoint: {{.Sink}}
    tls: {insecure: true}
  prometheus:
    endpoint: 127.0.0.1:{{.Prom}}
`

// tracesToDebug runs the spans received over OTLP into the debug exporter; a test adds the
// processors, and other pipelines.
const tracesToDebug = `
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`

// noTelemetry switches the collector's own telemetry off.
const noTelemetry = `
service:
  telemetry: {metrics: {level: none}}
`

// vigil is one running collector under test and the addresses to reach it.
type vigil struct {
	*harness.Collector
	ports ports
	sink  *harness.Sink
	otlp  *harness.OTLP // a client of its OTLP/gRPC receiver
}

// startVigil starts the binary on vigilBase merged with fragments (harness.Compose), rendered
// with fresh ports, the address of a fresh sink ({{.Sink}}) and vars, and waits until its health
// endpoint answers.
func startVigil(t *testing.T, vars map[string]any, fragments ...string) *vigil {
	t.Helper()
	sink := harness.NewSink(t)
	p := newPorts(t)
	data := p.vars()
	data["Sink"] = sink.Endpoint
	maps.Copy(data, vars)
	c := harness.StartReady(t, harness.Compose(t, data, append([]string{vigilBase}, fragments...)...), p.Health)
	return &vigil{Collector: c, ports: p, sink: sink, otlp: harness.DialOTLP(t, fmt.Sprintf("127.0.0.1:%d", p.GRPC))}
}

func (v *vigil) url(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
}

// api is a client of the status extension's API.
func (v *vigil) api(t *testing.T) breakerAPI {
	return breakerAPI{t: t, base: v.url(v.ports.API, "")}
}

// prom scrapes the Prometheus exporter's page; ok is false (the error collected) when it does not
// answer.
func (v *vigil) prom(c assert.TestingT) (body string, ok bool) {
	body, err := harness.Scrape(v.url(v.ports.Prom, "/metrics"))
	return body, assert.NoError(c, err)
}

// telemetry scrapes the collector's own metrics.
func (v *vigil) telemetry(t *testing.T) string {
	t.Helper()
	body, err := harness.Scrape(v.url(v.ports.Telemetry, "/metrics"))
	require.NoError(t, err)
	return body
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
