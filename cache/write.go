package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Set is the write-through: it stores v, at version, after the caller's transaction
// committed. It also takes away any reader's lease, so a slower reader cannot put an older
// value back. A newer version already stored is kept. If the write fails it deletes the key
// (the next read loads from the database); it returns an error only if that fails too, and
// then the old value lives at most its TTL.
func (a *Aside[T]) Set(ctx context.Context, key string, v T, version int64) error {
	if a.c.disabled {
		return nil
	}
	at := time.Now()
	m := a.c.mark()
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: encode %s: %w", key, err)
	}
	// Every instance drops its older near copy (this one's own message comes back to it too).
	defer a.c.publish(ctx, key, version, at)
	ttl := a.o.TTL.Next()
	err = setScript.Run(ctx, a.c.rdb, []string{a.c.Key(key), a.c.leaseKey(key)},
		encode(version, 0, payload), a.c.storedFor(ttl).Milliseconds(), version).Err()
	if err == nil {
		a.keepNear(key, v, version, ttl, 0, m)
		return nil
	}
	a.countError(err)
	if a.near != nil {
		a.near.evict(key, version)
	}
	// A plain DEL, not a script: a server out of memory refuses every script that may
	// write, but still deletes.
	derr := a.c.rdb.Del(ctx, a.c.Key(key), a.c.leaseKey(key)).Err()
	if derr != nil {
		a.countError(derr)
		return fmt.Errorf("cache: write-through %s failed (%v) and so did the delete: %w", key, err, derr)
	}
	return nil
}

// Invalidate is the delete-on-write: it deletes key unless it already holds version or
// newer (version 0 deletes whatever is there), takes away any reader's lease, and tells
// every instance to drop its near copy.
func (a *Aside[T]) Invalidate(ctx context.Context, key string, version int64) error {
	err := a.c.Invalidate(ctx, key, version, time.Now())
	a.countError(errors.Unwrap(err))
	return err
}

// setScript: KEYS value, lease; ARGV entry, ttl ms, version. Deletes the lease, then stores
// the entry unless as new a version is stored. Returns 1 if stored.
var setScript = redis.NewScript(storedAtLeast + `
redis.call('DEL', KEYS[2])
if storedAtLeast(KEYS[1], ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// invalidateScript: KEYS value, lease; ARGV version. Deletes the lease, then the value unless
// it is at version or newer (version 0: always). Returns 1 if deleted.
var invalidateScript = redis.NewScript(storedAtLeast + `
redis.call('DEL', KEYS[2])
if ARGV[1] ~= '0' and storedAtLeast(KEYS[1], ARGV[1]) then return 0 end
return redis.call('DEL', KEYS[1])`)
