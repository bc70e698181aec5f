package e2e

import (
	"fmt"
	"io"
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
	"github.com/vigil-collector/vigil/testbed/hostile"
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
	return startNode(t, addr, "gateway", append([]string{
		"VIGIL_ZPAGES_ENDPOINT=" + addr + ":55679",
		"VIGIL_STATE_DIR=" + t.TempDir(),
		"VIGIL_TLS_CERT_FILE=" + tlsf.Cert,
		"VIGIL_TLS_KEY_FILE=" + tlsf.Key,
	}, extraEnv...)...)
}

// startAgent runs deploy/agent.yaml on addr as host, forwarding to the gateway at gateway with TLS
// (trusting ca); extraEnv (KEY=VALUE) is added last.
func startAgent(t *testing.T, addr, host, gateway, ca string, extraEnv ...string) *node {
	t.Helper()
	return startNode(t, addr, "agent", append([]string{
		"VIGIL_STORAGE_DIR=" + filepath.Join(t.TempDir(), "queue"),
		"VIGIL_GATEWAY_ENDPOINT=" + gateway + ":4317",
		"VIGIL_GATEWAY_CA_FILE=" + ca,
		"VIGIL_HOST_NAME=" + host,
	}, extraEnv...)...)
}

// startNode runs deploy/<role>.yaml on addr (its listeners, health endpoint and breaker API there,
// the API behind a token of its own) with env added, and waits until it is healthy.
func startNode(t *testing.T, addr, role string, env ...string) *node {
	t.Helper()
	n := &node{addr: addr, token: role + "-token-" + addr, args: []string{"--config=" + shippedConfig(role+".yaml")}}
	n.env = append([]string{
		"VIGIL_LISTEN_HOST=" + addr,
		"VIGIL_HEALTH_ENDPOINT=" + addr + ":13133",
		"VIGIL_BREAKER_ENDPOINT=" + addr + ":13180",
		"VIGIL_BREAKER_TOKEN_FILE=" + writeToken(t, n.token),
	}, env...)
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

// shippedPorts are the loopback ports a shipped config is moved to, so several runs and other
// tests never collide.
type shippedPorts = hostile.Ports

func newShippedPorts(t *testing.T) shippedPorts {
	p, err := hostile.NewPorts()
	require.NoError(t, err)
	return p
}

// shipped returns the text of a shipped config (path relative to the repository) with its
// listening addresses moved to p, its state folder to state and, when token is not empty, its
// breaker token file to token. Nothing else changes: the test runs what users run.
func shipped(t *testing.T, path string, p shippedPorts, state, token string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), path))
	require.NoError(t, err)
	text := string(b)
	repl := []string{
		"${env:VIGIL_HEALTH_ENDPOINT:-localhost:13133}", fmt.Sprintf("127.0.0.1:%d", p.Health),
		"localhost:13133", fmt.Sprintf("127.0.0.1:%d", p.Health),
		"localhost:55679", fmt.Sprintf("127.0.0.1:%d", p.ZPages),
		"${env:VIGIL_BREAKER_ENDPOINT:-localhost:13180}", fmt.Sprintf("127.0.0.1:%d", p.Breaker),
		"localhost:13180", fmt.Sprintf("127.0.0.1:%d", p.Breaker),
		"${env:VIGIL_LISTEN_HOST:-localhost}:13133", fmt.Sprintf("127.0.0.1:%d", p.Health),
		"${env:VIGIL_LISTEN_HOST:-localhost}:55679", fmt.Sprintf("127.0.0.1:%d", p.ZPages),
		"${env:VIGIL_LISTEN_HOST:-localhost}:13180", fmt.Sprintf("127.0.0.1:%d", p.Breaker),
		"${env:VIGIL_LISTEN_HOST:-localhost}:4317", fmt.Sprintf("127.0.0.1:%d", p.GRPC),
		"${env:VIGIL_LISTEN_HOST:-localhost}:4318", fmt.Sprintf("127.0.0.1:%d", p.HTTP),
		"${env:VIGIL_LISTEN_HOST:-localhost}:8889", fmt.Sprintf("127.0.0.1:%d", p.Prom),
		"localhost:4317", fmt.Sprintf("127.0.0.1:%d", p.GRPC),
		"localhost:4318", fmt.Sprintf("127.0.0.1:%d", p.HTTP),
		"localhost:8889", fmt.Sprintf("127.0.0.1:%d", p.Prom),
		"${env:VIGIL_LISTEN_HOST:-localhost}", "127.0.0.1",
		"port: 8888", fmt.Sprintf("port: %d", p.Telemetry),
		"${env:VIGIL_STATE_DIR:-/var/lib/otelcol-vigil}", state,
		"${env:VIGIL_STATE_DIR:-.vigil-state}", state,
	}
	if token != "" {
		repl = append(repl, "${env:VIGIL_BREAKER_TOKEN_FILE:-/etc/otelcol-vigil/secrets/breaker-token}", token)
	}
	text = strings.NewReplacer(repl...).Replace(text)
	for _, port := range []string{"4317", "4318", "8888", "8889", "13133", "13180", "55679"} {
		require.NotRegexp(t, `(localhost|127\.0\.0\.1|\}|port):? ?`+port+`\b`, text, "%s: an address the test did not move", path)
	}
	return text
}

// get returns the status and body of a GET, with an optional bearer token.
func get(url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}

// TestGatewayMissingTokenFileIsUnhealthy: deploy/gateway.yaml as shipped (only its documented
// environment set) with its breaker token file missing answers 401 to every API call, and says
// so on /health/status (so a readiness probe fails); with the file in place it is healthy and the
// token opens the API.
func TestGatewayMissingTokenFileIsUnhealthy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		present bool
	}{{"token file missing", false}, {"token file present", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			token := filepath.Join(dir, "breaker-token")
			if tc.present {
				require.NoError(t, os.WriteFile(token, []byte("s3cr3t-token\n"), 0o600))
			}
			p := newShippedPorts(t)
			env := append(p.Env(), "VIGIL_BREAKER_TOKEN_FILE="+token, "VIGIL_STATE_DIR="+dir, "VIGIL_TLS_ENABLED=false")
			c := harness.StartEnv(t, env, "--config="+shippedConfig("gateway.yaml"))
			health := fmt.Sprintf("http://127.0.0.1:%d/health/status", p.Health)
			api := fmt.Sprintf("http://127.0.0.1:%d/v1/breakers", p.Breaker)
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				require.False(t, c.Exited(), c.Logs())
				code, body, err := get(health, "")
				if !assert.NoError(ct, err) {
					return
				}
				if tc.present {
					assert.Equal(ct, http.StatusOK, code, body)
					assert.Contains(ct, body, `"healthy":true`)
					code, _, err = get(api, "s3cr3t-token")
					assert.NoError(ct, err)
					assert.Equal(ct, http.StatusOK, code)
				} else {
					assert.GreaterOrEqual(ct, code, http.StatusInternalServerError, "a readiness probe fails: %s", body)
					assert.Contains(ct, body, `"healthy":false`)
				}
			}, 20*time.Second, 100*time.Millisecond)
			code, _, err := get(api, "s3cr3t-token")
			require.NoError(t, err)
			if !tc.present {
				assert.Equal(t, http.StatusUnauthorized, code, "no token can be accepted without the file")
			}
		})
	}
}
