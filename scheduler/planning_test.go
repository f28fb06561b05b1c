package scheduler_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/scheduler/planner"
	"huangong/store"
	"huangong/store/storetest"
)

// planCadre is who runs the plans in these tests.
const planCadre = "cadre:plan"

// planSeason is the scope of the loop village's open spring season.
func planSeason(e *storetest.Loop) store.PlanScope { return store.PlanScope{SeasonID: e.Season.ID} }

// plan builds the instance of a scope and solves it with the default options.
func plan(t *testing.T, e *storetest.Loop, scope store.PlanScope) (planner.Instance, planner.Plan) {
	t.Helper()
	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, scope)
	require.NoError(t, err)
	p, err := planner.Solve(context.Background(), in, planner.Options{})
	require.NoError(t, err)
	return in, p
}

// apply plans a scope and saves the plan.
func apply(t *testing.T, e *storetest.Loop, scope store.PlanScope) (planner.Plan, *store.PlanResult) {
	t.Helper()
	_, p := plan(t, e, scope)
	res, err := scheduler.ApplyPlan(e.Ctx, e.St, e.V.ID, planCadre, scope, p)
	require.NoError(t, err)
	return p, res
}

// planRequests registers n transplant requests of 章仁标's on new 3-mu
// fields (4.5 workdays each) in the window 2026-04-25 to 2026-04-30.
func planRequests(t *testing.T, e *storetest.Loop, n int) []*store.HelpRequest {
	t.Helper()
	out := make([]*store.HelpRequest, n)
	for i := range out {
		f := e.Field(t, e.Helped, 300)
		out[i] = e.Request(t, func(in *store.NewRequest) { in.FieldID = f.ID })
	}
	return out
}

// activeJobs returns the village's scheduled, confirmed and done jobs.
func activeJobs(t *testing.T, e *storetest.Loop) []*store.Job {
	t.Helper()
	var out []*store.Job
	for _, state := range []string{store.JobScheduled, store.JobConfirmed, store.JobDone} {
		jobs, _, err := e.St.ListJobs(e.Ctx, e.V.ID, store.JobFilter{State: state}, store.Page{Limit: store.MaxPageLimit})
		require.NoError(t, err)
		out = append(out, jobs...)
	}
	return out
}

// assertHardRules checks every active job of the village: its workers are
// members of its team offering that many, free that day and on no other
// job; it is not on a blocked day of its field and not before its
// request's window opens.
func assertHardRules(t *testing.T, e *storetest.Loop) {
	t.Helper()
	blocked, err := e.St.ListBlockedDays(e.Ctx, e.V.ID, "", "")
	require.NoError(t, err)
	busy := map[string]int64{}
	for _, j := range activeJobs(t, e) {
		team, err := e.St.GetTeam(e.Ctx, e.V.ID, j.TeamID)
		require.NoError(t, err)
		r, err := e.St.GetRequest(e.Ctx, e.V.ID, j.RequestID)
		require.NoError(t, err)
		f, err := e.St.GetField(e.Ctx, e.V.ID, r.FieldID)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, j.Date, r.Earliest, "job %d is before request %d's window", j.ID, r.ID)
		for _, b := range blocked {
			assert.False(t, b.Date == j.Date && (b.Group == 0 || b.Group == f.Group), "job %d is on blocked day %s", j.ID, b.Date)
		}
		require.NotEmpty(t, j.Workers, "job %d", j.ID)
		for _, w := range j.Workers {
			i := slices.IndexFunc(team.Members, func(m *store.TeamMember) bool { return m.HouseholdID == w.HouseholdID })
			if !assert.GreaterOrEqual(t, i, 0, "job %d: household %d is not in team %d", j.ID, w.HouseholdID, j.TeamID) {
				continue
			}
			m := team.Members[i]
			assert.LessOrEqual(t, w.Workers, m.WorkersPerDay, "job %d: household %d", j.ID, w.HouseholdID)
			assert.NotContains(t, m.UnavailableDays, j.Date, "job %d: household %d is off", j.ID, w.HouseholdID)
			key := fmt.Sprintf("%d@%s", w.HouseholdID, j.Date)
			assert.Zero(t, busy[key], "household %d is on jobs %d and %d on %s", w.HouseholdID, busy[key], j.ID, j.Date)
			busy[key] = j.ID
		}
	}
}

