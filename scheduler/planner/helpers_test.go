// The planner's tests are external: they build instances from the seed
// villages (seed → store), and store feeds the planner (store → planner).
package planner_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "huangong/scheduler/planner"
	"huangong/seed"
	"huangong/store"
)

// Loads of the generated instances: the village's labor norms as they
// are, and every request's work × 2.5.
const (
	normal = 1.0
	tight  = 2.5
)

// seasonStart is the first day of the generated spring: transplanting
// early rice between 谷雨 and 立夏, with a few days after the season for
// late work.
const (
	seasonStart = "2026-04-12"
	seasonDays  = 25
)

// MustVillage returns the planning instance of a generated village of n
// households: every field asks for transplanting (area × 1.5 workdays/mu
// × load) in a window of 6–10 days, early-rice fields ask to be prepared
// first (0.5 workdays/mu, the transplant waits for it); teams and their
// members' unavailable days come from the generator, balances are drawn
// at random, one day rains on the whole village and one on group 2.
func MustVillage(tb testing.TB, n int, seedNo uint64, load float64) Instance {
	tb.Helper()
	v := seed.Generate(seed.Config{Name: fmt.Sprintf("村%d", seedNo), Households: n, Groups: max(1, n/50), Teams: max(1, n/100), Seed: seedNo})
	return villageInstance(v, seedNo, load)
}

func villageInstance(v *store.VillageImport, seedNo uint64, load float64) Instance {
	rng := rand.New(rand.NewPCG(seedNo, 0x74657374))
	start, _ := time.Parse(time.DateOnly, seasonStart)
	date := func(d int) string { return start.AddDate(0, 0, d).Format(time.DateOnly) }
	in := Instance{Start: date(0), End: date(seasonDays - 1), Balances: map[int64]int64{}}
	member := map[int]bool{}
	for ti, t := range v.Teams {
		team := Team{ID: int64(ti + 1)}
		for _, m := range t.Members {
			member[m.Household] = true
			var unavailable []string
			if len(m.UnavailableDays) > 0 {
				unavailable = slices.Clone(m.UnavailableDays)
			}
			team.Members = append(team.Members, Member{
				Household: int64(m.Household + 1), Group: v.Households[m.Household].Household.Group,
				Workers: m.WorkersPerDay, Unavailable: unavailable,
			})
		}
		in.Teams = append(in.Teams, team)
	}
	var id int64
	norm := func(centiPerMu int64) int64 { return int64(float64(centiPerMu)*load + 0.5) }
	for hi, h := range v.Households {
		hh := h.Household
		hid := int64(hi + 1)
		if member[hi] {
			in.Balances[hid] = int64(rng.IntN(41) - 20)
		} else {
			in.Balances[hid] = int64(rng.IntN(21) - 16)
		}
		pri := 1
		if hh.Vulnerable() {
			pri += 2
		}
		if hh.Laborers == 0 {
			pri++
		}
		if hh.FiveGuarantee || hh.Disabled {
			pri++
		}
		for fi, f := range h.Fields {
			base := rng.IntN(12)
			var after []int64
			if f.Crop == store.CropEarlyRice {
				id++
				in.Requests = append(in.Requests, Request{
					ID: id, Household: hid, Field: int64(hi*10 + fi + 1), Group: f.Group, Task: store.TaskPrepare,
					HalfDays: store.EstimateHalfDays(f.AreaCentimu, norm(store.DefaultNorms[store.TaskPrepare])),
					Earliest: date(base), Latest: date(base + 5), Priority: pri, Exempt: hh.Exempt,
				})
				after = []int64{id}
			}
			id++
			e := base + 3
			in.Requests = append(in.Requests, Request{
				ID: id, Household: hid, Field: int64(hi*10 + fi + 1), Group: f.Group, Task: store.TaskTransplant,
				HalfDays: store.EstimateHalfDays(f.AreaCentimu, norm(store.DefaultNorms[store.TaskTransplant])),
				Earliest: date(e), Latest: date(min(e+5+rng.IntN(5), 19)), Priority: pri, After: after, Exempt: hh.Exempt,
			})
		}
	}
	in.Blocked = []Blocked{{Date: date(7)}, {Date: date(12), Group: 2}}
	return in
}

