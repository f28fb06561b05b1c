package api_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestHouseholdPolicy: a vulnerable household is 帮扶 (assisted) unless a
// cadre chooses: the fund pays for its help and its balance stays at zero;
// set to 换工 (exchange) over the API, later help is owed back.
func TestHouseholdPolicy(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	old := &store.Household{VillageID: e.village.ID, HeadName: "徐冬凤", Group: 3, Laborers: 0, Members: 1, Elderly: true}
	require.NoError(t, e.st.CreateHousehold(ctx, old))
	path := "/v1/households/" + itoa(old.ID)

	resp, body := e.call(t, "GET", path, e.cadre, nil)
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "assisted", body["policy"], "an elderly household is assisted by default")
	assert.Equal(t, false, body["policySet"])
	_, body = e.call(t, "GET", "/v1/households/"+itoa(e.neighbour.ID), e.cadre, nil)
	assert.Equal(t, "exchange", body["policy"])

	_, _, err := e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test"},
		1, old.ID, []store.Attendance{{HouseholdID: e.neighbour.ID, HalfDays: 8}})
	require.NoError(t, err)
	bal := func() (mine, received, fund float64) {
		_, body := e.call(t, "GET", "/v1/balances", e.cadre, nil)
		for _, it := range items(body) {
			if int64(it["householdId"].(float64)) == old.ID {
				mine = it["balance"].(float64)
				received = it["received"].(float64)
			}
		}
		return mine, received, body["fund"].(float64)
	}
	mine, received, fund := bal()
	assert.Zero(t, mine, "帮扶: never below zero")
	assert.EqualValues(t, 4, received, "the help is recorded in full")
	assert.EqualValues(t, -4, fund, "the village fund paid")

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"policy": "exchange"}, "If-Match", resp.Header.Get("ETag"))
	require.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "exchange", body["policy"])
	assert.Equal(t, true, body["policySet"])
	_, _, err = e.st.PostJob(ctx, store.Posting{VillageID: e.village.ID, Actor: "test"},
		2, old.ID, []store.Attendance{{HouseholdID: e.neighbour.ID, HalfDays: 2}})
	require.NoError(t, err)
	mine, received, fund = bal()
	assert.EqualValues(t, 5, received)
	assert.EqualValues(t, -1, mine, "换工: later help is owed back")
	assert.EqualValues(t, -4, fund)

	resp, body = e.call(t, "PATCH", path, e.cadre, map[string]any{"policy": "gift"}, "If-Match", resp.Header.Get("ETag"))
	assertProblem(t, resp, body, 422, "body.policy")
	resp, body = e.call(t, "PATCH", path, e.householdTok, map[string]any{"policy": "assisted"}, "If-Match", resp.Header.Get("ETag"))
	assert.Equal(t, 403, resp.StatusCode, "a household does not choose its own policy")
}
