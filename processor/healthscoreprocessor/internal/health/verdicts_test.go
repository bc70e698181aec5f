package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// busyHost is a batch of host metrics saying host is at full CPU and a load of 2.2 per CPU.
func busyHost(e *Engine, host string, at time.Time) {
	md := gaugeMetrics(map[string]any{"host.name": host}, "system.cpu.utilization",
		point{0, map[string]any{"cpu": "cpu0", "state": "idle"}}, point{1, map[string]any{"cpu": "cpu0", "state": "user"}},
		point{0, map[string]any{"cpu": "cpu1", "state": "idle"}}, point{1, map[string]any{"cpu": "cpu1", "state": "user"}})
	addGauge(md, map[string]any{"host.name": host}, "system.cpu.load_average.1m", point{4.4, nil})
	e.ObserveMetrics(md, at)
}

func TestSaturationAloneDoesNotChangeTheStatus(t *testing.T) {
	t.Run("a passing probe on a saturated host stays healthy", func(t *testing.T) {
		e := New(testSettings())
		busyHost(e, "ci-1", t0)
		e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "otelcol-vigil", "host.name": "ci-1"}, "healthcheck.status",
			point{1, map[string]any{"healthcheck.target": "vigil-health"}}), t0)
		c := find(t, e.Score(t0), "otelcol-vigil")
		sat, ok := signalOf(c, score.Saturation)
		require.True(t, ok)
		assert.InDelta(t, 0.1, sat, 1e-9, "the host is at the floor")
		assert.Equal(t, "healthy", c.Status)
		assert.InDelta(t, 1*0.1+0.9*0.9, c.Score, 1e-9, "towards the healthy cut-off, never below it")
	})
	t.Run("a service with clean calls on a saturated host stays healthy", func(t *testing.T) {
		e := New(testSettings())
		at := t0
		for range 4 {
			e.ObserveTraces(traces("shop", "ci-1", server(200, 0, 3*time.Millisecond)), at)
			busyHost(e, "ci-1", at)
			c := find(t, e.Score(at), "shop")
			assert.Equal(t, "healthy", c.Status)
			assert.GreaterOrEqual(t, c.Score, 0.9-1e-9)
			at = at.Add(10 * time.Second)
		}
	})
	t.Run("the service's own errors corroborate saturation, which then weighs in full", func(t *testing.T) {
		failing := New(testSettings())
		busyHost(failing, "ci-1", t0)
		failing.ObserveTraces(traces("shop", "ci-1", server(1000, 20, 3*time.Millisecond)), t0)
		withHost := find(t, failing.Score(t0), "shop")

		alone := New(testSettings())
		alone.ObserveTraces(traces("shop", "", server(1000, 20, 3*time.Millisecond)), t0)
		without := find(t, alone.Score(t0), "shop")
		assert.Less(t, withHost.Score, without.Score, "a busy host makes a failing service worse")
		assert.Equal(t, "unhealthy", withHost.Status)
		assert.Equal(t, "degraded", without.Status)
	})
	t.Run("a component below healthy for other reasons is left where they put it", func(t *testing.T) {
		e := New(testSettings())
		busyHost(e, "ci-1", t0)
		e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "api", "host.name": "ci-1"}, "healthcheck.status",
			point{1, map[string]any{"healthcheck.target": "a"}}, point{0, map[string]any{"healthcheck.target": "b"}}), t0)
		c := find(t, e.Score(t0), "api")
		assert.InDelta(t, 0.5, c.Score, 1e-9, "one probe of two down; the busy host adds nothing uncorroborated")
	})
}

