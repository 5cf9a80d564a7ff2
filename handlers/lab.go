package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/lab"
	"github.com/shopcache/shop/pageviews"
)

// labPage is the /lab page: the whole deployment live, and this instance since it started.
type labPage struct {
	Lab
	Dashboard   lab.Dashboard
	Strategies  []lab.Strategy
	Caches      []cache.StatsSnapshot
	Lag         *cache.LagStats   // nil without a cache
	Near        int               // entries in the near caches
	WriteBehind *pageviews.Status // nil without a flusher
}

// handleLab shows the dashboard of the whole deployment as it stands; its script then
// follows /lab/events, which sends the dashboard again every second. Without script the
// page is a snapshot (reload for another).
func (s *Server) handleLab(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	page := labPage{Lab: s.lab, Caches: s.lab.CacheStats(), Strategies: lab.Strategies()}
	if s.lab.Collector != nil {
		page.Dashboard = s.lab.Collector.Dashboard()
	}
	if s.lab.Lags != nil {
		lag := s.lab.Lags()
		page.Lag = &lag
	}
	if s.lab.NearSize != nil {
		page.Near = s.lab.NearSize()
	}
	if s.lab.WriteBehind != nil {
		st := s.lab.WriteBehind(r.Context())
		page.WriteBehind = &st
	}
	s.render(w, r, http.StatusOK, "lab", "Lab", page)
}

// labHeartbeat is how often a Lab stream sends something, a comment at least, so that
// proxies keep it open and a gone client is noticed.
const labHeartbeat = 15 * time.Second

// sse is one server-sent event stream.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE starts an event stream on w: headers, no read deadline, a rolling write deadline.
func startSSE(w http.ResponseWriter) *sse {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(2 * labHeartbeat))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	_ = rc.Flush()
	return &sse{w: w, rc: rc}
}

// send writes one event whose data is an HTML fragment (each line a data: line).
func (e *sse) send(event string, data []byte) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(2 * labHeartbeat))
	var b bytes.Buffer
	fmt.Fprintf(&b, "event: %s\n", event)
	for line := range strings.SplitSeq(string(data), "\n") {
		fmt.Fprintf(&b, "data: %s\n", strings.TrimSuffix(line, "\r"))
	}
	b.WriteString("\n")
	if _, err := e.w.Write(b.Bytes()); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *sse) keepAlive() error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(2 * labHeartbeat))
	if _, err := fmt.Fprint(e.w, ": keep-alive\n\n"); err != nil {
		return err
	}
	return e.rc.Flush()
}

// handleLabEvents streams the dashboard (event "dashboard", data the HTML of its part of
// the page) at every poll of the deployment's figures, about once a second, until the
// client goes or the shop stops.
func (s *Server) handleLabEvents(w http.ResponseWriter, r *http.Request) {
	col := s.lab.Collector
	if col == nil {
		s.serveError(w, r, notFound("The Lab's live figures are not running on this instance."))
		return
	}
	ctx := r.Context()
	stream := startSSE(w)
	beat := time.NewTicker(labHeartbeat)
	defer beat.Stop()
	for {
		_, next := col.Polls()
		var buf bytes.Buffer
		if err := s.templates.RenderPartial(&buf, "lab", "lab-dashboard", col.Dashboard()); err != nil {
			s.log.Error("lab: dashboard not rendered", "err", err)
			return
		}
		if err := stream.send("dashboard", buf.Bytes()); err != nil {
			return
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-col.Done():
				return
			case <-beat.C:
				if err := stream.keepAlive(); err != nil {
					return
				}
			case <-next:
				break wait
			}
		}
	}
}

// labStrategyPage is a strategy's page.
type labStrategyPage struct {
	Strategy lab.Strategy
	Run      labRunView
	CanRun   bool // the visitor may start the experiment (admin-only ones need an admin)
	Others   []lab.Strategy
}

// labRunView is the experiment part of a strategy page, also sent alone over its stream.
type labRunView struct {
	Slug  string
	Run   *lab.Run // nil: never run
	Error string   // the last run could not be read
}

func (s *Server) labRun(ctx context.Context, slug string) labRunView {
	v := labRunView{Slug: slug}
	if s.lab.Runner == nil {
		return v
	}
	run, ok, err := s.lab.Runner.Last(ctx, slug)
	switch {
	case err != nil:
		s.redisFailed("lab: last run unavailable", err)
		v.Error = "The last run is kept in Redis, which is not answering."
	case ok:
		v.Run = &run
	}
	return v
}

