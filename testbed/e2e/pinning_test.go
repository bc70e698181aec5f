package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/hostile"
)

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
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [healthscore]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      exporters: [debug]
`

// TestOverridesAndOpenBreakersSurviveANameFlood: an operator's forced_open (token-protected) and
// a breaker opened by failures stay as they are while 3,000 new service names arrive over OTLP,
// which needs no token; the evictions are counted on the API's /metrics.
func TestOverridesAndOpenBreakersSurviveANameFlood(t *testing.T) {
	v := startVigil(t, nil, statusAPI, tokenAuth, pinningConfig)
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