func TestDependencyEvidenceIsTheCallersOwn(t *testing.T) {
	t.Run("a caller whose calls to a shared callee succeed stays healthy while another's fail", func(t *testing.T) {
		e := New(testSettings())
		at := t0
		for range 3 {
			e.ObserveTraces(traces("frontend", "", server(500, 0, 5*time.Millisecond),
				client("checkout", 200, 200, 5*time.Millisecond)), at)
			e.ObserveTraces(traces("catalog", "", server(500, 0, 5*time.Millisecond),
				client("db", 300, 0, time.Millisecond)), at)
			e.ObserveTraces(traces("checkout", "", server(200, 200, 5*time.Millisecond),
				client("db", 200, 200, time.Millisecond)), at)
			e.ObserveTraces(traces("db", "", server(500, 200, time.Millisecond)), at)
			snap := e.Score(at)
			db := find(t, snap, "db")
			require.NotEqual(t, "healthy", db.Status, "db fails two calls in five")
			catalog := find(t, snap, "catalog")
			assert.Equal(t, "healthy", catalog.Status, "catalog's own calls to db all succeeded")
			deps, _ := signalOf(catalog, score.Dependencies)
			assert.GreaterOrEqual(t, deps, 0.95)
			assert.Equal(t, "unhealthy", find(t, snap, "checkout").Status)
			at = at.Add(10 * time.Second)
		}
	})
	t.Run("an idle caller is not blamed for a callee it has no failing call to", func(t *testing.T) {
		e := observed(
			traces("checkout", "", server(50, 0, 5*time.Millisecond), client("payments", 50, 0, time.Millisecond)),
			traces("payments", "", server(50, 0, time.Millisecond)),
		)
		e.Score(t0)
		at := t0
		for range 6 {
			at = at.Add(10 * time.Second)
			// payments now fails for someone else; checkout is idle.
			e.ObserveTraces(traces("payments", "", server(100, 100, time.Millisecond)), at)
			snap := e.Score(at)
			require.Equal(t, "unhealthy", find(t, snap, "payments").Status)
			c := find(t, snap, "checkout")
			assert.Equal(t, "healthy", c.Status, "score %v, signals %+v", c.Score, c.Signals)
		}
	})
	t.Run("slow calls on the edge count against the edge's own baseline", func(t *testing.T) {
		e := New(testSettings())
		at := t0
		for range 3 { // the edge learns its baseline: 2 ms
			e.ObserveTraces(traces("frontend", "", server(100, 0, 10*time.Millisecond), client("search", 100, 0, 2*time.Millisecond)), at)
			e.Score(at)
			at = at.Add(10 * time.Second)
		}
		e.ObserveTraces(traces("frontend", "", server(100, 0, 10*time.Millisecond), client("search", 100, 0, 40*time.Millisecond)), at)
		snap := e.Score(at)
		for _, f := range snap.Edges {
			if f.Callee == "search" {
				require.True(t, f.HasHealth)
				assert.Less(t, f.Health, 0.9, "every call 20 times the edge's p95")
			}
		}
		deps, ok := signalOf(find(t, snap, "frontend"), score.Dependencies)
		require.True(t, ok)
		assert.Less(t, deps, 0.9)
	})
}

// rootCauses scores e at t0 and returns the snapshot and its root causes, requiring n of them and
// checking that each component carries its rank.
func rootCauses(t *testing.T, e *Engine, n int) (*Snapshot, []RootCause) {
	t.Helper()
	snap := e.Score(t0)
	rc := snap.RootCauses()
	for _, c := range rc {
		got := find(t, snap, c.Name)
		assert.Equal(t, c.Rank, got.RootCauseRank)
	}
	require.Len(t, rc, n)
	return snap, rc
}

