package wechat

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"

	"github.com/tongdao/hub/connectors/kit"
)

// DefaultAPIURL is the official WeChat API host, used when api_url is empty.
const DefaultAPIURL = "https://api.weixin.qq.com"

// The message encryption modes (Settings.Mode).
const (
	ModePlain      = "plain"
	ModeCompatible = "compatible"
	ModeSafe       = "safe"
)

// Settings are a wechat connector's settings, decoded strictly from the
// connector's `settings:` block in the hub configuration.
type Settings struct {
	// AppID is the Official Account's AppID, as shown in the WeChat admin
	// console under Settings and Development → Basic Configuration: "wx"
	// followed by 16 letters or digits. Required.
	AppID string `yaml:"app_id"`
	// AppSecret is the Official Account's AppSecret from the same page. It is
	// used to obtain access tokens and never logged. Required.
	AppSecret string `yaml:"app_secret"`
	// Token is the server-configuration Token you chose in the admin console
	// (3 to 32 letters or digits). WeChat signs every push with it. Required.
	Token string `yaml:"token"`
	// EncodingAESKey is the 43-character message encryption key from the
	// server configuration. Required in safe and compatible mode, refused in
	// plain mode. Optional.
	EncodingAESKey string `yaml:"encoding_aes_key"`
	// Mode is the message encryption mode chosen in the admin console:
	//   - safe (安全模式): every push must be encrypted (encrypt_type=aes)
	//     and carry a valid msg_signature over the encrypted body; plaintext
	//     pushes are refused. The default when encoding_aes_key is set.
	//   - compatible (兼容模式): encrypted and plaintext pushes are both
	//     accepted. A plaintext push is authenticated only by the signature
	//     of its URL, which does not cover the body, so its passive reply
	//     carries no secret (a link code goes out as a separate
	//     customer-service message instead). Only when chosen explicitly.
	//   - plain (明文模式): plaintext pushes only, with the same caution. The
	//     default without encoding_aes_key.
	// Optional.
	Mode string `yaml:"mode"`
	// APIURL is the base URL of the WeChat API, scheme and host only (an API
	// proxy or the sandbox stand-in). The connector keeps WeChat's own paths
	// under it ({api_url}/cgi-bin/...). Optional; the default is
	// https://api.weixin.qq.com.
	APIURL string `yaml:"api_url"`
}

var (
	appIDPattern  = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)
	tokenPattern  = regexp.MustCompile(`^[0-9A-Za-z]{3,32}$`)
	aesKeyPattern = regexp.MustCompile(`^[0-9A-Za-z+/]{43}$`)
)

// validate checks every setting and returns all problems joined, each naming
// its key. It sets the effective Mode and returns the effective API base URL
// (without a trailing slash).
func (s *Settings) validate() (string, error) {
	var errs []error
	switch {
	case s.AppID == "":
		errs = append(errs, errors.New("app_id: required"))
	case !appIDPattern.MatchString(s.AppID):
		errs = append(errs, errors.New(`app_id: must be "wx" followed by 16 letters or digits`))
	}
	if s.AppSecret == "" {
		errs = append(errs, errors.New("app_secret: required"))
	}
	switch {
	case s.Token == "":
		errs = append(errs, errors.New("token: required"))
	case !tokenPattern.MatchString(s.Token):
		errs = append(errs, errors.New("token: must be 3 to 32 letters or digits"))
	}
	if s.EncodingAESKey != "" {
		if err := checkAESKey(s.EncodingAESKey); err != nil {
			errs = append(errs, fmt.Errorf("encoding_aes_key: %w", err))
		}
	}
	switch s.Mode {
	case "":
		s.Mode = ModePlain
		if s.EncodingAESKey != "" {
			s.Mode = ModeSafe
		}
	case ModePlain:
		if s.EncodingAESKey != "" {
			errs = append(errs, errors.New("mode: plain takes no encoding_aes_key; remove the key, or choose safe (or compatible) as in the admin console"))
		}
	case ModeSafe, ModeCompatible:
		if s.EncodingAESKey == "" {
			errs = append(errs, fmt.Errorf("encoding_aes_key: required in %s mode", s.Mode))
		}
	default:
		errs = append(errs, fmt.Errorf("mode: must be plain, compatible or safe, not %q", s.Mode))
	}
	base, err := kit.BaseURL(s.APIURL, DefaultAPIURL)
	if err != nil {
		errs = append(errs, fmt.Errorf("api_url: %w", err))
	}
	return base, errors.Join(errs...)
}

// checkAESKey verifies that key is 43 characters of base64 without padding
// decoding to a 32-byte AES-256 key.
func checkAESKey(key string) error {
	if !aesKeyPattern.MatchString(key) {
		return fmt.Errorf("must be exactly 43 base64 characters (A-Z, a-z, 0-9, + and /), got %d characters", len(key))
	}
	raw, err := base64.StdEncoding.DecodeString(key + "=")
	if err != nil || len(raw) != 32 {
		return errors.New("is not a valid base64-encoded 32-byte key")
	}
	return nil
}
