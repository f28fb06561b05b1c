package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// planCadre is who saves the plans in these tests.
const planCadre = "cadre:plan"

// planSeason is the scope of the loop village's open spring season.
func planSeason(e *loopEnv) store.PlanScope { return store.PlanScope{SeasonID: e.Season.ID} }

func TestPlan_Scope(t *testing.T) {
	e := loopSetup(t)
	closed := &store.Season{VillageID: e.V.ID, Kind: store.SeasonSpring, StartDate: "2025-04-05", EndDate: "2025-05-10", Tasks: []string{store.TaskPrepare}}
	require.NoError(t, e.St.CreateSeason(e.Ctx, closed))
	past := &store.Season{VillageID: e.V.ID, Kind: store.SeasonAutumn, StartDate: "2025-10-01", EndDate: "2025-11-01", Tasks: []string{store.TaskHarvest}}
	require.NoError(t, e.St.CreateSeason(e.Ctx, past))
	loopSeasonState(t, e, closed.ID, store.SeasonOpen)
	loopSeasonState(t, e, closed.ID, store.SeasonClosed)
	for _, tc := range []struct {
		name        string
		scope       store.PlanScope
		code, field string
	}{
		{"nothing", store.PlanScope{}, store.EINVALID, "body.seasonId"},
		{"both", store.PlanScope{SeasonID: e.Season.ID, From: "2026-04-20", To: "2026-04-30"}, store.EINVALID, "body.seasonId"},
		{"from alone", store.PlanScope{From: "2026-04-20"}, store.EINVALID, "body.to"},
		{"to alone", store.PlanScope{To: "2026-04-20"}, store.EINVALID, "body.from"},
		{"to before from", store.PlanScope{From: "2026-04-20", To: "2026-04-19"}, store.EINVALID, "body.to"},
		{"not a date", store.PlanScope{From: "2026-04-31", To: "2026-05-01"}, store.EINVALID, "body.from"},
		{"over a year", store.PlanScope{From: "2026-04-20", To: "2027-04-21"}, store.EINVALID, "body.to"},
		{"range in the past", store.PlanScope{From: "2026-04-01", To: "2026-04-19"}, store.EINVALID, "body.to"},
		{"unknown season", store.PlanScope{SeasonID: 999}, store.EINVALID, "body.seasonId"},
		{"closed season", store.PlanScope{SeasonID: closed.ID}, store.ECONFLICT, "body.seasonId"},
		{"season over", store.PlanScope{SeasonID: past.ID}, store.EINVALID, "body.seasonId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.St.PlanningRecords(e.Ctx, e.V.ID, tc.scope)
			AssertError(t, err, tc.code, tc.field)
			_, err = e.St.SavePlan(e.Ctx, e.V.ID, planCadre, tc.scope, store.PlanSave{})
			AssertError(t, err, tc.code, tc.field)
		})
	}
	t.Run("another village's season", func(t *testing.T) {
		other := MustVillage(t, e.St, "邻村")
		_, err := e.St.PlanningRecords(e.Ctx, other.ID, planSeason(e))
		AssertError(t, err, store.EINVALID, "body.seasonId")
	})
}

