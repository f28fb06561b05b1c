package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/store"
)

// planLoop is the loop village with work to plan: the outsider (group 2)
// joins team 2 with two workers a day, and asks for help on three 3-mu
// fields beside the household's own 1.6 mu.
func planLoop(tb testing.TB) (*loopEnv, []int64) {
	tb.Helper()
	l := mustLoop(tb)
	ctx := context.Background()
	require.NoError(tb, l.st.AddTeamMember(ctx, l.village.ID, &store.TeamMember{TeamID: l.team2.ID, HouseholdID: l.outsider.ID, WorkersPerDay: 2}))
	reqs := []int64{l.request(tb, l.householdTok, l.field.ID)}
	for i := range 3 {
		f := &store.Field{VillageID: l.village.ID, HouseholdID: l.outsider.ID, Name: fmt.Sprintf("王家田%d", i), AreaCentimu: 300, Crop: store.CropEarlyRice}
		require.NoError(tb, l.st.CreateField(ctx, f))
		resp, body := l.call(tb, "POST", "/v1/requests", l.cadre, map[string]any{
			"householdId": l.outsider.ID, "fieldId": f.ID, "task": "transplant", "earliest": "2026-04-21", "latest": "2026-04-27"})
		require.Equal(tb, http.StatusCreated, resp.StatusCode, body)
		reqs = append(reqs, id(body))
	}
	return l, reqs
}

func (l *loopEnv) plan(tb testing.TB, body map[string]any) map[string]any {
	tb.Helper()
	resp, out := l.call(tb, "POST", "/v1/plan", l.cadre, body)
	require.Equal(tb, http.StatusOK, resp.StatusCode, out)
	return out
}

func planJobs(body map[string]any) []map[string]any {
	var out []map[string]any
	for _, j := range body["jobs"].([]any) {
		out = append(out, j.(map[string]any))
	}
	return out
}

// assertPlanRules checks every active job of the village: each worker a
// member of the job's team, a household on one job a day, no job on a
// blocked day or before its request's window opens.
func assertPlanRules(tb testing.TB, l *loopEnv) {
	tb.Helper()
	ctx := context.Background()
	blocked, err := l.st.ListBlockedDays(ctx, l.village.ID, "", "")
	require.NoError(tb, err)
	resp, list := l.call(tb, "GET", "/v1/jobs?limit=200", l.cadre, nil)
	require.Equal(tb, http.StatusOK, resp.StatusCode, list)
	busy := map[string]bool{}
	for _, j := range items(list) {
		if s := j["state"]; s == "cancelled" || s == "declined" {
			continue
		}
		date := j["date"].(string)
		r, err := l.st.GetRequest(ctx, l.village.ID, int64(j["requestId"].(float64)))
		require.NoError(tb, err)
		f, err := l.st.GetField(ctx, l.village.ID, r.FieldID)
		require.NoError(tb, err)
		team, err := l.st.GetTeam(ctx, l.village.ID, int64(j["teamId"].(float64)))
		require.NoError(tb, err)
		assert.GreaterOrEqual(tb, date, r.Earliest, "job %v is before its request's window", j["id"])
		for _, b := range blocked {
			assert.False(tb, b.Date == date && (b.Group == 0 || b.Group == f.Group), "job %v is on blocked day %s", j["id"], date)
		}
		for _, w := range j["workers"].([]any) {
			hh := int64(w.(map[string]any)["householdId"].(float64))
			assert.True(tb, slices.ContainsFunc(team.Members, func(m *store.TeamMember) bool { return m.HouseholdID == hh }),
				"job %v: household %d is not in team %d", j["id"], hh, team.ID)
			key := fmt.Sprintf("%d@%s", hh, date)
			assert.False(tb, busy[key], "household %d is on two jobs on %s", hh, date)
			busy[key] = true
		}
	}
}

func TestPlanOperationsAreInTheContract(t *testing.T) {
	ids := map[string]bool{}
	for _, item := range api.NewServer(nil, slog.New(slog.NewTextHandler(io.Discard, nil))).OpenAPI().Paths {
		for _, op := range operations(item) {
			ids[op.OperationID] = true
		}
	}
	for _, id := range []string{"run-plan", "block-days", "list-blocked-days", "unblock-day"} {
		assert.True(t, ids[id], "operation %s is missing", id)
	}
}

