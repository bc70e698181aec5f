// Package health is the healthscore processor's state and logic: the bounded registries of
// components, hosts and caller → callee edges, the span and metric observers that fill them, and
// the scorer that turns one interval of inputs into scores, signals and dependency figures.
//
// Concurrency: observing a span takes no lock. A component's counters are atomics (calls and
// errors packed into one word, latencies in a lock-free histogram); names resolve through
// read-mostly indexes that take a lock only to insert. Metric inputs (probes, RED histograms,
// host utilisation) arrive at a far lower rate and take the lock of the one component or host
// they describe. The scorer runs on one goroutine and owns the scoring state.
package health // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// Settings are the engine's parameters (the processor's config, validated).
type Settings struct {
	// Interval is the expected time between scoring passes (the first pass's rate divisor).
	Interval time.Duration
	// MaxComponents, MaxEdges and MaxHosts cap the registries; past MaxComponents or MaxHosts
	// the least recently seen entries are evicted, past MaxEdges new edges are skipped.
	MaxComponents, MaxEdges, MaxHosts int
	// MaxNameLength caps service, peer and host names, in bytes.
	MaxNameLength int
	// StaleAfter: a signal without data for this long drops out of the score; a component with
	// no fresh signal is unknown.
	StaleAfter time.Duration
	// ExpireAfter: a component, edge or host without data for this long is forgotten.
	ExpireAfter time.Duration

	Weights           score.Weights
	Healthy, Degraded float64

	// SLOTarget is the success ratio the errors signal is measured against; PriorCalls the
	// smoothing of the error ratio and the Apdex.
	SLOTarget, PriorCalls float64

	// LatencyThreshold is the Apdex threshold of every component (0: learned), overridden per
	// component by LatencyThresholds.
	LatencyThreshold  time.Duration
	LatencyThresholds map[string]time.Duration
	// LatencyQuantile of the learned baseline is the learned threshold (0.95: p95).
	LatencyQuantile float64
	// BaselineHalfLife is how fast the latency baseline forgets; BaselineMinCalls how many
	// latencies it must hold before the learned threshold is used.
	BaselineHalfLife time.Duration
	BaselineMinCalls float64

	// SaturationThreshold is the utilisation from which the saturation signal falls, to
	// SaturationFloor at full utilisation.
	SaturationThreshold, SaturationFloor float64

	// Damping scales how much the callees' health lowers a caller's dependencies signal.
	Damping float64

	// EventsMinRate is the least rate of ERROR and FATAL log records per second a component is
	// allowed, whatever it learned; EventsWarmUp is how much history the learned rate needs
	// before a burst stops teaching it (it forgets at BaselineHalfLife).
	EventsMinRate float64
	EventsWarmUp  time.Duration
}

// Limits of the per-component collections that metrics fill.
const (
	// maxHostsPerComponent bounds the hosts a service is linked to.
	maxHostsPerComponent = 16
	// maxProbeTargets bounds the healthcheck targets of one service.
	maxProbeTargets = 32
	// maxREDSeries bounds the RED histogram series of one service.
	maxREDSeries = 256
	// maxDependencyPasses bounds the fixed-point passes that propagate scores along edges.
	maxDependencyPasses = 32
)

// Engine holds the state of one healthscore processor; every method is safe for concurrent use.
type Engine struct {
	s Settings

	feeder atomic.Pointer[feederRef]

	components *registry.Registry[*component]
	hosts      *registry.Registry[*host]
	// compFloor and hostFloor bound from below when a component or host was last seen, so that
	// a scoring pass scans them for expiry only once the cut can have passed one (see floor).
	compFloor, hostFloor floor

	// aliases maps a server.address that SERVER spans of a service carry to that service's
	// name, so CLIENT spans that name only the address reach the service's component.
	aliases    *registry.Index[*alias]
	aliasCount atomic.Int64

	edgeCount atomic.Int64

	c counters

	scoreMu   sync.Mutex
	lastScore int64
	pass      uint64

	last atomic.Pointer[Snapshot] // the latest pass's snapshot
}

type feederRef struct{ f breakerfeed.Feeder }

// New returns an engine with settings s.
func New(s Settings) *Engine {
	e := &Engine{s: s, aliases: registry.NewIndex[*alias]()}
	e.components = registry.New(registry.Options[*component]{
		Cap: s.MaxComponents, MaxNameLength: s.MaxNameLength,
		Seen:    (*component).seen,
		OnEvict: e.componentEvicted,
	})
	e.hosts = registry.New(registry.Options[*host]{
		Cap: s.MaxHosts, MaxNameLength: s.MaxNameLength,
		Seen:    (*host).seen,
		OnEvict: func(*host) { e.c.evicted[kindHost].Add(1) },
	})
	return e
}

// componentEvicted counts a component evicted past the cap, with its edges, and tells the edges
// that point to it to look the name up again.
func (e *Engine) componentEvicted(c *component) {
	e.c.evicted[kindComponent].Add(1)
	c.gone.Store(true)
	if n := c.edgeTotal(); n > 0 {
		e.edgeCount.Add(-n)
		e.c.evicted[kindEdge].Add(uint64(n))
	}
}