// checkPlan fails t unless plan keeps every hard rule of in: jobs only
// of known requests, teams and members, inside Start..End, never before a
// window opens, never on a blocked day, each member available, on one job
// a day and within its workers, each team within its day's capacity;
// precedence; every request either wholly planned or reported unplaced;
// lateness reported exactly; the score's work terms as counted.
func checkPlan(t *testing.T, in Instance, plan Plan) {
	t.Helper()
	reqs := map[int64]*Request{}
	for i := range in.Requests {
		reqs[in.Requests[i].ID] = &in.Requests[i]
	}
	type tm struct{ team, hh int64 }
	members := map[tm]*Member{}
	teams := map[int64]*Team{}
	for i := range in.Teams {
		teams[in.Teams[i].ID] = &in.Teams[i]
		for j := range in.Teams[i].Members {
			m := &in.Teams[i].Members[j]
			members[tm{in.Teams[i].ID, m.Household}] = m
		}
	}
	blocked := map[string][]int{}
	for _, b := range in.Blocked {
		blocked[b.Date] = append(blocked[b.Date], b.Group)
	}
	type hd struct {
		hh   int64
		date string
	}
	busy := map[hd]int64{}
	type td struct {
		team int64
		date string
	}
	teamUse := map[td]int64{}
	got := map[int64]int64{}
	first, last := map[int64]string{}, map[int64]string{}
	var inWin, late, lateW, w int64
	fixedLeft := len(in.Fixed)
	for i, a := range plan.Assignments {
		where := fmt.Sprintf("assignments[%d] (request %d, team %d, %s)", i, a.Request, a.Team, a.Date)
		r, ok := reqs[a.Request]
		if !assert.True(t, ok, "%s: unknown request", where) {
			continue
		}
		if a.Fixed {
			fixedLeft--
		}
		_, ok = teams[a.Team]
		assert.True(t, ok, "%s: unknown team", where)
		if !a.Fixed {
			assert.True(t, a.Date >= in.Start && a.Date <= in.End, "%s: outside the plan's dates", where)
			assert.GreaterOrEqual(t, a.Date, r.Earliest, "%s: before the window opens", where)
			for _, g := range blocked[a.Date] {
				assert.False(t, g == 0 || g == r.Group, "%s: on a day blocked for group %d", where, g)
			}
		}
		require.NotEmpty(t, a.Workers, "%s: no workers", where)
		for _, wk := range a.Workers {
			m, ok := members[tm{a.Team, wk.Household}]
			if !assert.True(t, ok, "%s: household %d is not in the team", where, wk.Household) {
				continue
			}
			if !a.Fixed {
				assert.NotContains(t, m.Unavailable, a.Date, "%s: household %d is unavailable", where, wk.Household)
			}
			assert.True(t, wk.HalfDays > 0 && wk.HalfDays <= 2*int64(m.Workers),
				"%s: household %d works %d half days with %d workers", where, wk.Household, wk.HalfDays, m.Workers)
			k := hd{wk.Household, a.Date}
			assert.Zero(t, busy[k], "%s: household %d already works for request %d that day", where, wk.Household, busy[k])
			busy[k] = a.Request
			if !a.Fixed { // kept as they are, whatever the day holds
				teamUse[td{a.Team, a.Date}] += wk.HalfDays
			}
			got[a.Request] += wk.HalfDays
			if a.Date <= r.Latest {
				inWin += wk.HalfDays
				w += int64(r.Priority) * wk.HalfDays
			} else {
				late += wk.HalfDays
				lateW += int64(r.Priority) * wk.HalfDays * int64(daysBetween(r.Latest, a.Date))
			}
		}
		if f, ok := first[a.Request]; !ok || a.Date < f {
			first[a.Request] = a.Date
		}
		if l, ok := last[a.Request]; !ok || a.Date > l {
			last[a.Request] = a.Date
		}
	}
	assert.Zero(t, fixedLeft, "every fixed job is in the plan")
	// One team a request-day, no more people than the crew cap.
	type rd struct {
		req  int64
		date string
	}
	onDay := map[rd]int{}
	for i, a := range plan.Assignments {
		onDay[rd{a.Request, a.Date}]++
		if a.Fixed {
			continue
		}
		assert.Equal(t, 1, onDay[rd{a.Request, a.Date}], "assignments[%d]: request %d has another job on %s", i, a.Request, a.Date)
		r := reqs[a.Request]
		if r == nil {
			continue
		}
		crew := r.CrewCap
		if crew == 0 {
			crew = DefaultCrewCap(r.Area)
		}
		people := 0
		for _, wk := range a.Workers {
			people += int(wk.HalfDays+1) / 2
		}
		assert.LessOrEqual(t, people, crew, "assignments[%d]: request %d has %d people on %s over its crew cap", i, a.Request, people, a.Date)
	}
	for k, used := range teamUse {
		var capacity int64
		for _, m := range teams[k.team].Members {
			if !slices.Contains(m.Unavailable, k.date) {
				capacity += 2 * int64(m.Workers)
			}
		}
		assert.LessOrEqual(t, used, capacity, "team %d over capacity on %s", k.team, k.date)
	}
	unplaced := map[int64]bool{}
	for _, u := range plan.Unplaced {
		unplaced[u.Request] = true
		assert.NotEmpty(t, u.Reason)
	}
	lateDays := map[int64]int{}
	for _, l := range plan.Late {
		lateDays[l.Request] = l.Days
	}
	var unplacedHalf int64
	for _, r := range in.Requests {
		var fixedHalf int64
		for _, f := range in.Fixed {
			if f.Request == r.ID {
				fixedHalf += f.HalfDays()
			}
		}
		if unplaced[r.ID] {
			assert.Equal(t, fixedHalf, got[r.ID], "unplaced request %d has only its fixed jobs", r.ID)
			unplacedHalf += r.HalfDays - fixedHalf
			continue
		}
		assert.Equal(t, max(r.HalfDays, fixedHalf), got[r.ID], "request %d is wholly planned", r.ID)
		for _, a := range r.After {
			if got[r.ID] > fixedHalf {
				assert.False(t, unplaced[a], "request %d planned after unplaced request %d", r.ID, a)
				assert.Less(t, last[a], first[r.ID], "request %d starts before request %d is finished", r.ID, a)
			}
		}
		if l, ok := last[r.ID]; ok && l > r.Latest {
			assert.Equal(t, daysBetween(r.Latest, l), lateDays[r.ID], "request %d is late", r.ID)
		} else {
			assert.NotContains(t, lateDays, r.ID, "request %d is not late", r.ID)
		}
	}
	var finW int64
	var fin int
	for _, r := range in.Requests {
		if l, ok := last[r.ID]; ok && !unplaced[r.ID] && l <= r.Latest {
			finW += int64(r.Priority)
			fin++
		}
	}
	assert.Equal(t, finW, plan.Score.FinishedWeighted)
	assert.Equal(t, fin, plan.Score.Finished)
	assert.LessOrEqual(t, plan.Score.FinishedWeighted, plan.Bound.Finished, "never above the bound")
	// Every saved job is kept (request, day, team, workers) or listed as
	// a change, once.
	type key struct {
		req, team int64
		date      string
	}
	now := map[key][]Worker{}
	for _, a := range plan.Assignments {
		if !a.Fixed {
			now[key{a.Request, a.Team, a.Date}] = a.Workers
		}
	}
	changed := map[key]string{}
	for _, c := range plan.Changes {
		changed[key{c.Request, c.Team, c.Date}] = c.Kind
		assert.NotEmpty(t, c.Reason, "change %+v has a reason", c)
	}
	var moved, other int
	for _, a := range in.Previous {
		k := key{a.Request, a.Team, a.Date}
		ws, kept := now[k]
		switch kind, listed := changed[k]; {
		case !kept:
			moved++
			assert.Equal(t, ChangeMoved, kind, "saved job %+v is not kept: a change", a)
		case listed:
			other++
			assert.Equal(t, ChangeWorkers, kind, "saved job %+v kept with other workers", a)
		default:
			assert.ElementsMatch(t, households(a.Workers), households(ws), "saved job %+v kept with its workers", a)
		}
	}
	assert.Len(t, plan.Changes, moved+other)
	assert.Equal(t, int64(4*moved+other), plan.Score.ChangeCost)
	assert.Equal(t, w, plan.Score.InWindowWeighted)
	assert.Equal(t, inWin, plan.Score.InWindowHalfDays)
	assert.Equal(t, late, plan.Score.LateHalfDays)
	assert.Equal(t, lateW, plan.Score.LateWeighted)
	assert.Equal(t, unplacedHalf, plan.Score.UnplacedHalfDays)
	assert.LessOrEqual(t, plan.Score.InWindowWeighted, plan.Bound.Weighted, "never above the bound")
	assert.LessOrEqual(t, plan.Score.InWindowHalfDays, plan.Bound.HalfDays, "never above the bound")
}

func daysBetween(a, b string) int {
	ta, _ := time.Parse(time.DateOnly, a)
	tb, _ := time.Parse(time.DateOnly, b)
	return int(tb.Sub(ta).Hours() / 24)
}

func households(ws []Worker) []int64 {
	out := make([]int64, len(ws))
	for i, w := range ws {
		out[i] = w.Household
	}
	return out
}

// PreviousOf is what a saved plan gives the next one: its new jobs.
func PreviousOf(plan Plan) []Assignment {
	var out []Assignment
	for _, a := range plan.Assignments {
		if !a.Fixed {
			out = append(out, a)
		}
	}
	return out
}
