package planner_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

// jobKey is what "kept" means: the same request, day and team.
type jobKey struct {
	req, team int64
	date      string
}

func jobKeys(as []Assignment) map[jobKey][]Worker {
	out := map[jobKey][]Worker{}
	for _, a := range as {
		if !a.Fixed {
			out[jobKey{a.Request, a.Team, a.Date}] = a.Workers
		}
	}
	return out
}

// TestReplanUnchangedKeepsEverything: the nightly plan of a village where
// nothing happened gives back the saved plan, job for job and worker for
// worker, at both loads (at tight load some requests stay unplaced).
func TestReplanUnchangedKeepsEverything(t *testing.T) {
	for _, load := range []float64{normal, tight} {
		in := MustVillage(t, 300, 41, load)
		first, err := Solve(context.Background(), in, Options{Seed: 1})
		require.NoError(t, err)
		in.Previous = PreviousOf(first)
		markUnplaced(&in, first)
		again, err := Solve(context.Background(), in, Options{Seed: 2})
		require.NoError(t, err)
		checkPlan(t, in, again)
		assert.Empty(t, again.Changes, "load %.1f", load)
		assert.Equal(t, jobKeys(first.Assignments), jobKeys(again.Assignments), "load %.1f", load)
		assert.Zero(t, again.Score.ChangeCost)
		assert.Equal(t, first.Score.FinishedWeighted, again.Score.FinishedWeighted)
	}
}

// markUnplaced sets LeftUnplaced on the requests a saved plan could not
// place, as the store does.
func markUnplaced(in *Instance, plan Plan) {
	for _, u := range plan.Unplaced {
		for i := range in.Requests {
			if in.Requests[i].ID == u.Request {
				in.Requests[i].LeftUnplaced = true
			}
		}
	}
}

// TestReplanAfterRainMovesOnlyTheRainDay: after a rain-out, the jobs moved
// are those of the rained-out day, of the same requests, and those their
// precedence forces; every other job stays with its team and workers.
func TestReplanAfterRainMovesOnlyTheRainDay(t *testing.T) {
	in := MustVillage(t, 300, 43, normal)
	before, err := Solve(context.Background(), in, Options{Seed: 1})
	require.NoError(t, err)
	rain := "2026-04-17"
	in.Blocked = append(in.Blocked, Blocked{Date: rain})
	in.Previous = PreviousOf(before)
	after, err := Solve(context.Background(), in, Options{Seed: 1})
	require.NoError(t, err)
	checkPlan(t, in, after)

	rained := map[int64]bool{} // requests with work on the rain day
	for _, a := range in.Previous {
		if a.Date == rain {
			rained[a.Request] = true
		}
	}
	require.NotEmpty(t, rained)
	succ := map[int64][]int64{}
	for _, r := range in.Requests {
		for _, a := range r.After {
			succ[a] = append(succ[a], r.ID)
		}
	}
	// The requests precedence may drag along: successors of a rained one.
	touched := map[int64]bool{}
	var walk func(id int64)
	walk = func(id int64) {
		if touched[id] {
			return
		}
		touched[id] = true
		for _, s := range succ[id] {
			walk(s)
		}
	}
	for id := range rained {
		walk(id)
	}
	now := jobKeys(after.Assignments)
	moved := 0
	for _, a := range in.Previous {
		ws, kept := now[jobKey{a.Request, a.Team, a.Date}]
		if kept && slices.Equal(ws, a.Workers) {
			continue
		}
		moved++
		assert.True(t, a.Date == rain || touched[a.Request], "the job of request %d on %s moved, untouched by the rain", a.Request, a.Date)
	}
	assert.Len(t, after.Changes, moved)
	for _, c := range after.Changes {
		switch {
		case c.Date == rain:
			assert.Equal(t, ReasonBlocked, c.Reason, "%+v", c)
		default:
			assert.Contains(t, []string{ReasonRequest, ReasonPrecedence, ReasonMoreFinished}, c.Reason, "%+v", c)
		}
		assert.NotEmpty(t, c.Message)
	}
	t.Logf("previous jobs %d, on the rain day %d, changed %d", len(in.Previous), countOn(in.Previous, rain), moved)
}

func countOn(as []Assignment, date string) int {
	n := 0
	for _, a := range as {
		if a.Date == date {
			n++
		}
	}
	return n
}

