package breakerextension

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

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/statusextension"
	"github.com/vigil-collector/vigil/extension/statusextension/statustest"
)

// running is a started extension on a fake clock, mounted on a started status extension, with
// the API's base URL.
type running struct {
	*breakerExtension
	clock *breaker.Fake
	base  string
}

// start starts a status extension on a free loopback port (its config changed by statusCfg, if
// given) and the breaker extension mounted on it; exts are more extensions the host offers.
func start(t *testing.T, cfg *Config, exts map[component.ID]component.Component, statusCfg ...func(*statusextension.Config)) *running {
	t.Helper()
	all := map[component.ID]component.Component{}
	for id, e := range exts {
		all[id] = e
	}
	host := statustest.NewHost(all)
	st, base := statustest.Start(t, host, statusCfg...)
	all[statustest.ID] = st

	cfg.StatusExtension = statustest.ID
	clock := breaker.NewFake(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	e := newExtension(cfg, componenttest.NewNopTelemetrySettings(), clock)
	require.NoError(t, e.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, e.Shutdown(context.Background())) })
	return &running{breakerExtension: e, clock: clock, base: base}
}

func (r *running) fail(target string, n int) {
	for i := 0; i < n; i++ {
		r.clock.Advance(time.Millisecond)
		r.RecordOutcome(target, breakerfeed.Outcome{Class: breakerfeed.Error, Latency: time.Millisecond})
	}
}

// startWithToken is start with the status extension's auth set to a bearertokenauth
// extension expecting token.
func startWithToken(t *testing.T, token string) *running {
	t.Helper()
	authID := component.MustNewID("bearertokenauth")
	af := bearertokenauthextension.NewFactory()
	acfg := af.CreateDefaultConfig().(*bearertokenauthextension.Config)
	acfg.BearerToken = configopaque.String(token)
	auth, err := af.Create(context.Background(), extensiontest.NewNopSettings(af.Type()), acfg)
	require.NoError(t, err)
	require.NoError(t, auth.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, auth.Shutdown(context.Background())) })
	return start(t, loopbackConfig(), map[component.ID]component.Component{authID: auth}, func(c *statusextension.Config) {
		c.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	})
}

// openWatch opens /v1/watch with query, checks it is an event stream that starts with its
// comment line, and returns its lines after that one.
func openWatch(t *testing.T, r *running, query string) *bufio.Scanner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v1/watch"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan())
	assert.Equal(t, ": watching status changes", lines.Text())
	return lines
}

func do(t *testing.T, method, url, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return resp.StatusCode, out
}

func TestAPIListAndGet(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	r.RecordOutcome("cart", breakerfeed.Outcome{Class: breakerfeed.Success, Latency: time.Millisecond})
	r.fail("payments", 8)

	code, body := do(t, http.MethodGet, r.base+"/v1/breakers", "", nil)
	require.Equal(t, http.StatusOK, code)
	list := body["breakers"].([]any)
	require.Len(t, list, 2)
	assert.Equal(t, "cart", list[0].(map[string]any)["target"])
	assert.Equal(t, "payments", list[1].(map[string]any)["target"])
	assert.Equal(t, "open", list[1].(map[string]any)["state"])

	code, body = do(t, http.MethodGet, r.base+"/v1/breakers/payments", "", nil)
	require.Equal(t, http.StatusOK, code)
	for _, k := range []string{"target", "state", "allow", "reason", "failure_rate", "slow_rate", "calls", "baseline", "thresholds", "opened_at", "retry_at", "transitions"} {
		assert.Contains(t, body, k)
	}
	assert.Equal(t, "open", body["state"])
	assert.Equal(t, false, body["allow"])
	assert.Equal(t, true, body["known"])
	assert.Equal(t, breaker.ReasonConsecutiveFailures, body["reason"])
	assert.Equal(t, 1.0, body["failure_rate"])
	assert.Equal(t, 8.0, body["calls"])
	trs := body["transitions"].([]any)
	require.Len(t, trs, 1)
	tr := trs[0].(map[string]any)
	assert.Equal(t, "error", tr["class"])
	assert.Equal(t, 8.0, tr["counts"].(map[string]any)["consecutive_failures"])
	assert.NotEmpty(t, body["retry_at"])

	// An unknown target is closed and allowed, never an error.
	code, body = do(t, http.MethodGet, r.base+"/v1/breakers/never-seen", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "closed", body["state"])
	assert.Equal(t, false, body["known"])
	assert.Equal(t, true, body["allow"])
}

