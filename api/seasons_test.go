package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
)

func TestLoopOperationsAreInTheContract(t *testing.T) {
	ids := map[string]bool{}
	for _, item := range api.NewServer(nil, slog.New(slog.NewTextHandler(io.Discard, nil))).OpenAPI().Paths {
		for _, op := range operations(item) {
			ids[op.OperationID] = true
		}
	}
	for _, id := range []string{"list-seasons", "create-season", "update-season", "get-season", "get-norms", "update-norms",
		"create-request", "list-requests", "get-request", "cancel-request", "submit-feedback",
		"create-job", "list-jobs", "get-job", "confirm-job", "decline-job", "complete-job",
		"get-season-report", "stream-events", "list-events"} {
		assert.True(t, ids[id], "operation %s is missing", id)
	}
}

func TestSeasonsAndNorms(t *testing.T) {
	l := mustLoop(t)
	sp := "/v1/seasons/" + itoa(l.season)

	resp, body := l.call(t, "GET", "/v1/seasons?year=2026", l.householdTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Len(t, items(body), 1, "every role reads the seasons")
	assert.Equal(t, "2026 春耕", items(body)[0]["name"], "named by year and kind unless told")
	_, body = l.call(t, "GET", "/v1/seasons?year=2027", l.cadre, nil)
	assert.Empty(t, items(body))
	_, body = l.call(t, "GET", "/v1/seasons", l.cadreB, nil)
	assert.Empty(t, items(body), "another village has its own seasons")

	t.Run("norms estimate the workdays", func(t *testing.T) {
		resp, body := l.call(t, "GET", "/v1/norms", l.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		norms := body["norms"].([]any)
		assert.Len(t, norms, 15, "five crops × three tasks")
		assert.Contains(t, norms, map[string]any{"crop": "early_rice", "task": "transplant", "workdaysPerMu": 1.5})

		resp, body = l.call(t, "PATCH", "/v1/norms", l.cadre, map[string]any{"norms": []map[string]any{
			{"crop": "early_rice", "task": "prepare", "workdaysPerMu": 0.75}}})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Contains(t, body["norms"], map[string]any{"crop": "early_rice", "task": "prepare", "workdaysPerMu": 0.75})
		resp, body = l.call(t, "PATCH", "/v1/norms", l.leader, map[string]any{"norms": []map[string]any{
			{"crop": "early_rice", "task": "prepare", "workdaysPerMu": 1}}})
		assertProblem(t, resp, body, http.StatusForbidden, "")

		resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
			"fieldId": l.field.ID, "task": "prepare", "earliest": "2026-04-06", "latest": "2026-04-22"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		assert.EqualValues(t, 1.5, body["workdays"], "1.6 mu × 0.75 = 1.2, rounded up to 1.5")
	})

	t.Run("a cadre enters a request for a household, with workdays", func(t *testing.T) {
		resp, body := l.call(t, "POST", "/v1/requests", l.cadre, map[string]any{"householdId": l.home.ID,
			"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25", "workdays": 3})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		assert.EqualValues(t, 3, body["workdays"])
		assert.Equal(t, true, body["onBehalf"])
		assert.Contains(t, body["enteredBy"], "cadre#")
	})

	t.Run("a season moves forward with If-Match", func(t *testing.T) {
		resp, body := l.call(t, "GET", sp, l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		tag := resp.Header.Get("ETag")
		require.NotEmpty(t, tag)
		resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"endDate": "2026-05-15"}, "If-Match", tag)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "2026-05-15", body["endDate"])
		assert.NotEqual(t, tag, resp.Header.Get("ETag"))
		resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"state": "closed"}, "If-Match", tag)
		assertProblem(t, resp, body, http.StatusPreconditionFailed, "")
		_, body = l.call(t, "GET", sp, l.cadre, nil)
		assert.Equal(t, "open", body["state"], "a stale If-Match writes nothing")
		resp, _ = l.call(t, "GET", sp, l.cadre, nil)
		resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"state": "closed"}, "If-Match", resp.Header.Get("ETag"))
		assertProblem(t, resp, body, http.StatusConflict, "body.state")
		assert.Contains(t, body["detail"], "close-season", "closing goes through settlement")
		resp, body = l.call(t, "POST", sp+"/close", l.householdTok, map[string]any{})
		assertProblem(t, resp, body, http.StatusForbidden, "")
		resp, body = l.call(t, "POST", sp+"/close", l.cadre, map[string]any{})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "closed", body["season"].(map[string]any)["state"])
		_, body = l.call(t, "GET", sp, l.cadre, nil)
		assert.Equal(t, "closed", body["state"])
		resp, body = l.call(t, "POST", sp+"/close", l.cadre, map[string]any{})
		assertProblem(t, resp, body, http.StatusConflict, "")

		resp, body = l.call(t, "POST", "/v1/fields", l.cadre, map[string]any{"householdId": l.home.ID, "name": "塘下垄", "area": 1.4, "crop": "early_rice"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
			"fieldId": id(body), "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.latest")
		assert.Contains(t, body["detail"], "no open or planned season", "a closed season takes no requests")
	})
}

