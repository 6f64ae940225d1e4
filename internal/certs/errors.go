package certs

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error the request caused. The error's own text (not this
// sentinel's) is the message for the client.
var ErrInvalid = errors.New("certs: invalid request")

// invalidError is a client-caused error: its text is meant for the client, and errors.Is
// matches [ErrInvalid].
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// quote shows a caller-supplied value in a message, cut short so a message stays readable.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return fmt.Sprintf("%q", s)
}
