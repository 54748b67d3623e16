package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tongdao/hub/models"
)

// HashToken returns the stored form of a token: its SHA-256 in hex. Tokens
// carry 256 bits of randomness, so a fast hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken creates an API token and returns it in plain text, once.
func (s *Store) CreateToken(ctx context.Context, name, role string) (string, models.APIToken, error) {
	if name == "" {
		return "", models.APIToken{}, models.Errorf(models.EINVALID, "token name is required")
	}
	if role != models.RoleAdmin && role != models.RoleAgent {
		return "", models.APIToken{}, models.Errorf(models.EINVALID, "role must be admin or agent, not %q", role)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", models.APIToken{}, err
	}
	plain := "tdk_" + base64.RawURLEncoding.EncodeToString(b[:])
	t := models.APIToken{Name: name, Role: role, Hash: HashToken(plain), CreatedAt: s.Now().UTC()}
	if err := s.DB.WithContext(ctx).Create(&t).Error; err != nil {
		return "", models.APIToken{}, err
	}
	return plain, t, nil
}

// TokenByHash finds a token by its hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (models.APIToken, error) {
	var t models.APIToken
	err := s.Read.WithContext(ctx).Where("hash = ?", hash).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, models.Errorf(models.EUNAUTHORIZED, "invalid API token")
	}
	return t, err
}

// TouchToken records a token's use.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	return s.DB.WithContext(ctx).Model(&models.APIToken{}).Where("id = ?", id).Update("last_used_at", at.UTC()).Error
}

// KVGet returns a shared value unless missing or expired.
func (s *Store) KVGet(ctx context.Context, key string) (string, bool, error) {
	var kv models.KV
	err := s.DB.WithContext(ctx).Where(`"key" = ?`, key).Take(&kv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if !kv.ExpiresAt.IsZero() && !s.Now().Before(kv.ExpiresAt) {
		return "", false, nil
	}
	return kv.Value, true, nil
}

// KVSet stores a shared value with a time to live (0: no expiry).
func (s *Store) KVSet(ctx context.Context, key, value string, ttl time.Duration) error {
	kv := models.KV{Key: key, Value: value}
	if ttl > 0 {
		kv.ExpiresAt = s.Now().UTC().Add(ttl)
	}
	return s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "expires_at"}),
	}).Create(&kv).Error
}
