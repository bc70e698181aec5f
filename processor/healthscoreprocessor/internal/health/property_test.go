package health

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// scenario is one random world: services with server traffic, calls between them, hosts with
// utilisation, probes. inputs → engine → scores is what the property test checks.
type scenario struct {
	services []svcInput
	hosts    map[string]float64 // host → memory utilisation
}

type svcInput struct {
	name      string
	host      string
	latencies []time.Duration // one server span each
	errors    []bool          // parallel to latencies
	calls     []callInput
	probes    []bool // healthcheck.status of its targets (nil: none)
}

type callInput struct {
	peer    string
	latency time.Duration
	err     bool
}

func randomScenario(r *rand.Rand) scenario {
	n := 2 + r.IntN(5)
	sc := scenario{hosts: map[string]float64{}}
	for h := range 3 {
		sc.hosts[fmt.Sprintf("host-%d", h)] = r.Float64()
	}
	for i := range n {
		s := svcInput{name: fmt.Sprintf("svc-%d", i)}
		if r.IntN(3) > 0 {
			s.host = fmt.Sprintf("host-%d", r.IntN(3))
		}
		errRate := []float64{0, 0.001, 0.05, 0.5}[r.IntN(4)]
		base := time.Duration(math.Exp(math.Log(1e6) + 3*r.Float64()))
		for range r.IntN(300) {
			s.latencies = append(s.latencies, time.Duration(float64(base)*math.Exp(0.5*r.NormFloat64())))
			s.errors = append(s.errors, r.Float64() < errRate)
		}
		for range r.IntN(200) {
			s.calls = append(s.calls, callInput{
				peer:    fmt.Sprintf("svc-%d", r.IntN(n+1)), // sometimes a peer that serves nothing itself
				latency: time.Duration(float64(base) * math.Exp(r.NormFloat64())),
				err:     r.Float64() < errRate,
			})
		}
		if r.IntN(2) == 0 {
			for range 1 + r.IntN(3) {
				s.probes = append(s.probes, r.IntN(5) > 0)
			}
		}
		sc.services = append(sc.services, s)
	}
	return sc
}

func (sc scenario) clone() scenario {
	out := scenario{hosts: map[string]float64{}}
	for h, u := range sc.hosts {
		out.hosts[h] = u
	}
	for _, s := range sc.services {
		s.latencies = append([]time.Duration(nil), s.latencies...)
		s.errors = append([]bool(nil), s.errors...)
		s.calls = append([]callInput(nil), s.calls...)
		s.probes = append([]bool(nil), s.probes...)
		out.services = append(out.services, s)
	}
	return out
}

// worsen makes one input of sc worse and describes it; false when the chosen input had no room.
func worsen(r *rand.Rand, sc *scenario) (string, bool) {
	s := &sc.services[r.IntN(len(sc.services))]
	switch r.IntN(6) {
	case 0: // a successful server call fails
		for _, i := range r.Perm(len(s.errors)) {
			if !s.errors[i] {
				s.errors[i] = true
				return s.name + ": a server call fails", true
			}
		}
	case 1: // server calls get slower
		if len(s.latencies) == 0 {
			return "", false
		}
		f := 1 + 10*r.Float64()
		for i := range s.latencies {
			if r.IntN(2) == 0 {
				s.latencies[i] = time.Duration(float64(s.latencies[i]) * f)
			}
		}
		return fmt.Sprintf("%s: server calls %.1fx slower", s.name, f), true
	case 2: // a successful outgoing call fails (worse for the peer)
		for _, i := range r.Perm(len(s.calls)) {
			if !s.calls[i].err {
				s.calls[i].err = true
				return s.name + ": a call to " + s.calls[i].peer + " fails", true
			}
		}
	case 3: // an outgoing call gets slower
		if len(s.calls) == 0 {
			return "", false
		}
		i := r.IntN(len(s.calls))
		s.calls[i].latency *= time.Duration(2 + r.IntN(20))
		return s.name + ": a call to " + s.calls[i].peer + " slower", true
	case 4: // a probe goes down
		for i, up := range s.probes {
			if up {
				s.probes[i] = false
				return s.name + ": a probe goes down", true
			}
		}
	case 5: // a host fills up
		if s.host == "" {
			return "", false
		}
		u := sc.hosts[s.host]
		sc.hosts[s.host] = u + r.Float64()*(1-u)
		return s.host + ": more utilised", true
	}
	return "", false
}

