// Command breakerscenario measures what "ask Vigil before you call" does for a real caller,
// beside sony/gobreaker, in one run: a real HTTP service on loopback, callers instrumented
// with the OpenTelemetry Go SDK (default batch span processor, OTLP/gRPC) sending to the
// built otelcol-vigil on its default config (ports moved to free ones), and three ways of
// deciding each call side by side:
//
//   - "vigil GET per call": GET /v1/breakers/{target} before every call (the way before the
//     client library);
//   - "vigil client": the vigilbreaker client library (local decisions, /v1/watch);
//   - "gobreaker": sony/gobreaker v2, 5 consecutive failures, 10 s timeout, in-process.
//
// Each (phase, rate, way) has its own target service, so no way learns from another's calls.
// Phases run at the same time: an outage (instant 503s), a slowdown (20 -> 300 ms) and
// background noise (10% and 20% errors). It prints one table per phase.
//
//	go run . -binary ../../../_build/otelcol-vigil            # the full run, about 6 minutes
//	go run . -binary ../../../_build/otelcol-vigil -short     # outage only, 30 s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/vigil-collector/vigil/clients/go/vigilbreaker"
)

type options struct {
	binary, root                string
	explain                     bool
	rates                       []int
	groups                      [][]string // phases in a group run side by side; groups one after another
	healthy, outage, recovered  time.Duration
	slow, noiseWarmup, noiseFor time.Duration
}

func main() {
	var o options
	var rates, phases string
	short := flag.Bool("short", false, "the short form: the outage phase only, 10 s per part, at 200/s")
	flag.StringVar(&o.binary, "binary", "../../../_build/otelcol-vigil", "the otelcol-vigil binary (make build)")
	flag.StringVar(&o.root, "root", "../../..", "the repository root (for otelcol-config.yaml)")
	flag.StringVar(&rates, "rates", "20,200", "call rates per second, each run side by side")
	flag.StringVar(&phases, "phases", "outage,latency,noise10+noise20", "phases to run: one after another (,) or side by side (+)")
	flag.DurationVar(&o.healthy, "healthy", 60*time.Second, "healthy time before an outage or slowdown")
	flag.DurationVar(&o.outage, "outage", 60*time.Second, "outage length")
	flag.DurationVar(&o.recovered, "recovered", 60*time.Second, "time measured after the outage")
	flag.DurationVar(&o.slow, "slow", 60*time.Second, "slowdown length")
	flag.DurationVar(&o.noiseWarmup, "noise-warmup", 60*time.Second, "noise phases: warm-up before counting")
	flag.DurationVar(&o.noiseFor, "noise", 5*time.Minute, "noise phases: time counted")
	flag.BoolVar(&o.explain, "explain", false, "print Vigil's transitions of each target (fleet-wide and the caller's own view)")
	flag.Parse()
	if *short {
		rates, phases = "200", "outage"
		o.healthy, o.outage, o.recovered = 10*time.Second, 10*time.Second, 10*time.Second
	}
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 1 || n > 5000 {
			fmt.Fprintf(os.Stderr, "-rates: %q is not a rate between 1 and 5000\n", r)
			os.Exit(2)
		}
		o.rates = append(o.rates, n)
	}
	for _, group := range strings.Split(phases, ",") {
		o.groups = append(o.groups, strings.Split(group, "+"))
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "breakerscenario:", err)
		os.Exit(1)
	}
}

func buildPhases(o options) ([]*phase, error) {
	var out []*phase
	for gi, group := range o.groups {
		for _, name := range group {
			p, err := buildPhase(o, strings.TrimSpace(name))
			if err != nil {
				return nil, err
			}
			p.group = gi
			out = append(out, p)
		}
	}
	return out, nil
}

