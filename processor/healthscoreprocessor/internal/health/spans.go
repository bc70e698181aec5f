package health

import (
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

// servedWindow is how recently a component must have reported SERVER or CONSUMER spans for its
// callers' CLIENT spans not to count for its fleet-wide breaker: two of the SDK's default batch
// intervals (5 s), so a component whose spans stopped (a dead process) is judged by its callers
// again within 10 s.
const servedWindow = int64(10 * time.Second)

// ObserveTraces records the outcome of every SERVER, CONSUMER, CLIENT and PRODUCER span of td,
// observed at now, and feeds the breaker one outcome per call. It does not modify td.
//
//   - SERVER and CONSUMER spans: an outcome for their resource's service.name.
//   - CLIENT and PRODUCER spans: an outcome for the peer they name, and for the edge from the
//     resource's service to that peer.
//
// A call between two instrumented services is seen twice, as the caller's CLIENT span and the
// callee's SERVER span. Its health counts both views; the breaker counts it once: the fleet-wide
// breaker of a callee takes its own SERVER spans (how it answers everyone), and its callers'
// CLIENT spans only while it reports none (an uninstrumented dependency, or one whose spans
// stopped for servedWindow); a caller's own view (breakerfeed.CallerFeeder) takes its CLIENT
// spans. So one caller's broken network path opens that caller's view, not everyone's.
//
// INTERNAL and unspecified spans are not calls and yield nothing.
func (e *Engine) ObserveTraces(td ptrace.Traces, now time.Time) {
	b := spanBatch{e: e, now: now, nowNs: now.UnixNano(), feeder: e.loadFeeder()}
	// The breaker takes the batch's time rather than reading the clock for every span.
	b.timed, _ = b.feeder.(breakerfeed.TimedFeeder)
	b.batch, _ = b.feeder.(breakerfeed.BatchFeeder)
	b.callerFeeder, _ = b.feeder.(breakerfeed.CallerFeeder)
	b.timedCaller, _ = b.feeder.(breakerfeed.TimedCallerFeeder)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		b.observeResource(rss.At(i))
	}
	if b.own != nil {
		ownPool.Put(b.own)
	}
	for i, n := range b.outcomes {
		if n > 0 {
			e.c.outcomes[i].Add(n)
		}
	}
}

// spanBatch is what one ObserveTraces call carries from span to span: the time, the breaker's
// feeding interfaces, the outcome counts, and the resource's own outcomes not yet fed.
type spanBatch struct {
	e            *Engine
	now          time.Time
	nowNs        int64
	feeder       breakerfeed.Feeder
	timed        breakerfeed.TimedFeeder
	batch        breakerfeed.BatchFeeder
	callerFeeder breakerfeed.CallerFeeder
	timedCaller  breakerfeed.TimedCallerFeeder
	outcomes     [3]uint64
	// own holds the outcomes of the resource's SERVER and CONSUMER spans, which all go to its
	// service's fleet-wide breaker: with a BatchFeeder they go in runs of up to len(own), one
	// lookup and one lock each, rather than one a span. From ownPool (a slice handed to the
	// feeder escapes, and the batch would with it), taken at the first such span.
	own  *[64]breakerfeed.Outcome
	nOwn int
}

var ownPool = sync.Pool{New: func() any { return new([64]breakerfeed.Outcome) }}

// observeResource records the outcomes of one resource's spans.
func (b *spanBatch) observeResource(rs ptrace.ResourceSpans) {
	e, nowNs, feeding := b.e, b.nowNs, b.feeder != nil
	res := rs.Resource().Attributes()
	svc, r := e.resourceComponent(res, nowNs)
	if svc == nil {
		e.skip(r, uint64(countCalls(rs)))
		return
	}
	if hv, ok := res.Get("host.name"); ok && hv.Type() == pcommon.ValueTypeStr {
		svc.linkHost(hv.Str(), nowNs, e)
	}
	// One batch's client spans mostly name the same few peers, and its server spans the same
	// address: remember the last ones.
	var lastPeer, lastAlias string
	var lastCallee *component
	var lastEdge *edge
	var lastPort int64
	var outcomes [3]uint64
	sss := rs.ScopeSpans()
	for j := 0; j < sss.Len(); j++ {
		spans := sss.At(j).Spans()
		for k := 0; k < spans.Len(); k++ {
			span := spans.At(k)
			kind := span.Kind()
			server := kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer
			if !server && kind != ptrace.SpanKindClient && kind != ptrace.SpanKindProducer {
				continue
			}
			var a callAttrs
			a.read(span.Attributes())
			st := span.Status()
			class := classify(st.Code(), st.Message(), &a)
			lat := spanLatency(span)
			target := svc
			if server {
				svc.served(nowNs)
				if a.serverAddress != "" && (a.serverAddress != lastAlias || a.serverPort != lastPort) {
					e.learnAlias(a.serverAddress, a.serverPort, svc)
					lastAlias, lastPort = a.serverAddress, a.serverPort
				}
			} else {
				peer := a.peerName(e)
				if peer == "" {
					e.skip(skipNoPeer, 1)
					continue
				}
				if peer != lastPeer || lastCallee == nil {
					lastCallee, lastEdge = e.callee(svc, peer, nowNs)
					lastPeer = peer
				}
				if lastCallee == nil {
					continue // refused name, counted
				}
				target = lastCallee
				if lastEdge != nil {
					lastEdge.record(class, lat, nowNs)
				}
			}
			target.record(class, lat)
			outcomes[class]++
			if feeding {
				b.feed(svc, target, server, class, lat, span)
			}
		}
	}
	b.flushOwn(svc)
	for i, n := range outcomes {
		b.outcomes[i] += n
	}
}

