package healthcheckreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// recorder is an HTTP server that records the headers of every request it receives.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"UP"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) received() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.headers...)
}

// probeOnce builds the scraper for one target and probes it once.
func probeOnce(t *testing.T, tc TargetConfig) probe.Result {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Targets = []TargetConfig{tc}
	require.NoError(t, cfg.Validate())
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.build(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(ctx)) }()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.targets[0].prober.Probe(pctx)
}

// TestRedirectElsewhereNeverGetsTheHeaders: a probed target answers 302 to another port. By
// default the redirect is not followed (the probe fails on its status); with follow_redirects
// it is refused as cross-origin. Either way the destination receives nothing, so the
// configured Authorization header never reaches it.
func TestRedirectElsewhereNeverGetsTheHeaders(t *testing.T) {
	elsewhere := newRecorder(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/collect", http.StatusFound)
	}))
	t.Cleanup(target.Close)
	var auth configopaque.MapList
	auth.Set("Authorization", "Bearer probe-secret")
	yes := true

	res := probeOnce(t, TargetConfig{Name: "t", Type: TypeHTTP, Endpoint: target.URL + "/healthz",
		HTTP: HTTPConfig{Headers: auth}})
	assert.Equal(t, probe.ErrStatusCode, res.ErrorType, "default: the 302 itself is the result")

	res = probeOnce(t, TargetConfig{Name: "t", Type: TypeHTTP, Endpoint: target.URL + "/healthz",
		HTTP: HTTPConfig{Headers: auth, FollowRedirects: &yes}})
	assert.Equal(t, probe.ErrRedirect, res.ErrorType, "follow_redirects: another origin is refused")
	assert.ErrorIs(t, res.Err, probe.ErrCrossOriginRedirect)

	assert.Empty(t, elsewhere.received(), "the redirect destination was never contacted")
}

// TestSameOriginRedirectIsFollowedWhenAskedFor: a redirect within the target's origin is
// followed with follow_redirects, headers included (they go where the config said).
func TestSameOriginRedirectIsFollowedWhenAskedFor(t *testing.T) {
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/new", http.StatusMovedPermanently) })
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write([]byte("UP"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var auth configopaque.MapList
	auth.Set("Authorization", "Bearer probe-secret")
	yes := true
	res := probeOnce(t, TargetConfig{Name: "t", Type: TypeHTTP, Endpoint: srv.URL + "/old",
		HTTP: HTTPConfig{Headers: auth, FollowRedirects: &yes, BodyContains: "UP"}})
	require.NoError(t, res.Err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"Bearer probe-secret"}, got)
}
