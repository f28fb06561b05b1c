package planner

import (
	"cmp"
	"math"
	"slices"
)

// Bound returns upper bounds on the first terms of every plan of in.
//
// Bounds.Finished, on Score.FinishedWeighted, is a Lagrangian bound: a
// request counts (its priority) when all its work is done inside its
// window; on each workable day of the window it takes at most its crew
// cap, and no more than one team can give that day; all requests share
// each day's workers (the capacity constraint). Relaxing that shared
// constraint with a price λ_d ≥ 0 per half day of day d leaves one small
// problem a request — finish it at its cheapest days, gaining priority
// minus price, or not — and for every λ ≥ 0,
//
//	L(λ) = Σ_d λ_d·C_d + Σ_r max(0, pri_r − cheapest_r(λ))
//
// is above the best plan (weak duality; precedence, teams and which
// household goes where are relaxed too). The prices follow a fixed number
// of subgradient steps (Polyak steps toward the plan found), the least
// L seen is kept and rounded down. Requests whose fixed jobs already end
// them count as they are.
//
// Bounds.Weighted and Bounds.HalfDays bound the in-window work,
// from a relaxation solved as a maximum flow: each day holds the workers
// its available members offer, each worker-day goes to one request (it
// does: a household works one job a day), and a request's work splits
// into worker-days freely, ignoring precedence, teams and which household
// sends whom. A worker-day is 2 half days, except that a request needing
// an odd number of half days gets only 1 from its last one: that half day
// is lost in every plan. Fixed jobs count as they are, and their workers
// are busy that day.
//
// The weighted bound fills the most valuable worker-days first (2 ×
// priority a worker-day, priority for an odd request's last one); the
// loads a flow network can carry form a polymatroid, so that greedy
// order is exact for the relaxation. Quality = Score ÷ Bound.
func Bound(in Instance) (Bounds, error) {
	p, err := compile(&in)
	if err != nil {
		return Bounds{}, err
	}
	return p.bounds(0), nil
}

// bounds computes every bound; found is the finished term of a plan at
// hand (0 if none), which steers the Lagrangian bound's steps.
func (p *problem) bounds(found int64) Bounds {
	b := Bounds{Finished: p.finishedBound(found)}
	// Fixed jobs count as they are; the rest is what is left to plan.
	need := make([]int64, len(p.reqs))
	for r := range p.reqs {
		q := &p.reqs[r]
		need[r] = q.need()
		b.Weighted += q.fixW
	}
	for _, f := range p.fixed {
		if f.day <= p.reqs[f.req].l {
			for _, w := range f.workers {
				b.HalfDays += w.half
			}
		}
	}
	// Requests with the same window, group and priority are one node.
	type class struct {
		lo, hi, group int
		pri           int64
		whole, odd    int64 // worker-days worth 2 half days, and worth 1
	}
	var classes []class
	for r := range p.reqs {
		q := &p.reqs[r]
		lo, hi := max(q.e, 0), min(q.l, p.days-1)
		if lo > hi || need[r] <= 0 {
			continue
		}
		classes = append(classes, class{lo: lo, hi: hi, group: q.group, pri: q.pri, whole: need[r] / 2, odd: need[r] % 2})
	}
	slices.SortFunc(classes, func(a, c class) int {
		return cmp.Or(cmp.Compare(c.pri, a.pri), cmp.Compare(a.lo, c.lo), cmp.Compare(a.hi, c.hi), cmp.Compare(a.group, c.group))
	})
	merged := classes[:0]
	for _, c := range classes {
		if n := len(merged); n > 0 && merged[n-1].pri == c.pri && merged[n-1].lo == c.lo && merged[n-1].hi == c.hi && merged[n-1].group == c.group {
			merged[n-1].whole += c.whole
			merged[n-1].odd += c.odd
			continue
		}
		merged = append(merged, c)
	}
	classes = merged

	// Each day holds the workers its members offer, a household once,
	// unless it is on a fixed job that day.
	onFixed := p.onFixed()
	dayCap := make([]int64, p.days)
	for h := range p.hhs {
		for d := range p.days {
			if onFixed[h*p.days+d] {
				continue
			}
			var most int64
			for _, m := range p.hhs[h].ms {
				if p.avail[m*p.days+d] {
					most = max(most, p.ms[m].twoW/2)
				}
			}
			dayCap[d] += most
		}
	}

	// arc is a source edge: worker-days of one class, each worth value
	// half days and value × priority weighted.
	type arc struct {
		edge         int
		units, value int64
		pri          int64
	}
	solve := func(weight func(a arc) int64) int64 {
		// Nodes: 0 source, 1 sink, days, then classes.
		g := newFlowNet(2 + p.days + len(classes))
		for d := range p.days {
			if dayCap[d] > 0 {
				g.edge(2+d, 1, dayCap[d])
			}
		}
		var arcs []arc
		for i, c := range classes {
			v := 2 + p.days + i
			for d := c.lo; d <= c.hi; d++ {
				if !p.blocked[0][d] && (c.group == 0 || !p.blocked[c.group][d]) && dayCap[d] > 0 {
					g.edge(v, 2+d, c.whole+c.odd)
				}
			}
			if c.whole > 0 {
				arcs = append(arcs, arc{edge: g.edge(0, v, 0), units: c.whole, value: 2, pri: c.pri})
			}
			if c.odd > 0 {
				arcs = append(arcs, arc{edge: g.edge(0, v, 0), units: c.odd, value: 1, pri: c.pri})
			}
		}
		slices.SortStableFunc(arcs, func(a, c arc) int { return cmp.Compare(weight(c), weight(a)) })
		var total int64
		for i := 0; i < len(arcs); {
			k := i
			for k < len(arcs) && weight(arcs[k]) == weight(arcs[i]) {
				g.cap[arcs[k].edge] = arcs[k].units
				k++
			}
			total += weight(arcs[i]) * g.maxFlow(0, 1)
			i = k
		}
		return total
	}
	b.Weighted += solve(func(a arc) int64 { return a.value * a.pri })
	b.HalfDays += solve(func(a arc) int64 { return a.value })
	return b
}

