package health

import (
	"iter"
	"math"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/internal/pdatautil"
)

// host is one machine's latest utilisation, from host metrics carrying its host.name.
type host struct {
	name     string
	lastSeen atomic.Int64

	mu                   sync.Mutex
	cpu, mem, disk, load sample
	cpus                 int // logical CPUs: from system.cpu.logical.count or the per-CPU points
}

// sample is a utilisation and when it arrived.
type sample struct {
	v  float64
	at int64
}

func (h *host) seen() int64 { return h.lastSeen.Load() }

func (h *host) touch(now int64) {
	if h.lastSeen.Load() < now {
		h.lastSeen.Store(now)
	}
}

// utilisation returns the host's highest fresh utilisation (CPU, memory, the fullest writable
// filesystem, load per CPU), when the newest of them arrived, and whether any was fresh.
func (h *host) utilisation(now, staleAfter int64) (u float64, at int64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	consider := func(s sample, v float64) {
		if s.at == 0 || now-s.at > staleAfter {
			return
		}
		u = math.Max(u, v)
		at = max(at, s.at)
		ok = true
	}
	consider(h.cpu, h.cpu.v)
	consider(h.mem, h.mem.v)
	consider(h.disk, h.disk.v)
	if h.cpus > 0 {
		consider(h.load, h.load.v/float64(h.cpus))
	}
	return math.Min(u, 1), at, ok
}

// Host metric names (hostmetrics receiver).
const (
	metricCPUUtilization  = "system.cpu.utilization"
	metricCPUCount        = "system.cpu.logical.count"
	metricMemUtilization  = "system.memory.utilization"
	metricDiskUtilization = "system.filesystem.utilization"
	metricLoad1m          = "system.cpu.load_average.1m"
)

// observeHostMetric reads one host metric into the host of the resource.
func (e *Engine) observeHostMetric(hostName string, hasHost bool, m pmetric.Metric, now int64) {
	dps, ok := pdatautil.NumberPoints(m)
	if !ok || dps.Len() == 0 {
		return
	}
	if !hasHost {
		e.skip(skipNoHostName, uint64(dps.Len()))
		return
	}
	h := e.host(hostName, now)
	if h == nil {
		return
	}
	switch m.Name() {
	case metricCPUUtilization:
		e.observeCPU(h, dps, now)
	case metricCPUCount:
		if v, ok := pdatautil.FiniteValue(dps.At(0)); ok && v >= 1 && v < 1<<20 {
			h.mu.Lock()
			h.cpus = int(v)
			h.mu.Unlock()
		}
	case metricMemUtilization:
		e.observeMemory(h, dps, now)
	case metricDiskUtilization:
		e.observeDisk(h, dps, now)
	case metricLoad1m:
		if v, ok := pdatautil.FiniteValue(dps.At(0)); ok && v >= 0 {
			h.mu.Lock()
			h.load = sample{v, now}
			h.mu.Unlock()
		} else {
			e.skip(skipBadPoint, 1)
		}
	}
}

// observeCPU reads system.cpu.utilization, one point per CPU and state: busy = 1 − the mean
// idle share across CPUs. Without state attributes, the mean of the points.
func (e *Engine) observeCPU(h *host, dps pmetric.NumberDataPointSlice, now int64) {
	var idle, plain float64
	var nIdle, nPlain int
	for dp, v := range e.finitePoints(dps) {
		state, hasState := dp.Attributes().Get("state")
		switch {
		case !hasState:
			plain += v
			nPlain++
		case state.Str() == "idle":
			idle += v
			nIdle++
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case nIdle > 0:
		h.cpu = sample{clampUnit(1 - idle/float64(nIdle)), now}
		if _, perCPU := dps.At(0).Attributes().Get("cpu"); perCPU && h.cpus == 0 {
			h.cpus = nIdle
		}
	case nPlain > 0:
		h.cpu = sample{clampUnit(plain / float64(nPlain)), now}
	}
}

// finitePoints yields each point with a finite value, counting the others as bad points.
func (e *Engine) finitePoints(dps pmetric.NumberDataPointSlice) iter.Seq2[pmetric.NumberDataPoint, float64] {
	return func(yield func(pmetric.NumberDataPoint, float64) bool) {
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			v, ok := pdatautil.FiniteValue(dp)
			if !ok {
				e.skip(skipBadPoint, 1)
				continue
			}
			if !yield(dp, v) {
				return
			}
		}
	}
}

// observeMemory reads system.memory.utilization: state=used, or a point without state.
func (e *Engine) observeMemory(h *host, dps pmetric.NumberDataPointSlice, now int64) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		state, hasState := dp.Attributes().Get("state")
		if hasState && state.Str() != "used" {
			continue
		}
		if v, ok := pdatautil.FiniteValue(dp); ok {
			h.mu.Lock()
			h.mem = sample{clampUnit(v), now}
			h.mu.Unlock()
		} else {
			e.skip(skipBadPoint, 1)
		}
	}
}

// observeDisk reads system.filesystem.utilization: the fullest writable filesystem. Read-only
// mounts and image filesystems (squashfs snaps, ISO images) are always full and say nothing
// about the host.
func (e *Engine) observeDisk(h *host, dps pmetric.NumberDataPointSlice, now int64) {
	worst, seen := 0.0, false
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if imageOrReadOnly(dp.Attributes()) {
			continue
		}
		v, ok := pdatautil.FiniteValue(dp)
		if !ok {
			e.skip(skipBadPoint, 1)
			continue
		}
		worst, seen = math.Max(worst, v), true
	}
	if seen {
		h.mu.Lock()
		h.disk = sample{clampUnit(worst), now}
		h.mu.Unlock()
	}
}

// imageOrReadOnly reports a filesystem point of a read-only mount or an image filesystem.
func imageOrReadOnly(attrs pcommon.Map) bool {
	if mode, ok := attrs.Get("mode"); ok && mode.Str() == "ro" {
		return true
	}
	typ, ok := attrs.Get("type")
	return ok && (typ.Str() == "squashfs" || typ.Str() == "iso9660")
}

func clampUnit(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

// strAttr returns a string attribute of m.
func strAttr(m pcommon.Map, key string) (string, bool) {
	v, ok := m.Get(key)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return "", false
	}
	return v.Str(), true
}
