package scheduler_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/scheduler/planner"
	"huangong/store"
	"huangong/store/storetest"
)

// freeze sets the village's freeze horizon.
func freeze(t *testing.T, e *storetest.Loop, days int) {
	t.Helper()
	_, err := e.St.UpdateVillage(e.Ctx, e.V.ID, store.VillageUpdate{FreezeDays: &days})
	require.NoError(t, err)
}

// pendingIDs are the IDs of the village's scheduled jobs, sorted.
func pendingIDs(t *testing.T, e *storetest.Loop) []int64 {
	t.Helper()
	jobs, _, err := e.St.ListJobs(e.Ctx, e.V.ID, store.JobFilter{State: store.JobScheduled}, store.Page{Limit: store.MaxPageLimit})
	require.NoError(t, err)
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	slices.Sort(out)
	return out
}

// previousPlan is a plan that keeps every saved job of the instance as
// it is and places every request to plan: what a re-plan of unchanged
// records should be.
func previousPlan(in planner.Instance) planner.Plan {
	p := planner.Plan{Assignments: []planner.Assignment{}, Unplaced: []planner.Unplaced{}}
	for _, a := range in.Fixed {
		a.Fixed = true
		p.Assignments = append(p.Assignments, a)
	}
	p.Assignments = append(p.Assignments, in.Previous...)
	return p
}

func TestReplan_FreezeHorizon(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 4)
	_, res := apply(t, e, planSeason(e))
	require.NotEmpty(t, res.Jobs)
	dates := map[string]bool{}
	for _, j := range res.Jobs {
		dates[j.Date] = true
	}
	require.Greater(t, len(dates), 1, "the jobs fall on several days")

	for _, days := range []int{0, 2, 7, 14} {
		t.Run(fmt.Sprintf("%d days", days), func(t *testing.T) {
			freeze(t, e, days)
			until := storetest.T0.AddDate(0, 0, days).Format("2006-01-02")
			in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
			require.NoError(t, err)
			var fixed, previous []string
			for _, a := range in.Fixed {
				fixed = append(fixed, fmt.Sprintf("team %d request %d %s %v", a.Team, a.Request, a.Date, scheduler.PlannedWorkers(a.Workers)))
			}
			for _, a := range in.Previous {
				previous = append(previous, fmt.Sprintf("team %d request %d %s %v", a.Team, a.Request, a.Date, scheduler.PlannedWorkers(a.Workers)))
			}
			var wantFixed, wantPrevious []string
			for _, j := range res.Jobs {
				if j.Date < until {
					wantFixed = append(wantFixed, jobLines([]*store.Job{j})...)
				} else {
					wantPrevious = append(wantPrevious, jobLines([]*store.Job{j})...)
				}
			}
			assert.ElementsMatch(t, wantFixed, fixed, "the jobs before %s never move", until)
			assert.ElementsMatch(t, wantPrevious, previous, "the others are the saved plan")
			for _, a := range in.Previous {
				j := res.Jobs[slices.IndexFunc(res.Jobs, func(j *store.Job) bool {
					return j.RequestID == a.Request && j.TeamID == a.Team && j.Date == a.Date
				})]
				for _, w := range a.Workers {
					k := slices.IndexFunc(j.Workers, func(p store.PlannedWorker) bool { return p.HouseholdID == w.Household })
					require.GreaterOrEqual(t, k, 0)
					assert.EqualValues(t, 2*j.Workers[k].Workers, w.HalfDays, "a person is two half days")
				}
			}
		})
	}

	t.Run("a scope starting after today", func(t *testing.T) {
		freeze(t, e, 7)
		in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, store.PlanScope{From: "2026-04-28", To: "2026-05-10"})
		require.NoError(t, err)
		assert.Equal(t, "2026-04-28", in.Start)
		for _, a := range in.Previous {
			assert.GreaterOrEqual(t, a.Date, "2026-04-28", "a saved job before the plan's dates is not the plan's to move")
		}
		for _, j := range res.Jobs {
			if j.Date < "2026-04-28" && slices.ContainsFunc(in.Requests, func(r planner.Request) bool { return r.ID == j.RequestID }) {
				assert.True(t, slices.ContainsFunc(in.Fixed, func(a planner.Assignment) bool {
					return a.Request == j.RequestID && a.Date == j.Date && a.Team == j.TeamID
				}), "job %d on %s stays where it is", j.ID, j.Date)
			}
		}
	})
}

