package telegram

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"net/http"
	"sync"

	"github.com/tongdao/hub/connectors/kit"
	"github.com/tongdao/hub/models"
)

// SecretHeader carries the webhook secret on every call from Telegram.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateBytes bounds a webhook body; real updates are a few kilobytes.
const maxUpdateBytes = 1 << 20

// Pre-encoded answers in the hub's error shape; the webhook path is hot.
var (
	bodyMethod       = kit.ErrorBody(models.EINVALID, "use POST")
	bodyPolling      = kit.ErrorBody(models.ENOTFOUND, "this connector uses polling, not a webhook")
	bodyUnauthorized = kit.ErrorBody(models.EUNAUTHORIZED, "missing or wrong X-Telegram-Bot-Api-Secret-Token")
	bodyNotRunning   = kit.ErrorBody(models.EUNAVAILABLE, "the connector is not running yet")
	bodyTooLarge     = kit.ErrorBody(models.EINVALID, "update larger than 1 MiB")
	bodyMalformed    = kit.ErrorBody(models.EINVALID, "malformed update")
	bodyIngest       = kit.ErrorBody(models.EINTERNAL, "could not store the update; retry later")
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP receives Telegram's webhook calls at /webhooks/{name}. It
// answers 200 only once the update is committed (or deliberately ignored),
// and 500 when the commit failed so that Telegram delivers it again.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		kit.WriteBody(w, http.StatusMethodNotAllowed, bodyMethod)
		return
	}
	if c.settings.Mode != ModeWebhook {
		kit.WriteBody(w, http.StatusNotFound, bodyPolling)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretHeader)), c.secret) != 1 {
		kit.WriteBody(w, http.StatusUnauthorized, bodyUnauthorized)
		return
	}
	st := c.run.Load()
	if st == nil {
		w.Header().Set("Retry-After", "5")
		kit.WriteBody(w, http.StatusServiceUnavailable, bodyNotRunning)
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
			kit.WriteBody(w, http.StatusRequestEntityTooLarge, bodyTooLarge)
			return
		}
		kit.WriteBody(w, http.StatusBadRequest, bodyMalformed)
		return
	}
	u, err := decodeUpdate(buf.Bytes())
	if err != nil {
		kit.WriteBody(w, http.StatusBadRequest, bodyMalformed)
		return
	}
	if err := c.process(r.Context(), st, &u); err != nil {
		if r.Context().Err() == nil {
			c.log.Warn("telegram: ingest failed; Telegram will retry", "update_id", u.ID, "err", err)
		}
		kit.WriteBody(w, http.StatusInternalServerError, bodyIngest)
		return
	}
	w.WriteHeader(http.StatusOK)
}