func TestCancelOverdueAndLate(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	rp := "/v1/requests/" + itoa(reqID)

	t.Run("a job after the due date is late", func(t *testing.T) {
		resp, body := l.call(t, "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": reqID,
			"date": "2026-04-27", "workers": []map[string]any{{"householdId": l.neighbour.ID, "workers": 2}}})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		assert.Equal(t, true, body["late"])
		_, events := l.call(t, "GET", "/v1/events/log", l.leader, nil)
		require.Len(t, items(events), 1)
		assert.Contains(t, items(events)[0]["message"], "晚于求助期限", "the leader is told it is late")
	})

	t.Run("an open request past its due date is overdue", func(t *testing.T) {
		_, body := l.call(t, "GET", "/v1/requests?overdue=true", l.cadre, nil)
		assert.Empty(t, items(body), "not yet on 2026-04-20")
		l.clock.Advance(7 * 24 * time.Hour)
		_, body = l.call(t, "GET", "/v1/requests?overdue=true", l.cadre, nil)
		require.Len(t, items(body), 1)
		assert.Equal(t, true, items(body)[0]["overdue"])
		resp, rep := l.call(t, "GET", "/v1/seasons/"+itoa(l.season)+"/report", l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, rep)
		assert.EqualValues(t, 1, rep["overdue"])
		assert.EqualValues(t, 0, rep["completionRate"])
	})

	t.Run("the household cancels; the team is told", func(t *testing.T) {
		resp, body := l.call(t, "POST", rp+"/cancel", l.householdTok, map[string]any{"reason": "自己种上了"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "cancelled", body["state"])
		assert.Equal(t, false, body["overdue"], "a cancelled request is not overdue")
		_, jobs := l.call(t, "GET", "/v1/jobs?request="+itoa(reqID), l.leader, nil)
		require.Len(t, items(jobs), 1)
		assert.Equal(t, "cancelled", items(jobs)[0]["state"])
		_, events := l.call(t, "GET", "/v1/events/log", l.leader, nil)
		assert.Equal(t, "job.cancelled", items(events)[len(items(events))-1]["event"])

		resp, body = l.call(t, "POST", rp+"/cancel", l.householdTok, map[string]any{"reason": "again"})
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "cancelled")
		resp, body = l.call(t, "POST", rp+"/cancel", l.householdTok, map[string]any{})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body")
	})
}

