package wxfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
)

// The message crypto is implemented here independently of the SDK, so that
// the connector's SDK-based code is checked against a second implementation
// of WeChat's WXBizMsgCrypt scheme.

// Signature is WeChat's signature: hex(sha1(concat(sort(parts)))). Pushes
// are signed over (token, timestamp, nonce); safe-mode messages over
// (token, timestamp, nonce, Encrypt).
func Signature(parts ...string) string {
	p := append([]string(nil), parts...)
	sort.Strings(p)
	h := sha1.Sum([]byte(strings.Join(p, "")))
	return hex.EncodeToString(h[:])
}

// aesKey decodes a 43-character EncodingAESKey to its 32-byte key.
func aesKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, errors.New("EncodingAESKey must be 43 characters")
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("invalid EncodingAESKey")
	}
	return key, nil
}

// Encrypt encrypts msg for appID the way WeChat does: AES-256-CBC with the
// key's first 16 bytes as IV over random(16) + len(msg) (big endian) + msg +
// appID, PKCS#7-padded to 32 bytes, base64-encoded. A nil random draws one.
func Encrypt(encodingAESKey, appID string, msg, random []byte) (string, error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return "", err
	}
	if random == nil {
		random = make([]byte, 16)
		if _, err := rand.Read(random); err != nil {
			return "", err
		}
	}
	if len(random) != 16 {
		return "", errors.New("random must be 16 bytes")
	}
	var buf bytes.Buffer
	buf.Write(random)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appID)
	pad := 32 - buf.Len()%32
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	out := buf.Bytes()
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out), nil
}

// Decrypt reverses Encrypt and checks that the message was encrypted for
// appID.
func Decrypt(encodingAESKey, appID, encrypted string) ([]byte, error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, errors.New("encrypted message is not base64")
	}
	if len(data) < 32 || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("encrypted message has a bad length")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || pad > len(plain) {
		return nil, errors.New("bad padding")
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, errors.New("message too short")
	}
	n := int(binary.BigEndian.Uint32(plain[16:20]))
	if n < 0 || 20+n > len(plain) {
		return nil, errors.New("bad message length")
	}
	if string(plain[20+n:]) != appID {
		return nil, errors.New("message was encrypted for another AppID")
	}
	return plain[20 : 20+n], nil
}
