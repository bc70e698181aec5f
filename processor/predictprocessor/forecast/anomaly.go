package forecast

import (
	"math"
	"time"
)

// DetectorConfig holds the parameters of the anomaly Detector.
type DetectorConfig struct {
	// BreachScale is the breach, as a fraction of the range seen so far, that scores 1-1/e.
	BreachScale float64
	// WarmUp is the number of points seen before the first non-zero score.
	WarmUp int
	// AlertLevel is the score at or above which a point is an alert: the shipped threshold.
	AlertLevel float64
}

// DefaultDetectorConfig returns the one parameter set used for every series (and every NAB file).
func DefaultDetectorConfig() DetectorConfig {
	return DetectorConfig{
		BreachScale: 0.1,
		WarmUp:      1,
		AlertLevel:  0.05,
	}
}

// Detector scores each point of one series in [0, 1]. It keeps a fixed set of numbers, does O(1)
// work per point and never looks ahead.
type Detector struct {
	cfg    DetectorConfig
	n      int
	lo, hi float64 // extremes seen so far
}

// NewDetector returns a Detector with cfg.
func NewDetector(cfg DetectorConfig) *Detector {
	d := &Detector{}
	d.Init(cfg)
	return d
}

// Init resets d to an empty detector with cfg (for embedding without a pointer).
func (d *Detector) Init(cfg DetectorConfig) { *d = Detector{cfg: cfg} }

// Points returns the number of points the detector has learnt from.
func (d *Detector) Points() int { return d.n }

// Update feeds the next value and returns its anomaly score in [0, 1]. NaN and ±Inf are ignored
// and score 0.
func (d *Detector) Update(x float64) float64 {
	return d.UpdateAt(time.Time{}, x)
}

// UpdateAt feeds the value observed at t and returns its anomaly score in [0, 1].
func (d *Detector) UpdateAt(_ time.Time, x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	if d.n == 0 {
		d.lo, d.hi, d.n = x, x, 1
		return 0
	}
	d.n++
	r := d.hi - d.lo + 1e-9
	var b float64
	switch {
	case x > d.hi:
		b = (x - d.hi) / r
		d.hi = x
	case x < d.lo:
		b = (d.lo - x) / r
		d.lo = x
	}
	if d.n <= d.cfg.WarmUp || b == 0 {
		return 0
	}
	return clamp01(1 - math.Exp(-b/d.cfg.BreachScale))
}
