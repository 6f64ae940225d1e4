package certs

import (
	"errors"

	"github.com/coffer/coffer/internal/keyops"
)

// ErrInvalid is wrapped by every error the request caused. The error's own text (not this
// sentinel's) is the message for the client.
var ErrInvalid = errors.New("certs: invalid request")

// invalid is a client-caused error: its text is meant for the client, and errors.Is
// matches [ErrInvalid] (not keyops's).
func invalid(format string, args ...any) error { return keyops.Invalid(ErrInvalid, format, args...) }

// quote shows a caller-supplied value in a message, cut short so a message stays readable.
func quote(s string) string { return keyops.Quote(s, 60) }
