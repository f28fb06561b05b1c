// Package relay delivers the outbox to people's phones: a household's
// messages by SMS through the village's gateway, a team's to its WeCom or
// DingTalk group robot, every event to the village's JSON webhook. It owns
// the sending — HTTP payloads, signatures, retries with backoff — while
// the store owns what is to be sent and how far it got (store.Delivery),
// so a crash re-sends at most the messages in flight, each with its
// message ID.
package relay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"huangong/store"
)

// Options tune a Relay; zero values take the defaults.
type Options struct {
	// Client sends the requests (default: a client with a 15 s timeout).
	Client *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval is how often Run looks for work (default 2 s).
	Interval time.Duration
	// BackoffBase is the first retry's delay; each next one doubles, up to
	// BackoffMax, with jitter (defaults 15 s and 30 min).
	BackoffBase, BackoffMax time.Duration
	// Jitter returns a number in [0, 1) that spreads a retry's delay
	// between half and all of it (default math/rand/v2).
	Jitter func() float64
	// Workers is how many channels are sent to at once (default 4); one
	// channel's messages go one after another, in order.
	Workers int
	// Holder, when set, makes the relay run only while it holds the
	// scheduler's lease under this name (the scheduler's own Holder), so
	// of several instances one sends. Empty: it always runs (tests).
	Holder   string
	LeaseTTL time.Duration // default 2 min
	// TickBudget bounds a tick's sending: past it no new request starts,
	// and what is left waits for the next tick (default a quarter of
	// LeaseTTL, so a tick with its requests in flight ends well inside
	// the lease).
	TickBudget time.Duration
	// Log receives failures (default: discarded). No secret is logged.
	Log *slog.Logger
}

// Defaults of Options.
const (
	DefaultInterval    = 2 * time.Second
	DefaultBackoffBase = 15 * time.Second
	DefaultBackoffMax  = 30 * time.Minute
	DefaultWorkers     = 4
	DefaultLeaseTTL    = 2 * time.Minute
)

// batch is how many due deliveries a tick takes, and how many outbox
// events one enqueue transaction reads.
const batch = 200

// Relay moves the outbox to the channels.
type Relay struct {
	store *store.Store
	opts  Options
	log   *slog.Logger

	tick       sync.Mutex
	leaseUntil time.Time
}

