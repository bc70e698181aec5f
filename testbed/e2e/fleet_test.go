package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
	traffic "github.com/vigil-collector/vigil/testbed/shop"
)

// fleetNode is one host of the fleet test: what runs on it and what its callers see.
type fleetNode struct {
	host  string
	edges []traffic.Edge
	// serves: the callees' SERVER spans come from this host.
	serves bool
	// fail: the share of calls to a callee that fail as this host's callers see them.
	fail map[string]float64
}

// shop is the traffic of the node's callers.
func (nd fleetNode) shop(t *testing.T) *traffic.Shop {
	t.Helper()
	s := traffic.New(nd.edges)
	s.ServerSpans = nd.serves
	for callee, r := range nd.fail {
		require.NoError(t, s.SetFail(callee, r))
	}
	return s
}

// sendAll sends shops[i] to agents[i], all at once, every tick for duration, and returns the spans
// each agent accepted.
func sendAll(t *testing.T, agents []*node, shops []*traffic.Shop, tick, duration time.Duration) []int64 {
	t.Helper()
	sent := make([]int64, len(agents))
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		sender, err := traffic.Dial(a.addr + ":4317")
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sender.Close()
			errs[i] = sender.Run(context.Background(), shops[i], tick, duration)
			sent[i] = sender.Spans.Load()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return sent
}

// fleetNodes is the fleet of the multi-node tests: node-1 runs frontend (calls catalog and
// checkout), node-2 runs checkout (calls payments, and has lost its route to it), node-3 runs
// orders (calls payments) and payments itself.
var fleetNodes = []fleetNode{
	{host: "node-1", edges: []traffic.Edge{{Caller: "frontend", Callee: "catalog", Calls: 10}, {Caller: "frontend", Callee: "checkout", Calls: 5}}},
	{host: "node-2", edges: []traffic.Edge{{Caller: "checkout", Callee: "payments", Calls: 5}}, fail: map[string]float64{"payments": 1}},
	{host: "node-3", edges: []traffic.Edge{{Caller: "orders", Callee: "payments", Calls: 5}}, serves: true},
}

// TestFleetThreeAgentsOneGateway is the multi-node testbed of docs/fleet.md: three agents on
// distinct loopback addresses (three hosts) and one gateway, all on the shipped configs with TLS.
// node-1 runs frontend (calls catalog and checkout), node-2 runs checkout (calls payments) and has
// lost its route to payments, node-3 runs orders (calls payments) and payments itself. The
// breakers are per node: node-2's breaker of payments opens, node-3's stays closed; the gateway
// keeps one fleet-wide score per service.
func TestFleetThreeAgentsOneGateway(t *testing.T) {
	gwAddr := harness.LoopbackAddr(t)
	tlsf := harness.NewTLS(t, gwAddr)
	gw := startGateway(t, gwAddr, tlsf)
	nodes := fleetNodes
	agents := make([]*node, len(nodes))
	for i, nd := range nodes {
		agents[i] = startAgent(t, harness.LoopbackAddr(t), nd.host, gwAddr, tlsf.CA)
	}

	const duration, tick = 20 * time.Second, 100 * time.Millisecond
	shops := make([]*traffic.Shop, len(nodes))
	for i, nd := range nodes {
		shops[i] = nd.shop(t)
	}
	sent := sendAll(t, agents, shops, tick, duration)
	var total int64
	for _, n := range sent {
		total += n
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, float64(total), acceptedSpans(ct, gw))
	}, 30*time.Second, 250*time.Millisecond)

	// Local verdicts: each agent's breakers from its own host's calls only.
	states := map[string]string{}
	for i, nd := range nodes {
		for _, e := range nd.edges {
			b := agents[i].breaker(t, e.Callee)
			states[nd.host+" "+e.Callee] = fmt.Sprint(b["state"])
		}
		// A callee this host never called is unknown here, whatever other hosts saw.
		if nd.host == "node-1" {
			assert.Equal(t, false, agents[i].breaker(t, "payments")["known"], "node-1 never called payments")
		}
	}
	assert.Equal(t, map[string]string{
		"node-1 catalog": "closed", "node-1 checkout": "closed",
		"node-2 payments": "open", "node-3 payments": "closed",
	}, states)

	// Fleet-wide: one score per service at the gateway, payments' errors seen from both callers.
	var body string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body = gw.scrape(ct, 8889)
		for _, svc := range []string{"frontend", "catalog", "checkout", "orders", "payments"} {
			assert.Len(ct, harness.FindSample(body, "health_score", map[string]string{"service_name": svc}), 1, svc)
		}
		ratio := harness.FindSample(body, "health_dependency_error_ratio", map[string]string{"service_name": "checkout", "peer_service": "payments"})
		if assert.Len(ct, ratio, 1) {
			assert.Equal(ct, 1.0, ratio[0], "checkout -> payments fails")
		}
		ratio = harness.FindSample(body, "health_dependency_error_ratio", map[string]string{"service_name": "orders", "peer_service": "payments"})
		if assert.Len(ct, ratio, 1) {
			assert.Equal(ct, 0.0, ratio[0], "orders -> payments succeeds")
		}
	}, 40*time.Second, time.Second)

	var fig []string
	for i, nd := range nodes {
		fig = append(fig, fmt.Sprintf("%s: %d spans (%.0f/s)", nd.host, sent[i], float64(sent[i])/duration.Seconds()))
	}
	t.Logf("fleet: %s; gateway accepted %d spans, all of them", strings.Join(fig, ", "), total)
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("fleet: breaker on %s: %s", k, states[k])
	}
	for _, svc := range []string{"frontend", "catalog", "checkout", "orders", "payments"} {
		score := harness.FindSample(body, "health_score", map[string]string{"service_name": svc})
		errs := harness.FindSample(body, "health_signal", map[string]string{"service_name": svc, "health_signal_name": "errors"})
		t.Logf("fleet: gateway health_score{service_name=%q} = %v (errors signal %v; series: %d)", svc, score, errs, len(score))
	}
	cpu, rss, err := harness.ProcessUsage(gw.PID())
	require.NoError(t, err)
	t.Logf("fleet: gateway CPU %s since its start, RSS %d MiB", cpu, rss>>20)
}
