package vigilbreaker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// vigilBinary is the collector the wire contract is tested against: $VIGIL_BINARY, else the
// one `make build` writes at the repository root.
func vigilBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("VIGIL_BINARY")
	if bin == "" {
		bin = filepath.Join("..", "..", "..", "_build", "otelcol-vigil")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("collector binary %s not found (run `make build` at the repository root, or set VIGIL_BINARY): %v", bin, err)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startVigil runs the built collector with the breaker extension, its API served by the status
// extension on a free port (as in the default config), and returns the API's base URL.
func startVigil(t *testing.T) string {
	t.Helper()
	api, otlp := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
extensions:
  status:
    endpoint: 127.0.0.1:%d
  breaker:
    status_extension: status
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  healthscore:
    breaker: breaker
exporters:
  debug:
service:
  extensions: [status, breaker]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [healthscore]
      exporters: [debug]
`, api, otlp)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd := exec.Command(vigilBinary(t), "--config="+path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("collector did not stop on SIGTERM; logs:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", api)
	for range 300 {
		if resp, err := http.Get(base + "/v1/breakers"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			t.Fatalf("collector exited; logs:\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("collector API not ready; logs:\n%s", logs.String())
	return ""
}

func override(t *testing.T, base, target, mode string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/breakers/"+target+"/override", strings.NewReader(`{"mode":"`+mode+`"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("override %s %s: %s", target, mode, resp.Status)
	}
}

// eventually polls cond every 10 ms for at most 10 s (a bound on the loop, not a timed claim).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// The wire contract against the real collector: a verdict set before the client knew the
// target arrives by the status fetch, later ones by the watch stream.
func TestAgainstVigil(t *testing.T) {
	base := startVigil(t)
	override(t, base, "payments", "forced_open")
	c, err := New(Config{Endpoint: base, Caller: "frontend"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, "subscription up", func() bool { return c.Stats().Connected })
	c.Allow("payments") // first use: allowed, and its status is fetched
	eventually(t, "payments refused after the status fetch", func() bool { _, ok := c.Allow("payments"); return !ok })

	if _, ok := c.Allow("checkout"); !ok {
		t.Fatal("an unknown target is refused")
	}
	eventually(t, "checkout status fetched", func() bool { return c.Stats().Snapshots >= 2 })
	override(t, base, "checkout", "forced_open")
	eventually(t, "checkout refused after the forced_open event", func() bool { _, ok := c.Allow("checkout"); return !ok })
	override(t, base, "checkout", "auto")
	eventually(t, "checkout allowed after the auto event", func() bool { _, ok := c.Allow("checkout"); return ok })
	if s := c.Stats(); s.BadEvents != 0 || s.Events < 2 {
		t.Fatalf("stats %+v: want no bad events and at least 2 events", s)
	}
}

// When Vigil goes away, its verdicts are kept for MaxStale, then dropped (fail-open).
func TestVerdictsDroppedWhenVigilGone(t *testing.T) {
	stream := make(chan string)
	var mu sync.Mutex
	up := true
	srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := up
		mu.Unlock()
		if !ok {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch {
		case r.URL.Path == "/v1/watch":
			if q := r.URL.Query(); q.Get("caller") != "frontend" || q.Get("events") != "transition" {
				t.Errorf("watch without caller or events=transition: %s", r.URL)
			}
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = fmt.Fprint(w, ": watching\n\n")
			w.(http.Flusher).Flush()
			for {
				select {
				case <-r.Context().Done():
					return
				case ev, open := <-stream:
					if !open {
						return
					}
					_, _ = fmt.Fprint(w, ev)
					w.(http.Flusher).Flush()
				}
			}
		default:
			http.Error(w, `{"error":"unknown"}`, http.StatusNotFound)
		}
	})
	c, err := New(Config{Endpoint: srv, Caller: "frontend", MaxStale: 300 * time.Millisecond, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Allow("svc")
	eventually(t, "connected", func() bool { return c.Stats().Connected })
	at := time.Now().UTC().Format(time.RFC3339Nano)
	stream <- "id: 1\nevent: transition\ndata: {\"target\":\"svc\",\"from\":\"closed\",\"to\":\"forced_open\",\"at\":\"" + at + "\",\"mode\":\"forced_open\",\"reason\":\"override\",\"counts\":{}}\n\n"
	stream <- "event: transition\ndata: {not json\n\n"
	// The status extension's other events are skipped, not counted as bad.
	stream <- "id: 2\nevent: component\ndata: {\"service\":\"svc\",\"status\":\"unhealthy\",\"previous_status\":\"healthy\",\"score\":0.2,\"at\":\"" + at + "\"}\n\n"
	stream <- "id: 3\nevent: incident\ndata: {\"id\":\"1\",\"service\":\"svc\",\"state\":\"opened\",\"event\":{}}\n\n"
	eventually(t, "refused on forced_open", func() bool { _, ok := c.Allow("svc"); return !ok })
	mu.Lock()
	up = false
	mu.Unlock()
	close(stream)
	eventually(t, "verdict dropped after MaxStale", func() bool { _, ok := c.Allow("svc"); return ok })
	if s := c.Stats(); !s.Stale || s.BadEvents != 1 {
		t.Fatalf("stats %+v: want stale and one bad event", s)
	}
}

func newSSEServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	})
	return "http://" + l.Addr().String()
}

// A passing trial is reported as POST /v1/breakers/{target}/trials with this caller's name.
func TestTrialReported(t *testing.T) {
	got := make(chan string, 4)
	srv := newSSEServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/breakers/svc/trials" {
			b := make([]byte, 256)
			n, _ := r.Body.Read(b)
			got <- string(b[:n])
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path == "/v1/watch" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		http.Error(w, `{"error":"no"}`, http.StatusNotFound)
	})
	c, err := New(Config{Endpoint: srv, Caller: "frontend", OpenInitial: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, "connected", func() bool { return c.Stats().Connected })
	for range 8 { // a new target's run is 8
		call(c, "svc", Failure)
	}
	eventually(t, "a trial", func() bool {
		p, ok := c.Allow("svc")
		if ok {
			p.Done(Success)
		}
		return ok
	})
	select {
	case body := <-got:
		if body != `{"ok":true,"caller":"frontend"}` {
			t.Fatalf("trial body %s", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no trial report")
	}
	eventually(t, "counted", func() bool { return c.Stats().TrialsReported == 1 })
}
