package breaker

import "math"

// wilsonLower returns the lower bound of the Wilson score interval for k successes out of n
// trials at z standard deviations (one-sided). Unlike the normal approximation it stays
// sensible at small n and at rates near 0 or 1, which is what lets one rule serve a target
// that sees ten calls a second and one that sees ten thousand: at low volume the bound sits far
// below the observed rate, so noise does not trip, and at high volume it closes in on it, so a
// real rise does.
func wilsonLower(k, n uint64, z float64) float64 {
	if n == 0 {
		return 0
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	center := p + z2/(2*nf)
	spread := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lower := (center - spread) / (1 + z2/nf)
	if lower < 0 {
		return 0
	}
	return lower
}
