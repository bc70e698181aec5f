package action

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-collector/vigil/internal/proctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fired = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func req(resolve bool) Request {
	return Request{Incident: "abc123", Rule: "service-down", Target: "checkout", TargetAttr: "service.name",
		Severity: "critical", Summary: "health check failing", Value: 0, FiredAt: fired, Resolve: resolve}
}

// received is what a test HTTP peer saw.
type received struct {
	mu     sync.Mutex
	bodies [][]byte
	header []http.Header
	paths  []string
}

func (r *received) add(req *http.Request) []byte {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, b)
	r.header = append(r.header, req.Header.Clone())
	r.paths = append(r.paths, req.URL.Path)
	return b
}

func TestWebhookPayloadAndSignature(t *testing.T) {
	secret := []byte("s3cr3t")
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := got.add(r)
		ts := r.Header.Get(HeaderTimestamp)
		if r.Header.Get(HeaderSignature) != Sign(secret, ts, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	now := fired.Add(time.Minute)
	w := &Webhook{Name: "notify", URL: srv.URL + "/hook", Secret: secret, Client: srv.Client(), MaxRetries: 1, Now: func() time.Time { return now }}
	for _, resolve := range []bool{false, true} {
		_, err := w.Run(context.Background(), req(resolve))
		require.NoError(t, err)
	}
	require.Len(t, got.bodies, 2)
	var p AMPayload
	require.NoError(t, json.Unmarshal(got.bodies[0], &p))
	assert.Equal(t, "4", p.Version)
	assert.Equal(t, "firing", p.Status)
	assert.Equal(t, "notify", p.Receiver)
	require.Len(t, p.Alerts, 1)
	assert.Equal(t, "service-down", p.Alerts[0].Labels["alertname"])
	assert.Equal(t, "checkout", p.Alerts[0].Labels["target"])
	assert.Equal(t, fired, p.Alerts[0].StartsAt)
	require.NoError(t, json.Unmarshal(got.bodies[1], &p))
	assert.Equal(t, "resolved", p.Status)
	assert.Equal(t, now, p.Alerts[0].EndsAt)
	assert.Equal(t, "/hook", got.paths[0])

	// A wrong secret is refused by the peer, and not retried (4xx).
	w.Secret = []byte("wrong")
	_, err := w.Run(context.Background(), req(false))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 401")
	assert.Len(t, got.bodies, 3)
}

func TestWebhookRetriesThenReportsUnreachable(t *testing.T) {
	var got received
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(r)
		calls++
		if calls < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Client: srv.Client(), MaxRetries: 3, Now: time.Now}
	detail, err := w.Run(context.Background(), req(false))
	require.NoError(t, err)
	assert.Equal(t, "HTTP 204 after 3 attempt(s)", detail)

	w = &Webhook{URL: "http://" + proctest.FreeAddr(t), Client: &http.Client{Timeout: time.Second}, MaxRetries: 1, Now: time.Now}
	_, err = w.Run(context.Background(), req(false))
	assert.ErrorIs(t, err, ErrUnreachable)
}

func TestPagerDutyEvents(t *testing.T) {
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(r)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"abc123"}`)
	}))
	defer srv.Close()
	p := &PagerDuty{URL: srv.URL + "/v2/enqueue", RoutingKey: "KEY", Client: srv.Client()}
	_, err := p.Run(context.Background(), req(false))
	require.NoError(t, err)
	_, err = p.Run(context.Background(), req(true))
	require.NoError(t, err)
	var trig, res PDEvent
	require.NoError(t, json.Unmarshal(got.bodies[0], &trig))
	require.NoError(t, json.Unmarshal(got.bodies[1], &res))
	assert.Equal(t, "trigger", trig.EventAction)
	assert.Equal(t, "abc123", trig.DedupKey)
	assert.Equal(t, "KEY", trig.RoutingKey)
	assert.Equal(t, "critical", trig.Payload.Severity)
	assert.Equal(t, "checkout", trig.Payload.Source)
	assert.Equal(t, "resolve", res.EventAction)
	assert.Equal(t, "abc123", res.DedupKey)
	assert.Nil(t, res.Payload)
}

// script writes a real allow-listed script that records its argv and environment.
func script(t *testing.T, body string) (path, out string) {
	dir := t.TempDir()
	out = filepath.Join(dir, "out")
	path = filepath.Join(dir, "heal.sh")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\nOUT="+out+"\n"+body), 0o755))
	return path, out
}

func TestExecRunsArgvWithEnvOnly(t *testing.T) {
	path, out := script(t, `printf '%s\n' "$@" > "$OUT"; env | sort >> "$OUT"; echo done`)
	x := &Exec{Command: path, Args: []string{"restart", "--graceful"}, Env: map[string]string{"UNIT_PREFIX": "app-"},
		TargetPattern: regexp.MustCompile(`^[a-z-]+$`), MaxOutputBytes: 100}
	detail, err := x.Run(context.Background(), req(false))
	require.NoError(t, err)
	assert.Equal(t, "done\n", detail)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	s := string(b)
	assert.True(t, strings.HasPrefix(s, "restart\n--graceful\n"), s)
	assert.Contains(t, s, "VIGIL_TARGET=checkout\n")
	assert.Contains(t, s, "VIGIL_RULE=service-down\n")
	assert.Contains(t, s, "UNIT_PREFIX=app-\n")
	assert.NotContains(t, s, "HOME=", "no inherited environment")

	// A hostile target never runs the command.
	require.NoError(t, os.Remove(out))
	r := req(false)
	r.Target = "x; rm -rf / $(reboot)"
	_, err = x.Run(context.Background(), r)
	require.Error(t, err)
	assert.NoFileExists(t, out)
}

func TestExecTimeoutKillsTheGroupAndCapsOutput(t *testing.T) {
	path, _ := script(t, `head -c 5000 /dev/zero | tr '\0' x; sleep 30 & sleep 30`)
	x := &Exec{Command: path, TargetPattern: regexp.MustCompile(`^.*$`), MaxOutputBytes: 64}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	detail, err := x.Run(ctx, req(false))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "killed at the timeout")
	assert.Less(t, time.Since(start), 10*time.Second, "the whole process group is killed, the background sleep too")
	assert.True(t, strings.HasPrefix(detail, strings.Repeat("x", 64)+"…"), detail)
	assert.Contains(t, detail, "(4936 bytes of output dropped)")

	fail, _ := script(t, "exit 3")
	_, err = (&Exec{Command: fail, TargetPattern: regexp.MustCompile(`^.*$`)}).Run(context.Background(), req(false))
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.ExitCode())
}

func TestLog(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := &Log{Name: "log", Logger: zap.New(core)}
	_, err := l.Run(context.Background(), req(false))
	require.NoError(t, err)
	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	assert.Equal(t, "healing action", e.Message)
	assert.Equal(t, "checkout", e.ContextMap()["service.name"])
	assert.Equal(t, "firing", e.ContextMap()["state"])
}
