package healthcheckreceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// BenchmarkScrape1000Targets measures turning the state of 1,000 probed targets (100 services)
// into metrics, the work done at every collection_interval.
func BenchmarkScrape1000Targets(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	if err != nil {
		b.Fatal(err)
	}
	bySvc := map[string]int{}
	for i := range 1000 {
		t := &target{name: fmt.Sprintf("t%04d", i), service: fmt.Sprintf("svc%03d", i%100), typ: TypeHTTP, failureThreshold: 1, successThreshold: 1}
		t.record(probe.Result{Duration: time.Millisecond, CertNotAfter: time.Now().Add(time.Hour)})
		if i%10 == 0 {
			t.record(probe.Result{Duration: time.Second, ErrorType: probe.ErrTimeout})
		}
		s.group(t, bySvc)
	}
	b.ReportAllocs()
	for b.Loop() {
		md, _ := s.scrape(context.Background())
		if md.DataPointCount() == 0 {
			b.Fatal("no points")
		}
	}
}

// BenchmarkRecord measures applying one probe result to a target's state.
func BenchmarkRecord(b *testing.B) {
	t := &target{failureThreshold: 3, successThreshold: 1}
	ok, bad := probe.Result{Duration: time.Millisecond}, probe.Result{ErrorType: probe.ErrTimeout}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%8 == 0 {
			t.record(bad)
		} else {
			t.record(ok)
		}
		i++
	}
}
