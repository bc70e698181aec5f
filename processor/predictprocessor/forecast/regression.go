package forecast

import "math"

// Regression is an exponentially discounted least-squares line fit in continuous time: every
// point enters with weight 1 and its weight decays as exp(-age/Tau). It is Brown's linear
// exponential smoothing generalised to irregular intervals (a special case of Holt's method):
// a gap simply lets old points fade, and a burst of points counts as what it is. Times are kept
// relative to the latest point and values relative to the first, so the sums stay well scaled.
// A Regression is 96 bytes and each Add is O(1).
type Regression struct {
	tau                 float64 // time constant, seconds
	t                   float64 // time of the latest point, seconds
	y0                  float64 // value offset (the first value)
	s0, s1, s2, sy, sty float64 // discounted sums of 1, u, u², y, u·y with u = time - t
	errSum, errW        float64 // discounted one-step-ahead squared errors and their weight
	n                   int
}

// NewRegression returns an empty fit with time constant tau seconds.
func NewRegression(tau float64) Regression { return Regression{tau: tau} }

// Points returns the number of points added.
func (r *Regression) Points() int { return r.n }

// Add adds the value y observed at time t (seconds). t must be later than the previous point.
func (r *Regression) Add(t, y float64) {
	if r.n == 0 {
		r.t, r.y0 = t, y
		r.s0, r.sy, r.n = 1, 0, 1
		return
	}
	dt := t - r.t
	w := decay(dt, r.tau)
	if r.n >= 2 {
		level, slope := r.Fit()
		e := y - (level + slope*dt)
		r.errSum = w*r.errSum + e*e
		r.errW = w*r.errW + 1
	}
	// Move the time origin to t (exact), then discount and add the new point at u = 0.
	s1 := r.s1 - dt*r.s0
	s2 := r.s2 - 2*dt*r.s1 + dt*dt*r.s0
	sty := r.sty - dt*r.sy
	r.s0 = w*r.s0 + 1
	r.s1 = w * s1
	r.s2 = w * s2
	r.sy = w*r.sy + (y - r.y0)
	r.sty = w * sty
	r.t = t
	r.n++
}

// det is the determinant of the weighted normal equations, or 0 when the slope is undetermined.
func (r *Regression) det() float64 {
	d := r.s0*r.s2 - r.s1*r.s1
	if r.n < 2 || !(d > 1e-12*r.s0*r.s2) {
		return 0
	}
	return d
}

// Fit returns the fitted value at the latest point's time and the slope per second.
func (r *Regression) Fit() (level, slope float64) {
	if r.n == 0 {
		return math.NaN(), 0
	}
	if d := r.det(); d != 0 {
		slope = (r.s0*r.sty - r.s1*r.sy) / d
	}
	return (r.sy-slope*r.s1)/r.s0 + r.y0, slope
}

// Time returns the time of the latest point.
func (r *Regression) Time() float64 { return r.t }

// ResidualSD returns the standard deviation of the one-step-ahead errors (0 before there are any).
func (r *Regression) ResidualSD() float64 {
	if r.errW == 0 {
		return 0
	}
	return math.Sqrt(r.errSum / r.errW)
}

// SlopeSE returns the standard error of the slope.
func (r *Regression) SlopeSE() float64 {
	d := r.det()
	if d == 0 {
		return math.Inf(1)
	}
	return r.ResidualSD() * math.Sqrt(r.s0/d)
}

// PredictionSD returns the standard deviation of a new observation at the latest time plus
// the projection p (seconds of trend applied): residual noise plus the fit's uncertainty.
func (r *Regression) PredictionSD(p float64) float64 {
	return r.predictor().sd(p)
}

// predictor holds what PredictionSD needs, computed once for several projections.
type predictor struct {
	resid, det, s0, s1, s2 float64
}

func (r *Regression) predictor() predictor {
	return predictor{resid: r.ResidualSD(), det: r.det(), s0: r.s0, s1: r.s1, s2: r.s2}
}

func (pr predictor) sd(p float64) float64 {
	if pr.det == 0 {
		return pr.resid * math.Sqrt(1+1/pr.s0)
	}
	return pr.resid * math.Sqrt(1+(pr.s2-2*p*pr.s1+p*p*pr.s0)/pr.det)
}
