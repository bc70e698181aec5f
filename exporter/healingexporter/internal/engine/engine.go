// Package engine decides what the healing exporter does with each observation: incidents per
// (rule, target), the `for` delay, dedup, cooldown, maintenance, per-(rule, target) backoff, the
// per-target hourly cap, token-bucket rate limits, escalation and resolution. Every decision is an audit record, and the
// engine's state is the fold of its records: the live path applies each record as it writes it,
// and a restart replays the audit file through the same apply, so limits and dedup survive.
package engine

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/time/rate"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/internal/registry"
)

// Reasons of suppressed and rejected decisions.
const (
	ReasonDedup       = "dedup"
	ReasonInFlight    = "in_flight"
	ReasonCooldown    = "cooldown"
	ReasonBackoff     = "backoff"
	ReasonHourlyCap   = "max_per_target_per_hour"
	ReasonGlobalRate  = "rate_limit:global"
	ReasonActionRate  = "rate_limit:action"
	ReasonTargetRate  = "rate_limit:target"
	ReasonQueueFull   = "queue_full"
	ReasonExhausted   = "actions_exhausted"
	ReasonMaintenance = "maintenance"
	ReasonStale       = "stale"
	ReasonCleared     = "cleared"
	ReasonResolve     = "resolve"
)

// Rate is a token bucket.
type Rate struct {
	PerMinute float64
	Burst     int
}

func (r Rate) limiter() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(r.PerMinute/60), r.Burst)
}

// Rule is what the engine needs of a rule.
type Rule struct {
	Name          string
	For           time.Duration
	Cooldown      time.Duration
	Actions       []string
	EscalateAfter int
}

// Settings configure an Engine.
type Settings struct {
	Rules               []Rule
	Global, PerAction   Rate
	PerTarget           Rate
	MaxPerTargetPerHour int
	BackoffInitial      time.Duration
	BackoffMax          time.Duration
	BackoffMultiplier   float64
	BackoffResetAfter   time.Duration
	MaxIncidents        int
	// QueueSize bounds the actions of one action name dispatched and not completed: each action
	// has its own queue, so a hung endpoint fills its own and starves no other.
	QueueSize         int
	ResolveTimeout    time.Duration
	DryRun            bool
	ActionDryRun      map[string]bool
	ResolvableActions map[string]bool
	// RenotifyAfterRestart names the actions whose interrupted intents (written, outcome unknown
	// when the collector stopped) are run again if their incident still fires after the restart:
	// at least once, for paging. Other actions stay at most once.
	RenotifyAfterRestart map[string]bool
	// Maintenance returns the name of the window suppressing rule at t, if any.
	Maintenance func(rule string, t time.Time) (string, bool)
	// Admit checks a target against an action's own rules (an exec action's pattern); an error
	// rejects the action for that target.
	Admit func(action, target string) error
}

// Observation is one data point of a rule's metric.
type Observation struct {
	Rule       int
	Target     string
	Holds      bool // the condition holds
	Value      float64
	ObservedAt int64 // Unix ns
}

// Dispatch is an action to run (or a resolve to send).
type Dispatch struct {
	Incident string
	Rule     string
	RuleIdx  int
	Target   string
	Action   string
	Step     int
	Value    float64
	Resolve  bool
	FiredAt  time.Time
}

// Writer makes records durable; audit.Log implements it.
type Writer interface {
	Write(recs ...*audit.Record) error
}

type key struct {
	rule   int
	target string
}

type incident struct {
	key       key
	name      string // in the incidents registry
	seq       int64  // when last observed (or opened), in the engine's order of observations
	id        string
	firing    bool
	since     time.Time // first holding observation (pending) or fire time
	firedAt   time.Time
	lastSeen  time.Time
	step      int
	attempts  int
	inFlight  bool
	acted     bool
	executed  []int // steps that ran successfully, for resolves
	lastValue float64
}

// targetState is what the engine keeps per target across rules: its executions in the last hour
// (the hourly cap) and whether any rule fires on it (the backoff reset).
type targetState struct {
	execs        []time.Time // executions in the last hour
	firing       int
	healthySince time.Time
}

// backoffState is the exponential backoff of one (rule, target): one rule's action never waits
// for another rule's on the same target.
type backoffState struct {
	backoff     time.Duration
	nextAllowed time.Time
}

// actionTarget keys the per-target token buckets: one per (action, target), so one action on a
// target does not spend another action's tokens, while two rules running the same action on
// the same target share one bucket.
type actionTarget struct {
	action, target string
}

