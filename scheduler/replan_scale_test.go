package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"huangong/scheduler"
	"huangong/scheduler/planner"
	"huangong/seed"
	"huangong/store"
	"huangong/store/storetest"
)

// TestReplan_Scale plans a generated village of 5,000 and one of 20,000
// households through the store, twice (a first plan, then a re-plan
// after a rain day), and logs how long building the instance, solving and
// saving took, apart. It asserts nothing about time; it is opt-in:
//
//	HUANGONG_SCALE=1 go test ./scheduler -run TestReplan_Scale -v -timeout 30m
func TestReplan_Scale(t *testing.T) {
	if os.Getenv("HUANGONG_SCALE") == "" {
		t.Skip("set HUANGONG_SCALE=1 to plan villages of 5,000 and 20,000 households")
	}
	for _, n := range []int{5000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { scaleRun(t, n) })
	}
}

func scaleRun(t *testing.T, households int) {
	ctx := context.Background()
	st, _ := storetest.MustOpen(t)
	start := time.Now()
	v, _, err := st.ImportVillage(ctx, seed.Generate(seed.Config{Name: "大村", Households: households,
		Groups: households / 250, Teams: households / 100, Seed: 14}), false)
	require.NoError(t, err)
	se := &store.Season{VillageID: v.ID, Kind: store.SeasonSpring, StartDate: "2026-04-05", EndDate: "2026-05-10",
		Tasks: []string{store.TaskTransplant}}
	require.NoError(t, st.CreateSeason(ctx, se))
	_, err = st.UpdateSeason(ctx, v.ID, se.ID, 0, func(s *store.Season) error { s.State = store.SeasonOpen; return nil })
	require.NoError(t, err)

	// Every household in no team asks for help transplanting its rice
	// (after the freeze horizon, so that a re-plan has saved jobs to
	// keep), entered straight into the table so the set-up stays short.
	var fields []*store.Field
	require.NoError(t, st.DB().NewSelect().Model(&fields).Where("village_id = ?", v.ID).Where("crop IN (?)", bun.In([]string{store.CropEarlyRice, store.CropSingleRice})).
		Where("household_id NOT IN (SELECT household_id FROM team_members)").OrderExpr("id").Scan(ctx))
	now := storetest.T0.UTC()
	var reqs []*store.HelpRequest
	for i, f := range fields {
		key := fmt.Sprintf("%d:%s", f.ID, store.TaskTransplant)
		reqs = append(reqs, &store.HelpRequest{VillageID: v.ID, HouseholdID: f.HouseholdID, FieldID: f.ID, SeasonID: se.ID,
			Task: store.TaskTransplant, Earliest: fmt.Sprintf("2026-04-%02d", 23+i%4), Latest: fmt.Sprintf("2026-05-%02d", 1+i%9),
			HalfDays: max(2, 3*f.AreaCentimu/100), Priority: 1 + i%5, State: store.RequestSubmitted, OpenKey: &key,
			EnteredBy: "cadre:scale", SubmittedAt: now, Version: 1, CreatedAt: now, UpdatedAt: now})
	}
	for i := 0; i < len(reqs); i += 500 {
		chunk := reqs[i:min(i+500, len(reqs))]
		_, err := st.DB().NewInsert().Model(&chunk).Exec(ctx)
		require.NoError(t, err)
	}
	t.Logf("%d households, %d requests, set up in %v", households, len(reqs), time.Since(start).Round(time.Millisecond))

	scope := store.PlanScope{SeasonID: se.ID}
	run := func(what string) *store.PlanResult {
		t0 := time.Now()
		in, err := scheduler.PlanInstance(ctx, st, v.ID, scope)
		require.NoError(t, err)
		t1 := time.Now()
		plan, err := scheduler.SolveVillage(ctx, in, planner.Options{})
		require.NoError(t, err)
		t2 := time.Now()
		res, err := scheduler.ApplyPlan(ctx, st, v.ID, "cadre:scale", scope, plan)
		require.NoError(t, err)
		t3 := time.Now()
		t.Logf("%s: instance %v, solve %v, save %v (kept %d, workers changed %d, created %d, cancelled %d, unplaced %d)",
			what, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond),
			res.Kept, res.WorkersChanged, res.Created, len(res.Cancelled), len(res.Unplaced))
		return res
	}
	first := run("first plan")
	require.NotZero(t, first.Created)
	_, err = st.BlockDays(ctx, v.ID, "cadre:scale", []string{"2026-04-25"}, 0, "大雨")
	require.NoError(t, err)
	run("re-plan after rain")
}
