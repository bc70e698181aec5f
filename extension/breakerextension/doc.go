// Package breakerextension is Vigil's adaptive circuit breaker as a collector extension: one
// breaker per target (a downstream service), fed with call outcomes and probe results by other
// components through the breakerfeed contract, tripping relative to each target's learned
// baseline. Its HTTP API (the breakers' state, operator overrides and per-target Prometheus
// metrics) is mounted on the status extension's server, where its transitions are published
// too (statusfeed); when configured, it serves the gRPC health protocol itself. The breakers
// themselves live in internal/breaker.
package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"