func TestPlanningRecords(t *testing.T) {
	e := loopSetup(t)
	// A done job on the first day of the window, a confirmed request, and
	// a request with a scheduled job past the freeze horizon.
	done, doneJob := e.Reach(t, store.RequestDone)
	kept, keptJob := e.Reach(t, store.RequestConfirmed)
	moving, movingJob := e.Reach(t, store.RequestScheduled)
	fresh := e.Request(t, nil)
	_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{"2026-04-29"}, 2, "冰雹")
	require.NoError(t, err)

	rec, err := e.St.PlanningRecords(e.Ctx, e.V.ID, planSeason(e))
	require.NoError(t, err)
	assert.Equal(t, "2026-04-20", rec.Start, "nothing is planned before today")
	assert.Equal(t, "2026-05-10", rec.End)
	var ids []string
	for _, r := range rec.Requests {
		ids = append(ids, fmt.Sprintf("%d replan=%v half=%d field=%d household=%d", r.Request.ID, r.Replan, r.HalfDays, r.Field.ID, r.Household.ID))
	}
	assert.Equal(t, []string{
		fmt.Sprintf("%d replan=false half=6 field=%d household=%d", done.ID, done.FieldID, e.Helped.ID),
		fmt.Sprintf("%d replan=false half=6 field=%d household=%d", kept.ID, kept.FieldID, e.Helped.ID),
		fmt.Sprintf("%d replan=true half=%d field=%d household=%d", moving.ID, moving.HalfDays, moving.FieldID, e.Helped.ID),
		fmt.Sprintf("%d replan=true half=%d field=%d household=%d", fresh.ID, fresh.HalfDays, fresh.FieldID, e.Helped.ID),
	}, ids, "the done and confirmed requests are there for their jobs")
	two := []store.PlanWorker{{HouseholdID: e.A.ID, HalfDays: 4}, {HouseholdID: e.B.ID, HalfDays: 2}}
	assert.Equal(t, []store.PlanJob{
		{RequestID: done.ID, TeamID: e.Team1.ID, Date: doneJob.Date, Workers: two},
		{RequestID: kept.ID, TeamID: e.Team1.ID, Date: keptJob.Date, Workers: two},
	}, rec.Fixed)
	assert.Equal(t, []store.PlanJob{{RequestID: moving.ID, TeamID: e.Team1.ID, Date: movingJob.Date, Workers: two}}, rec.Previous,
		"the scheduled job past the freeze horizon may move")
	assert.Equal(t, []store.PlanTeam{
		{ID: e.Team1.ID, Members: []store.PlanMember{
			{HouseholdID: e.A.ID, Group: 1, WorkersPerDay: 2}, {HouseholdID: e.B.ID, Group: 1, WorkersPerDay: 1},
			{HouseholdID: e.C.ID, Group: 1, WorkersPerDay: 2}}},
		{ID: e.Team2.ID, Members: []store.PlanMember{{HouseholdID: e.D.ID, Group: 1, WorkersPerDay: 1}}},
	}, rec.Teams, "the day c is off falls outside the plan")
	require.Len(t, rec.Blocked, 1)
	assert.Equal(t, []any{"2026-04-29", 2}, []any{rec.Blocked[0].Date, rec.Blocked[0].Group})
	assert.Equal(t, map[int64]int64{e.Helped.ID: -6, e.A.ID: 4, e.B.ID: 2}, rec.Balances)
}

