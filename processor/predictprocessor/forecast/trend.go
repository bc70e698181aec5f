package forecast

import (
	"math"
	"time"
)

// TrendConfig holds the time constants of a Trend model.
type TrendConfig struct {
	// Fast is the time constant of the fit that forecasts (how far back the trend looks).
	Fast time.Duration
	// Slow is the time constant of the fit that confirms a trend before a time to threshold is
	// reported: a periodic series has a local slope but no slope over many periods.
	Slow time.Duration
	// Damping is the time constant over which the trend fades when projected: a forecast h ahead
	// applies Damping·(1-exp(-h/Damping)) seconds of slope (Holt's damped trend in continuous time).
	// 0 means no damping.
	Damping time.Duration
}

// Trend is the per-series forecasting model: two discounted least-squares fits (fast and slow)
// with a damped projection. Forecasts, the time to a threshold and the risk of crossing it are
// computed in O(1) from its state (about 200 bytes).
type Trend struct {
	fast, slow Regression
	damping    float64 // seconds; 0 = none
	first      float64 // time of the first point
}

// MaxExtrapolation bounds how far a trend is trusted: a crossing is reported only within this
// many times the span of data the model has seen (at most its slow time constant). Prometheus'
// usual predict_linear(x[6h], 24h) extrapolates 4 times its window; 12 allows a one-hour-old
// series a 12 h forecast and a two-hour-old one the full day.
const MaxExtrapolation = 12

// NewTrend returns an empty model.
func NewTrend(cfg TrendConfig) Trend {
	return Trend{
		fast:    NewRegression(cfg.Fast.Seconds()),
		slow:    NewRegression(cfg.Slow.Seconds()),
		damping: cfg.Damping.Seconds(),
	}
}

// Add adds the value y observed at t (seconds, increasing).
func (m *Trend) Add(t, y float64) {
	if m.fast.Points() == 0 {
		m.first = t
	}
	m.fast.Add(t, y)
	m.slow.Add(t, y)
}

// Points returns the number of points seen.
func (m *Trend) Points() int { return m.fast.Points() }

// projection returns the seconds of slope a forecast h seconds ahead applies.
func (m *Trend) projection(h float64) float64 {
	if m.damping <= 0 {
		return h
	}
	return m.damping * -math.Expm1(-h/m.damping)
}

// Forecast returns the expected value h seconds after the latest point and its standard deviation.
func (m *Trend) Forecast(h float64) (mean, sd float64) {
	level, slope := m.fast.Fit()
	p := m.projection(h)
	return level + slope*p, m.fast.PredictionSD(p)
}

// Mean returns the expected value h seconds after the latest point (Forecast without its spread).
func (m *Trend) Mean(h float64) float64 {
	level, slope := m.fast.Fit()
	return level + slope*m.projection(h)
}

// Level returns the fitted current value and the slope per second of the fast fit.
func (m *Trend) Level() (level, slope float64) { return m.fast.Fit() }

// crossing returns the seconds until level + slope·projection(h) reaches thr, for a series
// moving up towards it (dir = +1) or down (dir = -1): 0 when already there, +Inf when never.
func (m *Trend) crossing(level, slope, thr, dir float64) float64 {
	gap := dir * (thr - level)
	if gap <= 0 {
		return 0
	}
	s := dir * slope
	if s <= 0 {
		return math.Inf(1)
	}
	need := gap / s // seconds of slope needed
	if m.damping <= 0 {
		return need
	}
	if need >= m.damping {
		return math.Inf(1) // beyond the damped trend's asymptote
	}
	return -m.damping * math.Log1p(-need/m.damping)
}

// Reach returns how far ahead (seconds) the model's trend may be extrapolated: MaxExtrapolation
// times the span of data it has seen (at most its slow time constant).
func (m *Trend) Reach() float64 { return m.reach() }

// reach returns how far ahead (seconds) the model's trend may be extrapolated.
func (m *Trend) reach() float64 {
	return MaxExtrapolation * math.Min(m.fast.Time()-m.first, m.slow.tau)
}

// trendConfirmed tells whether the fast trend towards thr is real rather than the local slope of
// a cycle or of noise: it must be significant, cross within the model's reach, and either the
// slow fit must cross too, or the series must have broken out of the band the slow fit expects (a
// new behaviour it has not yet absorbed).
func (m *Trend) trendConfirmed(thr, dir, maxH float64) bool {
	level, slope := m.fast.Fit()
	if dir*slope <= 2*m.fast.SlopeSE() {
		return false
	}
	if m.crossing(level, slope, thr, dir) > m.reach() {
		return false
	}
	sLevel, sSlope := m.slow.Fit()
	if m.crossing(sLevel, sSlope, thr, dir) <= maxH {
		return true
	}
	return dir*(level-sLevel) > 3*m.slow.ResidualSD()
}

// TimeToThreshold returns the seconds until the forecast reaches thr (dir = +1: from below,
// dir = -1: from above) and whether it does so within maxH seconds. A series already at or past
// the threshold returns 0, true. A trend that is not significant, or that the slow fit does not
// confirm (see trendConfirmed), does not cross.
func (m *Trend) TimeToThreshold(thr, dir, maxH float64) (float64, bool) {
	a := m.Assess(thr, dir, maxH, nil)
	return a.TimeToThreshold, a.Crosses
}

// Risk returns the probability that the series is past thr at some point within maxH seconds,
// evaluated at the horizons given (seconds, plus maxH itself): the largest tail probability of
// the forecast there. An unconfirmed trend is judged on the slow fit, whose spread includes the
// series' cycles, and no further ahead than the model's reach.
func (m *Trend) Risk(thr, dir, maxH float64, horizons []float64) float64 {
	return m.Assess(thr, dir, maxH, horizons).Risk
}

// Assessment is a series' standing against a threshold.
type Assessment struct {
	TimeToThreshold float64 // seconds; valid when Crosses
	Crosses         bool    // within the horizon (or already past the threshold)
	Risk            float64 // probability of being past the threshold within the horizon
}

// Assess computes TimeToThreshold and Risk together, confirming the trend once.
func (m *Trend) Assess(thr, dir, maxH float64, horizons []float64) Assessment {
	var a Assessment
	if m.fast.Points() < 3 {
		return a
	}
	level, slope := m.fast.Fit()
	confirmed := m.trendConfirmed(thr, dir, maxH)
	switch {
	case dir*(thr-level) <= 0:
		a.Crosses = true
	case confirmed:
		a.TimeToThreshold = m.crossing(level, slope, thr, dir)
		a.Crosses = a.TimeToThreshold <= maxH
	}

	r := &m.fast
	limit := maxH
	if !confirmed {
		r = &m.slow
		limit = math.Min(maxH, m.reach())
		level, slope = r.Fit()
	}
	pr := r.predictor()
	eval := func(h float64) {
		if h < 0 || h > limit {
			return
		}
		p := m.projection(h)
		mean := level + slope*p
		var q float64
		switch sd := pr.sd(p); {
		case sd > 0:
			q = normalSF(dir * (thr - mean) / sd)
		case pr.resid == 0 && dir*(mean-thr) >= 0:
			q = 1
		}
		a.Risk = math.Max(a.Risk, q)
	}
	eval(0)
	for _, h := range horizons {
		eval(h)
	}
	eval(limit)
	a.Risk = clamp01(a.Risk)
	return a
}
