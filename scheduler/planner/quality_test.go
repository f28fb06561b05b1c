package planner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

func TestSolveIsDeterministic(t *testing.T) {
	in := MustVillage(t, 200, 4, tight)
	a, err := Solve(context.Background(), in, Options{Seed: 9})
	require.NoError(t, err)
	b, err := Solve(context.Background(), in, Options{Seed: 9})
	require.NoError(t, err)
	require.Equal(t, a, b)

	// The same instance read back from its file plans the same.
	data, err := json.Marshal(in)
	require.NoError(t, err)
	back, err := DecodeInstance(bytes.NewReader(data))
	require.NoError(t, err)
	c, err := Solve(context.Background(), back, Options{Seed: 9})
	require.NoError(t, err)
	require.Equal(t, a, c)
}

// TestQuality measures planned in-window work against the bound, for
// the greedy construction and the improved plan, at normal and tight load.
// The goal (issue 5): within 1 % of the optimum at normal load, 3 % at
// tight; the bound is above the optimum, so these ratios understate.
func TestQuality(t *testing.T) {
	for _, tc := range []struct {
		load float64
		goal float64
	}{{normal, 0.99}, {tight, 0.97}} {
		var sumG, sumP, sumB, sumGH, sumPH, sumBH, sumGF, sumPF, sumBF int64
		for _, seedNo := range []uint64{11, 12, 13, 14} {
			in := MustVillage(t, 300, seedNo, tc.load)
			greedy, err := Solve(context.Background(), in, Options{Iterations: -1})
			require.NoError(t, err)
			plan, err := Solve(context.Background(), in, Options{Seed: seedNo})
			require.NoError(t, err)
			assert.GreaterOrEqual(t, plan.Score.Compare(greedy.Score), 0, "seed %d: the search never loses", seedNo)
			assert.GreaterOrEqual(t, plan.Score.InWindowWeighted, greedy.Score.InWindowWeighted)
			assert.LessOrEqual(t, plan.Score.InWindowWeighted, plan.Bound.Weighted)
			assert.GreaterOrEqual(t, plan.Score.FinishedWeighted, greedy.Score.FinishedWeighted)
			assert.LessOrEqual(t, plan.Score.FinishedWeighted, plan.Bound.Finished)
			sumGF += greedy.Score.FinishedWeighted
			sumPF += plan.Score.FinishedWeighted
			sumBF += plan.Bound.Finished
			assert.LessOrEqual(t, plan.Score.InWindowHalfDays, plan.Bound.HalfDays)
			sumG += greedy.Score.InWindowWeighted
			sumP += plan.Score.InWindowWeighted
			sumB += plan.Bound.Weighted
			sumGH += greedy.Score.InWindowHalfDays
			sumPH += plan.Score.InWindowHalfDays
			sumBH += plan.Bound.HalfDays
		}
		ratio := func(a, b int64) float64 { return float64(a) / float64(b) }
		t.Logf("load ×%.1f: finished (weighted) ÷ bound: improved %.4f, greedy %.4f; weighted in-window ÷ bound: improved %.4f, greedy %.4f; half days ÷ bound: improved %.4f, greedy %.4f",
			tc.load, ratio(sumPF, sumBF), ratio(sumGF, sumBF), ratio(sumP, sumB), ratio(sumG, sumB), ratio(sumPH, sumBH), ratio(sumGH, sumBH))
		assert.GreaterOrEqual(t, ratio(sumP, sumB), tc.goal)
	}
}

// absBalances is Σ|balance| and max|balance| over member households once
// every job of plan is done.
func absBalances(in Instance, plan Plan) (sum, most int64) {
	b := map[int64]int64{}
	for h, x := range in.Balances {
		b[h] = x
	}
	got := map[int64]int64{}
	for _, a := range plan.Assignments {
		for _, w := range a.Workers {
			b[w.Household] += w.HalfDays
			got[a.Request] += w.HalfDays
		}
	}
	for _, r := range in.Requests {
		if !r.Exempt {
			b[r.Household] -= got[r.ID]
		}
	}
	seen := map[int64]bool{}
	for _, t := range in.Teams {
		for _, m := range t.Members {
			if !seen[m.Household] {
				seen[m.Household] = true
				sum += abs(b[m.Household])
				most = max(most, abs(b[m.Household]))
			}
		}
	}
	return sum, most
}

