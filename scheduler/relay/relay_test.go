package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/scheduler/planner"
	"huangong/scheduler/relay"
	"huangong/store"
	"huangong/store/storetest"
)

// Phones of the relay tests' village.
const (
	helpedPhone = "13800000001"
	leaderPhone = "13900000002"
)

// env is the loop village with phones: 章仁标 (helped) and 周国华, the
// leader of 第一互助队, have one; a relay over its store logs to Log.
type env struct {
	*storetest.Loop
	Relay *relay.Relay
	Log   *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Loop: storetest.NewLoop(t), Log: &bytes.Buffer{}}
	var err error
	e.Helped, err = e.St.UpdateHousehold(e.Ctx, e.V.ID, e.Helped.ID, 0, func(h *store.Household) error { h.Phone = helpedPhone; return nil })
	require.NoError(t, err)
	_, err = e.St.UpdateHousehold(e.Ctx, e.V.ID, e.B.ID, 0, func(h *store.Household) error { h.Phone = leaderPhone; return nil })
	require.NoError(t, err)
	e.Team1, err = e.St.UpdateTeam(e.Ctx, e.V.ID, e.Team1.ID, 0, func(tm *store.Team) error { tm.LeaderHouseholdID = &e.B.ID; return nil })
	require.NoError(t, err)
	e.Relay = relay.New(e.St, relay.Options{Now: e.Clock.Now, BackoffBase: time.Second, BackoffMax: time.Minute,
		Jitter: func() float64 { return 0 }, Log: slog.New(slog.NewTextHandler(&lockedWriter{w: e.Log}, nil))})
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tick runs the relay once at the clock's time.
func (e *env) tick(t *testing.T) int {
	t.Helper()
	n, err := e.Relay.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	return n
}

// channel configures a channel of kind pointing at url.
func (e *env) channel(t *testing.T, c store.Channel) *store.Channel {
	t.Helper()
	out, err := e.St.CreateChannel(e.Ctx, e.V.ID, &c)
	require.NoError(t, err)
	return out
}

// smsChannel is a JSON SMS gateway template at url.
func (e *env) smsChannel(t *testing.T, url string) *store.Channel {
	return e.channel(t, store.Channel{Kind: store.ChannelSMS, URL: url + "/sms?key=sms-secret-key", Method: "POST",
		Headers: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer sms-secret-token"},
		Body:    `{"to":"{phone}","content":"{text}","ref":"{id}"}`, Enabled: true})
}

// smsJob configures an SMS gateway answering with status (nil: 200) and
// makes one job for 章仁标: one SMS to send.
func (e *env) smsJob(t *testing.T, status func(n int, w http.ResponseWriter) int) *fake {
	t.Helper()
	sms := newFake(t, status)
	e.smsChannel(t, sms.URL)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	return sms
}

func (e *env) deliveries(t *testing.T) []*store.Delivery {
	t.Helper()
	ds, _, err := e.St.ListDeliveries(e.Ctx, e.V.ID, store.DeliveryFilter{}, store.Page{Limit: 100})
	require.NoError(t, err)
	return ds
}

// hit is one request a fake endpoint received.
type hit struct {
	Header http.Header
	Query  map[string][]string
	Body   []byte
	Path   string
}

// fake is a receiver on :0 that records what it gets and answers what
// status says for the n-th request (from 1).
type fake struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	status func(n int, w http.ResponseWriter) int
}

func newFake(t *testing.T, status func(n int, w http.ResponseWriter) int) *fake {
	t.Helper()
	f := &fake{status: status}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{Header: r.Header.Clone(), Query: r.URL.Query(), Body: body, Path: r.URL.Path})
		n := len(f.hits)
		f.mu.Unlock()
		code := http.StatusOK
		if f.status != nil {
			code = f.status(n, w)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) got() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