// flowNet is a Dinic max-flow network. Edge e and its reverse are e, e^1.
type flowNet struct {
	head, next, to []int
	cap            []int64
	level, it      []int
}

func newFlowNet(n int) *flowNet {
	g := &flowNet{head: make([]int, n), level: make([]int, n), it: make([]int, n)}
	for i := range g.head {
		g.head[i] = -1
	}
	return g
}

// edge adds u→v with capacity c and returns its index.
func (g *flowNet) edge(u, v int, c int64) int {
	e := len(g.to)
	g.to = append(g.to, v, u)
	g.cap = append(g.cap, c, 0)
	g.next = append(g.next, g.head[u], g.head[v])
	g.head[u], g.head[v] = e, e+1
	return e
}

// maxFlow pushes as much more flow from s to t as it can and returns it.
func (g *flowNet) maxFlow(s, t int) int64 {
	var total int64
	queue := make([]int, 0, len(g.head))
	for {
		for i := range g.level {
			g.level[i] = -1
		}
		g.level[s] = 0
		queue = append(queue[:0], s)
		for qi := 0; qi < len(queue); qi++ {
			u := queue[qi]
			for e := g.head[u]; e >= 0; e = g.next[e] {
				if v := g.to[e]; g.cap[e] > 0 && g.level[v] < 0 {
					g.level[v] = g.level[u] + 1
					queue = append(queue, v)
				}
			}
		}
		if g.level[t] < 0 {
			return total
		}
		copy(g.it, g.head)
		for {
			f := g.push(s, t, 1<<62)
			if f == 0 {
				break
			}
			total += f
		}
	}
}

func (g *flowNet) push(u, t int, f int64) int64 {
	if u == t {
		return f
	}
	for ; g.it[u] >= 0; g.it[u] = g.next[g.it[u]] {
		e := g.it[u]
		v := g.to[e]
		if g.cap[e] > 0 && g.level[v] == g.level[u]+1 {
			if got := g.push(v, t, min(f, g.cap[e])); got > 0 {
				g.cap[e] -= got
				g.cap[e^1] += got
				return got
			}
		}
	}
	return 0
}

// lagrangeSteps is how many subgradient steps the finished bound takes.
const lagrangeSteps = 40

