package pdatautil

import (
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestNumberValue(t *testing.T) {
	s := pmetric.NewNumberDataPointSlice()
	i := s.AppendEmpty()
	i.SetIntValue(-7)
	d := s.AppendEmpty()
	d.SetDoubleValue(2.5)
	e := s.AppendEmpty()
	nan := s.AppendEmpty()
	nan.SetDoubleValue(math.NaN())
	inf := s.AppendEmpty()
	inf.SetDoubleValue(math.Inf(-1))

	for _, tc := range []struct {
		name           string
		dp             pmetric.NumberDataPoint
		v              float64
		ok, finite     bool
		nanV, infinite bool
	}{
		{name: "int", dp: i, v: -7, ok: true, finite: true},
		{name: "double", dp: d, v: 2.5, ok: true, finite: true},
		{name: "empty", dp: e, v: 0},
		{name: "nan", dp: nan, ok: true, nanV: true},
		{name: "inf", dp: inf, ok: true, infinite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := NumberValue(tc.dp)
			if ok != tc.ok {
				t.Fatalf("NumberValue ok = %v, want %v", ok, tc.ok)
			}
			switch {
			case tc.nanV:
				if !math.IsNaN(v) {
					t.Fatalf("NumberValue = %v, want NaN", v)
				}
			case tc.infinite:
				if !math.IsInf(v, -1) {
					t.Fatalf("NumberValue = %v, want -Inf", v)
				}
			case v != tc.v:
				t.Fatalf("NumberValue = %v, want %v", v, tc.v)
			}
			fv, fok := FiniteValue(tc.dp)
			if fok != tc.finite {
				t.Fatalf("FiniteValue ok = %v, want %v", fok, tc.finite)
			}
			if fok && fv != tc.v {
				t.Fatalf("FiniteValue = %v, want %v", fv, tc.v)
			}
			if !fok && fv != 0 {
				t.Fatalf("FiniteValue = %v without a value, want 0", fv)
			}
		})
	}
}

func TestNumberPoints(t *testing.T) {
	ms := pmetric.NewMetricSlice()
	g := ms.AppendEmpty()
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	s := ms.AppendEmpty()
	s.SetEmptySum().DataPoints().AppendEmpty()
	s.Sum().DataPoints().AppendEmpty()
	h := ms.AppendEmpty()
	h.SetEmptyHistogram().DataPoints().AppendEmpty()

	if dps, ok := NumberPoints(g); !ok || dps.Len() != 1 || dps.At(0).IntValue() != 1 {
		t.Fatalf("gauge: ok=%v len=%d", ok, dps.Len())
	}
	if dps, ok := NumberPoints(s); !ok || dps.Len() != 2 {
		t.Fatalf("sum: ok=%v len=%d", ok, dps.Len())
	}
	if _, ok := NumberPoints(h); ok {
		t.Fatal("histogram: ok=true, want false")
	}
	if _, ok := NumberPoints(pmetric.NewMetric()); ok {
		t.Fatal("empty metric: ok=true, want false")
	}
}
