package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/store"
)

// from calls the API as a client at addr behind the trusted proxy.
func (e *testEnv) from(tb testing.TB, addr, token string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/households?limit=1", nil)
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Forwarded-For", "203.0.113.99, "+addr) // the first is the client's own claim
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// auditLines is how many audit lines are written and how many requests
// they stand for.
func (e *testEnv) auditLines(tb testing.TB) (lines, requests int64) {
	tb.Helper()
	var sum *int64
	require.NoError(tb, e.st.DB().QueryRow("SELECT COUNT(*), SUM(count) FROM audit_log").Scan(&lines, &sum))
	if sum != nil {
		requests = *sum
	}
	return lines, requests
}

// stopClock stops the guard's clock: the throttle's buckets refill only
// when the test moves it (advance), however slowly the requests go.
func (e *testEnv) stopClock() (advance func(time.Duration)) {
	var mu sync.Mutex
	now := time.Date(2026, 4, 20, 8, 0, 30, 0, time.UTC)
	e.srv.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	return func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
}

// TestThrottleRefillsByTheClock: the burst, then 429 until the guard's
// clock gives one attempt back, and exactly one.
func TestThrottleRefillsByTheClock(t *testing.T) {
	e := mustEnv(t)
	advance := e.stopClock()
	e.srv.TrustProxy = true
	for range api.FailureBurst {
		require.Equal(t, http.StatusUnauthorized, e.from(t, "198.51.100.30", "hg_wrong").StatusCode)
	}
	resp := e.from(t, "198.51.100.30", "hg_wrong")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, api.RetryAfter(api.FailureRefill), resp.Header.Get("Retry-After"), "a full refill to wait, by the stopped clock")
	advance(api.FailureRefill)
	assert.Equal(t, http.StatusUnauthorized, e.from(t, "198.51.100.30", "hg_wrong").StatusCode, "one attempt back")
	assert.Equal(t, http.StatusTooManyRequests, e.from(t, "198.51.100.30", "hg_wrong").StatusCode, "and only one")
}

func TestWrongTokensAreThrottledAndAggregated(t *testing.T) {
	e := mustEnv(t)
	e.stopClock()
	e.srv.TrustProxy = true
	const guesses = 50
	var unauthorized, throttled int
	for i := range guesses {
		resp := e.from(t, "198.51.100.7", "hg_wrong"+strconv.Itoa(i))
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			unauthorized++
			assert.Zero(t, throttled, "no 401 after the first 429")
		case http.StatusTooManyRequests:
			throttled++
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			require.NoError(t, err, "Retry-After in seconds")
			assert.Positive(t, retry)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		default:
			t.Fatalf("guess %d answered %d", i, resp.StatusCode)
		}
		if i == guesses/2 {
			// Meanwhile a good token from another address is served,
			// again and again: successes take nothing from its bucket.
			for range api.FailureBurst * 2 {
				assert.Equal(t, http.StatusOK, e.from(t, "198.51.100.8", e.cadre).StatusCode)
			}
		}
	}
	assert.Equal(t, api.FailureBurst, unauthorized, "the burst is answered 401")
	assert.Equal(t, guesses-api.FailureBurst, throttled)
	// A good token from the throttled address is served all the same: a
	// village shares one address, and one phone guessing must not lock the
	// others out (256-bit secrets make the right guess an idle hope).
	assert.Equal(t, http.StatusOK, e.from(t, "198.51.100.7", e.cadre).StatusCode)
	assert.Equal(t, http.StatusTooManyRequests, e.from(t, "198.51.100.7", "hg_wrong").StatusCode, "a wrong one still waits")

	lines, _ := e.auditLines(t)
	assert.LessOrEqual(t, lines, int64(3), "the first denial, and the rest of the minute counted, not a line each")
	e.srv.Close() // shutdown writes the minute's aggregate
	lines, requests := e.auditLines(t)
	assert.LessOrEqual(t, lines, int64(4))
	assert.EqualValues(t, guesses+1, requests, "every denial is counted")
}

func TestIPv6IsThrottledByItsSlash64(t *testing.T) {
	e := mustEnv(t)
	e.stopClock()
	e.srv.TrustProxy = true
	for i := range api.FailureBurst {
		assert.Equal(t, http.StatusUnauthorized, e.from(t, "2001:db8:1:2::"+strconv.Itoa(i+1), "hg_wrong").StatusCode)
	}
	for i := range 40 {
		assert.Equal(t, http.StatusTooManyRequests, e.from(t, "2001:db8:1:2:ffff::"+strconv.FormatInt(int64(i+1), 16), "hg_wrong").StatusCode, "same /64")
	}
	// The audit log counts the /64 too: a walk through it is one flood.
	lines, _ := e.auditLines(t)
	assert.LessOrEqual(t, lines, int64(3), "50 denials from one /64, a few lines")
	assert.Equal(t, http.StatusUnauthorized, e.from(t, "2001:db8:1:3::1", "hg_wrong").StatusCode, "another /64")
}