func TestReplan_SavingTheSavedPlanWritesNothing(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 4)
	_, res := apply(t, e, planSeason(e))
	ids := pendingIDs(t, e)

	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)
	require.Len(t, in.Previous, len(res.Jobs))
	before := storetest.LoopCounts(t, e.St)
	res2, err := scheduler.ApplyPlan(e.Ctx, e.St, e.V.ID, planCadre, planSeason(e), previousPlan(in))
	require.NoError(t, err)
	assert.Equal(t, len(res.Jobs), res2.Kept)
	assert.Zero(t, res2.Created)
	assert.Zero(t, res2.WorkersChanged)
	assert.Empty(t, res2.Cancelled)
	assert.Equal(t, before, storetest.LoopCounts(t, e.St), "no job, transition or notice is written")
	assert.Equal(t, ids, pendingIDs(t, e))
}

func TestReplan_WorkersChangeInPlace(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 3)
	apply(t, e, planSeason(e))
	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)

	// One saved job loses a worker; another is dropped for a new job of
	// its request on another day.
	plan := previousPlan(in)
	news := plan.Assignments[len(in.Fixed):]
	i := slices.IndexFunc(news, func(a planner.Assignment) bool { return len(a.Workers) > 1 })
	require.GreaterOrEqual(t, i, 0, "a saved job with two member households")
	changed := news[i]
	news[i].Workers = slices.Clone(changed.Workers[1:])
	jobs, _, err := e.St.ListJobs(e.Ctx, e.V.ID, store.JobFilter{State: store.JobScheduled, RequestID: changed.Request}, store.Page{Limit: 50})
	require.NoError(t, err)
	before := jobs[slices.IndexFunc(jobs, func(j *store.Job) bool { return j.Date == changed.Date && j.TeamID == changed.Team })]

	events := int64(storetest.CountRows(t, e.St, "outbox"))
	res, err := scheduler.ApplyPlan(e.Ctx, e.St, e.V.ID, planCadre, planSeason(e), plan)
	require.NoError(t, err)
	assert.Equal(t, 1, res.WorkersChanged)
	assert.Equal(t, len(in.Previous)-1, res.Kept)
	assert.Zero(t, res.Created)
	assert.Empty(t, res.Cancelled)

	after, err := e.St.GetJob(e.Ctx, e.V.ID, before.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JobScheduled, after.State, "the same job, not cancelled and made again")
	assert.Equal(t, before.Version+1, after.Version)
	assert.Equal(t, scheduler.PlannedWorkers(news[i].Workers), after.Workers)
	trs := storetest.LoopChain(t, e, "job", after.ID, store.JobScheduled)
	assert.Equal(t, "派工人数调整 workers changed", trs[len(trs)-1].Note)

	r, err := e.St.GetRequest(e.Ctx, e.V.ID, changed.Request)
	require.NoError(t, err)
	assert.Equal(t, []string{
		fmt.Sprintf("household:%d plan.updated request:%d", r.HouseholdID, r.ID),
		fmt.Sprintf("team:%d plan.updated team:%d", changed.Team, changed.Team),
	}, storetest.LoopEvents(t, e, events), "only those of the changed job hear, once each")
	evs, err := e.St.Outbox(e.Ctx, e.V.ID, store.OutboxFilter{After: events})
	require.NoError(t, err)
	assert.Contains(t, evs[0].Message, "人数调整 workers "+changed.Date)
	assert.Contains(t, evs[1].Message, "人数调整 workers "+changed.Date)
}

func TestReplan_OneNoticePerHouseholdAndTeam(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 5) // all of 章仁标's
	other := e.Field(t, e.Exempt, 200)
	e.Request(t, func(in *store.NewRequest) { in.HouseholdID, in.FieldID = e.Exempt.ID, other.ID })
	for run := range 3 {
		events := int64(storetest.CountRows(t, e.St, "outbox"))
		_, res := apply(t, e, planSeason(e))
		seen := map[string]int{}
		for _, ev := range storetest.LoopEvents(t, e, events) {
			audience, _, _ := strings.Cut(ev, " ")
			seen[audience]++
		}
		for who, n := range seen {
			assert.Equal(t, 1, n, "run %d: %s hears once", run, who)
		}
		if run == 0 {
			assert.Contains(t, seen, fmt.Sprintf("household:%d", e.Helped.ID))
			assert.Contains(t, seen, fmt.Sprintf("household:%d", e.Exempt.ID))
			assert.Equal(t, len(res.Jobs), res.Created)
		}
		// Something changes between runs: a new request of 章仁标's.
		e.Request(t, func(in *store.NewRequest) { in.FieldID = e.Field(t, e.Helped, 100).ID })
	}
}

