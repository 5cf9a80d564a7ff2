// Package ratelimit counts attempts in Redis, so that every instance of the shop shares one
// limit: sign-in per account and per client address, sign-up per client address. It wraps
// github.com/go-redis/redis_rate (the generic cell rate algorithm, GCRA, in one Lua script:
// one round trip per attempt, atomic however many instances ask at once).
//
// It holds no policy: which keys to count and what to do when Redis does not answer (the
// shop lets the attempt through and logs a warning) are the caller's. Key names are built in
// package keys; this package adds the deployment's prefix (SHOP_REDIS_KEY_PREFIX).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limit is at most Count attempts per Period, with bursts of up to Count: after Count quick
// attempts the next one is allowed Period/Count later. The zero Limit means no limit.
type Limit struct {
	Count  int
	Period time.Duration
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Count <= 0 || l.Period <= 0 }

// String returns l as ParseLimit reads it: "10/min", "20/h", "5/30s", or "off".
func (l Limit) String() string {
	switch {
	case l.Off():
		return "off"
	case l.Period == time.Second:
		return fmt.Sprintf("%d/s", l.Count)
	case l.Period == time.Minute:
		return fmt.Sprintf("%d/min", l.Count)
	case l.Period == time.Hour:
		return fmt.Sprintf("%d/h", l.Count)
	case l.Period == 24*time.Hour:
		return fmt.Sprintf("%d/day", l.Count)
	}
	return fmt.Sprintf("%d/%s", l.Count, l.Period)
}

// Bounds of what ParseLimit accepts.
const (
	MaxCount  = 1_000_000
	MinPeriod = time.Second
	MaxPeriod = 24 * time.Hour
)

// ParseLimit reads a limit written "COUNT/PERIOD": PERIOD is s, min, h or day, or a Go
// duration from 1s to 24h ("5/30s"); COUNT is from 1 to MaxCount. "off" (or "0") is the
// zero Limit. Errors say what was wrong, for a configuration message.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	count, per, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, errors.New("no /")
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > MaxCount {
		return Limit{}, fmt.Errorf("count %q is not a whole number from 1 to %d", count, MaxCount)
	}
	var d time.Duration
	switch per {
	case "s", "sec", "second":
		d = time.Second
	case "m", "min", "minute":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	case "d", "day":
		d = 24 * time.Hour
	default:
		d, err = time.ParseDuration(per)
		if err != nil || d < MinPeriod || d > MaxPeriod {
			return Limit{}, fmt.Errorf("period %q is not s, min, h, day or a duration from 1s to 24h", per)
		}
	}
	return Limit{Count: n, Period: d}, nil
}

// Result is the outcome of one attempt.
type Result struct {
	Allowed bool
	// RetryAfter is how long until the next attempt would be allowed; 0 when Allowed.
	RetryAfter time.Duration
	// Remaining is how many more attempts are allowed right now.
	Remaining int
}

// Limiter counts attempts in Redis.
type Limiter struct {
	rl *redis_rate.Limiter
}

// New returns a Limiter over rdb (a single Redis or a cluster: each attempt touches one
// key) whose keys all start with prefix. rdb should have the shop's cache.Guard installed,
// which bounds how long a Redis that hangs can hold an attempt.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(prefixed{rdb, prefix})}
}

// Allow counts one attempt against key under limit and says whether it is allowed; a
// refused attempt is not counted. Check and count are one Lua script, atomic in Redis, so
// concurrent attempts on several instances never get past the limit between them. The key
// expires once the limit has forgotten it. A zero limit allows everything without asking
// Redis. The error is Redis's (unreachable, timed out, or the guard's cache.ErrBypass); the
// Result is then the zero Result.
func (l *Limiter) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	if limit.Off() {
		return Result{Allowed: true, Remaining: limit.Count}, nil
	}
	res, err := l.rl.Allow(ctx, key, redis_rate.Limit{Rate: limit.Count, Burst: limit.Count, Period: limit.Period})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return Result{Allowed: true, Remaining: res.Remaining}, nil
	}
	return Result{RetryAfter: max(res.RetryAfter, 0), Remaining: res.Remaining}, nil
}

// redisRatePrefix is what redis_rate puts before every key; prefixed puts the shop's
// prefix there instead, so the keys read as keys.* builds them.
const redisRatePrefix = "rate:"

// prefixed is the Redis client redis_rate is given: the commands it sends, with their keys
// renamed from "rate:{key}" to "{prefix}{key}".
type prefixed struct {
	redis.UniversalClient
	prefix string
}

func (p prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + strings.TrimPrefix(k, redisRatePrefix)
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.UniversalClient.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.UniversalClient.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.UniversalClient.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.UniversalClient.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return p.UniversalClient.Del(ctx, p.keys(keys)...)
}
