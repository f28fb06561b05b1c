package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestPhoneShowsItsMessages: the text messages sent to a household, and
// how far each got, are on its page and on no other household's.
func TestPhoneShowsItsMessages(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	h, err := e.st.UpdateHousehold(ctx, e.village.ID, e.home.ID, 0, func(h *store.Household) error { h.Phone = "13800000001"; return nil })
	require.NoError(t, err)
	other := e.neighbour
	open := e.openRequests(t, h.ID)
	require.NotEmpty(t, open)
	teams, _, err := e.st.ListTeams(ctx, e.village.ID, store.Page{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, teams[0].Members)
	_, err = e.st.CreateChannel(ctx, e.village.ID, &store.Channel{Kind: store.ChannelSMS, URL: "https://sms.example.com/send?key=web-secret-key",
		Body: "to={phone}&text={text}", Enabled: true})
	require.NoError(t, err)
	_, err = e.st.CreateJob(ctx, e.village.ID, "cadre:test", store.NewJob{TeamID: teams[0].ID, RequestID: open[0].ID,
		Date: later(open[0].Earliest, "2026-11-27"), Workers: []store.PlannedWorker{{HouseholdID: teams[0].Members[0].HouseholdID, Workers: 1}}})
	require.NoError(t, err)
	for n := 1; n > 0; { // the relay's cursor starts before the demo's history
		n, err = e.st.EnqueueDeliveries(ctx, 100)
		require.NoError(t, err)
	}

	cadre := e.signedIn(t, e.cadre)
	_, page := cadre.get(hpath(h))
	assert.True(t, strings.Contains(page, "发给您家的短信"))
	assert.True(t, strings.Contains(page, "待发送"))
	assert.True(t, strings.Contains(page, "有事请找"), "the message names the leader to call")
	assert.False(t, strings.Contains(page, "web-secret-key"))

	ds, _, err := e.st.ListDeliveries(ctx, e.village.ID, store.DeliveryFilter{}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, e.st.FinishAttempt(ctx, ds[0].ID, e.st.Now(), store.Outcome{State: store.DeliveryDelivered}))
	_, page = cadre.get(hpath(h))
	assert.True(t, strings.Contains(page, "已发出"))

	_, page = cadre.get(hpath(other))
	assert.False(t, strings.Contains(page, "发给您家的短信"), "another household's page shows none of them")
}

func later(a, b string) string { return max(a, b) }

// TestBoardConfiguresChannels: a cadre adds a group robot with a secret
// from the board, sees it masked, sets quiet hours, and sees a message
// that was not sent with its reason and a button to send it again.
func TestBoardConfiguresChannels(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c := e.signedIn(t, e.cadre)
	teams, _, err := e.st.ListTeams(ctx, e.village.ID, store.Page{Limit: 1})
	require.NoError(t, err)

	form := url.Values{"csrf": {c.csrf("/board/notify")}, "kind": {"dingtalk"}, "team": {strconv.FormatInt(teams[0].ID, 10)},
		"name": {"一队钉钉群"}, "url": {"https://oapi.dingtalk.com/robot/send?access_token=board-secret-token"},
		"secret": {"SECboard-signing-secret"}}
	resp, body := c.post("/board/notify/channels", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	_, page := c.get("/board/notify")
	assert.True(t, strings.Contains(page, "一队钉钉群"))
	assert.True(t, strings.Contains(page, "access_token=***"))
	assert.True(t, strings.Contains(page, "已设置密钥"))
	for _, s := range []string{"board-secret-token", "SECboard-signing-secret"} {
		assert.False(t, strings.Contains(page, s), "the page shows no secret")
	}

	form = url.Values{"csrf": {c.csrf("/board/notify")}, "kind": {"wecom"}, "url": {"https://qyapi.weixin.qq.com/x?key=k"}}
	resp, body = c.post("/board/notify/channels", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.True(t, strings.Contains(body, "群机器人属于一个互助队"), "the API's refusal is on the page")

	form = url.Values{"csrf": {c.csrf("/board/notify")}, "from": {"22:00"}, "to": {"06:30"}, "urgent": {"1"}, "giveUp": {"90"}}
	resp, body = c.post("/board/notify/settings", form)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	set, err := e.st.GetNotifySettings(ctx, e.village.ID)
	require.NoError(t, err)
	assert.Equal(t, []any{"22:00", "06:30", true, 90}, []any{set.QuietFrom, set.QuietTo, set.UrgentOverride, set.GiveUpMinutes})

	// A household without a phone: its SMS fails at once, with why.
	_, err = e.st.UpdateHousehold(ctx, e.village.ID, e.home.ID, 0, func(h *store.Household) error { h.Phone = ""; return nil })
	require.NoError(t, err)
	_, err = e.st.CreateChannel(ctx, e.village.ID, &store.Channel{Kind: store.ChannelSMS, URL: "https://sms.example.com/s?to={phone}&t={text}", Enabled: true})
	require.NoError(t, err)
	open := e.openRequests(t, e.home.ID)
	require.NotEmpty(t, open)
	_, err = e.st.CreateJob(ctx, e.village.ID, "cadre:test", store.NewJob{TeamID: teams[0].ID, RequestID: open[0].ID,
		Date: later(open[0].Earliest, "2026-11-27"), Workers: []store.PlannedWorker{{HouseholdID: teams[0].Members[0].HouseholdID, Workers: 1}}})
	require.NoError(t, err)
	for n := 1; n > 0; {
		n, err = e.st.EnqueueDeliveries(ctx, 100)
		require.NoError(t, err)
	}
	_, page = c.get("/board")
	assert.True(t, strings.Contains(page, "1条通知未发出"), "the board says a message was not sent")
	_, page = c.get("/board/notify")
	assert.True(t, strings.Contains(page, "农户未登记电话"))
	assert.True(t, strings.Contains(page, "/retry"))
	failed, _, err := e.st.ListDeliveries(ctx, e.village.ID, store.DeliveryFilter{State: store.DeliveryFailed}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	resp, body = c.post("/board/notify/deliveries/"+strconv.FormatInt(failed[0].ID, 10)+"/retry", url.Values{"csrf": {c.csrf("/board/notify")}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "no phone to send to yet")
	assert.True(t, strings.Contains(body, "未登记电话"))

	chans, err := e.st.ListChannels(ctx, e.village.ID)
	require.NoError(t, err)
	require.Len(t, chans, 2)
	resp, body = c.post("/board/notify/channels/"+strconv.FormatInt(chans[0].ID, 10)+"/delete", url.Values{"csrf": {c.csrf("/board/notify")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	chans, err = e.st.ListChannels(ctx, e.village.ID)
	require.NoError(t, err)
	require.Len(t, chans, 1)

	// Removing the SMS gateway keeps its failed message on the page, with
	// its reason and without a button to send it again.
	resp, body = c.post("/board/notify/channels/"+strconv.FormatInt(chans[0].ID, 10)+"/delete", url.Values{"csrf": {c.csrf("/board/notify")}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	_, page = c.get("/board/notify")
	assert.True(t, strings.Contains(page, "农户未登记电话"), "the removed channel's history stays")
	assert.False(t, strings.Contains(page, "/retry"))
}

// TestBoardNotify_NewestFailedFirst: with more failed messages than the
// page reads at once, the board lists the newest ones, newest first.
func TestBoardNotify_NewestFailedFirst(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	c := e.signedIn(t, e.cadre)
	teams, _, err := e.st.ListTeams(ctx, e.village.ID, store.Page{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, teams[0].Members)
	_, err = e.st.CreateChannel(ctx, e.village.ID, &store.Channel{Kind: store.ChannelWebhook, URL: "https://hooks.example.com/h", Enabled: true})
	require.NoError(t, err)
	open := e.openRequests(t, e.home.ID)
	require.NotEmpty(t, open)
	for range 40 { // each job made and declined is a few events, each a webhook message
		j, err := e.st.CreateJob(ctx, e.village.ID, "cadre:test", store.NewJob{TeamID: teams[0].ID, RequestID: open[0].ID,
			Date: later(open[0].Earliest, "2026-11-27"), Workers: []store.PlannedWorker{{HouseholdID: teams[0].Members[0].HouseholdID, Workers: 1}}})
		require.NoError(t, err)
		_, err = e.st.DeclineJob(ctx, e.village.ID, j.ID, "cadre:test", "下雨")
		require.NoError(t, err)
	}
	for n := 1; n > 0; {
		n, err = e.st.EnqueueDeliveries(ctx, 100)
		require.NoError(t, err)
	}
	var all []*store.Delivery
	for p := (store.Page{Limit: 100}); ; {
		ds, next, err := e.st.ListDeliveries(ctx, e.village.ID, store.DeliveryFilter{}, p)
		require.NoError(t, err)
		all = append(all, ds...)
		if next == 0 {
			break
		}
		p.After = next
	}
	require.Greater(t, len(all), 110)
	for i, d := range all {
		require.NoError(t, e.st.FinishAttempt(ctx, d.ID, e.st.Now(), store.Outcome{State: store.DeliveryFailed, Error: fmt.Sprintf("原因%03d", i)}))
	}
	newest := len(all) - 1
	_, page := c.get("/board/notify")
	first, second := strings.Index(page, fmt.Sprintf("原因%03d", newest)), strings.Index(page, fmt.Sprintf("原因%03d", newest-1))
	assert.True(t, first >= 0 && second > first, "the newest failed message is listed first, then the one before")
	assert.False(t, strings.Contains(page, "原因000"), "the oldest is not among the ones listed")
}
