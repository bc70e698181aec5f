// Package forecast holds the streaming models of the predict processor: a two-timescale
// discounted-least-squares trend model with a damped forecast (values at horizons, time to a
// threshold, risk of crossing it), a windowed least-squares model that reproduces Prometheus
// predict_linear, the multi-window multi-burn-rate error-budget evaluator, and the anomaly
// detector. Every model is updated one point at a time in O(1) time and fixed memory, never
// looks ahead, and uses only values it has already seen.
//
// The package is not internal: testbed/cmd/nabrun streams the Numenta Anomaly Benchmark through
// the same Detector the processor runs, so the benchmark scores the shipped code.
package forecast
