// Package httpapi is the hub's HTTP adapter (Gin): the agent API under
// /api/v1, the webhook mount for connectors, the Server-Sent Events stream,
// health, readiness, metrics and the web console. It is the only package
// that imports Gin; it consumes the inbox through the small Inbox interface.
//
// Routes:
//
//	GET  /healthz                        process up: {"status":"ok"}
//	GET  /readyz                         200 when the database works and no connector is stale, else 503
//	GET  /metrics                        Prometheus text format (Options.Monitoring may protect it)
//	GET|POST /webhooks/{name}            the connector's own http.Handler, no bearer token
//	GET  /api/v1/openapi.json            the OpenAPI 3.1 document (public)
//	GET  /api/v1/conversations           filters, keyset pagination
//	GET  /api/v1/conversations/{id}
//	GET  /api/v1/conversations/{id}/messages
//	POST /api/v1/conversations/{id}/messages   202 with the queued message
//	POST /api/v1/conversations/{id}/status
//	POST /api/v1/conversations/{id}/assign
//	GET  /api/v1/contacts/{id}
//	GET  /api/v1/events                  Server-Sent Events
//
// Everything under /api/v1 except the OpenAPI document needs
// "Authorization: Bearer TOKEN"; a missing or invalid token is answered 401
// with "WWW-Authenticate: Bearer". Other paths answered by GET or HEAD go to
// the console when one is configured, except under /api/ and /webhooks/.
//
// Errors are always {"error": {"code", "message"}}. One function, httpStatus,
// maps codes to statuses (invalid 400, unauthorized 401, forbidden 403,
// not_found 404, conflict 409, unavailable 503, internal 500); the HTTP layer
// refines invalid to 405 (wrong method), 413 (body over MaxBodyBytes) and 415
// (Content-Type not JSON). Only internal errors are logged, and their message
// to the client is generic. Ids in paths are positive decimal strings; a
// malformed id is 400.
//
// Requests are decoded strictly: unknown body fields, wrong JSON types,
// trailing data, unknown or repeated query parameters are 400 errors naming
// the culprit, so a typo never silently widens a list or drops a change.
//
// Quirks worth knowing:
//
//   - Gin's mode is process-global; New sets release mode. Gin's own logger
//     is not used: one slog line per request at debug level (warn for 5xx),
//     without the query string, the Authorization header or bodies.
//   - /webhooks/{name} is the hot path (platform pushes; WeChat re-posts if
//     not answered within 5 s). Only the instrument middleware and panic
//     recovery run in front of it; the body is not copied, only wrapped in
//     http.MaxBytesReader.
//   - Metrics are labelled by route template (never the raw path), bounded
//     method and status code; unmatched requests share the route label
//     "unmatched", console requests "console". An event stream's duration
//     is its whole life. Go and process collectors are registered only when
//     Options.Registry is nil or Options.RuntimeMetrics is set, so that a
//     caller that registers them itself gets no duplicate.
//   - All proxies are untrusted unless Options.TrustedProxies names them
//     (Gin trusts every proxy by default).
//   - The event stream runs on the request's goroutine and never keeps the
//     *gin.Context. It takes the inbox's notify channel before each query so
//     that an event committed between the query and the wait is not missed,
//     and it lifts the server's write deadline for its response.
//     EventSource cannot send headers, so the first connection may pass
//     ?last_event_id=; the Last-Event-ID header wins when both are present.
package httpapi