// newJobs are a plan's new assignments as the jobs they become.
func newJobs(p planner.Plan) []string {
	var out []string
	for _, a := range p.Assignments {
		if !a.Fixed {
			out = append(out, fmt.Sprintf("team %d request %d %s %v", a.Team, a.Request, a.Date, scheduler.PlannedWorkers(a.Workers)))
		}
	}
	return out
}

func jobLines(jobs []*store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = fmt.Sprintf("team %d request %d %s %v", j.TeamID, j.RequestID, j.Date, j.Workers)
	}
	return out
}

func TestPlan_Instance(t *testing.T) {
	e := storetest.NewLoop(t)
	// A done job on the first day of the window: its workers are taken
	// that day and the ledger has moved.
	done, doneJob := e.Reach(t, store.RequestDone)
	require.Equal(t, "2026-04-25", doneJob.Date)
	// A confirmed request: kept as it is.
	kept, keptJob := e.Reach(t, store.RequestConfirmed)
	// Prepare, then transplant on one field; the exempt household's harvest
	// is not in this season.
	f := e.Field(t, e.Helped, 200)
	prep := e.Request(t, func(in *store.NewRequest) { in.FieldID, in.Task = f.ID, store.TaskPrepare })
	trans := e.Request(t, func(in *store.NewRequest) { in.FieldID = f.ID })
	ef := e.Field(t, e.Exempt, 100)
	exempt := e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = e.Exempt.ID, ef.ID })
	_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{"2026-04-27"}, 0, "大雨")
	require.NoError(t, err)
	_, err = e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{"2026-04-03", "2026-05-20"}, 0, "out of the season")
	require.NoError(t, err)

	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)
	assert.Equal(t, "2026-04-20", in.Start, "nothing is planned before today")
	assert.Equal(t, "2026-05-10", in.End)
	assert.Equal(t, []planner.Blocked{{Date: "2026-04-27"}}, in.Blocked)
	assert.Equal(t, map[int64]int64{e.Helped.ID: -6, e.A.ID: 4, e.B.ID: 2}, in.Balances)

	byID := map[int64]planner.Request{}
	for _, r := range in.Requests {
		byID[r.ID] = r
	}
	require.Len(t, byID, 5, "the done and confirmed requests are there for their jobs")
	assert.Equal(t, planner.Request{ID: prep.ID, Household: e.Helped.ID, Field: f.ID, Group: 1, Task: store.TaskPrepare,
		HalfDays: prep.HalfDays, Earliest: "2026-04-25", Latest: "2026-04-30", Priority: prep.Priority, Area: 2}, byID[prep.ID])
	assert.Equal(t, []int64{prep.ID}, byID[trans.ID].After, "transplant waits for the prepare on its field")
	assert.True(t, byID[exempt.ID].Exempt)
	assert.Equal(t, 3, byID[prep.ID].Priority, "an elderly household comes first")
	assert.EqualValues(t, 6, byID[kept.ID].HalfDays, "a kept request asks only for its jobs")
	assert.EqualValues(t, 6, byID[done.ID].HalfDays)

	assert.Equal(t, []planner.Assignment{
		{Request: done.ID, Team: e.Team1.ID, Date: doneJob.Date, Workers: []planner.Worker{{Household: e.A.ID, HalfDays: 4}, {Household: e.B.ID, HalfDays: 2}}},
		{Request: kept.ID, Team: e.Team1.ID, Date: keptJob.Date, Workers: []planner.Worker{{Household: e.A.ID, HalfDays: 4}, {Household: e.B.ID, HalfDays: 2}}},
	}, in.Fixed)
	assert.Equal(t, []planner.Team{
		{ID: e.Team1.ID, Members: []planner.Member{
			{Household: e.A.ID, Group: 1, Workers: 2}, {Household: e.B.ID, Group: 1, Workers: 1}, {Household: e.C.ID, Group: 1, Workers: 2}}},
		{ID: e.Team2.ID, Members: []planner.Member{{Household: e.D.ID, Group: 1, Workers: 1}}},
	}, in.Teams, "the day c is off falls outside the plan")

	t.Run("a range takes the requests whose window meets it", func(t *testing.T) {
		late := e.Request(t, func(in *store.NewRequest) { in.Earliest, in.Latest = "2026-05-05", "2026-05-08" })
		in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, store.PlanScope{From: "2026-05-01", To: "2026-05-10"})
		require.NoError(t, err)
		require.Len(t, in.Requests, 1)
		assert.Equal(t, late.ID, in.Requests[0].ID)
		assert.Empty(t, in.Fixed)
		assert.Equal(t, "2026-05-01", in.Start)
	})
}

