package health

import (
	"hash/maphash"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/internal/pdatautil"
)

// Metric names the engine reads besides host metrics.
const (
	metricProbeStatus = "healthcheck.status"
	// Semantic-convention RED histograms of servers (seconds; rpc.server.duration in ms).
	metricHTTPServerDuration = "http.server.request.duration"
	metricRPCServerDuration  = "rpc.server.duration"
	metricRPCServerCall      = "rpc.server.call.duration"
)

// ObserveMetrics reads the metrics of md the scores use, observed at now: host utilisation
// (joined to services through host.name), healthcheck.status (and passes each probe result to
// the breaker), and the RED histograms of services. It does not modify md.
func (e *Engine) ObserveMetrics(md pmetric.Metrics, now time.Time) {
	nowNs := now.UnixNano()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		hostName, hasHost := strAttr(res, "host.name")
		var svc *component
		svcReason := skipNone
		svcResolved := false
		service := func() *component {
			if !svcResolved {
				svc, svcReason = e.resourceComponent(res, nowNs)
				svcResolved = true
				if svc != nil && hasHost {
					svc.linkHost(hostName, nowNs, e)
				}
			}
			return svc
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Name() {
				case metricCPUUtilization, metricCPUCount, metricMemUtilization, metricDiskUtilization, metricLoad1m:
					e.observeHostMetric(hostName, hasHost, m, nowNs)
				case metricProbeStatus:
					if c := service(); c != nil {
						e.observeProbes(c, m, nowNs)
					} else if dps, ok := pdatautil.NumberPoints(m); ok {
						e.skip(svcReason, uint64(dps.Len()))
					}
				case metricHTTPServerDuration, metricRPCServerDuration, metricRPCServerCall:
					if m.Type() != pmetric.MetricTypeHistogram {
						continue
					}
					if c := service(); c != nil {
						e.observeRED(c, m, nowNs)
					} else {
						e.skip(svcReason, uint64(m.Histogram().DataPoints().Len()))
					}
				}
			}
		}
	}
}

// observeProbes records each healthcheck.status point (1 up, 0 down) as the latest state of its
// target, and passes it to the breaker.
func (e *Engine) observeProbes(c *component, m pmetric.Metric, now int64) {
	dps, ok := pdatautil.NumberPoints(m)
	if !ok {
		return
	}
	feeder := e.loadFeeder()
	for dp, v := range e.finitePoints(dps) {
		target, _ := strAttr(dp.Attributes(), "healthcheck.target")
		up := v >= 0.5
		if !c.setProbe(target, up, now) {
			e.skip(skipSeriesLimit, 1)
			continue
		}
		if feeder != nil {
			feeder.RecordProbe(c.name, up)
		}
	}
}

// setProbe records target's state; false when the component already tracks maxProbeTargets
// other targets, none of them stale enough to replace.
func (c *component) setProbe(target string, up bool, now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.probes {
		if c.probes[i].target == target {
			c.probes[i].up, c.probes[i].at = up, now
			return true
		}
	}
	if len(c.probes) >= maxProbeTargets {
		return false
	}
	c.probes = append(c.probes, probeTarget{target: string([]byte(target)), up: up, at: now})
	return true
}

var redSeed = maphash.MakeSeed()

// observeRED adds the calls, errors and latencies of a RED histogram to the component's
// interval. Delta points add as they are; cumulative points add their increase over the
// series' previous point (the first point of a series only sets its start).
func (e *Engine) observeRED(c *component, m pmetric.Metric, now int64) {
	h := m.Histogram()
	cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	toNanos := unitNanos(m.Unit(), m.Name())
	dps := h.DataPoints()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.red == nil {
		c.red = &redState{series: map[uint64]*redSeries{}}
	}
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
		if counts.Len() != 0 && counts.Len() != bounds.Len()+1 {
			e.skip(skipBadPoint, 1)
			continue
		}
		var a callAttrs
		a.read(dp.Attributes())
		status := ptrace.StatusCodeUnset
		if a.errorType != "" {
			status = ptrace.StatusCodeError
		}
		class := classify(status, "", &a)

		count := dp.Count()
		var buckets []uint64
		if counts.Len() > 0 {
			buckets = counts.AsRaw()
		}
		if cumulative {
			key := seriesKey(m.Name(), dp.Attributes())
			prev, ok := c.red.series[key]
			if !ok {
				if len(c.red.series) >= maxREDSeries && !c.red.dropStale(now) {
					e.skip(skipSeriesLimit, 1)
					continue
				}
				c.red.series[key] = &redSeries{start: uint64(dp.StartTimestamp()), count: count, bounds: bounds.AsRaw(), counts: buckets, seen: now}
				continue
			}
			restarted := uint64(dp.StartTimestamp()) != prev.start || count < prev.count || !sameBounds(prev.bounds, bounds)
			inc := make([]uint64, len(buckets))
			incCount := count
			if !restarted {
				incCount = count - prev.count
				for b := range buckets {
					if b < len(prev.counts) && buckets[b] >= prev.counts[b] {
						inc[b] = buckets[b] - prev.counts[b]
					}
				}
			} else {
				copy(inc, buckets)
			}
			prev.start, prev.count, prev.counts, prev.seen = uint64(dp.StartTimestamp()), count, buckets, now
			if restarted {
				prev.bounds = bounds.AsRaw()
			}
			buckets, count = inc, incCount
		}
		if count == 0 {
			continue
		}
		c.red.calls += float64(count)
		if class != breakerfeed.Success {
			c.red.errors += float64(count)
		}
		for b, n := range buckets {
			if n > 0 {
				c.red.counts.AddNanos(bucketValue(bounds, b)*toNanos, float64(n))
			}
		}
	}
}

// dropStale forgets the series not seen for a long while (an hour); reports whether any went.
func (r *redState) dropStale(now int64) bool {
	n := len(r.series)
	for k, s := range r.series {
		if now-s.seen > int64(time.Hour) {
			delete(r.series, k)
		}
	}
	return len(r.series) < n
}

// seriesKey identifies a histogram series within a component: the metric name and the point's
// attributes, in any order (the hashes of the pairs are summed).
func seriesKey(name string, attrs pcommon.Map) uint64 {
	key := maphash.String(redSeed, name)
	var h maphash.Hash
	attrs.Range(func(k string, v pcommon.Value) bool {
		h.SetSeed(redSeed)
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v.AsString())
		key += h.Sum64()
		return true
	})
	return key
}

func sameBounds(a []float64, b pcommon.Float64Slice) bool {
	if len(a) != b.Len() {
		return false
	}
	for i, v := range a {
		if b.At(i) != v {
			return false
		}
	}
	return true
}

// bucketValue is the latency a histogram bucket's counts are taken to have: the middle of a
// bounded bucket, half the first bound for the first, twice the last bound for the overflow.
func bucketValue(bounds pcommon.Float64Slice, b int) float64 {
	n := bounds.Len()
	switch {
	case n == 0:
		return 0
	case b == 0:
		return math.Max(bounds.At(0), 0) / 2
	case b >= n:
		return 2 * bounds.At(n-1)
	default:
		return (bounds.At(b-1) + bounds.At(b)) / 2
	}
}

// unitNanos returns the nanoseconds in one unit of a duration histogram; without a unit, the
// convention of its name (rpc.server.duration was in milliseconds, the others in seconds).
func unitNanos(unit, name string) float64 {
	switch unit {
	case "s":
		return 1e9
	case "ms":
		return 1e6
	case "us", "µs":
		return 1e3
	case "ns":
		return 1
	}
	if name == metricRPCServerDuration {
		return 1e6
	}
	return 1e9
}
