package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ports are the loopback ports one collector run listens on.
type ports struct {
	OTLP, Telemetry, Prometheus, Breaker, BreakerGRPC int
}

func freePorts() (ports, error) {
	var p ports
	for _, dst := range []*int{&p.OTLP, &p.Telemetry, &p.Prometheus, &p.Breaker, &p.BreakerGRPC} {
		n, err := freePort()
		if err != nil {
			return p, err
		}
		*dst = n
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// configSpec is one of the compared pipelines.
type configSpec struct {
	name        string
	description string
	short       string // for the plot's legend
	hasBreaker  bool   // serves the breaker API
	hasProm     bool   // has the Prometheus exporter (scraped every --scrape-interval)
	render      func(p ports, defaultConfig string) (string, error)
}

// The shared parts: every config takes spans on the same OTLP gRPC receiver and ends them in
// the same debug exporter, and serves its own telemetry on a pull reader.
const (
	commonReceivers = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.OTLP}}
`
	commonTelemetry = `  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: {{.Telemetry}}}}}
`
)

var configA = commonReceivers + `processors:
  batch:
exporters:
  debug:
    verbosity: basic
service:
` + commonTelemetry + `  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`

var configB = commonReceivers + `processors:
  batch:
connectors:
  span_metrics:
    namespace: traces.span.metrics
    metrics_flush_interval: 15s
exporters:
  debug:
    verbosity: basic
  prometheus:
    endpoint: 127.0.0.1:{{.Prometheus}}
    metric_expiration: 2m
    resource_constant_labels:
      included: ["service.name"]
service:
` + commonTelemetry + `  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug, span_metrics]
    metrics:
      receivers: [span_metrics]
      processors: [batch]
      exporters: [prometheus]
`

var configC = `extensions:
  breaker:
    endpoint: 127.0.0.1:{{.Breaker}}
    grpc:
      endpoint: 127.0.0.1:{{.BreakerGRPC}}
` + commonReceivers + `processors:
  batch:
  healthscore:
    breaker: breaker
exporters:
  debug:
    verbosity: basic
  prometheus:
    endpoint: 127.0.0.1:{{.Prometheus}}
    metric_expiration: 2m
    resource_constant_labels:
      included: ["service.name"]
service:
  extensions: [breaker]
` + commonTelemetry + `  pipelines:
    traces:
      receivers: [otlp]
      processors: [healthscore, batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [healthscore, batch]
      exporters: [prometheus]
`

// configCNoBreaker is C without the breaker extension, to tell the two apart.
var configCNoBreaker = commonReceivers + `processors:
  batch:
  healthscore:
exporters:
  debug:
    verbosity: basic
  prometheus:
    endpoint: 127.0.0.1:{{.Prometheus}}
    metric_expiration: 2m
    resource_constant_labels:
      included: ["service.name"]
service:
` + commonTelemetry + `  pipelines:
    traces:
      receivers: [otlp]
      processors: [healthscore, batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [healthscore, batch]
      exporters: [prometheus]
`

// specs are the configs the command knows, by name.
var specs = map[string]configSpec{
	"A":   {name: "A", description: "pass-through (otlp -> batch -> debug)", render: fixed(configA)},
	"B":   {name: "B", description: "stock RED metrics (A + span_metrics -> prometheus)", hasProm: true, render: fixed(configB)},
	"C":   {name: "C", description: "Vigil health (otlp -> healthscore + breaker -> batch -> debug; metrics -> prometheus)", hasBreaker: true, hasProm: true, render: fixed(configC)},
	"Cnb": {name: "Cnb", short: "(no breaker)", description: "C without the breaker extension", hasProm: true, render: fixed(configCNoBreaker)},
	"D":   {name: "D", description: "the default config (otelcol-config.yaml, ports moved)", hasBreaker: true, hasProm: true, render: defaultConfig},
}

func fixed(tmpl string) func(ports, string) (string, error) {
	return func(p ports, _ string) (string, error) {
		r := strings.NewReplacer(
			"{{.OTLP}}", strconv.Itoa(p.OTLP), "{{.Telemetry}}", strconv.Itoa(p.Telemetry),
			"{{.Prometheus}}", strconv.Itoa(p.Prometheus), "{{.Breaker}}", strconv.Itoa(p.Breaker),
			"{{.BreakerGRPC}}", strconv.Itoa(p.BreakerGRPC))
		return r.Replace(tmpl), nil
	}
}

// localPort is a localhost address in the default config, also as ${env:VAR:-localhost}.
var localPort = regexp.MustCompile(`(?:\$\{env:[A-Za-z_][A-Za-z0-9_]*:-localhost\}|localhost):(\d+)`)

// defaultConfig is the repository's default config with every listening port moved to a free
// one on 127.0.0.1, so the run does not collide with anything else on the machine: the OTLP
// gRPC, Prometheus, telemetry and breaker ports get the run's ports, every other localhost port
// a fresh free one (the same old port always to the same new one, so the healthcheck target
// still probes the health endpoint).
func defaultConfig(p ports, text string) (string, error) {
	var root map[string]any
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return "", fmt.Errorf("default config: %w", err)
	}
	moved := map[string]int{"4317": p.OTLP, "8889": p.Prometheus, "13180": p.Breaker}
	var ferr error
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			return localPort.ReplaceAllStringFunc(x, func(m string) string {
				old := m[strings.LastIndexByte(m, ':')+1:]
				n, ok := moved[old]
				if !ok {
					var err error
					if n, err = freePort(); err != nil {
						ferr = err
					}
					moved[old] = n
				}
				return "127.0.0.1:" + strconv.Itoa(n)
			})
		}
		return v
	}
	walk(root)
	if ferr != nil {
		return "", ferr
	}
	// The breaker's gRPC health service listens on its default port unless told otherwise.
	ext, _ := root["extensions"].(map[string]any)
	br, _ := ext["breaker"].(map[string]any)
	if br == nil {
		return "", fmt.Errorf("default config: no breaker extension")
	}
	br["grpc"] = map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", p.BreakerGRPC)}
	// The collector's own telemetry (host/port, not an endpoint string).
	svc, _ := root["service"].(map[string]any)
	tel, _ := svc["telemetry"].(map[string]any)
	met, _ := tel["metrics"].(map[string]any)
	readers, _ := met["readers"].([]any)
	if len(readers) == 0 {
		return "", fmt.Errorf("default config: no telemetry metrics reader")
	}
	prom := dig(readers[0], "pull", "exporter", "prometheus")
	if prom == nil {
		return "", fmt.Errorf("default config: the first telemetry reader is not a Prometheus pull reader")
	}
	prom["host"], prom["port"] = "127.0.0.1", p.Telemetry
	out, err := yaml.Marshal(root)
	return string(out), err
}

func dig(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

func readDefaultConfig(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
