// Package kit is what connector packages share, so that each platform's
// package holds only that platform's rules:
//
//   - Split cuts a text into parts a platform accepts, by the platform's own
//     length function (UTF16Len, RuneLen, ByteLen).
//   - BaseURL validates an api_url setting: scheme and host only.
//   - ErrorBody and WriteError answer a webhook request with the API's error
//     shape, {"error":{"code":"...","message":"..."}}.
//   - TooLarge and SizeText refuse a file in plain words; CancelOnClose ties
//     a download's context to its body (connectors.FileDownloader).
//
// Retry waits are internal/backoff, shared with the inbox.
package kit
