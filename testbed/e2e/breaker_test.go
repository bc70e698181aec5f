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
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vigil-collector/vigil/testbed/hostile"
)

// breakerConfig turns the breaker extension's gRPC health endpoint on; the test runs it with its
// API behind tokenAuth, beside a minimal pipeline (tracesToDebug).
const breakerConfig = `
extensions:
  breaker:
    grpc:
      endpoint: 127.0.0.1:{{.BreakerGRPC}}
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
	v := startVigil(t, nil, statusAPI, tokenAuth, tracesToDebug, breakerConfig)
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

// pinningConfig: spans feed the health engine, which feeds the breakers (statusAPI, behind
// tokenAuth); the breaker keeps at most 50 targets, so a flood of new names must evict, and must
// never evict an override or an open breaker. No guard processor here: the breaker's own bound is
// under test.
const pinningConfig = `
extensions:
  breaker:
    max_targets: 50
    consecutive_failures: 5
    open: {initial: 10m, max: 10m}
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:{{.HTTP}}}
processors:
  healthscore:
    breaker: breaker
    max_components: 100000
service:
  pipelines:
    traces:
      processors: [healthscore]
    metrics:
      receivers: [otlp]
      exporters: [debug]
`

// TestOverridesAndOpenBreakersSurviveANameFlood: an operator's forced_open (token-protected) and
// a breaker opened by failures stay as they are while 3,000 new service names arrive over OTLP,
// which needs no token; the evictions are counted on the API's /metrics.
func TestOverridesAndOpenBreakersSurviveANameFlood(t *testing.T) {
	v := startVigil(t, nil, statusAPI, tokenAuth, tracesToDebug, pinningConfig)
	api := v.api(t)
	ctx := context.Background()
	s, err := hostile.NewSender(hostile.GRPC, fmt.Sprintf("127.0.0.1:%d", v.ports.GRPC), "")
	require.NoError(t, err)
	defer s.Close()

	code, _, raw := api.do(http.MethodPut, "/v1/breakers/payments/override", `{"mode":"forced_open"}`, breakerToken)
	require.Equal(t, http.StatusOK, code, raw)

	// inventory fails until its breaker opens.
	require.Eventually(t, func() bool {
		td, md := hostile.Batch([]string{"inventory"})
		sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		sp.Status().SetCode(ptrace.StatusCodeError)
		for range 9 {
			sp.CopyTo(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty())
		}
		s.Send(ctx, td, md)
		_, body, _ := api.do(http.MethodGet, "/v1/breakers/inventory?peek=true", "", breakerToken)
		return body["state"] == "open"
	}, 20*time.Second, 200*time.Millisecond, "inventory's breaker opens on its failures")

	hostile.SendManyNames(ctx, s, "flood", 3000, 100, 2)
	require.Zero(t, s.Failed.Load())

	require.Eventually(t, func() bool {
		_, body, _ := api.do(http.MethodGet, "/v1/breakers", "", breakerToken)
		list, _ := body["breakers"].([]any)
		return len(list) > 0 && len(list) <= 50 && evicted(api) > 0
	}, 20*time.Second, 200*time.Millisecond, "the flood reached the breakers and was evicted within the cap")

	_, body, _ := api.do(http.MethodGet, "/v1/breakers/payments?peek=true", "", breakerToken)
	assert.Equal(t, "forced_open", body["state"], "the override stays")
	assert.Equal(t, true, body["known"])
	assert.Equal(t, false, body["allow"])
	_, body, _ = api.do(http.MethodGet, "/v1/breakers/inventory?peek=true", "", breakerToken)
	assert.Equal(t, "open", body["state"], "the open breaker stays")
	assert.Equal(t, true, body["known"])
	t.Logf("evicted: %v targets", evicted(api))
}

// evicted reads vigil_breaker_evicted_targets_total from the API's /metrics (-1: absent).
func evicted(api breakerAPI) float64 {
	_, _, raw := api.do(http.MethodGet, "/metrics", "", breakerToken)
	for _, line := range strings.Split(raw, "\n") {
		if v, ok := strings.CutPrefix(line, "vigil_breaker_evicted_targets_total "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}
