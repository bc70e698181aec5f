package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ports are the loopback ports one collector run listens on.
type ports struct {
	OTLP, Telemetry, Prometheus, Breaker, BreakerGRPC, Pprof int
}

func freePorts() (ports, error) {
	var p ports
	for _, dst := range []*int{&p.OTLP, &p.Telemetry, &p.Prometheus, &p.Breaker, &p.BreakerGRPC, &p.Pprof} {
		n, err := freePort()
		if err != nil {
			return p, err
		}
		*dst = n
	}
	return p, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free when asked. Ports come from below the
// kernel's ephemeral range (32768 and up), so that the source port of an outgoing connection
// (the load generators', the scrapes') never takes a port handed out here before the collector
// binds it, and no port is handed out twice by this process. It is the root module's
// testbed/internal/loopback.FreePort, which this module (its own, for the plotting library)
// cannot import.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("no free port between 20000 and 32000")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// configSpec is one of the compared pipelines.
type configSpec struct {
	name        string
	description string
	short       string // for the plot's legend
	hasBreaker  bool   // serves the breaker API
	hasProm     bool   // has the Prometheus exporter (scraped every --scrape-interval)
	render      func(p ports, defaultConfig string) (node, error)
}

// node is one level of a collector config.
type node = map[string]any

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func pipeline(receivers, processors, exporters []string) node {
	return node{"receivers": receivers, "processors": processors, "exporters": exporters}
}

// passThrough is config A, and what every other config starts from: spans on the OTLP gRPC
// receiver, through batch, into the debug exporter; the collector's own telemetry on a pull
// reader.
func passThrough(p ports) node {
	return node{
		"receivers":  node{"otlp": node{"protocols": node{"grpc": node{"endpoint": addr(p.OTLP)}}}},
		"processors": node{"batch": nil},
		"exporters":  node{"debug": node{"verbosity": "basic"}},
		"service": node{
			"telemetry": node{"metrics": node{"readers": []any{
				node{"pull": node{"exporter": node{"prometheus": node{"host": "127.0.0.1", "port": p.Telemetry}}}},
			}}},
			"pipelines": node{"traces": pipeline([]string{"otlp"}, []string{"batch"}, []string{"debug"})},
		},
	}
}

// withPrometheus adds the Prometheus exporter (service.name as a label on every series, as the
// default config has it) and a metrics pipeline from receivers into it.
func withPrometheus(cfg node, p ports, receivers, processors []string) node {
	cfg["exporters"].(node)["prometheus"] = node{
		"endpoint":                 addr(p.Prometheus),
		"metric_expiration":        "2m",
		"resource_constant_labels": node{"included": []string{"service.name"}},
	}
	cfg["service"].(node)["pipelines"].(node)["metrics"] = pipeline(receivers, processors, []string{"prometheus"})
	return cfg
}

// configB is A plus the stock RED metrics: span_metrics into the Prometheus exporter.
func configB(p ports) node {
	cfg := passThrough(p)
	cfg["connectors"] = node{"span_metrics": node{"namespace": "traces.span.metrics", "metrics_flush_interval": "15s"}}
	cfg["service"].(node)["pipelines"].(node)["traces"].(node)["exporters"] = []string{"debug", "span_metrics"}
	return withPrometheus(cfg, p, []string{"span_metrics"}, []string{"batch"})
}

// configC is Vigil's health pipeline: healthscore in the traces and the metrics pipeline,
// feeding the breaker extension when withBreaker (its API served by the status extension).
func configC(p ports, withBreaker bool) node {
	cfg := passThrough(p)
	hs := node{}
	if withBreaker {
		cfg["extensions"] = node{
			"status":  node{"endpoint": addr(p.Breaker)},
			"breaker": node{"status_extension": "status", "grpc": node{"endpoint": addr(p.BreakerGRPC)}},
		}
		cfg["service"].(node)["extensions"] = []string{"status", "breaker"}
		hs["breaker"] = "breaker"
	}
	cfg["processors"].(node)["healthscore"] = hs
	cfg["service"].(node)["pipelines"].(node)["traces"].(node)["processors"] = []string{"healthscore", "batch"}
	return withPrometheus(cfg, p, []string{"otlp"}, []string{"healthscore", "batch"})
}

// specs are the configs the command knows, by name.
var specs = map[string]configSpec{
	"A":   {name: "A", description: "pass-through (otlp -> batch -> debug)", render: built(passThrough)},
	"B":   {name: "B", description: "stock RED metrics (A + span_metrics -> prometheus)", hasProm: true, render: built(configB)},
	"C":   {name: "C", description: "Vigil health (otlp -> healthscore + breaker -> batch -> debug; metrics -> prometheus)", hasBreaker: true, hasProm: true, render: built(func(p ports) node { return configC(p, true) })},
	"Cnb": {name: "Cnb", short: "(no breaker)", description: "C without the breaker extension", hasProm: true, render: built(func(p ports) node { return configC(p, false) })},
	"D":   {name: "D", description: "the default config (otelcol-config.yaml, ports moved)", hasBreaker: true, hasProm: true, render: defaultConfig},
}

// built renders a config made in Go.
func built(make func(ports) node) func(ports, string) (node, error) {
	return func(p ports, _ string) (node, error) { return make(p), nil }
}

// localPort is a localhost address in the default config, also as ${env:VAR:-localhost}.
var localPort = regexp.MustCompile(`(?:\$\{env:[A-Za-z_][A-Za-z0-9_]*:-localhost\}|localhost):(\d+)`)

// defaultConfig is the repository's default config with every listening port moved to a free
// one on 127.0.0.1, so the run does not collide with anything else on the machine: the OTLP
// gRPC, Prometheus, telemetry and breaker ports get the run's ports, every other localhost port
// a fresh free one (the same old port always to the same new one, so the healthcheck target
// still probes the health endpoint).
func defaultConfig(p ports, text string) (node, error) {
	var root node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return nil, fmt.Errorf("default config: %w", err)
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
		return nil, ferr
	}
	// The breaker's gRPC health service listens on its default port unless told otherwise.
	ext, _ := root["extensions"].(map[string]any)
	br, _ := ext["breaker"].(map[string]any)
	if br == nil {
		return nil, fmt.Errorf("default config: no breaker extension")
	}
	br["grpc"] = map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", p.BreakerGRPC)}
	// The collector's own telemetry (host/port, not an endpoint string).
	svc, _ := root["service"].(map[string]any)
	tel, _ := svc["telemetry"].(map[string]any)
	met, _ := tel["metrics"].(map[string]any)
	readers, _ := met["readers"].([]any)
	if len(readers) == 0 {
		return nil, fmt.Errorf("default config: no telemetry metrics reader")
	}
	prom := dig(readers[0], "pull", "exporter", "prometheus")
	if prom == nil {
		return nil, fmt.Errorf("default config: the first telemetry reader is not a Prometheus pull reader")
	}
	prom["host"], prom["port"] = "127.0.0.1", p.Telemetry
	return root, nil
}

// merge lays overlay over cfg: maps merge key by key, anything else replaces (--overlay).
func merge(cfg, overlay node) {
	for k, v := range overlay {
		sub, ok := v.(node)
		dst, isMap := cfg[k].(node)
		if ok && isMap {
			merge(dst, sub)
			continue
		}
		cfg[k] = v
	}
}

// withPprof adds the pprof extension (in a binary built with it) on its own port, for --profile.
func withPprof(cfg node, port int) {
	ext, _ := cfg["extensions"].(node)
	if ext == nil {
		ext = node{}
		cfg["extensions"] = ext
	}
	ext["pprof"] = node{"endpoint": addr(port)}
	svc := cfg["service"].(node)
	var names []string
	switch l := svc["extensions"].(type) {
	case []string:
		names = l
	case []any:
		for _, e := range l {
			names = append(names, fmt.Sprint(e))
		}
	}
	svc["extensions"] = append(names, "pprof")
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
