// Command breakerscenario measures what "ask Vigil before you call" does for a real caller,
// beside sony/gobreaker, in one run: a real HTTP service on loopback, callers instrumented
// with the OpenTelemetry Go SDK (default batch span processor, OTLP/gRPC) sending to the
// built otelcol-vigil on its default config (ports moved to free ones), and three ways of
// deciding each call side by side:
//
//   - "vigil GET per call": GET /v1/breakers/{target} before every call (the way before the
//     client library);
//   - "vigil client": the vigilbreaker client library (local decisions, /v1/watch), with the
//     collector's healthcheck receiver probing the callee's health endpoint every second, as
//     a user running Vigil would;
//   - "vigil client, trials only" (outage phase): the same client without a probe, so its
//     trial calls alone find the recovery;
//   - "gobreaker": sony/gobreaker v2, 5 consecutive failures, 10 s timeout, in-process.
//
// Each (phase, rate, way) has its own target service, so no way learns from another's calls.
// Phases run at the same time: an outage (instant 503s), a slowdown (20 -> 300 ms) and
// background noise (10% and 20% errors). It prints one table per phase.
//
//	go run . -binary ../../../_build/otelcol-vigil            # the full run, about 11 minutes
//	go run . -binary ../../../_build/otelcol-vigil -short     # outage only, 30 s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
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
	switch name {
	case "outage":
		h, ho := o.healthy, o.healthy+o.outage
		return &phase{name: "outage", changeAt: h, recoverAt: ho, segments: []segment{
			healthy(h), {until: ho, down: true}, healthy(ho + o.recovered)}}, nil
	case "latency":
		h := o.healthy
		return &phase{name: "latency", changeAt: h, segments: []segment{
			healthy(h), {until: h + o.slow, errProb: 0.01, latency: 300 * time.Millisecond}}}, nil
	case "noise10", "noise20":
		p := 0.1
		if name == "noise20" {
			p = 0.2
		}
		return &phase{name: name, measureFrom: o.noiseWarmup, segments: []segment{
			{until: o.noiseWarmup + o.noiseFor, errProb: p, latency: 20 * time.Millisecond}}}, nil
	}
	return nil, fmt.Errorf("-phases: unknown phase %q (outage, latency, noise10, noise20)", name)
}

// run starts the callee and the collector (probing the callers' targets that have a probe),
// runs every phase group and prints the tables.
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
	callers := planCallers(phases, o.rates)
	svc, err := startService(callers)
	if err != nil {
		return err
	}
	defer svc.close()
	col, err := startCollector(binary, root, dir, svc.probes(callers))
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
	stopCallers, err := startCallers(ctx, callers, svc, col)
	defer stopCallers()
	if err != nil {
		return err
	}
	stopWatch := watchVigil(ctx, col.API, callers)
	defer stopWatch()
	fmt.Fprintf(out, "breakerscenario: %d callers, rates %v, phases %v (groups one after another), %s; collector %s\n",
		len(callers), o.rates, o.groups, totalTime(o, phases), binary)
	runGroups(ctx, o, phases, callers)
	report(out, o, phases, callers, col.API)
	return nil
}

// totalTime is how long the groups take, one after another.
func totalTime(o options, phases []*phase) time.Duration {
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
	return total
}

// runGroups runs the phase groups one after another, so the machine carries one group's load
// at a time.
func runGroups(ctx context.Context, o options, phases []*phase, callers []*caller) {
	for gi := range o.groups {
		t0 := time.Now()
		for _, p := range phases {
			if p.group == gi {
				p.setStart(t0)
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
}

// watchVigil records Vigil's openings of each instrumented caller's target from the watch
// stream, until the returned function is called.
func watchVigil(ctx context.Context, api string, callers []*caller) (stop func()) {
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
			c.watchOpens(watchCtx, api, c.callerName(), &ready)
		}()
	}
	ready.Wait()
	return func() {
		stopWatch()
		watching.Wait()
	}
}

// report prints the tables, Vigil's transitions with -explain, and what the run's figures
// rest on: calls that got no answer, and each client's own counts.
func report(out io.Writer, o options, phases []*phase, callers []*caller, api string) {
	printTables(out, phases, callers)
	if o.explain {
		explain(out, api, callers)
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
			fmt.Fprintf(out, "%s: vigil client: local opens %d (%d on slow calls), trials passed %d, ramps completed %d, events %d, bad events %d, reconnects %d\n",
				c.target, s.LocalOpens, s.LocalSlowOpens, s.TrialsPassed, s.RampsCompleted, s.Events, s.BadEvents, s.Reconnects)
		}
	}
}

// errNotSubscribed: a client's /v1/watch subscription was not up in time.
var errNotSubscribed = errors.New("a vigilbreaker client did not subscribe within 5 s")
