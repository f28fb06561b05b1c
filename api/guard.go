package api

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"huangong/store"
)

// Guard limits. Variables so tests can shorten them.
var (
	// FailureBurst failed authentications an address may make at once
	// before it is answered 429; FailureRefill gives one more back.
	FailureBurst  = 10
	FailureRefill = 6 * time.Second
	// StreamsPerToken caps the event streams one token holds open.
	StreamsPerToken = 4
)

// failureAddrs bounds the addresses the throttle remembers: the least
// recently failing are forgotten first.
const failureAddrs = 10000

// floodAddrs bounds the addresses whose denials one minute aggregates one
// line each; the denials of any more that minute share one line, "other
// addresses". A variable so a test can shorten it.
var floodAddrs = 1000

// public is the security of an operation anyone may call: declared empty,
// so the document says so instead of leaving it unsaid.
var public = []map[string][]string{}

// Subject is whom a token speaks for, as idempotency keys are scoped:
// "cadre#3" (the token), "leader:team2", "household:5".
//
// A household's or a team's tokens all speak for it: a retry from a card
// reissued meanwhile still replays, and two phones of one family sending
// the same key mean the same posting (a different body is 422, never a
// second posting). Cadre tokens are bound to no one but the person they
// were given to, and a village has several cadres: each token is its own
// caller, so two cadres' keys never collide (a cadre's retry across a
// reissue of its own token posts anew).
func (p *Principal) Subject() string {
	switch p.Role {
	case store.RoleLeader:
		return fmt.Sprintf("leader:team%d", p.TeamID)
	case store.RoleHousehold:
		return fmt.Sprintf("household:%d", p.HouseholdID)
	}
	return fmt.Sprintf("%s#%d", p.Role, p.TokenID)
}

// scopedKey is the Idempotency-Key as stored: the caller's subject before
// the client's key, so the same key from two callers never collides.
func scopedKey(p *Principal, key string) string { return p.Subject() + " " + key }

// throttle answers failed authentication per client address: a burst of
// FailureBurst, then one more every FailureRefill. Only failures take from
// an address's bucket; a request that authenticates costs nothing. Time
// is the server's clock (Server.SetClock), so a test can stop it.
type throttle struct {
	now      func() time.Time
	limiters *lru.Cache[string, *rate.Limiter]
	mu       sync.Mutex // makes get-or-add one step
}

func newThrottle(now func() time.Time) *throttle {
	// The least recently failing address is forgotten first and starts
	// again with a full bucket.
	limiters, err := lru.New[string, *rate.Limiter](failureAddrs)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &throttle{now: now, limiters: limiters}
}

// bucket is the part of an address the throttle counts by: an IPv4
// address, or an IPv6 address's /64, which one subscriber usually holds
// whole and could otherwise walk through.
func bucket(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// wait is how long addr must wait before its next attempt is looked at;
// 0 when it may try now.
func (t *throttle) wait(addr string) time.Duration {
	t.mu.Lock()
	lim, ok := t.limiters.Peek(bucket(addr))
	t.mu.Unlock()
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(t.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(FailureRefill))
}

// fail takes one attempt from addr's bucket.
func (t *throttle) fail(addr string) {
	addr = bucket(addr)
	t.mu.Lock()
	lim, ok := t.limiters.Get(addr)
	if !ok {
		lim = rate.NewLimiter(rate.Every(FailureRefill), FailureBurst)
		t.limiters.Add(addr, lim)
	}
	t.mu.Unlock()
	lim.AllowN(t.now(), 1)
}

// SetClock gives the guard (the failure throttle and the flood minutes) a
// clock other than time.Now: a test stops it so that counts do not depend
// on how fast the machine is.
func (s *Server) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Server) now() time.Time {
	if now := s.clock.Load(); now != nil {
		return (*now)()
	}
	return time.Now()
}

