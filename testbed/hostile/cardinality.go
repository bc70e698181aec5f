package hostile

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CardinalityOptions size the attack on one shipped config.
type CardinalityOptions struct {
	Binary, RepoRoot, Config, Dir string
	// Names is the number of distinct service names sent, half over each transport.
	Names, PerBatch, Workers int
	// Huge is the number of requests carrying one HugeSize-byte service name (half per transport).
	Huge, HugeSize int
	// Rounds repeats the attack with new names, RoundGap apart (past the guard's interval, each
	// round meets a fresh budget of new series: several rounds fill max_series).
	Rounds   int
	RoundGap time.Duration
	// Warm is how long the collector runs with legitimate traffic before the idle snapshot;
	// Settle how long after the attack before the last one (span_metrics flushes every 15 s).
	Warm, Settle time.Duration
	// RSSCeiling stops the attack early when the collector's RSS passes it (0: 4 GiB), so
	// that measuring an unbounded build cannot take the machine down.
	RSSCeiling int64
	Log        io.Writer
}

// CardinalityResult is the outcome.
type CardinalityResult struct {
	Config      string
	Rows        []Snapshot // idle, after the attack, settled
	PeakRSS     int64
	CeilingHit  bool
	LegitScored bool // the legitimate services still had a health score (or were forwarded) after
	Sent        int64
	Failed      int64
	Logs        string
}

// Legit are the services sending all along; they must keep their scores.
var Legit = []string{"payments", "checkout"}

// RunCardinality starts the shipped config, measures it idle, floods it with names, huge names and
// control characters over gRPC and HTTP, and measures again.
func RunCardinality(ctx context.Context, o CardinalityOptions) (*CardinalityResult, error) {
	if o.RSSCeiling == 0 {
		o.RSSCeiling = 4 << 30
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	sink, err := NewDiscardSink(Legit[0])
	if err != nil {
		return nil, err
	}
	defer sink.Stop()
	setup, err := PrepareShipped(o.RepoRoot, o.Config, o.Dir, sink.Endpoint)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir+"/state", 0o700); err != nil {
		return nil, err
	}
	col, err := StartCollector(o.Binary, setup.ConfigPath, setup.Env)
	if err != nil {
		return nil, err
	}
	res := &CardinalityResult{Config: o.Config}
	defer func() {
		if _, err := col.Stop(30 * time.Second); err != nil {
			fmt.Fprintln(o.Log, "hostile:", err)
		}
		res.Logs = col.Logs()
	}()
	if err := col.WaitReady(setup.HealthURL(), 30*time.Second); err != nil {
		return res, err
	}
	defer startLegit(ctx, fmt.Sprintf("127.0.0.1:%d", setup.Ports.GRPC))()
	return res, runCardinality(ctx, o, &cardinalityRun{setup: setup, col: col, sink: sink, res: res})
}

// cardinalityRun is one attack on a started collector, its result filled in as it goes.
type cardinalityRun struct {
	setup *Setup
	col   *Collector
	sink  *DiscardSink
	res   *CardinalityResult
}

// take appends a snapshot of the collector to the result's rows ("settled" ones read the
// Prometheus page's content too).
func (c *cardinalityRun) take(phase string) (Snapshot, error) {
	page := ""
	if c.setup.HasPage {
		page = c.setup.PageURL()
	}
	s, err := Take(phase, c.col.Pid(), page, c.setup.TelemetryURL(), strings.HasPrefix(phase, "settled"))
	if err == nil {
		c.res.Rows = append(c.res.Rows, s)
	}
	return s, err
}

// runCardinality takes the idle snapshot after the warm-up, runs the attack, takes one right
// after it and one once settled, and tells whether the legitimate services kept their scores.
func runCardinality(ctx context.Context, o CardinalityOptions, c *cardinalityRun) error {
	fmt.Fprintf(o.Log, "hostile: %s: warming up %s with legitimate traffic\n", o.Config, o.Warm)
	sleepCtx(ctx, o.Warm)
	if _, err := c.take("idle (legit traffic)"); err != nil {
		return err
	}
	if err := c.attack(ctx, o); err != nil {
		return err
	}
	c.sink.Reset()
	sleepCtx(ctx, o.Settle)
	settled, err := c.take(fmt.Sprintf("settled (+%s)", o.Settle))
	if err != nil {
		return err
	}
	if c.setup.HasPage {
		c.res.LegitScored = legitScored(settled.Page)
	} else {
		c.res.LegitScored = c.sink.Seen()
	}
	return nil
}

// attack floods the collector for o.Rounds rounds, watching its RSS (the attack stops at
// o.RSSCeiling), and takes the snapshot right after it.
func (c *cardinalityRun) attack(ctx context.Context, o CardinalityOptions) error {
	attackCtx, stopAttack := context.WithCancel(ctx)
	defer stopAttack()
	rss := watchRSS(attackCtx, c.col.Pid(), o.RSSCeiling, stopAttack)
	start := time.Now()
	sent, failed, err := flood(attackCtx, o, c.setup.Ports)
	if err != nil {
		stopAttack()
		rss.wait()
		return err
	}
	attackTime := time.Since(start)
	c.res.Sent, c.res.Failed = sent, failed
	fmt.Fprintf(o.Log, "hostile: %s: attack sent %d requests (%d refused or failed) in %s\n", o.Config, sent, failed, attackTime.Round(time.Millisecond))
	after, err := c.take(fmt.Sprintf("after attack (%.0f s)", attackTime.Seconds()))
	stopAttack()
	peak, hit := rss.wait()
	c.res.PeakRSS, c.res.CeilingHit = max(peak, after.RSS), hit
	return err
}