func TestReplan_RequestsCarryCrewAreaAndUnplaced(t *testing.T) {
	e := storetest.NewLoop(t)
	reqs := planRequests(t, e, 2)
	_, err := e.St.DB().ExecContext(e.Ctx, "UPDATE help_requests SET crew_cap = 3 WHERE id = ?", reqs[0].ID)
	require.NoError(t, err)
	// A request whose window is past the season's last day: never placed.
	far := e.Request(t, func(in *store.NewRequest) {
		in.FieldID = e.Field(t, e.Helped, 150).ID
		in.Earliest, in.Latest, in.HalfDays = "2026-05-10", "2026-05-10", 400
	})

	in, err := scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)
	byID := map[int64]planner.Request{}
	for _, r := range in.Requests {
		byID[r.ID] = r
	}
	assert.Equal(t, 3, byID[reqs[0].ID].CrewCap)
	assert.Equal(t, 0, byID[reqs[1].ID].CrewCap, "no cap set: the planner's default")
	assert.InDelta(t, 3.0, byID[reqs[1].ID].Area, 1e-9)
	assert.InDelta(t, 1.5, byID[far.ID].Area, 1e-9)
	assert.False(t, byID[far.ID].LeftUnplaced, "no plan has run")

	p, res := apply(t, e, planSeason(e))
	require.Contains(t, res.Unplaced, far.ID, "plan %+v", p.Unplaced)
	got, _ := e.Reload(t, far.ID)
	assert.Equal(t, store.RequestSubmitted, got.State)
	assert.NotEmpty(t, got.UnplacedReason)
	in, err = scheduler.PlanInstance(e.Ctx, e.St, e.V.ID, planSeason(e))
	require.NoError(t, err)
	for _, r := range in.Requests {
		assert.Equal(t, r.ID == far.ID, r.LeftUnplaced, "request %d", r.ID)
	}
	placed, _ := e.Reload(t, reqs[1].ID)
	assert.Empty(t, placed.UnplacedReason)
}

func TestReplan_FreezeDaysSetting(t *testing.T) {
	e := storetest.NewLoop(t)
	assert.Equal(t, store.DefaultFreezeDays, e.V.FreezeDays, "a new village: today and tomorrow")
	for _, tc := range []struct {
		days int
		ok   bool
	}{{0, true}, {1, true}, {14, true}, {-1, false}, {15, false}} {
		t.Run(fmt.Sprint(tc.days), func(t *testing.T) {
			v, err := e.St.UpdateVillage(e.Ctx, e.V.ID, store.VillageUpdate{FreezeDays: &tc.days})
			if !tc.ok {
				storetest.AssertError(t, err, store.EINVALID, "body.freezeDays")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.days, v.FreezeDays)
			got, err := e.St.GetVillage(e.Ctx, e.V.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.days, got.FreezeDays, "stored as given, 0 included")
		})
	}
	v, err := e.St.UpdateVillage(e.Ctx, e.V.ID, store.VillageUpdate{})
	require.NoError(t, err)
	assert.Equal(t, 14, v.FreezeDays, "nil leaves it")
}

// The tests below need the planner to keep the saved jobs it is given in
// Instance.Previous (issue 14's solver); until it does they fail.

func TestReplan_UnchangedVillageChangesNothing(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 4)
	apply(t, e, planSeason(e))
	ids := pendingIDs(t, e)
	before := storetest.LoopCounts(t, e.St)
	p, res := apply(t, e, planSeason(e))
	assert.Empty(t, p.Changes)
	assert.Zero(t, res.Created)
	assert.Empty(t, res.Cancelled)
	assert.Zero(t, res.WorkersChanged)
	assert.Equal(t, before, storetest.LoopCounts(t, e.St), "no notice, no transition, no job")
	assert.Equal(t, ids, pendingIDs(t, e))
}

func TestReplan_NewRequestKeepsTheSavedJobs(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 3)
	apply(t, e, planSeason(e))
	ids := pendingIDs(t, e)
	r := e.Request(t, func(in *store.NewRequest) { in.FieldID = e.Field(t, e.Helped, 100).ID })
	_, res := apply(t, e, planSeason(e))
	assert.Empty(t, res.Cancelled)
	assert.Subset(t, pendingIDs(t, e), ids, "every saved job is still there")
	assert.Contains(t, res.Scheduled, r.ID)
	assertHardRules(t, e)
}

func TestReplan_RainMovesOnlyThatDay(t *testing.T) {
	e := storetest.NewLoop(t)
	planRequests(t, e, 4)
	_, res := apply(t, e, planSeason(e))
	rainy := res.Jobs[len(res.Jobs)/2].Date
	var dry []int64
	for _, j := range res.Jobs {
		if j.Date != rainy {
			dry = append(dry, j.ID)
		}
	}
	_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{rainy}, 0, "大雨")
	require.NoError(t, err)
	_, res2 := apply(t, e, planSeason(e))
	assert.Empty(t, res2.Cancelled, "the rained-out jobs were cancelled by the rain; no other moves")
	assert.Subset(t, pendingIDs(t, e), dry, "the jobs of the dry days stay")
	assertHardRules(t, e)
}
