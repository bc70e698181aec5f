// Package vigilbreaker is a circuit-breaker client for Vigil. An application asks it before
// every call (Allow), and tells it how the call ended (Permit.Done). Decisions come from local
// state, without a network round trip per call: the application's own outcomes trip a local
// fast path within a few failed calls, and Vigil's verdicts (slow calls, learned noise,
// operator overrides, the fleet's view), received over one long-lived /v1/watch stream, are
// layered on top. When Vigil is unreachable for longer than Config.MaxStale, its verdicts are
// dropped and only the local fast path decides (fail-open).
//
//	c, err := vigilbreaker.New(vigilbreaker.Config{Endpoint: "http://localhost:13180", Caller: "frontend"})
//	...
//	defer c.Close()
//	p, ok := c.Allow("checkout")
//	if !ok {
//		return vigilbreaker.ErrOpen
//	}
//	err := callCheckout(ctx)
//	p.Done(vigilbreaker.OutcomeOf(err))
//
// The module has no dependency on the collector.
package vigilbreaker // import "github.com/vigil-collector/vigil/clients/go/vigilbreaker"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrOpen is returned (wrapped) by the HTTP and gRPC wrappers when the breaker refuses a call.
var ErrOpen = errors.New("vigilbreaker: circuit open")

// Outcome is how a call ended.
type Outcome uint8

const (
	// Success is a call that answered (however slowly: Vigil judges slowness from spans).
	Success Outcome = iota
	// Failure is a call that failed or timed out.
	Failure
	// Ignored is a call that says nothing about the target (the caller cancelled it).
	Ignored
)

// OutcomeOf maps an error to an outcome: nil is Success, context.Canceled is Ignored, anything
// else is Failure.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return Success
	case errors.Is(err, context.Canceled):
		return Ignored
	default:
		return Failure
	}
}

// Config configures a Client. Zero values take the defaults named on each field.
type Config struct {
	// Endpoint is the base URL of Vigil's breaker API (for example http://localhost:13180).
	// Empty runs the local fast path alone, with no subscription.
	Endpoint string
	// Caller is this application's service name. It is sent with the subscription so Vigil can
	// add this caller's own view of a callee to the fleet-wide one.
	Caller string
	// Token, when set, is sent as "Authorization: Bearer <token>" (Vigil's `auth:` setting).
	Token string
	// HTTPClient makes the subscription's requests (default: a client without a timeout, as a
	// stream is long-lived; each snapshot request has its own timeout).
	HTTPClient *http.Client

	// ConsecutiveFailures is the shortest run of failed calls that opens the local fast path
	// (default 5, as gobreaker's usual setting). A target whose own failure rate, as this
	// client learns it, makes such a run likely by chance needs a longer run: the smallest
	// k >= ConsecutiveFailures with rate^k <= 5e-8, the rule Vigil uses. A run of slow calls
	// (slower than 1.5 × the p95 of latency this client learns for the target) opens it by the
	// same rule on the learned slow rate, once it lasts a second.
	ConsecutiveFailures int
	// OpenInitial is how long the local fast path stays open before its first trial call
	// (default 1s); each failed trial doubles it up to OpenMax (default 4s).
	OpenInitial time.Duration
	OpenMax     time.Duration
	// ProbedTrialInterval is the least time between trials while Vigil's verdict is open and
	// its active probe of the target fails (default 15s): the probe already tests the target,
	// and its pass brings the next trial forward at once.
	ProbedTrialInterval time.Duration
	// TrialTimeout bounds how long a trial may stay out before another may go (default 10s).
	TrialTimeout time.Duration
	// HalfOpenSteps are the percentages of calls admitted while recovering (default 10, 50,
	// 100); each step ends after SuccessesPerStep successes (default 3), or after
	// MaxStepDuration (default 1s) with at least one.
	HalfOpenSteps    []float64
	SuccessesPerStep int
	MaxStepDuration  time.Duration

	// MaxStale is how long Vigil's verdicts are kept while the subscription is down (default
	// 30s). Past it they are dropped and only the local fast path decides.
	MaxStale time.Duration
	// IdleTimeout ends a stream that sent nothing, not even a keepalive, for this long
	// (default 40s; Vigil sends a keepalive every 15 s).
	IdleTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff (default 100ms and 5s).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// RequestTimeout bounds a snapshot request (default 2s).
	RequestTimeout time.Duration
	// MaxTargets caps the targets tracked (default 1024); calls to further targets are
	// allowed untracked and counted in Stats.Untracked.
	MaxTargets int
	// MaxTargetLength caps a target name in bytes (default 256, as Vigil's).
	MaxTargetLength int
	// LearnHalfLife is how fast the learned failure rate forgets (default 2m).
	LearnHalfLife time.Duration
}