// Engine holds the decision state. It is not safe for concurrent use; the exporter serialises calls.
type Engine struct {
	s          Settings
	w          Writer
	incidents  *registry.Registry[*incident]
	seq        int64  // observations so far: an incident's seq orders it least recently seen first
	nameBuf    []byte // an incident's registry name, built for a lookup without allocating
	opening    incident
	mkIncident func(name string) *incident // newIncident
	byID       map[string]*incident
	targets    map[string]*targetState
	backoffs   map[key]*backoffState
	buckets    map[actionTarget]*rate.Limiter
	lastExec   map[key]time.Time
	global     *rate.Limiter
	actions    map[string]*rate.Limiter
	pending    map[string]bool // "incident/step" intents without outcome
	inFlight   int
	// inFlightBy counts the dispatched, not completed actions per action name.
	inFlightBy map[string]int
	// interrupted counts, per action, the intents found without outcome at start.
	interrupted map[string]int
	ruleIdx     map[string]int

	batch []*audit.Record

	// SkippedFull counts observations dropped because every incident slot held a firing incident.
	SkippedFull int64
}

// ErrAudit wraps a failure to write the audit file: nothing of the failed call was dispatched.
var ErrAudit = errors.New("audit write failed")

// New builds an engine from the records already in the audit file. Intents found without an
// outcome are recorded as interrupted and never re-run (at most once).
func New(s Settings, w Writer, records []audit.Record, now time.Time) (*Engine, error) {
	e := &Engine{
		s: s, w: w,
		byID:    map[string]*incident{},
		targets: map[string]*targetState{}, backoffs: map[key]*backoffState{},
		buckets: map[actionTarget]*rate.Limiter{}, lastExec: map[key]time.Time{},
		global: s.Global.limiter(), actions: map[string]*rate.Limiter{},
		pending: map[string]bool{}, ruleIdx: map[string]int{},
		inFlightBy: map[string]int{}, interrupted: map[string]int{},
	}
	e.mkIncident = e.newIncident
	e.incidents = registry.New(registry.Options[*incident]{
		Cap:           s.MaxIncidents,
		MaxNameLength: math.MaxInt, // targets come from telemetry, unbounded as before
		Seen:          func(inc *incident) int64 { return inc.seq },
		// A firing incident is never evicted: that would forget that it acted.
		Pinned:  func(inc *incident) bool { return inc.firing },
		OnEvict: e.unindex,
		Serial:  true, // the exporter serialises calls to the engine
	})
	for i, r := range s.Rules {
		e.ruleIdx[r.Name] = i
		for _, a := range r.Actions {
			if e.actions[a] == nil {
				e.actions[a] = s.PerAction.limiter()
			}
		}
	}
	for i := range records {
		e.apply(&records[i])
	}
	// Replayed incidents get a full resolve_timeout from now: their metric has had no chance to
	// arrive while the collector was down.
	for _, inc := range e.incidents.All() {
		inc.lastSeen = now
	}
	e.inFlight = 0
	e.inFlightBy = map[string]int{}
	for p := range e.pending {
		inc, stepStr := splitPending(p)
		step, _ := strconv.Atoi(stepStr)
		r := &audit.Record{Time: now, Decision: audit.DecisionInterrupted, Incident: inc, Step: step,
			Detail: "intent written, outcome unknown (the collector stopped); not run again"}
		if i := e.byID[inc]; i != nil {
			r.Rule, r.Target = e.s.Rules[i.key.rule].Name, i.key.target
			r.Action = e.actionAt(i.key.rule, step)
		}
		if e.s.RenotifyAfterRestart[r.Action] {
			r.Detail = "intent written, outcome unknown (the collector stopped); run again if the incident still fires"
		}
		e.interrupted[r.Action]++
		e.record(r)
	}
	return e, e.flush()
}

// Interrupted returns, per action, the intents New found without an outcome (and recorded as
// interrupted). The map is the engine's: do not modify it.
func (e *Engine) Interrupted() map[string]int { return e.interrupted }

func pendingKey(incident string, step int) string { return incident + "/" + strconv.Itoa(step) }

func splitPending(p string) (string, string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return p, "0"
}

func (e *Engine) actionAt(rule, step int) string {
	acts := e.s.Rules[rule].Actions
	if step < len(acts) {
		return acts[step]
	}
	return ""
}

