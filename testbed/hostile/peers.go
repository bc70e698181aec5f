package hostile

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// HeaderRecorder is an HTTP server that records the headers of every request it receives: the
// destination a hostile redirect points at.
type HeaderRecorder struct {
	URL    string
	server *http.Server
	mu     sync.Mutex
	got    []http.Header
}

// NewHeaderRecorder starts a recorder on a free loopback port.
func NewHeaderRecorder() (*HeaderRecorder, error) {
	r := &HeaderRecorder{}
	return r, r.start(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, req.Header.Clone())
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"healthy":true}`))
	}))
}

func (r *HeaderRecorder) start(h http.Handler) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.URL = "http://" + l.Addr().String()
	r.server = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.server.Serve(l) }()
	return nil
}

// Received returns the headers of the requests received so far.
func (r *HeaderRecorder) Received() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.got...)
}

// Close stops the server.
func (r *HeaderRecorder) Close() error { return r.server.Close() }

// RedirectTarget is a probed target that answers every request with a 302 to another origin.
type RedirectTarget struct{ HeaderRecorder }

// NewRedirectTarget starts a target redirecting to dest.
func NewRedirectTarget(dest string) (*RedirectTarget, error) {
	t := &RedirectTarget{}
	return t, t.start(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.mu.Lock()
		t.got = append(t.got, req.Header.Clone())
		t.mu.Unlock()
		http.Redirect(w, req, dest, http.StatusFound)
	}))
}

// HungWebhook accepts requests and never answers until closed: an endpoint that hangs.
type HungWebhook struct {
	HeaderRecorder
	release chan struct{}
	once    sync.Once
}

// NewHungWebhook starts a webhook that holds every request until Close.
func NewHungWebhook() (*HungWebhook, error) {
	h := &HungWebhook{release: make(chan struct{})}
	return h, h.start(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		h.got = append(h.got, req.Header.Clone())
		h.mu.Unlock()
		select {
		case <-h.release:
		case <-req.Context().Done():
		}
	}))
}

// Release answers the held requests (200) and every later one at once: the endpoint recovers.
func (h *HungWebhook) Release() { h.once.Do(func() { close(h.release) }) }

// Close releases the held requests and stops the server.
func (h *HungWebhook) Close() error {
	h.Release()
	return h.server.Close()
}
