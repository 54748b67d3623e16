// Package dcfake is a protocol-faithful stand-in for the subset of the Discord
// gateway (API v9, JSON encoding) and REST API that Tongdao's Discord connector
// uses. It listens on 127.0.0.1 only, so the real discordgo SDK can be driven
// against it in tests and in `hub sandbox`.
//
// What it speaks:
//
//   - REST under /api/v9: GET /gateway, GET /gateway/bot, GET /users/@me,
//     POST /users/@me/channels, POST /channels/{id}/messages,
//     POST /channels/{id}/messages/{mid}/threads, GET /channels/{id} and
//     POST /interactions/{id}/{token}/callback; and the CDN's
//     GET /attachments/{channel}/{id}/{name}. Every route but those two
//     requires "Authorization: Bot <token>". Errors use Discord's JSON shape
//     ({"code":50007,"message":"Cannot send messages to this user"}) with the
//     matching HTTP status; FailNext injects failures, including 429 with
//     retry_after and the X-RateLimit-* headers.
//   - The gateway: op 10 HELLO, op 2 IDENTIFY (token and intents checked), op 0
//     READY with increasing sequence numbers, op 1 heartbeat answered by op 11,
//     op 6 RESUME replaying the dispatches after the given sequence followed by
//     RESUMED. Dispatches honour intents the way Discord does: guild messages
//     need GUILD_MESSAGES, DMs need DIRECT_MESSAGES, GUILD_CREATE and
//     THREAD_CREATE need GUILDS, and without the privileged MESSAGE_CONTENT
//     intent guild messages arrive with empty content and attachments. When
//     IDENTIFY asks for compress, dispatches are sent as zlib-compressed binary
//     frames, one payload per frame, as Discord does.
//   - Failure tools: Reconnect (op 7), InvalidateSession (op 9), CloseWith (a
//     close code such as 4014; fatal codes also refuse later handshakes, as an
//     unchanged developer-portal setting would), DropConnection (TCP dropped
//     without a close frame).
//
// Files: a customer's attachments carry signed CDN URLs
// (https://cdn.discordapp.com/attachments/{channel}/{id}/{name}?ex=…&is=…&hm=…)
// whose paths the stand-in serves itself while the link is signed by it
// and ex has not passed on its clock (else 404 "This content is no longer
// available."; ExpireAttachment and DeleteAttachment play a day passing and
// a deleted message); POST /api/v9/attachments/refresh-urls signs links
// anew for files that still exist. A client that sends CDN requests to its
// api_url reaches them. POST /channels/{id}/messages takes
// multipart bodies, payload_json plus files[n], as discordgo's
// MessageSend.Files sends them: the files become the message's attachments
// (bytes kept, AttachmentData), up to 10 per message and 10 MiB per request
// (413, code 40005). Customers send photos, voice messages (Ogg Opus with
// the IS_VOICE_MESSAGE flag and duration_secs) and documents, sample files
// when no bytes are given.
//
// Dispatches emitted while the client is disconnected stay in the session's
// history and are replayed on RESUME, as Discord does within its resume
// window. Dispatches emitted while there is no session at all (before the
// first IDENTIFY, or after a non-resumable op 9) are held and sent after the
// next READY; Discord would drop them, but a sandbox should not lose a
// customer's message.
//
// Customers are played through Go methods (Post, SendDM, PostInChannel, Click,
// Sent, CloseDMs) or through CustomerAPI, a small JSON API that the sandbox
// mounts under /sandbox/discord/.
package dcfake