func (cfg *Config) setDefaults() {
	def(&cfg.ConsecutiveFailures, 5)
	def(&cfg.OpenInitial, time.Second)
	def(&cfg.OpenMax, 4*time.Second)
	def(&cfg.ProbedTrialInterval, 15*time.Second)
	def(&cfg.TrialTimeout, 10*time.Second)
	if len(cfg.HalfOpenSteps) == 0 {
		cfg.HalfOpenSteps = []float64{10, 50, 100}
	}
	def(&cfg.SuccessesPerStep, 3)
	def(&cfg.MaxStepDuration, time.Second)
	def(&cfg.MaxStale, 30*time.Second)
	def(&cfg.IdleTimeout, 40*time.Second)
	def(&cfg.ReconnectMin, 100*time.Millisecond)
	def(&cfg.ReconnectMax, 5*time.Second)
	def(&cfg.RequestTimeout, 2*time.Second)
	def(&cfg.MaxTargets, 1024)
	def(&cfg.MaxTargetLength, 256)
	def(&cfg.LearnHalfLife, 2*time.Minute)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
}

// def sets *p to v when it is the zero value (unset).
func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Validate checks the configuration after defaults, naming the field at fault.
func (cfg *Config) Validate() error {
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("vigilbreaker: Endpoint: %q is not an http(s) URL", cfg.Endpoint)
		}
	}
	if cfg.Caller != "" {
		if err := validName(cfg.Caller, cfg.MaxTargetLength); err != nil {
			return fmt.Errorf("vigilbreaker: Caller: %w", err)
		}
	}
	for name, d := range map[string]time.Duration{
		"OpenInitial": cfg.OpenInitial, "OpenMax": cfg.OpenMax, "TrialTimeout": cfg.TrialTimeout,
		"ProbedTrialInterval": cfg.ProbedTrialInterval,
		"MaxStepDuration":     cfg.MaxStepDuration, "MaxStale": cfg.MaxStale, "IdleTimeout": cfg.IdleTimeout,
		"ReconnectMin": cfg.ReconnectMin, "ReconnectMax": cfg.ReconnectMax,
		"RequestTimeout": cfg.RequestTimeout, "LearnHalfLife": cfg.LearnHalfLife,
	} {
		if d < 0 {
			return fmt.Errorf("vigilbreaker: %s: must not be negative, is %s", name, d)
		}
	}
	switch {
	case cfg.ConsecutiveFailures < 1:
		return fmt.Errorf("vigilbreaker: ConsecutiveFailures: must be at least 1, is %d", cfg.ConsecutiveFailures)
	case cfg.OpenMax < cfg.OpenInitial:
		return fmt.Errorf("vigilbreaker: OpenMax: must be at least OpenInitial (%s), is %s", cfg.OpenInitial, cfg.OpenMax)
	case cfg.ReconnectMax < cfg.ReconnectMin:
		return fmt.Errorf("vigilbreaker: ReconnectMax: must be at least ReconnectMin (%s), is %s", cfg.ReconnectMin, cfg.ReconnectMax)
	case cfg.SuccessesPerStep < 1:
		return fmt.Errorf("vigilbreaker: SuccessesPerStep: must be at least 1, is %d", cfg.SuccessesPerStep)
	case cfg.MaxTargets < 1:
		return fmt.Errorf("vigilbreaker: MaxTargets: must be at least 1, is %d", cfg.MaxTargets)
	case cfg.MaxTargetLength < 1:
		return fmt.Errorf("vigilbreaker: MaxTargetLength: must be at least 1, is %d", cfg.MaxTargetLength)
	}
	prev := 0.0
	for i, p := range cfg.HalfOpenSteps {
		if !(p > prev && p <= 100) {
			return fmt.Errorf("vigilbreaker: HalfOpenSteps[%d]: must be increasing within (0, 100], is %g", i, p)
		}
		prev = p
	}
	if prev != 100 {
		return fmt.Errorf("vigilbreaker: HalfOpenSteps: must end at 100, ends at %g", prev)
	}
	return nil
}

