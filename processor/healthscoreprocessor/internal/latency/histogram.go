// Package latency holds the latency histograms of the healthscore processor: a fixed log-linear
// bucket layout (four buckets per power of two, from 1 µs to 18 minutes) that the span path
// fills with one atomic increment and no lock, and float counts over the same layout that the
// scorer drains them into, decays into baselines, and reads quantiles and Apdex counts from.
//
// A fixed layout is what makes the hot path lock-free: every recorder and the scorer agree on
// the buckets without coordination, and a bucket index costs a bit-length and a shift (no
// logarithm). Relative bucket width is at most 25%; quantiles and threshold counts interpolate
// linearly inside a bucket.
package latency // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"

import (
	"math"
	"math/bits"
	"sync/atomic"
)

const (
	subBits    = 2
	subBuckets = 1 << subBits
	// minExp: values below 2^10 ns (1.024 µs) share the first bucket.
	minExp = 10
	// maxExp: values from 2^40 ns (about 18.3 minutes) share the last bucket.
	maxExp = 40
	// Buckets is the number of buckets: one below 2^minExp ns, four per power of two up to
	// 2^maxExp ns, one above.
	Buckets = (maxExp-minExp)*subBuckets + 2
)

// Index returns the bucket of a latency in nanoseconds; negative values count as 0.
func Index(ns int64) int {
	if ns < 1<<minExp {
		return 0
	}
	e := bits.Len64(uint64(ns)) - 1 // floor(log2(ns))
	if e >= maxExp {
		return Buckets - 1
	}
	sub := int(ns>>(e-subBits)) & (subBuckets - 1)
	return 1 + (e-minExp)*subBuckets + sub
}

// Lower returns the lower bound of bucket i in nanoseconds.
func Lower(i int) float64 {
	switch {
	case i <= 0:
		return 0
	case i >= Buckets-1:
		return math.Ldexp(1, maxExp)
	}
	j := i - 1
	e := minExp + j/subBuckets
	sub := j % subBuckets
	return math.Ldexp(float64(subBuckets+sub), e-subBits)
}

// Upper returns the upper bound of bucket i in nanoseconds (the overflow bucket is taken to end
// at twice its lower bound).
func Upper(i int) float64 {
	if i >= Buckets-1 {
		return math.Ldexp(1, maxExp+1)
	}
	return Lower(i + 1)
}

// Histogram counts latencies with one atomic increment each; it is safe for concurrent use.
// Counts are per interval: DrainInto takes them out.
type Histogram struct {
	b [Buckets]atomic.Uint32
}

// Record counts one latency in nanoseconds.
func (h *Histogram) Record(ns int64) {
	h.b[Index(ns)].Add(1)
}

// DrainInto moves every count into c (adding to what c holds) and returns how many it moved.
// A Record racing with the drain lands either in this drain or the next, never in neither.
func (h *Histogram) DrainInto(c *Counts) uint64 {
	var n uint64
	for i := range h.b {
		if v := h.b[i].Load(); v != 0 {
			v = h.b[i].Swap(0)
			c[i] += float64(v)
			n += uint64(v)
		}
	}
	return n
}

// Counts are (possibly fractional) counts per bucket: an interval's drained latencies, or a
// decayed baseline.
type Counts [Buckets]float64

// Baseline is a decayed latency distribution kept per component: Counts in float32 to halve its
// memory (the relative precision of float32 is far finer than a bucket's width).
type Baseline [Buckets]float32

// AddNanos counts n values of ns nanoseconds.
func (c *Counts) AddNanos(ns float64, n float64) {
	if n <= 0 || math.IsNaN(ns) {
		return
	}
	i := Buckets - 1
	if ns < math.Ldexp(1, maxExp) {
		i = Index(int64(ns))
	}
	c[i] += n
}

// Add adds o into c.
func (c *Counts) Add(o *Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

// Reset sets every count to zero.
func (c *Counts) Reset() { *c = Counts{} }

// Total returns the sum of the counts.
func (c *Counts) Total() float64 { return total((*[Buckets]float64)(c)) }

// Quantile returns the q-quantile in nanoseconds (0 when empty).
func (c *Counts) Quantile(q float64) float64 { return quantile((*[Buckets]float64)(c), q) }

// Below returns how many counted values are at most x nanoseconds, interpolating linearly
// inside the bucket that holds x.
func (c *Counts) Below(x float64) float64 { return below((*[Buckets]float64)(c), x) }

// Learn decays the baseline by decay (in [0,1]) and adds c.
func (b *Baseline) Learn(c *Counts, decay float64) {
	for i := range b {
		b[i] = float32(float64(b[i])*decay + c[i])
	}
}

// Decay multiplies every count by decay.
func (b *Baseline) Decay(decay float64) {
	for i := range b {
		b[i] = float32(float64(b[i]) * decay)
	}
}

// Total returns the sum of the counts.
func (b *Baseline) Total() float64 { return total((*[Buckets]float32)(b)) }

// Quantile returns the q-quantile in nanoseconds (0 when empty).
func (b *Baseline) Quantile(q float64) float64 { return quantile((*[Buckets]float32)(b), q) }

func total[T float32 | float64](b *[Buckets]T) float64 {
	var n float64
	for _, v := range b {
		n += float64(v)
	}
	return n
}

func quantile[T float32 | float64](b *[Buckets]T, q float64) float64 {
	n := total(b)
	if n <= 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := q * n
	var cum float64
	for i, v := range b {
		f := float64(v)
		if f <= 0 {
			continue
		}
		if cum+f >= rank {
			frac := (rank - cum) / f
			return Lower(i) + frac*(Upper(i)-Lower(i))
		}
		cum += f
	}
	// Rounding left rank a hair above the total: the top of the last non-empty bucket.
	for i := Buckets - 1; i >= 0; i-- {
		if b[i] > 0 {
			return Upper(i)
		}
	}
	return 0
}

func below[T float32 | float64](b *[Buckets]T, x float64) float64 {
	if x <= 0 {
		return 0
	}
	var n float64
	for i, v := range b {
		lo, hi := Lower(i), Upper(i)
		if x >= hi {
			n += float64(v)
			continue
		}
		if x > lo {
			n += float64(v) * (x - lo) / (hi - lo)
		}
		break
	}
	return n
}
