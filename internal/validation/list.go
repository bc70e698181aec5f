package validation

import "fmt"

// List collects one config type's errors, each naming its field; Err joins them with Join, so
// that under the collector's validation every one stays on the line that carries the type's path.
type List []error

// Add records that field is wrong: "field: " + the formatted text (%w wraps).
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
}

// Check records the error when ok is false.
func (l *List) Check(ok bool, field, format string, args ...any) {
	if !ok {
		l.Add(field, format, args...)
	}
}

// Err joins the errors (nil when there are none).
func (l List) Err() error { return Join(l...) }

// Between returns the error "field: must be between lo and hi, got v" when v is outside lo..hi,
// and nil when it is within.
func Between(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s: must be between %d and %d, got %d", field, lo, hi, v)
	}
	return nil
}
