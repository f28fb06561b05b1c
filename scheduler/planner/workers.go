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

// chooseWorkers keeps each new job's request, day and work and picks its
// team and workers again, day by day, biggest jobs first: each team
// offers its free members whose balance (counting what they were sent to
// so far) is lowest, those of the field's own village group first among
// equals, and the job goes to the team whose offer raises the balance
// term least, then works most in the field's group, then has the least
// load so far. The search before only ranks the work done and its
// lateness, which the team does not change, so the team is free to
// follow the later terms here. In a re-plan, a request's work on a day
// the warm plan gave a team goes to that team again when it can, so that
// few jobs move. A day whose jobs the new choice cannot
// all cover keeps the teams and workers it had.
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
		return cmp.Or(cmp.Compare(a.day, c.day), cmp.Compare(a.team, c.team), cmp.Compare(x.r, y.r), cmp.Compare(x.j, y.j))
	})
	// A fixed job's team takes no second job of its request that day.
	fixedTeams := map[reqDay][]int{}
	for _, f := range p.fixed {
		k := reqDay{f.req, f.day}
		fixedTeams[k] = append(fixedTeams[k], f.team)
	}
	load := make([]int64, len(p.teams))
	var pool []int
	// offer picks team t's members for h half days of request r on day d:
	// the workers, what they add to the balance term and how much of it
	// is in the field's group; ok is false when the team cannot cover h.
	offer := func(t, d, r int, h int64, out []pworker) (ws []pworker, cost, same int64, ok bool) {
		pool = pool[:0]
		for _, m := range p.teams[t].members {
			if s.isFree(m, d) {
				pool = append(pool, m)
			}
		}
		slices.SortFunc(pool, func(x, y int) int {
			return cmp.Or(cmp.Compare(b[p.ms[x].hh], b[p.ms[y].hh]), cmp.Compare(x, y))
		})
		ws = out[:0]
		left := h
		g := p.reqs[r].groupNo
		for i := 0; i < len(pool) && left > 0; {
			k := i + 1
			for k < len(pool) && b[p.ms[pool[k]].hh] == b[p.ms[pool[i]].hh] {
				k++
			}
			for pass := range 2 {
				for _, m := range pool[i:k] {
					own := p.hhs[p.ms[m].hh].group == g
					if left == 0 || own != (pass == 0) {
						continue
					}
					w := min(p.ms[m].twoW, left)
					ws = append(ws, pworker{m: m, half: w})
					x := b[p.ms[m].hh]
					cost += (x+w)*(x+w) - x*x
					if own {
						same += w
					}
					left -= w
				}
			}
			i = k
		}
		return ws, cost, same, left == 0
	}
	var try []pworker
	for lo := 0; lo < len(refs); {
		hi := lo + 1
		for hi < len(refs) && at(refs[hi]).day == at(refs[lo]).day {
			hi++
		}
		group := refs[lo:hi]
		d := int(at(group[0]).day)
		was := make([]job, len(group))
		for gi, x := range group {
			was[gi] = *at(x)
			for _, w := range at(x).workers {
				s.release(p.ms[w.m].hh, d)
			}
		}
		// Biggest jobs first: they are the hardest to cover.
		order := make([]int, len(group))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(was[y].half(), was[x].half()) })
		chosen := make([]job, len(group))
		ok := true
		for _, gi := range order {
			x := group[gi]
			h := was[gi].half()
			best := job{team: -1}
			var bestCost, bestSame int64
			warmTeams := s.warmTeams[reqDay{x.r, d}]
			for pass := range 2 {
				for t := range p.teams {
					if pass == 0 && len(warmTeams) > 0 && !slices.Contains(warmTeams, t) {
						continue
					}
					taken := slices.Contains(fixedTeams[reqDay{x.r, d}], t) && t != int(was[gi].team)
					for _, o := range order {
						if c := &chosen[o]; c.workers != nil && group[o].r == x.r && int(c.team) == t {
							taken = true
						}
					}
					if taken {
						continue
					}
					ws, cost, same, fits := offer(t, d, x.r, h, try)
					try = ws
					if !fits {
						continue
					}
					if best.team >= 0 && cmp.Or(cmp.Compare(cost, bestCost), cmp.Compare(bestSame, same),
						cmp.Compare(load[t], load[best.team])) >= 0 {
						continue
					}
					best = job{team: int32(t), day: int32(d), workers: slices.Clone(ws)}
					bestCost, bestSame = cost, same
				}
				if best.team >= 0 || len(warmTeams) == 0 {
					break
				}
			}
			if best.team < 0 {
				ok = false
				break
			}
			for _, w := range best.workers {
				s.occupy(p.ms[w.m].hh, d, int32(x.r))
			}
			chosen[gi] = best
		}
		for gi, x := range group {
			for _, w := range chosen[gi].workers {
				s.release(p.ms[w.m].hh, d)
			}
			j := at(x)
			if ok {
				slices.SortFunc(chosen[gi].workers, func(a, c pworker) int { return cmp.Compare(a.m, c.m) })
				s.load[j.team] -= j.half()
				*j = chosen[gi]
				s.load[j.team] += j.half()
			} else {
				*j = was[gi]
			}
		}
		for _, x := range group {
			j := at(x)
			for _, w := range j.workers {
				s.occupy(p.ms[w.m].hh, d, int32(x.r))
				b[p.ms[w.m].hh] += w.half
			}
			load[j.team] += j.half()
		}
		lo = hi
	}
}
