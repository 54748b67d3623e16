package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/internal/dberr"
	"github.com/tongdao/hub/models"
)

// errorBody is the JSON shape of every error response:
// {"error": {"code": "...", "message": "..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusError is an application error whose HTTP status is more specific than
// its code's (413 and 415 are both "invalid"; 405 too). Only the HTTP layer
// creates it.
type statusError struct {
	status int
	err    *models.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus returns an error with the given code and message answered with
// status instead of the code's usual status.
func withStatus(status int, code, message string) error {
	return &statusError{status: status, err: &models.Error{Code: code, Message: message}}
}

// httpStatus is the one place where error codes become HTTP statuses. Context
// cancellation and deadlines (the client went away, or a dependency timed out)
// are reported as unavailable rather than internal.
func httpStatus(err error) (status int, code, message string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.err.Code, se.err.Message
	}
	code = models.ErrorCode(err)
	if code == models.EINTERNAL {
		switch {
		case errors.Is(err, context.Canceled):
			return http.StatusServiceUnavailable, models.EUNAVAILABLE, "request canceled"
		case errors.Is(err, context.DeadlineExceeded):
			return http.StatusServiceUnavailable, models.EUNAVAILABLE, "request timed out"
		case dberr.Unavailable(err):
			return http.StatusServiceUnavailable, models.EUNAVAILABLE, "the database is unavailable; retry later"
		}
	}
	message = models.ErrorMessage(err)
	switch code {
	case models.EINVALID:
		return http.StatusBadRequest, code, message
	case models.EUNAUTHORIZED:
		return http.StatusUnauthorized, code, message
	case models.EFORBIDDEN:
		return http.StatusForbidden, code, message
	case models.ENOTFOUND:
		return http.StatusNotFound, code, message
	case models.ECONFLICT:
		return http.StatusConflict, code, message
	case models.EUNAVAILABLE:
		return http.StatusServiceUnavailable, code, message
	case models.ERATELIMITED:
		return http.StatusTooManyRequests, code, message
	default:
		// Unknown codes are treated as internal so that nothing leaks.
		return http.StatusInternalServerError, models.EINTERNAL, "internal error"
	}
}

// writeError answers the request with err's JSON error and aborts the chain;
// when the request has a body, the connection is closed after the answer.
// Only internal errors are logged, at error level, with their detail; the
// client sees a generic message.
func (s *Server) writeError(c *gin.Context, err error) {
	status, code, message := httpStatus(err)
	if code == models.EINTERNAL {
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "internal error",
			slog.String("method", c.Request.Method),
			slog.String("route", routeLabel(c)),
			slog.String("error", err.Error()))
	}
	if c.Request.ContentLength != 0 {
		stopReading(c.Writer)
	}
	if status == http.StatusUnauthorized && c.Writer.Header().Get("WWW-Authenticate") == "" {
		c.Header("WWW-Authenticate", "Bearer")
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// stopReading is for a refused request whose body may be unread: rather than
// drain it from a possibly slow or hostile client after the answer (the
// server reads up to 256 KiB of an unread body to reuse the connection), it
// asks for the connection to be closed and ends reading from it at once.
func stopReading(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
