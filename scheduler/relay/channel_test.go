package relay_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler/relay"
	"huangong/store"
	"huangong/store/storetest"
)

// hanging is a receiver that answers nothing until the client gives up,
// and counts the requests it got.
func hanging(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for the handlers
	return srv, &hits
}

// TestRelay_HungChannelStopsAlone: a gateway that never answers costs one
// client timeout a tick. The rest of its batch waits, untried, until the
// failed message's retry, while the other channels deliver in the same tick.
func TestRelay_HungChannelStopsAlone(t *testing.T) {
	e := newEnv(t)
	sms, smsHits := hanging(t)
	wecom := newFake(t, nil)
	e.smsChannel(t, sms.URL)
	e.channel(t, store.Channel{Kind: store.ChannelWeCom, TeamID: e.Team1.ID, URL: wecom.URL + "/send?key=k", Enabled: true})
	for range 3 {
		e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	}
	r := relay.New(e.St, relay.Options{Now: e.Clock.Now, Client: &http.Client{Timeout: 100 * time.Millisecond},
		BackoffBase: time.Minute, Jitter: func() float64 { return 0 }, Workers: 1})

	n, err := r.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err, "a failed request is the delivery's, not the tick's")
	assert.Equal(t, 4, n, "one SMS tried, three robot messages")
	assert.EqualValues(t, 1, smsHits.Load(), "the hung gateway is tried once")
	assert.Len(t, wecom.got(), 3, "the other channel delivers in the same tick")

	var held []*store.Delivery
	for _, d := range e.deliveries(t) {
		if d.Kind == store.ChannelSMS && d.State == store.DeliveryPending {
			held = append(held, d)
		}
	}
	require.Len(t, held, 3, "all three SMS wait: %v", held)
	next := e.Clock.Now().Add(30 * time.Second).UTC() // half of the 1 min base, jitter 0
	for i, d := range held {
		assert.Equal(t, next, d.NextAt, "every SMS waits for the failed one's retry")
		if i == 0 {
			assert.Equal(t, 1, d.Attempts, "the first was tried")
		} else {
			assert.Zero(t, d.Attempts, "an untried message counts no attempt")
		}
	}
	assert.Contains(t, held[0].LastError, "网络错误")

	e.Clock.Advance(29 * time.Second)
	n, err = r.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is tried before the backoff")
	assert.EqualValues(t, 1, smsHits.Load())

	e.Clock.Advance(time.Second)
	_, _ = r.Tick(e.Ctx, e.Clock.Now())
	assert.EqualValues(t, 2, smsHits.Load(), "after the backoff the gateway is tried again, once")
}

// TestRelay_TickBudget: a slow gateway that does answer is sent to until
// the tick's budget is spent; what is left goes in the next ticks.
func TestRelay_TickBudget(t *testing.T) {
	e := newEnv(t)
	sms := newFake(t, func(int, http.ResponseWriter) int { time.Sleep(40 * time.Millisecond); return http.StatusOK })
	e.smsChannel(t, sms.URL)
	for range 8 {
		e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	}
	r := relay.New(e.St, relay.Options{Now: e.Clock.Now, TickBudget: 60 * time.Millisecond})
	n, err := r.Tick(e.Ctx, e.Clock.Now())
	require.NoError(t, err)
	assert.Greater(t, n, 0)
	assert.Less(t, n, 8, "the tick stops when its budget is spent")
	for i := 0; i < 20 && len(sms.got()) < 8; i++ {
		_, err = r.Tick(e.Ctx, e.Clock.Now())
		require.NoError(t, err)
	}
	assert.Len(t, sms.got(), 8, "the next ticks send the rest")
	for _, d := range e.deliveries(t) {
		assert.Equal(t, 1, d.Attempts, "none was tried twice")
	}
}