func TestAPIGetIsADecisionUnlessPeek(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	r.fail("payments", 8)
	r.clock.Advance(time.Hour)
	for i := 0; i < 3; i++ {
		_, body := do(t, http.MethodGet, r.base+"/v1/breakers/payments?peek=true", "", nil)
		assert.Equal(t, "half_open", body["state"], "the backoff elapsed")
		assert.Equal(t, true, body["allow"], "a peek says the next decision would be admitted")
	}
	_, body := do(t, http.MethodGet, r.base+"/v1/breakers/payments", "", nil)
	assert.Equal(t, "half_open", body["state"])
	assert.Equal(t, true, body["allow"], "the first half-open decision is admitted")
	_, body = do(t, http.MethodGet, r.base+"/v1/breakers/payments", "", nil)
	assert.Equal(t, false, body["allow"], "1% step: the second is not")
	code, body := do(t, http.MethodGet, r.base+"/v1/breakers/payments?peek=maybe", "", nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body["error"], "peek")
}

func TestAPIOverride(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	code, body := do(t, http.MethodPut, r.base+"/v1/breakers/payments/override", `{"mode":"forced_open"}`, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "forced_open", body["state"])
	assert.Equal(t, false, body["allow"])
	assert.False(t, r.Allow("payments"))
	code, body = do(t, http.MethodPut, r.base+"/v1/breakers/payments/override", `{"mode":"auto"}`, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "closed", body["state"])
	assert.True(t, r.Allow("payments"))
}

func TestAPIHostileInput(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	long := strings.Repeat("x", 257)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"malformed json", "PUT", "/v1/breakers/a/override", `{"mode":`, 400, "body"},
		{"not an object", "PUT", "/v1/breakers/a/override", `["forced_open"]`, 400, "body"},
		{"trailing data", "PUT", "/v1/breakers/a/override", `{"mode":"auto"} {"mode":"auto"}`, 400, "one JSON object"},
		{"unknown field", "PUT", "/v1/breakers/a/override", `{"mode":"auto","force":true}`, 400, "unknown field"},
		{"unknown mode", "PUT", "/v1/breakers/a/override", `{"mode":"FORCED_OPEN"}`, 400, "mode"},
		{"empty mode", "PUT", "/v1/breakers/a/override", `{}`, 400, "mode"},
		{"oversized body", "PUT", "/v1/breakers/a/override", `{"mode":"` + strings.Repeat("a", 8000) + `"}`, 413, "larger than"},
		{"target too long", "GET", "/v1/breakers/" + long, "", 400, "too long"},
		{"target too long override", "PUT", "/v1/breakers/" + long + "/override", `{"mode":"auto"}`, 400, "too long"},
		{"control character", "GET", "/v1/breakers/a%0Ab", "", 400, "control"},
		{"invalid utf-8", "GET", "/v1/breakers/%FF%FE", "", 400, "UTF-8"},
		{"wrong method", "DELETE", "/v1/breakers/a", "", 405, "not allowed"},
		{"wrong method on list", "POST", "/v1/breakers", "", 405, "not allowed"},
		{"no such path", "GET", "/v2/anything", "", 404, "no such endpoint"},
		{"watch bad target", "GET", "/v1/watch?target=" + long, "", 400, "not a valid service name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, tt.method, r.base+tt.path, tt.body, nil)
			assert.Equal(t, tt.code, code)
			require.NotNil(t, body, "error bodies are JSON")
			assert.Contains(t, body["error"], tt.want)
		})
	}
	assert.Equal(t, 0, r.registry.Len(), "no hostile request created a target")
}

