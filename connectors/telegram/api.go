package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	tele "gopkg.in/telebot.v3"
)

// apiClient calls Bot API methods through telebot's Raw.
//
// telebot's methods take no context, so each call builds a light offline
// tele.Bot whose HTTP client carries the call's context (see ctxTransport).
// The answer is parsed here rather than by telebot: telebot treats a non-JSON
// body (a proxy's 502 page) as success and flattens unknown API errors into
// strings, while delivery needs the exact error_code, description and
// parameters.retry_after.
type apiClient struct {
	url       string
	token     string
	transport http.RoundTripper
	// timeout bounds a call when its context has no deadline.
	timeout time.Duration
}

// apiError is a Bot API error answer.
type apiError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("telegram %s: %s (%d)", e.Method, e.Description, e.Code)
}

// ctxTransport gives every request the context of one API call.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

// bot is an offline telebot client whose requests carry ctx: for the SDK's
// own methods (files), whose answers the caller reads through telebot.
func (a *apiClient) bot(ctx context.Context) (*tele.Bot, error) {
	return tele.NewBot(tele.Settings{
		URL: a.url, Token: a.token, Offline: true, Synchronous: true, Updates: 1,
		Client:  &http.Client{Transport: ctxTransport{ctx: ctx, next: a.transport}},
		OnError: func(error, tele.Context) {},
	})
}

// call invokes method with params and decodes the result into result (which
// may be nil). Errors are *apiError for API refusals, or transport errors
// with the token-bearing URL removed.
func (a *apiClient) call(ctx context.Context, method string, params any, result any) error {
	if _, ok := ctx.Deadline(); !ok && a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	bot, err := a.bot(ctx)
	if err != nil {
		return fmt.Errorf("telegram %s: %w", method, err)
	}
	data, err := bot.Raw(method, params)
	if len(data) == 0 && err != nil {
		// A transport error: *url.Error names the URL, which holds the token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("telegram %s: %w", method, err)
	}
	var env struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if jerr := json.Unmarshal(data, &env); jerr != nil {
		return fmt.Errorf("telegram %s: unexpected answer (not a Bot API response)", method)
	}
	if !env.OK {
		if env.ErrorCode == 0 {
			env.ErrorCode = http.StatusInternalServerError
		}
		return &apiError{Method: method, Code: env.ErrorCode, Description: env.Description, RetryAfter: env.Parameters.RetryAfter}
	}
	if result != nil {
		if err := decodeResult(env.Result, result); err != nil {
			return fmt.Errorf("telegram %s: decoding result: %w", method, err)
		}
	}
	return nil
}

// decodeResult guards against telebot's decoders panicking on odd input
// (Photo.UnmarshalJSON on an empty size list).
func decodeResult(raw json.RawMessage, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed result: %v", r)
		}
	}()
	return json.Unmarshal(raw, v)
}

// isAuthError reports an error that no retry can fix: the token is wrong or
// revoked (401), or the bot does not exist (404 on getMe).
func isAuthError(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound)
}
