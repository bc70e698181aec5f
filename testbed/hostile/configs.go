package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-collector/vigil/testbed/internal/loopback"
)

// Shipped configs, by name, relative to the repository root.
var Shipped = map[string]string{
	"default": "otelcol-config.yaml",
	"agent":   "deploy/agent.yaml",
	"gateway": "deploy/gateway.yaml",
}

// Ports are the loopback ports one collector under test listens on.
type Ports struct {
	GRPC, HTTP, Prom, Telemetry, Health, ZPages, Breaker, Webhook int
}

// NewPorts returns a free loopback port for every listener of a shipped config.
func NewPorts() (Ports, error) {
	var p Ports
	for _, port := range []*int{&p.GRPC, &p.HTTP, &p.Prom, &p.Telemetry, &p.Health, &p.ZPages, &p.Breaker, &p.Webhook} {
		var err error
		if *port, err = loopback.FreePort(); err != nil {
			return Ports{}, err
		}
	}
	return p, nil
}

// Env is the documented environment that moves a shipped config's listeners to p, on 127.0.0.1.
func (p Ports) Env() []string {
	return []string{
		"VIGIL_LISTEN_HOST=127.0.0.1",
		fmt.Sprintf("VIGIL_OTLP_GRPC_PORT=%d", p.GRPC),
		fmt.Sprintf("VIGIL_OTLP_HTTP_PORT=%d", p.HTTP),
		fmt.Sprintf("VIGIL_PROMETHEUS_PORT=%d", p.Prom),
		fmt.Sprintf("VIGIL_TELEMETRY_PORT=%d", p.Telemetry),
		fmt.Sprintf("VIGIL_HEALTH_ENDPOINT=127.0.0.1:%d", p.Health),
		fmt.Sprintf("VIGIL_ZPAGES_ENDPOINT=127.0.0.1:%d", p.ZPages),
		fmt.Sprintf("VIGIL_BREAKER_ENDPOINT=127.0.0.1:%d", p.Breaker),
	}
}

// Setup is a shipped config run on this machine: free ports (through the configs' environment
// variables, or rewritten where a config fixes them), plaintext OTLP, a private state folder.
type Setup struct {
	Name       string
	ConfigPath string
	Env        []string
	Ports      Ports
	// HasPage tells whether the config exposes a Prometheus page (the agent forwards instead).
	HasPage bool
	// BreakerToken is the bearer token the breaker API takes, when it takes one.
	BreakerToken string
}

// PrepareShipped rewrites the shipped config name from repoRoot into dir with free ports.
// forwardTo is the OTLP/gRPC address the agent forwards to.
func PrepareShipped(repoRoot, name, dir, forwardTo string) (*Setup, error) {
	rel, ok := Shipped[name]
	if !ok {
		return nil, fmt.Errorf("unknown shipped config %q", name)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		return nil, err
	}
	p, err := NewPorts()
	if err != nil {
		return nil, err
	}
	text := strings.NewReplacer(
		":4317", fmt.Sprintf(":%d", p.GRPC),
		":4318", fmt.Sprintf(":%d", p.HTTP),
		":8889", fmt.Sprintf(":%d", p.Prom),
		"port: 8888", fmt.Sprintf("port: %d", p.Telemetry),
		":13133", fmt.Sprintf(":%d", p.Health),
		":55679", fmt.Sprintf(":%d", p.ZPages),
		":13180", fmt.Sprintf(":%d", p.Breaker),
		":9095", fmt.Sprintf(":%d", p.Webhook),
	).Replace(string(raw))
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, err
	}
	token := "hostile-test-token"
	tokenFile := filepath.Join(dir, "breaker-token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		return nil, err
	}
	s := &Setup{
		Name: name, ConfigPath: path, Ports: p, HasPage: name != "agent",
		Env: append(p.Env(),
			"VIGIL_HOST_NAME=hostile-host",
			"VIGIL_STATE_DIR="+filepath.Join(dir, "state"),
			"VIGIL_STORAGE_DIR="+filepath.Join(dir, "queue"),
			"VIGIL_BREAKER_TOKEN_FILE="+tokenFile,
			"VIGIL_GATEWAY_ENDPOINT="+forwardTo,
			"VIGIL_GATEWAY_INSECURE=true",
			"VIGIL_TLS_ENABLED=false",
		),
	}
	if strings.Contains(text, "bearertokenauth") {
		s.BreakerToken = token
	}
	return s, nil
}

// HealthURL is the collector's health endpoint.
func (s *Setup) HealthURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/health/status", s.Ports.Health)
}

// PageURL is the Prometheus exporter's page.
func (s *Setup) PageURL() string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Ports.Prom) }

// TelemetryURL is the collector's own metrics.
func (s *Setup) TelemetryURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Ports.Telemetry)
}
