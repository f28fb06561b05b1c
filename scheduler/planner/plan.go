package planner

import (
	"cmp"
	"slices"
)

// plan writes the state out as a Plan with its score.
func (s *state) plan() Plan {
	p := s.p
	in := p.in
	out := Plan{Assignments: []Assignment{}, Unplaced: []Unplaced{}, Changes: []Change{}, Late: []LateRequest{}}
	type keyed struct {
		a       Assignment
		t, r    int
		isFixed bool
	}
	var all []keyed
	teamLoad := make([]int64, len(p.teams))
	sc := &out.Score
	count := func(r, t, d int, half int64, hh int) {
		q := &p.reqs[r]
		sc.PlannedHalfDays += half
		switch {
		case d <= q.l:
			sc.InWindowHalfDays += half
			sc.InWindowWeighted += q.pri * half
		default:
			sc.LateHalfDays += half
			sc.LateWeighted += q.pri * half * int64(d-q.l)
		}
		if p.hhs[hh].group == q.groupNo {
			sc.SameGroup += half
		}
		if d >= 0 && d < p.days {
			teamLoad[t] += half
		}
	}
	for fi, f := range p.fixed {
		a := in.Fixed[fi]
		a.Fixed = true
		a.Workers = slices.Clone(a.Workers)
		all = append(all, keyed{a: a, t: f.team, r: f.req, isFixed: true})
		for _, w := range f.workers {
			count(f.req, f.team, f.day, w.half, p.ms[w.m].hh)
		}
	}
	for r := range s.jobs {
		for _, j := range s.jobs[r] {
			a := Assignment{Request: p.reqs[r].id, Team: p.teams[j.team].id, Date: p.dates[j.day]}
			for _, w := range j.workers {
				h := p.ms[w.m].hh
				a.Workers = append(a.Workers, Worker{Household: p.hhs[h].id, HalfDays: w.half})
				count(r, int(j.team), int(j.day), w.half, h)
			}
			slices.SortFunc(a.Workers, func(x, y Worker) int { return cmp.Compare(x.Household, y.Household) })
			all = append(all, keyed{a: a, t: int(j.team), r: r})
		}
	}
	slices.SortStableFunc(all, func(x, y keyed) int {
		fx, fy := 1, 1
		if x.isFixed {
			fx = 0
		}
		if y.isFixed {
			fy = 0
		}
		return cmp.Or(cmp.Compare(x.a.Date, y.a.Date), cmp.Compare(x.t, y.t), cmp.Compare(x.r, y.r), cmp.Compare(fx, fy))
	})
	for _, k := range all {
		out.Assignments = append(out.Assignments, k.a)
	}
	for r := range p.reqs {
		q := &p.reqs[r]
		switch {
		case !s.done[r]:
			sc.UnplacedHalfDays += q.need()
			out.Unplaced = append(out.Unplaced, Unplaced{Request: q.id, Reason: s.unplacedReason(r)})
		case s.last[r] > q.l && s.first[r] <= s.last[r]:
			out.Late = append(out.Late, LateRequest{Request: q.id, Days: s.last[r] - q.l})
		}
	}
	b := s.balances(true)
	for h, x := range b {
		sc.BalanceTerm += x * x
		if p.hhs[h].member {
			sc.SumAbsBalance += abs(x)
			sc.MaxAbsBalance = max(sc.MaxAbsBalance, abs(x))
		}
	}
	if len(teamLoad) > 0 {
		sc.LoadSpread = slices.Max(teamLoad) - slices.Min(teamLoad)
	}
	return out
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
