package metricrange

import (
	"math"
	"testing"
)

func TestOf(t *testing.T) {
	r, ok := Of("health.score")
	if !ok || r != (Range{0, 1}) || !r.Contains(0.5) || r.Contains(90) {
		t.Fatalf("health.score: %v %v", r, ok)
	}
	if r, _ := Of("breaker.state"); !r.Contains(2) || r.Contains(3) {
		t.Fatalf("breaker.state: %v", r)
	}
	if r, _ := Of("health.root_cause"); r.Max != math.Inf(1) {
		t.Fatalf("health.root_cause: %v", r)
	}
	if _, ok := Of("app.queue.depth"); ok {
		t.Fatal("an application metric has no declared range")
	}
	if s := (Range{0, 1}).String(); s != "[0, 1]" {
		t.Fatal(s)
	}
}
