// Package web is the agent console of the Tongdao hub: a small single-page
// application (plain HTML, CSS and JavaScript, no build step) embedded into
// the binary and served by Handler.
//
// The console talks only to the agent API under /api/v1 with the bearer
// token the agent pastes at sign-in (kept in sessionStorage, so it dies with
// the tab). Live updates come from GET /api/v1/events read with fetch and a
// stream reader, because EventSource cannot send an Authorization header; the
// reader parses Server-Sent Events frames itself and resumes with
// Last-Event-ID after a drop.
//
// Serving rules:
//   - "/" and every unknown path get index.html, so deep links such as
//     /c/42 survive a reload; index.html is revalidated on every load
//     (Cache-Control: no-cache, with an ETag).
//   - index.html references each asset with a content hash (?v=...); a
//     request carrying the current hash is cacheable for a year (immutable),
//     any other request for the asset is revalidated.
//   - Every response carries a strict Content-Security-Policy: scripts,
//     styles and connections from the console's own origin only, no inline
//     script or style, no framing.
//   - Only GET and HEAD are served; anything else is 405.
package web
