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
	if m.fast.Points() < 3 {
		return 0, false
	}
	level, slope := m.fast.Fit()
	if dir*(thr-level) <= 0 {
		return 0, true
	}
	if !m.trendConfirmed(thr, dir, maxH) {
		return 0, false
	}
	h := m.crossing(level, slope, thr, dir)
	return h, h <= maxH
}

// Risk returns the probability that the series is past thr at some point within maxH seconds,
// evaluated at the horizons given (seconds, plus maxH itself): the largest tail probability of
// the forecast there. An unconfirmed trend is judged on the slow fit, whose spread includes the
// series' cycles, and no further ahead than the model's reach.
func (m *Trend) Risk(thr, dir, maxH float64, horizons []float64) float64 {
	if m.fast.Points() < 3 {
		return 0
	}
	r := &m.fast
	limit := maxH
	if !m.trendConfirmed(thr, dir, maxH) {
		r = &m.slow
		limit = math.Min(maxH, m.reach())
	}
	level, slope := r.Fit()
	risk := 0.0
	eval := func(h float64) {
		if h < 0 || h > limit {
			return
		}
		p := m.projection(h)
		mean, sd := level+slope*p, r.PredictionSD(p)
		var q float64
		switch {
		case sd > 0:
			q = normalSF(dir * (thr - mean) / sd)
		case dir*(mean-thr) >= 0:
			q = 1
		}
		risk = math.Max(risk, q)
	}
	eval(0)
	for _, h := range horizons {
		eval(h)
	}
	eval(limit)
	return clamp01(risk)
}
