package healthcheckreceiver

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// recordingProber records when each probe starts and how many run at once; hang makes every
// probe wait for its deadline.
type recordingProber struct {
	hang     bool
	mu       sync.Mutex
	starts   []time.Time
	inFlight atomic.Int32
	maxIn    atomic.Int32
}

func (p *recordingProber) Probe(ctx context.Context) probe.Result {
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		m := p.maxIn.Load()
		if n <= m || p.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	p.mu.Lock()
	p.starts = append(p.starts, time.Now())
	p.mu.Unlock()
	if p.hang {
		<-ctx.Done()
		return probe.Result{ErrorType: probe.ErrTimeout}
	}
	return probe.Result{}
}

func (p *recordingProber) Close() error { return nil }

func (p *recordingProber) startTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.starts...)
}

func newTestScheduler(t *testing.T) *scheduler {
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	return &scheduler{telemetry: tb}
}

func TestHungTargetDelaysNoOther(t *testing.T) {
	hung := &recordingProber{hang: true}
	fast := &recordingProber{}
	targets := []*target{
		{name: "hung", interval: 10 * time.Second, timeout: 5 * time.Second, failureThreshold: 1, successThreshold: 1, prober: hung},
		{name: "fast", interval: 100 * time.Millisecond, timeout: 50 * time.Millisecond, failureThreshold: 1, successThreshold: 1, prober: fast},
	}
	s := newTestScheduler(t)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Start the hung target's loop at once (its random offset could be up to 10 s) and the fast one.
	s.wg.Go(func() { s.run(targets[0], time.Now()) })
	s.wg.Go(func() { s.run(targets[1], time.Now()) })
	require.Eventually(t, func() bool { return hung.inFlight.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return len(fast.startTimes()) >= 8 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, int32(1), hung.inFlight.Load(), "the fast target probed 8 times while the hung probe was still running")
	s.stop()

	assert.Equal(t, int32(1), hung.maxIn.Load(), "at most one probe in flight per target")
	assert.Equal(t, int32(1), fast.maxIn.Load())
	assert.Len(t, hung.startTimes(), 1)
	assert.False(t, targets[0].snapshot().known, "the hung probe was cut short by the stop, not recorded")
}

func TestStartsSpreadInsideInterval(t *testing.T) {
	const n = 50
	interval := time.Second
	probers := make([]*recordingProber, n)
	targets := make([]*target, n)
	for i := range targets {
		probers[i] = &recordingProber{}
		targets[i] = &target{interval: interval, timeout: 100 * time.Millisecond, failureThreshold: 1, successThreshold: 1, prober: probers[i]}
	}
	s := newTestScheduler(t)
	begin := time.Now()
	s.start(targets, 0)
	require.Eventually(t, func() bool {
		for _, p := range probers {
			if len(p.startTimes()) == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond)
	s.stop()

	var first, last time.Duration = time.Hour, 0
	for _, p := range probers {
		off := p.startTimes()[0].Sub(begin)
		first, last = min(first, off), max(last, off)
		assert.Less(t, off, interval+500*time.Millisecond, "first probe inside the first interval")
	}
	// 50 uniform offsets in [0, 1s): all inside 250 ms has probability 0.25^49.
	assert.Greater(t, last-first, 250*time.Millisecond, "first probes spread over the interval")
}

func TestInitialDelay(t *testing.T) {
	p := &recordingProber{}
	s := newTestScheduler(t)
	begin := time.Now()
	s.start([]*target{{interval: 100 * time.Millisecond, timeout: 50 * time.Millisecond, failureThreshold: 1, successThreshold: 1, prober: p}}, 300*time.Millisecond)
	require.Eventually(t, func() bool { return len(p.startTimes()) > 0 }, 10*time.Second, 10*time.Millisecond)
	s.stop()
	assert.GreaterOrEqual(t, p.startTimes()[0].Sub(begin), 300*time.Millisecond)
}

func TestStopCutsHungProbeShort(t *testing.T) {
	p := &recordingProber{hang: true}
	tg := &target{interval: time.Hour, timeout: 50 * time.Minute, failureThreshold: 1, successThreshold: 1, prober: p}
	s := newTestScheduler(t)
	s.start([]*target{tg}, 0)
	// The first probe runs at a random offset inside an hour; start another loop at once instead.
	s2 := newTestScheduler(t)
	s2.ctx, s2.cancel = context.WithCancel(context.Background())
	s2.wg.Go(func() { s2.run(tg, time.Now()) })
	require.Eventually(t, func() bool { return p.inFlight.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	s2.stop() // returns although the probe's own deadline is 50 minutes away
	s.stop()
	assert.False(t, tg.snapshot().known, "a probe cut short by shutdown is not recorded")
}
