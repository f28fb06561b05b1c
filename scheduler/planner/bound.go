package planner

import (
	"cmp"
	"slices"
)

// Bound returns upper bounds on the in-window work of every plan of in,
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
	return p.bounds(), nil
}

func (p *problem) bounds() Bounds {
	var b Bounds
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
	onFixed := make([]bool, len(p.hhs)*p.days)
	for _, f := range p.fixed {
		if f.day >= 0 && f.day < p.days {
			for _, w := range f.workers {
				onFixed[p.ms[w.m].hh*p.days+f.day] = true
			}
		}
	}
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
