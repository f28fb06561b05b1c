package planner

import "slices"

// state is a plan under construction: who works where on each day. Only
// new and kept previous jobs live here; fixed ones are occupancy set once.
type state struct {
	p    *problem
	occ  []int32 // household h, day d → h*days+d: request index, free, or taken by a fixed job
	cap  []int64 // team t, day d → t*days+d: half days its free available members could give
	jobs [][]job // request → its jobs, one a day at most
	done []bool  // request complete (fixed + jobs cover it)
	// span of all jobs (fixed and new) of each request; first > last: none
	first, last []int
	contrib     []contrib
	key         key
	load        []int64 // team → half days (new jobs)
	seen        []int   // scratch for workingIn
	// prevReason is why a previous job could not be kept, found while
	// the plan was built (see loadPrevious); "" for the others.
	prevReason []string
}

// reqDay is a request (index) on a day (index).
type reqDay struct{ r, d int }

const (
	free     = -1
	fixedJob = -2
)

// job is one team's work for a request on a day. prev is the previous
// job it keeps (same request, day and team), or -1.
type job struct {
	team, day int32
	prev      int32
	workers   []pworker
}

func (j *job) half() int64 { return halfOf(j.workers) }

// contrib is what a placed request adds to the key.
type contrib struct{ fin, w, late, change, split int64 }

// key is the part of Score the search ranks plans by: requests finished
// in their windows, change to the saved plan, the work done in window and
// at all, lateness, and a request's days split between teams (split:
// Σ over requests of its teams less one). Worker choice comes after the
// search.
type key struct {
	fin, change, w, unplaced, late, split int64
}

func (k key) better(o key) int {
	switch {
	case k.fin != o.fin:
		return sign(k.fin - o.fin)
	case k.change != o.change:
		return sign(o.change - k.change)
	case k.w != o.w:
		return sign(k.w - o.w)
	case k.unplaced != o.unplaced:
		return sign(o.unplaced - k.unplaced)
	case k.late != o.late:
		return sign(o.late - k.late)
	case k.split != o.split:
		return sign(o.split - k.split)
	}
	return 0
}