func TestRunPlanDryRunThenSave(t *testing.T) {
	l, reqs := planLoop(t)
	season := map[string]any{"seasonId": l.season, "dryRun": true}

	before := loopRows(t, l)
	dry := l.plan(t, season)
	assert.Equal(t, before, loopRows(t, l), "a dry run saves nothing")
	assert.Equal(t, true, dry["dryRun"])
	assert.Equal(t, "2026-04-20", dry["start"], "nothing before today")
	assert.Equal(t, "2026-05-10", dry["end"])
	assert.Empty(t, dry["unplaced"])
	assert.Empty(t, dry["jobIds"])
	assert.EqualValues(t, 1, dry["inWindowRatio"], "this village's work fits its windows")
	jobs := planJobs(dry)
	require.NotEmpty(t, jobs)
	var work float64
	for _, j := range jobs {
		assert.Nil(t, j["id"], "a proposed job has no ID")
		assert.Equal(t, "transplant", j["task"])
		assert.Equal(t, false, j["late"])
		work += j["workdays"].(float64)
	}
	assert.EqualValues(t, 2.5+3*4.5, work)
	assert.Equal(t, dry, l.plan(t, season), "the same records, the same proposal")

	season["dryRun"] = false
	saved := l.plan(t, season)
	assert.Equal(t, false, saved["dryRun"])
	ids := saved["jobIds"].([]any)
	require.Len(t, ids, len(jobs))
	for i, j := range planJobs(saved) {
		assert.Equal(t, ids[i], j["id"])
		delete(j, "id")
	}
	for _, k := range []string{"jobs", "unplaced", "late", "score", "bound", "inWindowRatio", "start", "end", "fixedJobs"} {
		assert.Equal(t, dry[k], saved[k], "the saved plan is the proposal: %s", k)
	}
	assert.Equal(t, before["jobs"]+len(jobs), loopRows(t, l)["jobs"])
	for _, r := range reqs {
		_, got := l.call(t, "GET", "/v1/requests/"+itoa(r), l.cadre, nil)
		assert.Equal(t, "scheduled", got["state"], "request %d", r)
	}
	assertPlanRules(t, l)

	// The morning list: the leader sees the plan's jobs of its team.
	resp, list := l.call(t, "GET", "/v1/jobs?state=scheduled&limit=200", l.leader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, list)
	for _, j := range items(list) {
		assert.EqualValues(t, l.team.ID, j["teamId"])
	}
}

