package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/api"
	"huangong/store"
)

// loopEnv is testEnv with what the closed loop needs: an open spring
// season, a field of the household asking, a second member of the team, a
// household in no team, a second team with its own leader, and a clock
// the test moves.
type loopEnv struct {
	*testEnv
	clock    *testClock
	season   int64
	field    *store.Field     // home's 1.6 mu of early rice
	member2  *store.Household // second member of e.team
	outsider *store.Household // in no team
	team2    *store.Team
	leader2  string  // leader of team2
	fields   []int64 // made by secondField
}

// testClock is the store's clock; handlers read it while the test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var cst = time.FixedZone("CST", 8*3600)

func mustLoop(tb testing.TB) *loopEnv {
	tb.Helper()
	e := mustEnv(tb)
	ctx := context.Background()
	l := &loopEnv{testEnv: e, clock: &testClock{t: time.Date(2026, 4, 20, 8, 0, 0, 0, cst)}}
	e.st.Now = l.clock.Now

	l.member2 = &store.Household{VillageID: e.village.ID, HeadName: "徐金莲", Group: 3, Laborers: 2, Members: 3}
	l.outsider = &store.Household{VillageID: e.village.ID, HeadName: "王五", Group: 2, Laborers: 2, Members: 2}
	require.NoError(tb, e.st.CreateHousehold(ctx, l.member2))
	require.NoError(tb, e.st.CreateHousehold(ctx, l.outsider))
	require.NoError(tb, e.st.AddTeamMember(ctx, e.village.ID, &store.TeamMember{TeamID: e.team.ID, HouseholdID: l.member2.ID, WorkersPerDay: 1}))
	l.team2 = &store.Team{VillageID: e.village.ID, Name: "第二互助队", LeaderName: "王五"}
	require.NoError(tb, e.st.CreateTeam(ctx, l.team2))
	var err error
	l.leader2, err = e.st.CreateToken(ctx, &store.Token{VillageID: e.village.ID, Role: store.RoleLeader, TeamID: &l.team2.ID})
	require.NoError(tb, err)
	l.field = &store.Field{VillageID: e.village.ID, HouseholdID: e.home.ID, Name: "门口田", AreaCentimu: 160, Crop: store.CropEarlyRice}
	require.NoError(tb, e.st.CreateField(ctx, l.field))

	resp, body := e.call(tb, "POST", "/v1/seasons", e.cadre, map[string]any{
		"kind": "spring", "startDate": "2026-04-05", "endDate": "2026-05-10", "tasks": []string{"prepare", "transplant"}, "state": "open"})
	require.Equal(tb, http.StatusCreated, resp.StatusCode, body)
	l.season = id(body)
	return l
}

func id(body map[string]any) int64 {
	v, _ := body["id"].(float64)
	return int64(v)
}