// flushOwn feeds the run of svc's own outcomes held in b.own.
func (b *spanBatch) flushOwn(svc *component) {
	if b.nOwn > 0 {
		b.batch.RecordOutcomesAt(svc.name, b.own[:b.nOwn], b.now)
		b.nOwn = 0
	}
}

// feed gives the breaker one call's outcome: to the target's fleet-wide breaker for a SERVER
// span, or for a CLIENT span while the target reports no SERVER spans of its own; and to the
// caller's own view of the target for every CLIENT span.
func (b *spanBatch) feed(svc, target *component, server bool, class breakerfeed.Class, lat int64, span ptrace.Span) {
	o := breakerfeed.Outcome{Class: class, Latency: max(0, time.Duration(lat))}
	if lat >= 0 {
		o.End = int64(span.EndTimestamp())
	}
	if server && b.batch != nil {
		if b.own == nil {
			b.own = ownPool.Get().(*[64]breakerfeed.Outcome)
		} else if b.nOwn == len(b.own) {
			b.flushOwn(svc)
		}
		b.own[b.nOwn] = o
		b.nOwn++
		return
	}
	if server || b.nowNs-target.servedAt.Load() > servedWindow {
		if b.timed != nil {
			b.timed.RecordOutcomeAt(target.name, o, b.now)
		} else {
			b.feeder.RecordOutcome(target.name, o)
		}
	}
	if server {
		return
	}
	switch {
	case b.timedCaller != nil:
		b.timedCaller.RecordCallerOutcomeAt(svc.name, target.name, o, b.now)
	case b.callerFeeder != nil:
		b.callerFeeder.RecordCallerOutcome(svc.name, target.name, o)
	}
}

// resourceComponent returns the component of a resource's service.name, or why there is none
// (the caller counts it, once per item skipped).
func (e *Engine) resourceComponent(res pcommon.Map, now int64) (*component, reason) {
	v, ok := res.Get("service.name")
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return nil, skipNoServiceName
	}
	return e.lookupComponent(v.Str(), now)
}

// spanLatency returns the span's duration in nanoseconds, or -1 when its timestamps are unset
// or reversed.
func spanLatency(s ptrace.Span) int64 {
	start, end := s.StartTimestamp(), s.EndTimestamp()
	if start == 0 || end < start || end-start > math.MaxInt64 {
		return -1
	}
	return int64(end - start)
}

// countCalls counts the spans of rs that would have yielded an outcome.
func countCalls(rs ptrace.ResourceSpans) int {
	n := 0
	sss := rs.ScopeSpans()
	for j := 0; j < sss.Len(); j++ {
		spans := sss.At(j).Spans()
		for k := 0; k < spans.Len(); k++ {
			switch spans.At(k).Kind() {
			case ptrace.SpanKindServer, ptrace.SpanKindConsumer, ptrace.SpanKindClient, ptrace.SpanKindProducer:
				n++
			}
		}
	}
	return n
}

// callee returns the component named peer and the edge from svc to it (nil past the edge cap,
// or for a self-call). The edge remembers its callee, so a known dependency costs one lookup in
// the caller's small edge index rather than one in the registry of every component.
func (e *Engine) callee(svc *component, peer string, now int64) (*component, *edge) {
	if x := svc.edges.Load(); x != nil {
		if d, ok := x.Load(peer); ok {
			if c := d.to.Load(); c != nil && !c.gone.Load() {
				c.touch(now)
				return c, d
			}
		}
	}
	c := e.component(peer, now)
	if c == nil || c == svc {
		return c, nil
	}
	d := svc.edgeTo(c, now, e)
	return c, d
}
