package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndexBoundsHoldTheValue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 1023, 1024, 1025, 1279, 1280, 1<<20 - 1, 1 << 20, 1<<40 - 1, 1 << 40, math.MaxInt64}
	for range 10000 {
		values = append(values, int64(math.Exp(r.Float64()*math.Log(1e13))))
	}
	for _, v := range values {
		i := Index(v)
		require.GreaterOrEqual(t, i, 0)
		require.Less(t, i, Buckets)
		assert.LessOrEqual(t, Lower(i), float64(v), "value %d, bucket %d", v, i)
		if i < Buckets-1 {
			assert.Less(t, float64(v), Upper(i), "value %d, bucket %d", v, i)
		}
	}
	assert.Equal(t, 0, Index(-5), "negative latencies count as 0")
}

func TestIndexIsMonotone(t *testing.T) {
	prev := 0
	for v := int64(0); v < 1<<22; v += 7 {
		i := Index(v)
		require.GreaterOrEqual(t, i, prev, "value %d", v)
		prev = i
	}
}

func TestBucketWidthAtMostAQuarter(t *testing.T) {
	for i := 1; i < Buckets-1; i++ {
		lo, hi := Lower(i), Upper(i)
		require.Greater(t, hi, lo)
		assert.LessOrEqual(t, (hi-lo)/lo, 0.25+1e-12, "bucket %d [%g, %g)", i, lo, hi)
	}
}

func TestQuantileWithinABucketOfTheExactValue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	var exact []float64
	for range 20000 {
		// log-normal around 20 ms, as service latencies are.
		ns := math.Exp(math.Log(20e6) + 0.6*r.NormFloat64())
		exact = append(exact, ns)
		h.Record(int64(ns))
	}
	slices.Sort(exact)
	var c Counts
	require.Equal(t, uint64(20000), h.DrainInto(&c))
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		want := exact[int(q*float64(len(exact)))-1]
		got := c.Quantile(q)
		assert.InDelta(t, want, got, 0.25*want, "q=%v", q)
	}
	var empty Histogram
	var c2 Counts
	assert.Equal(t, uint64(0), empty.DrainInto(&c2), "the drain emptied the histogram")
	assert.Equal(t, 0.0, c2.Quantile(0.95))
}

func TestBelowInterpolatesAndIsMonotone(t *testing.T) {
	var c Counts
	c.AddNanos(float64(10*time.Millisecond), 100)
	c.AddNanos(float64(100*time.Millisecond), 100)
	assert.Equal(t, 0.0, c.Below(0))
	assert.Equal(t, 0.0, c.Below(float64(5*time.Millisecond)))
	assert.Equal(t, 100.0, c.Below(float64(50*time.Millisecond)))
	assert.Equal(t, 200.0, c.Below(float64(time.Second)))
	prev := 0.0
	for x := 1e3; x < 1e10; x *= 1.01 {
		b := c.Below(x)
		require.GreaterOrEqual(t, b, prev)
		prev = b
	}
	i := Index(int64(10 * time.Millisecond))
	mid := (Lower(i) + Upper(i)) / 2
	assert.InDelta(t, 50, c.Below(mid), 1e-9, "half a bucket holds half its count")
}

func TestBaselineLearnsAndDecays(t *testing.T) {
	var b Baseline
	var c Counts
	c.AddNanos(float64(20*time.Millisecond), 100)
	b.Learn(&c, 0.5)
	b.Learn(&c, 0.5)
	assert.InDelta(t, 150, b.Total(), 1e-3)
	b.Decay(0.5)
	assert.InDelta(t, 75, b.Total(), 1e-3)
	i := Index(int64(20 * time.Millisecond))
	q := b.Quantile(0.95)
	assert.GreaterOrEqual(t, q, Lower(i))
	assert.LessOrEqual(t, q, Upper(i))
}

func TestAddNanosOverflowAndNonsense(t *testing.T) {
	var c Counts
	c.AddNanos(1e30, 1)
	c.AddNanos(math.NaN(), 1)
	c.AddNanos(1e6, 0)
	c.AddNanos(1e6, -3)
	assert.Equal(t, 1.0, c.Total())
	assert.Equal(t, 1.0, c[Buckets-1])
}

func TestConcurrentRecordAndDrainLoseNothing(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	const writers, each = 4, 5000
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Record(int64(1000 + w*i))
			}
		}()
	}
	var got Counts
	var n uint64
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			n += h.DrainInto(&got)
			assert.Equal(t, uint64(writers*each), n)
			assert.Equal(t, float64(writers*each), got.Total())
			return
		default:
			n += h.DrainInto(&got)
		}
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	allocs := testing.AllocsPerRun(1000, func() { h.Record(12345678) })
	assert.Equal(t, 0.0, allocs)
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i) * 1000)
	}
}

func TestHistogramAllocatesOnlyThePagesItUses(t *testing.T) {
	var h Histogram
	h.Record(int64(5 * time.Millisecond))
	h.Record(int64(6 * time.Millisecond))
	used := 0
	for i := range h.pages {
		if h.pages[i].Load() != nil {
			used++
		}
	}
	assert.Equal(t, 1, used, "two close latencies share one page of %d buckets", pageLen)
	var c Counts
	assert.Equal(t, uint64(2), h.DrainInto(&c))
	assert.Equal(t, 1.0, c[Index(int64(5*time.Millisecond))])
	assert.Equal(t, 1.0, c[Index(int64(6*time.Millisecond))])
}

func TestSparseBaselineMatchesTheDenseCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var b Baseline
	var dense Counts
	for range 50 {
		var c Counts
		for range 200 {
			c.AddNanos(math.Exp(math.Log(15e6)+0.5*r.NormFloat64()), 1)
		}
		b.Learn(&c, 0.9)
		for i := range dense {
			dense[i] = dense[i]*0.9 + c[i]
		}
	}
	lo, hi := dense.span()
	assert.Equal(t, hi-lo, b.Buckets(), "only the range that holds counts is kept")
	assert.Less(t, b.Buckets(), Buckets/3)
	assert.InDelta(t, dense.Total(), b.Total(), 1e-3*dense.Total())
	for _, q := range []float64{0.01, 0.5, 0.95, 0.99} {
		assert.InDelta(t, dense.Quantile(q), b.Quantile(q), 1e-4*dense.Quantile(q), "q=%v", q)
	}
}

func TestBaselineWidensAndTrims(t *testing.T) {
	var b Baseline
	var fast, slow Counts
	fast.AddNanos(float64(2*time.Millisecond), 10)
	slow.AddNanos(float64(800*time.Millisecond), 10)
	b.Learn(&fast, 1)
	assert.Equal(t, 1, b.Buckets())
	b.Learn(&slow, 1)
	assert.Equal(t, Index(int64(800*time.Millisecond))-Index(int64(2*time.Millisecond))+1, b.Buckets(), "widened to both")
	assert.InDelta(t, 20, b.Total(), 1e-6)
	// The fast bucket decays away while the slow one keeps being learned: the range shrinks.
	var none Counts
	for range 40 {
		b.Learn(&none, 0.5)
		b.Learn(&slow, 0)
	}
	assert.Equal(t, 1, b.Buckets())
	assert.GreaterOrEqual(t, b.Quantile(0.5), Lower(Index(int64(800*time.Millisecond))))
	for range 40 {
		b.Decay(0.5)
	}
	assert.Equal(t, 0, b.Buckets(), "a baseline decayed to nothing keeps nothing")
	assert.Equal(t, 0.0, b.Quantile(0.5))
}
