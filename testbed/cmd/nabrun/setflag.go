package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// setFlag collects --set Field=value overrides of forecast.DetectorConfig.
type setFlag []string

func (s *setFlag) String() string { return strings.Join(*s, ",") }

func (s *setFlag) Set(v string) error {
	if _, _, ok := strings.Cut(v, "="); !ok {
		return fmt.Errorf("%q: want Field=value", v)
	}
	*s = append(*s, v)
	return nil
}

// apply sets each named field of cfg (float or int fields only).
func (s setFlag) apply(cfg *forecast.DetectorConfig) error {
	rv := reflect.ValueOf(cfg).Elem()
	for _, kv := range s {
		name, val, _ := strings.Cut(kv, "=")
		f := rv.FieldByName(name)
		if !f.IsValid() {
			return fmt.Errorf("--set %s: DetectorConfig has no field %s", kv, name)
		}
		switch f.Kind() {
		case reflect.Float64:
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return fmt.Errorf("--set %s: %w", kv, err)
			}
			f.SetFloat(x)
		case reflect.Int:
			x, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("--set %s: %w", kv, err)
			}
			f.SetInt(int64(x))
		default:
			return fmt.Errorf("--set %s: field %s is not a number", kv, name)
		}
	}
	return nil
}