func sign(x int64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// Change costs: a previous job moved, and one kept with other workers.
const (
	costMoved   = 4
	costWorkers = 1
)

func newState(p *problem) *state {
	n := len(p.reqs)
	s := &state{
		p:          p,
		occ:        make([]int32, len(p.hhs)*p.days),
		cap:        make([]int64, len(p.teams)*p.days),
		jobs:       make([][]job, n),
		done:       make([]bool, n),
		first:      make([]int, n),
		last:       make([]int, n),
		contrib:    make([]contrib, n),
		load:       make([]int64, len(p.teams)),
		seen:       make([]int, n),
		prevReason: make([]string, len(p.prev)),
	}
	for i := range s.occ {
		s.occ[i] = free
	}
	for m, pm := range p.ms {
		for d := range p.days {
			if p.avail[m*p.days+d] {
				s.cap[pm.team*p.days+d] += pm.twoW
			}
		}
	}
	for _, f := range p.fixed {
		if f.day < 0 || f.day >= p.days {
			continue
		}
		for _, w := range f.workers {
			h := p.ms[w.m].hh
			if s.occ[h*p.days+f.day] == free {
				s.occupy(h, f.day, fixedJob)
			}
		}
	}
	for i := range p.reqs {
		r := &p.reqs[i]
		s.first[i], s.last[i] = r.fixFirst, r.fixLast
		s.key.w += r.fixW
		s.key.late += r.fixLate
		if r.need() == 0 {
			s.done[i] = true
			if r.fixLast <= r.l {
				s.key.fin += r.pri
			}
		} else {
			s.key.unplaced += r.need()
			s.key.change += costMoved * int64(len(r.prevs))
		}
	}
	for i, pp := range p.prev {
		s.prevReason[i] = pp.reason
	}
	return s
}

func (s *state) clone() *state {
	c := *s
	c.occ = append([]int32(nil), s.occ...)
	c.cap = append([]int64(nil), s.cap...)
	c.jobs = append([][]job(nil), s.jobs...) // jobs are never changed in place
	c.done = append([]bool(nil), s.done...)
	c.first = append([]int(nil), s.first...)
	c.last = append([]int(nil), s.last...)
	c.contrib = append([]contrib(nil), s.contrib...)
	c.load = append([]int64(nil), s.load...)
	c.seen = make([]int, len(s.seen))
	c.prevReason = append([]string(nil), s.prevReason...)
	return &c
}

func (s *state) occupy(h, d int, r int32) {
	p := s.p
	s.occ[h*p.days+d] = r
	for _, m := range p.hhs[h].ms {
		if p.avail[m*p.days+d] {
			s.cap[p.ms[m].team*p.days+d] -= p.ms[m].twoW
		}
	}
}

func (s *state) release(h, d int) {
	p := s.p
	s.occ[h*p.days+d] = free
	for _, m := range p.hhs[h].ms {
		if p.avail[m*p.days+d] {
			s.cap[p.ms[m].team*p.days+d] += p.ms[m].twoW
		}
	}
}

// isFree reports whether membership m can work on day d.
func (s *state) isFree(m, d int) bool {
	p := s.p
	return p.avail[m*p.days+d] && s.occ[p.ms[m].hh*p.days+d] == free
}

// bounds returns the days new work of request r may use: from lo, and
// inside the window up to winHi, late up to hi. ok is false, with the
// blocking predecessor (or -1), when a predecessor is not done.
func (s *state) bounds(r int) (lo, winHi, hi, pred int, ok bool) {
	p := s.p
	q := &p.reqs[r]
	lo = max(q.e, 0)
	for _, pr := range q.preds {
		if !s.done[pr] {
			return 0, 0, 0, pr, false
		}
		lo = max(lo, s.last[pr]+1)
	}
	hi = p.days - 1
	for _, su := range q.succs {
		if s.first[su] <= s.last[su] {
			hi = min(hi, s.first[su]-1)
		}
	}
	return lo, min(q.l, hi), hi, -1, true
}

// Insertion modes: fill the window from its first day or from its last.
const (
	forward = iota
	backward
)

// insert places all the remaining work of request r (beyond the jobs it
// has, which stay), or nothing new. It reports whether r is done.
func (s *state) insert(r int, mode int) bool {
	if s.done[r] {
		return true
	}
	lo, winHi, hi, _, ok := s.bounds(r)
	if !ok || lo > hi {
		return false
	}
	return s.insertIn(r, mode, lo, winHi, hi)
}

// insertIn is insert within the days lo..hi, in window up to winHi.
func (s *state) insertIn(r, mode, lo, winHi, hi int) bool {
	had := len(s.jobs[r])
	need := s.p.reqs[r].need()
	for _, j := range s.jobs[r] {
		need -= j.half()
	}
	if mode == backward {
		for d := winHi; d >= lo && need > 0; d-- {
			need = s.takeDay(r, d, need)
		}
	} else {
		for d := lo; d <= winHi && need > 0; d++ {
			need = s.takeDay(r, d, need)
		}
	}
	for d := max(lo, winHi+1); d <= hi && need > 0; d++ {
		need = s.takeDay(r, d, need)
	}
	if need > 0 {
		s.dropJobsFrom(r, had)
		return false
	}
	s.complete(r)
	return true
}

// hasDay reports whether request r has a job, fixed or its own, on day d.
func (s *state) hasDay(r, d int) bool {
	if s.p.fixedOn[reqDay{r, d}] {
		return true
	}
	for _, j := range s.jobs[r] {
		if int(j.day) == d {
			return true
		}
	}
	return false
}

// takeDay gives request r one team's work on day d, at most its crew cap:
// the team that can give the most, then the team already on the field on
// other days, then the team with most members in the field's village
// group, then the least loaded. It returns the work still needed.
func (s *state) takeDay(r, d int, need int64) int64 {
	p := s.p
	q := &p.reqs[r]
	if p.isBlocked(q, d) || s.hasDay(r, d) {
		return need
	}
	want := min(need, q.crewHalf)
	best, bestGot, bestSame, bestGroup := -1, int64(0), false, 0
	for t := range p.teams {
		got := min(s.cap[t*p.days+d], want)
		if got <= 0 || got < bestGot {
			continue
		}
		same := false
		for _, j := range s.jobs[r] {
			if int(j.team) == t {
				same = true
				break
			}
		}
		g := p.teamGroup[teamGroupKey{t, q.groupNo}]
		if best >= 0 && got == bestGot {
			switch {
			case same != bestSame:
				if !same {
					continue
				}
			case g != bestGroup:
				if g < bestGroup {
					continue
				}
			case s.load[t] >= s.load[best]:
				continue
			}
		}
		best, bestGot, bestSame, bestGroup = t, got, same, g
	}
	if best < 0 {
		return need
	}
	return need - s.takeTeam(r, best, d, bestGot)
}

// takeTeam sends members of team t to request r on day d, up to want
// half days, and records the job. Members who can give their whole day
// go first in the team's order; the rest is covered by the smallest
// member that fits it.
func (s *state) takeTeam(r, t, d int, want int64) int64 {
	p := s.p
	var ws []pworker
	cover := -1
	left := want
	for _, m := range p.teams[t].bySize {
		if !s.isFree(m, d) {
			continue
		}
		tw := p.ms[m].twoW
		if tw <= left {
			ws = append(ws, pworker{m: m, half: tw})
			s.occupy(p.ms[m].hh, d, int32(r))
			if left -= tw; left == 0 {
				break
			}
		} else if cover < 0 || tw < p.ms[cover].twoW {
			cover = m
		}
	}
	if left > 0 && cover >= 0 && s.isFree(cover, d) {
		ws = append(ws, pworker{m: cover, half: left})
		s.occupy(p.ms[cover].hh, d, int32(r))
		left = 0
	}
	got := want - left
	if got > 0 {
		s.jobs[r] = append(s.jobs[r], job{team: int32(t), day: int32(d), prev: -1, workers: ws})
		s.load[t] += got
	}
	return got
}

// dropJobs removes the jobs of request r, freeing their workers.
func (s *state) dropJobs(r int) { s.dropJobsFrom(r, 0) }

// dropJobsFrom removes the jobs of request r from index k on.
func (s *state) dropJobsFrom(r, k int) {
	p := s.p
	for _, j := range s.jobs[r][k:] {
		for _, w := range j.workers {
			s.release(p.ms[w.m].hh, int(j.day))
		}
		s.load[j.team] -= j.half()
	}
	if k == 0 {
		s.jobs[r] = nil
	} else {
		s.jobs[r] = s.jobs[r][:k:k]
	}
	s.first[r], s.last[r] = p.reqs[r].fixFirst, p.reqs[r].fixLast
}

// changeCost is what request r's jobs cost against its previous jobs: a
// previous job not kept on its day by its team is moved.
func (s *state) changeCost(r int) int64 {
	p := s.p
	var c int64
	for _, pi := range p.reqs[r].prevs {
		pp := &p.prev[pi]
		kept := false
		for _, j := range s.jobs[r] {
			if int(j.day) == pp.day && int(j.team) == pp.team {
				kept = true
				break
			}
		}
		if !kept {
			c += costMoved
		}
	}
	return c
}

// teamsOf counts the teams among request r's jobs of this plan (a
// request has few days, so a quadratic scan is cheapest).
func (s *state) teamsOf(r int) int64 {
	js := s.jobs[r]
	n := int64(0)
	for i, j := range js {
		if !slices.ContainsFunc(js[:i], func(k job) bool { return k.team == j.team }) {
			n++
		}
	}
	return n
}

// complete marks r done and adds its jobs to the key.
func (s *state) complete(r int) {
	p := s.p
	q := &p.reqs[r]
	var c contrib
	first, last := q.fixFirst, q.fixLast
	for _, j := range s.jobs[r] {
		d := int(j.day)
		h := j.half()
		switch {
		case d <= q.l:
			c.w += q.pri * h
		default:
			c.late += q.pri * h * int64(d-q.l)
		}
		first, last = min(first, d), max(last, d)
	}
	if last <= q.l {
		c.fin = q.pri
	}
	c.change = s.changeCost(r)
	c.split = s.teamsOf(r) - 1
	s.first[r], s.last[r] = first, last
	s.contrib[r] = c
	s.done[r] = true
	s.key.fin += c.fin
	s.key.w += c.w
	s.key.late += c.late
	s.key.split += c.split
	s.key.change += c.change - costMoved*int64(len(q.prevs))
	s.key.unplaced -= q.need()
}

// remove takes request r out of the plan and returns its jobs, to be put
// back with restore.
func (s *state) remove(r int) []job {
	if !s.done[r] || len(s.jobs[r]) == 0 {
		return nil
	}
	q := &s.p.reqs[r]
	js := s.jobs[r]
	s.dropJobs(r)
	c := s.contrib[r]
	s.key.fin -= c.fin
	s.key.w -= c.w
	s.key.late -= c.late
	s.key.split -= c.split
	s.key.change += costMoved*int64(len(q.prevs)) - c.change
	s.key.unplaced += q.need()
	s.contrib[r] = contrib{}
	s.done[r] = false
	return js
}

// restore puts back jobs that remove returned; their workers must be free.
func (s *state) restore(r int, js []job) {
	p := s.p
	for _, j := range js {
		for _, w := range j.workers {
			s.occupy(p.ms[w.m].hh, int(j.day), int32(r))
		}
		s.load[j.team] += j.half()
	}
	s.jobs[r] = js
	s.complete(r)
}
