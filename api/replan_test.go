package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
)

func TestVillageFreezeDays(t *testing.T) {
	l := mustLoop(t)
	resp, body := l.call(t, "GET", "/v1/village", l.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.EqualValues(t, 2, body["freezeDays"], "today and tomorrow by default")
	for _, days := range []int{0, 14, 3} {
		resp, body := l.call(t, "PATCH", "/v1/village", l.cadre, map[string]any{"freezeDays": days})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.EqualValues(t, days, body["freezeDays"])
		v, err := l.st.GetVillage(context.Background(), l.village.ID)
		require.NoError(t, err)
		assert.Equal(t, days, v.FreezeDays, "0 is stored as 0")
	}
	for _, bad := range []any{-1, 15, 1.5, "2"} {
		resp, body := l.call(t, "PATCH", "/v1/village", l.cadre, map[string]any{"freezeDays": bad})
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		assert.Contains(t, problemLocations(body), "body.freezeDays", "%v", bad)
	}
	v, err := l.st.GetVillage(context.Background(), l.village.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, v.FreezeDays, "a bad value changes nothing")
}

func problemLocations(body map[string]any) []string {
	var out []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		if loc, ok := e.(map[string]any)["location"].(string); ok {
			out = append(out, loc)
		}
	}
	return out
}

func TestRunPlanCountsAndChanges(t *testing.T) {
	l, _ := planLoop(t)
	first := l.plan(t, map[string]any{"seasonId": l.season, "dryRun": false})
	counts := first["counts"].(map[string]any)
	assert.EqualValues(t, len(planJobs(first)), counts["created"], "a first plan creates every job")
	assert.EqualValues(t, 0, counts["kept"])
	assert.Empty(t, first["changes"])
	for _, k := range []string{"finishedWeighted", "finished", "changeCost"} {
		assert.Contains(t, first["score"], k)
	}
	assert.Contains(t, first["bound"], "finished")

	// A dry run counts its jobs against the saved ones.
	dry := l.plan(t, map[string]any{"seasonId": l.season, "dryRun": true})
	c := dry["counts"].(map[string]any)
	assert.EqualValues(t, len(planJobs(dry)), c["kept"].(float64)+c["workersChanged"].(float64)+c["created"].(float64))
	assert.EqualValues(t, 0, c["cancelled"], "nothing is cancelled on a dry run")
}

func TestRunPlanPastItsDeadlineIs503AndSavesNothing(t *testing.T) {
	l, _ := planLoop(t)
	s := api.NewServer(l.st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.PlanTimeout = time.Nanosecond
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	before := len(items(mustGet(t, l, "/v1/jobs?limit=200")))
	slow := *l.testEnv
	slow.url = srv.URL
	resp, body := slow.call(t, "POST", "/v1/plan", l.cadre, map[string]any{"seasonId": l.season, "dryRun": false})
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Contains(t, body["detail"], "计划超时 planning took too long")
	assert.Len(t, items(mustGet(t, l, "/v1/jobs?limit=200")), before, "nothing saved")
}

func mustGet(t *testing.T, l *loopEnv, path string) map[string]any {
	t.Helper()
	resp, body := l.call(t, "GET", path, l.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	return body
}
