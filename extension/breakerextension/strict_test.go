package breakerextension

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOverrideBodyIsStrict(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	url := r.base + "/v1/breakers/payments/override"
	for _, tc := range []struct{ body, want string }{
		{`{"MODE":"forced_open"}`, `unknown field \"MODE\"`},
		{`{"Mode":"forced_open"}`, `unknown field \"Mode\"`},
		{`{"mode":"auto","mode":"forced_open"}`, `duplicate field \"mode\"`},
		{`{}`, `missing field \"mode\"`},
		{`{"mode":1}`, "mode:"},
		{`["mode"]`, "must be a JSON object"},
		{`{"mode":"forced_open"} {}`, "must hold one JSON object"},
		{`{"mode":"forced_open","x":1}`, `unknown field \"x\"`},
	} {
		code, body := do(t, http.MethodPut, url, tc.body, nil)
		assert.Equal(t, http.StatusBadRequest, code, tc.body)
		assert.Contains(t, body["error"], strings.ReplaceAll(tc.want, `\"`, `"`), tc.body)
	}
	assert.True(t, r.Allow("payments"), "nothing was overridden")
	code, body := do(t, http.MethodPut, url, `{"mode":"forced_open"}`, nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "forced_open", body["state"])
}

func TestOverrideRefusesDeceptiveNames(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	for _, name := range []string{"%2E%2E", "%2E", "%20", "%20%20", "pay%E2%80%AEments", "%E2%80%8F"} {
		code, body := do(t, http.MethodPut, r.base+"/v1/breakers/"+name+"/override", `{"mode":"forced_open"}`, nil)
		assert.Equal(t, http.StatusBadRequest, code, name)
		assert.Contains(t, body["error"], "target:", name)
	}
}

func TestUnauthorizedAnswersJSONWithAChallenge(t *testing.T) {
	r := startWithToken(t, "s3cret")

	for _, h := range []string{"", "Bearer wrong", "Basic czNjcmV0"} {
		req, _ := http.NewRequest(http.MethodGet, r.base+"/v1/breakers", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, h)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), h)
		assert.Equal(t, `Bearer realm="vigil-breaker"`, resp.Header.Get("WWW-Authenticate"), h)
		assert.JSONEq(t, `{"error":"unauthorized: send a valid token as Authorization: Bearer <token>"}`, string(raw), h)
	}
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		code, _ := do(t, http.MethodGet, r.base+"/v1/breakers", "", http.Header{"Authorization": {scheme + " s3cret"}})
		assert.Equal(t, http.StatusOK, code, "the scheme is case-insensitive: %s", scheme)
	}
}

func TestTrialBodyIsStrict(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	url := r.base + "/v1/breakers/payments/trials"
	for _, tc := range []struct{ body, want string }{
		{`{"OK":true}`, `unknown field "OK"`},
		{`{"ok":false,"ok":true}`, `duplicate field "ok"`},
		{`{"ok":true,"Caller":"x"}`, `unknown field "Caller"`},
	} {
		code, body := do(t, http.MethodPost, url, tc.body, nil)
		assert.Equal(t, http.StatusBadRequest, code, tc.body)
		assert.Contains(t, body["error"], tc.want, tc.body)
	}
}