// TestReplanNewRequestKeepsOthers: one request added to a saved plan goes
// into free capacity; no saved job moves unless more requests finish.
func TestReplanNewRequestKeepsOthers(t *testing.T) {
	in := MustVillage(t, 300, 47, normal)
	before, err := Solve(context.Background(), in, Options{Seed: 1})
	require.NoError(t, err)
	in.Previous = PreviousOf(before)
	in.Requests = append(in.Requests, Request{ID: 99999, Household: 5, Group: 1, HalfDays: 6,
		Earliest: "2026-04-15", Latest: "2026-04-19", Priority: 3, Area: 1.5})
	after, err := Solve(context.Background(), in, Options{Seed: 1})
	require.NoError(t, err)
	checkPlan(t, in, after)
	for _, c := range after.Changes {
		assert.Equal(t, ReasonMoreFinished, c.Reason, "%+v", c)
	}
	if len(after.Changes) > 0 {
		assert.Greater(t, after.Score.Finished, before.Score.Finished)
	}
	assert.NotContains(t, unplacedIDs(after), int64(99999))
	t.Logf("changes %d, finished %d → %d", len(after.Changes), before.Score.Finished, after.Score.Finished)
}

func unplacedIDs(p Plan) []int64 {
	var out []int64
	for _, u := range p.Unplaced {
		out = append(out, u.Request)
	}
	return out
}

// TestFinishedBeforeWeighted: one household of five offers 10 half days
// a day for two days: room for the large request (20 half days, the
// whole two days) or for the two small ones (8 each, a day each), not
// for both. Two households done in time, at the same priority, count
// more than the most workdays.
func TestFinishedBeforeWeighted(t *testing.T) {
	in := Instance{
		Start: "2027-04-05", End: "2027-04-06",
		Requests: []Request{
			{ID: 1, Household: 100, HalfDays: 20, Earliest: "2027-04-05", Latest: "2027-04-06", Priority: 2, CrewCap: 5},
			{ID: 2, Household: 101, HalfDays: 8, Earliest: "2027-04-05", Latest: "2027-04-06", Priority: 2, CrewCap: 5},
			{ID: 3, Household: 102, HalfDays: 8, Earliest: "2027-04-05", Latest: "2027-04-06", Priority: 2, CrewCap: 5},
		},
		Teams: []Team{{ID: 1, Members: []Member{{Household: 10, Workers: 5}}}},
	}
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	assert.Equal(t, []int64{1}, unplacedIDs(plan))
	assert.Equal(t, 2, plan.Score.Finished)
	assert.Equal(t, int64(4), plan.Score.FinishedWeighted)
	assert.GreaterOrEqual(t, plan.Bound.Finished, plan.Score.FinishedWeighted)
}

// TestOneTeamAndCrewCap: a day's work of a field is one team's and no
// more people than its crew cap, even when two teams could do it all at
// once: a 1-mu paddy (cap 2) needing 12 half days takes three days.
func TestOneTeamAndCrewCap(t *testing.T) {
	in := Instance{
		Start: "2027-04-05", End: "2027-04-12",
		Requests: []Request{{ID: 1, Household: 100, HalfDays: 12, Earliest: "2027-04-05", Latest: "2027-04-10", Priority: 1, Area: 1}},
		Teams: []Team{
			{ID: 1, Members: []Member{{Household: 10, Workers: 2}, {Household: 11, Workers: 1}}},
			{ID: 2, Members: []Member{{Household: 20, Workers: 3}}},
		},
	}
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	require.Len(t, plan.Assignments, 3)
	for _, a := range plan.Assignments {
		assert.Equal(t, int64(4), a.HalfDays())
		assert.Equal(t, plan.Assignments[0].Team, a.Team, "one team for all the request's days")
	}
	in.Requests[0].CrewCap = 3
	plan, err = Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	assert.Len(t, plan.Assignments, 2, "a cadre's cap of 3 people: two days")
}

// TestSolveStopsWhenCancelled: a cancelled context ends the solve of a
// large village at once with the context's error.
func TestSolveStopsWhenCancelled(t *testing.T) {
	in := MustVillage(t, 2000, 3, tight)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Solve(ctx, in, Options{Seed: 1})
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err = Solve(ctx, in, Options{Seed: 1, Iterations: 1 << 30})
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}
