package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
	traffic "github.com/vigil-collector/vigil/testbed/shop"
)

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