// flood sends o.Rounds rounds of many names, huge names and control characters, each over gRPC
// and HTTP, and counts the requests sent and those that failed or were refused.
func flood(ctx context.Context, o CardinalityOptions, p Ports) (sent, failed int64, err error) {
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", p.GRPC)
	httpBase := fmt.Sprintf("http://127.0.0.1:%d", p.HTTP)
	for round := range max(1, o.Rounds) {
		if round > 0 {
			sleepCtx(ctx, o.RoundGap)
		}
		for _, tr := range []Transport{GRPC, HTTP} {
			s, err := NewSender(tr, grpcAddr, httpBase)
			if err != nil {
				return sent, failed, err
			}
			SendManyNames(ctx, s, fmt.Sprintf("flood%d-%s", round, tr), o.Names/2, o.PerBatch, o.Workers)
			SendHugeNames(ctx, s, o.Huge/2, o.HugeSize, o.Workers)
			SendControlNames(ctx, s)
			sent, failed = sent+s.Sent.Load(), failed+s.Failed.Load()
			_ = s.Close()
		}
	}
	return sent, failed, nil
}

// rssWatch is the peak RSS of a process, sampled every 100 ms until its context ends.
type rssWatch struct {
	peak    atomic.Int64
	ceiling atomic.Bool
	done    chan struct{}
}

// watchRSS samples pid's RSS until ctx ends, and calls stop once it passes ceiling.
func watchRSS(ctx context.Context, pid int, ceiling int64, stop func()) *rssWatch {
	w := &rssWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			if r, err := RSS(pid); err == nil {
				if r > w.peak.Load() {
					w.peak.Store(r)
				}
				if r > ceiling {
					w.ceiling.Store(true)
					stop()
				}
			}
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}()
	return w
}

// wait waits for the watch to end (its context ended) and returns the peak RSS and whether it
// passed the ceiling.
func (w *rssWatch) wait() (peak int64, ceilingHit bool) {
	<-w.done
	return w.peak.Load(), w.ceiling.Load()
}

// startLegit sends the legitimate services' traffic until ctx ends or the returned stop is
// called; stop waits for the sender to end.
func startLegit(ctx context.Context, grpcAddr string) (stop func()) {
	legitCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sendLegit(legitCtx, grpcAddr)
	}()
	return func() { cancel(); wg.Wait() }
}

// legitScored reports whether every legitimate service has a health_score line on the page.
func legitScored(page string) bool {
	for _, svc := range Legit {
		found := false
		for _, line := range strings.Split(page, "\n") {
			if strings.HasPrefix(line, "health_score{") && strings.Contains(line, `service_name="`+svc+`"`) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sendLegit sends the legitimate services' traffic twice a second until ctx ends.
func sendLegit(ctx context.Context, grpcAddr string) {
	s, err := NewSender(GRPC, grpcAddr, "")
	if err != nil {
		return
	}
	defer s.Close()
	for ctx.Err() == nil {
		td, md := Batch(Legit)
		s.Send(ctx, td, md)
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// Goals of the attack on a shipped config.
const (
	GoalRSSAboveIdle = 300 << 20
	GoalPageBytes    = 20_000_000
	GoalScrape       = time.Second
)

// Verdict lists the goals the run missed (none: bounded).
func (r *CardinalityResult) Verdict() []string {
	var out []string
	if r.CeilingHit {
		out = append(out, "RSS ceiling hit, attack stopped early")
	}
	if len(r.Rows) < 3 {
		return append(out, "run incomplete")
	}
	idle := r.Rows[0]
	for _, s := range r.Rows[1:] {
		if s.RSS-idle.RSS > GoalRSSAboveIdle {
			out = append(out, fmt.Sprintf("%s: RSS %s MiB above idle", s.Phase, MiB(s.RSS-idle.RSS)))
		}
		if s.PageBytes > GoalPageBytes {
			out = append(out, fmt.Sprintf("%s: page %s MiB", s.Phase, MiB(s.PageBytes)))
		}
		if s.PageBytes >= 0 && s.ScrapeTime > GoalScrape {
			out = append(out, fmt.Sprintf("%s: scrape %.2f s", s.Phase, s.ScrapeTime.Seconds()))
		}
		if s.Err != "" {
			out = append(out, fmt.Sprintf("%s: %s", s.Phase, s.Err))
		}
		if s.RawControl > 0 {
			out = append(out, fmt.Sprintf("%s: %d raw control bytes on the page", s.Phase, s.RawControl))
		}
	}
	if !r.LegitScored {
		out = append(out, "legitimate services lost their scores")
	}
	return out
}
