package planner_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

func TestSolveKeepsHardRules(t *testing.T) {
	for _, load := range []float64{normal, tight} {
		for _, seedNo := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("load%.1f/seed%d", load, seedNo), func(t *testing.T) {
				in := MustVillage(t, 300, seedNo, load)
				greedy, err := Solve(context.Background(), in, Options{Iterations: -1})
				require.NoError(t, err)
				checkPlan(t, in, greedy)
				plan, err := Solve(context.Background(), in, Options{Seed: seedNo})
				require.NoError(t, err)
				checkPlan(t, in, plan)
				assert.GreaterOrEqual(t, plan.Score.Compare(greedy.Score), 0, "never worse than the greedy plan")
				t.Logf("requests %d bound %d/%d  greedy %d/%d  improved %d/%d (%.4f vs %.4f)  unplaced %d late %d",
					len(in.Requests), plan.Bound.Weighted, plan.Bound.HalfDays,
					greedy.Score.InWindowWeighted, greedy.Score.InWindowHalfDays,
					plan.Score.InWindowWeighted, plan.Score.InWindowHalfDays,
					float64(plan.Score.InWindowWeighted)/float64(plan.Bound.Weighted),
					float64(greedy.Score.InWindowWeighted)/float64(plan.Bound.Weighted),
					len(plan.Unplaced), len(plan.Late))
			})
		}
	}
}
