// Package discord is Tongdao's Discord connector, built on discordgo v0.29.0
// (API v9). It registers the connector type "discord".
//
// Platform facts and the choices they led to:
//
//   - Inbound arrives over the gateway websocket only (no webhook). The bot
//     identifies with DIRECT_MESSAGES | GUILD_MESSAGES | MESSAGE_CONTENT.
//     Message Content is a privileged intent: unless it is enabled in the
//     developer portal the gateway closes with 4014, and Run returns an error
//     that says so (likewise 4004 for a bad token). Those refusals happen
//     during the handshake, where discordgo's Open returns the close code.
//   - Customers reach us by DM (always), by writing in a configured support
//     channel, or inside a support thread the bot opened. support_reply
//     chooses the answer: a public thread started on the customer's message
//     (default; its id equals the message id, which makes a redelivered
//     message harmless) or a DM. Thread ids the bot opens are cached; an
//     unknown guild channel is looked up once through REST (a thread whose
//     parent is a support channel and whose owner is the bot). Other guild
//     channels, bots, webhooks, system messages and our own messages are
//     ignored.
//   - Button clicks arrive as INTERACTION_CREATE. Discord wants an answer
//     within 3 s; the connector commits first and then acknowledges with type
//     6 (deferred update), so the sink must be quick. ExternalID is
//     "ix:<interaction id>".
//   - discordgo computes its endpoint URLs at init, so api_url is honoured by
//     an http.Client whose transport rewrites scheme and host. The gateway
//     URL comes from GET /api/v9/gateway through that client.
//   - discordgo's own reconnect loop is not context-aware and can reopen a
//     session after Close; it is switched off and Run reconnects instead
//     (with backoff), while discordgo still heartbeats and RESUMEs the
//     session, so the gateway replays what was missed. Handlers run in order
//     on discordgo's reading goroutine (SyncEvents), so a customer's messages
//     reach the sink in order. discordgo advances its sequence number before
//     a handler runs: a commit that fails after a few retries is lost.
//   - discordgo's Close waits one second before closing the socket: a Run
//     takes about a second to return after its context ends.
//   - Send splits text above 2,000 characters on line or word boundaries and
//     puts buttons (5 per row, 25 at most) and image embeds on the last part.
//     Each part carries a nonce derived from our message id with
//     enforce_nonce, so a retry within Discord's window does not post a part
//     twice. 429 responses are waited out by discordgo's rate limiter (the
//     wait is not cancelled by the context). Error codes map to
//     models.DeliveryError: 50007 DMs closed (permanent, unreachable), 40003
//     DMs opened too fast, 10003 unknown channel (permanent); 5xx and network
//     errors are transient.
//   - Files. DownloadFile (connectors.FileDownloader) fetches a customer's
//     attachment from its signed CDN URL (cdn.discordapp.com,
//     media.discordapp.net; nothing else is fetched), through api_url's host
//     when api_url is set, as REST calls are. A size over the hub's limit is
//     refused from the attachment's size before any request, else from the
//     Content-Length; an expired link (403/404) is refreshed once through
//     POST /attachments/refresh-urls, and a file that has none (deleted) is
//     permanent. Send uploads Outbound.Files (connectors.FileUploader) as
//     message attachments before the text: a multipart body of payload_json
//     and files[n] built by discordgo's MultipartBodyWithJSON (what
//     MessageSend.Files uses) around the connector's own payload, so the
//     nonce still guards retries; ten files and 10 MiB per message, a larger
//     file refused unopened. Each attempt reads the stored files again.
package discord
