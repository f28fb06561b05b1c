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
		if s.done[r] && s.last[r] <= q.l {
			sc.FinishedWeighted += q.pri
			sc.Finished++
		}
		switch {
		case !s.done[r]:
			sc.UnplacedHalfDays += q.need()
			out.Unplaced = append(out.Unplaced, Unplaced{Request: q.id, Reason: s.unplacedReason(r)})
		case s.last[r] > q.l && s.first[r] <= s.last[r]:
			out.Late = append(out.Late, LateRequest{Request: q.id, Days: s.last[r] - q.l})
		}
	}
	out.Changes = s.changes()
	for _, c := range out.Changes {
		if c.Kind == ChangeMoved {
			sc.Moved++
			sc.ChangeCost += costMoved
		} else {
			sc.WorkersChanged++
			sc.ChangeCost += costWorkers
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

// changes lists the previous jobs the plan does not keep as they were,
// in the order of Instance.Previous, each with its reason: the one found
// when the plan was built (the job no longer fits), else precedence when
// a job of an earlier task on the field changed, else the search's
// (strictly more requests finished).
func (s *state) changes() []Change {
	p := s.p
	out := []Change{}
	for pi := range p.prev {
		pp := &p.prev[pi]
		kind := ChangeMoved
		same := false
		for _, j := range s.jobs[pp.req] {
			if int(j.day) != pp.day || int(j.team) != pp.team {
				continue
			}
			kind = ChangeWorkers
			// A kept job cut to the work left (trimTo) keeps its people.
			same = int(j.prev) == pi && len(j.workers) == len(pp.workers) || sameWorkers(j.workers, pp.workers)
		}
		if same {
			continue
		}
		why := s.prevReason[pi]
		if why == "" {
			why = ReasonMoreFinished
			for _, pr := range p.reqs[pp.req].preds {
				if s.anyChanged(pr) {
					why = ReasonPrecedence
				}
			}
		}
		a := p.in.Previous[pi]
		out = append(out, Change{Request: a.Request, Team: a.Team, Date: a.Date, Kind: kind, Reason: why,
			Message: changeMessage(kind, why)})
	}
	return out
}

// anyChanged reports whether some previous job of request r is not kept.
func (s *state) anyChanged(r int) bool {
	for _, pi := range s.p.reqs[r].prevs {
		pp := &s.p.prev[pi]
		if !slices.ContainsFunc(s.jobs[r], func(j job) bool {
			return int(j.day) == pp.day && int(j.team) == pp.team
		}) {
			return true
		}
	}
	return false
}

func sameWorkers(a, b []pworker) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	byM := func(x, y pworker) int { return cmp.Or(cmp.Compare(x.m, y.m), cmp.Compare(x.half, y.half)) }
	slices.SortFunc(a, byM)
	slices.SortFunc(b, byM)
	return slices.Equal(a, b)
}

// reasonText says each Reason in words, Chinese first.
var reasonText = map[string]string{
	ReasonBlocked:      "当天停工 the day is blocked (rain)",
	ReasonWorker:       "有队员当天来不了 a worker cannot come that day",
	ReasonDates:        "日期不在计划或农时窗口内 the day is outside the plan or the request's window",
	ReasonCrew:         "人数超过田块容量 more people than the field takes",
	ReasonOneTeam:      "同一块田一天只派一个队 one team works a field on a day",
	ReasonWork:         "剩余农活减少 less work is left",
	ReasonPrecedence:   "前一道农活改了日期 an earlier task on the field moved",
	ReasonRequest:      "同一求助的其他派工需要重排 the rest of the request had to be planned again",
	ReasonMoreFinished: "调整后能按时完成更多农户 more households finish in time",
}

func changeMessage(kind, why string) string {
	what := "改期或换队 moved"
	if kind == ChangeWorkers {
		what = "换人 other workers"
	}
	return what + "：" + reasonText[why]
}
