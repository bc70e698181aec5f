package forecast

import "math"

// Linear is an ordinary least-squares fit over a sliding time window, computed exactly as
// Prometheus' predict_linear does (Kahan-Neumaier sums, times in seconds relative to the
// evaluation time), so its slope agrees with predict_linear(series[window], h) on the same
// samples. It keeps the window's points in a ring that grows as needed up to maxPoints (then
// the oldest go first): 16 bytes a point, so Add is amortised O(1) and Fit is O(points in the
// window).
type Linear struct {
	window    int64 // milliseconds; samples with t > latest - window are in the range
	maxPoints int
	ts        []int64
	vs        []float64
	head      int // index of the oldest point
	size      int
}

// NewLinear returns an empty fit over window milliseconds keeping at most maxPoints points.
func NewLinear(windowMillis int64, maxPoints int) *Linear {
	return &Linear{window: windowMillis, maxPoints: max(maxPoints, 2)}
}

// grow doubles the ring (up to maxPoints), unrolling it so the oldest point is first.
func (l *Linear) grow() {
	n := min(max(2*len(l.ts), 16), l.maxPoints)
	ts, vs := make([]int64, n), make([]float64, n)
	for k := 0; k < l.size; k++ {
		i := (l.head + k) % len(l.ts)
		ts[k], vs[k] = l.ts[i], l.vs[i]
	}
	l.ts, l.vs, l.head = ts, vs, 0
}

// Len returns the number of points in the window.
func (l *Linear) Len() int { return l.size }

// Add appends the value v observed at tMillis (increasing) and drops points that left the window.
func (l *Linear) Add(tMillis int64, v float64) {
	if l.size == len(l.ts) && len(l.ts) < l.maxPoints {
		l.grow()
	}
	if l.size == len(l.ts) {
		l.head = (l.head + 1) % len(l.ts)
		l.size--
	}
	i := (l.head + l.size) % len(l.ts)
	l.ts[i], l.vs[i] = tMillis, v
	l.size++
	// Prometheus range selectors are left-open: (t - window, t].
	for l.size > 0 && l.ts[l.head] <= tMillis-l.window {
		l.head = (l.head + 1) % len(l.ts)
		l.size--
	}
}

// Fit returns the slope (per second) and the intercept at interceptMillis of the least-squares
// line through the window's points: Prometheus' linearRegression. Fewer than two points give NaN.
func (l *Linear) Fit(interceptMillis int64) (slope, intercept float64) {
	if l.size < 2 {
		return math.NaN(), math.NaN()
	}
	var n, sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2 float64
	initY := l.vs[l.head]
	constY := true
	for k := 0; k < l.size; k++ {
		i := (l.head + k) % len(l.ts)
		v := l.vs[i]
		if constY && k > 0 && v != initY {
			constY = false
		}
		n++
		x := float64(l.ts[i]-interceptMillis) / 1e3
		sumX, cX = kahanSumInc(x, sumX, cX)
		sumY, cY = kahanSumInc(v, sumY, cY)
		sumXY, cXY = kahanSumInc(x*v, sumXY, cXY)
		sumX2, cX2 = kahanSumInc(x*x, sumX2, cX2)
	}
	if constY {
		if math.IsInf(initY, 0) {
			return math.NaN(), math.NaN()
		}
		return 0, initY
	}
	sumX += cX
	sumY += cY
	sumXY += cXY
	sumX2 += cX2
	covXY := sumXY - sumX*sumY/n
	varX := sumX2 - sumX*sumX/n
	slope = covXY / varX
	intercept = sumY/n - slope*sumX/n
	return slope, intercept
}

// Latest returns the time of the newest point (0 when empty).
func (l *Linear) Latest() int64 {
	if l.size == 0 {
		return 0
	}
	return l.ts[(l.head+l.size-1)%len(l.ts)]
}

// PredictLinear returns predict_linear(series[window], h seconds) evaluated at the newest point.
func (l *Linear) PredictLinear(h float64) float64 {
	slope, intercept := l.Fit(l.Latest())
	return intercept + slope*h
}

// kahanSumInc is the Kahan-Neumaier compensated sum step Prometheus uses.
func kahanSumInc(inc, sum, c float64) (newSum, newC float64) {
	t := sum + inc
	switch {
	case math.IsInf(t, 0):
		c = 0
	case math.Abs(sum) >= math.Abs(inc):
		c += (sum - t) + inc
	default:
		c += (inc - t) + sum
	}
	return t, c
}
