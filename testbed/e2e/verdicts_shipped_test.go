package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// shippedPorts are the loopback ports a shipped config is rewritten to, so several runs and other
// tests never collide.
type shippedPorts struct {
	OTLPGRPC, OTLPHTTP, Prometheus, Telemetry, Health, ZPages, Breaker int
}

func newShippedPorts(t *testing.T) shippedPorts {
	return shippedPorts{harness.FreePort(t), harness.FreePort(t), harness.FreePort(t), harness.FreePort(t),
		harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)}
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
		"${env:VIGIL_LISTEN_HOST:-localhost}:4317", fmt.Sprintf("127.0.0.1:%d", p.OTLPGRPC),
		"${env:VIGIL_LISTEN_HOST:-localhost}:4318", fmt.Sprintf("127.0.0.1:%d", p.OTLPHTTP),
		"${env:VIGIL_LISTEN_HOST:-localhost}:8889", fmt.Sprintf("127.0.0.1:%d", p.Prometheus),
		"localhost:4317", fmt.Sprintf("127.0.0.1:%d", p.OTLPGRPC),
		"localhost:4318", fmt.Sprintf("127.0.0.1:%d", p.OTLPHTTP),
		"localhost:8889", fmt.Sprintf("127.0.0.1:%d", p.Prometheus),
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
			c := harness.StartEnv(t, []string{
				"VIGIL_LISTEN_HOST=127.0.0.1",
				fmt.Sprintf("VIGIL_OTLP_GRPC_PORT=%d", p.OTLPGRPC),
				fmt.Sprintf("VIGIL_OTLP_HTTP_PORT=%d", p.OTLPHTTP),
				fmt.Sprintf("VIGIL_PROMETHEUS_PORT=%d", p.Prometheus),
				fmt.Sprintf("VIGIL_TELEMETRY_PORT=%d", p.Telemetry),
				fmt.Sprintf("VIGIL_HEALTH_ENDPOINT=127.0.0.1:%d", p.Health),
				fmt.Sprintf("VIGIL_ZPAGES_ENDPOINT=127.0.0.1:%d", p.ZPages),
				fmt.Sprintf("VIGIL_BREAKER_ENDPOINT=127.0.0.1:%d", p.Breaker),
				"VIGIL_BREAKER_TOKEN_FILE=" + token,
				"VIGIL_STATE_DIR=" + dir,
				"VIGIL_TLS_ENABLED=false",
			}, "--config="+shippedConfig("gateway.yaml"))
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
