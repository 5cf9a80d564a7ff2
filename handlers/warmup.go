package handlers

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WarmUp is what the shop's port serves from the moment it opens until the shop is built
// (migrations applied, the catalog imported on a first start): GET /healthz 200 (the
// process is alive), GET /readyz 503 (a load balancer sends it nothing yet), and every other
// request a "warming up" page, 503 with Retry-After, that shows the import's progress and
// opens the shop once /readyz answers 200 (a script; no timed refresh). Ready hands every request to the shop's own handler from then on.
// Its zero value is not usable; use NewWarmUp.
type WarmUp struct {
	shop    atomic.Pointer[http.Handler]
	started time.Time

	mu       sync.Mutex
	progress []string // the latest lines last, at most warmUpLines
}

// warmUpLines is how many progress lines the warming-up page shows.
const warmUpLines = 8

// warmUpRetry is the Retry-After of a request that comes during warm-up, in seconds.
const warmUpRetry = 5

// NewWarmUp returns a WarmUp that serves the warming-up page until Ready.
func NewWarmUp() *WarmUp { return &WarmUp{started: time.Now()} }

// Write records p, one or more lines of progress (an io.Writer, for app.Config.Progress).
func (wu *WarmUp) Write(p []byte) (int, error) {
	wu.mu.Lock()
	defer wu.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			wu.progress = append(wu.progress, line)
		}
	}
	if n := len(wu.progress); n > warmUpLines {
		wu.progress = append([]string(nil), wu.progress[n-warmUpLines:]...)
	}
	return len(p), nil
}

// Ready hands every request from now on to shop.
func (wu *WarmUp) Ready(shop http.Handler) { wu.shop.Store(&shop) }

func (wu *WarmUp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := wu.shop.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/healthz":
		h.Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		return
	case "/readyz":
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"shop":"warming up"}` + "\n"))
		return
	}
	wu.mu.Lock()
	lines := append([]string(nil), wu.progress...)
	wu.mu.Unlock()
	h.Set("Retry-After", fmt.Sprint(warmUpRetry))
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method == http.MethodHead {
		return
	}
	_ = warmUpPage.Execute(w, struct {
		Lines   []string
		Elapsed string
		Retry   int
	}{lines, time.Since(wu.started).Round(time.Second).String(), warmUpRetry})
}

var warmUpPage = template.Must(template.New("warmup").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warming up · Hanging Heart Gifts</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2328;background:#fff}
ol{color:#4d5359}</style>
</head>
<body>
<main>
<h1>The shop is warming up</h1>
<p>It is setting up its database{{if .Lines}} and importing the catalog{{end}} ({{.Elapsed}} so far).
<a href="">Reload</a> in a few seconds; this page opens the shop by itself once it is ready.</p>
{{with .Lines}}<h2>Progress</h2>
<ol role="log" aria-live="polite">{{range .}}<li>{{.}}</li>{{end}}</ol>{{end}}
</main>
<script>
// Once /readyz answers 200 the shop is ready: show it (no timed refresh while it is not).
setInterval(() => fetch("/readyz").then(r => { if (r.ok) location.reload(); }), 2000);
</script>
</body>
</html>
`))