// Observe decides on a batch of observations and returns the actions to run. The batch's
// records are written (one fsync) before anything is returned.
func (e *Engine) Observe(now time.Time, obs []Observation) ([]Dispatch, error) {
	var out []Dispatch
	for _, o := range obs {
		if o.Rule < 0 || o.Rule >= len(e.s.Rules) {
			continue
		}
		out = append(out, e.observe(now, o)...)
	}
	if err := e.flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Sweep resolves firing incidents not seen for ResolveTimeout and forgets stale pending ones.
func (e *Engine) Sweep(now time.Time) ([]Dispatch, error) {
	var out []Dispatch
	for _, inc := range e.stale(now) {
		if inc.firing {
			out = append(out, e.resolve(now, inc, ReasonStale)...)
		} else {
			e.forget(inc)
		}
	}
	if err := e.flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// Complete records the outcome of a dispatched action.
func (e *Engine) Complete(now time.Time, d Dispatch, runErr error, detail string) error {
	r := &audit.Record{Time: now, Rule: d.Rule, Target: d.Target, Incident: d.Incident, Action: d.Action, Step: d.Step, Detail: detail}
	switch {
	case runErr == nil && d.Resolve:
		r.Decision, r.Reason = audit.DecisionExecuted, ReasonResolve
	case runErr == nil:
		r.Decision = audit.DecisionExecuted
	case d.Resolve:
		r.Decision, r.Reason, r.Detail = audit.DecisionFailed, ReasonResolve, truncate(runErr.Error()+"; "+detail)
	default:
		r.Decision, r.Detail = audit.DecisionFailed, truncate(runErr.Error()+"; "+detail)
	}
	e.record(r)
	return e.flush()
}

// InFlight is the number of actions dispatched and not completed.
func (e *Engine) InFlight() int { return e.inFlight }

// InFlightOf is the number of dispatched, not completed runs of one action.
func (e *Engine) InFlightOf(action string) int { return e.inFlightBy[action] }

func truncate(s string) string {
	const max = 4096
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

func incidentID(rule string, target string, firedAt time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", rule, target, firedAt.UnixNano())
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// record applies a record to the state and queues it for the next flush.
func (e *Engine) record(r *audit.Record) {
	e.apply(r)
	e.batch = append(e.batch, r)
}

func (e *Engine) flush() error {
	if len(e.batch) == 0 {
		return nil
	}
	batch := e.batch
	e.batch = nil
	if err := e.w.Write(batch...); err != nil {
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	return nil
}

// target returns the state of a target, creating it.
func (e *Engine) target(t string) *targetState {
	ts := e.targets[t]
	if ts == nil {
		ts = &targetState{}
		e.targets[t] = ts
	}
	return ts
}

// backoffOf returns the backoff of a (rule, target), creating it.
func (e *Engine) backoffOf(k key) *backoffState {
	b := e.backoffs[k]
	if b == nil {
		b = &backoffState{backoff: e.s.BackoffInitial}
		e.backoffs[k] = b
	}
	return b
}

// bucket returns the token bucket of an (action, target), creating it.
func (e *Engine) bucket(action, target string) *rate.Limiter {
	k := actionTarget{action, target}
	l := e.buckets[k]
	if l == nil {
		l = e.s.PerTarget.limiter()
		e.buckets[k] = l
	}
	return l
}

func (e *Engine) observe(now time.Time, o Observation) []Dispatch {
	k := key{o.Rule, o.Target}
	inc := e.lookup(k)
	if !o.Holds {
		if inc == nil {
			return nil
		}
		if inc.firing {
			return e.resolve(now, inc, ReasonCleared)
		}
		e.forget(inc)
		return nil
	}
	if inc == nil {
		if inc = e.open(k, false); inc == nil {
			e.SkippedFull++
			return nil
		}
		inc.since = now
	} else {
		inc.seq = e.nextSeq()
	}
	inc.lastSeen, inc.lastValue = now, o.Value
	rule := e.s.Rules[o.Rule]
	if !inc.firing {
		if now.Sub(inc.since) < rule.For {
			return nil
		}
		v := o.Value
		e.record(&audit.Record{Time: now, Decision: audit.DecisionFired, Rule: rule.Name, Target: o.Target,
			Incident: incidentID(rule.Name, o.Target, now), Value: &v, ObservedAt: o.ObservedAt})
	}
	return e.tryAct(now, inc, o)
}

func (e *Engine) nextSeq() int64 {
	e.seq++
	return e.seq
}

// name returns k's name in the incidents registry: the rule's index, a separator and the target.
// A target the registry's name rule refuses (it comes from telemetry: control characters, not
// UTF-8) is quoted, with another separator. The name aliases e.nameBuf: it is valid until the
// next call, and the registry copies it when it keeps it.
func (e *Engine) name(k key, quoted bool) string {
	b := strconv.AppendInt(e.nameBuf[:0], int64(k.rule), 10)
	if quoted {
		b = strconv.AppendQuoteToGraphic(append(b, 'q'), k.target)
	} else {
		b = append(append(b, ' '), k.target...)
	}
	e.nameBuf = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// quote reports whether k's target is kept under its quoted name.
func quote(k key) bool { return registry.CheckName(k.target, math.MaxInt) != registry.NameOK }

// lookup returns the incident of k, or nil. A hit costs one map lookup and no allocation.
func (e *Engine) lookup(k key) *incident {
	if inc, ok := e.incidents.Load(e.name(k, false)); ok {
		return inc
	}
	if !quote(k) {
		return nil
	}
	inc, _ := e.incidents.Load(e.name(k, true))
	return inc
}

// open returns a new incident for k, the most recently seen; nil when every slot holds a firing
// incident. Past max_incidents the registry evicts the least recently seen pending ones (the
// excess and 1/64 of the cap at once). A firing incident (replayed) is kept even over the cap.
func (e *Engine) open(k key, firing bool) *incident {
	var inc *incident
	var err error
	e.opening = incident{key: k, firing: firing}
	if firing {
		inc, err = e.incidents.GetPinned(e.name(k, quote(k)), e.mkIncident)
	} else {
		inc, err = e.incidents.Get(e.name(k, quote(k)), e.mkIncident)
	}
	if err != nil {
		return nil
	}
	inc.seq = e.nextSeq()
	return inc
}

// newIncident is the registry's constructor of the incident open is opening (a method value
// made once, so that opening one allocates no closure).
func (e *Engine) newIncident(name string) *incident {
	inc := e.opening
	inc.name = name
	return &inc
}

func (e *Engine) forget(inc *incident) {
	e.incidents.Delete(inc.name)
	e.unindex(inc)
}

// unindex removes an incident from the index by ID.
func (e *Engine) unindex(inc *incident) {
	if inc.id != "" {
		delete(e.byID, inc.id)
	}
}

// stale returns the incidents Sweep takes, least recently seen first: those not seen for
// ResolveTimeout, up to the first (in that order) that was seen since.
func (e *Engine) stale(now time.Time) []*incident {
	fresh := int64(math.MaxInt64) // the least recently seen of those seen since
	var old []*incident
	for _, inc := range e.incidents.All() {
		switch {
		case now.Sub(inc.lastSeen) < e.s.ResolveTimeout:
			fresh = min(fresh, inc.seq)
		default:
			old = append(old, inc)
		}
	}
	old = slices.DeleteFunc(old, func(inc *incident) bool { return inc.seq > fresh })
	slices.SortFunc(old, func(a, b *incident) int { return cmp.Compare(a.seq, b.seq) })
	return old
}

func (e *Engine) suppress(now time.Time, inc *incident, o Observation, action, reason string) []Dispatch {
	v := o.Value
	e.record(&audit.Record{Time: now, Decision: audit.DecisionSuppressed, Reason: reason, Rule: e.s.Rules[inc.key.rule].Name,
		Target: inc.key.target, Incident: inc.id, Action: action, Step: inc.step, Value: &v, ObservedAt: o.ObservedAt})
	return nil
}

func (e *Engine) tryAct(now time.Time, inc *incident, o Observation) []Dispatch {
	rule := e.s.Rules[inc.key.rule]
	switch {
	case inc.acted:
		return e.suppress(now, inc, o, "", ReasonDedup)
	case inc.inFlight:
		return e.suppress(now, inc, o, e.actionAt(inc.key.rule, inc.step), ReasonInFlight)
	case inc.step >= len(rule.Actions):
		return e.suppress(now, inc, o, "", ReasonExhausted)
	}
	if name, on := e.maintenance(rule.Name, now); on {
		return e.suppress(now, inc, o, e.actionAt(inc.key.rule, inc.step), ReasonMaintenance+":"+name)
	}
	if last, ok := e.lastExec[inc.key]; ok && now.Sub(last) < rule.Cooldown {
		return e.suppress(now, inc, o, e.actionAt(inc.key.rule, inc.step), ReasonCooldown)
	}
	ts := e.target(inc.key.target)
	if now.Before(e.backoffOf(inc.key).nextAllowed) {
		return e.suppress(now, inc, o, e.actionAt(inc.key.rule, inc.step), ReasonBackoff)
	}
	last := len(rule.Actions) - 1
	if inc.step < last && e.execsInHour(ts, now) >= e.s.MaxPerTargetPerHour {
		// Past the hourly cap a rule escalates instead of repeating its remediation (apply
		// moves the incident to its last action).
		e.suppress(now, inc, o, e.actionAt(inc.key.rule, inc.step), ReasonHourlyCap)
	}
	action := rule.Actions[inc.step]
	if err := e.admit(action, inc.key.target); err != nil {
		v := o.Value
		e.record(&audit.Record{Time: now, Decision: audit.DecisionRejected, Reason: "target_pattern", Rule: rule.Name,
			Target: inc.key.target, Incident: inc.id, Action: action, Step: inc.step, Value: &v, ObservedAt: o.ObservedAt, Detail: err.Error()})
		return nil
	}
	switch {
	case e.global.TokensAt(now) < 1:
		return e.suppress(now, inc, o, action, ReasonGlobalRate)
	case e.actions[action].TokensAt(now) < 1:
		return e.suppress(now, inc, o, action, ReasonActionRate)
	case e.bucket(action, inc.key.target).TokensAt(now) < 1:
		return e.suppress(now, inc, o, action, ReasonTargetRate)
	case e.inFlightBy[action] >= e.s.QueueSize:
		return e.suppress(now, inc, o, action, ReasonQueueFull)
	}
	v := o.Value
	r := &audit.Record{Time: now, Rule: rule.Name, Target: inc.key.target, Incident: inc.id, Action: action,
		Step: inc.step, Value: &v, ObservedAt: o.ObservedAt}
	if e.s.DryRun || e.s.ActionDryRun[action] {
		r.Decision, r.DryRun = audit.DecisionDryRun, true
		e.record(r)
		return nil
	}
	r.Decision = audit.DecisionExecuting
	e.record(r)
	return []Dispatch{{Incident: inc.id, Rule: rule.Name, RuleIdx: inc.key.rule, Target: inc.key.target, Action: action,
		Step: inc.step, Value: o.Value, FiredAt: inc.firedAt}}
}

func (e *Engine) maintenance(rule string, t time.Time) (string, bool) {
	if e.s.Maintenance == nil {
		return "", false
	}
	return e.s.Maintenance(rule, t)
}

func (e *Engine) admit(action, target string) error {
	if e.s.Admit == nil {
		return nil
	}
	return e.s.Admit(action, target)
}

func (e *Engine) execsInHour(ts *targetState, now time.Time) int {
	n := 0
	for _, t := range ts.execs {
		if now.Sub(t) < time.Hour {
			n++
		}
	}
	return n
}

func (e *Engine) resolve(now time.Time, inc *incident, reason string) []Dispatch {
	rule := e.s.Rules[inc.key.rule]
	v := inc.lastValue
	var out []Dispatch
	for _, step := range inc.executed {
		action := rule.Actions[step]
		if e.s.ResolvableActions[action] && !e.s.DryRun && !e.s.ActionDryRun[action] {
			out = append(out, Dispatch{Incident: inc.id, Rule: rule.Name, RuleIdx: inc.key.rule, Target: inc.key.target,
				Action: action, Step: step, Value: v, Resolve: true, FiredAt: inc.firedAt})
		}
	}
	e.record(&audit.Record{Time: now, Decision: audit.DecisionResolved, Reason: reason, Rule: rule.Name,
		Target: inc.key.target, Incident: inc.id, Value: &v})
	return out
}

// apply folds one record into the state. The live path and the replay both come through here.
func (e *Engine) apply(r *audit.Record) {
	ri, ok := e.ruleIdx[r.Rule]
	if !ok && r.Decision != audit.DecisionInterrupted {
		return // a rule no longer configured
	}
	k := key{ri, r.Target}
	inc := e.lookup(k)
	if inc == nil && r.Incident != "" {
		inc = e.byID[r.Incident]
	}
	switch r.Decision {
	case audit.DecisionFired:
		e.applyFired(k, inc, r)
	case audit.DecisionExecuting, audit.DecisionDryRun:
		e.consume(k, r)
		if inc != nil {
			if r.Decision == audit.DecisionDryRun {
				inc.acted = true
			} else {
				inc.inFlight = true
				e.pending[pendingKey(r.Incident, r.Step)] = true
				e.inFlight++
				e.inFlightBy[r.Action]++
			}
		}
	case audit.DecisionExecuted, audit.DecisionFailed:
		e.applyCompleted(ri, inc, r)
	case audit.DecisionSuppressed:
		if r.Reason == ReasonHourlyCap && inc != nil {
			inc.step, inc.attempts = len(e.s.Rules[ri].Actions)-1, 0
		}
	case audit.DecisionRejected:
		if inc != nil && inc.step+1 < len(e.s.Rules[ri].Actions) {
			inc.step, inc.attempts = inc.step+1, 0
		} else if inc != nil {
			inc.step = len(e.s.Rules[ri].Actions)
		}
	case audit.DecisionInterrupted:
		delete(e.pending, pendingKey(r.Incident, r.Step))
		if i := e.byID[r.Incident]; i != nil {
			// At most once: the incident counts as acted on. At least once (renotify): the step
			// is open again, without the cooldown its lost intent started.
			renotify := e.s.RenotifyAfterRestart[r.Action] && i.step == r.Step
			i.inFlight, i.acted = false, !renotify
			if renotify {
				delete(e.lastExec, i.key)
			}
		}
	case audit.DecisionResolved:
		e.applyResolved(inc, r)
	}
}

// applyFired opens (or reopens) the incident of k and takes its target out of the healthy state.
func (e *Engine) applyFired(k key, inc *incident, r *audit.Record) {
	if inc == nil {
		inc = e.open(k, true)
	}
	inc.firing, inc.firedAt, inc.id, inc.lastSeen = true, r.Time, r.Incident, r.Time
	inc.step, inc.attempts, inc.inFlight, inc.acted, inc.executed = 0, 0, false, false, nil
	if r.Value != nil {
		inc.lastValue = *r.Value
	}
	e.byID[inc.id] = inc
	ts := e.target(r.Target)
	if !ts.healthySince.IsZero() && r.Time.Sub(ts.healthySince) >= e.s.BackoffResetAfter {
		e.backoffOf(k).backoff = e.s.BackoffInitial
	}
	ts.healthySince = time.Time{}
	ts.firing++
}

// applyCompleted closes the pending execution of r; a failure counts an attempt and escalates
// after the rule's escalate_after attempts.
func (e *Engine) applyCompleted(ri int, inc *incident, r *audit.Record) {
	pk := pendingKey(r.Incident, r.Step)
	if r.Reason == ReasonResolve || !e.pending[pk] {
		return
	}
	delete(e.pending, pk)
	e.inFlight--
	if e.inFlightBy[r.Action]--; e.inFlightBy[r.Action] <= 0 {
		delete(e.inFlightBy, r.Action)
	}
	if inc == nil || inc.id != r.Incident {
		return
	}
	inc.inFlight = false
	if r.Decision == audit.DecisionExecuted {
		inc.acted = true
		inc.executed = append(inc.executed, r.Step)
		return
	}
	inc.attempts++
	if inc.attempts >= e.s.Rules[ri].EscalateAfter && inc.step+1 < len(e.s.Rules[ri].Actions) {
		inc.step, inc.attempts = inc.step+1, 0
	}
}

// applyResolved forgets a firing incident; its target is healthy from r.Time once none fires.
func (e *Engine) applyResolved(inc *incident, r *audit.Record) {
	if inc == nil || !inc.firing {
		return
	}
	ts := e.target(r.Target)
	if ts.firing--; ts.firing <= 0 {
		ts.firing, ts.healthySince = 0, r.Time
	}
	e.forget(inc)
}

// consume charges an execution (or a dry run) to every limit it passes.
func (e *Engine) consume(k key, r *audit.Record) {
	e.global.AllowN(r.Time, 1)
	if l := e.actions[r.Action]; l != nil {
		l.AllowN(r.Time, 1)
	}
	ts := e.target(r.Target)
	e.bucket(r.Action, r.Target).AllowN(r.Time, 1)
	kept := ts.execs[:0]
	for _, t := range ts.execs {
		if r.Time.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	ts.execs = append(kept, r.Time)
	b := e.backoffOf(k)
	b.nextAllowed = r.Time.Add(b.backoff)
	b.backoff = min(time.Duration(float64(b.backoff)*e.s.BackoffMultiplier), e.s.BackoffMax)
	e.lastExec[k] = r.Time
}
