package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/catalog"
	"github.com/shopcache/shop/internal/chart"
	"github.com/shopcache/shop/keys"
	"github.com/shopcache/shop/pageviews"
	"github.com/shopcache/shop/sessions"
)

// Errors of Runner.Start.
var (
	// ErrBusy: another experiment is running in the deployment (one at a time).
	ErrBusy = errors.New("lab: another experiment is running")
	// ErrNoExperiment: the strategy has no experiment.
	ErrNoExperiment = errors.New("lab: this strategy has no experiment")
)

// Run is one experiment run: its progress while it runs, its result after. It is kept in
// Redis (keys.LabRun), so that every instance shows it, and the practice questions quote
// the numbers of the last run.
type Run struct {
	ID       string    `json:"id"`
	Strategy string    `json:"strategy"`
	Instance string    `json:"instance"` // the instance that ran it
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"` // zero while it runs
	Failed   string    `json:"failed,omitempty"`
	Settings string    `json:"settings"` // what it did, in a sentence (product, N, durations)
	Log      []string  `json:"log"`      // steps, as they happen
	Lines    []Line    `json:"lines,omitempty"`
	CDFs     []CDF     `json:"cdfs,omitempty"`
	Results  []Result  `json:"results,omitempty"`
	// Numbers are the run's measured figures by name, for the practice questions.
	Numbers map[string]float64 `json:"numbers,omitempty"`
}

// Running reports whether the run has not finished.
func (r Run) Running() bool { return r.Finished.IsZero() }

// Line is a line chart's data: X in seconds since the run started.
type Line struct {
	Title  string       `json:"title"`
	YLabel string       `json:"ylabel"`
	YMax   float64      `json:"ymax,omitempty"`
	XLabel string       `json:"xlabel,omitempty"`
	Series []LineSeries `json:"series"`
}

// LineSeries is one named series of points [x, y].
type LineSeries struct {
	Name   string       `json:"name"`
	Points [][2]float64 `json:"points"`
}

// CDF is a distribution chart's data.
type CDF struct {
	Title   string      `json:"title"`
	XLabel  string      `json:"xlabel"`
	Samples []CDFSample `json:"samples"`
}

// CDFSample is one named sample.
type CDFSample struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
}

// Result is one headline figure of a run, as shown.
type Result struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Charts renders the run's charts (internal/chart: SVG with a table as text alternative).
func (r Run) Charts() []template.HTML {
	var out []template.HTML
	for _, c := range r.CDFs {
		d := chart.CDF{Title: c.Title, XLabel: c.XLabel}
		for _, s := range c.Samples {
			d.Samples = append(d.Samples, chart.Sample{Name: s.Name, Values: s.Values})
		}
		out = append(out, d.HTML())
	}
	for _, l := range r.Lines {
		c := chart.Line{Title: l.Title, XLabel: l.XLabel, YLabel: l.YLabel}
		if c.XLabel == "" {
			c.XLabel = "time since the start (s)"
		}
		if l.YMax > 0 {
			c.YMax = l.YMax
		}
		for _, s := range l.Series {
			cs := chart.Series{Name: s.Name}
			for _, p := range s.Points {
				cs.Points = append(cs.Points, chart.Point{X: p[0], Y: p[1]})
			}
			c.Series = append(c.Series, cs)
		}
		out = append(out, c.HTML())
	}
	return out
}

// Deps are the parts of the shop the experiments drive.
type Deps struct {
	Cache     *cache.Cache
	Catalog   *catalog.Cached
	Store     *catalog.Store // the catalog's Postgres side, with the demonstration latency
	Guard     *cache.Guard
	Sessions  *sessions.Store
	Views     *pageviews.Counter // the write-behind of product views
	Flusher   *pageviews.Flusher
	DBLatency time.Duration
	// L1 is the shop's near-cache configuration (SHOP_L1_SIZE, SHOP_L1_TTL), which the
	// near-cache experiment's own cache copies (nearL1).
	L1 cache.L1Options
	// Duration is the length of an experiment's main phase (the fail-open breaker, the
	// write-through run); default 10 s. Tests shorten it.
	Duration time.Duration
}

