package planner_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
		switch rng.IntN(3) {
		case 0:
			r.Area = float64(rng.IntN(80)) / 10
		case 1:
			r.CrewCap = 1 + rng.IntN(8)
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

// randomCount is how many random instances the suite tries, each planned
// and then re-planned (20,000 have passed when raised by hand).
const randomCount = 1000

// replanOf is the instance of the next plan run after plan was saved:
// its new jobs are the previous ones, and one thing changed — nothing,
// rain on a day, a request's work or crew cap, a member away, or a new
// request.
func replanOf(rng *rand.Rand, in Instance, plan Plan) Instance {
	next := in
	next.Previous = PreviousOf(plan)
	next.Requests = slices.Clone(in.Requests)
	next.Teams = slices.Clone(in.Teams)
	next.Blocked = slices.Clone(in.Blocked)
	start, _ := time.Parse(time.DateOnly, in.Start)
	end, _ := time.Parse(time.DateOnly, in.End)
	days := int(end.Sub(start).Hours()/24) + 1
	date := func(d int) string { return start.AddDate(0, 0, d).Format(time.DateOnly) }
	switch rng.IntN(6) {
	case 1:
		next.Blocked = append(next.Blocked, Blocked{Date: date(rng.IntN(days)), Group: rng.IntN(3)})
	case 2:
		if len(next.Requests) > 0 {
			r := &next.Requests[rng.IntN(len(next.Requests))]
			r.HalfDays = max(1, r.HalfDays+int64(rng.IntN(7)-3))
		}
	case 3:
		if len(next.Requests) > 0 {
			next.Requests[rng.IntN(len(next.Requests))].CrewCap = 1 + rng.IntN(4)
		}
	case 4:
		t := rng.IntN(len(next.Teams))
		ms := slices.Clone(next.Teams[t].Members)
		m := &ms[rng.IntN(len(ms))]
		m.Unavailable = append(slices.Clone(m.Unavailable), date(rng.IntN(days)))
		next.Teams[t].Members = ms
	case 5:
		next.Requests = append(next.Requests, Request{ID: 1000, Household: 11, HalfDays: int64(1 + rng.IntN(10)),
			Earliest: in.Start, Latest: date(rng.IntN(days)), Priority: 1 + rng.IntN(5)})
	}
	for _, u := range plan.Unplaced {
		for i := range next.Requests {
			if next.Requests[i].ID == u.Request {
				next.Requests[i].LeftUnplaced = true
			}
		}
	}
	return next
}

func TestRandomInstances(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var planned, refused, replanned int
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

			// The next night: the saved plan, and something happened.
			next := replanOf(rng, in, plan)
			again, err := Solve(context.Background(), next, Options{Seed: uint64(i), Iterations: 50})
			if err != nil { // the change may leave a request no day at all
				var ie *InputError
				require.True(t, errors.As(err, &ie), "%v", err)
				return
			}
			checkPlan(t, next, again)
			replanned++
		})
	}
	t.Logf("planned %d (re-planned %d), refused %d", planned, replanned, refused)
}