// TestQuietHours_Retries: a retry, by backoff or by a cadre, rings no phone
// in quiet hours; an urgent rain-out's retry is not held.
func TestQuietHours_Retries(t *testing.T) {
	e := newEnv(t)
	var failing atomic.Bool
	failing.Store(true)
	sms := newFake(t, func(int, http.ResponseWriter) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e.smsChannel(t, sms.URL)
	r := relay.New(e.St, relay.Options{Now: e.Clock.Now, BackoffBase: 4 * time.Minute, Jitter: func() float64 { return 0 }})
	tick := func() {
		t.Helper()
		_, err := r.Tick(e.Ctx, e.Clock.Now())
		_ = err // the 500s are reported; the deliveries say the rest
	}

	e.at(0, 20, 59)
	j := e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	tick()
	require.Equal(t, 1, len(sms.got()))
	d := e.deliveries(t)[0]
	require.Equal(t, store.DeliveryPending, d.State)
	assert.Equal(t, e.at(1, 7, 0).UTC(), d.NextAt, "a 500 at 20:59 with 2 min backoff waits for 07:00")
	e.at(0, 21, 1)
	tick()
	e.at(1, 6, 59)
	tick()
	assert.Equal(t, 1, len(sms.got()), "no retry in quiet hours")
	e.at(1, 7, 0)
	tick()
	assert.Equal(t, 2, len(sms.got()), "the retry goes at 07:00")
	failing.Store(false)
	e.at(1, 8, 0)
	tick()
	assert.Equal(t, 3, len(sms.got()))
	assert.Equal(t, store.DeliveryDelivered, e.deliveries(t)[0].State)

	t.Run("an urgent retry is not held", func(t *testing.T) {
		failing.Store(true)
		e.at(1, 22, 0)
		_, err := e.St.BlockDays(e.Ctx, e.V.ID, storetest.LoopCadre, []string{j.Date}, 0, "大雨")
		require.NoError(t, err)
		tick()
		require.Equal(t, 4, len(sms.got()), "the rain-out goes at once")
		var rain *store.Delivery
		for _, d := range e.deliveries(t) {
			if d.Urgent {
				rain = d
			}
		}
		require.NotNil(t, rain)
		assert.Equal(t, e.Clock.Now().Add(2*time.Minute).UTC(), rain.NextAt, "its retry is in quiet hours")
		e.Clock.Advance(2 * time.Minute)
		failing.Store(false)
		tick()
		assert.Equal(t, 5, len(sms.got()), "and goes through")
	})

	t.Run("a cadre's retry at 02:00 waits for 07:00", func(t *testing.T) {
		_, err := e.St.SetNotifySettings(e.Ctx, e.V.ID, &store.NotifySettings{QuietFrom: "21:00", QuietTo: "07:00", GiveUpMinutes: 1})
		require.NoError(t, err)
		failing.Store(true)
		e.at(2, 12, 0)
		e.Job(t, e.Request(t, nil), e.Team1, e.Day())
		tick()
		e.Clock.Advance(time.Hour)
		tick()
		ds, _, err := e.St.ListDeliveries(e.Ctx, e.V.ID, store.DeliveryFilter{State: store.DeliveryFailed}, store.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		e.at(3, 2, 0)
		d, err := e.St.RetryDelivery(e.Ctx, e.V.ID, ds[0].ID)
		require.NoError(t, err)
		assert.Equal(t, e.at(3, 7, 0).UTC(), d.NextAt)
	})
}

// TestChannel_DeleteKeepsHistory: removing a channel keeps what it sent and
// why it failed; its waiting messages fail with the reason, it carries
// nothing new, none of its messages can be sent again, and the village
// may configure a new one of the kind.
func TestChannel_DeleteKeepsHistory(t *testing.T) {
	e := newEnv(t)
	sms := newFake(t, func(n int, _ http.ResponseWriter) int {
		if n == 1 {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	c := e.smsChannel(t, sms.URL)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.tick(t)
	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.tick(t)
	require.Len(t, sms.got(), 2)

	require.NoError(t, e.St.DeleteChannel(e.Ctx, e.V.ID, c.ID))
	ds := e.deliveries(t)
	require.Len(t, ds, 2, "the history stays")
	assert.Equal(t, store.DeliveryDelivered, ds[0].State)
	assert.Equal(t, store.DeliveryFailed, ds[1].State)
	assert.Equal(t, "渠道已删除 channel removed", ds[1].LastError)
	chans, err := e.St.ListChannels(e.Ctx, e.V.ID)
	require.NoError(t, err)
	assert.Empty(t, chans, "a removed channel is not listed")
	_, err = e.St.GetChannel(e.Ctx, e.V.ID, c.ID)
	assert.Equal(t, store.ENOTFOUND, store.ErrorCode(err))
	assert.Equal(t, store.ENOTFOUND, store.ErrorCode(e.St.DeleteChannel(e.Ctx, e.V.ID, c.ID)))
	_, err = e.St.UpdateChannel(e.Ctx, e.V.ID, c.ID, func(c *store.Channel) { c.Enabled = true })
	assert.Equal(t, store.ENOTFOUND, store.ErrorCode(err))

	_, err = e.St.RetryDelivery(e.Ctx, e.V.ID, ds[1].ID)
	assert.Equal(t, store.ECONFLICT, store.ErrorCode(err), "a removed channel's message is not sent again")

	e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	e.Clock.Advance(time.Hour)
	e.tick(t)
	assert.Len(t, sms.got(), 2, "a removed channel carries nothing")
	assert.Len(t, e.deliveries(t), 2, "nor is anything queued for it")

	again := e.smsChannel(t, sms.URL)
	assert.NotEqual(t, c.ID, again.ID, "a new gateway may be configured")
}
