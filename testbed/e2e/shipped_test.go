package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// node is deploy/agent.yaml or deploy/gateway.yaml run as shipped, on a loopback address of its
// own (as a host has its own address), with the shipped default ports; only the documented
// environment variables differ.
type node struct {
	addr  string
	env   []string
	args  []string
	token string
	*harness.Collector
}

// shippedConfig returns the path of a shipped config file.
func shippedConfig(name string) string {
	return filepath.Join(harness.RepoRoot(), "deploy", name)
}

// writeToken writes a breaker API token file and returns its path.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "breaker-token")
	require.NoError(t, os.WriteFile(path, []byte(token), 0o600))
	return path
}

// startGateway runs deploy/gateway.yaml on addr, serving OTLP with the certificate in tlsf;
// extraEnv (KEY=VALUE) is added last.
func startGateway(t *testing.T, addr string, tlsf harness.TLSFiles, extraEnv ...string) *node {
	t.Helper()
	n := &node{addr: addr, token: "gateway-token-" + addr, args: []string{"--config=" + shippedConfig("gateway.yaml")}}
	n.env = []string{
		"VIGIL_LISTEN_HOST=" + addr,
		"VIGIL_HEALTH_ENDPOINT=" + addr + ":13133",
		"VIGIL_ZPAGES_ENDPOINT=" + addr + ":55679",
		"VIGIL_BREAKER_ENDPOINT=" + addr + ":13180",
		"VIGIL_BREAKER_TOKEN_FILE=" + writeToken(t, n.token),
		"VIGIL_STATE_DIR=" + t.TempDir(),
		"VIGIL_TLS_CERT_FILE=" + tlsf.Cert,
		"VIGIL_TLS_KEY_FILE=" + tlsf.Key,
	}
	n.env = append(n.env, extraEnv...)
	n.start(t)
	return n
}

// startAgent runs deploy/agent.yaml on addr as host, forwarding to the gateway at gateway with TLS
// (trusting ca); extraEnv (KEY=VALUE) is added last.
func startAgent(t *testing.T, addr, host, gateway, ca string, extraEnv ...string) *node {
	t.Helper()
	n := &node{addr: addr, token: "agent-token-" + addr, args: []string{"--config=" + shippedConfig("agent.yaml")}}
	n.env = []string{
		"VIGIL_LISTEN_HOST=" + addr,
		"VIGIL_HEALTH_ENDPOINT=" + addr + ":13133",
		"VIGIL_BREAKER_ENDPOINT=" + addr + ":13180",
		"VIGIL_BREAKER_TOKEN_FILE=" + writeToken(t, n.token),
		"VIGIL_STORAGE_DIR=" + filepath.Join(t.TempDir(), "queue"),
		"VIGIL_GATEWAY_ENDPOINT=" + gateway + ":4317",
		"VIGIL_GATEWAY_CA_FILE=" + ca,
		"VIGIL_HOST_NAME=" + host,
	}
	n.env = append(n.env, extraEnv...)
	n.start(t)
	return n
}

// start (re)starts the node's process with its arguments and environment and waits until it is
// healthy.
func (n *node) start(t *testing.T) {
	t.Helper()
	n.Collector = harness.StartEnv(t, n.env, n.args...)
	n.WaitReady(t, n.url(13133, "/health/status"), 30*time.Second)
}

func (n *node) url(port int, path string) string {
	return fmt.Sprintf("http://%s:%d%s", n.addr, port, path)
}

// scrape reads one of the node's Prometheus endpoints (8888 its own telemetry, 8889 the gateway's
// exporter).
func (n *node) scrape(t assert.TestingT, port int) string {
	body, err := harness.Scrape(n.url(port, "/metrics"))
	assert.NoError(t, err)
	return body
}

// breaker returns the node's breaker for target (peeking, so the answer changes nothing).
func (n *node) breaker(t *testing.T, target string) map[string]any {
	t.Helper()
	code, body, raw := breakerAPI{t: t, base: n.url(13180, "")}.do(http.MethodGet, "/v1/breakers/"+target+"?peek=true", "", n.token)
	require.Equal(t, http.StatusOK, code, raw)
	return body
}

// sum adds up the samples of metric whose labels include want.
func sum(exposition, metric string, want map[string]string) float64 {
	total := 0.0
	for _, v := range harness.FindSample(exposition, metric, want) {
		total += v
	}
	return total
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the shipped unit, its ExecStart pointed
// at the binary under test.
func TestSystemdUnitVerifies(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "deploy", "systemd", "otelcol-vigil.service"))
	require.NoError(t, err)
	unit := strings.ReplaceAll(string(b), "/usr/local/bin/otelcol-vigil", harness.Binary(t))
	path := filepath.Join(t.TempDir(), "otelcol-vigil.service")
	require.NoError(t, os.WriteFile(path, []byte(unit), 0o644))
	out, err := exec.Command(tool, "verify", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify says")
	assert.Contains(t, unit, "--config=/etc/otelcol-vigil/agent.yaml")
}
