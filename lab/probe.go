package lab

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shopcache/shop/cache"
	"github.com/shopcache/shop/keys"
)

// Probe is a question an experiment asks every instance of the deployment: each instance's
// Collector reads it within a second and writes its answer (Answers). It is how the Lab
// sees what each instance sees, whichever instance runs the experiment.
type Probe struct {
	Run   string          `json:"run"`  // the run asking; answers are kept under it
	Kind  string          `json:"kind"` // which handler answers (HandleProbe)
	Args  json.RawMessage `json:"args"`
	Until time.Time       `json:"until"` // an answer after this is not wanted
}

// ProbeFunc answers one probe on this instance; the answer is stored as JSON.
type ProbeFunc func(ctx context.Context, p Probe) any

type prober struct {
	c        *Collector
	mu       sync.Mutex
	handlers map[string]ProbeFunc
	seen     map[string]bool
}

// HandleProbe makes this instance answer probes of kind with fn.
func (c *Collector) HandleProbe(kind string, fn ProbeFunc) {
	c.probes.mu.Lock()
	defer c.probes.mu.Unlock()
	if c.probes.handlers == nil {
		c.probes.handlers = map[string]ProbeFunc{}
	}
	c.probes.handlers[kind] = fn
}

// check reads the current probe and, if it is new here, answers it in the background.
func (p *prober) check(ctx context.Context) {
	raw, err := p.c.rdb.Get(ctx, p.c.prefix+keys.LabProbe).Result()
	if err != nil {
		return
	}
	var pr Probe
	if json.Unmarshal([]byte(raw), &pr) != nil || pr.Run == "" {
		return
	}
	p.mu.Lock()
	fn := p.handlers[pr.Kind]
	if p.seen[pr.Run] || fn == nil || time.Now().After(pr.Until) {
		p.mu.Unlock()
		return
	}
	if len(p.seen) > 1000 {
		clear(p.seen)
	}
	p.seen[pr.Run] = true
	p.mu.Unlock()
	go func() {
		actx, cancel := context.WithDeadline(cache.Uncounted(context.WithoutCancel(ctx)), pr.Until)
		defer cancel()
		answer, err := json.Marshal(fn(actx, pr))
		if err != nil {
			return
		}
		key := p.c.prefix + keys.LabAnswers(pr.Run)
		_, _ = p.c.rdb.TxPipelined(context.WithoutCancel(actx), func(pipe redis.Pipeliner) error {
			pipe.HSet(actx, key, p.c.instance, answer)
			pipe.Expire(actx, key, time.Minute)
			return nil
		})
	}()
}

// Ask publishes a probe for every instance (replacing any earlier one) with args, to be
// answered before until.
func (c *Collector) Ask(ctx context.Context, run, kind string, args any, until time.Time) error {
	a, err := json.Marshal(args)
	if err != nil {
		return err
	}
	body, err := json.Marshal(Probe{Run: run, Kind: kind, Args: a, Until: until})
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, c.prefix+keys.LabProbe, body, time.Until(until)+time.Second).Err()
}

// Answers returns the answers to run's probe so far, by instance (raw JSON).
func (c *Collector) Answers(ctx context.Context, run string) (map[string]json.RawMessage, error) {
	m, err := c.rdb.HGetAll(ctx, c.prefix+keys.LabAnswers(run)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = json.RawMessage(v)
	}
	return out, nil
}

// Live returns the instances that published figures in the last few seconds, as of the
// latest poll.
func (c *Collector) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.polls) == 0 {
		return []string{c.instance}
	}
	var out []string
	for name := range c.polls[len(c.polls)-1].Instances {
		out = append(out, name)
	}
	return out
}

// mark records field in run's answers (an instance's "watching" signal).
func (c *Collector) mark(ctx context.Context, run, field string) error {
	key := c.prefix + keys.LabAnswers(run)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, field, "true")
		p.Expire(ctx, key, time.Minute)
		return nil
	})
	return err
}

// flushes is the batches of views written to Postgres by every live instance since each
// started, as of the latest poll.
func (c *Collector) flushes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.polls) == 0 {
		return 0
	}
	var n int64
	for _, f := range c.polls[len(c.polls)-1].Instances {
		n += f.Flushes
	}
	return n
}

// awaitAnswers polls the answers to probe run every 100 ms until want instances answered,
// until passed or ctx ended (its error), and returns those that decode as A — leaving out
// the "ready" marks (readySuffix) some probes leave beside their answers.
func awaitAnswers[A any](ctx context.Context, c *Collector, run string, want int, until time.Time) (map[string]A, error) {
	answers := map[string]A{}
	for time.Now().Before(until) && len(answers) < want {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		raw, _ := c.Answers(ctx, run)
		for inst, a := range raw {
			var ans A
			if !strings.HasSuffix(inst, readySuffix) && json.Unmarshal(a, &ans) == nil {
				answers[inst] = ans
			}
		}
	}
	return answers, nil
}
