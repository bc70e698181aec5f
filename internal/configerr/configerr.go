// Package configerr collects a config section's errors, each naming its field. The collector's
// config validation (confmap.Validate) walks nested sections and prefixes each section's errors
// with its path, so a section names only its own fields: "failure_rate: min_increase: ...".
package configerr

import (
	"errors"
	"fmt"
)

// List is a section's errors so far.
type List []error

// Add records that field is wrong: "field: " + the formatted text.
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
func (l List) Err() error { return errors.Join(l...) }
