package breaker

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

// clock returns the production clock.
func clock(*testing.B) Clock { return SystemClock{} }

// BenchmarkAllowClosed is the in-process decision on the common path: a known, closed target.
func BenchmarkAllowClosed(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	r.RecordOutcome("payments", ok(ms))
	b.ReportAllocs()
	for b.Loop() {
		if !r.Allow("payments") {
			b.Fatal("closed target refused")
		}
	}
}

// BenchmarkAllowOpen is the decision for an open target inside its backoff (reads the clock).
func BenchmarkAllowOpen(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	for i := 0; i < 10; i++ {
		r.RecordOutcome("payments", fail())
	}
	b.ReportAllocs()
	for b.Loop() {
		if r.Allow("payments") {
			b.Fatal("open target admitted")
		}
	}
}

// BenchmarkAllowUnknown is the decision for a target never seen.
func BenchmarkAllowUnknown(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	b.ReportAllocs()
	for b.Loop() {
		r.Allow("never-seen")
	}
}

// BenchmarkAllowClosedParallel is the closed decision from every core at once.
func BenchmarkAllowClosedParallel(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	r.RecordOutcome("payments", ok(ms))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Allow("payments")
		}
	})
}

// BenchmarkRecordOutcome records successes with latency into one target from one goroutine,
// the time given by the caller as the healthscore processor gives it (read once per batch).
func BenchmarkRecordOutcome(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	o := ok(20 * ms)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r.RecordOutcomeAt("payments", o, now)
	}
}

// BenchmarkRecordOutcomeParallel records from every core at once, each goroutine feeding its
// own rotation over 64 targets (a collector feeding a fleet), with 1% errors.
func BenchmarkRecordOutcomeParallel(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	names := make([]string, 64)
	for i := range names {
		names[i] = fmt.Sprintf("service-%02d", i)
		r.RecordOutcome(names[i], ok(ms))
	}
	var seed atomic.Uint64
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := seed.Add(17)
		for pb.Next() {
			i++
			o := breakerfeed.Outcome{Class: breakerfeed.Success, Latency: time.Duration(10+i%20) * ms}
			if i%100 == 0 {
				o.Class = breakerfeed.Error
			}
			r.RecordOutcomeAt(names[i%64], o, now)
		}
	})
}

// BenchmarkRecordOutcomeParallelOneTarget is the worst case: every core records into the same
// target, contending on its lock.
func BenchmarkRecordOutcomeParallelOneTarget(b *testing.B) {
	r := New(DefaultSettings(), clock(b), nil)
	o := ok(20 * ms)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.RecordOutcomeAt("payments", o, now)
		}
	})
}

// BenchmarkRecordOutcomeSystemClock is BenchmarkRecordOutcome reading time.Now on every call
// (RecordOutcome without a time), to show what passing the batch's time down saves.
func BenchmarkRecordOutcomeSystemClock(b *testing.B) {
	r := New(DefaultSettings(), SystemClock{}, nil)
	o := ok(20 * ms)
	b.ReportAllocs()
	for b.Loop() {
		r.RecordOutcome("payments", o)
	}
}

// BenchmarkTargetMemory measures the heap one tracked target costs, with a latency sketch
// filled by a spread of latencies (reported as bytes/target).
func BenchmarkTargetMemory(b *testing.B) {
	const n = 2000
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		clock := NewFake(epoch)
		r := New(DefaultSettings(), clock, nil)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("service-%04d", i)
			for j := 0; j < 200; j++ {
				clock.Advance(10 * ms)
				r.RecordOutcome(name, ok(time.Duration(1+j*j%977)*ms))
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/target")
		runtime.KeepAlive(r)
	}
}
