// Package hostile attacks the built collector as a careless or hostile sender would and measures
// what it costs: many distinct names, huge values and control characters over OTLP/gRPC and
// OTLP/HTTP, a probe target that redirects elsewhere, a webhook that never answers. It reads the
// collector's resident memory, its Prometheus page (size and scrape time) and its own telemetry
// (series refused, evictions, pending actions) before and after, side by side with the idle
// collector. `make test` runs a short form (testbed/e2e), `make testbed` the full size
// (testbed/cmd/hostile).
package hostile