func TestRunPlanKeepsConfirmedAndBlockDaysReplans(t *testing.T) {
	l, reqs := planLoop(t)
	saved := l.plan(t, map[string]any{"seasonId": l.season, "dryRun": false})
	jobs := planJobs(saved)
	// Team 1's first job is confirmed; it rains on a later day with jobs.
	ci := slices.IndexFunc(jobs, func(j map[string]any) bool { return int64(j["teamId"].(float64)) == l.team.ID })
	require.GreaterOrEqual(t, ci, 0)
	confirmed := jobs[ci]
	l.confirm(t, id(confirmed))
	var rainy string
	for _, j := range jobs {
		if j["date"].(string) > confirmed["date"].(string) {
			rainy = j["date"].(string)
			break
		}
	}
	require.NotEmpty(t, rainy, "the plan spans more than one day")
	var onRainy []int64
	for _, j := range jobs {
		if j["date"] == rainy {
			onRainy = append(onRainy, id(j))
		}
	}

	t.Run("a re-plan keeps the confirmed job", func(t *testing.T) {
		again := l.plan(t, map[string]any{"seasonId": l.season, "dryRun": false})
		assert.GreaterOrEqual(t, again["fixedJobs"], 1.0)
		assert.NotContains(t, again["cancelledJobIds"], confirmed["id"])
		for _, j := range planJobs(again) {
			assert.NotEqual(t, confirmed["requestId"], j["requestId"], "a request with a confirmed job is not planned again")
		}
		_, got := l.call(t, "GET", "/v1/jobs/"+itoa(id(confirmed)), l.leader, nil)
		assert.Equal(t, "confirmed", got["state"])
		assertPlanRules(t, l)
		// What the re-plan kept or made is now the plan to rain on: its
		// first day after the confirmed job's.
		onRainy = onRainy[:0]
		rainy = ""
		for _, j := range planJobs(again) {
			if d := j["date"].(string); d > confirmed["date"].(string) && (rainy == "" || d < rainy) {
				rainy = d
			}
		}
		for _, j := range planJobs(again) {
			if j["date"] == rainy {
				onRainy = append(onRainy, id(j))
			}
		}
	})
	require.NotEmpty(t, onRainy)

	events, err := l.st.Outbox(context.Background(), l.village.ID, store.OutboxFilter{})
	require.NoError(t, err)
	after := events[len(events)-1].ID
	// A dry run names what the block would cancel, and writes nothing.
	resp, body := l.call(t, "POST", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{rainy}, "reason": "大雨", "dryRun": true})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, true, body["dryRun"])
	assert.Len(t, body["cancelled"], len(onRainy))
	households := map[any]bool{}
	for _, j := range body["cancelled"].([]any) {
		households[j.(map[string]any)["householdId"]] = true
	}
	assert.EqualValues(t, len(households), body["households"])
	assert.Positive(t, body["households"])
	_, list := l.call(t, "GET", "/v1/blocked-days", l.cadre, nil)
	assert.Empty(t, items(list), "a dry run blocks nothing")
	for _, j := range onRainy {
		_, got := l.call(t, "GET", "/v1/jobs/"+itoa(j), l.cadre, nil)
		assert.NotEqual(t, "cancelled", got["state"], "a dry run cancels nothing")
	}

	resp, body = l.call(t, "POST", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{rainy}, "reason": "大雨"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, false, body["dryRun"])
	assert.EqualValues(t, len(households), body["households"])
	blocked := body["blocked"].([]any)
	require.Len(t, blocked, 1)
	assert.Equal(t, rainy, blocked[0].(map[string]any)["date"])
	assert.EqualValues(t, 0, blocked[0].(map[string]any)["group"])

	var cancelled []int64
	for _, j := range body["cancelled"].([]any) {
		m := j.(map[string]any)
		assert.Equal(t, "cancelled", m["state"])
		cancelled = append(cancelled, id(m))
	}
	assert.ElementsMatch(t, onRainy, cancelled, "every job on the rainy day is cancelled")

	teamEvents, err := l.st.Outbox(context.Background(), l.village.ID, store.OutboxFilter{After: after})
	require.NoError(t, err)
	told := map[string]bool{}
	for _, ev := range teamEvents {
		told[fmt.Sprintf("%s:%d %s %d", ev.Audience, ev.AudienceID, ev.Event, ev.SubjectID)] = true
	}
	for _, j := range body["cancelled"].([]any) {
		m := j.(map[string]any)
		assert.True(t, told[fmt.Sprintf("team:%v job.cancelled %d", m["teamId"], id(m))], "team of job %v told", m["id"])
		assert.True(t, told[fmt.Sprintf("household:%v job.cancelled %d", m["householdId"], id(m))], "household of job %v told", m["id"])
	}

	replans := body["replans"].([]any)
	require.Len(t, replans, 1)
	rp := replans[0].(map[string]any)
	assert.EqualValues(t, l.season, rp["seasonId"])
	require.Nil(t, rp["error"], rp)
	plan := rp["plan"].(map[string]any)
	assert.Equal(t, false, plan["dryRun"])
	assert.Empty(t, plan["unplaced"], "the work found other days")
	for _, j := range planJobs(plan) {
		assert.NotEqual(t, rainy, j["date"])
	}
	for _, r := range reqs {
		_, got := l.call(t, "GET", "/v1/requests/"+itoa(r), l.cadre, nil)
		assert.Contains(t, []any{"scheduled", "confirmed"}, got["state"], "request %d is planned again", r)
	}
	assertPlanRules(t, l)

	resp, list = l.call(t, "GET", "/v1/blocked-days", l.householdTok, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, list)
	require.Len(t, items(list), 1)
	assert.Equal(t, "大雨", items(list)[0]["reason"])

	t.Run("unblock-day takes the day back and plans again", func(t *testing.T) {
		resp, body := l.call(t, "DELETE", "/v1/blocked-days/"+rainy+"?group=3", l.cadre, nil)
		assertProblem(t, resp, body, http.StatusNotFound, "")
		resp, body = l.call(t, "DELETE", "/v1/blocked-days/"+rainy, l.leader, nil)
		assertProblem(t, resp, body, http.StatusForbidden, "")

		resp, body = l.call(t, "DELETE", "/v1/blocked-days/"+rainy, l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, rainy, body["unblocked"].(map[string]any)["date"])
		assert.Equal(t, "大雨", body["unblocked"].(map[string]any)["reason"])
		replans := body["replans"].([]any)
		require.Len(t, replans, 1)
		rp := replans[0].(map[string]any)
		assert.EqualValues(t, l.season, rp["seasonId"])
		require.Nil(t, rp["error"], rp)
		assert.Equal(t, false, rp["plan"].(map[string]any)["dryRun"], "the season is planned again and saved")

		_, list := l.call(t, "GET", "/v1/blocked-days", l.cadre, nil)
		assert.Empty(t, items(list), "the day is no longer blocked")
		assert.Equal(t, 1, auditRows(t, l.testEnv, "unblock-day", "ok"))
		assertPlanRules(t, l)

		resp, body = l.call(t, "DELETE", "/v1/blocked-days/"+rainy, l.cadre, nil)
		assertProblem(t, resp, body, http.StatusNotFound, "")
		assert.Regexp(t, `^\p{Han}`, body["detail"])
		resp, body = l.call(t, "DELETE", "/v1/blocked-days/2026-02-30", l.cadre, nil)
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "")
	})
}

