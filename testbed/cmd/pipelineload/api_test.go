package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMeasureAPIAlternatesIdleAndLoadedWindows serves slowly only while the generator runs, so
// every loaded window's p99 is past the delay and no idle window's is.
func TestMeasureAPIAlternatesIdleAndLoadedWindows(t *testing.T) {
	g := &generator{}
	const delay = 200 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !g.paused.Load() {
			time.Sleep(delay)
		}
		_, _ = w.Write([]byte(`{"state":"closed"}`))
	}))
	defer srv.Close()
	aw := measureAPI(context.Background(), srv.URL, 20, 2, time.Second, 100*time.Millisecond, g)
	if len(aw.idle) != 2 || len(aw.loaded) != 2 {
		t.Fatalf("%d idle and %d loaded windows, want 2 each", len(aw.idle), len(aw.loaded))
	}
	for i := range 2 {
		if aw.loaded[i] < delay {
			t.Errorf("loaded window %d: p99 %v, below the %v the server takes under load", i, aw.loaded[i], delay)
		}
		if aw.idle[i] >= delay {
			t.Errorf("idle window %d: p99 %v, as slow as a loaded one", i, aw.idle[i])
		}
	}
	if g.paused.Load() {
		t.Error("the generator is left paused")
	}
	if aw.errors != 0 {
		t.Errorf("%d errors", aw.errors)
	}
}
