package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/internal/testenv"
)

// row is one bestseller as the stream sends it.
type row struct {
	Rank  int    `json:"rank"`
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Price string `json:"price"`
	Units int64  `json:"units"`
}

// stream connects to /events/bestsellers and sends each "bestsellers" event it reads.
func stream(t *testing.T, base string) <-chan []row {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events/bestsellers", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events/bestsellers = %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan []row, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "bestsellers":
				var rows []row
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &rows); err != nil {
					t.Errorf("bad event data %q: %v", line, err)
					return
				}
				events <- rows
			case line == "":
				name = ""
			}
		}
	}()
	return events
}

func unitsOf(rows []row, id int64) int64 {
	for _, r := range rows {
		if r.ID == id {
			return r.Units
		}
	}
	return -1
}

// pack60 is "PACK OF 60 PINK PAISLEY CAKE CASES", 10th in the real history with 24,753 units.
const pack60 = 55

var panelUnits = regexp.MustCompile(`<li value="10"><a href="/products/55">Pack of 60 Pink Paisley Cake Cases</a> <span class="muted">([\d,]+) sold`)

func TestCheckoutMovesTheBoardLive(t *testing.T) {
	shop := newShop(t, testenv.SeededDBURL(t))
	ctx := context.Background()
	if _, err := shop.Board.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	home := newShopper(t, shop.URL).get("/")
	if m := panelUnits.FindStringSubmatch(home.body); m == nil || m[1] != "24,753" {
		t.Fatalf("home panel: %v, want product 55 10th with 24753 sold", m)
	}
	<-shop.Live.Ready()
	events := stream(t, shop.URL)
	first := <-events
	if len(first) != 10 || first[0].Name != "Popcorn Holder" || first[0].Rank != 1 || unitsOf(first, pack60) != 24753 {
		t.Fatalf("first event = %+v, want the top 10 with Popcorn Holder first", first)
	}

	alice := newShopper(t, shop.URL)
	alice.register("alice@example.com", "Alice", "correct horse battery")
	expect(t, "add", alice.addToCart(pack60, 3), http.StatusSeeOther)
	checkedOut := time.Now()
	r := alice.post("/checkout", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/orders/") {
		t.Fatalf("checkout = %d to %q, want 303 to the order", r.status, r.location)
	}
	select {
	case rows := <-events:
		if got := unitsOf(rows, pack60); got != 24756 {
			t.Errorf("event after checkout: product 55 has %d units, want 24756", got)
		}
		t.Logf("update reached the stream %v after the checkout was sent", time.Since(checkedOut))
	case <-time.After(time.Second - time.Since(checkedOut)):
		t.Fatal("no event within 1 s of the checkout")
	}
	if got := shop.rdb.ZScore(ctx, shop.Board.AllKey(), strconv.Itoa(pack60)).Val(); got != 24756 {
		t.Errorf("ZSCORE all 55 = %v, want 24756", got)
	}
	home = newShopper(t, shop.URL).get("/")
	if m := panelUnits.FindStringSubmatch(home.body); m == nil || m[1] != "24,756" {
		t.Errorf("home panel after checkout: %v, want 24756 sold (the cached list was dropped)", m)
	}
	page := alice.get("/products/55")
	expect(t, "product page", page, http.StatusOK, "#10 bestseller", "1 view<")
	expect(t, "product page again", alice.get("/products/55"), http.StatusOK, "2 views")
	if !strings.Contains(page.body, "Redis round trips: <b>") {
		t.Error("product page lacks the served bar")
	}
}

func TestCheckoutWhileTheBoardIsDown(t *testing.T) {
	dbURL := testenv.SeededDBURL(t)
	// A Redis whose user may not touch sorted sets: every leaderboard call fails, while
	// sessions, carts and the cache work.
	srv := testenv.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "noboard", "on", ">pw", "~*", "&*", "+@all", "-@sortedset").Err(); err != nil {
		t.Fatal(err)
	}
	shop := newShop(t, dbURL, withRedis("redis://noboard:pw@"+srv.Addr()+"/0"))

	alice := newShopper(t, shop.URL)
	alice.register("alice@example.com", "Alice", "correct horse battery")
	expect(t, "add", alice.addToCart(pack60, 4), http.StatusSeeOther)
	r := alice.post("/checkout", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/orders/") {
		t.Fatalf("checkout with the leaderboard's Redis down = %d to %q, want 303 to the order", r.status, r.location)
	}
	if !shop.Board.Dirty() {
		t.Error("board not marked for repair after the failed update")
	}
	// The home page falls back to the SQL panel; the product page goes without rank and views.
	home := alice.get("/")
	if m := panelUnits.FindStringSubmatch(home.body); m == nil || m[1] != "24,757" {
		t.Errorf("home panel with the board down: %v, want 24757 sold from Postgres", m)
	}
	expect(t, "served from", home, http.StatusOK, "bestsellers ← Postgres")
	page := alice.get("/products/55")
	expect(t, "product page", page, http.StatusOK, "Pack of 60 Pink Paisley")
	if strings.Contains(page.body, "bestseller</span>") {
		t.Error("product page shows a rank while the board is down")
	}

	// Redis is back: the rebuild repairs the board from Postgres.
	shop2 := newShop(t, dbURL, withRedis(srv.URL()))
	if _, err := shop2.Board.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := admin.ZScore(context.Background(), shop2.Board.AllKey(), "55").Val(); got != 24757 {
		t.Errorf("ZSCORE after rebuild = %v, want 24757 (the order placed while Redis was down)", got)
	}
}
