package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-collector/vigil/clients/go/vigilbreaker"
)

// The ways a caller decides.
const (
	kindBefore    = "vigil GET per call"
	kindClient    = "vigil client"
	kindTrials    = "vigil client, trials only"
	kindGobreaker = "gobreaker"
)

// record is one offered call.
type record struct {
	at      time.Duration // since the run's start
	allowed bool
	failed  bool // allowed, and it failed
}

// caller offers calls to one target at a fixed rate and decides each in its own way.
type caller struct {
	kind   string
	phase  *phase
	rate   int
	target string
	probe  bool // the collector probes the target's health endpoint

	tracing *tracing // the caller's SDK (nil: not instrumented)
	http    *http.Client
	svcURL  string

	api    string // before: the breaker API
	client *vigilbreaker.Client
	gb     *gobreaker.TwoStepCircuitBreaker[struct{}]

	mu         sync.Mutex
	records    []record
	vigilOpens []vigilOpen // Vigil's openings of this caller's target (instrumented callers)
	// transportErrs counts calls that got no answer (the loopback or the machine, not the
	// service): a run must show none for its figures to be about the breakers.
	transportErrs atomic.Int64
	lastErr       atomic.Value
}

var errFailed = errors.New("call failed")

// run offers calls on a fixed schedule (open loop) from t0 until the phase ends; each call
// runs in its own goroutine, so a slow answer does not delay the next call.
func (c *caller) run(ctx context.Context, t0 time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	interval := time.Second / time.Duration(c.rate)
	var calls sync.WaitGroup
	defer calls.Wait()
	for i := 0; ; i++ {
		at := time.Duration(i) * interval
		if at >= c.phase.end() || ctx.Err() != nil {
			return
		}
		if d := time.Until(t0.Add(at)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		calls.Add(1)
		go func() {
			defer calls.Done()
			c.one(ctx, time.Since(t0))
		}()
	}
}

func (c *caller) one(ctx context.Context, at time.Duration) {
	allowed, finish := c.decide(ctx)
	if !allowed {
		c.add(record{at: at})
		return
	}
	failed := c.do(ctx)
	finish(failed)
	c.add(record{at: at, allowed: true, failed: failed})
}

func (c *caller) add(r record) {
	c.mu.Lock()
	c.records = append(c.records, r)
	c.mu.Unlock()
}

// decide asks the caller's breaker; finish reports the call's outcome to it.
func (c *caller) decide(ctx context.Context) (bool, func(failed bool)) {
	switch c.kind {
	case kindClient, kindTrials:
		p, ok := c.client.Allow(c.target)
		return ok, func(failed bool) {
			if failed {
				p.Done(vigilbreaker.Failure)
			} else {
				p.Done(vigilbreaker.Success)
			}
		}
	case kindGobreaker:
		done, err := c.gb.Allow()
		if err != nil {
			return false, nil
		}
		return true, func(failed bool) {
			if failed {
				done(errFailed)
			} else {
				done(nil)
			}
		}
	default:
		return c.ask(ctx), func(bool) {}
	}
}

// ask is the "before": GET /v1/breakers/{target} before every call; an unanswered question
// lets the call go (fail-open).
func (c *caller) ask(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.api+"/v1/breakers/"+url.PathEscape(c.target), nil)
	if err != nil {
		return true
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return true
	}
	defer resp.Body.Close()
	var st struct {
		Allow *bool `json:"allow"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil || st.Allow == nil {
		return true
	}
	return *st.Allow
}

// do makes the call, with a CLIENT span naming the callee as peer.service when instrumented.
func (c *caller) do(ctx context.Context) bool {
	var span trace.Span
	if c.tracing != nil {
		ctx, span = c.tracing.tracer.Start(ctx, "GET "+c.target, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("peer.service", c.target)))
		defer span.End()
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.svcURL, nil)
	if err != nil {
		return true
	}
	resp, err := c.http.Do(req)
	failed := err != nil
	code := 0
	if err != nil {
		c.transportErrs.Add(1)
		c.lastErr.Store(err.Error())
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
		failed = code >= 500
	}
	if span != nil {
		if code != 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", code))
		}
		if failed {
			span.SetStatus(codes.Error, fmt.Sprint(code))
		}
	}
	return failed
}