func TestPlan_Apply(t *testing.T) {
	e := storetest.NewLoop(t)
	reqs := planRequests(t, e, 6)
	_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{"2026-04-26"}, 0, "大雨")
	require.NoError(t, err)

	before := storetest.LoopCounts(t, e.St)
	_, proposal := plan(t, e, planSeason(e))
	_, again := plan(t, e, planSeason(e))
	assert.Equal(t, proposal, again, "the same records, the same plan")
	assert.Equal(t, before, storetest.LoopCounts(t, e.St), "planning alone writes nothing")
	require.Empty(t, proposal.Unplaced)
	require.NotEmpty(t, newJobs(proposal))

	events := int64(storetest.CountRows(t, e.St, "outbox"))
	p, res := apply(t, e, planSeason(e))
	assert.Equal(t, proposal, p)
	assert.Equal(t, newJobs(proposal), jobLines(res.Jobs), "the saved jobs are the plan's")
	assert.Equal(t, len(res.Jobs), res.Created)
	assert.Empty(t, res.Cancelled)
	assert.Empty(t, res.Unplaced)
	assertHardRules(t, e)

	teams := map[int64]bool{}
	for _, j := range res.Jobs {
		assert.Equal(t, planCadre, j.CreatedBy)
		assert.Equal(t, store.JobScheduled, j.State)
		assert.NotEqual(t, "2026-04-26", j.Date)
		storetest.LoopChain(t, e, "job", j.ID, store.JobScheduled)
		teams[j.TeamID] = true
	}
	// One digest for the household of all six requests, one for each team.
	want := []string{fmt.Sprintf("household:%d plan.updated request:%d", e.Helped.ID, reqs[0].ID)}
	for _, id := range []int64{e.Team1.ID, e.Team2.ID} {
		if teams[id] {
			want = append(want, fmt.Sprintf("team:%d plan.updated team:%d", id, id))
		}
	}
	assert.Equal(t, want, storetest.LoopEvents(t, e, events))
	for _, r := range reqs {
		assert.Contains(t, res.Scheduled, r.ID)
		got, _ := e.Reload(t, r.ID)
		assert.Equal(t, store.RequestScheduled, got.State)
		trs := storetest.LoopChain(t, e, "request", r.ID, store.RequestScheduled)
		assert.Equal(t, "计划派工 plan", trs[len(trs)-1].Note)
	}

	t.Run("the same plan again changes nothing", func(t *testing.T) {
		before := storetest.LoopCounts(t, e.St)
		_, res2 := apply(t, e, planSeason(e))
		assert.Zero(t, res2.Created)
		assert.Empty(t, res2.Cancelled)
		assert.Equal(t, jobLines(res.Jobs), jobLines(res2.Jobs))
		assert.Equal(t, before, storetest.LoopCounts(t, e.St), "no job is cancelled to be made again")
	})
}

