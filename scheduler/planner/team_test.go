package planner_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

// TestTeamFollowsBalances: when any team could do the work, the team is
// chosen by the soft terms after the work done, not by its size. Team 1
// is the smallest, so the construction's tightest-cover rule gives it
// whatever it can cover (before the fix: half the work); its members have already given 20 half days each, team 2's
// none. The balance term asks for team 2, even for request 3 in team
// 1's own group (the group comes after the balances); the demo village's spring plan
// put all 26 jobs on its smallest team this way.
func TestTeamFollowsBalances(t *testing.T) {
	in := Instance{
		Start: "2027-04-05", End: "2027-04-14",
		Requests: []Request{
			{ID: 1, Household: 100, Group: 2, HalfDays: 4, Earliest: "2027-04-05", Latest: "2027-04-08", Priority: 3},
			{ID: 2, Household: 101, Group: 2, HalfDays: 2, Earliest: "2027-04-06", Latest: "2027-04-09", Priority: 3},
			{ID: 3, Household: 102, Group: 1, HalfDays: 6, Earliest: "2027-04-05", Latest: "2027-04-10", Priority: 2},
		},
		Teams: []Team{
			{ID: 1, Members: []Member{{Household: 10, Group: 1, Workers: 1}, {Household: 11, Group: 1, Workers: 1}, {Household: 12, Group: 1, Workers: 1}}},
			{ID: 2, Members: []Member{{Household: 20, Group: 2, Workers: 1}, {Household: 21, Group: 2, Workers: 1}, {Household: 22, Group: 2, Workers: 1}, {Household: 23, Group: 2, Workers: 1}}},
		},
		Balances: map[int64]int64{10: 20, 11: 20, 12: 20, 100: -4, 101: -2, 102: -6},
	}
	plan, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	checkPlan(t, in, plan)
	halfDays := map[int64]int64{}
	for _, a := range plan.Assignments {
		halfDays[a.Team] += a.HalfDays()
	}
	assert.Equal(t, map[int64]int64{2: 12}, halfDays, "all the work to the team whose members have given nothing yet")
	// Team 1 alone does the same work, with a balance term far worse:
	// each half day it gives adds at least 41 (21² − 20²).
	in.Teams = in.Teams[:1]
	alone, err := Solve(context.Background(), in, Options{})
	require.NoError(t, err)
	assert.Equal(t, alone.Score.InWindowWeighted, plan.Score.InWindowWeighted)
	assert.Less(t, plan.Score.BalanceTerm+12*40, alone.Score.BalanceTerm)
}
