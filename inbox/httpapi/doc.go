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
//	POST /api/v1/contacts/{id}/merge
//	GET  /api/v1/contacts/{id}/suggestions
//	POST /api/v1/merges/{id}/undo        admin only
//	POST /api/v1/identities/{id}/unlink  admin only
//	GET  /api/v1/events                  Server-Sent Events
//
// Everything under /api/v1 except the OpenAPI document needs
// "Authorization: Bearer TOKEN"; a missing or invalid token is answered 401
// with "WWW-Authenticate: Bearer". Each route is registered with its access
// level (public, agent = any role, admin); an agent on an admin route gets
// 403 forbidden. The role test walks the router, so a route registered
// without a decision fails it; openapi.json lists the roles in x-roles.
//
// Deadlines: every request gets a read deadline for its body
// (Options.BodyTimeout) and a write deadline (Options.WriteTimeout) on the
// connection, set through http.ResponseController by the instrument
// middleware; a rejected webhook (4xx) is answered with "Connection: close". The event stream
// lifts both deadlines (an expired read deadline would cancel it, since the
// server reads in the background to notice a client leaving) and is capped
// per token and in total (429 rate_limited). Other paths answered by GET or HEAD go to
// the console when one is configured, except under /api/ and /webhooks/.
//
// Errors are always {"error": {"code", "message"}}. One function, httpStatus,
// maps codes to statuses (invalid 400, unauthorized 401, forbidden 403,
// not_found 404, conflict 409, unavailable 503, internal 500); the HTTP layer
// refines invalid to 405 (wrong method), 413 (body over MaxBodyBytes) and 415
// (Content-Type not JSON). Only internal errors are logged, and their message
// to the client is generic. Ids in paths are positive decimal strings; a
// malformed id is 400, a well-formed one beyond int64 404.
//
// Requests are decoded strictly: unknown body fields, field names in another
// case, repeated keys, wrong JSON types, trailing data, unknown, repeated or
// empty query parameters are 400 errors naming the culprit, so a typo never
// silently widens a list or drops a change. encoding/json matches field
// names case-insensitively and keeps the last repeated key, so a first pass
// over the tokens (strictKeys) checks both against the target type. Every
// answer but the webhooks' and the console's carries Cache-Control:
// no-store and X-Content-Type-Options: nosniff.
//
// Quirks worth knowing:
//
//   - Gin's mode is process-global; New sets release mode. Gin's own logger
//     is not used: one slog line per request at debug level (warn for 5xx),
//     without the query string, the Authorization header or bodies.
//   - /webhooks/{name} is the hot path (platform pushes; WeChat re-posts if
//     not answered within 5 s). Only the instrument middleware and panic
//     recovery run in front of it; the body is not copied, only wrapped in
//     http.MaxBytesReader, and the writer in closeOnReject.
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