func TestDeliver_EachKind(t *testing.T) {
	e := newEnv(t)
	sms, wecom, ding, hook := newFake(t, nil), newFake(t, nil), newFake(t, nil), newFake(t, nil)
	const dingSecret = "SECdingtalk-secret-123"
	e.smsChannel(t, sms.URL)
	e.channel(t, store.Channel{Kind: store.ChannelWeCom, TeamID: e.Team1.ID, URL: wecom.URL + "/cgi-bin/webhook/send?key=wecom-secret-key", Enabled: true})
	e.channel(t, store.Channel{Kind: store.ChannelDingTalk, TeamID: e.Team2.ID, URL: ding.URL + "/robot/send?access_token=ding-secret-token", Secret: dingSecret, Enabled: true})
	e.channel(t, store.Channel{Kind: store.ChannelWebhook, URL: hook.URL + "/hook", Secret: "hook-secret-456", Enabled: true})

	r := e.Request(t, func(in *store.NewRequest) {})
	e.Job(t, r, e.Team1, e.Day())
	e.Job(t, e.Request(t, nil), e.Team2, e.Day())
	assert.Positive(t, e.tick(t))

	t.Run("sms", func(t *testing.T) {
		hits := sms.got()
		require.Len(t, hits, 2, "one SMS per job.scheduled to the household")
		for _, h := range hits {
			assert.Equal(t, "Bearer sms-secret-token", h.Header.Get("Authorization"))
			assert.Equal(t, "sms-secret-key", h.Query["key"][0])
			var b struct{ To, Content, Ref string }
			require.NoError(t, json.Unmarshal(h.Body, &b), "the JSON template stays JSON: %s", h.Body)
			assert.Equal(t, helpedPhone, b.To)
			assert.Equal(t, h.Header.Get("Idempotency-Key"), b.Ref)
			assert.Equal(t, h.Header.Get("Idempotency-Key"), h.Header.Get("X-Huangong-Message-Id"))
			assert.Contains(t, b.Content, "将于")
		}
		var b struct{ Content string }
		require.NoError(t, json.Unmarshal(hits[0].Body, &b))
		assert.Contains(t, b.Content, "第一互助队队长周国华 "+leaderPhone, "a household's job message says whom to call")
	})
	t.Run("wecom", func(t *testing.T) {
		hits := wecom.got()
		require.Len(t, hits, 1, "team 1's job.scheduled")
		var b struct {
			MsgType string `json:"msgtype"`
			Text    struct{ Content string }
		}
		require.NoError(t, json.Unmarshal(hits[0].Body, &b))
		assert.Equal(t, "text", b.MsgType)
		assert.Contains(t, b.Text.Content, "新派工")
		assert.Equal(t, "wecom-secret-key", hits[0].Query["key"][0])
		assert.NotEmpty(t, hits[0].Header.Get("Idempotency-Key"))
	})
	t.Run("dingtalk signed", func(t *testing.T) {
		hits := ding.got()
		require.Len(t, hits, 1, "team 2's job.scheduled")
		ts, sign := hits[0].Query["timestamp"][0], hits[0].Query["sign"][0]
		assert.Equal(t, "ding-secret-token", hits[0].Query["access_token"][0])
		assert.Equal(t, relay.DingTalkSign(ts, dingSecret), sign, "HMAC-SHA256 of timestamp\\nsecret, base64")
		assert.Equal(t, e.Clock.Now().UnixMilli(), mustInt(t, ts))
		var b struct {
			MsgType string `json:"msgtype"`
			Text    struct{ Content string }
		}
		require.NoError(t, json.Unmarshal(hits[0].Body, &b))
		assert.Equal(t, "text", b.MsgType)
		assert.Contains(t, b.Text.Content, "新派工")
	})
	t.Run("webhook", func(t *testing.T) {
		hits := hook.got()
		events := map[string]int{}
		for _, h := range hits {
			var p relay.WebhookPayload
			require.NoError(t, json.Unmarshal(h.Body, &p))
			assert.Equal(t, h.Header.Get("Idempotency-Key"), p.ID)
			events[p.Audience+":"+p.Event]++
			assert.Equal(t, "sha256="+relay.Signature("hook-secret-456", h.Body), h.Header.Get("X-Huangong-Signature"))
		}
		assert.Equal(t, map[string]int{"cadre:request.submitted": 2, "team:job.scheduled": 2, "household:job.scheduled": 2}, events,
			"every event after the channel was made")
	})
	for _, d := range e.deliveries(t) {
		assert.Equal(t, store.DeliveryDelivered, d.State, "delivery %d %s", d.ID, d.LastError)
		assert.Equal(t, 1, d.Attempts)
	}
	assert.Zero(t, e.tick(t), "nothing is sent twice")
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, json.Unmarshal([]byte(s), &n))
	return n
}

