package vigilbreaker

import (
	"fmt"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BenchmarkAllow is one decision for a closed target (the path every call takes).
func BenchmarkAllow(b *testing.B) {
	c, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		c.Allow(fmt.Sprintf("service-%d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Allow("service-42"); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkAllowDone is a decision and its outcome report, sequential and parallel, beside
// sony/gobreaker's TwoStepCircuitBreaker doing the same (Allow, then done(success)).
func BenchmarkAllowDone(b *testing.B) {
	c, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	gb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{Name: "checkout", Timeout: 10 * time.Second})
	b.Run("impl=vigilbreaker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := c.Allow("checkout")
			p.Done(Success)
		}
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			done, _ := gb.Allow()
			done(nil)
		}
	})
	b.Run("impl=vigilbreaker/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, _ := c.Allow("checkout")
				p.Done(Success)
			}
		})
	})
	b.Run("impl=gobreaker/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				done, _ := gb.Allow()
				done(nil)
			}
		})
	})
}
