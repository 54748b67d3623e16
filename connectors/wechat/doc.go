// Package wechat is the connector for WeChat Official Accounts (公众号),
// built on github.com/silenceper/wechat/v2's officialaccount packages.
//
// Configuration (type: wechat): app_id, app_secret, token, mode
// (plain, compatible or safe), encoding_aes_key (safe and compatible mode)
// and optional api_url; see Settings. A key without a mode means safe;
// compatible must be chosen explicitly; plain with a key, or safe or
// compatible without one, is a configuration error.
//
// Inbound. WeChat pushes every message and event to the webhook
// /webhooks/{name}. GET is the server URL verification: the echostr is echoed
// when signature = sha1(sort(token, timestamp, nonce)) matches, else 401. POST
// carries the push, plaintext or encrypted (encrypt_type=aes, checked with
// msg_signature, AES-256-CBC). A bad signature gives 401, a malformed body
// 400, a body over 1 MiB 413; in none of these is anything stored.
//
// Forged pushes. The URL's signature covers the token, timestamp and nonce,
// not the body, and every push URL (with its signature) ends up in proxy and
// access logs. So:
//
//   - Safe mode refuses plaintext pushes (403): only a push whose
//     msg_signature covers its encrypted body is accepted. Such a push is
//     "sealed" (models.Inbound.Sealed); plaintext pushes, accepted in plain
//     and compatible mode, are not, and the inbox never puts a secret (the
//     link code) in their passive reply, which goes to whoever sent the
//     request: it sends the code as a customer-service message to the
//     OpenID, which reaches the real customer.
//   - A timestamp that is not a number, or more than 5 minutes from the
//     connector's clock (Deps.Now), is refused (403), GET and POST alike.
//   - Each push's signature is remembered for the window (11 minutes) in
//     the hub's shared KV, with a SHA-256 of the push's plaintext, through
//     KV.Add, which is atomic across replicas sharing the database. WeChat
//     re-posts a push it got no answer to within 5 s with the same
//     timestamp, nonce and signature, so a known signature is not refused
//     outright: with the same plaintext it is that re-post and goes on to
//     the inbox, which drops it by message id and answers it with the same
//     passive reply as the first; with another plaintext it is a replay of
//     a leaked URL with a forged body, and is refused (403, nothing stored).
//     The plaintext (not the raw body) is hashed so that a re-post counts
//     as the same even if its ciphertext were drawn anew. A signature reused
//     with the same body can only repeat a push already stored. If the KV
//     cannot be reached the push is answered 503 and WeChat re-posts it.
//     A URL verification's signature is remembered the same way (with its
//     echostr), so a logged verification URL cannot sign a push either.
//
// Platform quirks this package handles:
//
//   - 5 seconds: WeChat waits 5 s for the answer and re-posts the same push up
//     to three times in all. The connector answers only after the inbox
//     committed the message (ingest is bounded to 4 s) and relies on the
//     inbox's idempotency key: MsgId for messages, "ev:<OpenID>:<CreateTime>:
//     <Event>" for events, which have no MsgId. An ingest error answers 500 so
//     WeChat retries.
//   - Passive replies: the answer to a push may carry one reply. After a
//     subscribe, QR scan or menu click WeChat allows only 3 customer-service
//     messages within a minute, so those Inbounds are marked InlineReply and
//     the bot's confirmation goes into the answer (encrypted and signed when
//     the push was encrypted). Otherwise the answer is the plain text "success", also in
//     safe mode (the SDK would send an encrypted empty string).
//   - 48 hours: customer-service messages are allowed only within 48 h of the
//     customer's last message or event (errcode 45015, reported as permanent
//     and unreachable), and at most 5 per customer message (45047).
//     ReplyWindow tells the inbox.
//   - No buttons in chat: buttons become numbered options appended to the
//     text; the offer is remembered for 48 h per customer in the shared KV,
//     and a reply "1", "2", … arrives as KindAction with the button's ID.
//   - Text is limited to 2,048 bytes: longer texts are split on rune
//     boundaries and sent in order; a retried Outbound resumes after the
//     parts already delivered.
//   - Access tokens: each fetch invalidates the previous token after 5
//     minutes, so the token is cached in the hub's shared KV (one token for
//     all replicas). 40001/42001 drop it; the retry fetches a new one.
//   - The SDK's customer-message, media and QR calls take no context and all
//     SDK HTTP goes through the process-global util.DefaultHTTPClient. The
//     package installs one client whose transport routes each request to its
//     connector's api_url by appid= (token requests) or access_token= (all
//     other calls), and bounds every call to 20 s.
//   - Temporary media live three days. DownloadFile (connectors.FileDownloader)
//     fetches a customer's image, voice note or video with media/get: the
//     SDK's GetMediaURL, fetched through the same routing transport; a video
//     answers with a video_url, fetched in turn. An expired or unknown
//     media_id (40007) is permanent: "the file has expired on WeChat". A
//     voice note's Recognition (WeChat's speech-to-text, when the account
//     has it on) stays the message's text and is kept as the attachment's
//     Transcript. Limits: 10 MB for images and videos, 2 MB for voice.
//   - Agents' files (Outbound.Files, connectors.FileUploader) are uploaded
//     with media/upload, then sent as image, voice or video
//     customer-service messages, before the text: JPEG, PNG, GIF and BMP
//     images, AMR and MP3 voice notes (2 MB), MP4 videos. An Official
//     Account has no file message: a PDF or any other file is refused,
//     permanently and plainly, before any part of the message is sent.
//   - Importing the SDK's root package would set logrus to Debug on stdout:
//     only officialaccount and its subpackages are imported.
//   - basic.ShowQRCode pastes the ticket unescaped and names
//     mp.weixin.qq.com; TempQRCode escapes it and serves the image from
//     api_url when one is set.
package wechat
