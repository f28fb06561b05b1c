package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

func TestListScheduleRuns(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	season := func(v *store.Village) *store.Season {
		se := &store.Season{VillageID: v.ID, Kind: store.SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10",
			Tasks: []string{store.TaskTransplant}}
		require.NoError(t, e.st.CreateSeason(ctx, se))
		return se
	}
	se, seB := season(e.village), season(e.villageB)
	slot := time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		run, ok, err := e.st.ClaimRun(ctx, e.village.ID, se.ID, "overdue", slot.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		state, runErr := store.RunSucceeded, error(nil)
		if i == 1 {
			state, runErr = store.RunFailed, errors.New("panic: boom")
		}
		require.NoError(t, e.st.FinishRun(ctx, run.ID, state, runErr))
	}
	_, err := e.st.RecordMissed(ctx, e.village.ID, se.ID, "plan", []time.Time{slot.Add(-48 * time.Hour)}, "down")
	require.NoError(t, err)
	_, _, err = e.st.ClaimRun(ctx, e.villageB.ID, seB.ID, "overdue", slot)
	require.NoError(t, err)

	list := func(query string) (*http.Response, map[string]any) {
		return e.call(t, "GET", "/v1/schedule-runs"+query, e.cadre, nil)
	}
	resp, body := list("")
	require.Equal(t, 200, resp.StatusCode, body)
	items := body["items"].([]any)
	require.Len(t, items, 6, "the village's runs only")
	first := items[0].(map[string]any)
	assert.Equal(t, "overdue", first["job"])
	assert.Equal(t, "2026-04-20T12:00:00Z", first["scheduledAt"], "slots are UTC instants")
	assert.Equal(t, "succeeded", first["state"])
	assert.NotEmpty(t, first["startedAt"])
	assert.NotContains(t, first, "error")
	missed := items[5].(map[string]any)
	assert.Equal(t, "missed", missed["state"])
	assert.NotContains(t, missed, "startedAt")
	assert.Equal(t, "down", missed["error"])

	_, body = list("?state=failed")
	items = body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, "panic: boom", items[0].(map[string]any)["error"])
	_, body = list("?job=plan&season=" + itoa(se.ID))
	assert.Len(t, body["items"].([]any), 1)
	_, body = list("?season=" + itoa(seB.ID))
	assert.Empty(t, body["items"].([]any), "another village's season shows nothing")

	// Cursor pages.
	var seen []any
	query := "?limit=4"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		resp, body := list(query)
		require.Equal(t, 200, resp.StatusCode, body)
		seen = append(seen, body["items"].([]any)...)
		next, _ := body["nextCursor"].(string)
		if next == "" {
			break
		}
		query = "?limit=4&cursor=" + url.QueryEscape(next)
	}
	assert.Len(t, seen, 6)

	resp, body = list("?state=sleeping")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.state")
	resp, body = list("?job=harvest")
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "query.job")
	for _, tok := range []string{e.leader, e.householdTok} {
		resp, body = e.call(t, "GET", "/v1/schedule-runs", tok, nil)
		assertProblem(t, resp, body, http.StatusForbidden, "")
	}
	resp, body = e.call(t, "GET", "/v1/schedule-runs", "", nil)
	assertProblem(t, resp, body, http.StatusUnauthorized, "")
}