func buildPhase(o options, name string) (*phase, error) {
	healthy := func(until time.Duration) segment {
		return segment{until: until, errProb: 0.01, latency: 20 * time.Millisecond}
	}
	var out []*phase
	{
		switch name {
		case "outage":
			h, ho := o.healthy, o.healthy+o.outage
			out = append(out, &phase{name: "outage", changeAt: h, recoverAt: ho, segments: []segment{
				healthy(h), {until: ho, down: true}, healthy(ho + o.recovered)}})
		case "latency":
			h := o.healthy
			out = append(out, &phase{name: "latency", changeAt: h, segments: []segment{
				healthy(h), {until: h + o.slow, errProb: 0.01, latency: 300 * time.Millisecond}}})
		case "noise10", "noise20":
			p := 0.1
			if name == "noise20" {
				p = 0.2
			}
			out = append(out, &phase{name: name, measureFrom: o.noiseWarmup, segments: []segment{
				{until: o.noiseWarmup + o.noiseFor, errProb: p, latency: 20 * time.Millisecond}}})
		default:
			return nil, fmt.Errorf("-phases: unknown phase %q (outage, latency, noise10, noise20)", name)
		}
	}
	return out[0], nil
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	phases, err := buildPhases(o)
	if err != nil {
		return err
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return err
	}
	binary, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "breakerscenario-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	col, err := startCollector(binary, root, dir)
	if err != nil {
		return err
	}
	defer func() {
		if serr := col.stop(); serr != nil && err == nil {
			err = serr
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &server{targets: map[string]*serverTarget{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /svc/{target}", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(l) }()
	defer hs.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	defer httpc.CloseIdleConnections()

	var callers []*caller
	var tracings []*tracing
	var clients []*vigilbreaker.Client
	defer func() {
		for _, t := range tracings {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = t.tp.Shutdown(sctx)
			scancel()
		}
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for _, p := range phases {
		for _, rate := range o.rates {
			for _, kind := range []string{kindBefore, kindClient, kindGobreaker} {
				short := map[string]string{kindBefore: "get", kindClient: "client", kindGobreaker: "gobreaker"}[kind]
				target := fmt.Sprintf("checkout-%s-%d-%s", p.name, rate, short)
				c := &caller{kind: kind, phase: p, rate: rate, target: target, http: httpc,
					svcURL: "http://" + l.Addr().String() + "/svc/" + target, api: col.API}
				st := &serverTarget{phase: p}
				if kind != kindGobreaker {
					if c.tracing, err = newTracing(ctx, "frontend-"+target, col.OTLP); err != nil {
						return err
					}
					if st.tracing, err = newTracing(ctx, target, col.OTLP); err != nil {
						return err
					}
					tracings = append(tracings, c.tracing, st.tracing)
				}
				switch kind {
				case kindClient:
					if c.client, err = vigilbreaker.New(vigilbreaker.Config{Endpoint: col.API, Caller: "frontend-" + target}); err != nil {
						return err
					}
					clients = append(clients, c.client)
				case kindGobreaker:
					c.gb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
						Name: target, Timeout: 10 * time.Second,
						ReadyToTrip: func(cnt gobreaker.Counts) bool { return cnt.ConsecutiveFailures >= 5 },
					})
				}
				srv.targets[target] = st
				callers = append(callers, c)
			}
		}
	}
	for range 500 {
		up := true
		for _, c := range clients {
			up = up && c.Stats().Connected
		}
		if up {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range clients {
		if !c.Stats().Connected {
			return errors.New("a vigilbreaker client did not subscribe within 5 s")
		}
	}

	// Vigil's openings of each instrumented caller's target, from the watch stream.
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watching, ready sync.WaitGroup
	for _, c := range callers {
		if c.tracing == nil {
			continue
		}
		watching.Add(1)
		ready.Add(1)
		go func() {
			defer watching.Done()
			c.watchOpens(watchCtx, col.API, "frontend-"+c.target, &ready)
		}()
	}
	ready.Wait()
	defer func() {
		stopWatch()
		watching.Wait()
	}()

	total := time.Duration(0)
	for gi := range o.groups {
		longest := time.Duration(0)
		for _, p := range phases {
			if p.group == gi {
				longest = max(longest, p.end())
			}
		}
		total += longest
	}
	fmt.Fprintf(out, "breakerscenario: %d callers, rates %v, phases %v (groups one after another), %s; collector %s\n",
		len(callers), o.rates, o.groups, total, binary)
	// Groups run one after another, so the machine carries one group's load at a time.
	for gi := range o.groups {
		t0 := time.Now()
		for _, p := range phases {
			if p.group == gi {
				p.t0 = t0
			}
		}
		var wg sync.WaitGroup
		for _, c := range callers {
			if c.phase.group == gi {
				wg.Add(1)
				go c.run(ctx, t0, &wg)
			}
		}
		wg.Wait()
	}
	printTables(out, phases, callers)
	if o.explain {
		explain(out, col.API, callers)
	}
	fmt.Fprintln(out)
	for _, c := range callers {
		if n := c.transportErrs.Load(); n > 0 {
			fmt.Fprintf(out, "%s: %d calls got no answer (last: %v)\n", c.target, n, c.lastErr.Load())
		}
	}
	for _, c := range callers {
		if c.client != nil {
			s := c.client.Stats()
			fmt.Fprintf(out, "%s: vigil client: local opens %d, trials passed %d, ramps completed %d, events %d, bad events %d, reconnects %d\n",
				c.target, s.LocalOpens, s.TrialsPassed, s.RampsCompleted, s.Events, s.BadEvents, s.Reconnects)
		}
	}
	return nil
}