// New returns a relay over st.
func New(st *store.Store, opts Options) *Relay {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.TickBudget <= 0 {
		opts.TickBudget = opts.LeaseTTL / 4
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Relay{store: st, opts: opts, log: log}
}

// Run ticks now and then every Interval until ctx is done. A message
// being sent when ctx ends is let finish.
func (r *Relay) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if _, err := r.Tick(ctx, r.opts.Now()); err != nil && ctx.Err() == nil {
			r.log.Error("通知发送出错 relay tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick queues the outbox events not yet queued and makes one attempt at
// each delivery due at now; it returns how many attempts it made. A tick
// while another runs, or on an instance without the lease, does nothing.
func (r *Relay) Tick(ctx context.Context, now time.Time) (int, error) {
	if !r.tick.TryLock() {
		return 0, nil
	}
	defer r.tick.Unlock()
	now = now.UTC()
	if held, err := r.holdLease(ctx, now); err != nil || !held {
		return 0, err
	}
	for {
		n, err := r.store.EnqueueDeliveries(ctx, batch)
		if err != nil {
			return 0, err
		}
		if n < batch {
			break
		}
	}
	due, chans, err := r.store.DueDeliveries(ctx, now, batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	// The budget is counted on the wall clock, not on Now: it bounds how
	// long the requests take, however a test sets the time.
	stop := time.Now().Add(r.opts.TickBudget)
	// One goroutine a channel, at most Workers at once: a channel's
	// messages leave in order, a slow gateway holds up only its own.
	byChannel := map[int64][]*store.Delivery{}
	var order []int64
	for _, d := range due {
		if _, ok := byChannel[d.ChannelID]; !ok {
			order = append(order, d.ChannelID)
		}
		byChannel[d.ChannelID] = append(byChannel[d.ChannelID], d)
	}
	rules := map[int64]*villageRules{}
	for _, d := range due {
		if rules[d.VillageID] == nil {
			if rules[d.VillageID], err = r.rules(ctx, d.VillageID); err != nil {
				return 0, err
			}
		}
	}
	sem := make(chan struct{}, r.opts.Workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	attempts := 0
	var firstErr error
	for _, id := range order {
		sem <- struct{}{}
		wg.Add(1)
		go func(c *store.Channel, ds []*store.Delivery) {
			defer func() { <-sem; wg.Done() }()
			n, err := r.channel(ctx, c, ds, rules, now, stop)
			mu.Lock()
			attempts += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}(chans[id], byChannel[id])
	}
	wg.Wait()
	return attempts, firstErr
}

// villageRules are what a village says about when its messages go.
type villageRules struct {
	set *store.NotifySettings
	loc *time.Location
}

func (r *Relay) rules(ctx context.Context, villageID int64) (*villageRules, error) {
	set, err := r.store.GetNotifySettings(ctx, villageID)
	if err != nil {
		return nil, err
	}
	v, err := r.store.GetVillage(ctx, villageID)
	if err != nil {
		return nil, err
	}
	return &villageRules{set: set, loc: v.Location()}, nil
}

// hold is when d may go if it could go at t (store.NotifySettings.Hold).
func (vr *villageRules) hold(d *store.Delivery, t time.Time) time.Time {
	return vr.set.Hold(d, t, vr.loc)
}

// channel makes one attempt at each of a channel's due deliveries, in
// order, and returns how many it made. It stops when the tick's budget is
// spent or ctx ends (what is left is due again next tick) and when the
// channel is unreachable or asks it to slow down: the rest of the batch
// then waits, untried, until the failed message's retry, so a hung
// gateway costs one client timeout a tick, not one per message.
func (r *Relay) channel(ctx context.Context, c *store.Channel, ds []*store.Delivery, rules map[int64]*villageRules, now, stop time.Time) (int, error) {
	n := 0
	for i, d := range ds {
		if ctx.Err() != nil || time.Now().After(stop) {
			return n, nil
		}
		// A message being sent when ctx ends is let finish.
		tried, pause, err := r.attempt(context.WithoutCancel(ctx), c, d, rules[d.VillageID], now)
		if tried {
			n++
		}
		if err != nil {
			return n, err
		}
		if pause.IsZero() {
			continue
		}
		// Each waits for pause or, if it may not ring a phone then, for
		// the end of the quiet hours.
		rest := map[time.Time][]int64{}
		for _, d := range ds[i+1:] {
			next := rules[d.VillageID].hold(d, pause)
			rest[next] = append(rest[next], d.ID)
		}
		for next, ids := range rest {
			if err := r.store.PutOff(context.WithoutCancel(ctx), next, ids...); err != nil {
				return n, err
			}
		}
		return n, nil
	}
	return n, nil
}

// holdLease takes or renews the scheduler's lease under Holder when less
// than half of it is left; without a Holder the relay always runs.
func (r *Relay) holdLease(ctx context.Context, now time.Time) (bool, error) {
	if r.opts.Holder == "" || now.Add(r.opts.LeaseTTL/2).Before(r.leaseUntil) {
		return true, nil
	}
	ok, err := r.store.AcquireLease(ctx, r.opts.Holder, now, r.opts.LeaseTTL)
	if err != nil || !ok {
		r.leaseUntil = time.Time{}
		return false, err
	}
	r.leaseUntil = now.Add(r.opts.LeaseTTL)
	return true, nil
}

// attempt sends d once and records the outcome: the attempt is recorded
// before the request leaves, so after a crash the delivery is still
// pending and is sent again with the same message ID. It reports whether
// a request was made and, when the channel itself is unreachable or asked
// to slow down, until when the channel's other messages should wait
// (before quiet hours, which are each message's own).
func (r *Relay) attempt(ctx context.Context, c *store.Channel, d *store.Delivery, vr *villageRules, now time.Time) (bool, time.Time, error) {
	if ok, err := r.store.BeginAttempt(ctx, d.ID, now); err != nil || !ok {
		return false, time.Time{}, err // not pending any more: its channel was removed meanwhile
	}
	d.Attempts++
	res := r.send(ctx, c, d, now)
	o := store.Outcome{State: store.DeliveryDelivered}
	var pause time.Time
	if res.err != "" {
		reason := redact(res.err, c)
		o = store.Outcome{State: store.DeliveryFailed, Error: reason}
		if res.retry {
			next := now.Add(r.backoff(d.Attempts))
			if res.retryAfter > 0 {
				next = now.Add(res.retryAfter)
			}
			if res.channelDown {
				pause = next
			}
			// The give-up time is counted without the quiet hours, or a
			// short limit would give up on a message for the night alone.
			if deadline := d.DueAt.Add(vr.set.GiveUp()); next.After(deadline) {
				o.Error = fmt.Sprintf("重试%d次仍未送达，已放弃 gave up after %d attempts: %s", d.Attempts, d.Attempts, reason)
			} else {
				o = store.Outcome{State: store.DeliveryPending, Next: vr.hold(d, next), Error: reason}
			}
		}
		r.log.Warn("通知未送达 delivery attempt failed", "delivery", d.ID, "message", d.MessageID, "channel", c.ID,
			"kind", c.Kind, "attempt", d.Attempts, "state", o.State, "reason", o.Error)
	}
	return true, pause, r.store.FinishAttempt(ctx, d.ID, now, o)
}

// backoff is the delay before retry n+1: BackoffBase doubled per attempt
// up to BackoffMax, then spread between half and all of it.
func (r *Relay) backoff(attempts int) time.Duration {
	d := r.opts.BackoffBase
	for i := 1; i < attempts && d < r.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.opts.BackoffMax)
	return d/2 + time.Duration(r.opts.Jitter()*float64(d/2))
}

// result is how a request went: err empty when delivered; retry when
// it may go through later, after retryAfter if the receiver said;
// channelDown when the failure is the channel's, not the message's — no
// answer, or an answer to slow down — so its other messages wait too.
type result struct {
	err         string
	retry       bool
	retryAfter  time.Duration
	channelDown bool
}

// send makes the channel's request for d and reads the answer.
func (r *Relay) send(ctx context.Context, c *store.Channel, d *store.Delivery, now time.Time) result {
	req, err := Request(ctx, c, d, now)
	if err != nil {
		return result{err: "无法生成请求 cannot build the request: " + err.Error()}
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token: never say it
		}
		return result{err: "网络错误 network: " + err.Error(), retry: true, channelDown: true}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return result{err: fmt.Sprintf("HTTP %d %s", code, snippet(body)), retry: true,
			retryAfter: retryAfter(resp.Header.Get("Retry-After"), now), channelDown: code == http.StatusTooManyRequests}
	case code < 200 || code > 299:
		return result{err: fmt.Sprintf("HTTP %d %s", code, snippet(body))}
	}
	if c.Kind == store.ChannelWeCom || c.Kind == store.ChannelDingTalk {
		// Robots answer 200 with an error code of their own.
		var a struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(body, &a) == nil && a.ErrCode != 0 {
			limited := a.ErrCode == 45009 || a.ErrCode == 130101 // WeCom, DingTalk: sending too fast
			return result{err: fmt.Sprintf("机器人拒绝 robot errcode %d: %s", a.ErrCode, snippet([]byte(a.ErrMsg))), retry: limited,
				channelDown: limited}
		}
	}
	return result{}
}

// snippet is the start of a receiver's answer, for the reason a cadre sees.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact stars every secret of the channel found in s: an error text or
// a receiver's answer may echo a URL's token or a header's key.
func redact(s string, c *store.Channel) string {
	// Known secrets are starred whatever they look like; the parts of a
	// template that may be one only when they do not look like a word
	// ("Bearer", "content"), or the reason would be unreadable.
	known := []string{c.Secret}
	var maybe []string
	for _, v := range c.Headers {
		known = append(known, v)
		maybe = append(maybe, strings.Fields(v)...) // "Bearer KEY": the key alone too
	}
	if u, err := url.Parse(c.URL); err == nil {
		for _, vs := range u.Query() {
			known = append(known, vs...)
		}
		if u.User != nil {
			known = append(known, u.User.String())
		}
		maybe = append(maybe, strings.Split(u.Path, "/")...)
	}
	maybe = append(maybe, strings.FieldsFunc(c.Body, func(r rune) bool { return strings.ContainsRune("\"&=,:{} \n", r) })...)
	for _, x := range known {
		if len(x) >= 4 && !strings.Contains(x, "{") {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	for _, x := range maybe {
		if len(x) >= 6 && !strings.Contains(x, "{") && !isWord(x) {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	return s
}

// isWord reports whether s is a plain word of letters, like a JSON key
// ("content") or an auth scheme ("Bearer"), under 16 letters.
func isWord(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return len(s) < 16
}

// Message-ID headers: receivers de-duplicate on either.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderMessageID      = "X-Huangong-Message-Id"
	HeaderSignature      = "X-Huangong-Signature"
)

// Request builds the HTTP request that delivers d through c at now.
func Request(ctx context.Context, c *store.Channel, d *store.Delivery, now time.Time) (*http.Request, error) {
	method, target, body, ctype := http.MethodPost, c.URL, []byte(nil), "application/json; charset=utf-8"
	switch c.Kind {
	case store.ChannelSMS:
		method = c.Method
		target = fill(c.URL, d, url.QueryEscape)
		esc := func(s string) string { return s }
		if store.JSONTemplate(c) {
			esc = jsonEscape
		} else if strings.Contains(strings.ToLower(c.Headers["Content-Type"]), "form") {
			esc = url.QueryEscape
		}
		body, ctype = []byte(fill(c.Body, d, esc)), ""
		if store.JSONTemplate(c) {
			ctype = "application/json; charset=utf-8"
		}
	case store.ChannelWeCom, store.ChannelDingTalk:
		body, _ = json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": d.Text}})
		if c.Kind == store.ChannelDingTalk && c.Secret != "" {
			u, err := url.Parse(target)
			if err != nil {
				return nil, errors.New("bad url")
			}
			ts := strconv.FormatInt(now.UnixMilli(), 10)
			q := u.Query()
			q.Set("timestamp", ts)
			q.Set("sign", DingTalkSign(ts, c.Secret))
			u.RawQuery = q.Encode()
			target = u.String()
		}
	case store.ChannelWebhook:
		body, _ = json.Marshal(WebhookPayload{ID: d.MessageID, VillageID: d.VillageID, Event: d.Event, Audience: d.Audience,
			AudienceID: d.AudienceID, Subject: d.Subject, SubjectID: d.SubjectID, Text: d.Text, Urgent: d.Urgent,
			CreatedAt: d.CreatedAt})
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, errors.New("bad url or method") // the error would quote the URL
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range c.Headers {
		req.Header.Set(k, strings.ReplaceAll(v, store.PlaceholderID, d.MessageID))
	}
	req.Header.Set(HeaderIdempotencyKey, d.MessageID)
	req.Header.Set(HeaderMessageID, d.MessageID)
	if c.Kind == store.ChannelWebhook && c.Secret != "" {
		req.Header.Set(HeaderSignature, "sha256="+Signature(c.Secret, body))
	}
	return req, nil
}

// WebhookPayload is what the village's generic webhook receives.
type WebhookPayload struct {
	ID         string    `json:"id"` // the message ID, the same on every retry
	VillageID  int64     `json:"villageId"`
	Event      string    `json:"event"`
	Audience   string    `json:"audience"`
	AudienceID int64     `json:"audienceId"`
	Subject    string    `json:"subject"`
	SubjectID  int64     `json:"subjectId"`
	Text       string    `json:"text"`
	Urgent     bool      `json:"urgent"`
	CreatedAt  time.Time `json:"createdAt"`
}

// fill puts the delivery's phone, text and message ID into a template,
// each escaped by esc.
func fill(tmpl string, d *store.Delivery, esc func(string) string) string {
	return strings.NewReplacer(store.PlaceholderPhone, esc(d.Recipient), store.PlaceholderText, esc(d.Text),
		store.PlaceholderID, esc(d.MessageID)).Replace(tmpl)
}

// jsonEscape is s as it goes inside a JSON string's quotes.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// DingTalkSign is DingTalk's robot signature: base64 of HMAC-SHA256 over
// "timestamp\nsecret" keyed with the secret.
func DingTalkSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Signature is the webhook's body signature: hex HMAC-SHA256 keyed with
// the channel's secret.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
