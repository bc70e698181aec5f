package predictprocessor

import (
	"hash/maphash"
	"math"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

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
	key        seriesKey
	prev, next *series // LRU list, most recent first
	rule       *rule

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

// shard is one lock's worth of series with its own least-recently-seen list.
type shard struct {
	mu         sync.Mutex
	series     map[seriesKey]*series
	head, tail *series
	capacity   int
}

// store holds every series in shards, so batches for different series rarely wait on each other.
type store struct {
	shards []shard
}

func newStore(maxSeries int) *store {
	n := 1
	if maxSeries >= 1024 { // small caps stay one exact LRU; large ones split 16 ways
		n = 16
	}
	s := &store{shards: make([]shard, n)}
	for i := range s.shards {
		c := maxSeries / n
		if i < maxSeries%n {
			c++
		}
		s.shards[i] = shard{series: map[seriesKey]*series{}, capacity: c}
	}
	return s
}

func (s *store) shard(k seriesKey) *shard { return &s.shards[k[0]%uint64(len(s.shards))] }

// len returns the number of series held.
func (s *store) len() int64 {
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += int64(len(sh.series))
		sh.mu.Unlock()
	}
	return n
}

// getOrCreate returns the series for k (the shard's lock must be held), marking it most recently
// seen; a new series evicts the least recently seen one when the shard is full. It reports
// whether it evicted.
func (sh *shard) getOrCreate(k seriesKey, create func() *series) (*series, bool) {
	if s, ok := sh.series[k]; ok {
		sh.moveToFront(s)
		return s, false
	}
	evicted := false
	if len(sh.series) >= sh.capacity && sh.tail != nil {
		old := sh.tail
		sh.unlink(old)
		delete(sh.series, old.key)
		evicted = true
	}
	s := create()
	s.key = k
	sh.series[k] = s
	sh.pushFront(s)
	return s, evicted
}

func (sh *shard) unlink(s *series) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		sh.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		sh.tail = s.prev
	}
	s.prev, s.next = nil, nil
}

func (sh *shard) pushFront(s *series) {
	s.next = sh.head
	if sh.head != nil {
		sh.head.prev = s
	}
	sh.head = s
	if sh.tail == nil {
		sh.tail = s
	}
}

func (sh *shard) moveToFront(s *series) {
	if sh.head == s {
		return
	}
	sh.unlink(s)
	sh.pushFront(s)
}
