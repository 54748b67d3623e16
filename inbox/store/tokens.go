package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
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

// kvSweepEvery is how often, on average, KVAdd also deletes every expired
// entry: adds create a key each (WeChat push nonces), so without the sweep
// the table would keep every key ever added.
const kvSweepEvery = 64

// KVAdd stores value under key for ttl only if key holds no live value, and
// reports whether it did. An expired entry counts as absent. It is one
// statement — an insert that, on a conflict, replaces the row only when
// that row has expired — so of concurrent adds of one key, on any number of
// replicas sharing the database, exactly one returns true. It works the same
// on SQLite and PostgreSQL.
func (s *Store) KVAdd(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errors.New("store: KVAdd needs a positive ttl")
	}
	now := s.Now().UTC()
	res := s.DB.WithContext(ctx).Exec(`INSERT INTO kv ("key", value, expires_at) VALUES (?, ?, ?)
ON CONFLICT ("key") DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
WHERE kv.expires_at > ? AND kv.expires_at <= ?`, key, value, now.Add(ttl), time.Time{}, now)
	if res.Error != nil {
		return false, res.Error
	}
	added := res.RowsAffected > 0
	if added && mrand.N(kvSweepEvery) == 0 {
		// Best effort: the add is done, and a later add sweeps again.
		_ = s.KVSweep(ctx)
	}
	return added, nil
}

// KVSweep deletes every expired entry (entries without expiry stay).
func (s *Store) KVSweep(ctx context.Context) error {
	return s.DB.WithContext(ctx).Exec(`DELETE FROM kv WHERE expires_at > ? AND expires_at <= ?`,
		time.Time{}, s.Now().UTC()).Error
}
