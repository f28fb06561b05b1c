package planner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// InputError is a planning instance the planner refuses: Field names the
// offending value the way a JSON path does ("requests[3].after[0]").
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func inputErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// maxDays keeps a plan to a farming year: the state is households × days.
const maxDays = 400

// problem is an Instance checked and turned into indexes: requests,
// teams, member households and days are numbered from 0 in input order,
// so no decision depends on map order.
type problem struct {
	in    *Instance
	days  int
	dates []string // day → YYYY-MM-DD

	reqs    []preq
	teams   []pteam
	hhs     []phh       // member households and helped households
	ms      []pmember   // memberships (team, household)
	avail   []bool      // membership m, day d → m*days+d
	blocked [][]bool    // by group index, see groupIdx; [0] is village-wide
	groups  map[int]int // village group → index into blocked
	hhIdx   map[int64]int
	reqIdx  map[int64]int
	topo    []int // requests, predecessors first
	fixed   []pfixed
	prev    []pprev
	// fixedOn marks a request's days that have a fixed job: the day's
	// work of a field is one team's, so no new job joins it.
	fixedOn map[reqDay]bool
	// teamGroup counts each team's members by village group, for "the
	// field's own group first" when a team is chosen.
	teamGroup map[teamGroupKey]int
}

type teamGroupKey struct{ team, group int }

type preq struct {
	id       int64
	hh       int // index into hhs
	group    int // index into blocked
	groupNo  int // the village group itself
	pri      int64
	total    int64
	e, l     int // window as day indexes; may lie outside 0..days-1
	preds    []int
	succs    []int
	exempt   bool
	fixHalf  int64 // half days done by fixed jobs
	fixFirst int   // first and last day of fixed jobs; fixFirst > fixLast: none
	fixLast  int
	fixW     int64 // Σ priority × fixed half days in the window
	fixLate  int64 // Σ priority × fixed half days × days late
	crewHalf int64 // the crew cap in half days: 2 × people a day
	settled  bool  // LeftUnplaced: no saved job moves for it unless dirty
	prevs    []int // its previous jobs, by day
}

// need is the work left for new jobs.
func (r *preq) need() int64 { return max(r.total-r.fixHalf, 0) }

type pteam struct {
	id      int64
	members []int // membership indexes in input order
	// bySize are the members, those giving the most half days first:
	// the order jobs are filled in, so that small members are left to
	// fit the rest exactly (a member's unused half days are lost).
	bySize []int
}

type phh struct {
	id     int64
	group  int   // village group (of its first membership), -1 if none
	ms     []int // memberships
	bal0   int64
	member bool
}

type pmember struct {
	team int
	hh   int
	twoW int64 // half days the household can give a day
}

type pfixed struct {
	req, team, day int
	workers        []pworker
}

// pprev is a job of Instance.Previous. reason is set when the job cannot
// be kept whatever the rest of the plan does.
type pprev struct {
	req, team, day int
	workers        []pworker
	reason         string
}

type pworker struct {
	m    int // membership
	half int64
}

func parseDate(field, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, inputErr(field, "日期格式应为2026-04-20 %q is not a date like 2026-04-20", s)
	}
	return t, nil
}