// TestSavePlan_Check saves plans made by hand, with no planner: the save
// refuses one that breaks a rule guarding the records, writing nothing,
// and saves one that keeps them.
func TestSavePlan_Check(t *testing.T) {
	e := loopSetup(t)
	_, keptJob := e.Reach(t, store.RequestConfirmed)
	r := e.Request(t, nil)
	empty := MustTeam(t, e.St, e.V.ID, "第三互助队")
	_, err := e.St.BlockDays(e.Ctx, e.V.ID, planCadre, []string{"2026-04-28"}, 0, "大雨")
	require.NoError(t, err)
	// c is off on a day of the window.
	require.NoError(t, e.St.RemoveTeamMember(e.Ctx, e.V.ID, e.Team1.ID, e.C.ID))
	require.NoError(t, e.St.AddTeamMember(e.Ctx, e.V.ID, &store.TeamMember{TeamID: e.Team1.ID, HouseholdID: e.C.ID,
		WorkersPerDay: 2, UnavailableDays: []string{"2026-04-26"}}))
	rec, err := e.St.PlanningRecords(e.Ctx, e.V.ID, planSeason(e))
	require.NoError(t, err)
	require.Len(t, rec.Fixed, 1)
	fixed := rec.Fixed[0]
	a := func(half int64) store.PlanWorker { return store.PlanWorker{HouseholdID: e.A.ID, HalfDays: half} }
	job := func(team *store.Team, date string, ws ...store.PlanWorker) store.PlanJob {
		return store.PlanJob{RequestID: r.ID, TeamID: team.ID, Date: date, Workers: ws}
	}
	good := store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-26", a(4)), job(e.Team2, "2026-04-27",
		store.PlanWorker{HouseholdID: e.D.ID, HalfDays: 2})}}

	for _, tc := range []struct {
		name string
		save store.PlanSave
		why  string // what the refusal says
	}{
		{"a fixed job left out", store.PlanSave{Jobs: good.Jobs}, "the plan does not know"},
		{"a fixed job changed", store.PlanSave{Fixed: []store.PlanJob{{RequestID: fixed.RequestID, TeamID: fixed.TeamID,
			Date: "2026-04-29", Workers: fixed.Workers}}, Jobs: good.Jobs}, "is no longer kept as it was"},
		{"a request to plan left out", store.PlanSave{Fixed: rec.Fixed}, "is new to the plan"},
		{"a request not to plan", store.PlanSave{Fixed: rec.Fixed, Jobs: good.Jobs,
			Unplaced: []store.UnplacedRequest{{RequestID: keptJob.RequestID, Reason: "x"}}}, "is no longer to plan"},
		{"a job of a kept request", store.PlanSave{Fixed: rec.Fixed, Jobs: append([]store.PlanJob{{RequestID: keptJob.RequestID,
			TeamID: e.Team2.ID, Date: "2026-04-29", Workers: []store.PlanWorker{{HouseholdID: e.D.ID, HalfDays: 2}}}}, good.Jobs...)}, "is no longer to plan"},
		{"a team with no one", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(empty, "2026-04-26", a(2))}}, "has no members"},
		{"outside the dates", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-05-11", a(2))}}, "is outside the plan's dates"},
		{"before the window", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-24", a(2))}}, "window opens on"},
		{"a blocked day", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-28", a(2))}}, "is blocked"},
		{"no workers", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-26")}}, "has no workers"},
		{"not a member", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team2, "2026-04-26", a(2))}}, "is not a member of team"},
		{"more than offered", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-26", a(5))}}, "not 5 half days"},
		{"a day off", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, "2026-04-26",
			store.PlanWorker{HouseholdID: e.C.ID, HalfDays: 2})}}, "cannot come on"},
		{"two jobs a day", store.PlanSave{Fixed: rec.Fixed, Jobs: []store.PlanJob{job(e.Team1, fixed.Date, a(2))}}, "is on two jobs on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := loopCounts(t, e.St)
			_, err := e.St.SavePlan(e.Ctx, e.V.ID, planCadre, planSeason(e), tc.save)
			AssertError(t, err, store.ECONFLICT, "")
			assert.ErrorContains(t, err, tc.why)
			loopAssertNothingWritten(t, e, before)
		})
	}

	t.Run("a plan that fits is saved", func(t *testing.T) {
		events := int64(CountRows(t, e.St, "outbox"))
		res, err := e.St.SavePlan(e.Ctx, e.V.ID, planCadre, planSeason(e), good)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Created)
		assert.Equal(t, []int64{r.ID}, res.Scheduled)
		assert.Empty(t, res.Unplaced)
		require.Len(t, res.Jobs, 2)
		assert.Equal(t, []store.PlannedWorker{{HouseholdID: e.A.ID, Workers: 2}}, res.Jobs[0].Workers)
		got, _ := e.Reload(t, r.ID)
		assert.Equal(t, store.RequestScheduled, got.State)
		assert.Equal(t, []string{
			fmt.Sprintf("household:%d plan.updated request:%d", e.Helped.ID, r.ID),
			fmt.Sprintf("team:%d plan.updated team:%d", e.Team1.ID, e.Team1.ID),
			fmt.Sprintf("team:%d plan.updated team:%d", e.Team2.ID, e.Team2.ID),
		}, loopEvents(t, e, events), "one digest a household and a team")
	})

	t.Run("the request left unplaced keeps its reason", func(t *testing.T) {
		rec, err := e.St.PlanningRecords(e.Ctx, e.V.ID, planSeason(e))
		require.NoError(t, err)
		res, err := e.St.SavePlan(e.Ctx, e.V.ID, planCadre, planSeason(e), store.PlanSave{Fixed: rec.Fixed,
			Unplaced: []store.UnplacedRequest{{RequestID: r.ID, Reason: "人手不够"}}})
		require.NoError(t, err)
		assert.Equal(t, []int64{r.ID}, res.Unplaced)
		assert.Len(t, res.Cancelled, 2)
		got, _ := e.Reload(t, r.ID)
		assert.Equal(t, store.RequestSubmitted, got.State)
		assert.Equal(t, "人手不够", got.UnplacedReason)
	})
}
