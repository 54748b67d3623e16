package wechat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/cache"

	"github.com/tongdao/hub/connectors"
)

// kvTimeout bounds each KV call made on behalf of the SDK, which passes no
// context to its cache.
const kvTimeout = 3 * time.Second

// tokenCache implements the SDK's cache.Cache on top of the hub's shared KV,
// so every replica uses one access token per AppID (each fetch of a new token
// invalidates the previous one five minutes later).
type tokenCache struct {
	kv      connectors.KV
	log     *slog.Logger
	onToken func(token string)
}

var _ cache.Cache = (*tokenCache)(nil)

func kvKey(key string) string { return "wechat:" + key }

// Get returns the cached string or nil. KV errors are logged and read as a
// miss, so the SDK fetches a fresh token.
func (c *tokenCache) Get(key string) any {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	v, ok, err := c.kv.Get(ctx, kvKey(key))
	if err != nil {
		c.log.Warn("wechat: reading the access token from the shared store failed", "err", err)
		return nil
	}
	if !ok || v == "" {
		return nil
	}
	c.onToken(v)
	return v
}

// Set stores val (a string) for timeout.
func (c *tokenCache) Set(key string, val any, timeout time.Duration) error {
	s, _ := val.(string)
	c.onToken(s)
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	return c.kv.Set(ctx, kvKey(key), s, timeout)
}

// IsExist reports whether key holds a value.
func (c *tokenCache) IsExist(key string) bool { return c.Get(key) != nil }

// Delete drops key. connectors.KV has no delete, so the value is overwritten
// with an empty string, which Get reads as a miss.
func (c *tokenCache) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
	defer cancel()
	return c.kv.Set(ctx, kvKey(key), "", time.Second)
}

// memKV is the process-local connectors.KV used when the hub provides none
// (check-config, tests). It is safe for concurrent use.
type memKV struct {
	now func() time.Time

	mu   sync.Mutex
	m    map[string]memEntry
	adds int
}

type memEntry struct {
	value   string
	expires time.Time
}

func newMemKV(now func() time.Time) *memKV {
	return &memKV{now: now, m: map[string]memEntry{}}
}

// Get implements connectors.KV.
func (k *memKV) Get(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[key]
	if !ok || !k.now().Before(e.expires) {
		delete(k.m, key)
		return "", false, nil
	}
	return e.value, true, nil
}

// Set implements connectors.KV.
func (k *memKV) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = memEntry{value: value, expires: k.now().Add(ttl)}
	return nil
}

// Add implements connectors.KV.
func (k *memKV) Add(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, errors.New("wechat: Add needs a positive ttl")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if e, ok := k.m[key]; ok && now.Before(e.expires) {
		return false, nil
	}
	k.m[key] = memEntry{value: value, expires: now.Add(ttl)}
	// Adds create a key each (push nonces): drop expired entries now and
	// then so the map stays the size of what is live.
	if k.adds++; k.adds%256 == 0 {
		for key, e := range k.m {
			if !now.Before(e.expires) {
				delete(k.m, key)
			}
		}
	}
	return true, nil
}