func TestRootCauseRanking(t *testing.T) {
	t.Run("a chain names its deepest failing callee", func(t *testing.T) {
		e := observed(
			traces("a", "", server(100, 100, time.Millisecond), client("b", 100, 100, time.Millisecond)),
			traces("b", "", server(100, 100, time.Millisecond), client("c", 100, 100, time.Millisecond)),
			traces("c", "", server(100, 100, time.Millisecond), client("d", 100, 100, time.Millisecond)),
			traces("d", "", server(100, 100, time.Millisecond)),
		)
		snap, rc := rootCauses(t, e, 1)
		assert.Equal(t, RootCause{Name: "d", Rank: 1, OwnScore: rc[0].OwnScore, Explains: []string{"a", "b", "c", "d"}}, rc[0])
		for _, n := range []string{"a", "b", "c", "d"} {
			assert.Equal(t, "d", find(t, snap, n).RootCause, n)
		}
		assert.Equal(t, 0, find(t, snap, "a").RootCauseRank)
	})
	t.Run("a diamond names the shared callee", func(t *testing.T) {
		e := observed(
			traces("top", "", server(100, 100, time.Millisecond), client("left", 100, 100, time.Millisecond), client("right", 100, 100, time.Millisecond)),
			traces("left", "", server(100, 100, time.Millisecond), client("bottom", 100, 100, time.Millisecond)),
			traces("right", "", server(100, 100, time.Millisecond), client("bottom", 100, 100, time.Millisecond)),
			traces("bottom", "", server(100, 100, time.Millisecond)),
		)
		_, rc := rootCauses(t, e, 1)
		assert.Equal(t, "bottom", rc[0].Name)
		assert.Equal(t, []string{"bottom", "left", "right", "top"}, rc[0].Explains)
	})
	t.Run("a diamond with one healthy side names the failing side's callee only through it", func(t *testing.T) {
		e := observed(
			traces("top", "", server(100, 50, time.Millisecond), client("left", 100, 100, time.Millisecond), client("right", 100, 0, time.Millisecond)),
			traces("left", "", server(100, 100, time.Millisecond), client("bottom", 100, 100, time.Millisecond)),
			traces("right", "", server(100, 0, time.Millisecond), client("bottom", 100, 0, time.Millisecond)),
			traces("bottom", "", server(200, 100, time.Millisecond)),
		)
		snap, rc := rootCauses(t, e, 1)
		assert.Equal(t, "bottom", rc[0].Name)
		assert.Equal(t, []string{"bottom", "left", "top"}, rc[0].Explains)
		assert.Equal(t, "healthy", find(t, snap, "right").Status, "right's calls to bottom succeed")
	})
	t.Run("two independent failures rank by how much they explain", func(t *testing.T) {
		e := observed(
			traces("web", "", server(100, 100, time.Millisecond), client("db", 100, 100, time.Millisecond)),
			traces("api", "", server(100, 100, time.Millisecond), client("db", 100, 100, time.Millisecond)),
			traces("db", "", server(200, 200, time.Millisecond)),
			traces("batch", "", server(100, 100, time.Millisecond)),
			traces("ok", "", server(100, 0, time.Millisecond)),
		)
		snap, rc := rootCauses(t, e, 2)
		assert.Equal(t, "db", rc[0].Name)
		assert.Equal(t, []string{"api", "db", "web"}, rc[0].Explains)
		assert.Equal(t, "batch", rc[1].Name)
		assert.Equal(t, 2, rc[1].Rank)
		assert.Equal(t, "", find(t, snap, "ok").RootCause)
	})
	t.Run("a caller failing on its own with healthy callees is its own root cause", func(t *testing.T) {
		e := observed(
			traces("web", "", server(100, 100, time.Millisecond), client("db", 100, 0, time.Millisecond)),
			traces("db", "", server(100, 0, time.Millisecond)),
		)
		_, rc := rootCauses(t, e, 1)
		assert.Equal(t, "web", rc[0].Name)
	})
	t.Run("a cycle of failures names its worst member", func(t *testing.T) {
		e := observed(
			traces("a", "", server(100, 60, time.Millisecond), client("b", 100, 100, time.Millisecond)),
			traces("b", "", server(100, 100, time.Millisecond), client("a", 100, 100, time.Millisecond)),
		)
		_, rc := rootCauses(t, e, 1)
		assert.Equal(t, []string{"a", "b"}, rc[0].Explains)
	})
	t.Run("healthy world: no root cause", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces("web", "", server(100, 0, time.Millisecond), client("db", 100, 0, time.Millisecond)), t0)
		assert.Empty(t, e.Score(t0).RootCauses())
		assert.Same(t, e.Last(), e.Last())
		assert.Empty(t, e.Last().RootCauses())
	})
}