// feed sends the scenario's interval to the engine at now.
func (sc scenario) feed(e *Engine, now time.Time) {
	td := ptrace.NewTraces()
	start := pcommon.NewTimestampFromTime(now.Add(-time.Second))
	for _, s := range sc.services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.name)
		if s.host != "" {
			rs.Resource().Attributes().PutStr("host.name", s.host)
		}
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i, lat := range s.latencies {
			sp := spans.AppendEmpty()
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(start + pcommon.Timestamp(lat))
			if s.errors[i] {
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		for _, c := range s.calls {
			sp := spans.AppendEmpty()
			sp.SetKind(ptrace.SpanKindClient)
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(start + pcommon.Timestamp(c.latency))
			sp.Attributes().PutStr("peer.service", c.peer)
			if c.err {
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		if len(s.probes) > 0 {
			var pts []point
			for i, up := range s.probes {
				v := 0.0
				if up {
					v = 1
				}
				pts = append(pts, point{v, map[string]any{"healthcheck.target": fmt.Sprintf("%s-%d", s.name, i)}})
			}
			e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": s.name}, "healthcheck.status", pts...), now)
		}
	}
	e.ObserveTraces(td, now)
	for h, u := range sc.hosts {
		e.ObserveMetrics(gaugeMetrics(map[string]any{"host.name": h}, "system.memory.utilization", point{u, map[string]any{"state": "used"}}), now)
	}
}

// TestScoresAreMonotone is the property test: in a random world (services, calls between them,
// hosts, probes, learned latency baselines), worsening any one input never raises any
// component's score, and never changes which components are known.
func TestScoresAreMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 2026))
	checked := 0
	for iter := 0; checked < 600; iter++ {
		sc := randomScenario(r)
		worse := sc.clone()
		what, ok := worsen(r, &worse)
		if !ok {
			continue
		}
		checked++
		// Both engines learn the same history (the scenario, healthy, three intervals), then
		// see either the scenario or its worse twin.
		var snaps [2]*Snapshot
		for k, world := range []scenario{sc, worse} {
			e := New(testSettings())
			at := t0
			for range 3 {
				sc.feed(e, at)
				e.Score(at)
				at = at.Add(10 * time.Second)
			}
			world.feed(e, at)
			snaps[k] = e.Score(at)
		}
		require.Equal(t, len(snaps[0].Components), len(snaps[1].Components))
		for i, base := range snaps[0].Components {
			w := snaps[1].Components[i]
			require.Equal(t, base.Name, w.Name)
			require.Equal(t, base.Known, w.Known, "iteration %d, %s: %s", iter, what, base.Name)
			if base.Known {
				require.LessOrEqual(t, w.Score, base.Score+1e-12,
					"iteration %d, %s: %s rose from %v to %v\nbefore %+v\nafter  %+v", iter, what, base.Name, base.Score, w.Score, base.Signals, w.Signals)
			}
		}
	}
}

// TestScoresAreDeterministic: the same inputs give the same snapshot, bit for bit.
func TestScoresAreDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 50 {
		sc := randomScenario(r)
		var out [2]*Snapshot
		for k := range out {
			e := New(testSettings())
			for i := range 3 {
				sc.feed(e, t0.Add(time.Duration(i)*10*time.Second))
				out[k] = e.Score(t0.Add(time.Duration(i) * 10 * time.Second))
			}
		}
		require.Equal(t, len(out[0].Components), len(out[1].Components))
		for i := range out[0].Components {
			a, b := out[0].Components[i], out[1].Components[i]
			require.Equal(t, a.Name, b.Name)
			require.Equal(t, math.Float64bits(a.Score), math.Float64bits(b.Score), a.Name)
			require.Equal(t, a.Signals, b.Signals)
		}
		require.Equal(t, out[0].Edges, out[1].Edges)
	}
}