// compile checks in and builds the problem. Every refusal is an
// *InputError naming the field.
func compile(in *Instance) (*problem, error) {
	start, err := parseDate("start", in.Start)
	if err != nil {
		return nil, err
	}
	end, err := parseDate("end", in.End)
	if err != nil {
		return nil, err
	}
	if end.Before(start) {
		return nil, inputErr("end", "结束日期早于开始日期 end %s is before start %s", in.End, in.Start)
	}
	p := &problem{in: in, groups: map[int]int{0: 0}, hhIdx: map[int64]int{}, reqIdx: map[int64]int{},
		fixedOn: map[reqDay]bool{}, teamGroup: map[teamGroupKey]int{}}
	p.days = int(end.Sub(start).Hours()/24) + 1
	if p.days > maxDays {
		return nil, inputErr("end", "计划最长%[3]d天 a plan spans at most %[1]d days, not %[2]d", maxDays, p.days, maxDays)
	}
	p.dates = make([]string, p.days)
	for d := range p.days {
		p.dates[d] = start.AddDate(0, 0, d).Format(time.DateOnly)
	}
	day := func(field, s string) (int, error) {
		t, err := parseDate(field, s)
		if err != nil {
			return 0, err
		}
		return int(t.Sub(start).Hours() / 24), nil
	}
	p.blocked = [][]bool{make([]bool, p.days)}
	groupIdx := func(g int) int {
		i, ok := p.groups[g]
		if !ok {
			i = len(p.blocked)
			p.groups[g] = i
			p.blocked = append(p.blocked, make([]bool, p.days))
		}
		return i
	}
	household := func(id int64) int {
		i, ok := p.hhIdx[id]
		if !ok {
			i = len(p.hhs)
			p.hhIdx[id] = i
			p.hhs = append(p.hhs, phh{id: id, group: -1, bal0: in.Balances[id]})
		}
		return i
	}

	// Teams and members.
	if len(in.Teams) == 0 {
		return nil, inputErr("teams", "没有互助队 no team to plan for")
	}
	teamIdx := map[int64]int{}
	for ti, t := range in.Teams {
		f := fmt.Sprintf("teams[%d]", ti)
		if _, dup := teamIdx[t.ID]; dup {
			return nil, inputErr(f+".id", "互助队重复 team %d appears twice", t.ID)
		}
		teamIdx[t.ID] = ti
		if len(t.Members) == 0 {
			return nil, inputErr(f+".members", "互助队没有队员 team %d has no members", t.ID)
		}
		pt := pteam{id: t.ID}
		for mi, m := range t.Members {
			mf := fmt.Sprintf("%s.members[%d]", f, mi)
			if m.Workers < 1 {
				return nil, inputErr(mf+".workers", "每天出工人数至少为1 household %d offers %d workers; at least 1", m.Household, m.Workers)
			}
			h := household(m.Household)
			for _, o := range p.hhs[h].ms {
				if p.ms[o].team == ti {
					return nil, inputErr(mf+".household", "队员重复 household %d is in team %d twice", m.Household, t.ID)
				}
			}
			mIdx := len(p.ms)
			p.ms = append(p.ms, pmember{team: ti, hh: h, twoW: 2 * int64(m.Workers)})
			p.hhs[h].ms = append(p.hhs[h].ms, mIdx)
			p.hhs[h].member = true
			if p.hhs[h].group < 0 {
				p.hhs[h].group = m.Group
			}
			pt.members = append(pt.members, mIdx)
			p.teamGroup[teamGroupKey{ti, m.Group}]++
			av := make([]bool, p.days)
			for d := range av {
				av[d] = true
			}
			for ui, u := range m.Unavailable {
				d, err := day(fmt.Sprintf("%s.unavailable[%d]", mf, ui), u)
				if err != nil {
					return nil, err
				}
				if d >= 0 && d < p.days {
					av[d] = false
				}
			}
			p.avail = append(p.avail, av...)
		}
		pt.bySize = slices.Clone(pt.members)
		slices.SortStableFunc(pt.bySize, func(a, b int) int { return cmp.Compare(p.ms[b].twoW, p.ms[a].twoW) })
		p.teams = append(p.teams, pt)
	}

	for bi, b := range in.Blocked {
		f := fmt.Sprintf("blocked[%d]", bi)
		d, err := day(f+".date", b.Date)
		if err != nil {
			return nil, err
		}
		if b.Group < 0 {
			return nil, inputErr(f+".group", "村民小组编号无效 group %d: use 0 for the whole village", b.Group)
		}
		if d >= 0 && d < p.days {
			p.blocked[groupIdx(b.Group)][d] = true
		}
	}

	// Requests.
	for ri, r := range in.Requests {
		f := fmt.Sprintf("requests[%d]", ri)
		if _, dup := p.reqIdx[r.ID]; dup {
			return nil, inputErr(f+".id", "求助重复 request %d appears twice", r.ID)
		}
		p.reqIdx[r.ID] = ri
		if r.HalfDays <= 0 {
			return nil, inputErr(f+".halfDays", "工日须大于零 request %d needs %d half days; it must need more than zero", r.ID, r.HalfDays)
		}
		if r.Priority < 1 || r.Priority > 100 {
			return nil, inputErr(f+".priority", "优先级应为1到100 request %d has priority %d; it must be 1..100", r.ID, r.Priority)
		}
		e, err := day(f+".earliest", r.Earliest)
		if err != nil {
			return nil, err
		}
		l, err := day(f+".latest", r.Latest)
		if err != nil {
			return nil, err
		}
		if e > l {
			return nil, inputErr(f+".earliest", "最早日期晚于最晚日期 request %d: earliest %s is after latest %s", r.ID, r.Earliest, r.Latest)
		}
		if r.Area < 0 || r.Area > 100 {
			return nil, inputErr(f+".area", "面积应在0到100亩之间 request %d: area %v mu is not between 0 and 100", r.ID, r.Area)
		}
		crew := r.CrewCap
		switch {
		case crew < 0 || crew > 50:
			return nil, inputErr(f+".crewCap", "每天人数上限应为1到50 request %d: crew cap %d is not 1..50", r.ID, crew)
		case crew == 0:
			crew = DefaultCrewCap(r.Area)
		}
		p.reqs = append(p.reqs, preq{
			id: r.ID, hh: household(r.Household), group: groupIdx(r.Group), groupNo: r.Group, pri: int64(r.Priority),
			total: r.HalfDays, e: e, l: l, exempt: r.Exempt, fixFirst: 1 << 30, fixLast: -1 << 30,
			crewHalf: 2 * int64(crew), settled: r.LeftUnplaced,
		})
	}
	for ri, r := range in.Requests {
		for ai, a := range r.After {
			f := fmt.Sprintf("requests[%d].after[%d]", ri, ai)
			pi, ok := p.reqIdx[a]
			if !ok {
				return nil, inputErr(f, "前序求助不存在 request %d waits for request %d, which is not in the instance", r.ID, a)
			}
			if slices.Contains(p.reqs[ri].preds, pi) {
				continue
			}
			p.reqs[ri].preds = append(p.reqs[ri].preds, pi)
			p.reqs[pi].succs = append(p.reqs[pi].succs, ri)
		}
	}
	if err := p.order(); err != nil {
		return nil, err
	}

	// Fixed jobs.
	for fi, a := range in.Fixed {
		f := fmt.Sprintf("fixed[%d]", fi)
		ri, ok := p.reqIdx[a.Request]
		if !ok {
			return nil, inputErr(f+".request", "求助不存在 request %d is not in the instance", a.Request)
		}
		ti, ok := teamIdx[a.Team]
		if !ok {
			return nil, inputErr(f+".team", "互助队不存在 team %d is not in the instance", a.Team)
		}
		d, err := day(f+".date", a.Date)
		if err != nil {
			return nil, err
		}
		if len(a.Workers) == 0 {
			return nil, inputErr(f+".workers", "派工至少一名队员 a job needs at least one worker")
		}
		pf := pfixed{req: ri, team: ti, day: d}
		r := &p.reqs[ri]
		for wi, w := range a.Workers {
			wf := fmt.Sprintf("%s.workers[%d]", f, wi)
			if w.HalfDays <= 0 {
				return nil, inputErr(wf+".halfDays", "工日须大于零 half days must be more than zero")
			}
			h, ok := p.hhIdx[w.Household]
			m := -1
			if ok {
				for _, o := range p.hhs[h].ms {
					if p.ms[o].team == ti {
						m = o
					}
				}
			}
			if m < 0 {
				return nil, inputErr(wf+".household", "不是该队队员 household %d is not a member of team %d", w.Household, a.Team)
			}
			pf.workers = append(pf.workers, pworker{m: m, half: w.HalfDays})
			r.fixHalf += w.HalfDays
			switch {
			case d <= r.l: // on time, even if a cadre fixed it before the window
				r.fixW += r.pri * w.HalfDays
			case d > r.l:
				r.fixLate += r.pri * w.HalfDays * int64(d-r.l)
			}
		}
		r.fixFirst, r.fixLast = min(r.fixFirst, d), max(r.fixLast, d)
		p.fixedOn[reqDay{ri, d}] = true
		p.fixed = append(p.fixed, pf)
	}

	if err := p.compilePrevious(teamIdx, day); err != nil {
		return nil, err
	}

	// A request no team can ever reach is an input error, not a plan.
	for ri := range p.reqs {
		r := &p.reqs[ri]
		if r.need() == 0 {
			continue
		}
		if !p.reachable(r) {
			return nil, inputErr(fmt.Sprintf("requests[%d]", ri),
				"截止前没有互助队能来 request %d: no team member is available on a workable day from %s to the end %s",
				r.id, in.Requests[ri].Earliest, in.End)
		}
	}
	return p, nil
}

