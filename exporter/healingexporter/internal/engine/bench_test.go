package engine

import (
	"strconv"
	"testing"
	"time"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
)

// BenchmarkObserveChurn measures one batch of 1,000 targets in which every second target's
// condition clears (its pending incident is forgotten) and holds again in the next batch: the
// incident table's creation, lookup and forgetting, with max_incidents at its default.
func BenchmarkObserveChurn(b *testing.B) {
	s := settings()
	s.MaxIncidents = 10_000
	s.Rules[0].For = time.Hour // incidents stay pending: nothing fires or acts
	e, err := New(s, discard{}, nil, t0)
	if err != nil {
		b.Fatal(err)
	}
	const targets = 1000
	names := make([]string, targets)
	for i := range names {
		names[i] = "host-" + strconv.Itoa(i)
	}
	batches := [2][]Observation{}
	for p := range batches {
		for i, name := range names {
			batches[p] = append(batches[p], Observation{Rule: 0, Target: name, Holds: i%2 == 0 || p == 1, Value: 1})
		}
	}
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Second)
		if _, err := e.Observe(now, batches[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*targets), "ns/observation")
}

// discard is a Writer that keeps nothing.
type discard struct{}

func (discard) Write(...*audit.Record) error { return nil }
