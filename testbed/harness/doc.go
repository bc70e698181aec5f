// Package harness runs the built otelcol-vigil binary as a real child process for end-to-end and
// load tests: it writes a generated config with free loopback ports, starts the collector, waits
// for it to be ready, receives what it exports on an in-test OTLP sink, scrapes its Prometheus
// endpoints, and stops it with SIGTERM, checking for a clean exit.
package harness
