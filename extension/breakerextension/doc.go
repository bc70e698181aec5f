// Package breakerextension is Vigil's adaptive circuit breaker as a collector extension: one
// breaker per target (a downstream service), fed with call outcomes and probe results by other
// components through the breakerfeed contract, tripping relative to each target's learned
// baseline. It serves the breakers' state and operator overrides over an HTTP API (with
// server-sent events for transitions and per-target Prometheus metrics) and, when configured,
// the gRPC health protocol. The breakers themselves live in internal/breaker.
package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"
