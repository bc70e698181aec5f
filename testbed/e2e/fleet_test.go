package e2e

import (
	"context"
	"fmt"
	"os"
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
			state := fmt.Sprint(b["state"])
			if state == "half_open" {
				// Half-open only follows open: with the calls over, node-2's breaker may already
				// be trying payments again when it is read. Either way it tripped.
				state = "open"
			}
			states[nd.host+" "+e.Callee] = state
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

// fleetLoad skips unless VIGIL_FLEET_LOAD=1 (make testbed-fleet): these runs measure, for
// docs/fleet.md, and take a minute or more of both cores.
func fleetLoad(t *testing.T) {
	t.Helper()
	if os.Getenv("VIGIL_FLEET_LOAD") != "1" {
		t.Skip("a measurement: VIGIL_FLEET_LOAD=1 (make testbed-fleet)")
	}
}

// cpuSeconds is a node's process CPU time, from /proc.
func cpuSeconds(t *testing.T, n *node) float64 {
	t.Helper()
	cpu, _, err := harness.ProcessUsage(n.PID())
	require.NoError(t, err)
	return cpu.Seconds()
}

// TestFleetGatewayCapacity measures what one gateway costs per span when three agents (TLS, the
// shipped configs) forward a shop's traffic at two rates, and that every span arrives.
func TestFleetGatewayCapacity(t *testing.T) {
	fleetLoad(t)
	gwAddr := harness.LoopbackAddr(t)
	tlsf := harness.NewTLS(t, gwAddr)
	gw := startGateway(t, gwAddr, tlsf)
	agents := make([]*node, 3)
	for i := range agents {
		agents[i] = startAgent(t, harness.LoopbackAddr(t), fmt.Sprintf("node-%d", i+1), gwAddr, tlsf.CA)
	}
	const window = 20 * time.Second
	for _, tick := range []time.Duration{80 * time.Millisecond, 20 * time.Millisecond} {
		before, cpu0 := acceptedSpans(t, gw), cpuSeconds(t, gw)
		agentCPU0 := 0.0
		for _, a := range agents {
			agentCPU0 += cpuSeconds(t, a)
		}
		start := time.Now()
		shops := []*traffic.Shop{traffic.New(traffic.DefaultEdges), traffic.New(traffic.DefaultEdges), traffic.New(traffic.DefaultEdges)}
		var sent int64
		for _, n := range sendAll(t, agents, shops, tick, window) {
			sent += n
		}
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, float64(sent), acceptedSpans(ct, gw)-before)
		}, 60*time.Second, 250*time.Millisecond)
		wall := time.Since(start).Seconds()
		cpu := cpuSeconds(t, gw) - cpu0
		agentCPU := -agentCPU0
		for _, a := range agents {
			agentCPU += cpuSeconds(t, a)
		}
		rate := float64(sent) / window.Seconds()
		_, rss, err := harness.ProcessUsage(gw.PID())
		require.NoError(t, err)
		t.Logf("capacity: %.0f spans/s from 3 agents for %s: all %d arrived; gateway %.2f CPU s (%.3f cores, %.1f µs CPU per span), RSS %.0f MiB; the 3 agents %.2f CPU s (%.1f µs per span)",
			rate, window, sent, cpu, cpu/wall, 1e6*cpu/float64(sent), float64(rss)/(1<<20), agentCPU, 1e6*agentCPU/float64(sent))
	}
}

// TestFleetTwoGatewaysSplit shows what happens without per-service stickiness: two gateways behind
// one Service, each agent pinned to one of them by its long-lived gRPC connection (as a ClusterIP
// Service does). The fleet of TestFleetThreeAgentsOneGateway: node-1 and node-2 reach gateway A,
// node-3 gateway B. Each gateway scores payments from part of its calls, and they disagree.
func TestFleetTwoGatewaysSplit(t *testing.T) {
	fleetLoad(t)
	addrA, addrB := harness.LoopbackAddr(t), harness.LoopbackAddr(t)
	tlsA, tlsB := harness.NewTLS(t, addrA), harness.NewTLS(t, addrB)
	gwA, gwB := startGateway(t, addrA, tlsA), startGateway(t, addrB, tlsB)
	gateways := []*node{gwA, gwA, gwB}
	cas := []string{tlsA.CA, tlsA.CA, tlsB.CA}
	agents := make([]*node, len(fleetNodes))
	shops := make([]*traffic.Shop, len(fleetNodes))
	for i, nd := range fleetNodes {
		agents[i] = startAgent(t, harness.LoopbackAddr(t), nd.host, gateways[i].addr, cas[i])
		shops[i] = nd.shop(t)
	}
	sendAll(t, agents, shops, 100*time.Millisecond, 20*time.Second)
	var scoreA, scoreB []float64
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		scoreA = harness.FindSample(gwA.scrape(ct, 8889), "health_score", map[string]string{"service_name": "payments"})
		scoreB = harness.FindSample(gwB.scrape(ct, 8889), "health_score", map[string]string{"service_name": "payments"})
		assert.Len(ct, scoreA, 1)
		assert.Len(ct, scoreB, 1)
	}, 40*time.Second, time.Second)
	stateA, stateB := gwA.breaker(t, "payments")["state"], gwB.breaker(t, "payments")["state"]
	t.Logf("split: payments scored by two gateways: A (node-1, node-2) %.3f, breaker %v; B (node-3) %.3f, breaker %v: two series, two verdicts for one service",
		scoreA[0], stateA, scoreB[0], stateB)
	assert.NotEqual(t, stateA, stateB, "the gateways disagree about payments")
}
