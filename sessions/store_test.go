package sessions_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/shopcache/shop/internal/testenv"
	"github.com/shopcache/shop/sessions"
)

// contract is what the shop needs of a session store, run against both stores.
func contract(t *testing.T, store scs.Store, ttl func(token string) time.Duration) {
	t.Helper()
	if _, found, err := store.Find("unknown"); found || err != nil {
		t.Errorf("Find(unknown) = found %v, %v; want not found", found, err)
	}
	expiry := time.Now().Add(30 * time.Minute)
	if err := store.Commit("tok1", []byte("data-1"), expiry); err != nil {
		t.Fatal(err)
	}
	b, found, err := store.Find("tok1")
	if !found || err != nil || string(b) != "data-1" {
		t.Errorf("Find(tok1) = %q, %v, %v; want data-1", b, found, err)
	}
	if d := ttl("tok1"); d <= 29*time.Minute || d > 30*time.Minute {
		t.Errorf("TTL of tok1 = %v, want the 30 min to its expiry", d)
	}
	if err := store.Commit("tok1", []byte("data-2"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := store.Find("tok1"); string(b) != "data-2" {
		t.Errorf("after a second Commit Find = %q, want data-2", b)
	}
	if d := ttl("tok1"); d > time.Minute {
		t.Errorf("TTL after a shorter Commit = %v, want at most 1 min", d)
	}
	if err := store.Delete("tok1"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.Find("tok1"); found {
		t.Error("a deleted session is still found")
	}
	if err := store.Commit("tok2", []byte("x"), time.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, found, _ := store.Find("tok2"); found {
		t.Error("an expired session is still found")
	}
}

func TestContract(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ttl := func(p string) func(string) time.Duration {
		return func(token string) time.Duration { return rdb.PTTL(context.Background(), p+token).Val() }
	}
	contract(t, sessions.New(rdb, prefix+"b:"), ttl(prefix+"b:"))
}
