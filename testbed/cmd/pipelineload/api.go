package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The breaker API's latency under load, measured so that other work on a shared machine does
// not decide the figure: one client (the same kept-alive connections throughout) asks for one
// target at a fixed rate in short windows that alternate between idle (the load generator
// paused) and loaded, the order of each pair swapped every pair. Each window gives its own p99;
// the figure is the median of the idle windows' p99s against the median of the loaded ones',
// so a burst of other load spoils one window, not the ratio.

// apiWindows are the per-window p99s of one run.
type apiWindows struct {
	idle, loaded []time.Duration
	late, errors int
}

// measureAPI runs pairs of idle and loaded windows of length each, waiting gap after every
// switch (the requests in flight and the batch processor's timeout drain).
func measureAPI(ctx context.Context, url string, perSecond, pairs int, length, gap time.Duration, g *generator) apiWindows {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	defer g.paused.Store(false)
	var out apiWindows
	for i := range pairs {
		for _, loaded := range [2]bool{i%2 == 1, i%2 == 0} {
			g.paused.Store(!loaded)
			if !sleepCtx(ctx, gap) {
				return out
			}
			w := apiWindow(ctx, client, url, perSecond, length)
			out.late += w.late
			out.errors += w.errors
			if len(w.lat) == 0 {
				continue
			}
			if loaded {
				out.loaded = append(out.loaded, quantile(w.lat, 0.99))
			} else {
				out.idle = append(out.idle, quantile(w.lat, 0.99))
			}
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// windowLatencies are the latencies of one window's answered requests.
type windowLatencies struct {
	lat          []time.Duration
	late, errors int // late: not sent on schedule because every worker was busy
}

// apiWindow sends GET url at perSecond for length, 8 requests at most in flight.
func apiWindow(ctx context.Context, client *http.Client, url string, perSecond int, length time.Duration) (w windowLatencies) {
	var mu sync.Mutex
	jobs := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range jobs {
				began := time.Now()
				resp, err := client.Get(url)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(began)
				mu.Lock()
				if ok {
					w.lat = append(w.lat, d)
				} else {
					w.errors++
				}
				mu.Unlock()
			}
		})
	}
	t := time.NewTicker(time.Second / time.Duration(perSecond))
	end := time.NewTimer(length)
	defer func() {
		t.Stop()
		end.Stop()
		close(jobs)
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-t.C:
			select {
			case jobs <- struct{}{}:
			default:
				mu.Lock()
				w.late++
				mu.Unlock()
			}
		}
	}
}

// quantile is the q-quantile of xs (nearest rank); xs is not modified.
func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
