// Package telegram is the Telegram connector: a bot on the Bot API, built on
// gopkg.in/telebot.v3 (its Update, Message and User types and its Raw call).
//
// Settings (type: telegram): token, mode (webhook|polling), webhook_secret,
// api_url, bot_username; see Settings.
//
// # Receiving
//
// Webhook mode: the hub mounts the connector at /webhooks/{name}; Run
// registers {server.public_url}/webhooks/{name} with setWebhook. ServeHTTP
// checks the X-Telegram-Bot-Api-Secret-Token header in constant time (401,
// nothing stored), limits the body to 1 MiB (413), decodes a tele.Update
// (400) and answers 200 only after Sink.Ingest committed the message; when
// Ingest fails it answers 500 and Telegram delivers the update again.
//
// telebot's own Webhook poller is not used: it answers 200 to a wrong secret,
// races between Poll and ServeHTTP, and panics on Stop. Nor is
// Bot.ProcessUpdate: it returns nothing, so an Ingest error would have to
// travel back through a side channel, and a slot keyed by update_id collides
// when Telegram re-sends an update while the first delivery is still being
// handled. Instead ServeHTTP calls the normalizer directly on the decoded
// update and gets Ingest's error as a return value: race-free by
// construction, no per-request handler context, and concurrent requests
// ingest concurrently (the inbox group-commits them). It also keeps
// callback_data verbatim, where ProcessUpdate would split data starting with
// "\f" into telebot's unique/data pair.
//
// Polling mode: Run calls deleteWebhook (keeping pending updates) and
// long-polls getUpdates (25 s). The offset advances only past updates that
// were committed or deliberately ignored; when an Ingest fails the batch
// stops there and the same update is fetched again after an exponential
// backoff (1 s doubling to 30 s, ±20%), as after any polling error. telebot's
// LongPoller is not used: it retries errors with no backoff.
//
// update_id is not persisted: deduplication is the inbox's job, on the
// ExternalID this package derives from the message itself.
//
// # Normalization
//
// Only private chats with humans become Inbound messages; groups, channels,
// bots and other update kinds are acknowledged and dropped. Message ids are
// per chat, so ExternalID is "<chat_id>:<message_id>"; an edit is
// "<chat_id>:<message_id>:e<edit_date>" (Kind edit, EditOf the original); a
// button click is "cb:<callback id>" (Kind action, Action the callback data,
// Text the button's label) and is answered with answerCallbackQuery after it
// committed, once (not for a duplicate). "/start payload" (a deep link
// https://t.me/<bot>?start=payload) gives Command "start" and Payload
// "payload"; "/cmd@otherbot" is not a command for us. Text stays as typed.
// telebot decodes coordinates as float32 (about a metre off), so a shared
// location is decoded once more at full precision.
//
// # Sending
//
// Telegram's flood limits are about one message a second per chat (short
// bursts tolerated) and 30 a second per bot; Send waits for a slot (a GCRA
// limiter on the injected clock, honouring ctx) before every call. Beyond
// that Telegram answers 429 with parameters.retry_after, surfaced as
// DeliveryError.RetryAfter. 403 (bot blocked, account deleted) is permanent
// and marks the customer unreachable; 400 is permanent; network errors and
// 5xx are transient. Texts longer than 4096 UTF-16 code units are split.
//
// # Files
//
// DownloadFile (connectors.FileDownloader) fetches a customer's photo,
// voice note, document, audio, video or sticker by its file_id: getFile
// gives the size and path, and telebot's Bot.File fetches the bytes from
// {api_url}/file/bot<token>/<file_path>. A file over the hub's limit or the
// Bot API's 20 MB is refused before any byte is read (from the update's
// file_size, else getFile's), with a plain permanent reason; an unknown or
// expired file_id is permanent too ("the file is no longer available on
// Telegram"); network errors, 429 and 5xx are temporary. The file URL holds
// the token and is never returned or logged.
//
// Send delivers an agent's files (Outbound.Files, connectors.FileUploader)
// before the text, each uploaded in a multipart body through telebot's
// Sendable types: JPEG, PNG and WebP images up to 10 MB with sendPhoto,
// Ogg audio with sendVoice, MP3 and M4A with sendAudio, MP4 with sendVideo,
// everything else (a PDF, a GIF, a larger image) with sendDocument under
// its name. Files over 50 MB are refused unopened. Each attempt opens the
// stored file again, so a retry resends the same bytes.
//
// telebot's API methods take no context, so every call builds a light
// offline tele.Bot whose HTTP client carries the call's context, and the
// answer's envelope is parsed here (telebot treats a non-JSON body as
// success and reduces unknown errors to strings). Transport errors are
// stripped of the request URL, which contains the token.
package telegram
