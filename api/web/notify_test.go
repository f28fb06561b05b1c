package web_test

import (
	"context"
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