// checkName is the registry's name rule as a skip reason (skipNone: the name is accepted).
func checkName(name string, maxLen int) reason {
	return nameReason(registry.CheckName(name, maxLen))
}

func nameReason(p registry.NameProblem) reason {
	switch p {
	case registry.NameOK:
		return skipNone
	case registry.NameTooLong:
		return skipNameTooLong
	}
	return skipInvalidName
}

// errReason is nameReason for the errors of registry.Registry.Get.
func errReason(err error) reason {
	if err == registry.ErrNameTooLong {
		return skipNameTooLong
	}
	return skipInvalidName
}

// SetFeeder makes the engine feed every outcome and probe result to f (nil: feed nothing).
func (e *Engine) SetFeeder(f breakerfeed.Feeder) {
	if f == nil {
		e.feeder.Store(nil)
		return
	}
	e.feeder.Store(&feederRef{f: f})
}

func (e *Engine) loadFeeder() breakerfeed.Feeder {
	if r := e.feeder.Load(); r != nil {
		return r.f
	}
	return nil
}

// component returns the component named name, creating it when new (and evicting the least
// recently seen past the cap); nil, counted, when the name is refused.
func (e *Engine) component(name string, now int64) *component {
	c, r := e.lookupComponent(name, now)
	if r != skipNone {
		e.skip(r, 1)
	}
	return c
}

// lookupComponent is component without the count: it returns why a name was refused.
func (e *Engine) lookupComponent(name string, now int64) (*component, reason) {
	if c, ok := e.components.Load(name); ok {
		c.touch(now)
		return c, skipNone
	}
	c, err := e.components.Get(name, func(key string) *component { return newComponent(key, now) })
	if err != nil {
		return nil, errReason(err)
	}
	c.touch(now)
	e.compFloor.lower(now)
	return c, skipNone
}

// host returns the host named name for an update, creating it when new (and evicting the least
// recently seen past the cap); nil, counted, when the name is refused.
func (e *Engine) host(name string, now int64) *host {
	if h, ok := e.hosts.Load(name); ok {
		h.touch(now)
		return h
	}
	h, err := e.hosts.Get(name, func(key string) *host { return &host{name: key} })
	if err != nil {
		e.skip(errReason(err), 1)
		return nil
	}
	h.touch(now)
	e.hostFloor.lower(now)
	return h
}

// alias is a server.address learned from SERVER spans: the services that serve it, by port
// (one address, such as localhost or a shared ingress, may front several services).
type alias struct {
	mu    sync.Mutex // writers; readers load ports
	ports atomic.Pointer[[]aliasPort]
}

// aliasPort is one service behind an address (port 0: the spans gave none).
type aliasPort struct {
	port    int64
	service string
}

// maxAliasPorts bounds the services remembered per address.
const maxAliasPorts = 16

// learnAlias records that SERVER spans of svc carry server.address addr and server.port port.
func (e *Engine) learnAlias(addr string, port int64, svc *component) {
	a, ok := e.aliases.Load(addr)
	if ok {
		if p := a.ports.Load(); p != nil {
			for _, ap := range *p {
				if ap.port == port && ap.service == svc.name {
					return
				}
			}
		}
	} else {
		if checkName(addr, e.s.MaxNameLength) != skipNone || e.aliasCount.Load() >= int64(e.s.MaxComponents) {
			return // an alias is a convenience: without one the address is its own component
		}
		var created bool
		a, created = e.aliases.LoadOrStore(addr, func(string) *alias { return &alias{} })
		if created {
			e.aliasCount.Add(1)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var next []aliasPort
	if p := a.ports.Load(); p != nil {
		next = make([]aliasPort, 0, len(*p)+1)
		for _, ap := range *p {
			if ap.port != port {
				next = append(next, ap)
			}
		}
	}
	if len(next) >= maxAliasPorts {
		next = next[1:] // the oldest port goes
	}
	next = append(next, aliasPort{port: port, service: svc.name})
	a.ports.Store(&next)
}

// resolveAlias returns the service that serves addr on port, or addr itself. A span without a
// port matches an address only one service was seen behind.
func (e *Engine) resolveAlias(addr string, port int64) string {
	a, ok := e.aliases.Load(addr)
	if !ok {
		return addr
	}
	p := a.ports.Load()
	if p == nil {
		return addr
	}
	for _, ap := range *p {
		if ap.port == port {
			return ap.service
		}
	}
	if port == 0 && len(*p) == 1 {
		return (*p)[0].service
	}
	if len(*p) == 1 && (*p)[0].port == 0 {
		return (*p)[0].service
	}
	return addr
}

// cutoffs returns the status cut-offs.
func (e *Engine) cutoffs() score.Cutoffs {
	return score.Cutoffs{Healthy: e.s.Healthy, Degraded: e.s.Degraded}
}

// Last returns the latest scoring pass's snapshot (nil before the first); the snapshot is
// never modified after it is published.
func (e *Engine) Last() *Snapshot { return e.last.Load() }