func TestPlan_ReplanKeepsConfirmed(t *testing.T) {
	e := storetest.NewLoop(t)
	reqs := planRequests(t, e, 4)
	_, res := apply(t, e, planSeason(e))
	// The leader confirms the first job; a cadre adds a late job by hand
	// to another request, which the next plan replaces.
	first := e.Confirm(t, res.Jobs[0])
	var other *store.HelpRequest
	for _, r := range reqs {
		if r.ID != first.RequestID {
			other = r
			break
		}
	}
	handMade, err := e.St.CreateJob(e.Ctx, e.V.ID, storetest.LoopCadre, store.NewJob{TeamID: e.Team2.ID, RequestID: other.ID, Date: "2026-05-08",
		Workers: []store.PlannedWorker{{HouseholdID: e.D.ID, Workers: 1}}})
	require.NoError(t, err)

	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)
	fixed := slices.IndexFunc(in.Fixed, func(a planner.Assignment) bool { return a.Request == first.RequestID && a.Date == first.Date })
	require.GreaterOrEqual(t, fixed, 0, "the confirmed job is fixed")

	p, res2 := apply(t, e, planSeason(e))
	for _, a := range p.Assignments {
		if a.Request == first.RequestID {
			assert.True(t, a.Fixed, "a request with a confirmed job gets no new job")
		}
	}
	got, err := e.St.GetJob(e.Ctx, e.V.ID, first.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JobConfirmed, got.State, "the confirmed job is kept")
	assert.Equal(t, first.Version, got.Version)

	cancelled := map[int64]bool{}
	for _, j := range res2.Cancelled {
		cancelled[j.ID] = true
		trs := storetest.LoopChain(t, e, "job", j.ID, store.JobCancelled)
		assert.Equal(t, "重新派工 re-planned", trs[len(trs)-1].Note)
	}
	assert.True(t, cancelled[handMade.ID], "the hand-made late job is replaced")
	assert.False(t, cancelled[first.ID])
	kept := map[int64]*store.Job{}
	for _, j := range res2.Jobs {
		kept[j.ID] = j
	}
	for _, j := range res.Jobs[1:] {
		if k := kept[j.ID]; !cancelled[j.ID] && assert.NotNil(t, k, "an unconfirmed job is either kept by the plan or cancelled") {
			assert.Equal(t, []any{j.RequestID, j.TeamID, j.Date}, []any{k.RequestID, k.TeamID, k.Date}, "a kept job keeps its request, team and day")
		}
	}
	assert.Equal(t, len(res2.Jobs), res2.Kept+res2.WorkersChanged+res2.Created)
	_, jobs := e.Reload(t, other.ID)
	for _, j := range jobs {
		if j.Active() {
			assert.LessOrEqual(t, j.Date, other.Latest, "the late work moved inside the window")
		}
	}
	assertHardRules(t, e)
}

func TestPlan_ApplyRefusesAStalePlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, e *storetest.Loop, r *store.HelpRequest, j *store.Job)
	}{
		{"a job confirmed", func(t *testing.T, e *storetest.Loop, _ *store.HelpRequest, j *store.Job) { e.Confirm(t, j) }},
		{"a request cancelled", func(t *testing.T, e *storetest.Loop, r *store.HelpRequest, _ *store.Job) { e.Cancel(t, r) }},
		{"a new request", func(t *testing.T, e *storetest.Loop, _ *store.HelpRequest, _ *store.Job) { e.Request(t, nil) }},
		{"a member leaves", func(t *testing.T, e *storetest.Loop, _ *store.HelpRequest, j *store.Job) {
			require.NoError(t, e.St.RemoveTeamMember(e.Ctx, e.V.ID, j.TeamID, j.Workers[0].HouseholdID))
		}},
		{"the day rained out", func(t *testing.T, e *storetest.Loop, _ *store.HelpRequest, j *store.Job) {
			_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{j.Date}, 0, "大雨")
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := storetest.NewLoop(t)
			reqs := planRequests(t, e, 3)
			_, res := apply(t, e, planSeason(e))
			// A new request to plan, so the stale plan has new jobs.
			e.Request(t, nil)
			_, stale := plan(t, e, planSeason(e))
			r, _ := e.Reload(t, res.Jobs[0].RequestID)
			require.True(t, slices.ContainsFunc(reqs, func(q *store.HelpRequest) bool { return q.ID == r.ID }))
			tc.change(t, e, r, res.Jobs[0])
			before := storetest.LoopCounts(t, e.St)
			_, err := scheduler.ApplyPlan(e.Ctx, e.St, e.V.ID, planCadre, planSeason(e), stale)
			storetest.AssertError(t, err, store.ECONFLICT, "")
			storetest.LoopAssertNothingWritten(t, e, before)
		})
	}
}

