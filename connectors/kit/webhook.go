package kit

import (
	"encoding/json"
	"net/http"
)

// ErrorBody encodes the API's error shape, {"error":{"code":...,"message":...}},
// with a models error code (models.EINVALID, EUNAUTHORIZED, ...). A webhook
// on a hot path encodes its answers once, at init.
func ErrorBody(code, message string) []byte {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, err := json.Marshal(struct {
		Error detail `json:"error"`
	}{detail{code, message}})
	if err != nil { // two strings always encode
		return []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	return b
}

// WriteBody answers with status and a body made by ErrorBody.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError answers a webhook request with status and the API's error
// shape. Messages must not carry secrets: platforms and proxies log them.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteBody(w, status, ErrorBody(code, message))
}
