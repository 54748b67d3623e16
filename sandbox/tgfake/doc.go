// Package tgfake is a protocol-faithful stand-in for the Telegram Bot API,
// listening on 127.0.0.1 only. The sandbox and the tests point a Telegram
// connector's api_url at it and play the customer through Go methods or a
// small JSON API.
//
// It speaks the real wire format: `{URL}/bot<token>/<method>` with parameters
// as a JSON object (string-valued, as telebot sends them, or natively typed),
// form-encoded, multipart or in the query string; answers in the
// `{"ok":true,"result":...}` envelope with real Message objects, and errors
// as `{"ok":false,"error_code":N,"description":"..."}` (an unknown method is
// 404 "Not Found", a wrong token 401 "Unauthorized").
//
// Behaviour copied from Telegram:
//   - getUpdates confirms every update below its offset, long-polls up to
//     `timeout` seconds, and answers 409 Conflict while a webhook is set.
//   - With a webhook set, each update is POSTed to it with the
//     X-Telegram-Bot-Api-Secret-Token header; a non-2xx answer is retried with
//     backoff, a bounded number of times. An update that is never accepted
//     stays pending (getWebhookInfo's pending_update_count), as Telegram keeps
//     it, and reaches getUpdates after deleteWebhook.
//   - Message ids count per private chat and are shared by both directions.
//   - A blocked user yields 403 "Forbidden: bot was blocked by the user"; a
//     chat the bot never saw yields 400 "Bad Request: chat not found".
//   - Files: getFile describes a file (file_size, file_path) and refuses
//     files over 20 MB ("Bad Request: file is too big"); the bytes are served
//     at {URL}/file/bot<token>/<file_path>. sendPhoto, sendDocument,
//     sendVoice, sendAudio and sendVideo take a URL, a file_id or an upload
//     in a multipart body (a part named after the field, or
//     "attach://<part>"); uploads are kept and recorded (SentMessage.Upload:
//     name, sniffed type, size, SHA-256; FileData has the bytes). A photo
//     that is no image is refused (IMAGE_PROCESS_FAILED), uploads over
//     50 MB get 413. Customers send photos (two sizes), voice notes (Ogg
//     Opus) and documents, sample files when no bytes are given.
//   - Webhook URLs must point at a loopback address (the stand-in never talks
//     to anything else).
//
// One Server is one bot. Run several servers for several bots.
package tgfake
