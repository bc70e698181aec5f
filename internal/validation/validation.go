// Package validation joins the errors of one nested config type's Validate. The collector's
// confmap validation prefixes the error of each nested type with its field path, but only once:
// errors joined by errors.Join print on separate lines, and the lines after the first lose the
// path. Join keeps them on one line, so every error still says where it is.
package validation

import "strings"

// Join returns nil when every err is nil, the error itself when only one is not, and otherwise
// an error printing the messages separated by "; " and unwrapping to each (errors.Is and
// errors.As see every one). Errors made by Join are flattened into the result.
func Join(errs ...error) error {
	var all []error
	for _, err := range errs {
		switch e := err.(type) {
		case nil:
		case *joined:
			all = append(all, e.errs...)
		default:
			all = append(all, err)
		}
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	return &joined{errs: all}
}

type joined struct{ errs []error }

func (j *joined) Error() string {
	msgs := make([]string, len(j.errs))
	for i, err := range j.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j *joined) Unwrap() []error { return j.errs }