// Runner starts experiments, one at a time per deployment (a lock in Redis), runs them in
// the background under a bound, and keeps their progress and results in Redis.
type Runner struct {
	rdb      redis.UniversalClient
	prefix   string
	col      *Collector
	deps     Deps
	log      *slog.Logger
	pages    http.Handler
	caches   *labCaches
	pagesMu  sync.Mutex
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// NewRunner returns the Runner of this instance. SetPages must be called before an
// experiment that requests pages runs.
func NewRunner(rdb redis.UniversalClient, prefix string, col *Collector, deps Deps, log *slog.Logger) *Runner {
	if deps.Duration <= 0 {
		deps.Duration = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{rdb: rdb, prefix: prefix, col: col, deps: deps, log: log, ctx: ctx, cancel: cancel}
	r.caches = newLabCaches(deps.Cache, deps.L1)
	r.registerProbes()
	return r
}

// SetPages gives the Runner the shop's HTTP handler, which experiments request pages from
// (in process, as a shopper's request would arrive).
func (r *Runner) SetPages(h http.Handler) {
	r.pagesMu.Lock()
	r.pages = h
	r.pagesMu.Unlock()
}

func (r *Runner) handler() http.Handler {
	r.pagesMu.Lock()
	defer r.pagesMu.Unlock()
	return r.pages
}

// Duration is the length of an experiment's main phase.
func (r *Runner) Duration() time.Duration { return r.deps.Duration }

// bound is the longest any run may take, and the lock's TTL.
func (r *Runner) bound() time.Duration { return 3*r.deps.Duration + 30*time.Second }

var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Start starts the experiment of strategy, started by who (for the log): it returns the run
// at once, running in the background; ErrBusy when another runs in the deployment (its
// strategy in the error), ErrNoExperiment, or Redis's error (the lock needs Redis).
func (r *Runner) Start(ctx context.Context, strategy, who string) (Run, error) {
	s, ok := Find(strategy)
	if !ok || s.Experiment == nil {
		return Run{}, ErrNoExperiment
	}
	run := Run{ID: newID(), Strategy: strategy, Instance: r.col.Instance(), Started: time.Now()}
	got, err := r.rdb.SetNX(ctx, r.prefix+keys.LabLock, run.ID+" "+strategy, r.bound()).Result()
	if err != nil {
		return Run{}, fmt.Errorf("lab: take the experiment lock: %w", err)
	}
	if !got {
		holder, _ := r.rdb.Get(ctx, r.prefix+keys.LabLock).Result()
		if _, name, ok := strings.Cut(holder, " "); ok {
			holder = name
		}
		return Run{}, fmt.Errorf("%w (%s)", ErrBusy, holder)
	}
	token := run.ID + " " + strategy
	if err := r.restoreLeft(ctx); err != nil {
		r.unlock(token)
		return Run{}, err
	}
	run.Log = append(run.Log, fmt.Sprintf("started by %s on %s", who, run.Instance))
	p := &progress{r: r, run: run}
	if err := p.save(true); err != nil {
		r.unlock(token)
		return Run{}, err
	}
	r.wg.Go(func() {
		ctx, cancel := context.WithTimeout(r.ctx, r.bound())
		defer cancel()
		defer r.unlock(token)
		err := s.Experiment.Run(ctx, &env{Runner: r, p: p, id: run.ID})
		p.update(func(run *Run) {
			run.Finished = time.Now()
			if err != nil {
				run.Failed = err.Error()
				run.Log = append(run.Log, "failed: "+err.Error())
			} else {
				run.Log = append(run.Log, fmt.Sprintf("done in %.1f s", run.Finished.Sub(run.Started).Seconds()))
			}
		})
		if err := p.save(true); err != nil {
			r.log.Warn("lab: result not saved", "strategy", strategy, "err", err)
		}
	})
	return p.snapshot(), nil
}

// restorePrice puts product id's price back to price through the write-through path, then
// forgets the note keepPrice made of it.
func (r *Runner) restorePrice(ctx context.Context, id, price int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := r.setPrice(ctx, id, price, true); err != nil {
		r.log.Error("lab: price not restored", "product", id, "price", price, "err", err)
		return err
	}
	return r.rdb.HDel(ctx, r.prefix+keys.LabRestore, strconv.FormatInt(id, 10)).Err()
}

// restoreLeft restores every price a run that died left changed (keys.LabRestore). The
// caller holds the experiment lock, so no running experiment's note is taken for one left.
func (r *Runner) restoreLeft(ctx context.Context) error {
	left, err := r.rdb.HGetAll(ctx, r.prefix+keys.LabRestore).Result()
	if err != nil {
		return fmt.Errorf("lab: read the prices to restore: %w", err)
	}
	for field, v := range left {
		id, err1 := strconv.ParseInt(field, 10, 64)
		price, err2 := strconv.ParseInt(v, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if err := r.restorePrice(ctx, id, price); err != nil {
			return fmt.Errorf("lab: restore the price of product %d: %w", id, err)
		}
		r.log.Warn("lab: restored a price an experiment that died had changed", "product", id, "price", price)
	}
	return nil
}

// RestoreLeft restores what an experiment that died (kill -9) left changed, when no
// experiment runs in the deployment; with one running, the next run's start does it. The
// shop calls it at start.
func (r *Runner) RestoreLeft(ctx context.Context) error {
	token := "restore " + newID()
	got, err := r.rdb.SetNX(ctx, r.prefix+keys.LabLock, token, time.Minute).Result()
	if err != nil || !got {
		return err
	}
	defer r.unlock(token)
	return r.restoreLeft(ctx)
}

// unlock ends the experiment lock held as token. It tries again for a few seconds when
// Redis does not answer (a busy machine, a call timeout): a lock left behind would refuse
// every experiment until its TTL.
func (r *Runner) unlock(token string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		err := unlockScript.Run(ctx, r.rdb, []string{r.prefix + keys.LabLock}, token).Err()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			r.log.Warn("lab: the experiment lock was not ended; it lapses", "err", err)
			return
		case <-time.After(pause):
		}
	}
}

// Last returns the last run of strategy (running or done), ok false when there is none.
func (r *Runner) Last(ctx context.Context, strategy string) (Run, bool, error) {
	raw, err := r.rdb.Get(cache.Uncounted(ctx), r.prefix+keys.LabRun(strategy)).Result()
	if errors.Is(err, redis.Nil) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, err
	}
	var run Run
	if err := json.Unmarshal([]byte(raw), &run); err != nil {
		return Run{}, false, fmt.Errorf("lab: run of %s unreadable: %w", strategy, err)
	}
	return run, true, nil
}

