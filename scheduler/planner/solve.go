package planner

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
)

// DefaultIterations is how many destroy-and-repair rounds Solve runs when
// Options.Iterations is zero: enough for a 300-household village to come
// within a few hundredths of the bound in well under 100 ms.
const DefaultIterations = 2000

// ReplanIterations is enough search after a small change (a rain day)
// when the earlier plan is given as Options.Warm.
const ReplanIterations = 300

// Options tune Solve. The zero value is the default.
type Options struct {
	// Iterations of the improvement search after construction: 0 means
	// DefaultIterations, a negative number none (the greedy plan). The
	// budget is counted, not timed, so a plan never depends on the
	// machine it runs on.
	Iterations int
	// Seed of the search's random choices. Same input, same options:
	// the same plan.
	Seed uint64
}

// pcgStream is the second half of the search's PCG state, so that the
// search depends on Options.Seed alone.
const pcgStream = 0x706c616e6e6572 // "planner"

// Solve plans in: it builds a plan greedily (highest priority first, then
// earliest deadline, each request on the first days its window allows),
// improves it by large-neighbourhood search (take some requests out,
// put them back in another order or from the other end of their
// windows, keep the change unless the plan gets worse) and finally picks
// each job's workers so that those who owe help give it. The plan
// returned is never worse than the greedy one. Bad input is an
// *InputError.
func Solve(ctx context.Context, in Instance, opts Options) (Plan, error) {
	p, err := compile(&in)
	if err != nil {
		return Plan{}, err
	}
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	s := newState(p)
	var warm *Plan
	if len(in.Previous) > 0 {
		warm = &Plan{Assignments: in.Previous}
	}
	s.construct(warm)
	greedy := s.clone()
	best := greedy.finish()
	iters := opts.Iterations
	if iters == 0 {
		iters = DefaultIterations
	}
	if iters > 0 {
		s.improve(iters, rand.New(rand.NewPCG(opts.Seed, pcgStream)), warm != nil)
		if improved := s.finish(); improved.Score.Compare(best.Score) > 0 {
			best = improved
		}
	}
	best.Bound = p.bounds()
	return best, nil
}

// rank orders requests for construction: priority, then deadline, then
// the window's start, then input order.
func (p *problem) rank(a, b int) int {
	ra, rb := &p.reqs[a], &p.reqs[b]
	return cmp.Or(cmp.Compare(rb.pri, ra.pri), cmp.Compare(ra.l, rb.l), cmp.Compare(ra.e, rb.e), cmp.Compare(a, b))
}

type readyHeap struct {
	p  *problem
	xs []int
}

func (h *readyHeap) Len() int           { return len(h.xs) }
func (h *readyHeap) Less(i, j int) bool { return h.p.rank(h.xs[i], h.xs[j]) < 0 }
func (h *readyHeap) Swap(i, j int)      { h.xs[i], h.xs[j] = h.xs[j], h.xs[i] }
func (h *readyHeap) Push(x any)         { h.xs = append(h.xs, x.(int)) }
func (h *readyHeap) Pop() any {
	x := h.xs[len(h.xs)-1]
	h.xs = h.xs[:len(h.xs)-1]
	return x
}