func TestRetry_ServerErrorsThenOK(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, func(n int, _ http.ResponseWriter) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	for i := 0; i < 6; i++ {
		e.tick(t)
		e.Clock.Advance(time.Minute) // past the longest backoff
	}
	hits := sms.got()
	require.Len(t, hits, 4, "three 500s, then the one delivery")
	for _, h := range hits {
		assert.Equal(t, hits[0].Header.Get("Idempotency-Key"), h.Header.Get("Idempotency-Key"), "every attempt carries the same message ID")
	}
	ds := e.deliveries(t)
	require.Len(t, ds, 1)
	assert.Equal(t, store.DeliveryDelivered, ds[0].State)
	assert.Equal(t, 4, ds[0].Attempts)
	assert.Equal(t, ds[0].MessageID, hits[0].Header.Get("X-Huangong-Message-Id"))
}

func TestRetry_Backoff(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, func(int, http.ResponseWriter) int { return http.StatusBadGateway })
	start := e.Clock.Now()
	var gaps []time.Duration
	for i := 0; i < 4; i++ {
		e.tick(t)
		d := e.deliveries(t)[0]
		gaps = append(gaps, d.NextAt.Sub(e.Clock.Now()))
		e.Clock.Set(d.NextAt)
	}
	// Base 1 s, jitter 0: half of 1, 2, 4, 8 s.
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}, gaps)
	assert.Len(t, sms.got(), 4)
	assert.True(t, e.Clock.Now().After(start))
}

func TestRetry_TooManyRequestsHonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, func(n int, w http.ResponseWriter) int {
		if n == 1 {
			w.Header().Set("Retry-After", "120")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	e.tick(t)
	require.Len(t, sms.got(), 1)
	e.Clock.Advance(119 * time.Second)
	assert.Zero(t, e.tick(t), "not before Retry-After")
	assert.Len(t, sms.got(), 1)
	e.Clock.Advance(time.Second)
	assert.Equal(t, 1, e.tick(t))
	require.Len(t, sms.got(), 2)
	assert.Equal(t, store.DeliveryDelivered, e.deliveries(t)[0].State)
}

func TestRetry_GivesUpWithReason(t *testing.T) {
	e := newEnv(t)
	sms := newFake(t, func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable })
	e.smsChannel(t, sms.URL)
	_, err := e.St.SetNotifySettings(e.Ctx, e.V.ID, &store.NotifySettings{QuietFrom: "21:00", QuietTo: "07:00", GiveUpMinutes: 5})
	require.NoError(t, err)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	for i := 0; i < 20; i++ {
		e.tick(t)
		e.Clock.Advance(30 * time.Second)
	}
	d := e.deliveries(t)[0]
	assert.Equal(t, store.DeliveryFailed, d.State)
	assert.Contains(t, d.LastError, "HTTP 503")
	assert.Contains(t, d.LastError, "放弃")
	n := len(sms.got())
	e.Clock.Advance(time.Hour)
	e.tick(t)
	assert.Len(t, sms.got(), n, "a failed message is not tried again by itself")

	_, err = e.St.RetryDelivery(e.Ctx, e.V.ID, d.ID)
	require.NoError(t, err)
	e.tick(t)
	assert.Len(t, sms.got(), n+1, "a cadre's retry sends it again")
	assert.Equal(t, d.MessageID, sms.got()[n].Header.Get("Idempotency-Key"))
}