// Stop cancels running experiments (each undoes its changes as it ends) and waits for them,
// at most until ctx ends.
func (r *Runner) Stop(ctx context.Context) error {
	r.stopOnce.Do(r.cancel)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait waits for the experiments started so far to end (tests).
func (r *Runner) Wait() { r.wg.Wait() }

// runKeep is how long a run's result stays in Redis.
const runKeep = 30 * 24 * time.Hour

// progress is a running experiment's state, saved to Redis as it changes (at most every
// 250 ms, and at the end).
type progress struct {
	r      *Runner
	mu     sync.Mutex
	run    Run
	saved  time.Time
	saveMu sync.Mutex // one save at a time, so that an older state never overwrites a newer
}

func (p *progress) update(f func(*Run)) {
	p.mu.Lock()
	f(&p.run)
	due := time.Since(p.saved) > 250*time.Millisecond
	p.mu.Unlock()
	if due {
		_ = p.save(false)
	}
}

func (p *progress) snapshot() Run {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(p.run)
	var c Run
	_ = json.Unmarshal(b, &c)
	return c
}

// save writes the run's state to Redis. A save while another is under way is skipped (the
// next carries the state), except the final one: it waits for the other, and tries again
// for a few seconds when Redis does not answer, as a run shown running for ever would mislead.
func (p *progress) save(final bool) error {
	if final {
		p.saveMu.Lock()
	} else if !p.saveMu.TryLock() {
		return nil
	}
	defer p.saveMu.Unlock()
	p.mu.Lock()
	body, err := json.Marshal(p.run)
	p.saved = time.Now()
	strategy := p.run.Strategy
	p.mu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cache.Uncounted(context.Background()), 5*time.Second)
	defer cancel()
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		err := p.r.rdb.Set(ctx, p.r.prefix+keys.LabRun(strategy), body, runKeep).Err()
		if err == nil || !final {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
