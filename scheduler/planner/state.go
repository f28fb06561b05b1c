package planner

// state is a plan under construction: who works where on each day. Only
// new jobs live here; fixed ones are occupancy set once.
type state struct {
	p    *problem
	occ  []int32 // household h, day d → h*days+d: request index, free, or taken by a fixed job
	cap  []int64 // team t, day d → t*days+d: half days its free available members could give
	jobs [][]job // request → its new jobs
	done []bool  // request complete (fixed + new jobs cover it)
	// span of all jobs (fixed and new) of each request; first > last: none
	first, last []int
	contrib     []contrib
	key         key
	load        []int64 // team → half days (new jobs)
	seen        []int   // scratch for workingIn
	// warmTeams are the teams the warm plan sent to a request on a day:
	// a re-plan sends them again where it can, so few jobs move.
	warmTeams map[reqDay][]int
}

// reqDay is a request (index) on a day (index).
type reqDay struct{ r, d int }

const (
	free     = -1
	fixedJob = -2
)

type job struct {
	team, day int32
	workers   []pworker
}

func (j *job) half() int64 {
	var n int64
	for _, w := range j.workers {
		n += w.half
	}
	return n
}

// contrib is what a placed request adds to the key.
type contrib struct{ w, late int64 }

// key is the part of Score the search ranks plans by: the work done, in
// window and at all, and lateness. Worker choice comes after the search.
type key struct {
	w, unplaced, late int64
}

func (k key) better(o key) int {
	switch {
	case k.w != o.w:
		return sign(k.w - o.w)
	case k.unplaced != o.unplaced:
		return sign(o.unplaced - k.unplaced)
	case k.late != o.late:
		return sign(o.late - k.late)
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

func newState(p *problem) *state {
	n := len(p.reqs)
	s := &state{
		p:       p,
		occ:     make([]int32, len(p.hhs)*p.days),
		cap:     make([]int64, len(p.teams)*p.days),
		jobs:    make([][]job, n),
		done:    make([]bool, n),
		first:   make([]int, n),
		last:    make([]int, n),
		contrib: make([]contrib, n),
		load:    make([]int64, len(p.teams)),
		seen:    make([]int, n),
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
		} else {
			s.key.unplaced += r.need()
		}
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

// insert places all the remaining work of request r, or nothing. It
// reports whether it did.
func (s *state) insert(r int, mode int) bool {
	if s.done[r] {
		return true
	}
	lo, winHi, hi, _, ok := s.bounds(r)
	if !ok || lo > hi {
		return false
	}
	need := s.p.reqs[r].need()
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
		s.dropJobs(r)
		return false
	}
	s.complete(r)
	return true
}

// takeDay gives request r what the teams can on day d, fewest teams
// first: the team that covers the rest most tightly, else the biggest
// ones in turn. It returns the work still needed.
func (s *state) takeDay(r, d int, need int64) int64 {
	p := s.p
	if p.isBlocked(&p.reqs[r], d) {
		return need
	}
	for need > 0 {
		best, bestCap := -1, int64(0)
		for t := range p.teams {
			c := s.cap[t*p.days+d]
			if c <= 0 {
				continue
			}
			switch {
			case best < 0:
				best, bestCap = t, c
			case bestCap >= need: // covers: keep the tightest cover
				if c >= need && c < bestCap {
					best, bestCap = t, c
				}
			case c > bestCap: // none covers yet: the biggest
				best, bestCap = t, c
			}
		}
		if best < 0 {
			return need
		}
		got := s.takeTeam(r, best, d, need)
		if got == 0 {
			return need
		}
		need -= got
	}
	return need
}

// takeTeam sends members of team t to request r on day d, up to need
// half days, and records the job. Members who can give their whole day
// go first in the team's order; the rest is covered by the smallest
// member that fits it.
func (s *state) takeTeam(r, t, d int, need int64) int64 {
	p := s.p
	var ws []pworker
	cover := -1
	left := need
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
	got := need - left
	if got > 0 {
		s.jobs[r] = append(s.jobs[r], job{team: int32(t), day: int32(d), workers: ws})
		s.load[t] += got
	}
	return got
}

// dropJobs removes the new jobs of request r, freeing their workers.
func (s *state) dropJobs(r int) {
	p := s.p
	for _, j := range s.jobs[r] {
		for _, w := range j.workers {
			s.release(p.ms[w.m].hh, int(j.day))
		}
		s.load[j.team] -= j.half()
	}
	s.jobs[r] = nil
	s.first[r], s.last[r] = p.reqs[r].fixFirst, p.reqs[r].fixLast
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
	s.first[r], s.last[r] = first, last
	s.contrib[r] = c
	s.done[r] = true
	s.key.w += c.w
	s.key.late += c.late
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
	s.key.w -= c.w
	s.key.late -= c.late
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
