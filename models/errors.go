package models

import (
	"errors"
	"fmt"
	"time"
)

// Error codes shared by every layer. The HTTP adapter maps each to one status.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ECONFLICT     = "conflict"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
	// ERATELIMITED is a request over a limit (such as concurrent event
	// streams); retrying later may succeed. HTTP 429.
	ERATELIMITED = "rate_limited"
)

// Error is an application error with a code and a message safe to show users.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err carries none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors are
// reduced to a generic text so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// DeliveryError is what a connector's Send returns when the platform refuses a
// message. Permanent errors are not retried; the Reason is shown to agents.
type DeliveryError struct {
	// Permanent is true when retrying cannot help (blocked, window closed, ...).
	Permanent bool
	// Code is the platform's own error code, e.g. "45015" or "50007".
	Code string
	// Reason is a plain-words explanation for agents.
	Reason string
	// RetryAfter is the platform's requested wait before the next attempt (429).
	RetryAfter time.Duration
	// Unreachable marks the recipient identity as unreachable (unsubscribed,
	// DMs closed), so that replies are routed elsewhere.
	Unreachable bool
}

func (e *DeliveryError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (platform code %s)", e.Reason, e.Code)
	}
	return e.Reason
}
