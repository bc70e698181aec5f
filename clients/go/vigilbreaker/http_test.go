package vigilbreaker

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestTransportOpensOnServerErrorsAndRefusesWithoutCalling(t *testing.T) {
	var hits atomic.Int64
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c, _ := newLocal(t, Config{})
	hc := &http.Client{Transport: &Transport{Client: c, Target: func(*http.Request) string { return "checkout" }}}
	get := func() error {
		resp, err := hc.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for range 10 {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	learnHealthy(c, "checkout", 100, 1, 30)
	failing.Store(true)
	before := hits.Load()
	for range 5 {
		if err := get(); err != nil {
			t.Fatalf("a 503 is an answer, not a transport error: %v", err)
		}
	}
	err := get()
	if !errors.Is(err, ErrOpen) {
		t.Fatalf("after 5 answers of 503: %v, want ErrOpen", err)
	}
	if got := hits.Load() - before; got != 5 {
		t.Fatalf("the server saw %d calls, want 5 (the refused one never left)", got)
	}
}