func TestPlanAuthorizationAndBadInput(t *testing.T) {
	l, _ := planLoop(t)
	scope := map[string]any{"seasonId": l.season, "dryRun": true}
	block := map[string]any{"dates": []string{"2026-04-22"}, "reason": "大雨"}
	for _, tc := range []struct {
		name, path, token string
		body              any
		status            int
		location          string
	}{
		{"household cannot plan", "/v1/plan", l.householdTok, scope, 403, ""},
		{"leader cannot plan", "/v1/plan", l.leader, scope, 403, ""},
		{"household cannot block days", "/v1/blocked-days", l.householdTok, block, 403, ""},
		{"leader cannot block days", "/v1/blocked-days", l.leader, block, 403, ""},
		{"no scope", "/v1/plan", l.cadre, map[string]any{"dryRun": true}, 422, "body.seasonId"},
		{"season and range", "/v1/plan", l.cadre, map[string]any{"seasonId": l.season, "from": "2026-04-20", "to": "2026-04-30", "dryRun": true}, 422, "body.seasonId"},
		{"from without to", "/v1/plan", l.cadre, map[string]any{"from": "2026-04-20", "dryRun": true}, 422, "body.to"},
		{"to without from", "/v1/plan", l.cadre, map[string]any{"to": "2026-04-20", "dryRun": true}, 422, "body.from"},
		{"to before from", "/v1/plan", l.cadre, map[string]any{"from": "2026-04-30", "to": "2026-04-20", "dryRun": true}, 422, "body.to"},
		{"not a date", "/v1/plan", l.cadre, map[string]any{"from": "2026-04-31", "to": "2026-05-01", "dryRun": true}, 422, "body.from"},
		{"unknown season", "/v1/plan", l.cadre, map[string]any{"seasonId": 999, "dryRun": true}, 422, "body.seasonId"},
		{"dryRun missing", "/v1/plan", l.cadre, map[string]any{"seasonId": l.season}, 422, "body"},
		{"no day", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{}, "reason": "雨"}, 422, "body.dates"},
		{"bad day", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{"2026-04-22", "2026-02-30"}, "reason": "雨"}, 422, "body.dates[1]"},
		{"negative group", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{"2026-04-22"}, "group": -1, "reason": "雨"}, 422, "body.group"},
		{"no reason", "/v1/blocked-days", l.cadre, map[string]any{"dates": []string{"2026-04-22"}}, 422, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopRows(t, l)
			resp, body := l.call(t, "POST", tc.path, tc.token, tc.body)
			assertProblem(t, resp, body, tc.status, tc.location)
			assert.Equal(t, before, loopRows(t, l), "nothing is written")
		})
	}
	assert.Zero(t, countTable(t, l, "blocked_days"))

	t.Run("a village without a team is a 422 naming the planner's field", func(t *testing.T) {
		ctx := context.Background()
		resp, se := l.call(t, "POST", "/v1/seasons", l.cadreB, map[string]any{
			"kind": "spring", "startDate": "2026-04-05", "endDate": "2026-05-10", "tasks": []string{"transplant"}, "state": "open"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, se)
		f := &store.Field{VillageID: l.villageB.ID, HouseholdID: l.stranger.ID, Name: "外村田", AreaCentimu: 100, Crop: store.CropEarlyRice}
		require.NoError(t, l.st.CreateField(ctx, f))
		resp, body := l.call(t, "POST", "/v1/requests", l.cadreB, map[string]any{
			"householdId": l.stranger.ID, "fieldId": f.ID, "task": "transplant", "earliest": "2026-04-21", "latest": "2026-04-27"})
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = l.call(t, "POST", "/v1/plan", l.cadreB, map[string]any{"seasonId": id(se), "dryRun": true})
		assertProblem(t, resp, body, 422, "teams")
	})
}

func TestRunPlanReportsAnUnreachableRequest(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	_, err := l.st.BlockDays(context.Background(), l.village.ID, "cadre", []string{"2026-04-22"}, 0, "大雨")
	require.NoError(t, err)
	body := l.plan(t, map[string]any{"from": "2026-04-22", "to": "2026-04-22", "dryRun": false})
	assert.Empty(t, body["jobs"])
	unplaced := body["unplaced"].([]any)
	require.Len(t, unplaced, 1)
	assert.EqualValues(t, reqID, unplaced[0].(map[string]any)["requestId"])
	assert.Contains(t, unplaced[0].(map[string]any)["reason"], "no team member is available")
	_, got := l.call(t, "GET", "/v1/requests/"+itoa(reqID), l.cadre, nil)
	assert.Equal(t, "submitted", got["state"], "an unplaced request waits for the next plan")
}

func countTable(tb testing.TB, l *loopEnv, table string) int {
	tb.Helper()
	var n int
	require.NoError(tb, l.st.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}
