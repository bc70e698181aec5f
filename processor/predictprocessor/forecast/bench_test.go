package forecast

import (
	"math"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkTrendAdd is the damped-trend model's update cost per point.
func BenchmarkTrendAdd(b *testing.B) {
	m := NewTrend(TrendConfig{Fast: time.Hour, Slow: 24 * time.Hour, Damping: 7 * 24 * time.Hour})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Add(float64(i)*10, 0.5+0.001*float64(i%17))
	}
}

// BenchmarkDetectorUpdate is the anomaly detector's update cost per point.
func BenchmarkDetectorUpdate(b *testing.B) {
	d := NewDetector(DefaultDetectorConfig())
	t0 := time.Unix(1.7e9, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.UpdateAt(t0.Add(time.Duration(i)*10*time.Second), 50+10*math.Sin(float64(i)/30))
	}
}

// BenchmarkPointUpdate is everything a watched gauge point costs the models: trend and detector
// updates, forecasts at three horizons, time to threshold and risk.
func BenchmarkPointUpdate(b *testing.B) {
	m := NewTrend(TrendConfig{Fast: time.Hour, Slow: 24 * time.Hour, Damping: 7 * 24 * time.Hour})
	d := NewDetector(DefaultDetectorConfig())
	horizons := []float64{3600, 6 * 3600, 24 * 3600}
	t0 := time.Unix(1.7e9, 0)
	var sink float64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := float64(i) * 10
		v := 0.5 + 1e-5*t + 0.001*float64(i%17)
		m.Add(t, v)
		sink += d.UpdateAt(t0.Add(time.Duration(i)*10*time.Second), v)
		for _, h := range horizons {
			sink += m.Mean(h)
		}
		a := m.Assess(0.9, 1, 24*3600, horizons)
		sink += a.TimeToThreshold + a.Risk
	}
	_ = sink
}

// BenchmarkBurnUpdate is the error-budget evaluator's cost per point with the four default pairs.
func BenchmarkBurnUpdate(b *testing.B) {
	burn, _ := NewBurn(0.999, DefaultBurnWindows)
	states := make([]BurnState, 0, len(DefaultBurnWindows))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		burn.Update(float64(i)*10, 0.0005, 10)
		states = burn.Evaluate(states[:0])
	}
}

func TestModelSizes(t *testing.T) {
	// The per-series models: these sizes are what the processor README quotes.
	trend := unsafe.Sizeof(Trend{})
	det := unsafe.Sizeof(Detector{})
	t.Logf("Trend %d B, Detector %d B, Burn %d B + slices", trend, det, unsafe.Sizeof(Burn{}))
	if trend+det > 2048 {
		t.Errorf("trend + detector = %d B, want <= 2048", trend+det)
	}
}
