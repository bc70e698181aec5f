package health

import "sync/atomic"

// reason is why an item (a span, a metric point, a name) was skipped.
type reason int

const (
	skipNone reason = iota
	// skipNoServiceName: a resource without a string service.name (its spans yield no outcome).
	skipNoServiceName
	// skipInvalidName: a service, peer or host name that is empty, not UTF-8 or holds control
	// characters.
	skipInvalidName
	// skipNameTooLong: a name longer than max_name_length.
	skipNameTooLong
	// skipNoPeer: a CLIENT or PRODUCER span naming no peer (no service.peer.name, peer.service,
	// server.address or net.peer.name).
	skipNoPeer
	// skipEdgeLimit: a new caller → callee edge past max_edges (the outcome is still recorded).
	skipEdgeLimit
	// skipSeriesLimit: a new RED metric series or probe target past a component's cap.
	skipSeriesLimit
	// skipHostLimit: a host link past a component's cap (the least recent link is replaced instead
	// when it is stale).
	skipHostLimit
	// skipNoHostName: a host metric whose resource has no host.name.
	skipNoHostName
	// skipBadPoint: a metric point that cannot be read (no value, NaN, inconsistent buckets).
	skipBadPoint
	numReasons
)

var reasonNames = [numReasons]string{
	"", "no_service_name", "invalid_name", "name_too_long", "no_peer", "edge_limit",
	"series_limit", "host_limit", "no_host_name", "bad_point",
}

// String returns the reason as otelcol_healthscore_skipped carries it.
func (r reason) String() string { return reasonNames[r] }

// kind is a kind of tracked entry, for eviction and expiry counts.
type kind int

const (
	kindComponent kind = iota
	kindEdge
	kindHost
	numKinds
)

var kindNames = [numKinds]string{"component", "edge", "host"}

// String returns the kind as the telemetry carries it.
func (k kind) String() string { return kindNames[k] }

// counters are the engine's own counts, read by the processor's telemetry callbacks.
type counters struct {
	outcomes [3]atomic.Uint64 // by breakerfeed.Class: success, error, timeout
	skipped  [numReasons]atomic.Uint64
	evicted  [numKinds]atomic.Uint64
	expired  [numKinds]atomic.Uint64
}

// Stats is a copy of the engine's counts and sizes.
type Stats struct {
	// Components, Edges and Hosts are the entries tracked now.
	Components, Edges, Hosts int64
	// Outcomes counts span outcomes by class name (success, error, timeout).
	Outcomes map[string]uint64
	// Skipped counts skipped items by reason.
	Skipped map[string]uint64
	// Evicted counts entries evicted past their cap, by kind (component, edge, host).
	Evicted map[string]uint64
	// Expired counts entries forgotten after expire_after without data, by kind.
	Expired map[string]uint64
}

// Stats returns the engine's counts.
func (e *Engine) Stats() Stats {
	s := Stats{
		Components: int64(e.components.Len()),
		Edges:      e.edgeCount.Load(),
		Hosts:      int64(e.hosts.Len()),
		Outcomes:   map[string]uint64{},
		Skipped:    map[string]uint64{},
		Evicted:    map[string]uint64{},
		Expired:    map[string]uint64{},
	}
	for i, name := range []string{"success", "error", "timeout"} {
		s.Outcomes[name] = e.c.outcomes[i].Load()
	}
	for r := skipNoServiceName; r < numReasons; r++ {
		s.Skipped[r.String()] = e.c.skipped[r].Load()
	}
	for k := range numKinds {
		s.Evicted[k.String()] = e.c.evicted[k].Load()
		s.Expired[k.String()] = e.c.expired[k].Load()
	}
	return s
}

func (e *Engine) skip(r reason, n uint64) {
	if n > 0 {
		e.c.skipped[r].Add(n)
	}
}