// reachable reports whether some member is available on a day the
// request could be worked, ignoring what other requests take.
func (p *problem) reachable(r *preq) bool {
	for d := max(r.e, 0); d < p.days; d++ {
		if p.isBlocked(r, d) {
			continue
		}
		for m := range p.ms {
			if p.avail[m*p.days+d] {
				return true
			}
		}
	}
	return false
}

func (p *problem) isBlocked(r *preq, d int) bool {
	return p.blocked[0][d] || r.group != 0 && p.blocked[r.group][d]
}

// order sorts the requests topologically (predecessors first; among the
// ready ones, input order) and refuses a cycle, naming it.
func (p *problem) order() error {
	n := len(p.reqs)
	indeg := make([]int, n)
	for i := range p.reqs {
		indeg[i] = len(p.reqs[i].preds)
	}
	p.topo = make([]int, 0, n)
	var ready []int
	for i := range n {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		p.topo = append(p.topo, i)
		for _, s := range p.reqs[i].succs {
			if indeg[s]--; indeg[s] == 0 {
				ready = append(ready, s)
			}
		}
	}
	if len(p.topo) == n {
		return nil
	}
	// Walk predecessors from a request left over until one repeats.
	cur := slices.IndexFunc(indeg, func(d int) bool { return d > 0 })
	seen := map[int]int{}
	var path []int
	for {
		if at, ok := seen[cur]; ok {
			path = path[at:]
			break
		}
		seen[cur] = len(path)
		path = append(path, cur)
		for _, pr := range p.reqs[cur].preds {
			if indeg[pr] > 0 {
				cur = pr
				break
			}
		}
	}
	slices.Reverse(path)
	ids := make([]string, len(path)+1)
	for i, r := range path {
		ids[i] = fmt.Sprint(p.reqs[r].id)
	}
	ids[len(path)] = ids[0]
	return inputErr(fmt.Sprintf("requests[%d].after", path[0]),
		"前后顺序成环 precedence has a cycle: %s", strings.Join(ids, " → "))
}

