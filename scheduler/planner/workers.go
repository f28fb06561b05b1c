package planner

import (
	"cmp"
	"slices"
)

// balances returns each household's balance once every job of the plan
// is done: what it had, less the help its done requests receive (unless
// exempt), plus the work it gives. Fixed jobs count as done.
func (s *state) balances(newWork bool) []int64 {
	p := s.p
	b := make([]int64, len(p.hhs))
	for h := range p.hhs {
		b[h] = p.hhs[h].bal0
	}
	for r := range p.reqs {
		q := &p.reqs[r]
		got := q.fixHalf
		if s.done[r] {
			got += q.need()
		}
		if !q.exempt {
			b[q.hh] -= got
		}
	}
	for _, f := range p.fixed {
		for _, w := range f.workers {
			b[p.ms[w.m].hh] += w.half
		}
	}
	if newWork {
		for r := range s.jobs {
			for _, j := range s.jobs[r] {
				for _, w := range j.workers {
					b[p.ms[w.m].hh] += w.half
				}
			}
		}
	}
	return b
}

type jobRef struct{ r, j int }

// chooseWorkers keeps each new job's team, day and work and picks its
// workers again: day by day, team by team, the members whose balance
// (counting what they were sent to so far) is lowest go first, those of
// the field's own village group first among equals. A team-day whose
// jobs the new choice cannot all cover keeps the workers it had.
func (s *state) chooseWorkers() {
	p := s.p
	b := s.balances(false)
	var refs []jobRef
	for r := range s.jobs {
		s.jobs[r] = slices.Clone(s.jobs[r]) // jobs may be shared with a clone
		for j := range s.jobs[r] {
			refs = append(refs, jobRef{r, j})
		}
	}
	at := func(x jobRef) *job { return &s.jobs[x.r][x.j] }
	slices.SortFunc(refs, func(x, y jobRef) int {
		a, c := at(x), at(y)
		return cmp.Or(cmp.Compare(a.day, c.day), cmp.Compare(a.team, c.team), cmp.Compare(x.r, y.r))
	})
	used := make([]bool, len(p.ms))
	var pool []int
	for lo := 0; lo < len(refs); {
		hi := lo + 1
		for hi < len(refs) && at(refs[hi]).day == at(refs[lo]).day && at(refs[hi]).team == at(refs[lo]).team {
			hi++
		}
		group := refs[lo:hi]
		d, t := int(at(group[0]).day), int(at(group[0]).team)
		for _, x := range group {
			for _, w := range at(x).workers {
				s.release(p.ms[w.m].hh, d)
			}
		}
		pool = pool[:0]
		for _, m := range p.teams[t].members {
			if s.isFree(m, d) {
				pool = append(pool, m)
			}
		}
		slices.SortFunc(pool, func(x, y int) int {
			return cmp.Or(cmp.Compare(b[p.ms[x].hh], b[p.ms[y].hh]), cmp.Compare(x, y))
		})
		// Biggest jobs first: they are the hardest to cover.
		slices.SortStableFunc(group, func(x, y jobRef) int { return cmp.Compare(at(y).half(), at(x).half()) })
		chosen := make([][]pworker, len(group))
		ok := true
		for gi, x := range group {
			left := at(x).half()
			g := p.reqs[x.r].groupNo
			for i := 0; i < len(pool) && left > 0; {
				k := i + 1
				for k < len(pool) && b[p.ms[pool[k]].hh] == b[p.ms[pool[i]].hh] {
					k++
				}
				for pass := range 2 {
					for _, m := range pool[i:k] {
						if left == 0 || used[m] || (p.hhs[p.ms[m].hh].group == g) != (pass == 0) {
							continue
						}
						h := min(p.ms[m].twoW, left)
						chosen[gi] = append(chosen[gi], pworker{m: m, half: h})
						used[m] = true
						left -= h
					}
				}
				i = k
			}
			if left > 0 {
				ok = false
				break
			}
		}
		for _, m := range pool {
			used[m] = false
		}
		for gi, x := range group {
			j := at(x)
			if ok {
				slices.SortFunc(chosen[gi], func(a, c pworker) int { return cmp.Compare(a.m, c.m) })
				j.workers = chosen[gi]
			}
			for _, w := range j.workers {
				s.occupy(p.ms[w.m].hh, d, int32(x.r))
				b[p.ms[w.m].hh] += w.half
			}
		}
		lo = hi
	}
}