func TestRetry_ClientErrorFailsAtOnce(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, func(int, http.ResponseWriter) int { return http.StatusUnauthorized })
	e.tick(t)
	e.Clock.Advance(time.Hour)
	e.tick(t)
	assert.Len(t, sms.got(), 1, "a 401 is not retried")
	d := e.deliveries(t)[0]
	assert.Equal(t, store.DeliveryFailed, d.State)
	assert.Contains(t, d.LastError, "HTTP 401")
}

// at sets the clock to hh:mm of the loop's first day in the village.
func (e *env) at(day, hh, mm int) time.Time {
	loc := e.V.Location()
	t := time.Date(2026, 4, 20+day, hh, mm, 0, 0, loc)
	e.Clock.Set(t)
	return t
}

func TestQuietHours(t *testing.T) {
	e := newEnv(t)
	sms, wecom := newFake(t, nil), newFake(t, nil)
	e.smsChannel(t, sms.URL)
	e.channel(t, store.Channel{Kind: store.ChannelWeCom, TeamID: e.Team1.ID, URL: wecom.URL + "/send?key=k", Enabled: true})

	e.at(0, 22, 30)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.at(0, 23, 10)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.tick(t)
	e.at(1, 6, 59)
	e.tick(t)
	assert.Empty(t, sms.got(), "nobody's phone rings in quiet hours")
	assert.Empty(t, wecom.got(), "nor a group's")

	e.at(1, 7, 0)
	e.tick(t)
	require.Len(t, sms.got(), 1, "the night's two messages are one SMS at 07:00")
	var b struct{ Content string }
	require.NoError(t, json.Unmarshal(sms.got()[0].Body, &b))
	assert.Equal(t, 2, strings.Count(b.Content, "将于"), "both jobs in it: %s", b.Content)
	assert.Len(t, wecom.got(), 2)
	states := map[string]int{}
	for _, d := range e.deliveries(t) {
		states[d.Kind+":"+d.State]++
	}
	assert.Equal(t, map[string]int{"sms:delivered": 1, "sms:merged": 1, "wecom:delivered": 2}, states)

	t.Run("a rain-out goes through", func(t *testing.T) {
		e.at(1, 22, 0)
		j := e.Job(t, e.Request(t, nil), e.Team1, e.Day())
		e.tick(t)
		n := len(sms.got())
		_, err := e.St.BlockDays(e.Ctx, e.V.ID, storetest.LoopCadre, []string{j.Date}, 0, "大雨")
		require.NoError(t, err)
		e.tick(t)
		require.Len(t, sms.got(), n+1, "the urgent rain-out only")
		require.NoError(t, json.Unmarshal(sms.got()[n].Body, &b))
		assert.Contains(t, b.Content, "因雨停工")
	})
}

func TestMorningJobListGoesAtTheCronsTime(t *testing.T) {
	e := newEnv(t)
	wecom := newFake(t, nil)
	e.channel(t, store.Channel{Kind: store.ChannelWeCom, TeamID: e.Team1.ID, URL: wecom.URL + "/send?key=k", Enabled: true})
	j := e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.tick(t)
	require.Len(t, wecom.got(), 1)
	date, _ := time.Parse(time.DateOnly, j.Date)
	e.Clock.Set(time.Date(date.Year(), date.Month(), date.Day(), 6, 0, 0, 0, e.V.Location()))
	_, err := e.St.NotifyDayJobs(e.Ctx, e.V.ID, j.Date, "scheduler:morning")
	require.NoError(t, err)
	e.tick(t)
	require.Len(t, wecom.got(), 2, "06:00 is in quiet hours, but the morning list is what the cron is for")
	assert.Contains(t, string(wecom.got()[1].Body), "今日派工")
}

