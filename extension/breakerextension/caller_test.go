package breakerextension

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// failFrom feeds n failed calls of caller to target into caller's own view, which it asks for
// first (a view exists once asked for).
func (r *running) failFrom(caller, target string, n int) {
	r.callerStatus(caller, target, false)
	for range n {
		r.clock.Advance(time.Millisecond)
		r.RecordCallerOutcome(caller, target, breakerfeed.Outcome{Class: breakerfeed.Error, Latency: time.Millisecond})
	}
}

// watch opens /v1/watch with query and returns a function reading the next transition event's
// data (the status extension's stream also carries component and incident events).
func watch(t *testing.T, r *running, query string) func() breaker.Transition {
	t.Helper()
	lines := openWatch(t, r, query)
	return func() breaker.Transition {
		var event string
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(lines.Text(), "data: "); ok && event == "transition" {
				var tr breaker.Transition
				require.NoError(t, json.Unmarshal([]byte(v), &tr))
				return tr
			}
		}
		t.Fatal("stream ended")
		return breaker.Transition{}
	}
}

// One caller's broken path opens its own view of the callee, not the fleet's, and not another
// caller's.
func TestCallerViewBesideFleet(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	frontend := watch(t, r, "?caller=frontend")
	fleet := watch(t, r, "")
	r.failFrom("frontend", "checkout", 8)
	r.fail("payments", 8) // a fleet-wide transition, after it

	tr := frontend()
	assert.Equal(t, "checkout", tr.Target)
	assert.Equal(t, "frontend", tr.Caller)
	assert.Equal(t, "open", tr.To)
	assert.Equal(t, "payments", frontend().Target, "fleet transitions too")
	tr = fleet()
	assert.Equal(t, "payments", tr.Target, "a stream without caller sees no caller's view")
	assert.Empty(t, tr.Caller)

	code, body := do(t, http.MethodGet, r.base+"/v1/breakers/checkout?caller=frontend&peek=true", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, false, body["allow"], "frontend's own view refuses")
	assert.Equal(t, "closed", body["state"], "the fleet view stays closed")
	cv := body["caller_view"].(map[string]any)
	assert.Equal(t, "open", cv["state"])
	assert.Equal(t, "frontend", cv["caller"])
	assert.Equal(t, "checkout", cv["target"])
	assert.Equal(t, "frontend", cv["transitions"].([]any)[0].(map[string]any)["caller"])

	_, body = do(t, http.MethodGet, r.base+"/v1/breakers/checkout?caller=cart&peek=true", "", nil)
	assert.Equal(t, true, body["allow"], "another caller is allowed")
	_, body = do(t, http.MethodGet, r.base+"/v1/breakers/checkout?peek=true", "", nil)
	assert.Equal(t, true, body["allow"], "the fleet view is allowed")
	assert.Nil(t, body["caller_view"])

	for _, bad := range []string{"a→b", strings.Repeat("x", 300)} {
		code, body = do(t, http.MethodGet, r.base+"/v1/breakers/checkout?caller="+bad, "", nil)
		assert.Equal(t, http.StatusBadRequest, code, bad)
		assert.Contains(t, body["error"], "caller: ")
		code, _ = do(t, http.MethodGet, r.base+"/v1/watch?caller="+bad, "", nil)
		assert.Equal(t, http.StatusBadRequest, code, bad)
	}
	before := r.callers.Dropped()
	r.RecordCallerOutcome("a→b", "checkout", breakerfeed.Outcome{})
	r.RecordCallerOutcome("frontend", "", breakerfeed.Outcome{})
	assert.Equal(t, before+2, r.callers.Dropped())
}

// A caller's own view exists once the caller asked for it: until then its outcomes are not
// kept, so a fleet whose callers never ask pays nothing for views.
func TestCallerViewCreatedWhenAsked(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	fail := breakerfeed.Outcome{Class: breakerfeed.Error, Latency: time.Millisecond}
	for range 8 {
		r.RecordCallerOutcome("frontend", "checkout", fail)
	}
	assert.Zero(t, r.callers.Len(), "not asked for: no view")
	_, body := do(t, http.MethodGet, r.base+"/v1/breakers/checkout?caller=frontend&peek=true", "", nil)
	assert.Equal(t, true, body["allow"])
	assert.Equal(t, "closed", body["caller_view"].(map[string]any)["state"], "the outcomes before the asking were not kept")
	assert.Equal(t, 1, r.callers.Len(), "asking created it")
	for range 8 {
		r.clock.Advance(time.Millisecond)
		r.RecordCallerOutcome("frontend", "checkout", fail)
	}
	_, body = do(t, http.MethodGet, r.base+"/v1/breakers/checkout?caller=frontend&peek=true", "", nil)
	assert.Equal(t, false, body["allow"], "from then on the caller's outcomes feed it")
	assert.Equal(t, "open", body["caller_view"].(map[string]any)["state"])
}

func TestRecordCallerOutcomeDoesNotAllocate(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	o := breakerfeed.Outcome{Class: breakerfeed.Success, Latency: time.Millisecond}
	r.callerStatus("frontend", "checkout", false)
	r.RecordCallerOutcome("frontend", "checkout", o)
	allocs := testing.AllocsPerRun(1000, func() { r.RecordCallerOutcome("frontend", "checkout", o) })
	assert.Zero(t, allocs)
	now := time.Now()
	allocs = testing.AllocsPerRun(1000, func() { r.RecordCallerOutcomeAt("frontend", "checkout", o, now) })
	assert.Zero(t, allocs, "nor with the batch's time")
}

func TestAPITrials(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	r.fail("checkout", 8)
	r.failFrom("frontend", "checkout", 8)
	post := func(target, body string) (int, map[string]any) {
		return do(t, http.MethodPost, r.base+"/v1/breakers/"+target+"/trials", body, nil)
	}
	code, _ := post("checkout", `{"ok":false}`)
	assert.Equal(t, http.StatusNoContent, code)
	st, _ := r.State("checkout")
	assert.Equal(t, breakerfeed.Open, st, "a failed trial keeps it open")

	code, _ = post("checkout", `{"ok":true,"caller":"frontend"}`)
	assert.Equal(t, http.StatusNoContent, code)
	st, _ = r.State("checkout")
	assert.Equal(t, breakerfeed.HalfOpen, st, "a passing trial ends the backoff")
	assert.Equal(t, breaker.ReasonTrialPassed, r.registry.Status("checkout", false).Reason)
	cv := r.callerStatus("frontend", "checkout", false)
	assert.Equal(t, "half_open", cv.State, "and the caller's own view's")

	code, _ = post("checkout", `{"ok":false}`)
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, breaker.ReasonTrialFailed, r.registry.Status("checkout", false).Reason)

	for _, tc := range []struct {
		target, body string
		code         int
		msg          string
	}{
		{"never-seen", `{"ok":true}`, http.StatusNotFound, "target: "},
		{"checkout", `{}`, http.StatusBadRequest, "ok: "},
		{"checkout", `{"ok":true,"extra":1}`, http.StatusBadRequest, "body: "},
		{"checkout", `{"ok":true}{}`, http.StatusBadRequest, "body: "},
		{"checkout", `{"ok":true,"caller":"a→b"}`, http.StatusBadRequest, "caller: "},
	} {
		code, body := post(tc.target, tc.body)
		assert.Equal(t, tc.code, code, tc.body)
		assert.Contains(t, body["error"], tc.msg, tc.body)
	}
	code, _ = do(t, http.MethodGet, r.base+"/v1/breakers/checkout/trials", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
}
