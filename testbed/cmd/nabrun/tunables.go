package main

import "github.com/vigil-collector/vigil/processor/predictprocessor/forecast"

// tunables are the detector's three sensitivities, each at half, once and twice a central value
// (BreachDeviation: 4, 8, 16 spreads). Cross-validation chooses among their 27 combinations;
// everything else in forecast.DetectorConfig is structural and fixed.
var tunables = []tunable{
	{name: "BreachScale", values: []float64{0.05, 0.1, 0.2}, set: func(c *forecast.DetectorConfig, v float64) { c.BreachScale = v }},
	{name: "BreachDeviation", values: []float64{4, 8, 16}, set: func(c *forecast.DetectorConfig, v float64) { c.BreachDeviation = v }},
	{name: "ShiftScale", values: []float64{0.4, 0.8, 1.6}, set: func(c *forecast.DetectorConfig, v float64) { c.ShiftScale = v }},
}