// finishedBound is the Lagrangian bound on Score.FinishedWeighted (see
// Bound). found is the finished term of a known plan, the target of the
// step size; the bound never depends on it for its validity.
func (p *problem) finishedBound(found int64) int64 {
	onFixed := p.onFixed()
	// C_d: the half days the village's free households can give on day
	// d; teamMax[d]: the most one team can give.
	dayCap := make([]float64, p.days)
	teamCap := make([]int64, len(p.teams)*p.days)
	for h := range p.hhs {
		for d := range p.days {
			if onFixed[h*p.days+d] {
				continue
			}
			var most int64
			for _, m := range p.hhs[h].ms {
				if p.avail[m*p.days+d] {
					most = max(most, p.ms[m].twoW)
					teamCap[p.ms[m].team*p.days+d] += p.ms[m].twoW
				}
			}
			dayCap[d] += float64(most)
		}
	}
	teamMax := make([]int64, p.days)
	for t := range p.teams {
		for d := range p.days {
			teamMax[d] = max(teamMax[d], teamCap[t*p.days+d])
		}
	}
	// Requests with the same workable days, crew cap and work are one
	// class; a window is the workable days.
	type window struct {
		lo, hi, group int
		days          []int // workable, cheapest first at each step
	}
	type class struct {
		win        int
		crew, need int64
		pris       []int64 // most first
		sums       []int64 // sums[k]: the k highest priorities
	}
	var fixedFin int64
	var wins []window
	winIdx := map[[3]int]int{}
	clsIdx := map[[4]int64]int{}
	var cls []class
	for r := range p.reqs {
		q := &p.reqs[r]
		if q.fixLast > q.l {
			continue // a fixed job already ends it late
		}
		need := q.need()
		if need == 0 {
			fixedFin += q.pri
			continue
		}
		g := q.group
		if g != 0 && !slices.Contains(p.blocked[g], true) {
			g = 0
		}
		lo, hi := max(q.e, 0), min(q.l, p.days-1)
		var room int64
		for d := lo; d <= hi; d++ {
			if !p.isBlocked(q, d) {
				room += min(q.crewHalf, teamMax[d])
			}
		}
		if room < need {
			continue // it cannot finish in its window, whatever the others do
		}
		wk := [3]int{lo, hi, g}
		wi, ok := winIdx[wk]
		if !ok {
			wi = len(wins)
			winIdx[wk] = wi
			w := window{lo: lo, hi: hi, group: g}
			for d := lo; d <= hi; d++ {
				if !p.blocked[0][d] && (g == 0 || !p.blocked[g][d]) {
					w.days = append(w.days, d)
				}
			}
			wins = append(wins, w)
		}
		ck := [4]int64{int64(wi), q.crewHalf, need}
		ci, ok := clsIdx[ck]
		if !ok {
			ci = len(cls)
			clsIdx[ck] = ci
			cls = append(cls, class{win: wi, crew: q.crewHalf, need: need})
		}
		cls[ci].pris = append(cls[ci].pris, q.pri)
	}
	for i := range cls {
		c := &cls[i]
		slices.SortFunc(c.pris, func(a, b int64) int { return cmp.Compare(b, a) })
		c.sums = make([]int64, len(c.pris)+1)
		for k, x := range c.pris {
			c.sums[k+1] = c.sums[k] + x
		}
	}

	lambda := make([]float64, p.days)
	used := make([]float64, p.days)
	order := make([]int, p.days)
	best := math.Inf(1)
	theta, stall := 1.0, 0
	for range lagrangeSteps {
		for d := range order {
			order[d] = d
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(lambda[a], lambda[b]) })
		rankOf := make([]int, p.days)
		for i, d := range order {
			rankOf[d] = i
		}
		for i := range wins {
			slices.SortStableFunc(wins[i].days, func(a, b int) int { return cmp.Compare(rankOf[a], rankOf[b]) })
		}
		clear(used)
		L := 0.0
		for d := range p.days {
			L += lambda[d] * dayCap[d]
		}
		for i := range cls {
			c := &cls[i]
			// The cheapest way to do c.need half days: the cheapest days
			// first, each up to the crew cap and one team's capacity.
			cost, left := 0.0, c.need
			for _, d := range wins[c.win].days {
				if left == 0 {
					break
				}
				x := min(left, c.crew, teamMax[d])
				cost += lambda[d] * float64(x)
				left -= x
			}
			// The requests worth it: priority above the cost.
			k, _ := slices.BinarySearchFunc(c.pris, cost, func(pri int64, cost float64) int {
				return cmp.Compare(cost, float64(pri)) // pris descending: "less" while pri > cost
			})
			if k == 0 {
				continue
			}
			L += float64(c.sums[k]) - float64(k)*cost
			left = c.need
			for _, d := range wins[c.win].days {
				if left == 0 {
					break
				}
				x := min(left, c.crew, teamMax[d])
				used[d] += float64(k) * float64(x)
				left -= x
			}
		}
		if L < best-1e-9 {
			best, stall = L, 0
		} else if stall++; stall >= 4 {
			theta, stall = theta/2, 0
		}
		// Step against the subgradient C_d − used_d, toward the target.
		var norm float64
		for d := range p.days {
			g := dayCap[d] - used[d]
			norm += g * g
		}
		gap := L - float64(found)
		if norm == 0 || gap <= 0 {
			break
		}
		step := theta * gap / norm
		for d := range p.days {
			lambda[d] = max(0, lambda[d]-step*(dayCap[d]-used[d]))
		}
	}
	return fixedFin + int64(math.Floor(best+1e-6))
}

// onFixed marks household h's day d (h*days+d) taken by a fixed job.
func (p *problem) onFixed() []bool {
	on := make([]bool, len(p.hhs)*p.days)
	for _, f := range p.fixed {
		if f.day >= 0 && f.day < p.days {
			for _, w := range f.workers {
				on[p.ms[w.m].hh*p.days+f.day] = true
			}
		}
	}
	return on
}
