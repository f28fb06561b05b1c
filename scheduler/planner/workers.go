package planner

import (
	"cmp"
	"context"
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

// groupTeams is how many teams, besides its own and its request's, a job
// may go to in a village of more than that many teams: those with the
// most members in the field's village group. A smaller village tries all.
const groupTeams = 8

// chooseWorkers keeps each new job's request, day and work and picks its
// team and workers again, day by day, biggest jobs first: each candidate
// team offers its free members whose balance (counting what they were
// sent to so far) is lowest, those of the field's own village group first
// among equals, and the job goes to a team already on the request's
// other days if one can cover it, else to the team whose offer raises the
// balance term least, then works most in the field's group, then has the
// least load so far. The candidates are the job's team, the request's
// other teams and the groupTeams teams with most members in the field's
// group (all teams in a village of no more). The search before only ranks the work done and its lateness,
// which the team does not change, so the team is free to follow the
// later terms here. A job kept from the previous plan keeps its team and
// workers. A day whose jobs the new choice cannot all cover keeps the
// teams and workers it had.
//
// Each team's free members are sorted by balance once a day and handed
// out from the front, so the choice is near-linear in the village:
// O(members × days × log members) for the sorting and a few candidates a
// job.
func (s *state) chooseWorkers(ctx context.Context) error {
	p := s.p
	b := s.balances(false)
	byDay := make([][]jobRef, p.days)
	for r := range s.jobs {
		s.jobs[r] = slices.Clone(s.jobs[r]) // jobs may be shared with a clone
		for j := range s.jobs[r] {
			d := s.jobs[r][j].day
			byDay[d] = append(byDay[d], jobRef{r, j})
		}
	}
	at := func(x jobRef) *job { return &s.jobs[x.r][x.j] }
	byGroup := p.groupTeams()
	all := make([]int, len(p.teams))
	for t := range all {
		all[t] = t
	}
	load := make([]int64, len(p.teams))
	pools := make([][]int, len(p.teams)) // a team's free members of the day, by balance
	poolDay := make([]int, len(p.teams))
	for t := range poolDay {
		poolDay[t] = -1
	}
	pool := func(t, d int) []int {
		if poolDay[t] == d {
			return pools[t]
		}
		poolDay[t] = d
		ms := pools[t][:0]
		for _, m := range p.teams[t].members {
			if s.isFree(m, d) {
				ms = append(ms, m)
			}
		}
		slices.SortFunc(ms, func(x, y int) int {
			return cmp.Or(cmp.Compare(b[p.ms[x].hh], b[p.ms[y].hh]), cmp.Compare(x, y))
		})
		pools[t] = ms
		return ms
	}
	// offer picks team t's members for h half days of request r on day d:
	// the workers, what they add to the balance term and how much of it
	// is in the field's group; ok is false when the team cannot cover h.
	// Members taken today are dropped from the front of the pool.
	offer := func(t, d, r int, h int64, out []pworker) (ws []pworker, cost, same int64, ok bool) {
		ms := pool(t, d)
		for len(ms) > 0 && !s.isFree(ms[0], d) {
			ms = ms[1:]
		}
		pools[t] = ms
		ws = out[:0]
		left := h
		g := p.reqs[r].groupNo
		for i := 0; i < len(ms) && left > 0; {
			k := i + 1
			for k < len(ms) && b[p.ms[ms[k]].hh] == b[p.ms[ms[i]].hh] {
				k++
			}
			for pass := range 2 {
				for _, m := range ms[i:k] {
					own := p.hhs[p.ms[m].hh].group == g
					if left == 0 || own != (pass == 0) || !s.isFree(m, d) {
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
	var cands []int
	var scratch []pworker
	for d := range p.days {
		if d%8 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		group := byDay[d]
		var movable []int // indexes into group
		for gi, x := range group {
			if at(x).prev < 0 {
				movable = append(movable, gi)
				for _, w := range at(x).workers {
					s.release(p.ms[w.m].hh, d)
				}
			}
		}
		was := make([]job, len(movable))
		for i, gi := range movable {
			was[i] = *at(group[gi])
		}
		// Biggest jobs first: they are the hardest to cover.
		order := make([]int, len(movable))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(was[y].half(), was[x].half()) })
		chosen := make([]job, len(movable))
		ok := true
		for _, i := range order {
			x := group[movable[i]]
			h := was[i].half()
			q := &p.reqs[x.r]
			cands = append(cands[:0], int(was[i].team))
			for _, o := range s.jobs[x.r] {
				if int(o.day) != d && !slices.Contains(cands, int(o.team)) {
					cands = append(cands, int(o.team))
				}
			}
			onOther := func(t int) bool {
				for _, o := range s.jobs[x.r] {
					if int(o.day) != d && int(o.team) == t {
						return true
					}
				}
				return false
			}
			more := byGroup[q.groupNo]
			if len(p.teams) <= groupTeams {
				more = all
			}
			for _, t := range more {
				if !slices.Contains(cands, t) {
					cands = append(cands, t)
				}
			}
			best := job{team: -1, day: int32(d), prev: -1}
			var bestCost, bestSame int64
			bestHome := false
			for _, t := range cands {
				ws, cost, same, fits := offer(t, d, x.r, h, scratch)
				scratch = ws
				if !fits {
					continue
				}
				isHome := onOther(t)
				if best.team >= 0 {
					c := cmp.Or(cmpBool(isHome, bestHome), cmp.Compare(cost, bestCost), cmp.Compare(bestSame, same),
						cmp.Compare(load[t], load[best.team]))
					if c >= 0 {
						continue
					}
				}
				best = job{team: int32(t), day: int32(d), prev: -1, workers: slices.Clone(ws)}
				bestCost, bestSame, bestHome = cost, same, isHome
			}
			if best.team < 0 {
				ok = false
				break
			}
			for _, w := range best.workers {
				s.occupy(p.ms[w.m].hh, d, int32(x.r))
			}
			chosen[i] = best
		}
		for i, gi := range movable {
			for _, w := range chosen[i].workers {
				s.release(p.ms[w.m].hh, d)
			}
			j := at(group[gi])
			if ok {
				slices.SortFunc(chosen[i].workers, func(a, c pworker) int { return cmp.Compare(a.m, c.m) })
				s.load[j.team] -= j.half()
				*j = chosen[i]
				s.load[j.team] += j.half()
			} else {
				*j = was[i]
			}
			for _, w := range j.workers {
				s.occupy(p.ms[w.m].hh, d, int32(group[gi].r))
			}
		}
		for _, x := range group {
			j := at(x)
			for _, w := range j.workers {
				b[p.ms[w.m].hh] += w.half
			}
			load[j.team] += j.half()
		}
	}
	return nil
}

// cmpBool orders true before false: -1 when a is true and b is not.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// groupTeams lists, for each village group, the groupTeams teams with
// the most members in it (then the lower index).
func (p *problem) groupTeams() map[int][]int {
	out := map[int][]int{}
	for k := range p.teamGroup {
		if !slices.Contains(out[k.group], k.team) {
			out[k.group] = append(out[k.group], k.team)
		}
	}
	for g, ts := range out {
		slices.SortFunc(ts, func(a, c int) int {
			return cmp.Or(cmp.Compare(p.teamGroup[teamGroupKey{c, g}], p.teamGroup[teamGroupKey{a, g}]), cmp.Compare(a, c))
		})
		out[g] = ts[:min(len(ts), groupTeams)]
	}
	return out
}