// validName applies Vigil's target name rule: non-empty, at most maxLen bytes, UTF-8 without
// control characters.
func validName(name string, maxLen int) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > maxLen:
		return fmt.Errorf("name is %d bytes, at most %d", len(name), maxLen)
	case !utf8.ValidString(name):
		return errors.New("name is not UTF-8")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return errors.New("name holds control characters")
	}
	return nil
}

// Client decides calls to targets. It is safe for concurrent use; create one per process and
// Close it on shutdown.
type Client struct {
	cfg   Config
	epoch time.Time
	now   func() int64 // monotonic nanoseconds since epoch

	targets atomic.Pointer[map[string]*entry]
	addMu   sync.Mutex

	stale atomic.Bool // Vigil's verdicts are too old to act on

	stats  counters
	cancel context.CancelFunc
	wg     sync.WaitGroup
	newT   chan string // targets the subscription has not fetched a status for yet
	trials chan trialReport
}

// trialReport is a trial call's result, for Vigil (POST /v1/breakers/{target}/trials).
type trialReport struct {
	target string
	ok     bool
}

type counters struct {
	untracked, localOpens, localSlowOpens    atomic.Uint64
	trialsPassed, rampsCompleted             atomic.Uint64
	events, badEvents, reconnects, snapshots atomic.Uint64
	trialsReported, trialsUnreported         atomic.Uint64
	connected                                atomic.Bool
}

// Stats are the client's own counts, for its user's telemetry.
type Stats struct {
	Targets        int    // targets tracked
	Untracked      uint64 // calls allowed untracked (past MaxTargets, or an invalid name)
	LocalOpens     uint64 // times the local fast path opened
	LocalSlowOpens uint64 // of those, on a run of slow calls
	TrialsPassed   uint64 // trial calls that found the target answering again
	RampsCompleted uint64 // half-open ramps this client walked to the end
	Events         uint64 // transitions received from Vigil
	BadEvents      uint64 // events that could not be read (counted and skipped)
	Reconnects     uint64 // subscription (re)connections
	Snapshots      uint64 // target statuses fetched
	// TrialsReported are trial results Vigil took; TrialsUnreported those it did not get
	// (queue full, Vigil unreachable, or the target unknown to it).
	TrialsReported, TrialsUnreported uint64
	Connected                        bool // the subscription is up
	Stale                            bool // Vigil's verdicts are dropped (down for longer than MaxStale)
}

// New returns a started client. With an Endpoint it subscribes to Vigil's transitions in the
// background; decisions never wait for it.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, epoch: time.Now(), newT: make(chan string, 256), trials: make(chan trialReport, 64)}
	c.now = func() int64 { return int64(time.Since(c.epoch)) }
	empty := map[string]*entry{}
	c.targets.Store(&empty)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go c.learnLoop(ctx)
	if cfg.Endpoint != "" {
		c.wg.Add(2)
		go c.watchLoop(ctx)
		go c.reportLoop(ctx)
	} else {
		c.stale.Store(true)
	}
	return c, nil
}

// Close stops the subscription and the client's goroutines. Decisions keep working on the
// local fast path alone.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// Permit is a granted call. Call Done exactly once when the call ends.
type Permit struct {
	e     *entry
	kind  permitKind
	start int64
}

// Allow decides whether a call to target may go ahead now. It reads local state only: no
// network, no lock and no allocation while the target is closed. The permit holds the call's
// start, read from the monotonic clock, so Done knows its latency.
func (c *Client) Allow(target string) (Permit, bool) {
	e := (*c.targets.Load())[target]
	if e == nil {
		e = c.add(target)
		if e == nil {
			return Permit{kind: kindFree}, true
		}
	}
	if e.gate.Load() == 0 {
		return Permit{e: e, start: c.now()}, true
	}
	kind, ok := c.decide(e)
	if !ok {
		return Permit{}, false
	}
	return Permit{e: e, kind: kind, start: c.now()}, true
}