func TestForwardedForIsIgnoredUnlessTrusted(t *testing.T) {
	e := mustEnv(t)
	e.stopClock()
	// Without a trusted proxy a client cannot escape the throttle by
	// claiming another address in X-Forwarded-For each time.
	for i := range api.FailureBurst {
		assert.Equal(t, http.StatusUnauthorized, e.from(t, "192.0.2."+strconv.Itoa(i), "hg_wrong").StatusCode)
	}
	assert.Equal(t, http.StatusTooManyRequests, e.from(t, "192.0.2.200", "hg_wrong").StatusCode)
}

func TestIdempotencyKeysAreTheCallers(t *testing.T) {
	l := mustLoop(t)
	ctx := context.Background()
	const key = "job-complete-shared"

	// Two households, the same key: two requests, neither a replay.
	ask := func(token string, field int64) map[string]any {
		resp, body := l.call(t, "POST", "/v1/requests", token, map[string]any{
			"fieldId": field, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"}, "Idempotency-Key", key)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
		return body
	}
	resp, body := l.call(t, "POST", "/v1/fields", l.cadre, map[string]any{
		"householdId": l.neighbour.ID, "name": "后山田", "area": 1.2, "crop": "early_rice"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	neighbourField := id(body)
	a, b := ask(l.householdTok, l.field.ID), ask(l.neighbourTok, neighbourField)
	assert.NotEqual(t, a["id"], b["id"])

	// Two leaders, the same key: leader 2 completing its own job with the
	// key the CLI would derive for leader 1's does not block leader 1.
	require.NoError(t, l.st.AddTeamMember(ctx, l.village.ID, &store.TeamMember{TeamID: l.team2.ID, HouseholdID: l.outsider.ID, WorkersPerDay: 1}))
	resp, body = l.call(t, "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team2.ID, "requestId": id(b),
		"date": "2026-04-20", "workers": []map[string]any{{"householdId": l.outsider.ID, "workers": 1}}})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	theirs := id(body)
	resp, body = l.call(t, "POST", "/v1/jobs/"+itoa(theirs)+"/confirm", l.leader2, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	ours := l.job(t, id(a), "2026-04-20")
	l.confirm(t, ours)

	complete := func(token string, job, household int64) (*http.Response, map[string]any) {
		return l.call(t, "POST", "/v1/jobs/"+itoa(job)+"/complete", token,
			map[string]any{"attendance": []map[string]any{{"householdId": household, "workdays": 1}}}, "Idempotency-Key", key)
	}
	resp, body = complete(l.leader2, theirs, l.outsider.ID)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = complete(l.leader, ours, l.neighbour.ID)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	assert.EqualValues(t, ours, body["id"])
	assert.Equal(t, "done", body["state"])
	// Each caller's retry still replays its own answer.
	resp, again := complete(l.leader, ours, l.neighbour.ID)
	require.Equal(t, http.StatusOK, resp.StatusCode, again)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
}

// raw posts and returns the answer's exact bytes.
func (e *testEnv) raw(tb testing.TB, path, token string, body any, key string) (*http.Response, []byte) {
	tb.Helper()
	b, err := json.Marshal(body)
	require.NoError(tb, err)
	req, err := http.NewRequest(http.MethodPost, e.url+path, bytes.NewReader(b))
	require.NoError(tb, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, out
}

func TestReplayIsByteIdentical(t *testing.T) {
	e := mustEnv(t) // the real clock: nanoseconds the database does not keep
	transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1.5, "memo": "补记春耕互助"}
	resp, first := e.raw(t, "/v1/transfers", e.cadre, transfer, "bytes-1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(first))
	resp, again := e.raw(t, "/v1/transfers", e.cadre, transfer, "bytes-1")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(again))
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, string(first), string(again))
	assert.NotContains(t, string(first), `"$schema"`, "no $schema link: huma's was malformed")
}

func TestEventStreamsPerTokenAreCapped(t *testing.T) {
	e := mustEnv(t)
	open := func() *http.Response {
		req, err := http.NewRequest(http.MethodGet, e.url+"/v1/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.householdTok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	var streams []*http.Response
	for range api.StreamsPerToken {
		resp := open()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		streams = append(streams, resp)
	}
	resp := open()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, string(body), "此令牌已打开")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	// Another token is not counted against this one.
	other, err := http.NewRequest(http.MethodGet, e.url+"/v1/events", nil)
	require.NoError(t, err)
	other.Header.Set("Authorization", "Bearer "+e.neighbourTok)
	oresp, err := http.DefaultClient.Do(other)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, oresp.StatusCode)
	oresp.Body.Close()

	// A stream that ends gives its place back.
	e.srv.CloseStreams()
	for _, s := range streams {
		_, _ = io.Copy(io.Discard, s.Body)
		s.Body.Close()
	}
	again := open()
	again.Body.Close()
	assert.Equal(t, http.StatusOK, again.StatusCode)
}

// BenchmarkPostingDuringFlood posts transfers, quietly and while other
// goroutines send wrong tokens from one address as fast as they can, and
// reports the audit lines the flood wrote per thousand wrong requests.
//
//	go test ./api -run '^$' -bench PostingDuringFlood -benchtime 200x
func BenchmarkPostingDuringFlood(b *testing.B) {
	for _, flood := range []bool{false, true} {
		name := "quiet"
		if flood {
			name = "flood"
		}
		b.Run(name, func(b *testing.B) {
			e := mustEnv(b)
			e.srv.TrustProxy = true // the flood comes from another address than the cadre
			stop, done := make(chan struct{}), make(chan int)
			for range 4 {
				go func() {
					n := 0
					for flood {
						select {
						case <-stop:
							done <- n
							return
						default:
						}
						e.from(b, "198.51.100.66", "hg_wrong")
						n++
					}
					done <- n
				}()
			}
			transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 0.5, "memo": "补记"}
			b.ResetTimer()
			for i := range b.N {
				resp, body := e.raw(b, "/v1/transfers", e.cadre, transfer, "bench-"+strconv.Itoa(i))
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("%d: %s", resp.StatusCode, body)
				}
			}
			b.StopTimer()
			if flood {
				close(stop)
			}
			wrong := 0
			for range 4 {
				wrong += <-done
			}
			var lines int64
			require.NoError(b, e.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE village_id IS NULL").Scan(&lines))
			b.ReportMetric(float64(wrong)/b.Elapsed().Seconds(), "wrong-req/s")
			b.ReportMetric(float64(lines), "anon-audit-lines")
		})
	}
}

// TestDeadTokenIsNoGuess: a revoked token is answered 401 as long as it
// is sent, and never counts as a guess: the office PC still polling with
// one does not lock the village Wi-Fi out. Wrong secrets still count.
func TestDeadTokenIsNoGuess(t *testing.T) {
	e := mustEnv(t)
	e.stopClock()
	e.srv.TrustProxy = true
	ctx := context.Background()
	tok, err := e.st.Authenticate(ctx, e.leader)
	require.NoError(t, err)
	_, err = e.st.RevokeToken(ctx, e.village.ID, tok.ID)
	require.NoError(t, err)
	for range 3 * api.FailureBurst {
		require.Equal(t, http.StatusUnauthorized, e.from(t, "198.51.100.20", e.leader).StatusCode)
	}
	assert.Equal(t, http.StatusOK, e.from(t, "198.51.100.20", e.cadre).StatusCode)
	for range api.FailureBurst {
		assert.Equal(t, http.StatusUnauthorized, e.from(t, "198.51.100.20", "hg_wrong").StatusCode)
	}
	assert.Equal(t, http.StatusTooManyRequests, e.from(t, "198.51.100.20", "hg_wrong").StatusCode)
}

// TestRevokeEndsOpenStreams: a token revoked while its event stream is
// open loses the stream within a poll, not when the phone hangs up.
func TestRevokeEndsOpenStreams(t *testing.T) {
	poll := api.EventPoll
	api.EventPoll = 10 * time.Millisecond
	t.Cleanup(func() { api.EventPoll = poll })
	e := mustEnv(t)
	t.Cleanup(e.srv.CloseStreams) // should the test fail, the stream must not hold the server
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.neighbourTok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(ended)
	}()

	tok, err := e.st.Authenticate(context.Background(), e.neighbourTok)
	require.NoError(t, err)
	select {
	case <-ended:
		t.Fatal("the stream ended before the revoke")
	case <-time.After(50 * time.Millisecond):
	}
	_, err = e.st.RevokeToken(context.Background(), e.village.ID, tok.ID)
	require.NoError(t, err)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked token's stream is still open")
	}
}

// TestCadresKeysAreTheirOwn: two cadres of one village posting with the
// same Idempotency-Key are two postings, not a replay of the other's.
func TestCadresKeysAreTheirOwn(t *testing.T) {
	e := mustEnv(t)
	other, err := e.st.CreateToken(context.Background(), &store.Token{VillageID: e.village.ID, Role: store.RoleCadre})
	require.NoError(t, err)
	transfer := map[string]any{"from": e.neighbour.ID, "to": e.home.ID, "workdays": 1, "memo": "补记"}
	resp, first := e.raw(t, "/v1/transfers", e.cadre, transfer, "shared-key")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(first))
	resp, second := e.raw(t, "/v1/transfers", other, transfer, "shared-key")
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(second))
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"), "another cadre's key is another key")
	assert.NotEqual(t, string(first), string(second))
	resp, again := e.raw(t, "/v1/transfers", e.cadre, transfer, "shared-key")
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), "each cadre's retry replays its own")
	assert.Equal(t, string(first), string(again))
}
