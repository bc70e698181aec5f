package predictprocessor

import (
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// seriesKey identifies a series: two independent 64-bit hashes of (rule, metric name, resource
// attributes, point attributes), so a collision needs both to collide.
type seriesKey [2]uint64

var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// mapHash hashes an attribute map independently of its order: each key/value pair is hashed on
// its own and the pair hashes are summed.
func mapHash(m pcommon.Map, seed maphash.Seed) uint64 {
	var sum uint64
	var h maphash.Hash
	h.SetSeed(seed)
	for k, v := range m.All() {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteByte(byte(v.Type()))
		switch v.Type() {
		case pcommon.ValueTypeStr:
			h.WriteString(v.Str())
		case pcommon.ValueTypeInt:
			writeUint64(&h, uint64(v.Int()))
		case pcommon.ValueTypeDouble:
			writeUint64(&h, math.Float64bits(v.Double()))
		case pcommon.ValueTypeBool:
			if v.Bool() {
				h.WriteByte(1)
			}
		default:
			h.WriteString(v.AsString())
		}
		sum += mix(h.Sum64())
	}
	return sum
}

func writeUint64(h *maphash.Hash, v uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	h.Write(b[:])
}

// mix is splitmix64's finaliser: it spreads a hash before summing so sums do not cancel.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func makeKey(r *rule, metric string, resHash [2]uint64, point pcommon.Map) seriesKey {
	var k seriesKey
	for i, seed := range keySeeds {
		k[i] = mix(maphash.String(seed, metric)+uint64(r.index)) ^ mix(resHash[i]+0x9e3779b97f4a7c15) ^ mapHash(point, seed)
	}
	return k
}

// series is the state of one watched series.
type series struct {
	mu   sync.Mutex   // guards the state below: batches may carry points of one series at once
	seen atomic.Int64 // the store's recency tick of the latest use
	rule *rule

	first, last int64 // timestamps (ns) of the first and latest learnt points
	points      int

	// Source state for cumulative sums and histograms: the previous raw point.
	srcHave    bool
	srcStart   int64
	srcTime    int64
	srcValue   float64 // counter value, or histogram sum
	srcCount   uint64
	srcBuckets []uint64
	trend      forecast.Trend
	det        forecast.Detector
	linear     *forecast.Linear
	burn       *forecast.Burn
}

// store holds every series in the shared bounded registry: a known series is found without a
// lock, and past max_series the least recently seen series go (amortised: see internal/registry).
type store struct {
	reg     *registry.Registry[*series]
	tick    atomic.Int64 // recency clock: each use of a series takes the next tick
	evicted atomic.Int64 // evictions not yet added to the telemetry
}

func newStore(maxSeries int) *store {
	st := &store{}
	st.reg = registry.New(registry.Options[*series]{
		Cap:     maxSeries,
		Seen:    func(s *series) int64 { return s.seen.Load() },
		OnEvict: func(*series) { st.evicted.Add(1) },
	})
	return st
}

// len returns the number of series held.
func (st *store) len() int64 { return int64(st.reg.Len()) }

// keyName writes k as the 32 hex digits that name its series in the registry.
func keyName(k seriesKey, buf *[32]byte) {
	const digits = "0123456789abcdef"
	for i, h := range k {
		for j := 0; j < 16; j++ {
			buf[i*16+j] = digits[(h>>(60-4*j))&0xf]
		}
	}
}

// getOrCreate returns the series for k, creating it with create, and marks it most recently seen.
func (st *store) getOrCreate(k seriesKey, create func() *series) (*series, error) {
	var buf [32]byte
	keyName(k, &buf)
	s, ok := st.reg.Load(string(buf[:])) // a lookup: the conversion does not allocate
	if !ok {
		var err error
		if s, err = st.reg.Get(string(buf[:]), func(string) *series { return create() }); err != nil {
			return nil, err
		}
	}
	s.seen.Store(st.tick.Add(1))
	return s, nil
}
