package planner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

// small is a two-team, three-request instance that plans cleanly.
func small() Instance {
	return Instance{
		Start: "2026-04-20", End: "2026-04-29",
		Requests: []Request{
			{ID: 1, Household: 10, Group: 1, Task: "prepare", HalfDays: 3, Earliest: "2026-04-20", Latest: "2026-04-22", Priority: 3},
			{ID: 2, Household: 10, Group: 1, Task: "transplant", HalfDays: 9, Earliest: "2026-04-21", Latest: "2026-04-25", Priority: 3, After: []int64{1}},
			{ID: 3, Household: 11, Group: 2, Task: "transplant", HalfDays: 6, Earliest: "2026-04-20", Latest: "2026-04-24", Priority: 1},
		},
		Teams: []Team{
			{ID: 1, Members: []Member{{Household: 20, Group: 1, Workers: 2}, {Household: 21, Group: 1, Workers: 1, Unavailable: []string{"2026-04-21"}}}},
			{ID: 2, Members: []Member{{Household: 22, Group: 2, Workers: 1}}},
		},
		Blocked:  []Blocked{{Date: "2026-04-23"}, {Date: "2026-04-22", Group: 2}},
		Balances: map[int64]int64{20: -6, 21: 4, 22: 0, 10: -2},
	}
}

func TestSolveSmall(t *testing.T) {
	in := small()
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	assert.Empty(t, plan.Unplaced)
	assert.Empty(t, plan.Late)
	assert.Equal(t, plan.Bound.HalfDays, plan.Score.InWindowHalfDays, "all of it fits")
}

func TestSolveRefusesBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		edit  func(in *Instance)
		field string
	}{
		"bad start":           {func(in *Instance) { in.Start = "20.4.2026" }, "start"},
		"end before start":    {func(in *Instance) { in.End = "2026-04-01" }, "end"},
		"no teams":            {func(in *Instance) { in.Teams = nil }, "teams"},
		"empty team":          {func(in *Instance) { in.Teams[1].Members = nil }, "teams[1].members"},
		"duplicate team":      {func(in *Instance) { in.Teams[1].ID = 1 }, "teams[1].id"},
		"no workers":          {func(in *Instance) { in.Teams[0].Members[1].Workers = 0 }, "teams[0].members[1].workers"},
		"member twice":        {func(in *Instance) { in.Teams[0].Members[1].Household = 20 }, "teams[0].members[1].household"},
		"bad unavailable day": {func(in *Instance) { in.Teams[0].Members[1].Unavailable[0] = "tomorrow" }, "teams[0].members[1].unavailable[0]"},
		"bad blocked day":     {func(in *Instance) { in.Blocked[0].Date = "" }, "blocked[0].date"},
		"zero half days":      {func(in *Instance) { in.Requests[2].HalfDays = 0 }, "requests[2].halfDays"},
		"negative half days":  {func(in *Instance) { in.Requests[0].HalfDays = -4 }, "requests[0].halfDays"},
		"earliest > latest":   {func(in *Instance) { in.Requests[2].Earliest = "2026-04-25" }, "requests[2].earliest"},
		"bad latest":          {func(in *Instance) { in.Requests[1].Latest = "2026-02-30" }, "requests[1].latest"},
		"priority 0":          {func(in *Instance) { in.Requests[0].Priority = 0 }, "requests[0].priority"},
		"duplicate request":   {func(in *Instance) { in.Requests[2].ID = 1 }, "requests[2].id"},
		"unknown after":       {func(in *Instance) { in.Requests[1].After = []int64{1, 99} }, "requests[1].after[1]"},
		"self cycle":          {func(in *Instance) { in.Requests[2].After = []int64{3} }, "requests[2].after"},
		"cycle": {func(in *Instance) {
			in.Requests[0].After = []int64{3}
			in.Requests[2].After = []int64{2}
		}, "requests[1].after"},
		"after the end": {func(in *Instance) {
			in.Requests[2].Earliest, in.Requests[2].Latest = "2026-05-02", "2026-05-05"
		}, "requests[2]"},
		"no one available": {func(in *Instance) {
			in.Requests[2].Earliest, in.Requests[2].Latest = "2026-04-28", "2026-04-29"
			in.Blocked = append(in.Blocked, Blocked{Date: "2026-04-28"}, Blocked{Date: "2026-04-29", Group: 2})
		}, "requests[2]"},
		"fixed unknown request": {func(in *Instance) {
			in.Fixed = []Assignment{{Request: 7, Team: 1, Date: "2026-04-20", Workers: []Worker{{Household: 20, HalfDays: 2}}}}
		}, "fixed[0].request"},
		"fixed not a member": {func(in *Instance) {
			in.Fixed = []Assignment{{Request: 1, Team: 1, Date: "2026-04-20", Workers: []Worker{{Household: 22, HalfDays: 2}}}}
		}, "fixed[0].workers[0].household"},
	} {
		t.Run(name, func(t *testing.T) {
			in := small()
			tc.edit(&in)
			_, err := Solve(context.Background(), in, Options{})
			var ie *InputError
			require.True(t, errors.As(err, &ie), "an *InputError, got %v", err)
			assert.Equal(t, tc.field, ie.Field, ie.Error())
			assert.NotEmpty(t, ie.Message)
			_, err = Bound(in)
			assert.Error(t, err, "Bound checks the same")
		})
	}
}

func TestCycleErrorNamesTheCycle(t *testing.T) {
	in := small()
	in.Requests[0].After = []int64{3}
	in.Requests[2].After = []int64{2}
	_, err := Solve(context.Background(), in, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2 → 3 → 1 → 2")
}

func TestFixedJobsAreKept(t *testing.T) {
	in := small()
	in.Fixed = []Assignment{{Request: 2, Team: 2, Date: "2026-04-24", Workers: []Worker{{Household: 22, HalfDays: 2}}}}
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	assert.Contains(t, plan.Assignments, Assignment{Request: 2, Team: 2, Date: "2026-04-24", Workers: []Worker{{Household: 22, HalfDays: 2}}, Fixed: true})
	for _, a := range plan.Assignments {
		if a.Date == "2026-04-24" && !a.Fixed {
			for _, w := range a.Workers {
				assert.NotEqual(t, int64(22), w.Household, "household 22 is already on the fixed job")
			}
		}
	}
}

func TestLateAndUnplacedAreReported(t *testing.T) {
	in := small()
	// Request 1 needs more than the teams can give by the end.
	in.Requests[0].HalfDays = 100
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	require.NotEmpty(t, plan.Unplaced)
	assert.Equal(t, int64(1), plan.Unplaced[0].Request)
	require.Len(t, plan.Unplaced, 2, "request 2 waits for request 1")
	assert.Contains(t, plan.Unplaced[1].Reason, "waits for request 1")

	in = small()
	in.Requests[2].HalfDays = 30
	plan, err = Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	assert.Empty(t, plan.Unplaced)
	require.NotEmpty(t, plan.Late)
	assert.Positive(t, plan.Score.LateHalfDays)
}