func TestAPIEscapesTargetNames(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	name := `<script>alert("x")</script>&"quote"`
	r.fail(name, 1)
	resp, err := http.Get(r.base + "/v1/breakers")
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotContains(t, string(raw), "<script>")
	assert.Contains(t, string(raw), `\u003cscript\u003e`)
	var body struct{ Breakers []breaker.Status }
	require.NoError(t, json.Unmarshal(raw, &body))
	assert.Equal(t, name, body.Breakers[0].Target, "escaped, not altered")
	// A name with a slash is one path segment when escaped.
	r.fail("team/payments", 1)
	code, got := do(t, http.MethodGet, r.base+"/v1/breakers/team%2Fpayments", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "team/payments", got["target"])
	assert.Equal(t, true, got["known"])
}

func TestAPIAuth(t *testing.T) {
	r := startWithToken(t, "s3cret")

	override := r.base + "/v1/breakers/payments/override"
	code, _ := do(t, http.MethodPut, override, `{"mode":"forced_open"}`, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "refused without credentials")
	code, _ = do(t, http.MethodPut, override, `{"mode":"forced_open"}`, http.Header{"Authorization": {"Bearer wrong"}})
	assert.Equal(t, http.StatusUnauthorized, code, "refused with wrong credentials")
	assert.True(t, r.Allow("payments"), "a refused override changed nothing")
	code, body := do(t, http.MethodPut, override, `{"mode":"forced_open"}`, http.Header{"Authorization": {"Bearer s3cret"}})
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "forced_open", body["state"])
	assert.False(t, r.Allow("payments"))
	code, _ = do(t, http.MethodGet, r.base+"/v1/breakers", "", nil)
	assert.Equal(t, http.StatusUnauthorized, code, "auth covers the whole API")
}

func TestAPIWatchStreamsTransitions(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	lines := openWatch(t, r, "?target=payments")

	r.fail("other", 8) // filtered out
	r.fail("payments", 8)
	var event, data string
	for lines.Scan() {
		line := lines.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	require.Equal(t, "transition", event)
	var tr breaker.Transition
	require.NoError(t, json.Unmarshal([]byte(data), &tr))
	assert.Equal(t, "payments", tr.Target)
	assert.Equal(t, "closed", tr.From)
	assert.Equal(t, "open", tr.To)
	assert.Equal(t, breaker.ReasonConsecutiveFailures, tr.Reason)
	assert.Equal(t, uint64(8), tr.Counts.Failures)
}

func TestAPIWatchOutlivesTheWriteTimeout(t *testing.T) {
	r := start(t, loopbackConfig(), nil, func(c *statusextension.Config) { c.WriteTimeout = 100 * time.Millisecond })
	lines := openWatch(t, r, "")
	time.Sleep(300 * time.Millisecond) // past the server's write timeout
	r.fail("payments", 8)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "data: ") {
			return
		}
	}
	t.Fatalf("stream ended before the transition: %v", lines.Err())
}

func TestAPIWatchSubscriberCap(t *testing.T) {
	r := start(t, loopbackConfig(), nil, func(c *statusextension.Config) { c.Watch.MaxSubscribers = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v1/watch", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	code, body := do(t, http.MethodGet, r.base+"/v1/watch", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body["error"], "too many")
}

func TestMetricsEndpoint(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	r.fail("payments", 8)
	r.RecordOutcome(`we"ird`+"\n", breakerfeed.Outcome{}) // invalid: dropped and counted
	r.RecordOutcome(`we"ird\`, breakerfeed.Outcome{})
	_, err := r.registry.SetMode("cart", breaker.ModeForcedOpen)
	require.NoError(t, err)
	resp, err := http.Get(r.base + "/metrics")
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	for _, want := range []string{
		`vigil_breaker_state{mode="auto",target="payments"} 2`,
		`vigil_breaker_state{mode="forced_open",target="cart"} 2`,
		`vigil_breaker_transitions_total{reason="consecutive_failures",target="payments",to="open"} 1`,
		`vigil_breaker_transitions_total{reason="override",target="cart",to="forced_open"} 1`,
		`vigil_breaker_window_calls{target="payments"} 8`,
		`vigil_breaker_failure_rate{target="payments"} 1`,
		`vigil_breaker_targets 3`,
		`vigil_breaker_dropped_total 1`,
		`vigil_breaker_state{mode="auto",target="we\"ird\\"} 0`,
	} {
		assert.Contains(t, body, want)
	}
	fmt.Fprint(io.Discard, body)
}