// roundRobin sends the same jobs (team, day, work) but picks each team's
// workers in turn, the way a leader going down the list would. A team-day
// whose jobs the turn cannot cover keeps the planner's workers.
func roundRobin(in Instance, plan Plan) Plan {
	busy := map[string]map[int64]bool{} // date → households on a fixed job
	for _, a := range plan.Assignments {
		if a.Fixed {
			if busy[a.Date] == nil {
				busy[a.Date] = map[int64]bool{}
			}
			for _, w := range a.Workers {
				busy[a.Date][w.Household] = true
			}
		}
	}
	teams := map[int64]*Team{}
	for ti := range in.Teams {
		teams[in.Teams[ti].ID] = &in.Teams[ti]
	}
	next := map[int64]int{}
	out := plan
	out.Assignments = append([]Assignment(nil), plan.Assignments...)
	as := out.Assignments
	for lo := 0; lo < len(as); {
		hi := lo + 1
		for hi < len(as) && as[hi].Date == as[lo].Date && as[hi].Team == as[lo].Team {
			hi++
		}
		team, date := teams[as[lo].Team], as[lo].Date
		used := map[int64]bool{}
		ptr := next[team.ID]
		n := len(team.Members)
		chosen := make([][]Worker, hi-lo)
		ok := true
		for i := lo; i < hi && ok; i++ {
			if as[i].Fixed {
				chosen[i-lo] = as[i].Workers
				continue
			}
			left := as[i].HalfDays()
			for k := 0; k < n && left > 0; k++ {
				m := team.Members[(ptr+k)%n]
				if used[m.Household] || busy[date][m.Household] || contains(m.Unavailable, date) {
					continue
				}
				h := min(2*int64(m.Workers), left)
				chosen[i-lo] = append(chosen[i-lo], Worker{Household: m.Household, HalfDays: h})
				used[m.Household] = true
				left -= h
				if left == 0 {
					ptr = (ptr + k + 1) % n
				}
			}
			ok = left == 0
		}
		if ok {
			next[team.ID] = ptr
			for i := lo; i < hi; i++ {
				as[i].Workers = chosen[i-lo]
			}
		}
		lo = hi
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestBalanceSimulation plans a season, completes every job as planned and
// compares the members' balances with the same jobs staffed round-robin.
func TestBalanceSimulation(t *testing.T) {
	for _, load := range []float64{normal, tight} {
		for _, seedNo := range []uint64{21, 22} {
			t.Run(fmt.Sprintf("load%.1f/seed%d", load, seedNo), func(t *testing.T) {
				in := MustVillage(t, 300, seedNo, load)
				plan, err := Solve(context.Background(), in, Options{Seed: seedNo})
				require.NoError(t, err)
				rr := roundRobin(in, plan)
				checkPlan(t, in, rr)
				before, beforeMax := absBalances(in, Plan{})
				sum, most := absBalances(in, plan)
				rrSum, rrMost := absBalances(in, rr)
				assert.Equal(t, sum, plan.Score.SumAbsBalance)
				assert.Equal(t, most, plan.Score.MaxAbsBalance)
				t.Logf("members' Σ|balance| / max|balance| (half days): before %d/%d, planner %d/%d, round-robin %d/%d",
					before, beforeMax, sum, most, rrSum, rrMost)
				assert.LessOrEqual(t, sum, rrSum)
				assert.LessOrEqual(t, most, rrMost)
			})
		}
	}
}

// TestReplanAfterRain blocks a day of an existing plan and re-plans from
// it: nothing lands on the rain day, and most jobs stay where they were.
func TestReplanAfterRain(t *testing.T) {
	in := MustVillage(t, 300, 31, normal)
	before, err := Solve(context.Background(), in, Options{Seed: 1})
	require.NoError(t, err)
	rain := "2026-04-16"
	in.Blocked = append(in.Blocked, Blocked{Date: rain})
	in.Previous = PreviousOf(before)
	after, err := Solve(context.Background(), in, Options{Seed: 1, Iterations: ReplanIterations})
	require.NoError(t, err)
	checkPlan(t, in, after)
	type job struct {
		req, team int64
		date      string
	}
	was := map[job]bool{}
	moved := 0
	for _, a := range before.Assignments {
		was[job{a.Request, a.Team, a.Date}] = true
		if a.Date == rain {
			moved++
		}
	}
	kept := 0
	for _, a := range after.Assignments {
		assert.NotEqual(t, rain, a.Date)
		if was[job{a.Request, a.Team, a.Date}] {
			kept++
		}
	}
	t.Logf("jobs before %d (on the rain day %d), after %d, kept %d", len(before.Assignments), moved, len(after.Assignments), kept)
	assert.Greater(t, kept, len(before.Assignments)/2)
	assert.GreaterOrEqual(t, after.Score.InWindowWeighted*100, before.Score.InWindowWeighted*97, "a rain day costs little at normal load")
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
