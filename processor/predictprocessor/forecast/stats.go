package forecast

import "math"

// normalSF is the upper tail P(Z > z) of the standard normal distribution.
func normalSF(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// clamp01 limits v to [0, 1]; NaN becomes 0.
func clamp01(v float64) float64 {
	switch {
	case v > 1:
		return 1
	case v >= 0:
		return v
	default: // negative or NaN
		return 0
	}
}

// decay returns the weight exp(-dt/tau) an older observation keeps after dt seconds.
func decay(dt, tau float64) float64 {
	return math.Exp(-dt / tau)
}