// compilePrevious reads Instance.Previous. A job naming a request or team
// the instance lacks, or a bad date, is bad input; a job that can no
// longer be kept as it is (its day blocked, a worker gone, over the crew
// cap) is not: it gets the reason it must change.
func (p *problem) compilePrevious(teamIdx map[int64]int, day func(field, s string) (int, error)) error {
	for i, a := range p.in.Previous {
		f := fmt.Sprintf("previous[%d]", i)
		ri, ok := p.reqIdx[a.Request]
		if !ok {
			return inputErr(f+".request", "求助不存在 request %d is not in the instance", a.Request)
		}
		ti, ok := teamIdx[a.Team]
		if !ok {
			return inputErr(f+".team", "互助队不存在 team %d is not in the instance", a.Team)
		}
		d, err := day(f+".date", a.Date)
		if err != nil {
			return err
		}
		r := &p.reqs[ri]
		pp := pprev{req: ri, team: ti, day: d}
		var people int64
		for wi, w := range a.Workers {
			if w.HalfDays <= 0 {
				return inputErr(fmt.Sprintf("%s.workers[%d].halfDays", f, wi), "工日须大于零 half days must be more than zero")
			}
			people += (w.HalfDays + 1) / 2
			m := p.membership(ti, w.Household)
			switch {
			case m < 0:
				pp.reason = ReasonWorker
				continue
			case w.HalfDays > p.ms[m].twoW:
				pp.reason = ReasonWorker
			}
			pp.workers = append(pp.workers, pworker{m: m, half: min(w.HalfDays, p.ms[m].twoW)})
		}
		switch {
		case len(a.Workers) == 0:
			pp.reason = ReasonWorker
		case d < 0 || d >= p.days || d < r.e:
			pp.reason = ReasonDates
		case p.isBlocked(r, d):
			pp.reason = ReasonBlocked
		case p.fixedOn[reqDay{ri, d}]:
			pp.reason = ReasonOneTeam
		case 2*people > r.crewHalf:
			pp.reason = ReasonCrew
		}
		if pp.reason == "" {
			for _, w := range pp.workers {
				if !p.avail[w.m*p.days+d] {
					pp.reason = ReasonWorker
				}
			}
		}
		// A second job of the request on one day (an older plan split the
		// day between teams) cannot stay: the larger one may.
		for _, o := range r.prevs {
			if q := &p.prev[o]; q.day == d && q.reason == "" && pp.reason == "" {
				if halfOf(q.workers) >= halfOf(pp.workers) {
					pp.reason = ReasonOneTeam
				} else {
					q.reason = ReasonOneTeam
				}
			}
		}
		r.prevs = append(r.prevs, len(p.prev))
		p.prev = append(p.prev, pp)
	}
	for ri := range p.reqs {
		r := &p.reqs[ri]
		slices.SortStableFunc(r.prevs, func(a, b int) int { return cmp.Compare(p.prev[a].day, p.prev[b].day) })
	}
	return nil
}

func halfOf(ws []pworker) int64 {
	var n int64
	for _, w := range ws {
		n += w.half
	}
	return n
}