// construct keeps what it can of warm, then places the other requests
// one by one in rank order, a request only after its predecessors.
func (s *state) construct(warm *Plan) {
	p := s.p
	if warm != nil {
		s.loadWarm(warm)
	}
	indeg := make([]int, len(p.reqs))
	h := &readyHeap{p: p}
	for i := range p.reqs {
		indeg[i] = len(p.reqs[i].preds)
		if indeg[i] == 0 {
			h.xs = append(h.xs, i)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		r := heap.Pop(h).(int)
		if !s.done[r] {
			s.insert(r, forward)
		}
		for _, su := range p.reqs[r].succs {
			if indeg[su]--; indeg[su] == 0 {
				heap.Push(h, su)
			}
		}
	}
}

// loadWarm takes over the new jobs of an earlier plan for each request
// whose jobs all still fit, in precedence order.
func (s *state) loadWarm(warm *Plan) {
	p := s.p
	byReq := map[int64][]int{}
	for i, a := range warm.Assignments {
		if !a.Fixed {
			byReq[a.Request] = append(byReq[a.Request], i)
		}
	}
	teamIdx := make(map[int64]int, len(p.teams))
	for t, pt := range p.teams {
		teamIdx[pt.id] = t
	}
	dayIdx := make(map[string]int, p.days)
	for d, date := range p.dates {
		dayIdx[date] = d
	}
	s.warmTeams = map[reqDay][]int{}
	for _, a := range warm.Assignments {
		r, okR := p.reqIdx[a.Request]
		t, okT := teamIdx[a.Team]
		d, okD := dayIdx[a.Date]
		if !a.Fixed && okR && okT && okD {
			s.warmTeams[reqDay{r, d}] = append(s.warmTeams[reqDay{r, d}], t)
		}
	}
	for _, r := range p.topo {
		as := byReq[p.reqs[r].id]
		if len(as) == 0 || s.done[r] {
			continue
		}
		lo, _, hi, _, ok := s.bounds(r)
		var sum int64
		for _, ai := range as {
			a := &warm.Assignments[ai]
			t, okT := teamIdx[a.Team]
			d, okD := dayIdx[a.Date]
			if !okT || !okD || d < lo || d > hi || p.isBlocked(&p.reqs[r], d) {
				ok = false
				break
			}
			j := job{team: int32(t), day: int32(d)}
			for _, w := range a.Workers {
				m := p.membership(t, w.Household)
				if m < 0 || !s.isFree(m, d) || w.HalfDays <= 0 || w.HalfDays > p.ms[m].twoW {
					ok = false
					break
				}
				s.occupy(p.ms[m].hh, d, int32(r))
				j.workers = append(j.workers, pworker{m: m, half: w.HalfDays})
				sum += w.HalfDays
			}
			s.jobs[r] = append(s.jobs[r], j)
			s.load[t] += j.half()
			if !ok {
				break
			}
		}
		if ok && sum == p.reqs[r].need() {
			s.complete(r)
		} else {
			s.dropJobs(r)
		}
	}
}

// membership returns the index of household id's membership of team t, or -1.
func (p *problem) membership(t int, id int64) int {
	h, ok := p.hhIdx[id]
	if !ok {
		return -1
	}
	for _, m := range p.hhs[h].ms {
		if p.ms[m].team == t {
			return m
		}
	}
	return -1
}

// improve runs the large-neighbourhood search for iters rounds. A change
// that leaves the work done and its lateness as they were is kept too,
// to move on, unless keep: a re-plan from a warm start keeps only a
// change that does better, so that the jobs the rain did not touch stay
// where they were (the team's choice after the search would otherwise
// prefer any shuffle that happens to suit the balances better).
func (s *state) improve(iters int, rng *rand.Rand, keep bool) {
	p := s.p
	n := len(p.reqs)
	var open []int // requests with work to plan: the only ones to move
	for i := range p.reqs {
		if p.reqs[i].need() > 0 {
			open = append(open, i)
		}
	}
	if len(open) == 0 {
		return
	}
	stamp := make([]int, n) // stamp[r] == it+1: r is in this round's set
	var set, cand []int
	saved := make([][]job, n)
	modes := make([]int, n)
	for it := range iters {
		mark := it + 1
		set = set[:0]
		add := func(r int) {
			if stamp[r] != mark && p.reqs[r].need() > 0 {
				stamp[r] = mark
				set = append(set, r)
			}
		}
		k := 3 + rng.IntN(12)
		seed := -1
		if bad := s.wanting(rng, open); bad >= 0 && rng.IntN(4) != 0 {
			// Make room for a request that is late or unplaced: take out
			// some of those working in its window.
			seed = bad
			add(seed)
			q := &p.reqs[seed]
			if rng.IntN(2) == 0 {
				for _, pr := range q.preds {
					add(pr)
				}
			}
			cand = s.workingIn(cand[:0], max(q.e, 0), min(q.l, p.days-1), stamp, mark)
		} else if rng.IntN(2) == 0 {
			// A few days' work reshuffled.
			a := rng.IntN(p.days)
			cand = s.workingIn(cand[:0], a, min(a+2, p.days-1), stamp, mark)
		} else {
			cand = cand[:0]
			for range k {
				cand = append(cand, open[rng.IntN(len(open))])
			}
		}
		for i := 0; i < len(cand) && len(set) < k+1; i++ {
			j := i + rng.IntN(len(cand)-i)
			cand[i], cand[j] = cand[j], cand[i]
			add(cand[i])
		}
		// Successors move with their predecessors.
		for i := 0; i < len(set); i++ {
			for _, su := range p.reqs[set[i]].succs {
				add(su)
			}
		}
		before := s.key
		for _, r := range set {
			saved[r] = s.remove(r)
		}
		s.repairOrder(set, seed, rng)
		for _, r := range set {
			modes[r] = forward
			if rng.IntN(10) < 3 {
				modes[r] = backward
			}
			s.insert(r, modes[r])
		}
		if c := s.key.better(before); c < 0 || keep && c == 0 {
			for _, r := range set {
				s.remove(r)
			}
			for _, r := range set {
				if saved[r] != nil {
					s.restore(r, saved[r])
				}
			}
		}
		for _, r := range set {
			saved[r] = nil
		}
	}
}

// wanting returns a random request that is unplaced or not wholly in its
// window, or -1. A request waiting for an unplaced predecessor gives the
// predecessor instead.
func (s *state) wanting(rng *rand.Rand, open []int) int {
	p := s.p
	// Sample rather than scan: a few tries find one when many want.
	for range 16 {
		r := open[rng.IntN(len(open))]
		if s.done[r] && s.last[r] <= p.reqs[r].l {
			continue
		}
		for !s.done[r] {
			i := slices.IndexFunc(p.reqs[r].preds, func(pr int) bool { return !s.done[pr] })
			if i < 0 {
				break
			}
			r = p.reqs[r].preds[i]
		}
		return r
	}
	return -1
}

// workingIn appends the requests with new work on days a..b, each once.
func (s *state) workingIn(out []int, a, b int, stamp []int, mark int) []int {
	p := s.p
	for h := range p.hhs {
		for d := a; d <= b; d++ {
			r := s.occ[h*p.days+d]
			if r >= 0 && stamp[r] != mark && s.seen[r] != mark {
				s.seen[r] = mark
				out = append(out, int(r))
			}
		}
	}
	return out
}

// repairOrder sorts set into the order the requests go back in: one of
// several rules chosen at random, predecessors always first.
func (s *state) repairOrder(set []int, seed int, rng *rand.Rand) {
	p := s.p
	switch rng.IntN(4) {
	case 0:
		slices.SortFunc(set, p.rank)
	case 1: // deadline first
		slices.SortFunc(set, func(a, b int) int {
			return cmp.Or(cmp.Compare(p.reqs[a].l, p.reqs[b].l), p.rank(a, b))
		})
	case 2: // tightest window first
		slices.SortFunc(set, func(a, b int) int {
			wa, wb := p.reqs[a].l-p.reqs[a].e, p.reqs[b].l-p.reqs[b].e
			return cmp.Or(cmp.Compare(wa, wb), p.rank(a, b))
		})
	default:
		rng.Shuffle(len(set), func(i, j int) { set[i], set[j] = set[j], set[i] })
	}
	if seed >= 0 && rng.IntN(2) == 0 {
		if i := slices.Index(set, seed); i > 0 {
			copy(set[1:i+1], set[:i])
			set[0] = seed
		}
	}
	// Stable topological fix: move each request behind its predecessors.
	for i := 0; i < len(set); i++ {
		for j := i + 1; j < len(set); j++ {
			if slices.Contains(p.reqs[set[i]].preds, set[j]) {
				pr := set[j]
				copy(set[i+1:j+1], set[i:j])
				set[i] = pr
				j = i // rescan from the moved predecessor
			}
		}
	}
}

// finish chooses the workers of every new job and writes the plan.
func (s *state) finish() Plan {
	s.chooseWorkers()
	return s.plan()
}

func (s *state) unplacedReason(r int) string {
	p := s.p
	lo, _, hi, pred, ok := s.bounds(r)
	switch {
	case !ok:
		return fmt.Sprintf("前序求助%[2]d未能安排 waits for request %[1]d, which could not be placed", p.reqs[pred].id, p.reqs[pred].id)
	case lo > hi:
		return "前后农活之间没有可用日期 no day is left between its predecessors and successors"
	}
	return fmt.Sprintf("截止前互助队人手不足 not enough free team members from %s to %s", p.dates[lo], p.dates[hi])
}
