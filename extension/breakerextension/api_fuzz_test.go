package breakerextension

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// FuzzAPI throws arbitrary targets, methods and bodies at the API's handler: it must never
// panic or answer 5xx, and every error must be JSON. `go test` runs the seeds; `go test
// -fuzz=FuzzAPI` explores further.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"GET", "payments", ""},
		{"PUT", "payments", `{"mode":"forced_open"}`},
		{"PUT", "a/b", `{"mode":"auto"}`},
		{"PUT", "x", `{"mode":`},
		{"PUT", "x", `{"mode":"auto"}{}`},
		{"PUT", "\x00", `null`},
		{"DELETE", "%2F..%2F", ""},
		{"GET", strings.Repeat("é", 200), ""},
		{"PUT", "<script>", `{"mode":"disabled","x":1}`},
		{"POST", "payments", `{"ok":true,"caller":"frontend"}`},
		{"POST", "payments", `{"ok":null}`},
	} {
		f.Add(seed.method, seed.target, seed.body)
	}
	e := newExtension(loopbackConfig(), componenttest.NewNopTelemetrySettings(), breaker.NewFake(time.Unix(0, 0)))
	h := http.NewServeMux()
	for _, rt := range e.apiRoutes() {
		h.Handle(rt.pattern, rt.handler)
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		// Methods a client can send are tokens; anything else is not a request at all.
		if method == "" || strings.IndexFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
			method = "PUT"
		}
		for _, path := range []string{
			"/v1/breakers/" + url.PathEscape(target),
			"/v1/breakers/" + url.PathEscape(target) + "/override",
			"/v1/breakers/" + url.PathEscape(target) + "/trials",
		} {
			req := httptest.NewRequest(method, "http://x"+path, strings.NewReader(body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
			if rec.Code >= 400 {
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("%s %s: %d with a body that is not a JSON error: %q", method, path, rec.Code, rec.Body)
				}
			}
			if rec.Code == http.StatusOK {
				var st breaker.Status
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
			}
		}
	})
}
