package vault

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds. Every error the Service returns for a caller's mistake wraps one of them;
// anything else is an internal failure.
var (
	// ErrVaultNotFound: the vault does not exist (or is deleted).
	ErrVaultNotFound = errors.New("vault not found")
	// ErrNotFound: no live object (or version) of that name.
	ErrNotFound = errors.New("object not found")
	// ErrDeletedNotFound: no deleted object of that name.
	ErrDeletedNotFound = errors.New("deleted object not found")
	// ErrDeletedButRecoverable: the name belongs to a soft-deleted object and is reserved.
	ErrDeletedButRecoverable = errors.New("object is deleted but recoverable")
	// ErrAlreadyExists: restore over a live object.
	ErrAlreadyExists = errors.New("object already exists")
	// ErrPurgeProtected: purge refused because the vault has purge protection.
	ErrPurgeProtected = errors.New("purge protection is enabled")
	// ErrDisabled: the object version is disabled and cannot be read.
	ErrDisabled = errors.New("object is disabled")
	// ErrOperationNotAllowed: the key's key_ops do not include the operation.
	ErrOperationNotAllowed = errors.New("operation not allowed by key_ops")
	// ErrVaultDeletedName: a vault of that name is soft-deleted (its name is reserved).
	ErrVaultDeletedName = errors.New("a vault of that name is deleted but recoverable")
	// ErrVaultNameTaken: the name belongs to a vault in another subscription or group.
	ErrVaultNameTaken = errors.New("vault name already in use")
	// ErrVaultPurgeProtected: purging a deleted vault refused by purge protection.
	ErrVaultPurgeProtected = errors.New("vault purge protection is enabled")
	// ErrVaultNameInvalid: the name breaks Azure's vault name rule.
	ErrVaultNameInvalid = errors.New("invalid vault name")
	// ErrInvalidVault: a vault's settings break a rule (retention, purge protection, name).
	ErrInvalidVault = errors.New("invalid vault settings")
	// ErrNoOperation: the certificate has no issuance operation.
	ErrNoOperation = errors.New("no pending certificate operation")
	// ErrManaged: a direct change to a key or secret whose lifetime a certificate manages.
	ErrManaged = errors.New("object is managed by a certificate")
	// ErrBadParameter: the request itself is invalid (name, size, blob).
	ErrBadParameter = errors.New("bad parameter")
)

// Error is the typed error of the domain: a kind plus the object it concerns.
type Error struct {
	Kind       error  // one of the sentinels above
	ObjectKind Kind   // secret, key, certificate
	Name       string // object name as the caller gave it (or stored)
	Version    string // set when a specific version was asked for
	// ScheduledPurgeDate is set for ErrDeletedButRecoverable.
	ScheduledPurgeDate time.Time
	// Detail is a human explanation for ErrBadParameter.
	Detail string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.ObjectKind, e.Name, e.Kind)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

func badParam(kind Kind, name, detail string) error {
	return &Error{Kind: ErrBadParameter, ObjectKind: kind, Name: name, Detail: detail}
}