func TestPlan_BlockDays(t *testing.T) {
	e := storetest.NewLoop(t)
	reqs := planRequests(t, e, 4)
	// Another group's field, planned too.
	g2 := storetest.MustHousehold(t, e.St, e.V.ID, func(h *store.Household) { h.HeadName, h.Group = "周二组", 2 })
	g2f := e.Field(t, g2, 300)
	g2r := e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = g2.ID, g2f.ID })
	_, res := apply(t, e, planSeason(e))
	rainy := res.Jobs[0].Date
	var onRainy []*store.Job
	for _, j := range res.Jobs {
		if j.Date == rainy {
			onRainy = append(onRainy, j)
		}
	}
	require.NotEmpty(t, onRainy)
	// One of them confirmed: cancelled all the same.
	e.Confirm(t, onRainy[0])

	events := int64(storetest.CountRows(t, e.St, "outbox"))
	b, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{rainy, rainy}, 0, "大雨")
	require.NoError(t, err)
	require.Len(t, b.Days, 1)
	assert.Equal(t, store.BlockedDay{ID: b.Days[0].ID, VillageID: e.V.ID, Date: rainy, Group: 0, Reason: "大雨", CreatedBy: planCadre,
		CreatedAt: b.Days[0].CreatedAt}, *b.Days[0])
	assert.Equal(t, jobLines(onRainy), jobLines(b.Cancelled))
	var want []string
	for _, j := range b.Cancelled {
		trs := storetest.LoopChain(t, e, "job", j.ID, store.JobCancelled)
		assert.Equal(t, store.RainNote, trs[len(trs)-1].Note)
		r, err := e.St.GetRequest(e.Ctx, e.V.ID, j.RequestID)
		require.NoError(t, err)
		want = append(want, fmt.Sprintf("team:%d job.cancelled job:%d", j.TeamID, j.ID), fmt.Sprintf("household:%d job.cancelled job:%d", r.HouseholdID, j.ID))
	}
	assert.Equal(t, want, storetest.LoopEvents(t, e, events))
	for _, r := range append(reqs, g2r) {
		got, jobs := e.Reload(t, r.ID)
		pending := slices.ContainsFunc(jobs, func(j *store.Job) bool { return j.State == store.JobScheduled || j.State == store.JobConfirmed })
		if !pending {
			assert.Equal(t, store.RequestSubmitted, got.State, "request %d has nothing left to do", r.ID)
			trs := storetest.LoopChain(t, e, "request", r.ID, store.RequestSubmitted)
			assert.Equal(t, store.RainNote, trs[len(trs)-1].Note)
		}
	}

	t.Run("blocking again changes nothing", func(t *testing.T) {
		before := storetest.LoopCounts(t, e.St)
		b, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{rainy}, 0, "又下雨")
		require.NoError(t, err)
		assert.Equal(t, "大雨", b.Days[0].Reason, "the first reason stays")
		assert.Empty(t, b.Cancelled)
		assert.Equal(t, before, storetest.LoopCounts(t, e.St))
		assert.Equal(t, 1, storetest.CountRows(t, e.St, "blocked_days"))
	})

	t.Run("the plan puts the work elsewhere", func(t *testing.T) {
		p, _ := apply(t, e, planSeason(e))
		assert.Empty(t, p.Unplaced)
		for _, j := range activeJobs(t, e) {
			assert.NotEqual(t, rainy, j.Date, "job %d", j.ID)
		}
		for _, r := range append(reqs, g2r) {
			got, _ := e.Reload(t, r.ID)
			assert.Equal(t, store.RequestScheduled, got.State, "request %d", r.ID)
		}
		assertHardRules(t, e)
	})

	t.Run("a group's day stops only its fields", func(t *testing.T) {
		var day string
		var g2jobs, others int
		for _, j := range activeJobs(t, e) {
			if j.RequestID == g2r.ID && day == "" {
				day = j.Date
			}
		}
		require.NotEmpty(t, day)
		for _, j := range activeJobs(t, e) {
			if j.Date == day && j.RequestID == g2r.ID {
				g2jobs++
			} else if j.Date == day {
				others++
			}
		}
		b, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{day}, 2, "二组下冰雹")
		require.NoError(t, err)
		assert.Len(t, b.Cancelled, g2jobs)
		for _, j := range b.Cancelled {
			assert.Equal(t, g2r.ID, j.RequestID)
		}
		left := 0
		for _, j := range activeJobs(t, e) {
			if j.Date == day {
				left++
			}
		}
		assert.Equal(t, others, left, "the other groups work that day")
		in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
		require.NoError(t, err)
		assert.Contains(t, in.Blocked, planner.Blocked{Date: day, Group: 2})
		apply(t, e, planSeason(e))
		assertHardRules(t, e)
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			dates  []string
			group  int
			reason string
			field  string
		}{
			{"no day", nil, 0, "雨", "body.dates"},
			{"not a date", []string{"2026-04-20", "2026-02-30"}, 0, "雨", "body.dates[1]"},
			{"negative group", []string{"2026-04-20"}, -1, "雨", "body.group"},
			{"no reason", []string{"2026-04-20"}, 0, "  ", "body.reason"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, tc.dates, tc.group, tc.reason)
				storetest.AssertError(t, err, store.EINVALID, tc.field)
			})
		}
	})
}