func TestPlanDigest_OneSMSPerHousehold(t *testing.T) {
	e := newEnv(t)
	sms := newFake(t, nil)
	e.smsChannel(t, sms.URL)
	for i := 0; i < 10; i++ {
		e.Request(t, func(in *store.NewRequest) {
			in.FieldID = e.Field(t, e.Helped, 30).ID
			in.Earliest, in.Latest = "2026-04-25", "2026-05-08"
		})
	}
	scope := store.PlanScope{SeasonID: e.Season.ID}
	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, scope)
	require.NoError(t, err)
	plan, err := scheduler.SolveVillage(e.Ctx, in, planner.Options{})
	require.NoError(t, err)
	res, err := scheduler.ApplyPlan(e.Ctx, e.St, e.V.ID, "cadre:test", scope, plan)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(res.Jobs), 10, "the plan changes ten jobs of one household")
	e.tick(t)
	hits := sms.got()
	require.Len(t, hits, 1, "one digest SMS")
	var b struct{ Content string }
	require.NoError(t, json.Unmarshal(hits[0].Body, &b))
	assert.Contains(t, b.Content, "有事请找")
	assert.LessOrEqual(t, len([]rune(b.Content)), 400, "a digest stays the length of a few text messages")
}

func TestNoPhone_FailsVisibly(t *testing.T) {
	e := newEnv(t)
	sms := newFake(t, nil)
	e.smsChannel(t, sms.URL)
	r := e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = e.Outsider.ID, e.Field(t, e.Outsider, 100).ID })
	e.Job(t, r, e.Team1, e.Day())
	e.tick(t)
	assert.Empty(t, sms.got())
	d := e.deliveries(t)[0]
	assert.Equal(t, store.DeliveryFailed, d.State)
	assert.Contains(t, d.LastError, "未登记电话")
}

func TestSecrets_NeverLogged(t *testing.T) {
	e := newEnv(t)
	dead := newFake(t, nil)
	dead.Close() // connection refused: the error would name the URL
	echo := newFake(t, func(int, http.ResponseWriter) int { return http.StatusBadRequest })
	echo.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("bad key " + r.URL.Query().Get("key") + " auth " + r.Header.Get("Authorization")))
	})
	e.smsChannel(t, dead.URL)
	e.channel(t, store.Channel{Kind: store.ChannelWeCom, TeamID: e.Team1.ID, URL: echo.URL + "/send?key=wecom-secret-key",
		Headers: map[string]string{"Authorization": "Bearer robot-secret-token"}, Enabled: true})
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.tick(t)
	var reasons []string
	for _, d := range e.deliveries(t) {
		require.NotEmpty(t, d.LastError)
		reasons = append(reasons, d.LastError)
	}
	out := e.Log.String() + strings.Join(reasons, "\n")
	require.NotEmpty(t, e.Log.String())
	for _, s := range []string{"sms-secret-key", "sms-secret-token", "wecom-secret-key", "robot-secret-token"} {
		assert.NotContains(t, out, s)
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx":        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
		"https://oapi.dingtalk.com/robot/send?access_token=abc":                     "https://oapi.dingtalk.com/robot/send?access_token=***",
		"https://user:pw@sms.example.com/api/v1/send?to={phone}&msg={text}&sig=xyz": "https://sms.example.com/api/v1/send?to={phone}&msg={text}&sig=***",
		"https://hooks.example.com/T0123456789ABCDEFGHIJ/long":                      "https://hooks.example.com/***/long",
	} {
		assert.Equal(t, want, store.MaskURL(in), in)
	}
}