// clientAddr is the address a request came from: the connection's peer,
// or, behind a trusted reverse proxy, the address that proxy appended to
// X-Forwarded-For (the last one: anything before it the client could
// have written itself).
func (s *Server) clientAddr(remoteAddr string, header func(string) string) string {
	if s.TrustProxy {
		fwd := strings.Split(header("X-Forwarded-For"), ",")
		if last := strings.TrimSpace(fwd[len(fwd)-1]); last != "" {
			return last
		}
	}
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// Admit resolves a web sign-in's secret (a link's token, the cookie) for
// the client of r under the API's failure throttle (see admit): a card's
// token guessed through a sign-in link is guessed all the same. On an
// error, wait > 0 says the address must wait that long (answer 429).
func (s *Server) Admit(r *http.Request, secret string) (p *Principal, wait time.Duration, err error) {
	return s.admit(r.Context(), s.clientAddr(r.RemoteAddr, r.Header.Get), secret)
}

// AdmitCard opens a card's short link (/c/{code}) for the client of r:
// the secret of the live token whose card carries code, to sign in with as
// the long link does. A wrong code is a failed guess under the same
// throttle as a wrong token. Unlike a token, a code is not looked at at
// all from a throttled address: it is 50 bits, not 256, and an address
// that could still tell a right code (a redirect) from a wrong one (429)
// while throttled would guess at full speed. So a throttled address waits
// for its short links; the QR code's long link still signs in from it
// (see admit). On an error, wait > 0 says the address must wait that long
// (answer 429).
func (s *Server) AdmitCard(r *http.Request, code string) (secret string, wait time.Duration, err error) {
	addr := s.clientAddr(r.RemoteAddr, r.Header.Get)
	if wait := s.throttle.wait(addr); wait > 0 {
		return "", wait, store.Errorf(store.EUNAUTHORIZED, "登录码无效 the card's code is not valid")
	}
	secret, err = s.store.CardSecret(r.Context(), code)
	if err == nil {
		return secret, 0, nil
	}
	return "", s.refuse(addr, err), err
}

// CountDenial notes an anonymous denial by the client of r for the audit
// log and says whether its line is to be written now (the first of the
// address's minute); the others are counted into one line.
func (s *Server) CountDenial(r *http.Request, e *store.AuditEntry) bool {
	return s.floods.record(s.clientAddr(r.RemoteAddr, r.Header.Get), e)
}

// RetryAfter is a wait as a Retry-After value: whole seconds, rounded up.
func RetryAfter(wait time.Duration) string { return strconv.Itoa(int(math.Ceil(wait.Seconds()))) }

// tooMany answers a throttled address: 429 with Retry-After in whole seconds.
func (s *Server) tooMany(ctx huma.Context, wait time.Duration, msg string) {
	ctx.SetHeader("Retry-After", RetryAfter(wait))
	s.writeProblem(ctx, store.Errorf(store.ETOOMANY, "%s", msg))
}

// floods aggregates the audit lines of anonymous denials: the first from
// an address in a minute is written as it comes, the rest of that minute
// become one line with their count, written when the minute is over (or
// the server closes). A flood of wrong tokens writes two lines a minute,
// not one per request. Addresses are counted as the throttle counts them
// (an IPv6 /64 is one), and a minute aggregates at most floodAddrs of them
// line by line: the rest share one line, so a flood from many addresses
// neither writes nor holds a line each.
type floods struct {
	st  *store.Store
	log func(msg string, args ...any)
	now func() time.Time

	mu      sync.Mutex
	minute  time.Time
	pending map[string]*store.AuditEntry // bucket → this minute's aggregate
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// otherAddrs is the pending key, actor and target of the line the
// addresses beyond floodAddrs share.
const otherAddrs = "other addresses"

func newFloods(st *store.Store, logError func(string, ...any), now func() time.Time) *floods {
	f := &floods{st: st, log: logError, now: now, pending: map[string]*store.AuditEntry{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// run flushes each minute's aggregates when the minute ends. It wakes by
// the wall clock but judges the minute by the server's, so a stopped clock
// flushes nothing until it moves (or the server closes).
func (f *floods) run() {
	defer close(f.done)
	for {
		wall := time.Now()
		select {
		case <-time.After(wall.Truncate(time.Minute).Add(time.Minute).Sub(wall)):
			f.flush(f.now().Truncate(time.Minute))
		case <-f.stop:
			f.flush(time.Time{})
			return
		}
	}
}

// record notes an anonymous denial from addr and says whether its line
// must be written now (the first of the address's minute).
func (f *floods) record(addr string, e *store.AuditEntry) (writeNow bool) {
	now := f.now()
	key := bucket(addr)
	f.mu.Lock()
	minute := now.Truncate(time.Minute)
	var old []*store.AuditEntry
	if !minute.Equal(f.minute) {
		old, f.minute = f.take(), minute
	}
	agg, seen := f.pending[key]
	if !seen && len(f.pending) >= floodAddrs {
		// Beyond the cap: counted on the shared line, never written now.
		key, seen = otherAddrs, true
		if agg = f.pending[key]; agg == nil {
			agg = &store.AuditEntry{Actor: "anonymous@" + otherAddrs, Action: "denied-flood",
				Target: otherAddrs, Outcome: store.OutcomeDenied}
			f.pending[key] = agg
		}
	}
	if !seen {
		// Count 0 marks "first line written, nothing aggregated yet".
		f.pending[key] = &store.AuditEntry{Actor: "anonymous@" + key, Action: "denied-flood",
			Target: key, Outcome: store.OutcomeDenied}
	} else {
		agg.Count++
		agg.Status, agg.At = e.Status, now.UTC()
	}
	f.mu.Unlock()
	f.write(old)
	return !seen
}

// take empties the pending aggregates, returning those with a count.
func (f *floods) take() []*store.AuditEntry {
	var out []*store.AuditEntry
	for _, e := range f.pending {
		if e.Count > 0 {
			out = append(out, e)
		}
	}
	clear(f.pending)
	return out
}

// flush writes the aggregates of the minutes before until (all of them
// for the zero time).
func (f *floods) flush(until time.Time) {
	f.mu.Lock()
	var old []*store.AuditEntry
	if until.IsZero() || f.minute.Before(until) {
		old = f.take()
	}
	f.mu.Unlock()
	f.write(old)
}

func (f *floods) write(entries []*store.AuditEntry) {
	for _, e := range entries {
		if err := f.st.AppendAudit(context.Background(), e); err != nil {
			f.log("audit flood", "err", err, "actor", e.Actor)
		}
	}
}

// close writes what is pending and stops the minute's timer.
func (f *floods) close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// streams counts each token's open event streams.
type streams struct {
	mu   sync.Mutex
	open map[int64]int
}

// acquire takes a stream slot for a token; false when it holds the most.
func (c *streams) acquire(tokenID int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[tokenID] >= StreamsPerToken {
		return false
	}
	c.open[tokenID]++
	return true
}

func (c *streams) release(tokenID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[tokenID]--; c.open[tokenID] <= 0 {
		delete(c.open, tokenID)
	}
}

// limitStreams refuses a token's stream beyond StreamsPerToken with 429.
func (s *Server) limitStreams(ctx huma.Context, next func(huma.Context)) {
	p, _ := ctx.Context().Value(principalKey).(*Principal)
	if p == nil {
		next(ctx)
		return
	}
	if !s.streams.acquire(p.TokenID) {
		s.tooMany(ctx, EventKeepAlive, fmt.Sprintf("此令牌已打开%d个实时通知，请先关闭其他页面 this token already holds %d open event streams; close one first",
			StreamsPerToken, StreamsPerToken))
		return
	}
	defer s.streams.release(p.TokenID)
	next(ctx)
}