// TestSeasonCrons: a season's cron specs default per job, can be changed
// job by job, and a spec the cron parser refuses is a 422 naming the job.
func TestSeasonCrons(t *testing.T) {
	e := mustEnv(t)
	resp, body := e.call(t, "POST", "/v1/seasons", e.cadre, map[string]any{
		"kind": "summer", "startDate": "2027-07-07", "endDate": "2027-08-10", "tasks": []string{"harvest"},
		"crons": map[string]string{"plan": "30 19 * * *"}})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	crons := body["crons"].(map[string]any)
	assert.Equal(t, "30 19 * * *", crons["plan"], "the cadre's spec")
	assert.Equal(t, "0 6 * * *", crons["morning"], "the default for the rest")
	assert.Equal(t, "0 22 10 8 *", crons["close"], "the season closes on its end date")
	sp := "/v1/seasons/" + itoa(int64(body["id"].(float64)))

	for _, tc := range []struct {
		name     string
		crons    map[string]string
		location string
	}{
		{"minute 61", map[string]string{"notice": "61 * * * *"}, "body.crons.notice"},
		{"not a spec", map[string]string{"plan": "nonsense"}, "body.crons.plan"},
		{"unknown job", map[string]string{"harvest": "0 5 * * *"}, "body.crons.harvest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(t, "PATCH", sp, e.cadre, map[string]any{"crons": tc.crons})
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, tc.location)
			resp, body = e.call(t, "POST", "/v1/seasons", e.cadre, map[string]any{
				"kind": "autumn", "startDate": "2027-10-08", "endDate": "2027-11-08", "tasks": []string{"harvest"}, "crons": tc.crons})
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, tc.location)
		})
	}
	resp, body = e.call(t, "PATCH", sp, e.cadre, map[string]any{"crons": map[string]string{"morning": "30 5 * * *"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	crons = body["crons"].(map[string]any)
	assert.Equal(t, "30 5 * * *", crons["morning"])
	assert.Equal(t, "30 19 * * *", crons["plan"], "the others stay")
}

func TestSeasonDatesAreBounded(t *testing.T) {
	l := mustLoop(t) // the village's today is 2026-04-20: seasons may fall in 2025–2027
	season := func(start, end string) map[string]any {
		return map[string]any{"kind": "summer", "startDate": start, "endDate": end, "tasks": []string{"harvest"}}
	}
	for _, c := range []struct {
		name, start, end, location string
	}{
		{"a typo'd year", "0202-07-07", "2026-08-05", "body.startDate"},
		{"year zero", "0000-01-01", "0000-02-01", "body.startDate"},
		{"an end two years on", "2026-07-07", "2028-07-08", "body.endDate"},
		{"two years back", "2024-07-07", "2024-08-01", "body.startDate"},
		{"130 days", "2026-06-01", "2026-10-08", "body.endDate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := tableRows(t, l.testEnv, "seasons")
			resp, body := l.call(t, "POST", "/v1/seasons", l.cadre, season(c.start, c.end))
			assertProblem(t, resp, body, http.StatusUnprocessableEntity, c.location)
			assert.Regexp(t, `^\p{Han}`, body["detail"], "Chinese first")
			assert.Equal(t, n, tableRows(t, l.testEnv, "seasons"), "nothing is written")
		})
	}
	resp, body := l.call(t, "POST", "/v1/seasons", l.cadre, season("2027-06-01", "2027-09-28"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "next year and 120 days are fine: %v", body)
	for _, year := range []int{2024, 2028} {
		n := tableRows(t, l.testEnv, "seasons")
		resp, body = l.call(t, "POST", "/v1/seasons/defaults", l.cadre, map[string]any{"year": year})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.year")
		assert.Equal(t, n, tableRows(t, l.testEnv, "seasons"), "nothing is written")
	}

	sp := "/v1/seasons/" + itoa(l.season)
	resp, body = l.call(t, "GET", sp, l.cadre, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "0 22 10 5 *", body["crons"].(map[string]any)["close"])
	resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"startDate": "0202-07-07"}, "If-Match", resp.Header.Get("ETag"))
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.startDate")
	resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"endDate": "2026-09-30"}, "If-Match", `"1"`)
	assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.endDate")

	t.Run("moving the end date moves the close cron", func(t *testing.T) {
		resp, body := l.call(t, "PATCH", sp, l.cadre, map[string]any{"endDate": "2026-05-20"}, "If-Match", `"1"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		crons := body["crons"].(map[string]any)
		assert.Equal(t, "0 22 20 5 *", crons["close"])
		assert.Equal(t, "0 20 * * *", crons["plan"], "the other crons stay")

		resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"crons": map[string]string{"close": "0 21 20 5 *"}}, "If-Match", `"2"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = l.call(t, "PATCH", sp, l.cadre, map[string]any{"endDate": "2026-05-25"}, "If-Match", `"3"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "0 21 20 5 *", body["crons"].(map[string]any)["close"], "a close cron the cadre set stays theirs")
	})
}