// request registers a transplant request on a field as the household
// (homeTok) for 2026-04-20 … 2026-04-25.
func (l *loopEnv) request(tb testing.TB, token string, fieldID int64) int64 {
	tb.Helper()
	resp, body := l.call(tb, "POST", "/v1/requests", token, map[string]any{
		"fieldId": fieldID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"})
	require.Equal(tb, http.StatusCreated, resp.StatusCode, body)
	return id(body)
}

// job has the cadre send team 1 to a request on a date with its given workers.
func (l *loopEnv) job(tb testing.TB, requestID int64, date string, workers ...map[string]any) int64 {
	tb.Helper()
	if len(workers) == 0 {
		workers = []map[string]any{{"householdId": l.neighbour.ID, "workers": 2}}
	}
	resp, body := l.call(tb, "POST", "/v1/jobs", l.cadre, map[string]any{
		"teamId": l.team.ID, "requestId": requestID, "date": date, "workers": workers})
	require.Equal(tb, http.StatusCreated, resp.StatusCode, body)
	return id(body)
}

func (l *loopEnv) confirm(tb testing.TB, jobID int64) {
	tb.Helper()
	resp, body := l.call(tb, "POST", "/v1/jobs/"+itoa(jobID)+"/confirm", l.leader, nil)
	require.Equal(tb, http.StatusOK, resp.StatusCode, body)
}

func items(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := body["items"].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestClosedLoopEndToEnd(t *testing.T) {
	l := mustLoop(t)

	// 收集登记: the household asks for help on its own field.
	t0 := l.clock.Now()
	resp, req := l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
		"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25", "note": "家里没有劳力"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, req)
	reqID := id(req)
	assert.EqualValues(t, l.home.ID, req["householdId"], "the household comes from the token")
	assert.EqualValues(t, 2.5, req["workdays"], "1.6 mu × 1.5 = 2.4, rounded up to the half day")
	assert.EqualValues(t, l.season, req["seasonId"])
	assert.Equal(t, "submitted", req["state"])
	assert.Equal(t, false, req["onBehalf"])
	assert.EqualValues(t, 3, req["priority"], "an elderly household comes first")

	// 分类交办: an hour later the cadre sends team 1 for the next day.
	l.clock.Advance(time.Hour)
	resp, job := l.call(t, "POST", "/v1/jobs", l.cadre, map[string]any{
		"teamId": l.team.ID, "requestId": reqID, "date": "2026-04-21",
		"workers": []map[string]any{{"householdId": l.neighbour.ID, "workers": 2}, {"householdId": l.member2.ID, "workers": 1}}})
	require.Equal(t, http.StatusCreated, resp.StatusCode, job)
	jobID := id(job)
	assert.Equal(t, "scheduled", job["state"])
	assert.Equal(t, false, job["late"])
	assert.Equal(t, "2026-04-25", job["due"])
	assert.EqualValues(t, l.home.ID, job["householdId"])

	// The leader's morning list for that day; nothing on the day before.
	l.clock.Advance(90 * time.Minute)
	resp, list := l.call(t, "GET", "/v1/jobs?date=2026-04-21", l.leader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, list)
	require.Len(t, items(list), 1)
	assert.EqualValues(t, jobID, items(list)[0]["id"])
	_, list = l.call(t, "GET", "/v1/jobs?date=2026-04-20", l.leader, nil)
	assert.Empty(t, items(list))

	// 限时办结: the leader confirms 2.5 hours after the request, then records who worked.
	l.confirm(t, jobID)
	l.clock.Advance(24 * time.Hour)
	attendance := []map[string]any{
		{"householdId": l.neighbour.ID, "workdays": 2},
		{"householdId": l.member2.ID, "workdays": 1},
		{"householdId": l.outsider.ID, "workdays": 0.5, "helper": true, "reason": "邻居顺路来帮忙"},
	}
	resp, done := l.call(t, "POST", "/v1/jobs/"+itoa(jobID)+"/complete", l.leader,
		map[string]any{"attendance": attendance, "meal": true}, "Idempotency-Key", "done-1")
	require.Equal(t, http.StatusOK, resp.StatusCode, done)
	assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, "done", done["state"])
	assert.Equal(t, true, done["meal"])
	assert.NotNil(t, done["transactionId"])
	require.Len(t, done["attendance"], 3)
	assert.EqualValues(t, 0.5, done["attendance"].([]any)[2].(map[string]any)["workdays"])
	assert.Equal(t, true, done["attendance"].([]any)[2].(map[string]any)["helper"])

	// 评价反馈: the household rates the help.
	l.clock.Advance(time.Hour)
	resp, rated := l.call(t, "POST", "/v1/requests/"+itoa(reqID)+"/feedback", l.householdTok, map[string]any{"stars": 5, "comment": "来得及时"})
	require.Equal(t, http.StatusOK, resp.StatusCode, rated)
	assert.Equal(t, "closed", rated["state"])
	assert.Equal(t, map[string]any{"stars": 5.0, "comment": "来得及时"}, rated["feedback"])

	t.Run("balances move by exactly the attendance", func(t *testing.T) {
		_, bal := l.call(t, "GET", "/v1/balances", l.cadre, nil)
		got := map[int64]float64{}
		for _, it := range items(bal) {
			got[int64(it["householdId"].(float64))] = it["balance"].(float64)
		}
		assert.Equal(t, map[int64]float64{l.home.ID: -3.5, l.neighbour.ID: 2, l.member2.ID: 1, l.outsider.ID: 0.5}, got)
		_, own := l.call(t, "GET", "/v1/balances", l.householdTok, nil)
		require.Len(t, items(own), 1)
		assert.EqualValues(t, -3.5, items(own)[0]["balance"])
		assert.EqualValues(t, 3.5, items(own)[0]["received"])
		_, ver := l.call(t, "GET", "/v1/ledger/verify", l.cadre, nil)
		assert.Equal(t, true, ver["ok"], ver)
	})

	t.Run("the season report counts it", func(t *testing.T) {
		resp, rep := l.call(t, "GET", "/v1/seasons/"+itoa(l.season)+"/report", l.cadre, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, rep)
		for k, want := range map[string]float64{
			"received": 1, "scheduled": 1, "done": 1, "doneOnTime": 1, "cancelled": 0, "open": 0, "overdue": 0,
			"completionRate": 1, "responded": 1, "meanResponseSeconds": 9000, "meanResponseHours": 2.5,
			"p90ResponseSeconds": 9000, "feedbacks": 1, "meanFeedback": 5, "workdays": 3.5,
		} {
			assert.EqualValues(t, want, rep[k], k)
		}
		byTeam := rep["byTeam"].([]any)
		require.Len(t, byTeam, 2)
		assert.Equal(t, map[string]any{"teamId": float64(l.team.ID), "name": "第一互助队", "jobs": 1.0, "workdays": 3.5}, byTeam[0])
		assert.EqualValues(t, 0, byTeam[1].(map[string]any)["jobs"])
	})

	t.Run("the outbox has the events for the right audiences", func(t *testing.T) {
		type ev struct {
			event, audience string
			audienceID      int64
		}
		read := func(token string) []ev {
			resp, body := l.call(t, "GET", "/v1/events/log?limit=200", token, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			var out []ev
			for _, it := range items(body) {
				out = append(out, ev{it["event"].(string), it["audience"].(string), int64(it["audienceId"].(float64))})
			}
			return out
		}
		home, team := ev{audience: "household", audienceID: l.home.ID}, ev{audience: "team", audienceID: l.team.ID}
		with := func(base ev, event string) ev { base.event = event; return base }
		all := read(l.cadre)
		for _, want := range []ev{
			{"request.submitted", "cadre", l.village.ID},
			with(team, "job.scheduled"), with(home, "job.scheduled"),
			with(home, "job.confirmed"), with(home, "job.done"), with(home, "request.done"),
			with(team, "request.feedback"),
		} {
			assert.Contains(t, all, want)
		}
		assert.Equal(t, []ev{with(home, "job.scheduled"), with(home, "job.confirmed"), with(home, "request.done"), with(home, "job.done")},
			read(l.householdTok), "the household reads its own events only")
		assert.Equal(t, []ev{with(team, "job.scheduled"), with(team, "request.feedback")}, read(l.leader))
		assert.Empty(t, read(l.leader2))
		assert.Empty(t, read(l.neighbourTok))
	})

	t.Run("every transition is recorded with its actor", func(t *testing.T) {
		resp, got := l.call(t, "GET", "/v1/requests/"+itoa(reqID), l.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, got)
		hh, leader := "household:"+itoa(l.home.ID)+"#", "leader:team"+itoa(l.team.ID)+"#"
		want := [][3]string{{"", "submitted", hh}, {"submitted", "scheduled", "cadre#"}, {"scheduled", "confirmed", leader},
			{"confirmed", "done", leader}, {"done", "closed", hh}}
		ts := got["transitions"].([]any)
		require.Len(t, ts, len(want))
		for i, w := range want {
			tr := ts[i].(map[string]any)
			from, _ := tr["from"].(string)
			assert.Equal(t, w[0], from, "transition %d", i)
			assert.Equal(t, w[1], tr["to"], "transition %d", i)
			assert.True(t, strings.HasPrefix(tr["actor"].(string), w[2]), "transition %d by %v, want %s…", i, tr["actor"], w[2])
		}
		at, err := time.Parse(time.RFC3339, ts[0].(map[string]any)["at"].(string))
		require.NoError(t, err)
		assert.True(t, at.Equal(t0), "submitted at %v, want %v", at, t0)
		assert.Equal(t, "2026-04-21", got["doneDate"])
		assert.NotNil(t, got["firstConfirmedAt"])

		resp, j := l.call(t, "GET", "/v1/jobs/"+itoa(jobID), l.householdTok, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, j)
		var states []string
		for _, tr := range j["transitions"].([]any) {
			states = append(states, tr.(map[string]any)["to"].(string))
		}
		assert.Equal(t, []string{"scheduled", "confirmed", "done"}, states)
	})
}

func TestLoopAuthorization(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	jobID := l.job(t, reqID, "2026-04-21")
	jp, rp := "/v1/jobs/"+itoa(jobID), "/v1/requests/"+itoa(reqID)
	complete := map[string]any{"attendance": []map[string]any{{"householdId": l.neighbour.ID, "workdays": 2}}}

	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"leader of another team cannot see the job", "GET", jp, l.leader2, nil, 404},
		{"leader of another team cannot confirm it", "POST", jp + "/confirm", l.leader2, nil, 404},
		{"leader of another team cannot decline it", "POST", jp + "/decline", l.leader2, map[string]any{"reason": "忙"}, 404},
		{"leader of another team cannot complete it", "POST", jp + "/complete", l.leader2, complete, 404},
		{"leader of another team cannot list its jobs", "GET", "/v1/jobs?team=" + itoa(l.team.ID), l.leader2, nil, 404},
		{"leader of another team cannot see the request", "GET", rp, l.leader2, nil, 404},
		{"leader sees a request its team works on", "GET", rp, l.leader, nil, 200},
		{"household cannot confirm", "POST", jp + "/confirm", l.householdTok, nil, 403},
		{"household cannot complete", "POST", jp + "/complete", l.householdTok, complete, 403},
		{"household cannot create a job", "POST", "/v1/jobs", l.householdTok, map[string]any{"teamId": l.team.ID, "requestId": reqID, "date": "2026-04-22", "workers": []map[string]any{{"householdId": l.neighbour.ID, "workers": 1}}}, 403},
		{"household sees the job on its request", "GET", jp, l.householdTok, nil, 200},
		{"another household cannot see the job", "GET", jp, l.neighbourTok, nil, 404},
		{"another household cannot see the request", "GET", rp, l.neighbourTok, nil, 404},
		{"another household cannot cancel the request", "POST", rp + "/cancel", l.neighbourTok, map[string]any{"reason": "x"}, 404},
		{"another household cannot list its requests", "GET", "/v1/requests?household=" + itoa(l.home.ID), l.neighbourTok, nil, 404},
		{"leader cannot cancel a request", "POST", rp + "/cancel", l.leader, map[string]any{"reason": "x"}, 403},
		{"leader cannot create a season", "POST", "/v1/seasons", l.leader, map[string]any{"kind": "autumn", "startDate": "2026-10-01", "endDate": "2026-11-01", "tasks": []string{"harvest"}}, 403},
		{"cadre cannot rate for the household", "POST", rp + "/feedback", l.cadre, map[string]any{"stars": 5}, 403},
		{"another village's cadre cannot see the job", "GET", jp, l.cadreB, nil, 404},
		{"another village's cadre cannot see the request", "GET", rp, l.cadreB, nil, 404},
		{"household cannot read the report", "GET", "/v1/seasons/" + itoa(l.season) + "/report", l.householdTok, nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.call(t, tc.method, tc.path, tc.token, tc.body, "Idempotency-Key", "authz-"+tc.name)
			assert.Equal(t, tc.status, resp.StatusCode, "%v", body)
			if tc.status >= 400 {
				assertProblem(t, resp, body, tc.status, "")
			}
		})
	}

	t.Run("lists are scoped", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, token string
			n                 int
		}{
			{"household lists its requests", "/v1/requests", l.householdTok, 1},
			{"another household lists none", "/v1/requests", l.neighbourTok, 0},
			{"leader lists the requests its team works on", "/v1/requests", l.leader, 1},
			{"another leader lists none", "/v1/requests", l.leader2, 0},
			{"another leader lists no jobs", "/v1/jobs", l.leader2, 0},
			{"another household lists no jobs", "/v1/jobs", l.neighbourTok, 0},
			{"household lists the jobs on its requests", "/v1/jobs", l.householdTok, 1},
			{"another village lists nothing", "/v1/jobs", l.cadreB, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := l.call(t, "GET", tc.path, tc.token, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				assert.Len(t, items(body), tc.n)
			})
		}
	})

	t.Run("a household asks only for its own fields", func(t *testing.T) {
		before := loopRows(t, l)
		other := &store.Field{VillageID: l.village.ID, HouseholdID: l.neighbour.ID, Name: "后山田", AreaCentimu: 100, Crop: store.CropEarlyRice}
		require.NoError(t, l.st.CreateField(context.Background(), other))
		resp, body := l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
			"fieldId": other.ID, "task": "prepare", "earliest": "2026-04-20", "latest": "2026-04-25"})
		assertProblem(t, resp, body, http.StatusUnprocessableEntity, "body.fieldId")
		resp, body = l.call(t, "POST", "/v1/requests", l.householdTok, map[string]any{
			"householdId": l.neighbour.ID, "fieldId": other.ID, "task": "prepare", "earliest": "2026-04-20", "latest": "2026-04-25"})
		assertProblem(t, resp, body, http.StatusNotFound, "")
		assert.Equal(t, before, loopRows(t, l), "nothing written")
	})

	t.Run("denials are audited", func(t *testing.T) {
		var n int
		require.NoError(t, l.st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'get-job' AND outcome = 'denied' AND actor LIKE ?",
			"leader:team"+itoa(l.team2.ID)+"#%").Scan(&n))
		assert.Equal(t, 1, n)
	})

	t.Run("feedback only once", func(t *testing.T) {
		resp, body := l.call(t, "POST", rp+"/feedback", l.householdTok, map[string]any{"stars": 4})
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "is scheduled", "before it is done: the problem says its state")

		l.confirm(t, jobID)
		l.clock.Advance(34 * time.Hour) // the evening of the job's day, 2026-04-21
		resp, body = l.call(t, "POST", jp+"/complete", l.leader, complete, "Idempotency-Key", "fb-1")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = l.call(t, "POST", rp+"/feedback", l.neighbourTok, map[string]any{"stars": 1})
		assertProblem(t, resp, body, http.StatusNotFound, "")
		resp, body = l.call(t, "POST", rp+"/feedback", l.householdTok, map[string]any{"stars": 4, "comment": "好"})
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = l.call(t, "POST", rp+"/feedback", l.householdTok, map[string]any{"stars": 5})
		assertProblem(t, resp, body, http.StatusConflict, "")
		assert.Contains(t, body["detail"], "already has feedback")
		_, got := l.call(t, "GET", rp, l.householdTok, nil)
		assert.EqualValues(t, 4, got["feedback"].(map[string]any)["stars"], "the first rating stands")
	})
}

