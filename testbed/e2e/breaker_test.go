package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// breakerConfig runs the breaker extension with its API behind tokenAuth and its gRPC health
// endpoint on, beside a minimal pipeline.
const breakerConfig = `
extensions:
  breaker:
    grpc:
      endpoint: 127.0.0.1:{{.BreakerGRPC}}
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`

// breakerAPI is a client of a running collector's breaker API.
type breakerAPI struct {
	t    *testing.T
	base string
}

func (a breakerAPI) do(method, path, body, token string) (int, map[string]any, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	require.NoError(a.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(a.t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return resp.StatusCode, out, string(raw)
}

func TestBreakerAPIOfTheRunningBinary(t *testing.T) {
	v := startVigil(t, nil, statusAPI, tokenAuth, breakerConfig)
	api := v.api(t)

	// List: nothing feeds the breakers in this pipeline yet, so it is empty.
	code, body, raw := api.do(http.MethodGet, "/v1/breakers", "", breakerToken)
	require.Equal(t, http.StatusOK, code, raw)
	assert.Empty(t, body["breakers"])

	// One target never seen: closed, allowed, not known.
	code, body, raw = api.do(http.MethodGet, "/v1/breakers/checkout", "", breakerToken)
	require.Equal(t, http.StatusOK, code, raw)
	assert.Equal(t, "checkout", body["target"])
	assert.Equal(t, "closed", body["state"])
	assert.Equal(t, true, body["allow"])
	assert.Equal(t, false, body["known"])

	// The API is behind the bearer token: no token, or a wrong one, is refused.
	code, _, _ = api.do(http.MethodGet, "/v1/breakers", "", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	// Watch transitions while overriding.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.base+"/v1/watch?target=checkout", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+breakerToken)
	watch, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer watch.Body.Close()
	require.Equal(t, http.StatusOK, watch.StatusCode)
	events := bufio.NewScanner(watch.Body)
	require.True(t, events.Scan(), "the stream opens with a comment")

	// Override without the token: refused, and nothing changed.
	override := "/v1/breakers/checkout/override"
	code, _, _ = api.do(http.MethodPut, override, `{"mode":"forced_open"}`, "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = api.do(http.MethodPut, override, `{"mode":"forced_open"}`, "not-the-token")
	assert.Equal(t, http.StatusUnauthorized, code)
	_, body, _ = api.do(http.MethodGet, "/v1/breakers/checkout", "", breakerToken)
	assert.Equal(t, "closed", body["state"])

	// With the token: accepted.
	code, body, raw = api.do(http.MethodPut, override, `{"mode":"forced_open"}`, breakerToken)
	require.Equal(t, http.StatusOK, code, raw)
	assert.Equal(t, "forced_open", body["state"])
	assert.Equal(t, false, body["allow"])

	_, body, _ = api.do(http.MethodGet, "/v1/breakers/checkout", "", breakerToken)
	assert.Equal(t, "forced_open", body["state"])
	assert.Equal(t, true, body["known"])
	assert.Equal(t, "override", body["reason"])
	_, body, _ = api.do(http.MethodGet, "/v1/breakers", "", breakerToken)
	require.Len(t, body["breakers"], 1)

	// The watch stream saw the override.
	var data string
	for data == "" && events.Scan() {
		data, _ = strings.CutPrefix(events.Text(), "data: ")
		if data == events.Text() {
			data = ""
		}
	}
	var tr map[string]any
	require.NoError(t, json.Unmarshal([]byte(data), &tr), "%q", data)
	assert.Equal(t, "checkout", tr["target"])
	assert.Equal(t, "closed", tr["from"])
	assert.Equal(t, "forced_open", tr["to"])
	assert.Equal(t, "override", tr["reason"])

	// Hostile input answers 4xx with a JSON error.
	code, body, _ = api.do(http.MethodPut, override, `{"mode":`, breakerToken)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.NotEmpty(t, body["error"])
	code, body, _ = api.do(http.MethodPut, override, `{"mode":"sideways"}`, breakerToken)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "sideways")
	code, _, _ = api.do(http.MethodGet, "/v1/breakers/"+strings.Repeat("x", 300), "", breakerToken)
	assert.Equal(t, http.StatusBadRequest, code)

	// Prometheus metrics on the API port.
	code, _, raw = api.do(http.MethodGet, "/metrics", "", breakerToken)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, raw, `vigil_breaker_state{mode="forced_open",target="checkout"} 2`)
	assert.Contains(t, raw, `vigil_breaker_transitions_total{reason="override",target="checkout",to="forced_open"} 1`)

	// gRPC health: forced open does not serve; an unknown service does.
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", v.ports.BreakerGRPC), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "checkout"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())
	resp, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "new-service"})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())

	// Back to auto, then a clean shutdown with the watch stream still open.
	code, body, _ = api.do(http.MethodPut, override, `{"mode":"auto"}`, breakerToken)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "closed", body["state"])
	require.Equal(t, 0, v.Stop(t), "exit code after SIGTERM; logs:\n%s", v.Logs())
}
