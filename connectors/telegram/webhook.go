package telegram

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"net/http"
	"sync"
)

// SecretHeader carries the webhook secret on every call from Telegram.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateBytes bounds a webhook body; real updates are a few kilobytes.
const maxUpdateBytes = 1 << 20

// Pre-encoded answers in the hub's error shape; the webhook path is hot.
var (
	bodyMethod       = []byte(`{"error":{"code":"invalid","message":"use POST"}}`)
	bodyPolling      = []byte(`{"error":{"code":"not_found","message":"this connector uses polling, not a webhook"}}`)
	bodyUnauthorized = []byte(`{"error":{"code":"unauthorized","message":"missing or wrong X-Telegram-Bot-Api-Secret-Token"}}`)
	bodyNotRunning   = []byte(`{"error":{"code":"unavailable","message":"the connector is not running yet"}}`)
	bodyTooLarge     = []byte(`{"error":{"code":"invalid","message":"update larger than 1 MiB"}}`)
	bodyMalformed    = []byte(`{"error":{"code":"invalid","message":"malformed update"}}`)
	bodyIngest       = []byte(`{"error":{"code":"internal","message":"could not store the update; retry later"}}`)
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP receives Telegram's webhook calls at /webhooks/{name}. It
// answers 200 only once the update is committed (or deliberately ignored),
// and 500 when the commit failed so that Telegram delivers it again.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeBody(w, http.StatusMethodNotAllowed, bodyMethod)
		return
	}
	if c.settings.Mode != ModeWebhook {
		writeBody(w, http.StatusNotFound, bodyPolling)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretHeader)), c.secret) != 1 {
		writeBody(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	st := c.run.Load()
	if st == nil {
		w.Header().Set("Retry-After", "5")
		writeBody(w, http.StatusServiceUnavailable, bodyNotRunning)
		return
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 { // do not pin rare large buffers
			bufPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxUpdateBytes)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeBody(w, http.StatusRequestEntityTooLarge, bodyTooLarge)
			return
		}
		writeBody(w, http.StatusBadRequest, bodyMalformed)
		return
	}
	u, err := decodeUpdate(buf.Bytes())
	if err != nil {
		writeBody(w, http.StatusBadRequest, bodyMalformed)
		return
	}
	if err := c.process(r.Context(), st, &u); err != nil {
		if r.Context().Err() == nil {
			c.log.Warn("telegram: ingest failed; Telegram will retry", "update_id", u.ID, "err", err)
		}
		writeBody(w, http.StatusInternalServerError, bodyIngest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
