// Package wxfake is a protocol-faithful stand-in for WeChat's Official
// Account platform, serving on 127.0.0.1 for tests and `hub sandbox`.
//
// It plays both sides of WeChat: the API the connector calls
// (/cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/message/custom/send,
// /cgi-bin/qrcode/create, /cgi-bin/showqrcode, /cgi-bin/media/upload,
// /cgi-bin/media/get) with WeChat's errcode/errmsg answers, and the pushes
// a customer's actions cause (messages and subscribe, unsubscribe, SCAN,
// CLICK and LOCATION events),
// signed and, for safe- and compatible-mode accounts (Account.Mode),
// AES-encrypted like WeChat's WXBizMsgCrypt (compatible mode sends the
// plaintext fields beside their encryption), posted to the hub's webhook
// with the stand-in's clock as timestamp and re-posted, byte for byte, up to
// three times in all when the hub does not answer 200 in time.
//
// Like WeChat it enforces the customer-service rules: the 48-hour window
// since the customer's last message or event (45015), at most 5 messages
// per customer message and 3 within a minute after a subscribe, scan or menu
// click (45047), no messages to customers who unfollowed (43004). Every
// time-dependent rule uses the injected clock (Options.Now).
//
// Temporary media behave as on WeChat: media/upload keeps an upload
// (Uploads, Media), media/get serves a customer's image, voice note (AMR,
// with the push's Recognition text when given) or the video_url of a
// video, with WeChat's Content-Type and Content-Disposition; a media_id
// older than three days by the injected clock (MediaTTL), in media/get or
// in an image, voice or video customer-service message, gets 40007.
//
// Tests and people play customers through Go methods (SendText, Follow,
// Scan, Click, …) or the JSON CustomerAPI; Sent lists what the account sent
// (customer-service messages and passive replies). ExpireToken, FailNext,
// SetSlow and AbandonPushes (WeChat giving up on a slow hub) inject faults.
// The message crypto is implemented here independently of the SDK the
// connector uses.
package wxfake