func TestRun_StopsWithContext(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.Ctx)
	done := make(chan error)
	go func() { done <- e.Relay.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestLease_OneInstanceSends(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, nil)
	a := relay.New(e.St, relay.Options{Holder: "a", Now: e.Clock.Now})
	b := relay.New(e.St, relay.Options{Holder: "b", Now: e.Clock.Now})
	n, err := a.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	n, err = b.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	assert.Zero(t, n, "b does not hold the lease")
	e.Clock.Advance(relay.DefaultLeaseTTL + time.Second) // a stopped: its lease runs out
	n, err = b.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "b takes over")
	assert.Len(t, sms.got(), 2)
}

// TestSMS_Templates: a gateway's template gets the phone, the text and
// the message ID escaped for where they go — the URL, a form body, a JSON
// body — whatever the text holds.
func TestSMS_Templates(t *testing.T) {
	for _, c := range []struct {
		name    string
		channel func(url string) store.Channel
		read    func(t *testing.T, h hit) (phone, text, id string)
	}{
		{"GET with the URL", func(u string) store.Channel {
			return store.Channel{URL: u + "/send?to={phone}&msg={text}&ref={id}", Method: "GET"}
		}, func(t *testing.T, h hit) (string, string, string) {
			assert.Empty(t, h.Body)
			return h.Query["to"][0], h.Query["msg"][0], h.Query["ref"][0]
		}},
		{"form body", func(u string) store.Channel {
			return store.Channel{URL: u + "/send", Body: "to={phone}&msg={text}&ref={id}",
				Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}, func(t *testing.T, h hit) (string, string, string) {
			q, err := url.ParseQuery(string(h.Body))
			require.NoError(t, err)
			return q.Get("to"), q.Get("msg"), q.Get("ref")
		}},
		{"JSON body", func(u string) store.Channel {
			return store.Channel{URL: u + "/send", Body: `{"mobile":"{phone}","content":"【皇珠村】{text}","outId":"{id}"}`}
		}, func(t *testing.T, h hit) (string, string, string) {
			var b struct{ Mobile, Content, OutID string }
			require.NoError(t, json.Unmarshal(h.Body, &b), "%s", h.Body)
			assert.Equal(t, "application/json; charset=utf-8", h.Header.Get("Content-Type"))
			return b.Mobile, strings.TrimPrefix(b.Content, "【皇珠村】"), b.OutID
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			sms := newFake(t, nil)
			ch := c.channel(sms.URL)
			ch.Kind, ch.Enabled = store.ChannelSMS, true
			e.channel(t, ch)
			field := storetest.MustField(t, e.St, e.Helped, func(f *store.Field) { f.Name = `田"东"&a=1` })
			e.Job(t, e.Request(t, func(in *store.NewRequest) { in.FieldID = field.ID }), e.Team1, e.Day())
			e.tick(t)
			require.Len(t, sms.got(), 1)
			d := e.deliveries(t)[0]
			phone, text, id := c.read(t, sms.got()[0])
			assert.Equal(t, helpedPhone, phone)
			assert.Equal(t, d.Text, text)
			assert.Contains(t, text, `田"东"&a=1`)
			assert.Equal(t, d.MessageID, id)
		})
	}
}

func TestPausedChannelHoldsItsMessages(t *testing.T) {
	e := newEnv(t)
	sms := e.smsJob(t, nil)
	chans, err := e.St.ListChannels(e.Ctx, e.V.ID)
	require.NoError(t, err)
	off, on := false, true
	pause := func(enabled *bool) {
		_, err := e.St.UpdateChannel(e.Ctx, e.V.ID, chans[0].ID, func(c *store.Channel) { c.Enabled = *enabled })
		require.NoError(t, err)
	}
	_, err = e.St.EnqueueDeliveries(e.Ctx, 100) // queued before the pause
	require.NoError(t, err)
	pause(&off)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day()) // during it: not queued for the gateway
	e.tick(t)
	assert.Empty(t, sms.got(), "a paused gateway sends nothing")
	pause(&on)
	e.tick(t)
	assert.Len(t, sms.got(), 1, "what waited goes when it is enabled again; what came meanwhile never will")
}