// loopRows counts the rows a refused loop request might have written.
func loopRows(tb testing.TB, l *loopEnv) map[string]int {
	tb.Helper()
	n := map[string]int{}
	for _, table := range []string{"help_requests", "jobs", "ledger_transactions", "ledger_entries", "transitions", "outbox", "seasons"} {
		var c int
		require.NoError(tb, l.st.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&c))
		n[table] = c
	}
	return n
}

func TestLoopBadInput(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	jobID := l.job(t, reqID, "2026-04-20") // today: it may be completed
	l.confirm(t, jobID)

	// A second field whose job the leader declined.
	field2 := &store.Field{VillageID: l.village.ID, HouseholdID: l.home.ID, Name: "塘下垄", AreaCentimu: 140, Crop: store.CropEarlyRice}
	require.NoError(t, l.st.CreateField(context.Background(), field2))
	declined := l.job(t, l.request(t, l.householdTok, field2.ID), "2026-04-22")
	resp, body := l.call(t, "POST", "/v1/jobs/"+itoa(declined)+"/decline", l.leader, map[string]any{"reason": "队员都在插自家的秧"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "declined", body["state"])
	_, back := l.call(t, "GET", "/v1/requests?state=submitted", l.cadre, nil)
	require.Len(t, items(back), 1, "the declined job's request goes back to submitted")

	complete := "/v1/jobs/" + itoa(jobID) + "/complete"
	att := func(a map[string]any) map[string]any {
		return map[string]any{"attendance": []map[string]any{a}}
	}
	window := func(earliest, latest string) map[string]any {
		return map[string]any{"fieldId": l.field.ID, "task": "prepare", "earliest": earliest, "latest": latest}
	}
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		location, detail          string
	}{
		{"window outside any season", "POST", "/v1/requests", l.householdTok, window("2026-06-01", "2026-06-05"), 422, "body.latest", "no open or planned season"},
		{"window reaching past the season", "POST", "/v1/requests", l.householdTok, window("2026-05-05", "2026-05-15"), 422, "body.latest", "season"},
		{"task the season does not allow", "POST", "/v1/requests", l.householdTok, map[string]any{"fieldId": l.field.ID, "task": "harvest", "earliest": "2026-04-20", "latest": "2026-04-25"}, 422, "body.latest", "harvest"},
		{"earliest after latest", "POST", "/v1/requests", l.householdTok, window("2026-04-25", "2026-04-20"), 422, "body.earliest", "after latest"},
		{"not a date", "POST", "/v1/requests", l.householdTok, window("2026-04-31", "2026-05-02"), 422, "body.earliest", ""},
		{"a second open request for the field and task", "POST", "/v1/requests", l.householdTok, map[string]any{"fieldId": l.field.ID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"}, 409, "body.fieldId", "already has an open"},
		{"household setting workdays", "POST", "/v1/requests", l.householdTok, map[string]any{"fieldId": l.field.ID, "task": "prepare", "earliest": "2026-04-20", "latest": "2026-04-25", "workdays": 3}, 422, "body.workdays", "cadre"},
		{"cadre without a household", "POST", "/v1/requests", l.cadre, window("2026-04-20", "2026-04-25"), 422, "body.householdId", ""},
		{"attendance of a non-member", "POST", complete, l.leader, att(map[string]any{"householdId": l.outsider.ID, "workdays": 1}), 422, "body.attendance[0].householdId", "not a member"},
		{"zero workdays", "POST", complete, l.leader, att(map[string]any{"householdId": l.neighbour.ID, "workdays": 0}), 422, "body.attendance[0].workdays", ""},
		{"0.3 workdays", "POST", complete, l.leader, att(map[string]any{"householdId": l.neighbour.ID, "workdays": 0.3}), 422, "body.attendance[0].workdays", "0.5"},
		{"the helped household paid for its own job", "POST", complete, l.leader, att(map[string]any{"householdId": l.home.ID, "workdays": 1, "helper": true, "reason": "帮忙"}), 422, "body.attendance[0].householdId", "own job"},
		{"no attendance", "POST", complete, l.leader, map[string]any{"attendance": []any{}}, 422, "body.attendance", ""},
		{"completing a declined job", "POST", "/v1/jobs/" + itoa(declined) + "/complete", l.leader, att(map[string]any{"householdId": l.neighbour.ID, "workdays": 1}), 409, "", "is declined"},
		{"confirming a declined job", "POST", "/v1/jobs/" + itoa(declined) + "/confirm", l.leader, nil, 409, "", "is declined"},
		{"decline with an empty reason", "POST", "/v1/jobs/" + itoa(jobID) + "/decline", l.leader, map[string]any{"reason": ""}, 422, "body.reason", ""},
		{"decline with a blank reason", "POST", "/v1/jobs/" + itoa(jobID) + "/decline", l.leader, map[string]any{"reason": "   "}, 422, "body.reason", "reason"},
		{"decline without a reason", "POST", "/v1/jobs/" + itoa(jobID) + "/decline", l.leader, map[string]any{}, 422, "body", "reason"},
		{"job for a non-member worker", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": reqID, "date": "2026-04-23", "workers": []map[string]any{{"householdId": l.outsider.ID, "workers": 1}}}, 422, "body.workers[0].householdId", "not a member"},
		{"job for a worker already out that day", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": reqID, "date": "2026-04-20", "workers": []map[string]any{{"householdId": l.neighbour.ID, "workers": 1}}}, 409, "body.workers", "already on job"},
		{"job before the window", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": reqID, "date": "2026-04-19", "workers": []map[string]any{{"householdId": l.member2.ID, "workers": 1}}}, 422, "body.date", "before"},
		{"job of an unknown team", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": 999, "requestId": reqID, "date": "2026-04-23", "workers": []map[string]any{{"householdId": l.member2.ID, "workers": 1}}}, 422, "body.teamId", ""},
		{"season ending before it starts", "POST", "/v1/seasons", l.cadre, map[string]any{"kind": "autumn", "startDate": "2026-11-01", "endDate": "2026-10-01", "tasks": []string{"harvest"}}, 422, "body.endDate", ""},
		{"a second spring season", "POST", "/v1/seasons", l.cadre, map[string]any{"kind": "spring", "startDate": "2026-03-01", "endDate": "2026-03-20", "tasks": []string{"prepare"}}, 409, "body.kind", "already has"},
		{"norm with three decimals", "PATCH", "/v1/norms", l.cadre, map[string]any{"norms": []map[string]any{{"crop": "early_rice", "task": "prepare", "workdaysPerMu": 0.555}}}, 422, "body.norms[0].workdaysPerMu", "two decimals"},
		{"date with from", "GET", "/v1/jobs?date=2026-04-21&from=2026-04-20", l.leader, nil, 422, "query.date", ""},
		{"season moved back", "PATCH", "/v1/seasons/" + itoa(l.season), l.cadre, map[string]any{"state": "planned"}, 409, "body.state", "planned → open → closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopRows(t, l)
			resp, body := l.call(t, tc.method, tc.path, tc.token, tc.body, "Idempotency-Key", "bad-"+tc.name)
			assertProblem(t, resp, body, tc.status, tc.location)
			if tc.detail != "" {
				assert.Contains(t, fmt.Sprint(body["detail"], body["errors"]), tc.detail)
			}
			assert.Equal(t, before, loopRows(t, l), "nothing is written on bad input")
		})
	}

	t.Run("completing needs an Idempotency-Key", func(t *testing.T) {
		resp, body := l.call(t, "POST", complete, l.leader, att(map[string]any{"householdId": l.neighbour.ID, "workdays": 1}))
		assertProblem(t, resp, body, http.StatusBadRequest, "header.Idempotency-Key")
	})
}

// rawCall is e.call for goroutines: no require, so nothing stops the test
// from another goroutine.
func rawCall(url, path, token string, body any, key string) (int, http.Header, map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequest("POST", url+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out, err
}

func TestConcurrentCompletionPostsOnce(t *testing.T) {
	l := mustLoop(t)
	reqID := l.request(t, l.householdTok, l.field.ID)
	jobID := l.job(t, reqID, "2026-04-20") // today
	l.confirm(t, jobID)
	body := map[string]any{"attendance": []map[string]any{{"householdId": l.neighbour.ID, "workdays": 2}}, "meal": true}

	type answer struct {
		key      string
		status   int
		replayed string
		body     map[string]any
		err      error
	}
	answers := make([]answer, 20)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		key := "same" // half retry one key, half each bring their own
		if i%2 == 1 {
			key = fmt.Sprintf("other-%d", i)
		}
		wg.Go(func() {
			<-start
			status, h, out, err := rawCall(l.url, "/v1/jobs/"+itoa(jobID)+"/complete", l.leader, body, key)
			answers[i] = answer{key: key, status: status, body: out, err: err}
			if h != nil {
				answers[i].replayed = h.Get("Idempotent-Replayed")
			}
		})
	}
	close(start)
	wg.Wait()

	var winner *answer
	for i, a := range answers {
		require.NoError(t, a.err)
		if a.status == http.StatusOK && a.replayed == "" {
			require.Nil(t, winner, "two calls completed the job: %v and %v", winner, a)
			winner = &answers[i]
		}
	}
	require.NotNil(t, winner, "no call completed the job: %v", answers)
	t.Logf("the job was completed under key %q", winner.key)
	for i := range answers {
		a := &answers[i]
		switch {
		case a == winner:
		case a.key == winner.key:
			if assert.Equal(t, http.StatusOK, a.status, a.body) {
				assert.Equal(t, "true", a.replayed, "the same key replays")
				assert.Equal(t, winner.body["transactionId"], a.body["transactionId"])
			}
		default:
			assert.Equal(t, http.StatusConflict, a.status, "another key finds the job done: %v", a.body)
			assert.Contains(t, a.body["detail"], "is done")
		}
	}

	var txs int
	require.NoError(t, l.st.DB().QueryRow("SELECT COUNT(*) FROM ledger_transactions WHERE source_kind = 'job'").Scan(&txs))
	assert.Equal(t, 1, txs, "exactly one ledger transaction")
	_, bal := l.call(t, "GET", "/v1/balances?sort=balance", l.cadre, nil)
	assert.EqualValues(t, -2, items(bal)[0]["balance"], "the helped household is debited once")
	var dones int
	require.NoError(t, l.st.DB().QueryRow("SELECT COUNT(*) FROM outbox WHERE event = 'job.done'").Scan(&dones))
	assert.Equal(t, 1, dones, "the household is told once")
}

// sseEvent is one server-sent event as read off the wire.
type sseEvent struct {
	id, event string
	data      map[string]any
}

// readEvents parses an event stream onto a channel until the body closes.
func readEvents(body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.data != nil {
					ch <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				cur.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data)
			}
		}
	}()
	return ch
}

func TestEventStream(t *testing.T) {
	l := mustLoop(t)
	poll, keep := api.EventPoll, api.EventKeepAlive
	api.EventPoll = 10 * time.Millisecond
	t.Cleanup(func() { api.EventPoll, api.EventKeepAlive = poll, keep })
	// A server with a short WriteTimeout, as cmd/huangong has a long one:
	// the stream must outlive it.
	ts := httptest.NewUnstartedServer(api.NewServer(l.st, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	ts.Config.WriteTimeout = 200 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)

	connect := func(t *testing.T, ctx context.Context, token string, headers ...string) <-chan sseEvent {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/event-stream")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		return readEvents(resp.Body)
	}
	next := func(t *testing.T, ctx context.Context, ch <-chan sseEvent) sseEvent {
		t.Helper()
		select {
		case ev, ok := <-ch:
			require.True(t, ok, "the stream ended")
			return ev
		case <-ctx.Done():
			require.FailNow(t, "no event before the deadline")
		}
		return sseEvent{}
	}

	// The outsider asks too (entered by the cadre), so there is another
	// household's event to leak.
	outsiderField := &store.Field{VillageID: l.village.ID, HouseholdID: l.outsider.ID, Name: "河边田", AreaCentimu: 120, Crop: store.CropEarlyRice}
	require.NoError(t, l.st.CreateField(context.Background(), outsiderField))
	resp, body := l.call(t, "POST", "/v1/requests", l.cadre, map[string]any{"householdId": l.outsider.ID,
		"fieldId": outsiderField.ID, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	assert.Equal(t, true, body["onBehalf"])
	outsiderReq := id(body)
	homeReq := l.request(t, l.householdTok, l.field.ID)
	l.job(t, outsiderReq, "2026-04-20") // an event from before the stream opens

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := connect(t, ctx, l.householdTok)
	// Past the server's WriteTimeout before anything happens: a deadline
	// left in place would fail the first write.
	time.Sleep(300 * time.Millisecond)
	l.job(t, outsiderReq, "2026-04-21")
	homeJob := l.job(t, homeReq, "2026-04-22")

	ev := next(t, ctx, events)
	assert.Empty(t, ev.event, "outbox rows are plain messages")
	assert.Equal(t, "job.scheduled", ev.data["event"])
	assert.Equal(t, "household", ev.data["audience"])
	assert.EqualValues(t, l.home.ID, ev.data["audienceId"], "the household's own event, not the outsider's")
	assert.EqualValues(t, homeJob, ev.data["subjectId"])
	assert.Equal(t, fmt.Sprint(ev.data["id"]), ev.id, "the SSE id is the event ID")

	t.Run("a reconnecting client resumes after Last-Event-ID", func(t *testing.T) {
		cancel() // the phone loses its connection …
		l.confirm(t, homeJob)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		again := connect(t, ctx, l.householdTok, "Last-Event-ID", ev.id)
		got := next(t, ctx, again)
		assert.Equal(t, "job.confirmed", got.data["event"], "the event from while it was away")
		assert.EqualValues(t, l.home.ID, got.data["audienceId"])
	})

	t.Run("a leader hears its team's events", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream := connect(t, ctx, l.leader, "Last-Event-ID", "1")
		got := next(t, ctx, stream)
		assert.Equal(t, "team", got.data["audience"])
		assert.EqualValues(t, l.team.ID, got.data["audienceId"])
	})

	t.Run("a quiet stream pings", func(t *testing.T) {
		api.EventKeepAlive = 20 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got := next(t, ctx, connect(t, ctx, l.leader2))
		assert.Equal(t, "ping", got.event)
		assert.NotEmpty(t, got.data["at"])
	})

	t.Run("a stream without a cursor replays the latest events first", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream := connect(t, ctx, l.householdTok)
		first, second := next(t, ctx, stream), next(t, ctx, stream)
		assert.Equal(t, []any{"job.scheduled", "job.confirmed"}, []any{first.data["event"], second.data["event"]},
			"the household's events so far, oldest first")
		assert.Equal(t, ev.id, first.id)

		backlog := api.EventBacklog
		api.EventBacklog = 1
		t.Cleanup(func() { api.EventBacklog = backlog })
		got := next(t, ctx, connect(t, ctx, l.householdTok))
		assert.Equal(t, "job.confirmed", got.data["event"], "only the latest, with a backlog of one")
	})

	t.Run("the log pages with after", func(t *testing.T) {
		_, first := l.call(t, "GET", "/v1/events/log?limit=1", l.householdTok, nil)
		require.Len(t, items(first), 1)
		last := int64(first["last"].(float64))
		_, rest := l.call(t, "GET", "/v1/events/log?after="+itoa(last), l.householdTok, nil)
		require.Len(t, items(rest), 1, "job.scheduled, then job.confirmed")
		assert.Equal(t, "job.confirmed", items(rest)[0]["event"])
		assert.Greater(t, int64(items(rest)[0]["id"].(float64)), last)
		_, none := l.call(t, "GET", "/v1/events/log?after="+fmt.Sprint(rest["last"]), l.householdTok, nil)
		assert.Empty(t, items(none))
		assert.Equal(t, rest["last"], none["last"])
	})
}

// TestRefusedTransitionsSayNextStep: every change a job's or a request's
// state refuses is a 409 whose detail says why and the next step, Chinese
// first ("；下一步：…") with the English beside ("; next: …"), so the web
// pages and the generated client show it as the CLI does.
func TestRefusedTransitionsSayNextStep(t *testing.T) {
	l := mustLoop(t)
	job := func(date string) (int64, int64) {
		t.Helper()
		req := l.request(t, l.householdTok, l.secondField(t))
		return l.job(t, req, date), req
	}
	done, doneReq := job("2026-04-20")
	l.confirm(t, done)
	resp, body := l.call(t, "POST", "/v1/jobs/"+itoa(done)+"/complete", l.leader, map[string]any{
		"attendance": []map[string]any{{"householdId": l.neighbour.ID, "workdays": 2}}}, "Idempotency-Key", "done")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	scheduled, scheduledReq := job("2026-04-21")
	declined, _ := job("2026-04-22")
	resp, body = l.call(t, "POST", "/v1/jobs/"+itoa(declined)+"/decline", l.leader, map[string]any{"reason": "人手不够"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	cancelled, cancelledReq := job("2026-04-23")
	resp, body = l.call(t, "POST", "/v1/requests/"+itoa(cancelledReq)+"/cancel", l.householdTok, map[string]any{"reason": "自己插完了"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	confirmed, _ := job("2026-04-24")
	l.confirm(t, confirmed)
	resp, body = l.call(t, "POST", "/v1/jobs/"+itoa(done)+"/dispute", l.householdTok, map[string]any{"reason": "只来了一个人"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	_, r := l.call(t, "GET", "/v1/requests/"+itoa(scheduledReq), l.cadre, nil)
	scheduledField := int64(r["fieldId"].(float64))

	jp := func(id int64, op string) string { return "/v1/jobs/" + itoa(id) + "/" + op }
	rp := func(id int64, op string) string { return "/v1/requests/" + itoa(id) + op }
	reason := map[string]any{"reason": "算了"}
	worked := map[string]any{"attendance": []map[string]any{{"householdId": l.neighbour.ID, "workdays": 1}}}
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
	}{
		{"confirm a confirmed job", "POST", jp(confirmed, "confirm"), l.leader, nil},
		{"confirm a done job", "POST", jp(done, "confirm"), l.leader, nil},
		{"confirm a declined job", "POST", jp(declined, "confirm"), l.leader, nil},
		{"confirm a cancelled job", "POST", jp(cancelled, "confirm"), l.leader, nil},
		{"decline a done job", "POST", jp(done, "decline"), l.leader, reason},
		{"decline a declined job", "POST", jp(declined, "decline"), l.leader, reason},
		{"decline a cancelled job", "POST", jp(cancelled, "decline"), l.leader, reason},
		{"complete a scheduled job", "POST", jp(scheduled, "complete"), l.leader, worked},
		{"complete a done job with other figures", "POST", jp(done, "complete"), l.leader, worked},
		{"complete a declined job", "POST", jp(declined, "complete"), l.leader, worked},
		{"complete a cancelled job", "POST", jp(cancelled, "complete"), l.leader, worked},
		{"dispute a scheduled job", "POST", jp(scheduled, "dispute"), l.householdTok, reason},
		{"dispute a declined job", "POST", jp(declined, "dispute"), l.householdTok, reason},
		{"dispute a cancelled job", "POST", jp(cancelled, "dispute"), l.householdTok, reason},
		{"dispute a disputed job", "POST", jp(done, "dispute"), l.householdTok, reason},
		{"resolve a job with no dispute", "POST", jp(scheduled, "resolve-dispute"), l.cadre, map[string]any{"resolution": "confirm"}},
		{"schedule a cancelled request", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": cancelledReq, "date": "2026-04-25",
			"workers": []map[string]any{{"householdId": l.member2.ID, "workers": 1}}}},
		{"a worker already out that day", "POST", "/v1/jobs", l.cadre, map[string]any{"teamId": l.team.ID, "requestId": scheduledReq, "date": "2026-04-20",
			"workers": []map[string]any{{"householdId": l.neighbour.ID, "workers": 1}}}},
		{"cancel a done request", "POST", rp(doneReq, "/cancel"), l.householdTok, reason},
		{"cancel a cancelled request", "POST", rp(cancelledReq, "/cancel"), l.householdTok, reason},
		{"rate a scheduled request", "POST", rp(scheduledReq, "/feedback"), l.householdTok, map[string]any{"stars": 4}},
		{"rate a cancelled request", "POST", rp(cancelledReq, "/feedback"), l.householdTok, map[string]any{"stars": 4}},
		{"change a cancelled request", "PATCH", rp(cancelledReq, ""), l.cadre, map[string]any{"crewCap": 3}},
		{"a second open request on a field", "POST", "/v1/requests", l.householdTok, map[string]any{
			"fieldId": scheduledField, "task": "transplant", "earliest": "2026-04-20", "latest": "2026-04-25"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.call(t, tc.method, tc.path, tc.token, tc.body, "Idempotency-Key", "refused-"+tc.name)
			assertProblem(t, resp, body, http.StatusConflict, "")
			detail := fmt.Sprint(body["detail"])
			if assert.Contains(t, detail, "；下一步：") && assert.Contains(t, detail, "; next: ") {
				zh := detail[strings.Index(detail, "；下一步：")+len("；下一步："):]
				assert.Regexp(t, `^\p{Han}`, zh, "the next step in Chinese first")
				assert.NotEmpty(t, strings.TrimSpace(detail[strings.Index(detail, "; next: ")+len("; next: "):]), "and in English")
			}
		})
	}
}
