package breakerextension

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

func TestDependenciesAPI(t *testing.T) {
	r := start(t, loopbackConfig(), componenttest.NewNopHost())

	code, body := do(t, http.MethodGet, r.base+"/v1/dependencies", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Nil(t, body["updated_at"], "no graph before the first scoring pass")
	assert.Empty(t, body["edges"])

	at := time.Date(2026, 11, 27, 12, 0, 10, 0, time.UTC)
	r.SetDependencies(at, []breakerfeed.Edge{
		{Caller: "frontend", Callee: "checkout", CallsPerSecond: 12.5, ErrorRatio: 0.01, LatencyP95: 80 * time.Millisecond},
		{Caller: "checkout", Callee: "payments", CallsPerSecond: 3, ErrorRatio: 0.5, LatencyP95: 2 * time.Second},
		{Caller: "checkout", Callee: "bad\nname", CallsPerSecond: 1},          // dropped: invalid name
		{Caller: strings.Repeat("x", 10_000), Callee: "a", CallsPerSecond: 1}, // dropped: too long
		{Caller: "a", Callee: "b", CallsPerSecond: math.NaN()},                // dropped: not a number
		{Caller: "a", Callee: "b", CallsPerSecond: 1, ErrorRatio: 2},          // dropped: ratio above 1
	})

	code, body = do(t, http.MethodGet, r.base+"/v1/dependencies", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "2026-11-27T12:00:10Z", body["updated_at"])
	edges := body["edges"].([]any)
	require.Len(t, edges, 2)
	first := edges[0].(map[string]any)
	assert.Equal(t, "checkout", first["caller"])
	assert.Equal(t, "payments", first["callee"])
	assert.InDelta(t, 0.5, first["error_ratio"], 1e-12)
	assert.InDelta(t, 2.0, first["latency_p95_seconds"], 1e-12)

	// Who checkout calls and who calls it.
	_, body = do(t, http.MethodGet, r.base+"/v1/dependencies?service=checkout", "", nil)
	assert.Len(t, body["edges"], 2)
	_, body = do(t, http.MethodGet, r.base+"/v1/dependencies?service=payments", "", nil)
	assert.Len(t, body["edges"], 1)

	code, body = do(t, http.MethodGet, r.base+"/v1/dependencies?service=%00", "", nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "service:")
	code, _ = do(t, http.MethodPost, r.base+"/v1/dependencies", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)

	// Each pass replaces the graph.
	r.SetDependencies(at.Add(10*time.Second), nil)
	_, body = do(t, http.MethodGet, r.base+"/v1/dependencies", "", nil)
	assert.Empty(t, body["edges"])
}
