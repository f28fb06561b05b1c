package planner_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
)

// randomInstance is a small instance with anything in it: odd sizes,
// windows outside the plan, chains of precedence (maybe cycles), rain,
// households in two teams, fixed jobs. Most are valid, some are not.
func randomInstance(rng *rand.Rand) Instance {
	start, _ := time.Parse(time.DateOnly, "2026-04-20")
	date := func(d int) string { return start.AddDate(0, 0, d).Format(time.DateOnly) }
	days := 1 + rng.IntN(10)
	in := Instance{Start: date(0), End: date(days - 1), Balances: map[int64]int64{}}
	for t := range 1 + rng.IntN(3) {
		team := Team{ID: int64(t + 1)}
		for range 1 + rng.IntN(4) {
			m := Member{Household: int64(100 + rng.IntN(8)), Group: rng.IntN(3), Workers: 1 + rng.IntN(3)}
			if rng.IntN(3) == 0 {
				m.Unavailable = []string{date(rng.IntN(days))}
			}
			dup := false
			for _, o := range team.Members {
				dup = dup || o.Household == m.Household
			}
			if !dup {
				team.Members = append(team.Members, m)
			}
		}
		in.Teams = append(in.Teams, team)
	}
	n := rng.IntN(12)
	for i := range n {
		e := rng.IntN(days+2) - 2
		r := Request{
			ID: int64(i + 1), Household: int64(rng.IntN(12)), Group: rng.IntN(3), HalfDays: int64(1 + rng.IntN(14)),
			Earliest: date(e), Latest: date(e + rng.IntN(5)), Priority: 1 + rng.IntN(5), Exempt: rng.IntN(5) == 0,
		}
		if i > 0 && rng.IntN(3) == 0 {
			r.After = []int64{int64(1 + rng.IntN(i))}
		}
		if rng.IntN(40) == 0 {
			r.After = append(r.After, int64(i+1+rng.IntN(3))) // maybe a cycle, maybe unknown
		}
		in.Requests = append(in.Requests, r)
		in.Balances[r.Household] = int64(rng.IntN(21) - 10)
	}
	for range rng.IntN(3) {
		in.Blocked = append(in.Blocked, Blocked{Date: date(rng.IntN(days)), Group: rng.IntN(3)})
	}
	if n > 0 && rng.IntN(3) == 0 {
		t := in.Teams[rng.IntN(len(in.Teams))]
		m := t.Members[rng.IntN(len(t.Members))]
		in.Fixed = []Assignment{{Request: int64(1 + rng.IntN(n)), Team: t.ID, Date: date(rng.IntN(days)),
			Workers: []Worker{{Household: m.Household, HalfDays: int64(1 + rng.IntN(2*m.Workers))}}}}
	}
	return in
}

// randomCount is how many random instances the suite tries (20,000 have
// passed when raised by hand).
const randomCount = 400

func TestRandomInstances(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var planned, refused int
	for i := range randomCount {
		in := randomInstance(rng)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			plan, err := Solve(context.Background(), in, Options{Seed: uint64(i), Iterations: 50})
			if err != nil {
				var ie *InputError
				require.True(t, errors.As(err, &ie), "%v", err)
				refused++
				return
			}
			planned++
			checkPlan(t, in, plan)
		})
	}
	t.Logf("planned %d, refused %d", planned, refused)
}
