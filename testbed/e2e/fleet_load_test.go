package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
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
		var wg sync.WaitGroup
		var mu sync.Mutex
		var sent int64
		start := time.Now()
		for _, a := range agents {
			sender, err := traffic.Dial(a.addr + ":4317")
			require.NoError(t, err)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer sender.Close()
				assert.NoError(t, sender.Run(context.Background(), traffic.New(traffic.DefaultEdges), tick, window))
				mu.Lock()
				sent += sender.Spans.Load()
				mu.Unlock()
			}()
		}
		wg.Wait()
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
	nodes := []struct {
		host  string
		edges []traffic.Edge
		fail  float64
		gw    *node
		ca    string
	}{
		{"node-1", []traffic.Edge{{Caller: "frontend", Callee: "catalog", Calls: 10}, {Caller: "frontend", Callee: "checkout", Calls: 5}}, 0, gwA, tlsA.CA},
		{"node-2", []traffic.Edge{{Caller: "checkout", Callee: "payments", Calls: 5}}, 1, gwA, tlsA.CA},
		{"node-3", []traffic.Edge{{Caller: "orders", Callee: "payments", Calls: 5}}, 0, gwB, tlsB.CA},
	}
	var wg sync.WaitGroup
	for _, nd := range nodes {
		a := startAgent(t, harness.LoopbackAddr(t), nd.host, nd.gw.addr, nd.ca)
		s := traffic.New(nd.edges)
		s.ServerSpans = nd.host == "node-3"
		if nd.fail > 0 {
			require.NoError(t, s.SetFail("payments", nd.fail))
		}
		sender, err := traffic.Dial(a.addr + ":4317")
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sender.Close()
			assert.NoError(t, sender.Run(context.Background(), s, 100*time.Millisecond, 20*time.Second))
		}()
	}
	wg.Wait()
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
