package hub

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// fleet is a pass of n components (every 100th unhealthy, every 10th degraded) calling each
// other in a ring, with five signals each.
func fleet(n int, at time.Time) *statusfeed.Pass {
	p := &statusfeed.Pass{At: at, Healthy: 0.9, Degraded: 0.5}
	for i := range n {
		st, sc := StatusHealthy, 0.97
		switch {
		case i%100 == 0:
			st, sc = StatusUnhealthy, 0.2
		case i%10 == 0:
			st, sc = StatusDegraded, 0.7
		}
		name := fmt.Sprintf("service-%05d", i)
		p.Components = append(p.Components, statusfeed.Component{Name: name, Known: true, Score: sc, Status: st,
			Signals: []statusfeed.Signal{{Name: "errors", Value: sc}, {Name: "latency", Value: 1}, {Name: "saturation", Value: 0.9},
				{Name: "probe", Value: 1}, {Name: "dependencies", Value: 0.95}}})
		p.Edges = append(p.Edges, statusfeed.Edge{Caller: name, Callee: fmt.Sprintf("service-%05d", (i+1)%n),
			CallsPerSecond: 10, ErrorRatio: 0.01, LatencyP95: 20 * time.Millisecond})
	}
	return p
}

func benchSettings() Settings {
	s := testSettings()
	s.MaxComponents, s.MaxIncidents, s.MaxEvents = 20_000, 1000, 200
	return s
}

// BenchmarkPublishScores10k is the hub's share of a scoring pass of 10,000 components.
func BenchmarkPublishScores10k(b *testing.B) {
	h := New(benchSettings(), nil)
	at := time.Now()
	h.PublishScores(fleet(10_000, at))
	p := fleet(10_000, at)
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(10 * time.Second)
		p.At = at
		h.PublishScores(p)
	}
}

// BenchmarkWriteStatus is a read of the status document: 10,000 components with a filter that
// keeps them all (cached JSON, as between two passes), the same right after a pass (every
// component encoded again), and one service.
func BenchmarkWriteStatus(b *testing.B) {
	h := New(benchSettings(), nil)
	at := time.Now()
	h.PublishScores(fleet(10_000, at))
	all := Query{Statuses: []string{StatusHealthy, StatusDegraded, StatusUnhealthy, StatusUnknown}, Limit: 10_000}
	var buf bytes.Buffer
	b.Run("10k-filtered-cached", func(b *testing.B) {
		h.WriteStatus(&buf, all)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			h.WriteStatus(&buf, all)
		}
		b.ReportMetric(float64(buf.Len()), "bytes/doc")
	})
	b.Run("10k-filtered-shared-document", func(b *testing.B) {
		h.Status(&buf, all)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			h.Status(&buf, all)
		}
	})
	b.Run("10k-filtered-after-pass", func(b *testing.B) {
		p := fleet(10_000, at)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			at = at.Add(10 * time.Second)
			p.At = at
			h.PublishScores(p)
			buf.Reset()
			b.StartTimer()
			h.WriteStatus(&buf, all)
		}
	})
	b.Run("one-service", func(b *testing.B) {
		q := Query{Service: "service-04242", Limit: 1}
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			h.WriteStatus(&buf, q)
		}
	})
}