// handleLabStrategy shows one strategy: what it is, its code, and its experiment with the
// last run (live while it runs).
func (s *Server) handleLabStrategy(w http.ResponseWriter, r *http.Request) {
	st, ok := lab.Find(r.PathValue("strategy"))
	if !ok {
		s.serveError(w, r, notFound("The Lab has no page of that name."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	u := currentUser(r.Context())
	page := labStrategyPage{Strategy: st, Run: s.labRun(r.Context(), st.Slug), Others: lab.Strategies(),
		CanRun: st.Experiment != nil && s.lab.Runner != nil && (!st.Experiment.Admin || u != nil && u.IsAdmin)}
	s.render(w, r, http.StatusOK, "lab_strategy", st.Title+" · Lab", page)
}

// handleLabRun starts a strategy's experiment: administrators only for those that change
// data or inject a fault, rate limited per client for the others; 409 while another runs
// anywhere in the deployment. It answers 303 to the strategy's page, which follows the run.
func (s *Server) handleLabRun(w http.ResponseWriter, r *http.Request) {
	st, ok := lab.Find(r.PathValue("strategy"))
	if !ok || st.Experiment == nil || s.lab.Runner == nil {
		s.serveError(w, r, notFound("The Lab has no experiment of that name."))
		return
	}
	u := currentUser(r.Context())
	who := "a visitor"
	if u != nil {
		who = fmt.Sprintf("user %d", u.ID)
	}
	if st.Experiment.Admin {
		if u == nil || !u.IsAdmin {
			s.serveError(w, r, &clientError{http.StatusForbidden,
				"This experiment changes data or injects a fault, so only administrators can run it. Sign in with the admin account (SHOP_ADMIN_EMAIL)."})
			return
		}
	} else if err := s.allowLabRun(r); err != nil {
		s.serveError(w, r, err)
		return
	}
	// The run outlives the request: the Runner gives it its own bounded context.
	_, err := s.lab.Runner.Start(context.WithoutCancel(r.Context()), st.Slug, who)
	switch {
	case errors.Is(err, lab.ErrBusy):
		s.serveError(w, r, &clientError{http.StatusConflict,
			"Another experiment is running in this deployment (one runs at a time, so that each measures only itself). Try again when it has finished: " + strings.TrimPrefix(err.Error(), lab.ErrBusy.Error()) + "."})
		return
	case err != nil:
		s.serveError(w, r, err)
		return
	}
	http.Redirect(w, r, "/lab/"+st.Slug+"#experiment", http.StatusSeeOther)
}

// handleLabRunEvents streams a strategy's experiment (event "run", data the HTML of the
// experiment's part of the page) whenever its state in Redis changes, whichever instance
// runs it; it ends when the client goes or the shop stops.
func (s *Server) handleLabRunEvents(w http.ResponseWriter, r *http.Request) {
	st, ok := lab.Find(r.PathValue("strategy"))
	if !ok || s.lab.Runner == nil {
		s.serveError(w, r, notFound("The Lab has no experiment of that name."))
		return
	}
	ctx := r.Context()
	stream := startSSE(w)
	var done <-chan struct{}
	if s.lab.Collector != nil {
		done = s.lab.Collector.Done()
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	var last []byte
	quiet := time.Now()
	for {
		var buf bytes.Buffer
		if err := s.templates.RenderPartial(&buf, "lab_strategy", "lab-run", s.labRun(ctx, st.Slug)); err != nil {
			s.log.Error("lab: run not rendered", "err", err)
			return
		}
		if !bytes.Equal(buf.Bytes(), last) {
			if err := stream.send("run", buf.Bytes()); err != nil {
				return
			}
			last, quiet = buf.Bytes(), time.Now()
		} else if time.Since(quiet) > labHeartbeat {
			if err := stream.keepAlive(); err != nil {
				return
			}
			quiet = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// labQuestion is one of the article's practice questions, answered with the last runs.
type labQuestion struct {
	Slug, Title string
	Runs        map[string]*lab.Run // by strategy; nil entries: not run yet
}

// labQuestions are the practice questions and the experiments whose numbers answer them.
var labQuestions = map[string]struct {
	title      string
	strategies []string
}{
	"sessions": {"Sessions that survive any instance behind a load balancer", []string{"sessions", "fail-open"}},
	"catalog":  {"A catalog updated often that must stay fresh and fast", []string{"cache-aside", "write-through", "invalidation", "stampede"}},
}

// handleLabQuestion answers a practice question with the numbers of the last runs.
func (s *Server) handleLabQuestion(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("question")
	q, ok := labQuestions[slug]
	if !ok {
		s.serveError(w, r, notFound("The Lab has no question of that name."))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	page := labQuestion{Slug: slug, Title: q.title, Runs: map[string]*lab.Run{}}
	for _, st := range q.strategies {
		v := s.labRun(r.Context(), st)
		if v.Run != nil && !v.Run.Running() && v.Run.Failed == "" {
			page.Runs[st] = v.Run
		} else {
			page.Runs[st] = nil
		}
	}
	s.render(w, r, http.StatusOK, "lab_question_"+slug, q.title+" · Lab", page)
}
