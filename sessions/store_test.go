package sessions_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/sessions"
)

// TestStore: what the shop needs of its session store, on the real Redis.
func TestStore(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	ttl := func(token string) time.Duration { return rdb.PTTL(ctx, prefix+token).Val() }
	index := func(id int64) string { return prefix + "index:" + strconv.FormatInt(id, 10) }
	store := sessions.New(rdb, prefix, index, 10*time.Minute)
	var _ scs.CtxStore = store

	if _, found, err := store.FindCtx(ctx, "unknown"); found || err != nil {
		t.Errorf("Find(unknown) = found %v, %v; want not found", found, err)
	}
	// A new session expires idle after now, not at its far deadline.
	deadline := time.Now().Add(24 * time.Hour)
	if err := store.CommitCtx(ctx, "tok1", []byte("data-1"), deadline); err != nil {
		t.Fatal(err)
	}
	if b, found, err := store.FindCtx(ctx, "tok1"); !found || err != nil || string(b) != "data-1" {
		t.Errorf("Find(tok1) = %q, %v, %v; want data-1", b, found, err)
	}
	if d := ttl("tok1"); d <= 9*time.Minute || d > 10*time.Minute {
		t.Errorf("TTL of a new session = %v, want the 10 min idle timeout", d)
	}
	// A token that is not the request's loaded one is new: it never overwrites.
	if err := store.CommitCtx(ctx, "tok1", []byte("other"), deadline); err == nil {
		t.Error("a commit of a new token over an existing session succeeded")
	}
	// The request that loaded tok1 updates it.
	loaded := sessions.Loaded(ctx, "tok1")
	if err := store.CommitCtx(loaded, "tok1", []byte("data-2"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := store.FindCtx(ctx, "tok1"); string(b) != "data-2" {
		t.Errorf("after the loaded request's commit Find = %q, want data-2", b)
	}
	if d := ttl("tok1"); d > time.Minute {
		t.Errorf("TTL after a commit with a deadline 1 min away = %v, want at most 1 min", d)
	}
	// Touch moves the idle expiry and leaves the data alone.
	if err := store.TouchCtx(loaded, "tok1", deadline); err != nil {
		t.Fatal(err)
	}
	if d := ttl("tok1"); d <= 9*time.Minute {
		t.Errorf("TTL after a touch = %v, want the idle timeout again", d)
	}
	if b, _, _ := store.FindCtx(ctx, "tok1"); string(b) != "data-2" {
		t.Errorf("after a touch Find = %q, want data-2 unchanged", b)
	}

	// The session ends (sign-out) while a request that loaded it runs: that request's
	// commit and touch bring nothing back.
	if err := store.DeleteCtx(ctx, "tok1"); err != nil {
		t.Fatal(err)
	}
	if err := store.CommitCtx(loaded, "tok1", []byte("resurrected"), deadline); !errors.Is(err, sessions.ErrEnded) {
		t.Errorf("commit of an ended session = %v, want ErrEnded", err)
	}
	if err := store.TouchCtx(loaded, "tok1", deadline); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, prefix+"tok1").Val(); n != 0 {
		t.Error("an ended session is back in Redis")
	}

	// A signed-in user's new sessions are indexed; EndAll ends all of them but one.
	for _, tok := range []string{"u1", "u2", "u3"} {
		if err := store.CommitCtx(sessions.ForUser(ctx, 7), tok, []byte("signed in"), deadline); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CommitCtx(ctx, "anon", []byte("anonymous"), deadline); err != nil {
		t.Fatal(err)
	}
	if got := rdb.SMembers(ctx, index(7)).Val(); len(got) != 3 {
		t.Errorf("index of user 7 = %v, want its 3 sessions", got)
	}
	n, err := store.EndAll(ctx, 7, "u2")
	if err != nil || n != 2 {
		t.Errorf("EndAll(keep u2) = %d, %v; want 2 ended", n, err)
	}
	for tok, want := range map[string]int64{"u1": 0, "u2": 1, "u3": 0, "anon": 1} {
		if got := rdb.Exists(ctx, prefix+tok).Val(); got != want {
			t.Errorf("session %s exists = %d after EndAll, want %d", tok, got, want)
		}
	}
}

// TestTouchOnlyWhenItMovesTheExpiry: a request that loaded its session through Track sends
// no touch while the idle expiry would move by less than a tenth of the idle timeout, and
// sends it once it would move by more; without Track every touch is sent.
func TestTouchOnlyWhenItMovesTheExpiry(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	idle := 10 * time.Minute
	store := sessions.New(rdb, prefix, func(id int64) string { return prefix + "index" }, idle)
	deadline := time.Now().Add(24 * time.Hour)
	if err := store.CommitCtx(ctx, "tok", []byte("data"), deadline); err != nil {
		t.Fatal(err)
	}
	touch := func(passed time.Duration, track bool) time.Duration {
		t.Helper()
		if err := rdb.PExpire(ctx, prefix+"tok", idle-passed).Err(); err != nil {
			t.Fatal(err)
		}
		rctx := ctx
		if track {
			rctx = sessions.Track(ctx)
		}
		if _, found, err := store.FindCtx(rctx, "tok"); !found || err != nil {
			t.Fatalf("Find = %v, %v", found, err)
		}
		if err := store.TouchCtx(rctx, "tok", deadline); err != nil {
			t.Fatal(err)
		}
		return rdb.PTTL(ctx, prefix+"tok").Val()
	}
	if d := touch(30*time.Second, true); d > idle-30*time.Second {
		t.Errorf("30 s after the last extension (under a tenth of 10 min) the TTL is %v: a touch was sent", d)
	}
	if d := touch(2*time.Minute, true); d < idle-10*time.Second {
		t.Errorf("2 min after the last extension the TTL is %v, want the idle timeout again", d)
	}
	if d := touch(30*time.Second, false); d < idle-10*time.Second {
		t.Errorf("without Track the TTL after a touch is %v, want the idle timeout again", d)
	}
}
