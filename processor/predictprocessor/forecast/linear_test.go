package forecast

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactSlope is the least-squares slope in 512-bit arithmetic, the reference predict_linear
// approximates.
func exactSlope(ts []int64, vs []float64, intercept int64) float64 {
	prec := uint(512)
	f := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	n := f(float64(len(ts)))
	sx, sy, sxy, sxx := f(0), f(0), f(0), f(0)
	for i := range ts {
		x := new(big.Float).SetPrec(prec).Quo(f(float64(ts[i]-intercept)), f(1000))
		y := f(vs[i])
		sx.Add(sx, x)
		sy.Add(sy, y)
		sxy.Add(sxy, new(big.Float).SetPrec(prec).Mul(x, y))
		sxx.Add(sxx, new(big.Float).SetPrec(prec).Mul(x, x))
	}
	cov := new(big.Float).SetPrec(prec).Sub(sxy, new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).Mul(sx, sy), n))
	vx := new(big.Float).SetPrec(prec).Sub(sxx, new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).Mul(sx, sx), n))
	s, _ := new(big.Float).SetPrec(prec).Quo(cov, vx).Float64()
	return s
}

func TestLinearSlopeMatchesPredictLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	l := NewLinear(3600_000, 4096)
	var ts []int64
	var vs []float64
	t0 := int64(1_700_000_000_000)
	for i := 0; i < 2000; i++ {
		tm := t0 + int64(i)*10_000 + int64(rng.IntN(3000))   // irregular scrape times
		v := 1e9 + 1234.5*float64(i) + 5e3*rng.NormFloat64() // a large, noisy counter-like value
		l.Add(tm, v)
		ts, vs = append(ts, tm), append(vs, v)
	}
	// The window (t-1h, t] holds the last 360 points.
	latest := l.Latest()
	var wt []int64
	var wv []float64
	for i := range ts {
		if ts[i] > latest-3600_000 {
			wt, wv = append(wt, ts[i]), append(wv, vs[i])
		}
	}
	require.Equal(t, len(wt), l.Len())
	slope, intercept := l.Fit(latest)
	want := exactSlope(wt, wv, latest)
	assert.InEpsilon(t, want, slope, 1e-9)
	assert.InEpsilon(t, intercept+slope*600, l.PredictLinear(600), 1e-12)
}

func TestLinearEdgeCases(t *testing.T) {
	l := NewLinear(60_000, 3)
	s, _ := l.Fit(0)
	assert.True(t, math.IsNaN(s), "no points")
	l.Add(1000, 5)
	l.Add(2000, 5)
	s, i := l.Fit(2000)
	assert.Equal(t, 0.0, s, "constant series: slope 0 as in Prometheus")
	assert.Equal(t, 5.0, i)
	l.Add(3000, 6)
	l.Add(4000, 7) // capacity 3: the oldest point goes
	assert.Equal(t, 3, l.Len())
	s, _ = l.Fit(4000)
	assert.InDelta(t, 1.0, s, 1e-12)
	l.Add(200_000, 1) // everything else left the window
	assert.Equal(t, 1, l.Len())
}
