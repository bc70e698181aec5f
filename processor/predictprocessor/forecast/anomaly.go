package forecast

import (
	"math"
	"time"
)

// DetectorConfig holds the parameters of the anomaly Detector. Every weight is per point.
type DetectorConfig struct {
	FastAlpha    float64 // weight of the short-term level
	SlowAlpha    float64 // weight of the long-term level and spreads
	ScoreAlpha   float64 // weight of the short average of raw surprise
	HistoryAlpha float64 // weight of the long-term distribution of that average
	WarmUp       int     // points seen before the first non-zero score
	Suppress     int     // points after an alert during which later alerts are held back
	AlertLevel   float64 // score at or above which a point is an alert (the shipped threshold)
}

// DefaultDetectorConfig returns the one parameter set used for every series (and for every NAB file).
func DefaultDetectorConfig() DetectorConfig {
	return DetectorConfig{
		FastAlpha:    0.3,
		SlowAlpha:    0.005,
		ScoreAlpha:   0.2,
		HistoryAlpha: 0.001,
		WarmUp:       100,
		Suppress:     0,
		AlertLevel:   0.5,
	}
}

// Detector scores each point of one series in [0, 1]: how unlikely the recent surprise is,
// given the surprise this series has shown so far. It keeps a fixed set of numbers, does O(1)
// work per point and never looks ahead.
type Detector struct {
	cfg DetectorConfig

	n          int
	fast, slow float64 // levels
	resid      float64 // long-term mean absolute one-step residual
	spread     float64 // long-term mean absolute deviation from the slow level
	mag        float64 // long-term mean magnitude |x|, for the scale floor
	avg        float64 // short average of raw surprise
	hMean      float64 // long-term mean of avg
	hVar       float64 // long-term variance of avg
	hold       int     // points left in the suppression period
}

// NewDetector returns a Detector with cfg.
func NewDetector(cfg DetectorConfig) *Detector {
	d := &Detector{}
	d.Init(cfg)
	return d
}

// Init resets d to an empty detector with cfg (for embedding without a pointer).
func (d *Detector) Init(cfg DetectorConfig) { *d = Detector{cfg: cfg} }

// Update feeds the next value and returns its anomaly score in [0, 1]. NaN and ±Inf are ignored
// and score 0.
func (d *Detector) Update(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	c := &d.cfg
	if d.n == 0 {
		d.fast, d.slow, d.mag = x, x, math.Abs(x)
		d.n = 1
		return 0
	}
	d.n++
	floor := 1e-3*d.mag + 1e-9
	r := x - d.fast
	z1 := math.Abs(r) / (d.resid + floor)
	z2 := math.Abs(d.fast-d.slow) / (d.spread + floor)
	raw := math.Max(squash(z1), squash(z2))

	// Learn.
	d.fast += c.FastAlpha * r
	dev := x - d.slow
	d.slow += c.SlowAlpha * dev
	d.resid += c.SlowAlpha * (math.Abs(r) - d.resid)
	d.spread += c.SlowAlpha * (math.Abs(dev) - d.spread)
	d.mag += c.SlowAlpha * (math.Abs(x) - d.mag)

	d.avg += c.ScoreAlpha * (raw - d.avg)
	diff := d.avg - d.hMean
	score := 0.0
	if d.n > c.WarmUp {
		sd := math.Sqrt(d.hVar) + 1e-6
		score = logLikelihood(1 - normalSF((d.avg-d.hMean)/sd))
	}
	d.hMean += c.HistoryAlpha * diff
	d.hVar = (1 - c.HistoryAlpha) * (d.hVar + c.HistoryAlpha*diff*diff)

	if d.hold > 0 {
		d.hold--
		if score >= c.AlertLevel {
			score = c.AlertLevel * 0.99
		}
	} else if score >= c.AlertLevel && c.Suppress > 0 {
		d.hold = c.Suppress
	}
	return clamp01(score)
}

// squash maps a non-negative surprise z to [0, 1).
func squash(z float64) float64 { return 1 - math.Exp(-z/4) }

// logLikelihood spreads a likelihood near 1 over [0, 1] as Numenta's detectors do: 0.5 is a
// likelihood of 0.99999, 1 is 1 - 1e-10.
func logLikelihood(l float64) float64 {
	return clamp01(math.Log(1.0000000001-l) / math.Log(1e-10))
}

// UpdateAt feeds the value observed at t (time of day feeds the seasonal profile) and returns
// its anomaly score in [0, 1].
func (d *Detector) UpdateAt(_ time.Time, x float64) float64 { return d.Update(x) }
