package healingexporter

import (
	"context"
	"errors"
	"math"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
	"github.com/vigil-collector/vigil/internal/pdatautil"
)

func (e *healingExporter) consumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	obs := e.observe(ctx, md)
	if len(obs) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("the exporter is shutting down")
	}
	if e.eng == nil {
		// Healing is off (an audit file that does not verify, or cannot be reopened): the points
		// are counted, not refused, so that the pipeline's other exporters keep their data.
		e.tel.HealingSkipped.Add(ctx, int64(len(obs)), metric.WithAttributes(attribute.String("reason", "audit_unavailable")))
		return nil
	}
	d, err := e.eng.Observe(e.now(), obs)
	if err != nil {
		e.afterDecide(nil, err)
		return err
	}
	e.afterDecide(d, nil)
	return nil
}

// observe turns the data points of the rules' metrics into observations.
func (e *healingExporter) observe(ctx context.Context, md pmetric.Metrics) []engine.Observation {
	var obs []engine.Observation
	skip := func(reason string) {
		e.tel.HealingSkipped.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		res := rms.At(i).Resource().Attributes()
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				rules := e.metrics[m.Name()]
				if len(rules) == 0 {
					continue
				}
				dps, ok := pdatautil.NumberPoints(m)
				if !ok {
					skip("not_a_number_metric")
					continue
				}
				for l := 0; l < dps.Len(); l++ {
					dp := dps.At(l)
					v, ok := pdatautil.NumberValue(dp)
					if !ok || math.IsNaN(v) {
						skip("no_value")
						continue
					}
					for _, ri := range rules {
						o, reason := e.rules[ri].evaluate(ri, dp, res, v)
						switch {
						case reason != "":
							skip(reason)
						case o != nil:
							obs = append(obs, *o)
						}
					}
				}
			}
		}
	}
	return obs
}