// Done reports how the permitted call ended.
func (p Permit) Done(o Outcome) {
	e := p.e
	if e == nil || p.kind == kindFree {
		return
	}
	if p.kind != kindNormal {
		e.client.done(e, p.kind, p.start, e.client.now(), o)
		return
	}
	if o == Ignored {
		return
	}
	now := e.client.now()
	e.calls.Add(1)
	if o == Success {
		if e.observe(p.start, now) {
			e.client.done(e, p.kind, p.start, now, o)
		}
		return
	}
	e.fails.Add(1)
	if e.failures.Add(1) == 1 {
		e.runStart.Store(p.start)
	}
	if e.failures.Load() >= e.needed.Load() {
		e.client.done(e, p.kind, p.start, now, o)
	}
}

// State returns the state this client acts in for target, and whether it is tracked.
func (c *Client) State(target string) (State, bool) {
	e := (*c.targets.Load())[target]
	if e == nil {
		return Closed, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.effective(c.stale.Load()), true
}

// Stats returns the client's own counts.
func (c *Client) Stats() Stats {
	return Stats{
		Targets:          len(*c.targets.Load()),
		Untracked:        c.stats.untracked.Load(),
		LocalOpens:       c.stats.localOpens.Load(),
		LocalSlowOpens:   c.stats.localSlowOpens.Load(),
		TrialsPassed:     c.stats.trialsPassed.Load(),
		RampsCompleted:   c.stats.rampsCompleted.Load(),
		Events:           c.stats.events.Load(),
		BadEvents:        c.stats.badEvents.Load(),
		Reconnects:       c.stats.reconnects.Load(),
		Snapshots:        c.stats.snapshots.Load(),
		TrialsReported:   c.stats.trialsReported.Load(),
		TrialsUnreported: c.stats.trialsUnreported.Load(),
		Connected:        c.stats.connected.Load(),
		Stale:            c.stale.Load(),
	}
}

// add starts tracking target; nil when the name is invalid or the cap is reached. The map is
// copied on write: targets are few and added once, decisions are many.
func (c *Client) add(target string) *entry {
	c.addMu.Lock()
	defer c.addMu.Unlock()
	old := *c.targets.Load()
	if e := old[target]; e != nil {
		return e
	}
	if len(old) >= c.cfg.MaxTargets || validName(target, c.cfg.MaxTargetLength) != nil {
		c.stats.untracked.Add(1)
		return nil
	}
	name := strings.Clone(target) // the caller's string may alias a buffer it reuses
	e := &entry{name: name, client: c}
	e.needed.Store(uint32(neededRun(c.cfg.ConsecutiveFailures, initialFailureRate)))
	e.learnedFails, e.learnedCalls = initialFailureRate*priorCalls, priorCalls
	e.learnedSlow, e.learnedSlowCalls = (1-slowQuantile)*priorCalls, priorCalls
	e.slowNeeded.Store(uint32(neededRun(c.cfg.ConsecutiveFailures, 1-slowQuantile)))
	next := make(map[string]*entry, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = e
	c.targets.Store(&next)
	if c.cfg.Endpoint != "" {
		select {
		case c.newT <- name:
		default: // the next reconnect's snapshot fetches it
		}
	}
	return e
}

// The failure-rate prior, as Vigil's defaults: 10% as if seen over 100 calls, decaying with
// what is learned.
const (
	initialFailureRate = 0.1
	priorCalls         = 100
	// chanceOpen is how unlikely by chance a run of failures must be to open (Vigil's rule).
	chanceOpen = 5e-8
	maxRun     = 64
)

// neededRun is the smallest k >= minRun with rate^k <= chanceOpen.
func neededRun(minRun int, rate float64) int {
	if rate <= 0 {
		return minRun
	}
	if rate >= 1 {
		return maxRun
	}
	k := int(math.Ceil(math.Log(chanceOpen) / math.Log(rate)))
	return min(max(k, minRun), maxRun)
}

// learnEvery is how often each target's failure rate is folded into what it has learned.
const learnEvery = time.Second

// learnLoop folds each target's outcomes into its learned failure rate once a second, while
// the target is closed, so that a noisy target needs a longer run of failures to open.
func (c *Client) learnLoop(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(learnEvery)
	defer t.Stop()
	decay := math.Exp2(-float64(learnEvery) / float64(c.cfg.LearnHalfLife))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, e := range *c.targets.Load() {
			e.learn(decay, c)
		}
	}
}
