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

// pageBits: the histogram allocates its buckets in pages of 1<<pageBits, on the first latency
// that falls in each page. A service's latencies span a few powers of two, so most of the
// Buckets are never used: a component or edge holds two or three pages of 16 counters instead
// of all 122.
const (
	pageBits = 4
	pageLen  = 1 << pageBits
	numPages = (Buckets + pageLen - 1) / pageLen
)

type page [pageLen]atomic.Uint32

// Histogram counts latencies with one atomic increment each; it is safe for concurrent use.
// Counts are per interval: DrainInto takes them out. Its buckets are allocated a page at a time,
// when the first latency falls in the page, and kept from then on.
type Histogram struct {
	pages [numPages]atomic.Pointer[page]
}

// Record counts one latency in nanoseconds. It allocates only the first time a latency falls
// in a page of buckets.
func (h *Histogram) Record(ns int64) {
	i := Index(ns)
	p := h.pages[i>>pageBits].Load()
	if p == nil {
		p = h.newPage(i >> pageBits)
	}
	p[i&(pageLen-1)].Add(1)
}

// newPage installs page n, or returns the one a concurrent Record installed first.
func (h *Histogram) newPage(n int) *page {
	p := new(page)
	if h.pages[n].CompareAndSwap(nil, p) {
		return p
	}
	return h.pages[n].Load()
}

// DrainInto moves every count into c (adding to what c holds) and returns how many it moved.
// A Record racing with the drain lands either in this drain or the next, never in neither.
func (h *Histogram) DrainInto(c *Counts) uint64 {
	var n uint64
	for pi := range h.pages {
		p := h.pages[pi].Load()
		if p == nil {
			continue
		}
		for j := range p {
			if v := p[j].Load(); v != 0 {
				v = p[j].Swap(0)
				c[pi<<pageBits+j] += float64(v)
				n += uint64(v)
			}
		}
	}
	return n
}

// Counts are (possibly fractional) counts per bucket: an interval's drained latencies, or a
// decayed baseline.
type Counts [Buckets]float64

// Baseline is a decayed latency distribution kept per component. It holds only the range of
// buckets between the lowest and the highest it has counts in (most of the 122 buckets of a
// service stay empty), in float32 (whose relative precision is far finer than a bucket's
// width); counts at the range's ends that decay below trimBelow are dropped.
type Baseline struct {
	lo int       // bucket of v[0]
	v  []float32 // counts of buckets lo, lo+1, ...
}

// trimBelow is the count under which a bucket at either end of a baseline's range is dropped:
// a thousandth of a call moves no quantile.
const trimBelow = 1e-3

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
func (c *Counts) Total() float64 { return total(c[:]) }

// Quantile returns the q-quantile in nanoseconds (0 when empty).
func (c *Counts) Quantile(q float64) float64 { return quantile(0, c[:], q) }

// Below returns how many counted values are at most x nanoseconds, interpolating linearly
// inside the bucket that holds x.
func (c *Counts) Below(x float64) float64 { return below(c[:], x) }

// span returns the range of buckets [lo, hi) that hold counts; lo == hi when none do.
func (c *Counts) span() (lo, hi int) {
	lo, hi = 0, Buckets
	for lo < hi && c[lo] == 0 {
		lo++
	}
	for hi > lo && c[hi-1] == 0 {
		hi--
	}
	return lo, hi
}

// Learn decays the baseline by decay (in [0,1]) and adds c.
func (b *Baseline) Learn(c *Counts, decay float64) {
	if lo, hi := c.span(); lo < hi {
		b.extend(lo, hi)
	}
	for j := range b.v {
		b.v[j] = float32(float64(b.v[j])*decay + c[b.lo+j])
	}
	b.trim()
}

// extend widens the baseline's range to hold buckets [lo, hi).
func (b *Baseline) extend(lo, hi int) {
	if len(b.v) == 0 {
		b.lo, b.v = lo, make([]float32, hi-lo)
		return
	}
	curHi := b.lo + len(b.v)
	if lo >= b.lo && hi <= curHi {
		return
	}
	newLo, newHi := min(lo, b.lo), max(hi, curHi)
	v := make([]float32, newHi-newLo)
	copy(v[b.lo-newLo:], b.v)
	b.lo, b.v = newLo, v
}

// trim drops buckets at either end of the range that decayed below trimBelow.
func (b *Baseline) trim() {
	i, j := 0, len(b.v)
	for i < j && b.v[i] < trimBelow {
		i++
	}
	for j > i && b.v[j-1] < trimBelow {
		j--
	}
	switch {
	case i == j:
		b.lo, b.v = 0, nil
	case i > 0 || j < len(b.v):
		// A copy, so the dropped part of the array is freed.
		b.lo, b.v = b.lo+i, append([]float32(nil), b.v[i:j]...)
	}
}

// Decay multiplies every count by decay.
func (b *Baseline) Decay(decay float64) {
	for j := range b.v {
		b.v[j] = float32(float64(b.v[j]) * decay)
	}
	b.trim()
}

// Total returns the sum of the counts.
func (b *Baseline) Total() float64 { return total(b.v) }

// Quantile returns the q-quantile in nanoseconds (0 when empty).
func (b *Baseline) Quantile(q float64) float64 { return quantile(b.lo, b.v, q) }

// Buckets returns how many buckets the baseline keeps.
func (b *Baseline) Buckets() int { return len(b.v) }

func total[T float32 | float64](b []T) float64 {
	var n float64
	for _, v := range b {
		n += float64(v)
	}
	return n
}

// quantile reads the q-quantile of counts b of the buckets lo, lo+1, ...
func quantile[T float32 | float64](lo int, b []T, q float64) float64 {
	n := total(b)
	if n <= 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := q * n
	var cum float64
	for j, v := range b {
		f := float64(v)
		if f <= 0 {
			continue
		}
		if cum+f >= rank {
			i := lo + j
			frac := (rank - cum) / f
			return Lower(i) + frac*(Upper(i)-Lower(i))
		}
		cum += f
	}
	// Rounding left rank a hair above the total: the top of the last non-empty bucket.
	for j := len(b) - 1; j >= 0; j-- {
		if b[j] > 0 {
			return Upper(lo + j)
		}
	}
	return 0
}

func below[T float32 | float64](b []T, x float64) float64 {
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
